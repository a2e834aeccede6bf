"""Where the real broker and database come from.

In this order: AMQP_URL / DATABASE_URL when set; containers (testcontainers) of the images
`make images` builds from Debian's packages when a Docker engine answers; otherwise the
local servers (RabbitMQ on 127.0.0.1:5672 with a vhost of this run's own, PostgreSQL on
127.0.0.1:5432, database `test`). CONVENE_TEST_SERVERS=local or =containers chooses.
"""

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

RABBITMQ_IMAGE = os.environ.get("CONVENE_TEST_RABBITMQ_IMAGE", "convene/rabbitmq:3.10-management")
POSTGRES_IMAGE = os.environ.get("CONVENE_TEST_POSTGRES_IMAGE", "convene/postgres:15")

# The broker container of this process, when the tests run on one (for rabbitmqctl).
_broker: dict[str, Any] = {}


def docker_engine_available() -> bool:
    """True when a Docker engine answers (not merely a client installed)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:
        return False
    return True


def servers_path() -> str:
    """`containers` or `local`: which servers this run's tests use (said in pytest's header)."""
    chosen = os.environ.get("CONVENE_TEST_SERVERS", "")
    if chosen in ("containers", "local"):
        return chosen
    if chosen:
        raise SystemExit(f"CONVENE_TEST_SERVERS must be containers or local, not {chosen!r}")
    return "containers" if docker_engine_available() else "local"


def _container(kind: Any, image: str, **options: Any) -> Any:
    """A testcontainers container of one of our images (never pulled from a registry)."""
    import docker

    # The reaper (Ryuk) is an image from a public registry: containers are stopped by the
    # context managers below instead.
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    try:
        docker.from_env(timeout=10).images.get(image)
    except docker.errors.ImageNotFound:
        raise SystemExit(f"image {image} is not built: run `make images`") from None
    return kind(image, **options)


@contextlib.contextmanager
def rabbitmq_url() -> Iterator[str]:
    """An AMQP URL for a real RabbitMQ broker."""
    if os.environ.get("AMQP_URL"):
        yield os.environ["AMQP_URL"]
    elif servers_path() == "containers":
        from testcontainers.community.rabbitmq import RabbitMqContainer

        with _container(RabbitMqContainer, RABBITMQ_IMAGE) as container:
            params = container.get_connection_params()
            _broker["container"] = container
            try:
                yield f"amqp://guest:guest@{params.host}:{params.port}/"
            finally:
                _broker.clear()
    else:
        with private_vhost("amqp://guest:guest@127.0.0.1:5672/") as url:
            yield url


def rabbitmqctl(*arguments: str) -> None:
    """Administer the broker the tests use: its container's, or this machine's."""
    container = _broker.get("container")
    if container is not None:
        code, output = container.exec(["rabbitmqctl", "-q", *arguments])
        if code != 0:
            raise RuntimeError(f"rabbitmqctl {arguments[0]} failed: {output!r}")
    else:
        subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, timeout=60)


@contextlib.contextmanager
def private_vhost(amqp_url: str) -> Iterator[str]:
    """A vhost of its own on the broker of `amqp_url` (others may use that broker at the same
    time): created at the start, deleted at the end once nothing declares in it. Yields its
    AMQP URL."""
    vhost = f"convene-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield amqp_url.rsplit("/", 1)[0] + f"/{vhost}"
    finally:
        with contextlib.suppress(Exception):
            rabbitmqctl("delete_vhost", vhost)


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL for a real server."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
    elif servers_path() == "containers":
        from testcontainers.community.postgres import PostgresContainer

        with _container(PostgresContainer, POSTGRES_IMAGE, driver="asyncpg") as container:
            yield container.get_connection_url()
    else:
        yield "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def describe_servers() -> str:
    """One line for pytest's header: which servers the tests use."""
    if os.environ.get("AMQP_URL") or os.environ.get("DATABASE_URL"):
        return "servers: AMQP_URL / DATABASE_URL as given"
    if servers_path() == "containers":
        return (
            f"servers: containers through testcontainers ({RABBITMQ_IMAGE}, {POSTGRES_IMAGE}), "
            "each test process its own"
        )
    return (
        "servers: local (RabbitMQ 127.0.0.1:5672, a vhost per test process; "
        "PostgreSQL 127.0.0.1:5432, schemas per test)"
    )


def free_port() -> int:
    """A TCP port nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def private_rabbitmq() -> Iterator[tuple[str, list[str]]]:
    """A RabbitMQ node of the test's own, on ports of its own, stopped at the end.

    Yields its AMQP URL (guest, default vhost) and the `rabbitmqctl` command that
    administers it, so a test can import definitions and create users there and never
    on the shared broker.
    """
    from tests.support.servers import PrivateRabbit

    with PrivateRabbit() as rabbit:
        node = rabbit.nodes[0]
        yield node.url, node.ctl
