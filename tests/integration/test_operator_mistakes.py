"""Operator mistakes, each as a new ops engineer would make it: one line naming what to
change, exit code 2; never a traceback, never a silent wrong start. The README's table of
them is this table."""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CONVENE = str(Path(sys.executable).parent / "convene")
STATS = ["stats", "--tenant", "886", "--from", "2026-04-01", "--to", "2027-03-31"]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104  # the health port binds every address
        taken.listen()
        yield int(taken.getsockname()[1])


MISTAKES = [
    # (what the engineer set, the command, what the one line must say)
    ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/no_such_database"},
     ["run", "reports"], 'database "no_such_database" does not exist'),
    ({"AMQP_URL": "not-a-url"}, ["run", "reports"], "AMQP_URL"),
    ({"AMQP_URL": "http://guest:guest@127.0.0.1:5672/"}, ["run", "reports"],
     "is not an AMQP URL"),
    ({"AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/no-such-vhost"}, ["run", "reports"],
     "refused vhost 'no-such-vhost'"),
    ({"CONVENE_LOG_LEVEL": "LOUD"}, ["run", "reports"], "CONVENE_LOG_LEVEL"),
    ({"CONVENE_POLICY": "nosuch"}, ["run", "reports"], "CONVENE_POLICY"),
    ({"CONVENE_TENANT_POLICIES": "886"}, ["run", "reports"], "CONVENE_TENANT_POLICIES"),
    ({"DATABASE_URL": "mysql://convene@db/convene"}, ["run", "reports"],
     "'mysql' is not a database Convene runs on"),
    ({"CONVENE_HEALTH_PORT": "{busy_port}"}, ["run", "reports"], "CONVENE_HEALTH_PORT"),
    ({}, STATS, "no decisions database"),
    ({}, ["census", "export", "--tenant", "886", "--year", "2027"], "no decisions database"),
]  # fmt: skip


def _run(
    command: list[str], changes: dict[str, str], tmp_path: Path, amqp_url: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONVENE_")}
    env.pop("DATABASE_URL", None)
    env.update(
        {"AMQP_URL": amqp_url, "CONVENE_DATA_DIR": str(tmp_path / "var"),
         "CONVENE_LOG_LEVEL": "WARNING", **changes}
    )  # fmt: skip
    return subprocess.run(
        [CONVENE, *command], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )


@pytest.mark.parametrize(("changes", "command", "said"), MISTAKES)
def test_each_mistake_is_one_line_naming_what_to_change_and_exit_2(
    changes: dict[str, str], command: list[str], said: str, tmp_path: Path, amqp_url: str,
    busy_port: int,
) -> None:  # fmt: skip
    changes = {k: v.format(busy_port=busy_port) for k, v in changes.items()}
    result = _run(command, changes, tmp_path, amqp_url)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(lines) == 1, lines
    problem = json.loads(lines[0])["problem"]
    assert said in problem, problem
    assert "guest:guest" not in problem  # a password is never said back
    assert not (tmp_path / "var" / "decisions.db").exists()  # nothing invented to read


def test_a_misspelt_setting_is_named_with_what_it_may_have_meant(
    tmp_path: Path, amqp_url: str
) -> None:
    result = _run(STATS, {"CONVENE_POLCY": "kent"}, tmp_path, amqp_url)
    said = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert said[0]["event"] == "settings_not_read"
    assert said[0]["unknown_settings"] == ["CONVENE_POLCY (did you mean CONVENE_POLICY?)"]
    assert result.returncode == 2 and "no decisions database" in said[-1]["problem"]
