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
    else:
        yield "amqp://guest:guest@127.0.0.1:5672/"


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
