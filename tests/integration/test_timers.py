"""Durable timers on a real database: they fire in event time (when the council's stream has
passed them, or gone quiet after them), once, across restarts and replicas."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from rules.effects import Timer
from services.app import DEFINITIONS
from shared.application.delivery import Delivery
from shared.application.ordering import Progress
from shared.clock import ManualClock
from shared.runtime.scheduler import TimerScheduler, save_progress
from shared.runtime.service import ServiceRuntime
from shared.runtime.settings import Settings
from shared.store import timers
from shared.store.tables import timers as timer_table
from tests.support.crm import cloud_event, family_conference
from tests.support.history import family_history

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


async def _runtime(settings: Settings, clock: ManualClock) -> ServiceRuntime:
    runtime = ServiceRuntime(DEFINITIONS["reports"], settings, clock)
    await runtime.prepare(broker=None, in_memory=True)  # type: ignore[arg-type]  # no broker needed
    return runtime


async def _schedule(engine: AsyncEngine, tenant: str, timer_id: str, due: datetime) -> None:
    async with engine.begin() as connection:
        await timers.schedule_all(
            connection,
            ManualClock(START),
            [Timer(timer_id, "report_reminder", due, "CONF-T", tenant, "CONF-T", {})],
        )


def _scheduler(
    engine: AsyncEngine, clock: ManualClock, tracker: Progress, quiet: float
) -> TimerScheduler:
    async def nothing(_timer: Timer) -> None:
        return None

    return TimerScheduler(engine, nothing, clock, tracker, quiet_seconds=quiet)


async def test_how_far_other_conferences_were_applied_fires_no_timer_nor_does_the_future(
    settings: Settings, database: str
) -> None:
    """A council's stream applied days past a timer (other conferences' events, or one event
    from the future) says nothing of the timer's own conference: it waits for its own next
    event, or for the clock and quiet. And the clock never lets one fire early."""
    runtime = await _runtime(settings, ManualClock(START))
    clock, tracker = ManualClock(START), Progress()
    await _schedule(runtime.engine, "201", "T-201", START + timedelta(days=2))
    await _schedule(runtime.engine, "201", "T-now", START)  # due by the clock: shows quiet
    scheduler = _scheduler(runtime.engine, clock, tracker, quiet=0.2)
    tracker.started("201", START + timedelta(days=3))  # another conference, days on
    tracker.finished("201", START + timedelta(days=3))
    async with asyncio.timeout(5):  # until 201 is quiet: the timer the clock has passed fires
        while not (due := await scheduler.due()):
            tracker.changed.add("201")
            await save_progress(runtime.engine, tracker)
            await asyncio.sleep(0.05)  # poll for the condition
    assert [t.timer_id for t in due] == ["T-now"]  # not T-201: the clock has not reached it
    async with runtime.engine.begin() as connection:
        await timers.mark_all_fired(connection, ["T-now"], clock)
    clock.advance(timedelta(days=2))
    async with asyncio.timeout(5):
        while not (due := await scheduler.due()):
            await asyncio.sleep(0.05)  # poll for the condition
    assert [t.timer_id for t in due] == ["T-201"]
    await runtime.stop()


async def test_a_timer_fires_once_the_clock_has_passed_it_and_the_stream_is_quiet(
    settings: Settings, database: str
) -> None:
    runtime = await _runtime(settings, ManualClock(START))
    clock, tracker = ManualClock(START), Progress()
    await _schedule(runtime.engine, "201", "T-1", START + timedelta(hours=1))
    scheduler = _scheduler(runtime.engine, clock, tracker, quiet=0.2)
    tracker.started("201", START)  # council 201's last event, then nothing
    tracker.finished("201", START)
    await save_progress(runtime.engine, tracker)
    clock.advance(timedelta(hours=2))
    assert await scheduler.due() == []  # the clock has passed it, but 201 only just went still
    async with asyncio.timeout(5):  # once 201 has been still for 0.2 s, it is due
        while not (due := await scheduler.due()):
            tracker.changed.add("201")
            await save_progress(runtime.engine, tracker)
            await asyncio.sleep(0.05)  # poll for the condition
    assert [t.timer_id for t in due] == ["T-1"]
    tracker.started("201", START)  # the council's stream moves again: wait for it
    await save_progress(runtime.engine, tracker)
    assert await scheduler.due() == []
    await runtime.stop()


async def test_moved_and_cancelled_timers(settings: Settings, database: str) -> None:
    runtime = await _runtime(settings, ManualClock(START))
    engine = runtime.engine
    clock = ManualClock(START)
    await _schedule(engine, "201", "201|conference|CONF-T|report_reminder|A", START)
    await _schedule(engine, "201", "201|conference|CONF-T|report_reminder|A", START)  # moved
    await _schedule(engine, "201", "201|conference|CONF-T|report_overdue|A", START)
    await _schedule(engine, "807", "807|conference|CONF-T|report_reminder|A", START)
    async with engine.begin() as connection:
        prefix = timers.timer_id("201", "conference", "CONF-T", "report_reminder", None)
        assert await timers.cancel_all(connection, clock, [("201", "CONF-T", prefix)]) == 1
        everything = timers.timer_id("201", "conference", "CONF-T", None, None)
        assert await timers.cancel_all(connection, clock, [("201", "CONF-T", everything)]) == 1
        rows = await connection.execute(
            sa.select(timer_table.c.timer_id).where(timer_table.c.cancelled_at.is_(None))
        )
        assert [r.timer_id for r in rows] == ["807|conference|CONF-T|report_reminder|A"]
    await runtime.stop()


async def test_two_replicas_fire_each_timer_once_on_its_aggregate(
    settings: Settings, database: str
) -> None:
    clock = ManualClock(START)
    first, second = await _runtime(settings, clock), await _runtime(settings, clock)
    assert first.consumer is not None
    for n in range(5):
        event = cloud_event(
            "crm.conference.requested.v1", f"CONF-{n}", family_conference(f"CONF-{n}")
        )
        body = json.dumps(event).encode()
        outcome = await first.consumer.process(
            Delivery(body, "crm.events", event["type"], event["id"], None, "reports.incoming")
        )
        assert outcome == "applied"
    async with first.engine.connect() as connection:
        due = [timers.timer_of_row(row) for row in await connection.execute(sa.select(timer_table))]
    # per request a reminder and a chase before each of its two deadlines; a summary each;
    # a reminder and a chase for each conference's minutes
    assert len(due) == 5 * 3 * 4 + 5 + 5 * 2
    await asyncio.gather(*(r._fire_timer(t) for t in due for r in (first, second)))
    async with first.engine.connect() as connection:
        fired = await connection.execute(
            sa.select(sa.func.count())
            .select_from(timer_table)
            .where(timer_table.c.fired_at.is_not(None))
        )
        assert fired.scalar_one() == len(due)
        outbox = await connection.execute(sa.text("SELECT body FROM outbox"))
        kinds = [json.loads(row.body)["type"] for row in outbox]
    # each conference: 6 reminders, 6 chases, 1 summary, once each whichever replica fired
    assert kinds.count("reports.reminder.sent.v1") == 30
    assert kinds.count("reports.report.overdue.v1") == 30
    assert kinds.count("reports.readiness.assessed.v1") == 5
    await first.stop()
    await second.stop()


async def test_a_councils_first_row_is_not_ahead_of_its_earlier_events_in_flight(
    settings: Settings, database: str
) -> None:
    """Events of other conferences run concurrently: the first of a council's to commit may
    be a later one (a review months on) while earlier ones are still being applied. The
    council's progress row must not start at the later one's time, or the earlier
    conference's timers would fire before its earlier events."""
    from shared.application.handling import Flow
    from shared.store.tables import progress

    runtime = await _runtime(settings, ManualClock(START))
    try:
        early, later = START + timedelta(days=1), START + timedelta(days=90)
        runtime.progress.started("317", early)  # a report of the initial conference
        runtime.progress.started("317", later)  # the review's request, committed first
        flow = Flow("e-later", "crm.conference.requested.v1", "317", "R", "R", later)
        async with runtime.engine.begin() as connection:
            await runtime._record_progress(connection, flow)
        async with runtime.engine.connect() as connection:
            through = (
                await connection.execute(
                    sa.select(progress.c.through).where(progress.c.tenant == "317")
                )
            ).scalar_one()
    finally:
        await runtime.stop()
    assert through < early


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_timer_fired_while_an_event_waited_for_its_aggregate_is_not_fired_again(
    settings: Settings, database: str
) -> None:
    """One replica's scheduler fires a timer while another replica's event for the same
    conference waits for the aggregate's lock: the event, once it has the lock, sees the
    timer fired (its timers are read after the lock, not from before it)."""
    from shared.store.tables import aggregates

    clock = ManualClock(START)
    first, second = await _runtime(settings, clock), await _runtime(settings, clock)
    assert first.consumer is not None and second.consumer is not None
    requested = cloud_event("crm.conference.requested.v1", "CONF-R", family_conference("CONF-R"))
    outcome = await first.consumer.process(
        Delivery(json.dumps(requested).encode(), "crm.events", requested["type"],
                 requested["id"], None, "reports.incoming")
    )  # fmt: skip
    assert outcome == "applied"
    async with first.engine.connect() as connection:
        pending = [timers.timer_of_row(r) for r in await connection.execute(sa.select(timer_table))]
    earliest = min(pending, key=lambda t: (t.due_at, t.timer_id))
    report = next(e for e in family_history("201") if e["type"] == "crm.report.submitted.v1")
    submitted_at = (earliest.due_at + timedelta(minutes=1)).isoformat()
    late = cloud_event(
        "crm.report.submitted.v1",
        "CONF-R",
        {**report["data"], "conference_id": "CONF-R", "submitted_at": submitted_at},
        time=submitted_at,
    )
    holder = await first.engine.connect()
    await holder.begin()
    await holder.execute(  # hold the conference's lock while both start
        sa.select(aggregates.c.key)
        .where(aggregates.c.tenant == "201", aggregates.c.key == "CONF-R")
        .with_for_update()
    )
    firing = asyncio.create_task(first._fire_timer(earliest))
    applying = asyncio.create_task(
        second.consumer.process(
            Delivery(
                json.dumps(late).encode(),
                "crm.events",
                late["type"],
                late["id"],
                None,
                "reports.incoming",
            )
        )
    )
    async with first.engine.connect() as watcher:
        for _ in range(200):  # until both wait for the conference's lock
            waiting = await watcher.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            if waiting.scalar_one() >= 2:
                break
            await asyncio.sleep(0.05)  # poll for the condition
    await holder.commit()
    await holder.close()
    await asyncio.gather(firing, applying)
    async with first.engine.connect() as connection:
        fired = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(timer_table)
                .where(timer_table.c.fired_at.is_not(None))
            )
        ).scalar_one()
        bodies = [
            json.loads(r.body) for r in await connection.execute(sa.text("SELECT body FROM outbox"))
        ]
    caused_by_timers = [b for b in bodies if b["causationid"] is None]
    # each fired timer published its facts once: a reminder or chase each, none twice
    assert fired >= 1
    assert len(caused_by_timers) == len(
        {json.dumps(b["data"], sort_keys=True) for b in caused_by_timers}
    )
    await first.stop()
    await second.stop()


async def test_a_delivery_begun_while_the_scheduler_asks_the_broker_keeps_its_council_busy(
    settings: Settings, database: str
) -> None:
    """The quiet check asks the broker whether the queue is empty; under load that takes a
    while, and a delivery of the council's can begin meanwhile. The council's progress is
    written after that answer, just before the timers are read: the council is busy, not
    quiet, and its timer waits for the delivery."""
    runtime = await _runtime(settings, ManualClock(START))
    clock, tracker = ManualClock(START), Progress()
    await _schedule(runtime.engine, "201", "T-1", START + timedelta(hours=1))
    tracker.started("201", START)  # council 201's last event, long ago
    tracker.finished("201", START)
    await save_progress(runtime.engine, tracker)
    clock.advance(timedelta(hours=2))
    arriving = [START + timedelta(minutes=30)]

    async def backlog() -> int:
        await asyncio.sleep(0.3)  # the broker's answer is slow
        if arriving:  # a delivery of 201's, on its way, reaches the consumer meanwhile
            tracker.started("201", arriving.pop())
        return 0

    async def nothing(_timer: Timer) -> None:
        return None

    waiting = TimerScheduler(
        runtime.engine, nothing, clock, tracker, quiet_seconds=0.2, backlog=backlog
    )
    await asyncio.sleep(0.3)  # 201 has been still for longer than the quiet period
    assert await waiting.due() == []
    tracker.finished("201", START + timedelta(minutes=30))  # applied: now it may go quiet
    async with asyncio.timeout(5):
        while not (due := await waiting.due()):
            await asyncio.sleep(0.05)  # poll for the condition
    assert [t.timer_id for t in due] == ["T-1"]
    await runtime.stop()
