"""Pruning what is only kept for a while: published facts, processed event ids, timers done.

A service's history grows with every event; what keeps processing fast is that the hot
path reads none of it (every query on it uses an index) and that these rows are pruned:

- outbox rows published more than `retention` ago;
- inbox ids processed more than `inbox retention` ago: at least `retention`, and always
  longer than the longest delayed retry plus a margin, so a redelivered or retried event
  is still recognised. A CRM replaying events older than that finds them judged by the
  aggregates (a conference requested twice is refused, not doubled);
- timers fired or cancelled more than `retention` ago.

Deletes go in small batches, each its own short transaction, so processing never waits
long for the pruner. The aggregates (the state) and the parked events are never pruned
here.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.observability.logging import get_logger
from shared.store.dialect import Dialect, dialect_of
from shared.store.tables import inbox, outbox, timers

log = get_logger(__name__)

INBOX_MARGIN = timedelta(days=3)
"""How much longer than the longest delayed retry an event id is remembered."""


@dataclass(frozen=True)
class Retention:
    """How long each kind of row is kept."""

    outbox: timedelta
    inbox: timedelta
    timers: timedelta

    @classmethod
    def of(cls, days: float, longest_retry_seconds: float) -> "Retention":
        """The retention for a service: `days` for everything, event ids at least the
        longest delayed retry plus the margin."""
        kept = timedelta(days=days)
        ids = max(kept, timedelta(seconds=longest_retry_seconds) + INBOX_MARGIN)
        return cls(outbox=kept, inbox=ids, timers=kept)


def statements(
    now: datetime, retention: Retention, batch: int, dialect: Dialect
) -> list[tuple[str, sa.Delete]]:
    """The deletes of one batch each of what is past retention, with the table each counts
    for (run again until a batch deletes fewer than `batch` rows): the oldest rows first, in
    the order of the time's index, so the planner takes the index whatever its statistics
    say of how many rows are past (`Dialect.delete_oldest`)."""
    return [
        ("outbox", dialect.delete_oldest(outbox.c.published_at, now - retention.outbox, batch)),
        ("inbox", dialect.delete_oldest(inbox.c.processed_at, now - retention.inbox, batch)),
        ("timers", dialect.delete_oldest(timers.c.fired_at, now - retention.timers, batch)),
        ("timers", dialect.delete_oldest(timers.c.cancelled_at, now - retention.timers, batch)),
    ]


async def prune(
    engine: AsyncEngine, now: datetime, retention: Retention, batch: int = 1000
) -> dict[str, int]:
    """Delete what is past retention, `batch` rows a transaction; returns counts by table."""
    counts = {"outbox": 0, "inbox": 0, "timers": 0}
    for table, statement in statements(now, retention, batch, dialect_of(engine)):
        counts[table] += await _in_batches(engine, statement, batch)
    if any(counts.values()):
        log.info("pruned", **counts)
    return counts


async def _in_batches(engine: AsyncEngine, statement: sa.Delete, batch: int) -> int:
    total = 0
    while True:
        async with engine.begin() as connection:
            result = await connection.execute(statement)
        deleted = int(result.rowcount or 0)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)  # let deliveries in between batches
