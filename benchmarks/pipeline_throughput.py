"""The whole pipeline against the broker's own limit, measured in one run.

1. The raw broker round trip with the services' durability: a quorum queue, persistent
   messages, publisher confirms (100 in flight), manual acknowledgements, with aio-pika as a
   client would write it; measured again right before each throughput mode, which is compared
   with it (the machine's speed moves within a run). Beside it, once, the same round trip with
   frames written together as the services write them, for comparison.
2. Throughput: FAMILIES families' whole histories (initial conference with 7 participants
   and 2 children, responses, 4 reports, held, outcome; review; plan ended: 13 CRM events
   and about 73 facts a family, two conferences, across four councils) published in one
   burst through the services, in each mode: SQLite and PostgreSQL, one process per
   service and one process for all three (`convene run all`), 1 and 2 replicas. Prints
   broker deliveries per second (the CRM's events to every service that consumes them,
   the services' facts to each other and to the CRM's queue) against the raw figure,
   time per conference, each process's memory before and after, and whether every
   expected fact arrived exactly once with no rejection (facts compared by logical key
   with the first mode's, and against republished ids).
3. Latency at fixed rates (1, 5 and 20 conferences a second), one process per service:
   a family starts every 2/rate seconds and its history takes 4 s, so every stage's
   events interleave; from each CRM event's publication to the first and the last fact
   it caused (through any number of services), p50, p95 and p99.
4. Scale: SCALE conferences' histories written as JSON lines and played through the
   services by the product's own `convene backfill`, timed until the last fact reached the
   CRM's queue, against the time per conference of 100 conferences played the same way;
   extrapolated to a national year (175,000). On PostgreSQL, then, the plans of the hot
   path's statements on the tables the history left (`benchmarks/query_plans.py`).

Prints figures; asserts nothing about time. Runs in a vhost and database schemas of its
own.

    .venv/bin/python -m benchmarks.pipeline_throughput [FAMILIES] [SCALE]  (100, 10000)
    BENCH_PARTS=raw,throughput,latency,scale  (any of them)
    BENCH_SCALE_DATABASES=sqlite,postgresql
    BENCH_LATENCY_SECONDS=20  (each rate's run)
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import pamqp.commands
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.query_plans import hot_path_plans
from services.app import DEFINITIONS
from services.backfill import publish_in_order
from shared.broker import wire
from tests.support.crm import crm_message
from tests.support.infrastructure import private_vhost
from tests.support.pipeline import (
    Collector,
    Services,
    Tally,
    family,
    logical_key,
    pipeline,
    workload,
)

POSTGRES_URL = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
NATIONAL_YEAR = 175_000
# Each rate's run: at 5 conferences a second, 20 s give about 650 CRM events that cause
# facts, so p99 is not the third-slowest event (the first events after a start, which
# pay for the services' first connections and statements, are among them).
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "20"))
FAMILY_SECONDS = 4.0  # how long one family's history takes at a fixed rate
SERVICES = tuple(DEFINITIONS)
LAYOUTS: dict[str, Sequence[str]] = {
    "per service x1": SERVICES,
    "per service x2": [*SERVICES, *(f"{name}#2" for name in SERVICES)],
    "run all x1": ["all"],
    "run all x2": ["all", "all#2"],
}
# Only what a deployment would set: the fault suite's fast polls are not used here.
BENCH_ENV = {
    "CONVENE_LOG_LEVEL": "INFO",
    "CONVENE_OUTBOX_POLL_SECONDS": "1",
    "CONVENE_TIMER_POLL_SECONDS": "1",
    "CONVENE_PARK_RETRY_SECONDS": "30",
    # Timers whose conference has no later event (the end of each history) fire once the
    # council has been quiet this long: longer than any run, so a run's facts are those its
    # events cause, the same in every mode.
    "CONVENE_TIMER_QUIET_SECONDS": "600",
}


async def raw_round_trip(
    url: str, count: int = 10_000, window: int = 100, together: bool = False
) -> float:
    """Messages per second through one quorum queue: published persistently with confirms
    (`window` in flight), consumed with manual acks. With aio-pika as a client would write
    it, or, `together`, with frames written together as the services write them (`window`
    publishes in one write with `shared.broker.wire`, a turn's acks in one write): for comparison,
    the targets are against the first."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            f"bench.raw.{uuid.uuid4().hex[:6]}", durable=True, arguments={"x-queue-type": "quorum"}
        )
        consumer_channel = await connection.channel()
        await consumer_channel.set_qos(prefetch_count=window)
        consumed = asyncio.Event()
        acknowledgements = wire.Acknowledgements()
        seen = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            if together:
                await acknowledgements.ack(message.channel, message.delivery_tag or 0)
            else:
                await message.ack()
            seen += 1
            if seen == count:
                consumed.set()

        consuming = await consumer_channel.get_queue(queue.name)
        tag = await consuming.consume(on_message)
        body = b"x" * 600  # about the size of a CRM event
        underlay = await channel.get_underlay_channel()
        outgoing = wire.Outgoing(
            "", queue.name, body, pamqp.commands.Basic.Properties(delivery_mode=2)
        )
        started = time.perf_counter()
        for first in range(0, count, window):
            size = min(window, count - first)
            if together:
                answers = await wire.publish(underlay, [outgoing] * size)
                assert all(not isinstance(answer, BaseException) for answer in answers)
                continue
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=queue.name,
                    )
                    for _ in range(size)
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


def deliveries(events: list[dict[str, Any]], facts: list[dict[str, Any]]) -> int:
    """Messages the broker delivered: each event (the CRM's and the services' facts) to
    every service that consumes its type, and each fact to the CRM's queue."""
    consumers = Counter(t for d in DEFINITIONS.values() for t in d.event_types)
    return sum(consumers[e["type"]] for e in events) + sum(1 + consumers[f["type"]] for f in facts)


@dataclass
class Run:
    """One mode's throughput run."""

    elapsed: float
    facts: list[dict[str, Any]]
    memory: dict[str, tuple[float, float]]


async def _drop_schemas(database_url: str | None, prefix: str) -> None:
    """Drop every schema a run made (all that start with its prefix), whatever it ended in."""
    if database_url is None:
        return
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        made = await connection.execute(
            sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :prefix)"),
            {"prefix": prefix},
        )
        for (name,) in made.all():
            await connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    await engine.dispose()


async def _until_quiet(collector: Collector, expected: int | None, quiet: float = 3.0) -> float:
    """Until the expected number of facts arrived (or, not knowing it, until quiet); returns
    when the last one arrived."""
    count, quiet_since = -1, time.perf_counter()
    while time.perf_counter() - quiet_since < quiet:
        await asyncio.sleep(0.05)  # poll what has arrived
        if len(collector.facts) != count:
            count, quiet_since = len(collector.facts), time.perf_counter()
        if expected is not None and count >= expected:
            await asyncio.sleep(quiet)  # anything beyond the expected
            break
    return collector.arrived[-1] if collector.arrived else time.perf_counter()


async def throughput(
    url: str, database_url: str | None, events: list[dict[str, Any]], layout: Sequence[str],
    expected: int | None,
) -> Run:  # fmt: skip
    """Seconds for the whole burst, the facts, each process's memory before and after."""
    with tempfile.TemporaryDirectory() as folder:
        prefix = f"bench{uuid.uuid4().hex[:6]}_"
        try:
            async with pipeline(
                url, database_url, Path(folder), prefix, processes=layout, env=BENCH_ENV
            ) as (services, crm):
                before = rss_mib(services)
                started = time.perf_counter()
                await _publish_burst(url, events)
                last = await _until_quiet(crm, expected)
                after = rss_mib(services)
                facts = list(crm.facts)
        finally:
            await _drop_schemas(database_url, prefix)
    memory = {name: (before[name], after[name]) for name in before}
    return Run(last - started, facts, memory)


async def _publish_burst(url: str, events: list[dict[str, Any]], window: int = 200) -> None:
    """The CRM's burst: in order on one channel, `window` at a time in one write, as
    `convene backfill` publishes (the CRM's publishing costs the machine little)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for first in range(0, len(events), window):
            await publish_in_order(channel, events[first : first + window], None)


async def _send(exchange: aio_pika.abc.AbstractExchange, event: dict[str, Any]) -> None:
    await exchange.publish(crm_message(event), routing_key=event["type"])


def _check(reference: Counter[str], facts: list[dict[str, Any]]) -> str:
    tally = Tally(reference)
    for fact in facts:
        tally.add(fact)
    verdict = "every fact once" if not tally.lost and not tally.extra else "DIFFERENT"
    return (
        f"{verdict} ({tally.lost} missing, {tally.extra} extra, {tally.republished} "
        f"republished, {tally.rejected} rejected)"
    )


async def latency(
    url: str, database_url: str | None, rate: float, seconds: float
) -> tuple[int, list[float], list[float]]:
    """Conferences published at `rate` a second for `seconds`: for each CRM event that caused
    facts, seconds from its publication to the first and to the last of them."""
    families = max(1, round(rate * seconds / 2))
    schedule = steady(families, rate)
    sent: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        prefix = f"lat{uuid.uuid4().hex[:6]}_"
        try:
            async with pipeline(url, database_url, Path(folder), prefix, env=BENCH_ENV) as (_, crm):
                connection = await aio_pika.connect(url)
                async with connection:
                    channel = await connection.channel(publisher_confirms=True)
                    exchange = await channel.get_exchange("crm.events")
                    started = time.perf_counter()
                    pending = []
                    for at, event in schedule:
                        await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
                        sent[event["id"]] = time.perf_counter()
                        pending.append(asyncio.create_task(_send(exchange, event)))
                    await asyncio.gather(*pending)
                await _until_quiet(crm, None)
                facts, arrived = list(crm.facts), list(crm.arrived)
        finally:
            await _drop_schemas(database_url, prefix)
    cause = {fact["id"]: fact.get("causationid") for fact in facts}

    def root(fact_id: str) -> str | None:
        seen = 0
        while fact_id in cause and seen < 20:
            parent = cause[fact_id]
            if parent is None:
                return None  # a timer's fact: caused by time, not by an event
            fact_id, seen = parent, seen + 1
        return fact_id if fact_id in sent else None

    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for fact, at in zip(facts, arrived, strict=True):
        origin = root(fact["id"])
        if origin is None:
            continue
        took = at - sent[origin]
        first[origin] = min(first.get(origin, took), took)
        last[origin] = max(last.get(origin, took), took)
    return families * 2, list(first.values()), list(last.values())


def steady(
    families: int, rate: float, lifetime: float = FAMILY_SECONDS
) -> list[tuple[float, dict[str, Any]]]:
    """When to publish each event for conferences to arrive at `rate` a second: a family
    (two conferences) starts every 2/rate seconds and its history is spread evenly over
    `lifetime` seconds, so the events of many families at every stage interleave as a
    CRM's steady day does. (All histories in time order at an even pace would publish
    every family's first conference in the first thirteenth of the run: a burst of
    requests at thirteen times the rate.)"""
    schedule = []
    for n in range(families):
        history = family(n)
        gap = lifetime / len(history)
        schedule += [(2 * n / rate + k * gap, event) for k, event in enumerate(history)]
    return sorted(schedule, key=lambda pair: pair[0])  # stable: a family's order is kept


def _percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {1000 * cuts[49]:6.0f}  p95 {1000 * cuts[94]:6.0f}  p99 {1000 * cuts[98]:6.0f} ms"


def _steadiness(arrived: list[float]) -> str:
    """Facts a second reaching the CRM in the second tenth of a run and in the ninth: whether
    the services slow down as the history they hold grows (the first and last tenths are
    start-up and the tail)."""
    if len(arrived) < 100:
        return "too few facts to compare tenths"
    tenth = len(arrived) // 10

    def rate(part: int) -> float:
        seconds = arrived[(part + 1) * tenth - 1] - arrived[part * tenth]
        return (tenth - 1) / seconds if seconds > 0 else float("inf")

    early, late = rate(1), rate(8)
    return (
        f"{early:6.0f} facts/s in the run's second tenth, {late:6.0f} in its ninth "
        f"({late / early:4.2f}x)"
    )


async def scale(
    url: str, database_url: str | None, conferences: int, plans: bool = False
) -> tuple[float, str]:
    """Seconds for `conferences` conferences' histories played by `convene backfill` until
    the last fact they caused reached the CRM's queue, and what arrived there (with, on
    PostgreSQL and when asked, the hot path's plans on the tables the history left)."""
    families = conferences // 2
    events = workload(families)
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history.jsonl"
        with history.open("w") as lines:
            for event in events:
                lines.write(json.dumps(event) + "\n")
        prefix = f"scale{uuid.uuid4().hex[:6]}_"
        try:
            async with pipeline(
                url, database_url, Path(folder), prefix, env=BENCH_ENV, keep=False
            ) as (
                _,
                crm,
            ):
                command = [str(Path(sys.executable).parent / "convene"), "backfill", str(history)]
                started = time.perf_counter()
                played = await asyncio.create_subprocess_exec(
                    *command,
                    env={**os.environ, "AMQP_URL": url, "CONVENE_LOG_FORMAT": "console"},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
                output, _ = await played.communicate()
                applied = time.perf_counter() - started
                count = -1
                while count != crm.count:  # the last facts on their way to the CRM
                    count = crm.count
                    await asyncio.sleep(3)
                delivered = crm.last - started
            shown = []
            if plans and database_url is not None:
                for name in DEFINITIONS:
                    lines = await hot_path_plans(database_url, f"{prefix}{name}")
                    shown += [f"{name}: {lines[0]}", *(f"  {line}" for line in lines[1:])]
        finally:
            await _drop_schemas(database_url, prefix)
    summary = output.decode().strip().splitlines()
    return delivered, (
        f"{_steadiness(crm.arrived)}\n  {'':<10} {crm.count} facts ({len(crm.ids)} distinct "
        f"ids, {crm.rejected} rejected) on the "
        f"CRM's queue, the last after {delivered:.1f} s (the command ended after {applied:.1f} "
        f"s); backfill: {summary[0] if summary else '?'}"
        + "".join(f"\n  {'':<10} {line}" for line in shown)
    )


async def main(families: int, scale_conferences: int, parts: set[str]) -> None:
    databases = (("sqlite", None), ("postgresql", POSTGRES_URL))
    with private_vhost() as vhost:
        url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
        raw = await raw_round_trip(url)
        print(f"raw broker round trip (quorum, persistent, confirms, acks): {raw:8.0f} msg/s")
        batched = await raw_round_trip(url, 20_000, 200, together=True)
        print(
            f"the same, frames written together as the services write them: {batched:8.0f} "
            "msg/s (for comparison; the targets are against the first)"
        )
        if "throughput" in parts:
            events = workload(families)
            conferences = families * 2
            print(
                f"\nthroughput: {conferences} conferences, {len(events)} CRM events in one "
                "burst, four councils; each mode against the raw round trip measured right "
                "before it"
            )
            reference: Counter[str] | None = None
            for database, database_url in databases:
                for layout_name, layout in LAYOUTS.items():
                    expected = None if reference is None else sum(reference.values())
                    raw = await raw_round_trip(url)
                    together = await raw_round_trip(url, 20_000, 200, together=True)
                    run = await throughput(url, database_url, events, layout, expected)
                    got = Counter(logical_key(f) for f in {f["id"]: f for f in run.facts}.values())
                    reference = reference or got
                    moved = deliveries(events, run.facts)
                    rate = moved / run.elapsed
                    # Operation for operation: a raw message is a publish and a delivery; the
                    # pipeline publishes each CRM event and fact once and delivers `moved`.
                    operations = (moved + len(events) + len(run.facts)) / run.elapsed
                    print(
                        f"  {database:<10} {layout_name:<15} {len(run.facts):6} facts in "
                        f"{run.elapsed:6.1f} s: {rate:6.0f} deliveries/s = "
                        f"{100 * rate / raw:5.1f} % of raw ({raw:5.0f}), "
                        f"operations {operations:6.0f}/s = {operations / (2 * raw):4.2f} of "
                        f"raw's, {operations / (2 * together):4.2f} of raw written together "
                        f"({2 * together:5.0f}), "
                        f"{1000 * run.elapsed / conferences:5.0f} ms per conference; "
                        f"{_check(reference, run.facts)}"
                    )
                    memory = ", ".join(
                        f"{name} {before:.0f}->{after:.0f}"
                        for name, (before, after) in run.memory.items()
                    )
                    print(f"  {'':<10} {'':<15} RSS MiB: {memory}")
        if "latency" in parts:
            print(
                "\nlatency from a CRM event's publication to the facts it caused "
                "(one process a service):"
            )
            for database, database_url in databases:
                for rate in (1.0, 5.0, 20.0):
                    count, first, last = await latency(
                        url, database_url, rate, seconds=LATENCY_SECONDS
                    )
                    print(
                        f"  {database:<10} {rate:4.0f} conferences/s ({count} conferences): "
                        f"first fact {_percentiles(first)}; last fact {_percentiles(last)}"
                    )
        if "scale" in parts:
            print(
                "\nscale: histories played by `convene backfill` (one process a service), "
                "timed to the last fact on the CRM's queue"
            )
            chosen = os.environ.get("BENCH_SCALE_DATABASES", "sqlite,postgresql").split(",")
            for database, database_url in databases:
                if database not in chosen:
                    continue
                small, _ = await scale(url, database_url, 100)
                large, said = await scale(url, database_url, scale_conferences, plans=True)
                per_small, per_large = small / 100, large / scale_conferences
                year = per_large * NATIONAL_YEAR / 3600
                print(
                    f"  {database:<10} 100 conferences {1000 * per_small:5.0f} ms each; "
                    f"{scale_conferences} conferences {1000 * per_large:5.1f} ms each "
                    f"({per_large / per_small:4.2f}x); a national year ({NATIONAL_YEAR:,}) "
                    f"would take {year:4.2f} h on this machine\n  {'':<10} {said}"
                )


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    chosen = os.environ.get("BENCH_PARTS", "raw,throughput,latency,scale")
    asyncio.run(
        main(
            arguments[0] if arguments else 100,
            arguments[1] if len(arguments) > 1 else 10_000,
            set(chosen.split(",")),
        )
    )
