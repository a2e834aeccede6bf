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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.logging import get_logger
from shared.tables import inbox, outbox, timers

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


async def prune(
    engine: AsyncEngine, now: datetime, retention: Retention, batch: int = 1000
) -> dict[str, int]:
    """Delete what is past retention, `batch` rows a transaction; returns counts by table."""
    published = sa.select(outbox.c.position).where(outbox.c.published_at < now - retention.outbox)
    processed = sa.select(inbox.c.tenant, inbox.c.event_id).where(
        inbox.c.processed_at < now - retention.inbox
    )
    fired = sa.select(timers.c.timer_id).where(timers.c.fired_at < now - retention.timers)
    cancelled = sa.select(timers.c.timer_id).where(timers.c.cancelled_at < now - retention.timers)
    counts = {
        "outbox": await _in_batches(
            engine,
            lambda: outbox.delete().where(
                outbox.c.position.in_(published.order_by(outbox.c.position).limit(batch))
            ),
            batch,
        ),
        "inbox": await _in_batches(
            engine,
            lambda: inbox.delete().where(
                sa.tuple_(inbox.c.tenant, inbox.c.event_id).in_(processed.limit(batch))
            ),
            batch,
        ),
        "timers": 0,
    }
    for done in (fired, cancelled):

        def finished(done: sa.Select[tuple[str]] = done) -> sa.Delete:
            return timers.delete().where(timers.c.timer_id.in_(done.limit(batch)))

        counts["timers"] += await _in_batches(engine, finished, batch)
    if any(counts.values()):
        log.info("pruned", **counts)
    return counts


async def _in_batches(engine: AsyncEngine, statement: Callable[[], sa.Delete], batch: int) -> int:
    total = 0
    while True:
        async with engine.begin() as connection:
            result = await connection.execute(statement())
        deleted = int(result.rowcount or 0)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)  # let deliveries in between batches
