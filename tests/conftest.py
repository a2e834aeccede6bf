"""Fixtures: a real broker, SQLite and PostgreSQL, and settings pointing at them."""

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aio_pika
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from shared.runtime.settings import SERVICES, Settings, async_url
from tests.support.infrastructure import describe_servers, postgres_url, rabbitmq_url

BROKER_TESTS = ("integration", "e2e", "faults")


def pytest_report_header() -> str:
    """Say which servers the tests run against: containers or the local ones."""
    return describe_servers()


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A real RabbitMQ broker."""
    with rabbitmq_url() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[str]:
    """A real PostgreSQL server."""
    with postgres_url() as url:
        yield async_url(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """Run the test once on each database."""
    return str(request.param)


@pytest.fixture
async def settings(
    request: pytest.FixtureRequest, amqp_url: str, tmp_path: Path
) -> AsyncIterator[Settings]:
    """Settings for services under test: fast retries and polling, a fresh database."""
    backend = (
        request.getfixturevalue("database") if "database" in request.fixturenames else "sqlite"
    )
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    pg_url = request.getfixturevalue("postgres_base_url") if backend == "postgresql" else None
    values = {
        "AMQP_URL": amqp_url,
        "DATABASE_URL": pg_url,
        "data_dir": tmp_path / "var",
        "db_schema_prefix": prefix,
        "retry_base_seconds": 0.05,
        "max_attempts": 3,
        "retry_delays": "1",
        "park_retry_seconds": 1.0,
        "outage_probe_seconds": 0.2,
        "outbox_poll_seconds": 0.2,
        "timer_poll_seconds": 0.1,
        "timer_quiet_seconds": 0.5,
        "log_format": "console",
    }
    for service in SERVICES:
        values[f"{service.upper()}_DATABASE_URL"] = None
    base = Settings(**values)  # type: ignore[arg-type]
    prefixes = [prefix]

    def fresh() -> Settings:
        """The same settings with new, empty databases (for a second run in one test)."""
        prefixes.append(f"t{uuid.uuid4().hex[:8]}_")
        return base.model_copy(
            update={"data_dir": tmp_path / prefixes[-1], "db_schema_prefix": prefixes[-1]}
        )

    request.node.fresh_settings = fresh
    yield base
    if pg_url is not None:
        engine = create_async_engine(pg_url)
        async with engine.begin() as connection:
            for used in prefixes:
                for service in SERVICES:
                    await connection.execute(
                        sa.text(f'DROP SCHEMA IF EXISTS "{used}{service}" CASCADE')
                    )
        await engine.dispose()


@pytest.fixture
def fresh_settings(request: pytest.FixtureRequest, settings: Settings) -> Callable[[], Settings]:
    """Make settings with new, empty databases, dropped after the test like the first ones."""
    return request.node.fresh_settings  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
async def clean_broker(request: pytest.FixtureRequest) -> None:
    """Broker tests start from empty service queues: nothing left over from another test."""
    if not any(f"/{folder}/" in str(request.path) for folder in BROKER_TESTS):
        return
    url = request.getfixturevalue("amqp_url")
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        # This run's own vhost: nobody else declares here.
        for service in SERVICES:
            for queue in (f"{service}.incoming", f"{service}.incoming.dlq", f"{service}.retry.1s"):
                await channel.queue_delete(queue)
        await channel.queue_delete("crm.facts")
