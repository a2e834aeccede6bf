"""Durable timers on a real database: survive a restart, fire once, even with two replicas."""

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.app import DEFINITIONS
from shared import timers
from shared.clock import ManualClock
from shared.db import create_engine, migrate
from shared.settings import Settings
from shared.tables import timers as timer_table

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


async def _engine(settings: Settings) -> AsyncEngine:
    engine = create_engine(settings.database_url_for("reports"), settings.schema_for("reports"))
    await migrate(engine, settings.schema_for("reports"), DEFINITIONS["reports"].migrations)
    return engine


async def _schedule(engine: AsyncEngine, clock: ManualClock, timer_id: str, due: datetime) -> None:
    async with engine.begin() as connection:
        await timers.schedule(
            connection,
            clock,
            timer_id=timer_id,
            kind="reminder",
            due_at=due,
            subject="CONF-T",
            tenant="201",
            correlationid="CONF-T",
            payload={"n": 1},
        )


async def test_a_timer_survives_a_restart_and_fires_once(settings: Settings, database: str) -> None:
    clock = ManualClock(START)
    fired: list[str] = []

    async def remind(_connection: AsyncConnection, timer: timers.Timer) -> None:
        fired.append(timer.timer_id)

    engine = await _engine(settings)
    await _schedule(engine, clock, "T-1", START + timedelta(days=2))
    scheduler = timers.TimerScheduler(engine, {"reminder": remind}, clock)
    assert await scheduler.fire_due() == 0  # not due yet
    await engine.dispose()  # the service stops

    engine = await _engine(settings)  # and starts again
    scheduler = timers.TimerScheduler(engine, {"reminder": remind}, clock)
    clock.advance(timedelta(days=2))
    assert await scheduler.fire_due() == 1
    assert await scheduler.fire_due() == 0
    assert fired == ["T-1"]
    await engine.dispose()


async def test_two_replicas_fire_each_timer_once(settings: Settings, database: str) -> None:
    clock = ManualClock(START)
    fired: list[str] = []

    async def remind(_connection: AsyncConnection, timer: timers.Timer) -> None:
        await asyncio.sleep(0.01)  # hold the claim while the other replica looks
        fired.append(timer.timer_id)

    first, second = await _engine(settings), await _engine(settings)
    for n in range(20):
        await _schedule(first, clock, f"T-{n}", START - timedelta(minutes=n))
    replicas = [timers.TimerScheduler(e, {"reminder": remind}, clock) for e in (first, second)]
    counts = await asyncio.gather(*(r.fire_due(limit=100) for r in replicas))
    assert sum(counts) == 20
    assert sorted(fired) == sorted(f"T-{n}" for n in range(20))
    await first.dispose()
    await second.dispose()


async def test_cancelled_and_moved_timers(settings: Settings, database: str) -> None:
    clock = ManualClock(START)
    fired: list[str] = []

    async def remind(_connection: AsyncConnection, timer: timers.Timer) -> None:
        fired.append(f"{timer.timer_id}@{timer.due_at.date()}")

    engine = await _engine(settings)
    await _schedule(engine, clock, "T-moved", START + timedelta(days=1))
    await _schedule(engine, clock, "T-moved", START + timedelta(days=3))  # a reschedule
    await _schedule(engine, clock, "T-cancelled", START + timedelta(days=1))
    async with engine.begin() as connection:
        await connection.execute(timer_table.delete().where(timer_table.c.timer_id == "none"))
        assert await timers.cancel(connection, clock, subject="CONF-T") == 2
        await timers.schedule(
            connection,
            clock,
            timer_id="T-moved",
            kind="reminder",
            due_at=START + timedelta(days=3),
            subject="CONF-T",
            tenant="201",
            correlationid="CONF-T",
            payload={},
        )
    clock.advance(timedelta(days=5))
    await timers.TimerScheduler(engine, {"reminder": remind}, clock).fire_due()
    assert fired == ["T-moved@2026-11-19"]
    async with engine.connect() as connection:
        rows = await connection.execute(sa.select(sa.func.count()).select_from(timer_table))
        assert rows.scalar_one() == 2
    await engine.dispose()
