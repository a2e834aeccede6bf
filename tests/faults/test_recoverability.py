"""Nothing lost, nothing done twice, nothing refused, whatever fails mid-stream.

Each case plays the same workload (CONVENE_FAULT_FAMILIES families' whole histories
across four councils, in one burst, in time order) through the three services as
separate processes, breaks something while they work, and counts the facts that
reach the CRM's queue by logical key against a run with no fault: tried (facts
expected), held, lost, extra (duplicated or unexpected), refused (input.rejected)
and dead letters. Every case must end with 0 lost, 0 extra, 0 refused and 0 dead
letters. The figures are printed and appended to var/faults.txt.

`make faults` runs these with 200 families; the test command runs them with fewer.
"""

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.app import DEFINITIONS
from tests.support.pipeline import (
    Collector,
    Services,
    Tally,
    dead_letters,
    logical_key,
    pipeline,
    publish,
    wait_for,
    workload,
)
from tests.support.servers import PrivatePostgres, PrivateRabbit

FAMILIES = int(os.environ.get("CONVENE_FAULT_FAMILIES", "4"))
OUTAGE_SECONDS = float(os.environ.get("CONVENE_FAULT_OUTAGE_SECONDS", "10"))
RESULTS = Path(os.environ.get("CONVENE_FAULT_RESULTS", "var/faults.txt"))
Fault = Callable[[Services, Collector, Tally], Awaitable[None]]

_expected: Counter[str] | None = None


async def _baseline(amqp_url: str, tmp_path: Path) -> Counter[str]:
    """The facts of the workload with no fault (computed once, on SQLite)."""
    global _expected
    if _expected is None:
        events = workload(FAMILIES)
        async with pipeline(amqp_url, None, tmp_path / "baseline", _prefix()) as (_, crm):
            await publish(amqp_url, events)
            count = -1
            while count != len(crm.facts):  # until a quiet stream: nothing more to come
                count = len(crm.facts)
                await asyncio.sleep(3)  # poll for quiet
            _expected = Counter(logical_key(f) for f in crm.facts)
        refused = [key for key in _expected if ".input.rejected." in key]
        assert not refused, refused[:3]
    return _expected


def _prefix() -> str:
    return f"f{uuid.uuid4().hex[:8]}_"


async def _mid_stream(crm: Collector, tally: Tally, share: float = 0.3) -> None:
    """Wait until about `share` of the expected facts have come back."""
    target = int(sum(tally.expected.values()) * share)
    async with asyncio.timeout(120 + FAMILIES * 2):
        while len(crm.facts) < target:
            await asyncio.sleep(0.05)  # poll for the condition


async def _play(
    case: str,
    amqp_url: str,
    database_url: str | None,
    folder: Path,
    expected: Counter[str],
    fault: Fault,
    declare_url: str | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Tally:
    tally = Tally(expected)
    prefix = _prefix()
    try:
        async with pipeline(amqp_url, database_url, folder, prefix, declare_url) as (
            services,
            crm,
        ):
            burst = workload(FAMILIES) if events is None else events
            publisher = asyncio.create_task(publish(amqp_url, burst))
            await fault(services, crm, tally)
            await publisher
            await wait_for(tally, crm, within=120 + FAMILIES * 3)
            letters = await dead_letters(amqp_url)
    finally:
        await _drop_schemas(database_url, prefix)
    line = (
        f"{case:<44} {'postgresql' if database_url else 'sqlite':<10} "
        f"tried {sum(expected.values()):>6}  held {sum(expected.values()) - tally.lost:>6}  "
        f"lost {tally.lost:>4}  extra {tally.extra:>4}  refused {tally.rejected:>3}  "
        f"dead letters {letters:>3}  copies (same id) {tally.republished:>4}"
    )
    _record(line)
    differences = "\n".join(tally.differences())
    assert (tally.lost, tally.extra, tally.rejected, letters) == (0, 0, 0, 0), (
        f"{line}\n{differences}"
    )
    return tally


def _record(line: str) -> None:
    """Print a case's figures and keep them in the results file."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    print(line)  # the suite's figures


def _kill(*names: str) -> Fault:
    async def fault(services: Services, crm: Collector, tally: Tally) -> None:
        await _mid_stream(crm, tally)
        for name in names:
            services.kill(name)
        for name in names:
            services.start(name)
        await services.wait_ready(list(names))

    return fault


def _terminate_three_times() -> Fault:
    async def fault(services: Services, crm: Collector, tally: Tally) -> None:
        for share in (0.2, 0.4, 0.6):
            await _mid_stream(crm, tally, share)
            for name in DEFINITIONS:
                services.terminate(name)
            for name in DEFINITIONS:
                services.start(name)
            await services.wait_ready(list(DEFINITIONS))

    return fault


async def _no_fault(_services: Services, _crm: Collector, _tally: Tally) -> None:
    return None


KILLS = {
    "kill -9 invitations": _kill("invitations"),
    "kill -9 reports": _kill("reports"),
    "kill -9 decisions": _kill("decisions"),
    "kill -9 all three": _kill(*DEFINITIONS),
    "SIGTERM all three, 3 times": _terminate_three_times(),
}


@pytest.mark.parametrize("case", ["none", *KILLS])
async def test_services_killed_mid_stream_lose_nothing(
    case: str, database: str, amqp_url: str, postgres_base_url: str, tmp_path: Path
) -> None:
    expected = await _baseline(amqp_url, tmp_path)
    database_url = postgres_base_url if database == "postgresql" else None
    fault = _no_fault if case == "none" else KILLS[case]
    await _play(case, amqp_url, database_url, tmp_path / "run", expected, fault)


async def _drop_schemas(database_url: str | None, prefix: str) -> None:
    """Drop the schemas this case's services created (and no one else's: other runs share
    the database)."""
    if database_url is None:
        return
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        for service in DEFINITIONS:
            await connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{prefix}{service}" CASCADE'))
    await engine.dispose()


def _twice(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every event delivered twice (a CRM's retry, a broker's redelivery)."""
    return [e for event in events for e in (event, event)]


def _before_their_conference(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each conference's next event (a response, a report) published before the conference
    itself: it arrives before the event it depends on."""
    out = list(events)
    for event in events:
        if event["type"] != "crm.conference.requested.v1":
            continue
        at = out.index(event)
        later = next(i for i in range(at + 1, len(out)) if out[i]["subject"] == event["subject"])
        out.insert(at, out.pop(later))
    return out


def _interleaved(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neighbouring events of different conferences swapped (their order is no rule)."""
    out = list(events)
    for i in range(0, len(out) - 1, 2):
        if out[i]["subject"] != out[i + 1]["subject"]:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


DELIVERIES = {
    "every event delivered twice": _twice,
    "events before their conference": _before_their_conference,
    "other conferences' events reordered": _interleaved,
}


@pytest.mark.parametrize("case", DELIVERIES)
async def test_duplicated_early_and_reordered_deliveries_give_the_same_facts(
    case: str, amqp_url: str, tmp_path: Path
) -> None:
    expected = await _baseline(amqp_url, tmp_path)
    events = DELIVERIES[case](workload(FAMILIES))
    await _play(case, amqp_url, None, tmp_path / "run", expected, _no_fault, events=events)


async def test_a_broker_restart_and_a_broker_crash_lose_nothing(
    amqp_url: str, postgres_base_url: str, tmp_path: Path
) -> None:
    """One private node, two faults: the broker application stopped and started under the
    services on SQLite, then the node killed -9 and restarted under them on PostgreSQL
    (the broker's side of either is the same code whatever the database)."""
    expected = await _baseline(amqp_url, tmp_path)
    with PrivateRabbit() as rabbit:
        node = rabbit.nodes[0]

        async def restart_app(services: Services, crm: Collector, tally: Tally) -> None:
            await _mid_stream(crm, tally)
            node.run("stop_app")
            await asyncio.sleep(3)  # the fault's length (the broker away), not a wait
            node.run("start_app")

        await _play("broker stop_app / start_app", node.url, None, tmp_path / "a",
                    expected, restart_app)  # fmt: skip

        async def crash(services: Services, crm: Collector, tally: Tally) -> None:
            await _mid_stream(crm, tally)
            await asyncio.to_thread(node.kill)
            await asyncio.to_thread(node.start)

        await _play("broker node kill -9 and restart", node.url, postgres_base_url,
                    tmp_path / "b", expected, crash)  # fmt: skip


async def test_a_database_outage_pauses_and_loses_nothing(amqp_url: str, tmp_path: Path) -> None:
    expected = await _baseline(amqp_url, tmp_path)
    with PrivatePostgres() as postgres:

        async def outage(services: Services, crm: Collector, tally: Tally) -> None:
            await _mid_stream(crm, tally)
            await asyncio.to_thread(postgres.stop)
            async with asyncio.timeout(20):  # /ready says so
                while any(services.ready(name) for name in DEFINITIONS):
                    await asyncio.sleep(0.1)  # poll for the condition
            await asyncio.sleep(OUTAGE_SECONDS)  # the fault's length, not a wait
            await asyncio.to_thread(postgres.start)
            await services.wait_ready(list(DEFINITIONS))

        await _play(f"PostgreSQL down {OUTAGE_SECONDS:g} s", amqp_url, postgres.url,
                    tmp_path / "pg", expected, outage)  # fmt: skip


async def test_a_three_node_cluster_loses_nothing_when_a_node_dies(
    amqp_url: str, tmp_path: Path
) -> None:
    expected = await _baseline(amqp_url, tmp_path)
    with PrivateRabbit(nodes=3) as cluster:
        first, second, _third = cluster.nodes

        async def node_dies(services: Services, crm: Collector, tally: Tally) -> None:
            queues = await asyncio.to_thread(first.queues)
            for name in (f"{service}.incoming" for service in DEFINITIONS):
                leader, members = queues[name]
                assert (leader, len(members)) == (second.node, 3), (name, queues[name])
            await _mid_stream(crm, tally)
            await asyncio.to_thread(second.kill)  # the leader of every service queue

        await _play("3-node cluster, one node kill -9", first.url, None, tmp_path / "c",
                    expected, node_dies, declare_url=second.url)  # fmt: skip
