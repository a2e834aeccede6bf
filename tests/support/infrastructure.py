"""Where the real broker and database come from: testcontainers when a Docker engine
answers, otherwise AMQP_URL / DATABASE_URL, otherwise the local servers."""

import contextlib
import os
from collections.abc import Iterator


def docker_engine_available() -> bool:
    """True when a Docker engine answers (not merely a client installed)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:
        return False
    return True


def local_rabbitmqctl_reaches_the_test_broker() -> bool:
    """True when `rabbitmqctl` on this machine administers the broker the tests use."""
    import shutil
    from urllib.parse import urlsplit

    if shutil.which("rabbitmqctl") is None:
        return False
    if os.environ.get("AMQP_URL"):
        return urlsplit(os.environ["AMQP_URL"]).hostname in ("127.0.0.1", "localhost")
    return not docker_engine_available()


@contextlib.contextmanager
def rabbitmq_url() -> Iterator[str]:
    """An AMQP URL for a real RabbitMQ broker."""
    if os.environ.get("AMQP_URL"):
        yield os.environ["AMQP_URL"]
    elif docker_engine_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as container:
            params = container.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
    elif local_rabbitmqctl_reaches_the_test_broker():
        with private_vhost() as vhost:
            yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    else:
        yield "amqp://guest:guest@127.0.0.1:5672/"


@contextlib.contextmanager
def private_vhost() -> Iterator[str]:
    """A vhost of this test run's own on the shared broker (others may use it at the same
    time): created at the start, deleted at the end once nothing declares in it."""
    import subprocess
    import uuid

    vhost = f"convene-test-{uuid.uuid4().hex[:10]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, timeout=60)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        timeout=60,
    )
    try:
        yield vhost
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, timeout=60)


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL for a real server."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
    elif docker_engine_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as container:
            yield container.get_connection_url()
    else:
        yield "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


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
