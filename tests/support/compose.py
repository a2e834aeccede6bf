"""The secured deployment of deploy/compose.yaml, brought up for a test: a project of its
own name, secrets made for it, the broker on a free port, everything removed at the end."""

import contextlib
import json
import os
import secrets as random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
SERVICES = ("invitations", "reports", "decisions")
IMAGES_ENV = ROOT / "deploy/images/images.env"  # the images `make images` builds


def compose_command() -> list[str] | None:
    """`docker compose` (v2) where it is installed, else Debian's `docker-compose` (1.29)."""
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@dataclass
class Deployment:
    project: str
    folder: Path
    command: list[str]
    environment: dict[str, str]
    broker_port: int

    def compose(self, *arguments: str, check: bool = True) -> str:
        result = subprocess.run(
            [*self.command, "-p", self.project, "--env-file", str(IMAGES_ENV),
             "-f", str(self.folder / "compose.yaml"), *arguments],
            env=self.environment, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(f"compose {arguments[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout + result.stderr

    def container(self, service: str) -> str:
        """The container of one service, by compose's labels (v1 and v2 name them apart)."""
        found = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}",
             "--filter", f"label=com.docker.compose.service={service}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert len(found) == 1, (service, found)
        return found[0]

    def exec(self, service: str, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "exec", self.container(service), *command],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def ready(self, service: str) -> dict[str, object] | None:
        """The service's /ready answer from inside its container, or None if not ready."""
        probe = (
            "import urllib.request, sys\n"
            "try:\n"
            "    r = urllib.request.urlopen('http://127.0.0.1:8080/ready', timeout=1)\n"
            "    print(r.read().decode())\n"
            "except Exception:\n"
            "    sys.exit(1)\n"
        )
        result = self.exec(service, "python", "-c", probe)
        return json.loads(result.stdout) if result.returncode == 0 else None

    def wait_ready(self, within: float = 120.0) -> dict[str, dict[str, object]]:
        deadline = time.monotonic() + within
        answers: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline:
            for service in SERVICES:
                if service not in answers and (answer := self.ready(service)) is not None:
                    answers[service] = answer
            if len(answers) == len(SERVICES):
                return answers
            time.sleep(0.5)  # poll each service's /ready
        raise AssertionError(
            f"not ready within {within}s: {set(SERVICES) - set(answers)}\n"
            + self.compose("logs", "--tail", "30", check=False)
        )

    def password(self, user: str) -> str:
        return (self.folder / "secrets" / user).read_text().strip()

    def amqp_url(self, user: str) -> str:
        return f"amqp://{user}:{self.password(user)}@127.0.0.1:{self.broker_port}/convene"

    def queues(self) -> dict[str, int]:
        """Each queue of the deployment's vhost and the messages in it."""
        result = self.exec(
            "rabbitmq", "rabbitmqctl", "-q", "list_queues", "-p", "convene", "--no-table-headers",
            "name", "messages",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        rows = [line.split() for line in result.stdout.splitlines() if line.strip()]
        return {row[0]: int(row[1]) for row in rows}


@contextlib.contextmanager
def deployed(tmp_path: Path) -> Iterator[Deployment]:
    """deploy/compose.yaml with the images `make images` built, up until the block ends."""
    from tests.support.infrastructure import free_port

    command = compose_command()
    assert command is not None, "no docker compose (or docker-compose) installed"
    folder = tmp_path / "deploy"
    folder.mkdir()
    shutil.copy(ROOT / "deploy/compose.yaml", folder / "compose.yaml")
    shutil.copytree(ROOT / "deploy/rabbitmq", folder / "rabbitmq")
    convene = Path(sys.executable).with_name("convene")
    subprocess.run(
        [str(convene), "broker", "secrets", str(folder / "secrets"), "--also", "database"],
        check=True, capture_output=True,
    )  # fmt: skip
    for secret in (folder / "secrets").iterdir():  # the containers run as uid 10001
        if os.geteuid() == 0:
            os.chown(secret, 10001, 10001)
        else:
            secret.chmod(0o644)
    broker_port = free_port()
    environment = dict(os.environ) | {
        "INVITATIONS_HANDBACK_KEY": random.token_hex(16),
        "REPORTS_HANDBACK_KEY": random.token_hex(16),
        "DECISIONS_HANDBACK_KEY": random.token_hex(16),
        "CONVENE_BROKER_PORT": str(broker_port),
        "CONVENE_BROKER_MANAGEMENT_PORT": str(free_port()),
    }
    deployment = Deployment(
        f"convene-smoke-{uuid.uuid4().hex[:8]}", folder, command, environment, broker_port
    )
    try:
        deployment.compose("up", "-d", "--no-build")
        yield deployment
    finally:
        deployment.compose("down", "-v", "--remove-orphans", "--timeout", "10", check=False)
