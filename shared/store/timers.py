"""Durable timers that fire in event time.

A timer is a row in the service's database, owned by one aggregate (its
`subject`, within a council). Its due time is never before the moment it became
known (the business time of what set it). It fires, judged as of its due time,
either

- when its aggregate's next event arrives with a later time (the handler's
  `load` fires it first: `due_for`); its aggregate's own events are applied in
  the order the CRM published them, so all of them up to that time are in; or
- from the scheduler, once the clock has passed it and the council's stream has
  been quiet for `quiet_seconds` (live traffic that went still, or the end of a
  back-fill), nothing of the council's waiting in the queue or the client.

Never earlier: how far other conferences of the council have been applied says
nothing about this one's (a CRM may publish one conference's history before
another's, or send an event from the future), and no timer fires before its due
time by the clock. So replaying a council's history in one burst, in any order
that keeps each conference's own, fires the same timers, with the same verdicts,
as processing it live. A timer fires in the transaction that
marks it fired and queues its facts, so it fires once across restarts and
replicas (the aggregate's row lock, PostgreSQL SKIP LOCKED; SQLite has one writer).
"""

import functools
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from rules.effects import Timer
from shared.clock import Clock
from shared.observability.logging import get_logger
from shared.store.dialect import Dialect, dialect_of, padded
from shared.store.tables import parked, progress, timers

log = get_logger(__name__)

T = TypeVar("T")


def timer_id(tenant: str, store: str, key: str, kind: str | None, name: str | None) -> str:
    """A timer's id: council, aggregate, kind and name (a prefix when kind or name is None)."""
    parts = [tenant, store, key]
    if kind is not None:
        parts.append(kind)
        if name is not None:
            parts.append(name)
    return "|".join(parts) + ("" if name is not None else "|")


async def schedule_all(connection: AsyncConnection, clock: Clock, batch: list[Timer]) -> None:
    """Set (or move) timers in one statement (an upsert); the last of one id wins."""
    latest = {timer.timer_id: timer for timer in batch}
    if not latest:
        return
    statement = dialect_of(connection).insert(timers)
    replaced = {
        name: statement.excluded[name]
        for name in ("kind", "due_at", "subject", "tenant", "correlationid", "payload",
                     "created_at", "fired_at", "cancelled_at", "trace")
    }  # fmt: skip
    now = clock.now()
    await connection.execute(
        statement.on_conflict_do_update(index_elements=[timers.c.timer_id], set_=replaced),
        [
            {
                "timer_id": timer.timer_id,
                "kind": timer.kind,
                "due_at": timer.due_at,
                "subject": timer.subject,
                "tenant": timer.tenant,
                "correlationid": timer.correlationid,
                "payload": timer.payload,
                "created_at": now,
                "fired_at": None,
                "cancelled_at": None,
                "trace": timer.trace,
            }
            for timer in latest.values()
        ],
    )


def _pending() -> sa.ColumnElement[bool]:
    return sa.and_(timers.c.fired_at.is_(None), timers.c.cancelled_at.is_(None))


@functools.cache
def _due_for_all(dialect: Dialect) -> sa.Select[Any]:
    """Built once a dialect (bound: subjects, rows of tenant and subject; kinds; through):
    each (tenant, subject) looked up by its key (`Dialect.keyed`)."""
    return dialect.keyed(
        "subjects",
        (timers.c.tenant, timers.c.subject),
        lambda conditions: (
            sa.select(timers)
            .where(
                *conditions,
                dialect.among([timers.c.kind], "kinds"),
                timers.c.due_at <= sa.bindparam("through"),
                dialect.unset(timers.c.fired_at, timers.c.cancelled_at),
            )
            .order_by(timers.c.due_at, timers.c.timer_id)
        ),
    )


async def cancel_all(
    connection: AsyncConnection, clock: Clock, prefixes: list[tuple[str, str, str]]
) -> int:
    """Cancel, in one statement, the unfired timers of each (council, aggregate, id prefix)."""
    if not prefixes:
        return 0
    result = await connection.execute(
        timers.update()
        .where(
            sa.or_(
                *(
                    sa.and_(
                        timers.c.tenant == tenant,
                        timers.c.subject == subject,
                        timers.c.timer_id.startswith(prefix, autoescape=True),
                    )
                    for tenant, subject, prefix in padded(list(dict.fromkeys(prefixes)))
                )
            ),
            _pending(),
        )
        .values(cancelled_at=clock.now())
    )
    return int(result.rowcount)


def _aware(moment: datetime | str) -> datetime:
    """A time read back from an aggregate of a timestamp column (SQLite returns text)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def timer_of_row(row: Any) -> Timer:
    return Timer(
        row.timer_id,
        row.kind,
        row.due_at,
        row.subject,
        row.tenant,
        row.correlationid,
        dict(row.payload),
        row.trace,
    )


async def due_for_all(
    connection: AsyncConnection, wanted: list[tuple[str, str, Sequence[str], datetime]]
) -> list[list[Timer]]:
    """`due_for` for several aggregates, (tenant, subject, kinds, through) each, in one
    query."""
    if not wanted:
        return []
    dialect = dialect_of(connection)
    subjects = sorted({(tenant, subject) for tenant, subject, _k, _t in wanted})
    kinds = sorted({kind for _s, _t, kinds, _th in wanted for kind in kinds})
    result = await connection.execute(
        _due_for_all(dialect),
        {
            **dialect.among_values("subjects", subjects, width=2),
            **dialect.among_values("kinds", kinds),
            "through": max(through for _s, _t, _k, through in wanted),
        },
    )
    found = [timer_of_row(row) for row in result]
    return [
        [
            timer
            for timer in found
            if timer.tenant == tenant
            and timer.subject == subject
            and timer.kind in kinds
            and timer.due_at <= through
        ]
        for tenant, subject, kinds, through in wanted
    ]


async def mark_all_fired(connection: AsyncConnection, timer_ids: list[str], clock: Clock) -> None:
    """These timers have fired (in this transaction), in one statement."""
    if timer_ids:
        dialect = dialect_of(connection)
        await connection.execute(
            mark_fired_statement(dialect),
            {**dialect.among_values("ids", timer_ids), "at": clock.now()},
        )


@functools.cache
def mark_fired_statement(dialect: Dialect) -> sa.Update:
    """Mark timers fired by primary key, if still pending (bound: ids, at).

    The guard is one `coalesce`, not `_pending()`: with the pending test written out,
    PostgreSQL took the partial index of pending timers (whose predicate it matches) and
    filtered every pending timer for the ids, 120 ms a firing with 28,000 timers pending
    in a back-fill, instead of looking the ids up."""
    return (
        timers.update()
        .where(
            dialect.among([timers.c.timer_id], "ids"),
            sa.func.coalesce(timers.c.fired_at, timers.c.cancelled_at).is_(None),
        )
        .values(fired_at=sa.bindparam("at"))
    )


async def ensure_progress(connection: AsyncConnection, tenant: str, through: datetime) -> None:
    """Give a council its progress row in the transaction of its first event, so a timer
    never exists without one (a replica that cannot see a council's progress never takes the
    council for quiet).

    `through` is how far the council's stream has been applied, not this event's time:
    events of other conferences run concurrently, so the first to commit may be a later
    one, and a row at its time would let earlier timers fire before earlier events."""
    await _insert_progress(connection, tenant, through, datetime.now(UTC))


async def _insert_progress(
    connection: AsyncConnection, tenant: str, through: datetime, active_at: datetime
) -> None:
    """Insert a council's progress row unless one is there (another transaction may have
    just written it)."""
    await connection.execute(
        dialect_of(connection)
        .insert(progress)
        .values(tenant=tenant, through=through, active_at=active_at)
        .on_conflict_do_nothing(index_elements=[progress.c.tenant])
    )


def due_query(
    *, now: datetime, quiet_since: datetime, held_since: datetime, limit: int
) -> sa.Select[Any]:
    """The scheduler's query: pending timers that the clock has passed in a council quiet
    since `quiet_since`, oldest first.

    The pending timers are read in due order and no further than the clock: a back-fill
    leaves tens of thousands of them pending, most due later. The bound is a value, not a
    subquery, so the planner can tell how few timers it leaves."""
    # An event of the council's that waits (early, or out for a delayed retry) and happened
    # before the timer's due time holds the timer back, for a while.
    held = sa.exists().where(
        parked.c.tenant == timers.c.tenant,
        parked.c.event_time <= timers.c.due_at,
        parked.c.parked_at >= held_since,
    )
    return (
        sa.select(timers)
        # A council with no progress yet has just started: its replica will say.
        .select_from(timers.join(progress, progress.c.tenant == timers.c.tenant))
        .where(_pending(), timers.c.due_at <= now, progress.c.active_at <= quiet_since, ~held)
        .order_by(timers.c.due_at, timers.c.timer_id)
        .limit(limit)
    )


FireDue = Callable[[Timer], Awaitable[None]]
