"""The `convene` command line."""

import asyncio
import io
import json
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts.export import generated_files
from services.app import DEFINITIONS
from services.cli import app, main
from shared.observability.logging import configure_logging
from tests.support.infrastructure import free_port

runner = CliRunner()

CONSUMERS = {name: d.event_types for name, d in DEFINITIONS.items()}


def test_contracts_export_writes_every_schema_and_asyncapi(tmp_path: Path) -> None:
    result = runner.invoke(app, ["contracts", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.json")
    )
    assert written == sorted(generated_files(CONSUMERS))
    assert len(written) == 60


def test_run_refuses_an_unknown_service() -> None:
    result = runner.invoke(app, ["run", "payments"])
    assert result.exit_code != 0
    assert "invitations, reports, decisions" in result.output


def _problem(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    **env: str,
) -> str:  # fmt: skip
    """Run the command line as the console script does; the line that says the problem
    (the last on stderr: log lines may come before it, a traceback never)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 2
    said = capsys.readouterr().err
    assert "Traceback" not in said, said
    return said.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["stats", "--tenant", "886", "--from", "2026-13-01", "--to", "2027-01-01"], "--from"),
        (["stats", "--tenant", "abc", "--from", "2026-01-01", "--to", "2027-01-01"], "--tenant"),
        (["stats", "--tenant", "886", "--from", "2026-06-01", "--to", "2026-01-01"], "before"),
        (["census", "export", "--tenant", "886", "--year", "27"], "--year"),
        (["deadletters", "list", "reports", "--tenant", "88"], "--tenant"),
        (["run", "invitations", "--no-such-option"], "--no-such-option"),
    ],
)
def test_a_bad_argument_is_one_line_naming_the_option(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    line = _problem(argv, capsys, monkeypatch, CONVENE_LOG_FORMAT="console")
    assert line.startswith("convene: ") and says in line


def test_a_bad_setting_is_one_json_line_naming_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _problem(["run", "invitations"], capsys, monkeypatch, CONVENE_PREFETCH="zero")
    problem = json.loads(line)
    assert problem["level"] == "error" and "CONVENE_PREFETCH" in problem["problem"]


def test_an_unreachable_broker_or_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVENE_DATA_DIR", str(tmp_path))
    database = f"postgresql://postgres@127.0.0.1:{free_port()}/none"
    line = _problem(["run", "reports"], capsys, monkeypatch, DATABASE_URL=database)
    assert "cannot reach the database of reports" in json.loads(line)["problem"]
    monkeypatch.delenv("DATABASE_URL")
    broker = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    before = set(threading.enumerate())
    line = _problem(["run", "reports"], capsys, monkeypatch, AMQP_URL=broker)
    assert "cannot reach the broker" in line and "(AMQP_URL)" in line
    # the database it had migrated is closed: its SQLite connection thread ends (one left
    # open fails later, when collected, on the command's closed loop)
    opened = [
        t for t in set(threading.enumerate()) - before if "_connection_worker_thread" in t.name
    ]
    for thread in opened:
        thread.join(timeout=10)  # a closed connection's thread ends right after it
    assert not [t for t in opened if t.is_alive()]


def test_a_report_prints_only_its_json_whatever_logging_was_set_up_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An earlier command in this process logged to a stream that is closed now (as each
    # CliRunner's is): the report must neither write to it nor print its migrations' INFO.
    earlier = io.StringIO()
    monkeypatch.setattr(sys, "stderr", earlier)
    configure_logging("INFO", "json")
    monkeypatch.undo()
    earlier.close()
    env = {
        "CONVENE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": None,  # the decisions service's own SQLite file, in tmp_path
        "DECISIONS_DATABASE_URL": None,
        "CONVENE_LOG_FORMAT": "json",
        "CONVENE_LOG_LEVEL": None,
    }
    for name in ("decisions", "reports"):  # the services' databases, as they made them
        asyncio.run(_made(tmp_path / f"{name}.db", name))
    arguments = ["stats", "--tenant", "201", "--from", "2026-04-01", "--to", "2027-03-31", "--json"]
    result = runner.invoke(app, arguments, env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tenant"] == "201"
    assert "Logging error" not in result.output and "DDL" not in result.output


def test_version_is_the_release_in_pyproject() -> None:
    import tomllib

    release = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"convene {release['version']}"


async def _made(path: Path, service: str) -> None:
    from services.app import DEFINITIONS
    from shared.store.db import create_engine, migrate

    engine = create_engine(f"sqlite+aiosqlite:///{path}", service)
    try:
        await migrate(engine, service, DEFINITIONS[service].migrations)
    finally:
        await engine.dispose()
