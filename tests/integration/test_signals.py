"""SIGTERM is a graceful stop at any moment, from the first instant of the process."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.infrastructure import free_port


def _start(amqp_url: str, folder: Path, port: int) -> "subprocess.Popen[bytes]":
    env = {
        **os.environ,
        "AMQP_URL": amqp_url,
        "CONVENE_DATA_DIR": str(folder),
        "CONVENE_HEALTH_PORT": str(port),
        "CONVENE_LOG_FORMAT": "json",
    }
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(  # the product's own command
        [str(Path(sys.executable).parent / "convene"), "run", "invitations"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as answer:
            return int(answer.status) == 200
    except OSError:
        return False


def _events(output: bytes) -> list[str]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith(b"{")]
    return [line.get("event", "") for line in lines]


def test_a_sigterm_while_starting_stops_cleanly(amqp_url: str, tmp_path: Path) -> None:
    process = _start(amqp_url, tmp_path, free_port())
    time.sleep(0.5)  # past the interpreter's own start, still importing the services (~1 s)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output.decode()[-2000:]  # not killed by the signal
    assert {"stopped_before_starting", "service_stopped"} & set(_events(output))


def test_a_sigterm_once_running_is_a_graceful_stop(amqp_url: str, tmp_path: Path) -> None:
    port = free_port()
    process = _start(amqp_url, tmp_path, port)
    deadline = time.monotonic() + 60
    while not _ready(port):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)  # poll for readiness
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output.decode()[-2000:]
    assert "service_stopped" in _events(output)
