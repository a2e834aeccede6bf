"""The consuming mark: one replica of a service holds it at a time, on SQLite (a file lock)
and PostgreSQL (an advisory lock), and it is gone the moment its holder goes."""

import asyncio
from datetime import UTC, datetime, timedelta

from rules.effects import Timer
from services.app import DEFINITIONS
from shared.application.ordering import Progress
from shared.clock import ManualClock
from shared.runtime.scheduler import TimerScheduler
from shared.runtime.settings import Settings
from shared.store import timers
from shared.store.db import create_engine, migrate
from shared.store.locks import ReplicaMark

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


async def test_one_replica_holds_the_mark_at_a_time(settings: Settings, database: str) -> None:
    url, schema = settings.database_url_for("reports"), settings.schema_for("reports")
    engine = create_engine(url, schema)
    await migrate(engine, schema, DEFINITIONS["reports"].migrations)
    # named by the schema, as the services name theirs: other runs share the database
    first, second = ReplicaMark(engine, f"{schema}-consuming"), ReplicaMark(engine, f"{schema}-x")
    other = ReplicaMark(engine, f"{schema}-consuming")  # another replica's
    try:
        assert not await first.held_elsewhere()
        assert await first.hold() and first.held
        assert await other.held_elsewhere() and not await other.hold()
        assert await second.hold()  # another name: another mark
        await first.close()  # its holder goes (a dead process's connection or file closes)
        assert not await other.held_elsewhere()
        assert await other.hold() and await first.held_elsewhere()
    finally:
        for mark in (first, second, other):
            await mark.close()
        await engine.dispose()


async def test_a_probe_of_the_mark_never_refuses_the_replica_that_takes_it(
    settings: Settings, database: str
) -> None:
    """A standby asks, every round, whether the mark is held elsewhere; its question must
    never be the moment the consuming replica's hold() is refused (on PostgreSQL it reads
    pg_locks; on SQLite the consuming replica tries again for a moment)."""
    url, schema = settings.database_url_for("reports"), settings.schema_for("reports")
    engine = create_engine(url, schema)
    await migrate(engine, schema, DEFINITIONS["reports"].migrations)
    standby, consuming = (ReplicaMark(engine, f"{schema}-probe") for _ in range(2))
    clock, tracker = ManualClock(START), Progress()

    async def nothing(_timer: Timer) -> None:
        return None

    taking = TimerScheduler(engine, nothing, clock, tracker, mark=consuming)
    try:

        async def probing() -> None:
            while not consuming.held:
                await standby.held_elsewhere()

        probes = asyncio.create_task(probing())
        await taking.take_mark()  # the first delivery: taken while the standby probes
        await asyncio.wait_for(probes, 5)
        assert consuming.held and await standby.held_elsewhere()
    finally:
        for mark in (standby, consuming):
            await mark.close()
        await engine.dispose()


async def test_a_replica_that_does_not_consume_never_takes_a_consuming_ones_councils_for_quiet(
    settings: Settings, database: str
) -> None:
    """The consuming replica's progress says its council was last active long ago (a long
    transaction of its holds the database): a standby must not fire that council's timers by
    quiet, and fires them once the consuming replica is gone."""
    url, schema = settings.database_url_for("reports"), settings.schema_for("reports")
    engine = create_engine(url, schema)
    await migrate(engine, schema, DEFINITIONS["reports"].migrations)
    clock = ManualClock(START + timedelta(days=10))
    async with engine.begin() as connection:
        await timers.schedule_all(
            connection,
            clock,
            [
                Timer(
                    "201|conference|C|report_reminder|R",
                    "report_reminder",
                    START + timedelta(days=1),
                    "C",
                    "201",
                    "C",
                    {},
                )
            ],
        )
        await timers.ensure_progress(connection, "201", START)  # active long ago
    consuming = ReplicaMark(engine, f"{schema}-consuming")
    assert await consuming.hold()

    async def nothing(_timer: Timer) -> None:
        return None

    standby = TimerScheduler(
        engine, nothing, clock, Progress(), quiet_seconds=0.0,
        consuming=lambda: False, mark=ReplicaMark(engine, f"{schema}-consuming"),
    )  # fmt: skip
    try:
        assert await standby.due() == []  # the consuming replica judges its councils
        await consuming.close()
        assert [t.kind for t in await standby.due()] == ["report_reminder"]
    finally:
        await consuming.close()
        await standby.close()
        await engine.dispose()
