"""Durable timers: rows in the service's database, claimed by a scheduler loop.

A timer fires in the same transaction that marks it fired and queues its
events in the outbox, so it fires once across restarts and across replicas
(PostgreSQL row locks with SKIP LOCKED; SQLite has a single writer).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock
from shared.logging import get_logger
from shared.tables import timers

log = get_logger(__name__)


@dataclass(frozen=True)
class Timer:
    """A timer that is due."""

    timer_id: str
    kind: str
    due_at: datetime
    subject: str
    tenant: str
    correlationid: str
    payload: dict[str, Any]


async def schedule(
    connection: AsyncConnection,
    clock: Clock,
    *,
    timer_id: str,
    kind: str,
    due_at: datetime,
    subject: str,
    tenant: str,
    correlationid: str,
    payload: dict[str, Any],
) -> None:
    """Set (or move) a timer. A timer id names one purpose, so rescheduling replaces it."""
    await connection.execute(timers.delete().where(timers.c.timer_id == timer_id))
    await connection.execute(
        timers.insert().values(
            timer_id=timer_id,
            kind=kind,
            due_at=due_at,
            subject=subject,
            tenant=tenant,
            correlationid=correlationid,
            payload=payload,
            created_at=clock.now(),
        )
    )


async def cancel(connection: AsyncConnection, clock: Clock, *, subject: str) -> int:
    """Cancel every unfired timer about a subject; returns how many."""
    result = await connection.execute(
        timers.update()
        .where(
            timers.c.subject == subject,
            timers.c.fired_at.is_(None),
            timers.c.cancelled_at.is_(None),
        )
        .values(cancelled_at=clock.now())
    )
    return int(result.rowcount)


TimerAction = Callable[[AsyncConnection, Timer], Awaitable[None]]


class TimerScheduler:
    """Claims due timers and fires each once, in its own transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        actions: Mapping[str, TimerAction],
        clock: Clock,
        poll_seconds: float = 1.0,
        after_fire: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._actions = actions
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._after_fire = after_fire or (lambda: None)
        self._task: asyncio.Task[None] | None = None

    async def fire_due(self, limit: int = 50) -> int:
        """Fire every timer due by the clock's time; returns how many fired."""
        fired = 0
        while True:
            async with self._engine.begin() as connection:
                row = (
                    await connection.execute(
                        sa.select(timers)
                        .where(
                            timers.c.fired_at.is_(None),
                            timers.c.cancelled_at.is_(None),
                            timers.c.due_at <= self._clock.now(),
                        )
                        .order_by(timers.c.due_at, timers.c.timer_id)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if row is None:
                    break
                timer = Timer(
                    row.timer_id,
                    row.kind,
                    row.due_at,
                    row.subject,
                    row.tenant,
                    row.correlationid,
                    dict(row.payload),
                )
                action = self._actions.get(timer.kind)
                if action is not None:
                    await action(connection, timer)
                else:
                    log.warning("timer_kind_unknown", timer_kind=timer.kind)
                await connection.execute(
                    timers.update()
                    .where(timers.c.timer_id == timer.timer_id)
                    .values(fired_at=self._clock.now())
                )
            fired += 1
            log.info("timer_fired", timer_id=timer.timer_id, timer_kind=timer.kind)
            if fired >= limit:
                break
        if fired:
            self._after_fire()
        return fired

    async def run(self) -> None:
        """Fire due timers until cancelled."""
        while True:
            try:
                await self.fire_due()
            except Exception as error:
                log.warning("timer_round_failed", error_type=type(error).__name__)
            await asyncio.sleep(self._poll_seconds)

    def start(self) -> None:
        """Run the scheduler in the background."""
        self._task = asyncio.create_task(self.run(), name="timer-scheduler")

    async def stop(self) -> None:
        """Stop claiming timers (a timer being fired finishes or rolls back)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
