"""Group commit on a real database: deliveries of different conferences ready together are
applied in one transaction, each exactly as it would be on its own."""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.common_v1 import InputRejected
from rules.effects import Effects, RuleViolation
from services.app import DEFINITIONS
from shared.application.grouping import CONFLICT, DUPLICATE, GroupCommit
from shared.application.handling import Flow, HandlerContext
from shared.clock import ManualClock
from shared.runtime.service import ServiceRuntime
from shared.runtime.settings import Settings
from shared.store.aggregates import AggregateStore
from shared.store.tables import aggregates, inbox, outbox

AT = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


@dataclass
class Tally:
    """A test aggregate: how many events were applied to it, and which."""

    count: int = 0
    events: list[str] | None = None


TALLIES = AggregateStore("tally", Tally)


async def count(ctx: HandlerContext, data: dict[str, Any]) -> None:
    """Add the event to its tally (made on first use) and say so in a fact."""
    loaded = await ctx.load(TALLIES, data["key"]) or ctx.new(data["key"], Tally(0, []))
    if data.get("refuse"):
        raise RuleViolation(["refused"])
    loaded.state.count += 1
    loaded.state.events = [*(loaded.state.events or []), ctx.event_id]
    fact = InputRejected(event_id=ctx.event_id, event_type="test.counted", reasons=["counted"])
    await ctx.save(TALLIES, loaded, Effects.of("reports.input.rejected.v1", fact, data["key"]))


async def _group(settings: Settings, size: int = 10) -> tuple[ServiceRuntime, GroupCommit]:
    runtime = ServiceRuntime(DEFINITIONS["reports"], settings, ManualClock(AT))
    await runtime.prepare(broker=None, in_memory=True)  # type: ignore[arg-type]  # no broker needed

    async def nothing(_connection: Any, _flow: Any) -> None:
        return None

    group = GroupCommit(
        "reports", runtime.engine, runtime.clock, runtime.context, nothing, size, lanes=1
    )
    return runtime, group


def _flow(event_id: str, tenant: str = "886") -> Flow:
    return Flow(event_id, "test.count", tenant, event_id, event_id, AT)


async def _apply(
    group: GroupCommit, event_id: str, data: dict[str, Any], tenant: str = "886"
) -> str:
    return await group.apply(
        _flow(event_id, tenant), [f"{tenant}|{event_id}"], f"digest-{event_id}", count, data
    )


async def _tallies(runtime: ServiceRuntime) -> dict[tuple[str, str], Any]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(aggregates.c.tenant, aggregates.c.key, aggregates.c.state).where(
                aggregates.c.kind == "tally"
            )
        )
        return {(row.tenant, row.key): json.loads(row.state) for row in rows}


async def _column(runtime: ServiceRuntime, column: sa.ColumnElement[Any], order: Any) -> list[Any]:
    async with runtime.engine.connect() as connection:
        return list((await connection.execute(sa.select(column).order_by(order))).scalars())


async def test_deliveries_ready_together_are_written_in_one_transaction_in_their_order(
    settings: Settings, database: str
) -> None:
    runtime, group = await _group(settings)
    try:
        outcomes = await asyncio.gather(
            *(
                _apply(group, f"E{n}", {"key": f"CONF-{n}"}, tenant)
                for n in range(8)
                for tenant in ("886", "807")
            )
        )
        assert outcomes == ["applied"] * 16
        assert (group.groups, group.grouped) == (2, 16)  # 16 deliveries, at most 10 a group
        tallies = await _tallies(runtime)
        assert len(tallies) == 16
        assert tallies[("807", "CONF-3")] == {"__v": 1, "count": 1, "events": ["E3"]}
        # The facts are queued in the order the deliveries came.
        bodies = await _column(runtime, outbox.c.body, outbox.c.position)
        subjects = [body.split('"subject":"', 1)[1].split('"', 1)[0] for body in bodies]
        assert subjects == [f"CONF-{n}" for n in range(8) for _ in range(2)]
        inboxed = await _column(runtime, inbox.c.event_id, inbox.c.event_id)
        assert len(inboxed) == 16
    finally:
        await runtime.stop()


async def test_two_deliveries_of_one_group_touching_one_aggregate_never_lose_an_update(
    settings: Settings, database: str
) -> None:
    runtime, group = await _group(settings)
    try:
        outcomes = await asyncio.gather(
            *(_apply(group, f"E{n}", {"key": "SHARED"}) for n in range(4))
        )
        assert outcomes == ["applied"] * 4
        # The first held the aggregate; the others were applied again, each in a group of
        # its own, after the first group committed.
        assert (group.groups, group.grouped) == (4, 7)
        tally = (await _tallies(runtime))[("886", "SHARED")]
        assert tally["count"] == 4 and sorted(tally["events"]) == ["E0", "E1", "E2", "E3"]
    finally:
        await runtime.stop()


async def test_a_delivery_whose_handler_raises_leaves_the_group_without_a_trace(
    settings: Settings, database: str
) -> None:
    runtime, group = await _group(settings)
    try:
        outcomes = await asyncio.gather(
            _apply(group, "E0", {"key": "CONF-0"}),
            _apply(group, "E1", {"key": "CONF-1", "refuse": True}),
            _apply(group, "E2", {"key": "CONF-2"}),
            return_exceptions=True,
        )
        assert outcomes[0] == outcomes[2] == "applied"
        assert isinstance(outcomes[1], RuleViolation)
        assert group.groups == 1
        assert set(await _tallies(runtime)) == {("886", "CONF-0"), ("886", "CONF-2")}
        assert await _column(runtime, inbox.c.event_id, inbox.c.event_id) == ["E0", "E2"]
        assert len(await _column(runtime, outbox.c.body, outbox.c.position)) == 2
    finally:
        await runtime.stop()


@pytest.mark.parametrize("digest", ["digest-E0", "other content"])
async def test_an_event_applied_before_is_told_in_a_group_from_a_reused_id(
    settings: Settings, database: str, digest: str
) -> None:
    runtime, group = await _group(settings)
    try:
        assert await _apply(group, "E0", {"key": "CONF-0"}) == "applied"
        again, other = await asyncio.gather(
            group.apply(_flow("E0"), ["886|E0"], digest, count, {"key": "CONF-0"}),
            _apply(group, "E1", {"key": "CONF-1"}),
        )
        assert again == (DUPLICATE if digest == "digest-E0" else CONFLICT)
        assert other == "applied"
        assert (await _tallies(runtime))[("886", "CONF-0")]["count"] == 1
    finally:
        await runtime.stop()
