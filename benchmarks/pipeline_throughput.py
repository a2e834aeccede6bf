"""Whole-pipeline throughput against the broker's own limit, measured in one run.

First the raw broker round trip with the same durability as the services (a quorum
queue, persistent messages, publisher confirms, manual acknowledgements); then N
families' whole histories (initial conference, review, plan ended: 16 CRM events and
about 73 facts each, across four councils) through the three services as separate
processes, on SQLite and on PostgreSQL. Prints deliveries per second (the CRM's events
to the services plus the services' facts to the CRM's queue) against the raw figure,
time per conference, each service's memory before and after, and whether every fact
arrived exactly once (PostgreSQL's facts compared with SQLite's by logical key).
Prints figures; asserts nothing about time. Runs in a vhost of its own.

    .venv/bin/python -m benchmarks.pipeline_throughput [FAMILIES]
"""

import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aio_pika
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.app import DEFINITIONS
from tests.support.infrastructure import private_vhost
from tests.support.pipeline import Services, Tally, pipeline, publish, workload

POSTGRES_URL = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


async def raw_round_trip(url: str, count: int = 5000, window: int = 100) -> float:
    """Messages per second through one quorum queue: published persistently with confirms
    (`window` in flight), consumed with manual acks."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            f"bench.raw.{uuid.uuid4().hex[:6]}", durable=True, arguments={"x-queue-type": "quorum"}
        )
        consumer_channel = await connection.channel()
        await consumer_channel.set_qos(prefetch_count=window)
        consumed = asyncio.Event()
        seen = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            await message.ack()
            seen += 1
            if seen == count:
                consumed.set()

        consuming = await consumer_channel.get_queue(queue.name)
        tag = await consuming.consume(on_message)
        body = b"x" * 600  # about the size of a CRM event
        started = time.perf_counter()
        for first in range(0, count, window):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=queue.name,
                    )
                    for _ in range(first, min(first + window, count))
                )
            )
        await consumed.wait()
        elapsed = time.perf_counter() - started
        await consuming.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
    return count / elapsed


def rss_mib(services: Services) -> dict[str, float]:
    """Each service process's resident memory."""
    sizes = {}
    for name, process in services.processes.items():
        status = Path(f"/proc/{process.pid}/status").read_text()
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        sizes[name] = kib / 1024
    return sizes


async def through_pipeline(
    url: str, database_url: str | None, families: int
) -> tuple[float, Counter[str], dict[str, tuple[float, float]]]:
    """Seconds for the whole workload, the facts by logical key, memory before and after."""
    events = workload(families)
    with tempfile.TemporaryDirectory() as folder:
        prefix = f"bench{uuid.uuid4().hex[:6]}_"
        async with pipeline(url, database_url, Path(folder), prefix) as (services, crm):
            before = rss_mib(services)
            started = time.perf_counter()
            await publish(url, events)
            count, quiet_since = -1, time.perf_counter()
            while time.perf_counter() - quiet_since < 3:  # until nothing more comes
                await asyncio.sleep(0.1)
                if len(crm.facts) != count:
                    count, quiet_since = len(crm.facts), time.perf_counter()
            elapsed = quiet_since - started
            after = rss_mib(services)
            tally = Tally(Counter())
            for fact in crm.facts:
                tally.add(fact)
        if database_url is not None:  # the shared database: drop this run's schemas
            engine = create_async_engine(database_url)
            async with engine.begin() as connection:
                for name in DEFINITIONS:
                    await connection.execute(
                        sa.text(f'DROP SCHEMA IF EXISTS "{prefix}{name}" CASCADE')
                    )
            await engine.dispose()
    memory = {name: (before[name], after[name]) for name in before}
    return elapsed, tally.got, memory


def deliveries(events: list[dict[str, Any]], facts: int) -> int:
    """Messages the broker delivered: each CRM event to every service that consumes its
    type, and each fact to the CRM's queue."""
    consumers = Counter(t for d in DEFINITIONS.values() for t in d.event_types)
    return sum(consumers[e["type"]] for e in events) + facts


async def main(families: int) -> None:
    with private_vhost() as vhost:
        url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
        raw = await raw_round_trip(url)
        print(f"raw broker round trip (quorum, persistent, confirms, acks): {raw:8.0f} msg/s")
        runs = {}
        for database, database_url in (("sqlite", None), ("postgresql", POSTGRES_URL)):
            runs[database] = await through_pipeline(url, database_url, families)
    events = workload(families)
    conferences = families * 2
    reference = runs["sqlite"][1]
    for database, (elapsed, facts, memory) in runs.items():
        moved = deliveries(events, sum(facts.values()))
        rate = moved / elapsed
        missing = sum(max(n - facts[k], 0) for k, n in reference.items())
        extra = sum(max(n - reference[k], 0) for k, n in facts.items())
        print(
            f"{database:<10} {conferences} conferences, {len(events)} CRM events, "
            f"{sum(facts.values())} facts in {elapsed:6.1f} s: {rate:6.0f} deliveries/s "
            f"= {100 * rate / raw:4.1f} % of raw, {1000 * elapsed / conferences:5.0f} ms "
            f"per conference; against SQLite: {missing} missing, {extra} extra"
        )
        for name, (before, after) in memory.items():
            print(f"           {name:<12} RSS {before:6.1f} -> {after:6.1f} MiB")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 25))
