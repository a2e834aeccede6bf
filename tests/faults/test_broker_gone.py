"""A broker that goes away and stays away: the process whose consumers are lost exits 1
within CONVENE_CONSUMERS_LOST_SECONDS, for its platform to start it again, instead of
hanging alive with nothing consumed and no probe served."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.infrastructure import free_port
from tests.support.servers import PrivateRabbit

pytestmark = pytest.mark.skipif(
    shutil.which("rabbitmq-server") is None, reason="needs the RabbitMQ server to start a node"
)

LOST_SECONDS = 12


def test_a_process_whose_broker_stays_away_exits_1_within_the_setting(tmp_path: Path) -> None:
    with PrivateRabbit() as rabbit:
        node = rabbit.nodes[0]
        env = {
            **os.environ,
            "AMQP_URL": node.url,
            "CONVENE_DATA_DIR": str(tmp_path),
            "CONVENE_CONSUMERS_LOST_SECONDS": str(LOST_SECONDS),
            "CONVENE_HEALTH_PORT": str(free_port()),
            "CONVENE_LOG_FORMAT": "json",
        }
        for variable in ("DATABASE_URL", "REPORTS_DATABASE_URL"):
            env.pop(variable, None)
        log = (tmp_path / "service.log").open("w")
        service = subprocess.Popen(
            [str(Path(sys.executable).parent / "convene"), "run", "reports"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "service_started" not in (tmp_path / "service.log").read_text():
                assert service.poll() is None, (tmp_path / "service.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)  # poll the service's log
            node.kill()  # the broker goes away and does not come back
            gone = time.monotonic()
            code = service.wait(timeout=LOST_SECONDS * 3)
            took = time.monotonic() - gone
        finally:
            if service.poll() is None:
                service.kill()
            log.close()
    said = (tmp_path / "service.log").read_text()
    print(f"exited {code} {took:.1f} s after the broker went away (setting: {LOST_SECONDS} s)")
    assert code == 1, said[-3000:]
    assert "broker_consumers_lost" in said
    # within the setting, give or take the second it takes to notice and a loaded machine
    assert took <= LOST_SECONDS * 1.5, f"{took:.1f} s"
