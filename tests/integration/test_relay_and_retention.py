"""The outbox relay on a real broker and database: batches leave in order, once, from one
replica at a time (the lock); another replica's commit wakes it (PostgreSQL NOTIFY); rows
past retention are pruned in batches; and the hot path's queries can all use an index."""

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiormq.exceptions
import pytest
import sqlalchemy as sa
from faststream.rabbit import RabbitBroker
from pamqp.commands import Basic
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.common_v1 import InputRejected
from rules.effects import Timer
from services.app import DEFINITIONS
from shared.broker.topology import BrokerPublisher, declare_service_topology
from shared.clock import ManualClock, SystemClock
from shared.messages import Message
from shared.runtime.relay import OutboxRelay
from shared.runtime.settings import Settings
from shared.store import aggregates as aggregates_module
from shared.store import outbox as outbox_module
from shared.store import parking, retention, timers
from shared.store.db import create_engine, migrate
from shared.store.dialect import POSTGRESQL
from shared.store.locks import AdvisoryLock, FileLock
from shared.store.outbox import OutboxWriter, notify_channel, pending_count
from shared.store.tables import aggregates, inbox, outbox, parked, progress
from shared.store.tables import timers as timer_table
from tests.support.listener import Listener, listening

SERVICE = "reports"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    url, schema = settings.database_url_for(SERVICE), settings.schema_for(SERVICE)
    engine = create_engine(url, schema)
    await migrate(engine, schema, DEFINITIONS[SERVICE].migrations)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _queue(engine: AsyncEngine, first: int, count: int, notify: str | None = None) -> None:
    """Queue `count` facts, a few per transaction, subjects numbered from `first`."""
    clock = SystemClock()
    for start in range(first, first + count, 7):
        async with engine.begin() as connection:
            writer = OutboxWriter(connection, clock, SERVICE, "201", "C", None, NOW, notify=notify)
            for n in range(start, min(start + 7, first + count)):
                await writer.emit(
                    "reports.input.rejected.v1",
                    InputRejected(event_id=f"E{n}", event_type="crm.x.v1", reasons=["r"]),
                    f"S{n:05d}",
                )


@contextlib.asynccontextmanager
async def _relaying(
    settings: Settings, amqp_url: str
) -> AsyncIterator[tuple[AsyncEngine, Listener, RabbitBroker]]:
    """The service's database, a listener on its exchange and a started broker."""
    await declare_service_topology(amqp_url, SERVICE, [], [])
    async with (
        _database(settings) as engine,
        listening(amqp_url) as listener,
        RabbitBroker(amqp_url) as broker,
    ):
        await broker.start()
        yield engine, listener, broker


def _relay(engine: AsyncEngine, broker: RabbitBroker, poll: float, schema: str) -> OutboxRelay:
    return OutboxRelay(
        engine,
        BrokerPublisher(broker, None),
        SystemClock(),
        poll_seconds=poll,
        batch_size=50,
        channel=notify_channel(schema),
    )


async def _published(listener_events: list[dict[str, object]], count: int) -> None:
    deadline = time.monotonic() + 30
    while len(listener_events) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # poll for the condition


async def test_batches_leave_in_order_once_from_one_replica_at_a_time(
    settings: Settings, database: str, amqp_url: str
) -> None:
    async with _relaying(settings, amqp_url) as (engine, listener, broker):
        schema = settings.schema_for(SERVICE)
        first, second = _relay(engine, broker, 0.1, schema), _relay(engine, broker, 0.1, schema)
        await _queue(engine, 0, 300)
        first.start()
        second.start()
        await _published(listener.events, 300)
        await listener.settle(0.5)
        subjects = [event["subject"] for event in listener.events]
        assert subjects == [f"S{n:05d}" for n in range(300)]  # in order, each once
        assert [first.leading, second.leading].count(True) == 1
        leader, standby = (first, second) if first.leading else (second, first)

        await leader.stop()  # hands the lock on: the standby publishes what comes next
        await _queue(engine, 300, 20)
        await _published(listener.events, 320)
        await standby.stop()
        assert [event["subject"] for event in listener.events][300:] == [
            f"S{n:05d}" for n in range(300, 320)
        ]
        assert await pending_count(engine) == 0


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_commit_in_another_replica_wakes_the_leading_relay(
    settings: Settings, database: str, amqp_url: str
) -> None:
    async with _relaying(settings, amqp_url) as (engine, listener, broker):
        schema = settings.schema_for(SERVICE)
        relay = _relay(engine, broker, 60.0, schema)  # it would look only once a minute
        relay.start()
        for _ in range(100):  # until it has taken the lock (and listens)
            if relay.leading:
                break
            await asyncio.sleep(0.05)  # poll for the condition
        assert relay.leading
        started = time.monotonic()
        await _queue(engine, 0, 5, notify=notify_channel(schema))  # as a standby writes
        await _published(listener.events, 5)
        took = time.monotonic() - started
        await relay.stop()
    assert len(listener.events) == 5
    assert took < 5, f"woken after {took:.1f} s"


async def test_rows_past_retention_are_pruned_in_batches(settings: Settings, database: str) -> None:
    keep = retention.Retention.of(30, 600)
    old, recent = NOW - timedelta(days=31), NOW - timedelta(days=29)
    async with _database(settings) as engine:
        async with engine.begin() as connection:
            for n in range(12):
                published = old if n < 7 else recent if n < 10 else None
                await connection.execute(
                    outbox.insert().values(
                        event_id=f"O{n}", exchange="x", routing_key="k", body="{}",
                        created_at=old, published_at=published,
                    )
                )  # fmt: skip
                await connection.execute(
                    inbox.insert().values(
                        tenant="201", event_id=f"I{n}", event_type="t", outcome="applied",
                        processed_at=old if n < 8 else recent,
                    )
                )  # fmt: skip
            for n, (fired, cancelled) in enumerate(
                [(old, None), (None, old), (recent, None), (None, None), (old, None)]
            ):
                await timers.schedule_all(
                    connection,
                    ManualClock(old),
                    [Timer(f"T{n}", "k", old, "S", "201", "C", {})],
                )
                await connection.execute(
                    timer_table.update()
                    .where(timer_table.c.timer_id == f"T{n}")
                    .values(fired_at=fired, cancelled_at=cancelled)
                )
        counts = await retention.prune(engine, NOW, keep, batch=3)
        async with engine.connect() as connection:
            left_outbox = (await connection.execute(sa.select(outbox.c.event_id))).scalars()
            left_inbox = (await connection.execute(sa.select(inbox.c.event_id))).scalars()
            left_timers = (await connection.execute(sa.select(timer_table.c.timer_id))).scalars()
            assert sorted(left_outbox) == ["O10", "O11", "O7", "O8", "O9"]  # unsent: kept
            assert sorted(left_inbox) == ["I10", "I11", "I8", "I9"]
            assert sorted(left_timers) == ["T2", "T3"]
    assert counts == {"outbox": 7, "inbox": 8, "timers": 3}


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_prune_batch_reads_only_the_rows_past_retention_whatever_the_statistics(
    settings: Settings, database: str
) -> None:
    """An outbox, inbox and timers of 4,000 rows each, 20 of them past retention, with
    statistics taken while nearly all were: each batch deletes the 20 and reads no other row. As
    `key IN (the batch)` PostgreSQL joined the batch to the whole table (a sequential scan,
    or the primary key walked in order), and with a bare LIMIT it scanned the table
    expecting to find the batch early."""
    keep = retention.Retention.of(30, 600)
    old, recent = NOW - timedelta(days=60), NOW - timedelta(days=1)
    size, past, stale = 4_000, 20, 3_900
    timer_rows = _pending_timers("k", size, NOW, timedelta(minutes=1))
    rows = {
        outbox: ("published_at", outbox.c.event_id, [
            {"event_id": f"O{n}", "exchange": "x", "routing_key": "k", "body": "{}",
             "created_at": old}
            for n in range(size)
        ]),
        inbox: ("processed_at", inbox.c.event_id, [
            {"tenant": "201", "event_id": f"I{n}", "event_type": "t", "outcome": "applied",
             "digest": "d"}
            for n in range(size)
        ]),
        timer_table: ("fired_at", timer_table.c.timer_id, timer_rows),
    }  # fmt: skip
    read = {}
    async with _database(settings) as engine, engine.connect() as connection:
        for table, (time, key, table_rows) in rows.items():
            # statistics taken while most rows were past retention, then all but 20 of
            # those changed (as they are by pruning itself, before statistics catch up)
            for n, row in enumerate(table_rows):
                row[time] = old if n < stale else recent
            await connection.execute(table.insert(), table_rows)
            await connection.execute(sa.text(f"ANALYZE {table.name}"))
            changed = [row[key.name] for row in table_rows[past:stale]]
            await connection.execute(table.update().where(key.in_(changed)).values({time: recent}))
        for n, (name, statement) in enumerate(
            retention.statements(NOW, keep, 1000, POSTGRESQL)[:3]
        ):
            compiled = statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
            analysed = await connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}"
            )
            plan = analysed.scalar_one()[0]
            read[f"{name} {n}"] = (_rows_read(plan["Plan"], name), plan["Plan"]["Plans"])
        await connection.rollback()
    assert all(rows_read <= 2 * past for rows_read, _ in read.values()), read


def test_event_ids_outlive_the_longest_delayed_retry() -> None:
    keep = retention.Retention.of(1, 14 * 86_400)
    assert keep.inbox == timedelta(days=14) + retention.INBOX_MARGIN
    assert keep.outbox == keep.timers == timedelta(days=1)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_the_relay_reads_its_unsent_rows_by_its_own_index_after_a_long_history(
    settings: Settings, database: str
) -> None:
    """20,000 facts published since the last vacuum and 5 waiting: the relay's round reads
    the 5 by the index of unpublished rows. With a full index of publication times the
    planner chose it for `published_at IS NULL`, a bitmap through an entry for every row
    ever inserted unpublished (80 ms a round after a 10,000-conference back-fill)."""
    rows = [
        {"event_id": f"O{n}", "exchange": "x", "routing_key": "k", "body": "{}",
         "created_at": NOW, "published_at": None}
        for n in range(20_005)
    ]  # fmt: skip
    async with _database(settings) as engine, engine.begin() as connection:
        await connection.execute(outbox.insert(), rows)
        await connection.execute(
            outbox.update().where(outbox.c.position <= 20_000).values(published_at=NOW)
        )
        await connection.execute(sa.text("ANALYZE outbox"))
        compiled = outbox_module.UNSENT.compile(
            engine.sync_engine, compile_kwargs={"literal_binds": True}
        )
        analysed = await connection.execute(sa.text(f"EXPLAIN (FORMAT JSON) {compiled}"))
        plan = json.dumps(analysed.scalar_one())
    assert "ix_outbox_unpublished" in plan and "ix_outbox_published_at" not in plan, plan


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_every_query_on_the_hot_path_can_use_an_index(
    settings: Settings, database: str
) -> None:
    """With sequential scans priced out, no hot-path statement still needs one."""
    due_by = sa.and_(
        timer_table.c.tenant == aggregates.c.tenant,
        timer_table.c.subject == aggregates.c.key,
        timer_table.c.fired_at.is_(None),
        timer_table.c.cancelled_at.is_(None),
        timer_table.c.due_at <= NOW,
    )
    statements: dict[str, sa.Executable] = {
        "relay: unsent rows in order": sa.select(outbox)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.position)
        .limit(200),
        "relay: mark sent": outbox.update()
        .where(outbox.c.position.in_([1, 2, 3]))
        .values(published_at=NOW),
        "inbox: seen?": sa.select(inbox.c.digest).where(
            inbox.c.tenant == "201", inbox.c.event_id == "E"
        ),
        "aggregate with its due timers": sa.select(aggregates.c.state, timer_table)
        .select_from(aggregates.outerjoin(timer_table, due_by))
        .where(aggregates.c.tenant == "201", aggregates.c.kind == "k", aggregates.c.key == "K"),
        "timers: cancel an aggregate's": timer_table.update()
        .where(
            timer_table.c.tenant == "201",
            timer_table.c.subject == "S",
            timer_table.c.timer_id.startswith("201|k|"),
        )
        .values(cancelled_at=NOW),
        "timers: pending by due time": sa.select(timer_table)
        .where(
            timer_table.c.fired_at.is_(None),
            timer_table.c.cancelled_at.is_(None),
            timer_table.c.due_at <= NOW,
        )
        .order_by(timer_table.c.due_at)
        .limit(100),
        "parked: early, in order": sa.select(parked)
        .where(parked.c.kind == parking.EARLY)
        .order_by(parked.c.position),
        "parked: a council's": sa.select(parked).where(
            parked.c.tenant == "201", parked.c.kind == parking.RETRYING
        ),
        "progress: a council's": progress.update()
        .where(progress.c.tenant == "201")
        .values(through=NOW),
    }
    for n, (table, prune) in enumerate(
        retention.statements(NOW, retention.Retention.of(30, 600), 1000, POSTGRESQL)
    ):
        statements[f"prune {table} ({n})"] = prune
    # The scheduler's query, as TimerScheduler.due builds it: read in index order, never sorted
    # (a back-fill can leave tens of thousands of timers due at once).
    scheduler = timers.due_query(
        now=NOW,
        quiet_since=NOW,
        held_since=NOW - timedelta(minutes=15),
        limit=100,
    )
    statements["scheduler: due timers in order"] = scheduler
    scans = {}
    sorted_plans = {}
    async with _database(settings) as engine, engine.connect() as connection:
        await connection.execute(sa.text("SET enable_seqscan = off"))
        for name, statement in statements.items():
            compiled = statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
            plan = (await connection.execute(sa.text(f"EXPLAIN {compiled}"))).scalars().all()
            # `progress` has a row a council (about 150 in England): the scheduler reads the
            # latest progress of them all
            if any("Seq Scan" in line and "Seq Scan on progress" not in line for line in plan):
                scans[name] = plan
            if name.startswith("scheduler") and any("Sort" in line for line in plan):
                sorted_plans[name] = plan
    assert not scans, scans
    assert not sorted_plans, sorted_plans


_HOLD_LOCK = """
import asyncio, fcntl, os, sys
async def main(kind, where, key):
    if kind == "sqlite":
        fcntl.flock(os.open(where, os.O_RDWR | os.O_CREAT), fcntl.LOCK_EX)
    else:
        import asyncpg
        connection = await asyncpg.connect(where)
        await connection.fetchval("SELECT pg_advisory_lock($1)", int(key))
    print("holding", flush=True)
    await asyncio.sleep(600)
asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_leader_killed_mid_stream_is_replaced_at_once_not_when_a_lease_runs_out(
    settings: Settings, database: str, amqp_url: str
) -> None:
    """The leading relay's process dies (kill -9, holding the relay's lock): the lock goes
    with it, and the standby publishes at its next round, well before any lease would
    have run out."""
    async with _relaying(settings, amqp_url) as (engine, listener, broker):
        schema = settings.schema_for(SERVICE)
        relay = _relay(engine, broker, 0.1, schema)
        if database == "sqlite":
            assert isinstance(relay.lock, FileLock)
            where, key = relay.lock.path, 0
        else:
            assert isinstance(relay.lock, AdvisoryLock)
            where = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            key = relay.lock.key
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _HOLD_LOCK, database, str(where), str(key),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"holding\n"
        await _queue(engine, 0, 10)
        relay.start()
        await listener.settle(1.0)
        assert listener.events == [] and not relay.leading  # the other process leads
        holder.kill()
        await holder.wait()
        killed = time.monotonic()
        await _published(listener.events, 10)
        took = time.monotonic() - killed
        await relay.stop()
    assert [e["subject"] for e in listener.events] == [f"S{n:05d}" for n in range(10)]
    assert took < 3.0, f"took over after {took:.1f} s"  # a lease would have run 15 s


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_firing_timers_looks_them_up_by_id_however_many_are_pending(
    settings: Settings, database: str
) -> None:
    """A back-fill leaves tens of thousands of timers pending, before statistics catch up:
    marking two of them fired still goes by the primary key, never through every pending
    timer."""
    rows = _pending_timers("report_overdue", 3_000, NOW, timedelta(minutes=1))
    statement = timers.mark_fired_statement(POSTGRESQL)
    ids = {"ids_0": [rows[7]["timer_id"], rows[9]["timer_id"]], "at": NOW}
    async with _database(settings) as engine, engine.begin() as connection:
        await connection.execute(timer_table.insert(), rows)
        plan = await _plan(connection, statement, ids)
        marked = await connection.execute(statement, ids)
    assert any("timers_pkey" in line for line in plan), plan
    assert marked.rowcount == 2


def _pending_timers(
    kind: str, count: int, first_due: datetime, apart: timedelta
) -> list[dict[str, Any]]:
    """`count` pending timers of one council, one a conference, due `apart` from each other."""
    return [
        {
            "timer_id": f"201|conference|C{n}|{kind}|R",
            "kind": kind,
            "due_at": first_due + n * apart,
            "subject": f"C{n}",
            "tenant": "201",
            "correlationid": f"C{n}",
            "payload": {},
            "created_at": NOW,
        }
        for n in range(count)
    ]


async def _plan(
    connection: AsyncConnection, statement: sa.Executable, parameters: dict[str, Any]
) -> list[str]:
    """PostgreSQL's plan for a statement as the services run it: prepared, with its values
    bound (not rendered into the text)."""
    compiled = statement.compile(dialect=connection.dialect)
    bound = compiled.construct_params(parameters)
    processors = compiled._bind_processors
    values = tuple(
        processors[name](bound[name]) if name in processors else bound[name]
        for name in compiled.positiontup or []
    )
    result = await connection.exec_driver_sql(f"EXPLAIN {compiled}", values)
    return [row[0] for row in result]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_the_scheduler_reads_no_timer_due_after_the_clock(
    settings: Settings, database: str
) -> None:
    """A back-fill leaves thousands of timers pending and due later than the clock: each
    round of the scheduler (every second) must not read them all."""
    rows = _pending_timers("review_due", 3_000, NOW + timedelta(days=30), timedelta(minutes=1))
    query = timers.due_query(
        now=NOW,
        quiet_since=NOW,
        held_since=NOW - timedelta(minutes=15),
        limit=100,
    )
    async with _database(settings) as engine, engine.begin() as connection:
        await connection.execute(timer_table.insert(), rows)
        await connection.execute(progress.insert().values(tenant="201", through=NOW, active_at=NOW))
        compiled = query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        analysed = await connection.execute(sa.text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}"))
        plan = analysed.scalar_one()
        found = (await connection.execute(query)).all()
    read = _rows_read(plan[0]["Plan"], "timers")
    assert found == [] and read < 100, read


def _rows_read(node: dict[str, Any], table: str) -> int:
    """The rows a plan read from a table (every scan of it, every loop): those it kept and
    those its filters removed."""
    kept = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
    own = kept * node.get("Actual Loops", 1)
    mine = own if node.get("Relation Name") == table else 0
    return mine + sum(_rows_read(child, table) for child in node.get("Plans", []))


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_groups_due_timers_are_looked_up_by_aggregate_even_in_a_generic_plan(
    settings: Settings, database: str
) -> None:
    """A group asks for the due timers of up to a hundred aggregates while thousands of
    timers are pending and due: however PostgreSQL plans the prepared statement (it turns
    to a generic plan after five runs), the timers are read aggregate by aggregate, not by
    walking the due-time index through all of them (100 ms a group, seen on a back-fill)."""
    rows = _pending_timers("report_overdue", 4_000, NOW, -timedelta(minutes=1))
    statement = timers._due_for_all(POSTGRESQL)
    async with _database(settings) as engine, engine.begin() as connection:
        # statistics taken while few timers were pending (a back-fill outgrows them fast)
        await connection.execute(timer_table.insert(), rows[:10])
        await connection.execute(sa.text("ANALYZE timers"))
        await connection.execute(timer_table.insert(), rows[10:])
        compiled = str(statement.compile(dialect=connection.dialect))
        await connection.exec_driver_sql(f"PREPARE due_for_all AS {compiled}")
        await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        tenants = ",".join(["'201'"] * 40)
        subjects = ",".join(f"'C{n}'" for n in range(0, 4_000, 100))
        analysed = await connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE due_for_all("
            f"ARRAY[{tenants}], ARRAY[{subjects}], ARRAY['report_overdue'], '{NOW.isoformat()}')"
        )
        plan = analysed.scalar_one()
    read = _rows_read(plan[0]["Plan"], "timers")
    assert read <= 40, (read, json.dumps(plan)[:3000])


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_groups_reads_look_each_row_up_by_its_key(
    settings: Settings, database: str
) -> None:
    """A group's inbox check and aggregate read name up to a hundred rows of tables that grow
    with history. Written as one condition over the table, PostgreSQL scanned a growing
    inbox testing each row against an OR of every pair (10-20 ms a group) when its
    statistics were taken while the table was small; each row is looked up by its key,
    whatever the statistics and whichever plan is cached."""
    tenants = ("201", "886", "807", "317")
    seen = [(tenants[n % 4], f"E{n}") for n in range(4_000)]
    keys = [(tenants[n % 4], "conference", f"C{n}") for n in range(4_000)]
    inbox_rows = [
        {"tenant": t, "event_id": e, "event_type": "x", "outcome": "applied",
         "processed_at": NOW, "digest": "d"}
        for t, e in seen
    ]  # fmt: skip
    aggregate_rows = [{"tenant": t, "kind": k, "key": c, "state": "{}"} for t, k, c in keys]
    async with _database(settings) as engine, engine.begin() as connection:
        # statistics taken while the tables were small (a back-fill outgrows them fast)
        await connection.execute(inbox.insert(), inbox_rows[:10])
        await connection.execute(aggregates.insert(), aggregate_rows[:10])
        await connection.execute(sa.text("ANALYZE inbox"))
        await connection.execute(sa.text("ANALYZE aggregates"))
        await connection.execute(inbox.insert(), inbox_rows[10:])
        await connection.execute(aggregates.insert(), aggregate_rows[10:])
        asked = seen[::100]
        inbox_read = await _generic_rows_read(
            connection,
            parking._before_applying_all(POSTGRESQL),
            "inbox",
            [_array(tenants), _array(t for t, _ in asked), _array(e for _, e in asked)],
        )
        loaded = keys[::100]
        aggregates_read = await _generic_rows_read(
            connection,
            aggregates_module._load_many_locked(POSTGRESQL),
            "aggregates",
            [_array(k[n] for k in loaded) for n in range(3)],
        )
    assert inbox_read <= len(asked) and aggregates_read <= len(loaded), (
        inbox_read,
        aggregates_read,
    )


def _array(values: Any) -> str:
    return "ARRAY[" + ",".join(f"'{value}'" for value in values) + "]"


async def _generic_rows_read(
    connection: AsyncConnection, statement: sa.Executable, table: str, arrays: list[str]
) -> int:
    """The rows of `table` the statement reads as PostgreSQL runs it with a generic plan
    (cached after five runs), with these arrays bound and its other parameters as the
    services bind them."""
    compiled = statement.compile(dialect=connection.dialect)
    names = list(compiled.positiontup or [])
    arguments = iter(arrays)
    values = [
        next(arguments)
        if "ARRAY" in str(compiled.binds[name].type)
        else f"'{compiled.binds[name].value}'"
        for name in names
    ]
    await connection.exec_driver_sql(f"PREPARE generic_read AS {compiled}")
    await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    analysed = await connection.exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE generic_read({', '.join(values)})"
    )
    plan = analysed.scalar_one()
    await connection.exec_driver_sql("DEALLOCATE generic_read")
    return _rows_read(plan[0]["Plan"], table)


class _RefusingChannel:
    """The relay's real publisher, on a channel the broker refuses every publish on (a
    negative confirm), as RabbitMQ did for minutes after a quorum queue's leader died
    mid-publish, until the channel is renewed."""

    def __init__(self, publisher: BrokerPublisher) -> None:
        self.publisher = publisher
        self.refused = 0
        self.renewed = 0

    async def prepare(self, exchanges: Any) -> None:
        await self.publisher.prepare(exchanges)

    async def publish_all(self, messages: Sequence[Message]) -> list[BaseException | None]:
        if not self.renewed:
            self.refused += 1
            refusal = aiormq.exceptions.DeliveryError(None, Basic.Nack(delivery_tag=1))
            return [refusal for _ in messages]
        return await self.publisher.publish_all(messages)

    async def renew(self) -> None:
        await self.publisher.renew()  # the real channel, closed and opened again
        self.renewed += 1


async def test_a_relay_whose_channel_the_broker_refuses_goes_on_with_a_new_one(
    settings: Settings, database: str, amqp_url: str
) -> None:
    async with _relaying(settings, amqp_url) as (engine, listener, broker):
        schema = settings.schema_for(SERVICE)
        relay = _relay(engine, broker, 0.1, schema)
        refusing = _RefusingChannel(BrokerPublisher(broker, None))
        relay._publisher = refusing
        channel = await broker.config.channel_manager.get_channel()
        before = await channel.get_underlay_channel()
        await _queue(engine, 0, 5)
        relay.start()
        await _published(listener.events, 5)
        await relay.stop()
        after = await channel.get_underlay_channel()
        renewed_open, old_closed = not after.is_closed, before.is_closed
    assert refusing.renewed == 1 and refusing.refused >= OutboxRelay.RENEW_AFTER_REFUSALS
    assert [event["subject"] for event in listener.events] == [f"S{n:05d}" for n in range(5)]
    # a new channel on the broker (its number may be reused), the same object for FastStream
    assert after is not before and old_closed and renewed_open
    assert await pending_count(engine) == 0
