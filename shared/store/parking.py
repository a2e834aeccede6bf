"""Events that arrived before one they depend on wait here instead of failing.

A report for a conference not known yet, an outcome before its conference was held,
a correction before the outcome it corrects: the domain says `NotReadyYet`, and
the event is parked (stored with its delivery, acknowledged). Each time an event
is applied, the parked events that share an ordering key with it (the conference)
are tried again, in the order they arrived; a sweep tries them all now and then.
One still waiting after `CONVENE_PARK_EXPIRY_SECONDS` is refused, saying what it
waited for. Parking is for order only: an event that breaks a rule whatever the
order is refused at once.

An event out for a delayed retry keeps a "retrying" row here too: while it is out,
later events sharing one of its ordering keys park behind it, so the conference's
events are still applied in the order they were published.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.store.dialect import Dialect, dialect_of
from shared.store.tables import inbox, parked

KEY_SEPARATOR = "\n"
EARLY = "early"
RETRYING = "retrying"


@dataclass(frozen=True)
class ParkedEvent:
    """One waiting event, with what is needed to apply it as if just delivered."""

    position: int
    tenant: str
    event_id: str
    keys: list[str]
    body: bytes
    delivery: dict[str, Any]
    reason: str
    parked_at: datetime


@functools.cache
def _before_applying_all(dialect: Dialect) -> sa.CompoundSelect[tuple[str, str, str, str, str]]:
    """Built once a dialect: the inbox digests of (tenant, event id) pairs, each looked up by
    its key (`Dialect.keyed`), and the events out for a delayed retry of their councils, in
    position order (bound: tenants, pairs)."""
    retrying = sa.select(
        sa.literal("retrying").label("source"),
        parked.c.tenant,
        parked.c.event_id,
        parked.c.event_id.label("value"),
        parked.c.ordering_keys.label("keys"),
        parked.c.position,
    ).where(dialect.among([parked.c.tenant], "tenants"), parked.c.kind == RETRYING)
    recorded = dialect.keyed(
        "pairs",
        (inbox.c.tenant, inbox.c.event_id),
        lambda conditions: sa.select(inbox.c.tenant, inbox.c.event_id, inbox.c.digest).where(
            *conditions
        ),
    ).subquery("recorded")
    seen = sa.select(
        sa.literal("inbox").label("source"),
        recorded.c.tenant,
        recorded.c.event_id,
        sa.func.coalesce(recorded.c.digest, "").label("value"),
        sa.literal("").label("keys"),
        sa.literal(0).label("position"),
    )
    return sa.union_all(seen, retrying).order_by("position")


async def park(
    connection: AsyncConnection,
    *,
    tenant: str,
    event_id: str,
    event_type: str,
    keys: list[str],
    body: bytes,
    delivery: dict[str, Any],
    reason: str,
    event_time: datetime,
    now: datetime,
    kind: str = EARLY,
) -> None:
    """Store a waiting event (a redelivered copy of one already waiting changes nothing)."""
    await connection.execute(
        dialect_of(connection)
        .insert(parked)
        .values(
            tenant=tenant,
            event_id=event_id,
            event_type=event_type,
            kind=kind,
            ordering_keys=KEY_SEPARATOR.join(keys),
            body=body.decode(),
            delivery=delivery,
            reason=reason[:500],
            event_time=event_time,
            parked_at=now,
        )
        .on_conflict_do_nothing(index_elements=[parked.c.tenant, parked.c.event_id])
    )


async def remove_all(connection: AsyncConnection, events: list[tuple[str, str]]) -> None:
    """`remove_event` for several events, (tenant, event id) each, in one statement."""
    if events:
        await connection.execute(
            parked.delete().where(
                parked.c.tenant == sa.bindparam("b_tenant"),
                parked.c.event_id == sa.bindparam("b_event_id"),
            ),
            [{"b_tenant": tenant, "b_event_id": event_id} for tenant, event_id in events],
        )


async def remove_event(connection: AsyncConnection, tenant: str, event_id: str) -> None:
    """The event is being applied (or was refused, or dead-lettered): it waits no more,
    and nothing waits for it."""
    await connection.execute(
        parked.delete().where(parked.c.tenant == tenant, parked.c.event_id == event_id)
    )


async def before_applying_all(
    connection: AsyncConnection, events: list[tuple[str, list[str], str]]
) -> list[tuple[str | None, str | None]]:
    """For several events of any councils, (tenant, keys, event id) each, in one query:
    the id of an event out for a delayed retry that shares one of its keys (it comes
    first), if any; and the content digest the inbox has for its id ("" when recorded
    without one), or None when it was never processed."""
    if not events:
        return []
    tenants = sorted({tenant for tenant, _keys, _event_id in events})
    pairs = [(tenant, event_id) for tenant, _keys, event_id in events]
    dialect = dialect_of(connection)
    found = (
        await connection.execute(
            _before_applying_all(dialect),
            {
                **dialect.among_values("tenants", tenants),
                **dialect.among_values("pairs", pairs, width=2),
            },
        )
    ).all()
    digests = {(row.tenant, row.event_id): str(row.value) for row in found if row.source == "inbox"}
    retrying = [row for row in found if row.source == "retrying"]
    answers: list[tuple[str | None, str | None]] = []
    for tenant, keys, event_id in events:
        wanted = set(keys)
        blocker = next(
            (
                str(row.event_id)
                for row in retrying
                if row.tenant == tenant
                and row.event_id != event_id
                and wanted.intersection(row.keys.split(KEY_SEPARATOR))
            ),
            None,
        )
        answers.append((blocker, digests.get((tenant, event_id))))
    return answers


async def waiting(
    engine: AsyncEngine, keys: list[str] | None = None, tenant: str | None = None
) -> list[ParkedEvent]:
    """Early events waiting, in arrival order: all of them, or the council's that share one
    of `keys`."""
    query = sa.select(parked).where(parked.c.kind == EARLY).order_by(parked.c.position)
    if tenant is not None:
        query = query.where(parked.c.tenant == tenant)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    found = [
        ParkedEvent(
            row.position,
            row.tenant,
            row.event_id,
            row.ordering_keys.split(KEY_SEPARATOR),
            row.body.encode(),
            dict(row.delivery),
            row.reason,
            row.parked_at,
        )
        for row in rows
    ]
    if keys is None:
        return found
    wanted = set(keys)
    return [event for event in found if wanted.intersection(event.keys)]


async def count(engine: AsyncEngine, kind: str = EARLY) -> int:
    """How many events are waiting (or, with RETRYING, out for a delayed retry)."""
    async with engine.connect() as connection:
        result = await connection.execute(
            sa.select(sa.func.count()).select_from(parked).where(parked.c.kind == kind)
        )
        return int(result.scalar_one())


async def expire_retrying(engine: AsyncEngine, before: datetime) -> int:
    """Forget delayed retries sent before `before` that never came back (their queue was
    purged): events waiting behind them are no longer held."""
    async with engine.begin() as connection:
        result = await connection.execute(
            parked.delete().where(parked.c.kind == RETRYING, parked.c.parked_at < before)
        )
        return int(result.rowcount or 0)
