"""The timer scheduler: fires the timers the clock has passed once their council is quiet
(see `shared.store.timers` for when a timer fires), and keeps each council's progress."""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from rules.effects import Timer
from shared.application.ordering import Progress
from shared.clock import Clock
from shared.observability.logging import get_logger
from shared.store.db import single_statements
from shared.store.dialect import dialect_of
from shared.store.locks import ReplicaMark
from shared.store.tables import progress
from shared.store.timers import FireDue, due_query, timer_of_row

log = get_logger(__name__)


async def save_progress(engine: AsyncEngine, tracker: Progress) -> None:
    """Write how far each council's stream has been applied and when it last moved, for
    every replica's scheduler (one statement for all the councils that moved)."""
    # Councils whose stream moved, and those still busy: a long-running delivery must keep
    # its council from looking quiet to another replica.
    changed, tracker.changed = tracker.changed | tracker.busy_tenants(), set()
    now = datetime.now(UTC)
    rows = []
    for tenant in sorted(changed):
        through = tracker.through(tenant)
        if through is None:
            continue
        active_at = (
            now
            if tracker.busy(tenant)
            else now - timedelta(seconds=min(tracker.idle_seconds(tenant), 10**6))
        )
        rows.append({"tenant": tenant, "through": through, "active_at": active_at})
    if not rows:
        return
    async with single_statements(engine).begin() as connection:
        statement = dialect_of(connection).insert(progress)
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[progress.c.tenant],
                set_={
                    "through": statement.excluded.through,
                    "active_at": statement.excluded.active_at,
                },
            ),
            rows,
        )


class TimerScheduler:
    """Fires timers the clock has passed, in councils gone quiet after them."""

    def __init__(
        self,
        engine: AsyncEngine,
        fire: FireDue,
        clock: Clock,
        tracker: Progress,
        poll_seconds: float = 1.0,
        quiet_seconds: float = 30.0,
        after_fire: Callable[[], None] | None = None,
        backlog: Callable[[], Awaitable[int]] | None = None,
        hold_seconds: float = 900.0,
        consuming: Callable[[], bool] | None = None,
        mark: ReplicaMark | None = None,
    ) -> None:
        self._engine = engine
        self._statements = single_statements(engine)
        self._fire = fire
        self._clock = clock
        self._tracker = tracker
        self._poll_seconds = poll_seconds
        self._quiet_seconds = quiet_seconds
        self._after_fire = after_fire or (lambda: None)
        self._backlog = backlog
        self._hold_seconds = hold_seconds
        self._consuming = consuming or (lambda: True)
        self._mark = mark
        self._started = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def due(self, limit: int = 100) -> list[Timer]:
        """Timers that may fire now, oldest first."""
        wall_now = datetime.now(UTC)
        running = time.monotonic() - self._started
        elsewhere = await self._consumed_elsewhere()  # the consuming replica takes its mark
        quiet = running >= self._quiet_seconds and not elsewhere and await self._no_backlog()
        # Written after the backlog check (a delivery it brought in now counts as in flight)
        # and before every query, so the rows read are never older than the query.
        await save_progress(self._engine, self._tracker)
        if not quiet:
            return []
        quiet_since = wall_now - timedelta(seconds=self._quiet_seconds)
        async with self._statements.connect() as connection:
            query = due_query(
                now=self._clock.now(),
                quiet_since=quiet_since,
                held_since=self._clock.now() - timedelta(seconds=self._hold_seconds),
                limit=limit,
            )
            rows = await connection.execute(query)
            return [timer_of_row(row) for row in rows]

    async def _consumed_elsewhere(self) -> bool:
        """True when another live replica consumes the service's queue (or may: the mark
        cannot be read). Its deliveries in flight are in no progress this replica knows,
        and the progress it writes can go stale while a long transaction of its holds the
        database: to this replica its councils are never quiet (it judges them itself).

        The replica that consumes holds the mark from its first delivery until its
        consuming channel closes; it is gone the moment that replica dies, and the others
        judge quiet again."""
        if self._mark is None:
            return False
        try:
            if self._consuming():
                return not await self._mark.hold()
            await self._mark.release()
            return await self._mark.held_elsewhere()
        except Exception as error:
            log.warning("consuming_mark_unreadable", error_type=type(error).__name__)
            return True

    async def take_mark(self) -> None:
        """This replica has begun taking deliveries: hold the consuming mark now, not at the
        next round."""
        if self._mark is None:
            return
        for _ in range(50):  # a standby's probe (SQLite: a moment's flock) may be in the way
            if not self._consuming():
                return
            with contextlib.suppress(Exception):  # the next round tries again
                if await self._mark.hold():
                    return
            await asyncio.sleep(0.02)

    async def _no_backlog(self) -> bool:
        """True when the service's queue has nothing waiting: a council is not quiet while
        its events wait there (a replica taking over has not seen them yet)."""
        if self._backlog is None:
            return True
        try:
            return await self._backlog() == 0
        except Exception:
            return False

    async def fire_due(self) -> int:
        """Fire every timer that may fire now; returns how many were handled."""
        handled = 0
        while not self._stopping.is_set() and (batch := await self.due()):
            # Firing an aggregate's latest due timer fires its earlier ones first, each
            # judged as of its own due time: one transaction per aggregate, not per timer.
            latest = {(t.tenant, t.timer_id.split("|")[1], t.subject): t for t in batch}
            for timer in latest.values():
                await self._fire(timer)
            handled += len(batch)
            if len(batch) < 100:
                break
        if handled:
            self._after_fire()
        return handled

    async def run(self) -> None:
        """Fire due timers until stopped."""
        while not self._stopping.is_set():
            try:
                await self.fire_due()
            except Exception as error:
                log.warning("timer_round_failed", error_type=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)

    def start(self) -> None:
        """Run the scheduler in the background."""
        self._started = time.monotonic()
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name="timer-scheduler")

    async def stop(self) -> None:
        """Stop claiming timers: the timer being fired finishes (never cancelled in the middle
        of a database call, which could keep its connection from the pool)."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None

    async def close(self) -> None:
        """Give the consuming mark up (the replica consumes no more)."""
        if self._mark is not None:
            await self._mark.close()
