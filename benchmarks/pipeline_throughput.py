"""Throughput of the invitations service on the real broker, SQLite against PostgreSQL.

Publishes N conference requests (6 invitees each, so 6 events out per event in)
as raw CloudEvents and times until every invitation has come back. Prints
figures; compare the ratio between databases measured in one run.

    .venv/bin/python -m benchmarks.pipeline_throughput [N]
"""

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika

from services.app import running
from shared.logging import configure_logging
from shared.settings import Settings
from tests.support.crm import cloud_event, family_conference
from tests.support.listener import listening

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
POSTGRES_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _purge() -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete("invitations.incoming")


async def measure(database: str, count: int) -> float:
    """Seconds from the first request published to the last invitation received."""
    await _purge()
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(  # type: ignore[call-arg]
            AMQP_URL=AMQP_URL,
            DATABASE_URL=POSTGRES_URL if database == "postgresql" else None,
            data_dir=Path(folder),
            db_schema_prefix=prefix,
            outbox_poll_seconds=0.2,
            log_level="WARNING",
        )
        events = [
            cloud_event("crm.conference.requested.v1", f"B-{n}", family_conference(f"B-{n}"))
            for n in range(count)
        ]
        async with listening(AMQP_URL) as listener, running(["invitations"], settings):
            connection = await aio_pika.connect(AMQP_URL)
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                exchange = await channel.declare_exchange(
                    "crm.events", aio_pika.ExchangeType.TOPIC, durable=True
                )
                started = time.perf_counter()
                for event in events:
                    await exchange.publish(
                        aio_pika.Message(json.dumps(event).encode(), message_id=event["id"]),
                        routing_key=event["type"],
                    )
                await listener.wait_until(
                    lambda seen: len(seen.of_type("invitations.invitation.issued.v1")) >= 5 * count,
                    within=600,
                )
                return time.perf_counter() - started


async def main(count: int) -> None:
    configure_logging("WARNING", "console")
    results = {db: await measure(db, count) for db in ("sqlite", "postgresql")}
    for database, seconds in results.items():
        print(
            f"{database:<11} {count} requests -> {count * 6} events out in {seconds:6.2f}s: "
            f"{count / seconds:7.1f} requests/s, {count * 6 / seconds:7.1f} events/s"
        )
    print(f"postgresql/sqlite time ratio: {results['postgresql'] / results['sqlite']:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
