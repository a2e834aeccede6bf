"""`convene backfill`: a CRM's history, as JSON lines, played through the running services
in order, with what could not be read skipped and counted, and a summary at the end."""

import json
from pathlib import Path

import pytest
from rich.console import Console

from services.app import DEFINITIONS, running
from services.backfill import backfill
from services.cli import main
from shared.broker.topology import declare_all
from shared.runtime.problems import Problem
from shared.runtime.settings import Settings
from tests.e2e.test_order_and_councils import ALL, finished
from tests.support.history import family_history
from tests.support.listener import listening


async def test_a_history_is_played_in_order_and_summarised(
    settings: Settings, amqp_url: str, tmp_path: Path
) -> None:
    history = family_history("201") + family_history("886")
    lines = [json.dumps(event) for event in history]
    lines.insert(3, "not json at all, and no child's name is ever printed")
    lines.insert(7, json.dumps({"type": "crm.conference.requested.v1"}))  # no id
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n")
    async with listening(amqp_url) as listener, running(ALL, settings):
        summary = await backfill(
            amqp_url, path, window=7, quiet_seconds=1.0, console=Console(quiet=True)
        )
        await listener.wait_until(finished(["201", "886"]), within=60)
    assert summary.published == len(history)
    assert summary.skipped == [4, 8]
    assert summary.lines == len(lines)
    text = "\n".join(summary.lines_of_text())
    assert f"{len(history)} events published" in text and "2 lines skipped" in text
    assert "no child's name" not in text
    rejected = [e for e in listener.events if ".input.rejected." in e["type"]]
    assert not rejected, rejected  # in order: nothing arrived before what it depends on


def test_a_missing_history_file_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVENE_LOG_FORMAT", "json")
    with pytest.raises(SystemExit) as exit_code:
        main(["backfill", str(tmp_path / "none.jsonl")])
    assert exit_code.value.code == 2
    out = capsys.readouterr()
    said = (out.out + out.err).strip().splitlines()
    assert len(said) == 1 and "none.jsonl" in said[0] and json.loads(said[0])["level"] == "error"


async def test_an_event_no_service_queue_takes_stops_the_back_fill(
    amqp_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "history.jsonl"
    event = family_history("201")[0]
    path.write_text(json.dumps({**event, "type": "crm.nothing.bound.v1"}) + "\n")
    await declare_all(amqp_url, {name: d.event_types for name, d in DEFINITIONS.items()})
    with pytest.raises(Problem) as problem:
        await backfill(amqp_url, path, quiet_seconds=0.1, console=Console(quiet=True))
    assert "crm.nothing.bound.v1" in str(problem.value) and "broker setup" in str(problem.value)
