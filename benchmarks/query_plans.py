"""The plans PostgreSQL runs the hot path's statements with, on a service's real tables.

Called by the benchmark after a back-fill, before its schemas are dropped: each statement
is built as the services build it, bound with keys sampled from the tables (a group's worth
of them), run under EXPLAIN ANALYZE in a transaction that is rolled back, and summarised as
the scans it made (which index, how many rows read) and its time. Prints; asserts nothing
(the tests in tests/integration/test_relay_and_retention.py assert the plans).
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime import relay as relay_module
from shared.runtime.settings import Settings
from shared.store import aggregates as aggregates_module
from shared.store import outbox as outbox_module
from shared.store import parking, retention, timers
from shared.store.db import create_engine
from shared.store.dialect import POSTGRESQL
from shared.store.tables import aggregates, inbox, outbox
from shared.store.tables import timers as timer_table

GROUP = 64
"""Keys a statement is bound with: about what a group of deliveries asks for."""

RETENTION_DAYS = float(Settings.model_fields["retention_days"].default)
PRUNE_BATCH = int(Settings.model_fields["prune_batch"].default)
"""The services' defaults."""

GROWING = ("inbox", "aggregates", "timers", "outbox", "parked")
"""Tables that grow with history: a scan of one on the hot path is a cost that grows."""


def _scans(node: dict[str, Any]) -> Iterator[str]:
    """Each node of a plan that reads a table: how, on which, with which index, rows read."""
    relation = node.get("Relation Name")
    if relation is None and "Index Name" in node:  # a bitmap's index, under its heap scan
        yield f"{node['Node Type']} of {node['Index Name']}"
    if relation is not None:
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        loops = node.get("Actual Loops", 1)
        rows = node.get("Actual Rows", 0) * loops + node.get("Rows Removed by Filter", 0) * loops
        yield f"{node['Node Type']} on {relation}{index} ({rows:.0f} rows read)"
    for child in node.get("Plans", []):
        yield from _scans(child)


async def _sample(connection: AsyncConnection, statement: sa.Select[Any]) -> list[Any]:
    return [tuple(row) for row in (await connection.execute(statement.limit(GROUP))).all()]


def _literal(value: Any) -> str:
    """A parameter's value as an SQL literal that PostgreSQL casts to the parameter's type
    (EXECUTE takes no parameters of its own)."""
    if isinstance(value, list | tuple):
        elements = (str(element).replace("\\", "\\\\").replace('"', '\\"') for element in value)
        text = "{" + ",".join(f'"{element}"' for element in elements) + "}"
    elif isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text.replace("'", "''") + "'"


async def _explain(
    connection: AsyncConnection, statement: sa.Executable, values: dict[str, Any]
) -> tuple[tuple[float, list[str]], tuple[float, list[str]]]:
    """Milliseconds and scans of a run of `statement` with `values` (the rest of its
    parameters as it binds them itself), planned for these values and as the generic plan
    PostgreSQL may cache for it after five runs; each in a transaction rolled back."""
    compiled = statement.compile(dialect=connection.dialect)
    names = list(compiled.positiontup or [])
    arguments = [values[name] if name in values else compiled.binds[name].value for name in names]
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    runs = []
    for generic in (False, True):
        prepared = False
        transaction = driver.transaction()
        await transaction.start()
        try:
            if generic:
                await driver.execute(f"PREPARE hot_path AS {compiled}")
                prepared = True
                await driver.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                literals = ", ".join(_literal(argument) for argument in arguments)
                plan = await driver.fetchval(
                    f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE hot_path({literals})"
                )
            else:
                text = f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}"
                plan = await driver.fetchval(text, *arguments)
        finally:
            await transaction.rollback()  # the updates' effects undone
            if prepared:
                await driver.execute("DEALLOCATE hot_path")
        top = (plan if isinstance(plan, list) else json.loads(plan))[0]
        runs.append((top["Execution Time"], list(_scans(top["Plan"]))))
    return runs[0], runs[1]


async def hot_path_plans(database_url: str, schema: str) -> list[str]:
    """Lines describing how each hot-path statement ran on `schema`'s tables."""
    engine = create_engine(database_url, schema)
    lines = []
    now = datetime.now(UTC)
    try:
        async with engine.connect() as connection:
            sizes = {
                table.name: (
                    await connection.execute(sa.select(sa.func.count()).select_from(table))
                ).scalar_one()
                for table in (inbox, aggregates, timer_table, outbox)
            }
            lines.append(", ".join(f"{name} {count:,} rows" for name, count in sizes.items()))
            seen = await _sample(
                connection, sa.select(inbox.c.tenant, inbox.c.event_id).order_by(sa.func.random())
            )
            keys = await _sample(
                connection,
                sa.select(aggregates.c.tenant, aggregates.c.kind, aggregates.c.key).order_by(
                    sa.func.random()
                ),
            )
            subjects = await _sample(
                connection,
                sa.select(timer_table.c.tenant, timer_table.c.subject)
                .distinct()
                .order_by(timer_table.c.tenant, timer_table.c.subject),
            )
            fired = await _sample(connection, sa.select(timer_table.c.timer_id))
            positions = await _sample(
                connection, sa.select(outbox.c.position).order_by(outbox.c.position.desc())
            )
            kinds = [
                row[0]
                for row in (await connection.execute(sa.select(timer_table.c.kind).distinct()))
            ]
            tenants = sorted({tenant for tenant, _ in seen})
            await connection.rollback()
            statements: list[tuple[str, sa.Executable, dict[str, Any]]] = [
                (
                    "a group's inbox check",
                    parking._before_applying_all(POSTGRESQL),
                    {
                        **POSTGRESQL.among_values("tenants", tenants),
                        **POSTGRESQL.among_values("pairs", seen, width=2),
                    },
                ),
                (
                    "a group's aggregates, locked",
                    aggregates_module._load_many_locked(POSTGRESQL),
                    POSTGRESQL.among_values("keys", keys, width=3),
                ),
                (
                    "a group's due timers",
                    timers._due_for_all(POSTGRESQL),
                    {
                        **POSTGRESQL.among_values("subjects", subjects, width=2),
                        **POSTGRESQL.among_values("kinds", kinds),
                        "through": now,
                    },
                ),
                (
                    "timers marked fired",
                    timers.mark_fired_statement(POSTGRESQL),
                    {**POSTGRESQL.among_values("ids", [i for (i,) in fired]), "at": now},
                ),
                (
                    "the scheduler's round",
                    timers.due_query(
                        now=now,
                        quiet_since=now,
                        held_since=now,
                        limit=100,
                    ),
                    {},
                ),
                ("the relay's unsent rows", outbox_module.UNSENT, {"limit": 1000}),
                (
                    "the relay's rows marked sent",
                    relay_module._mark_sent(POSTGRESQL),
                    {
                        **POSTGRESQL.among_values("positions", [p for (p,) in positions]),
                        "at": now,
                    },
                ),
            ]
            # pruning a batch, at the time when one batch's worth of the oldest rows has passed
            # its retention (as a service that prunes all the time finds them)
            keep = retention.Retention.of(RETENTION_DAYS, 0)
            stamps = (
                (outbox.c.published_at, keep.outbox),
                (inbox.c.processed_at, keep.inbox),
                (timer_table.c.fired_at, keep.timers),
                (timer_table.c.cancelled_at, keep.timers),
            )
            for n, (stamp, kept) in enumerate(stamps):
                cutoff = (
                    await connection.execute(
                        sa.select(stamp)
                        .where(stamp.is_not(None))
                        .order_by(stamp)
                        .offset(PRUNE_BATCH)
                        .limit(1)
                    )
                ).scalar() or now
                await connection.rollback()
                table, prune = retention.statements(cutoff + kept, keep, PRUNE_BATCH, POSTGRESQL)[n]
                statements.append((f"pruning {table} ({stamp.name})", prune, {}))
            for name, statement, values in statements:
                custom, generic = await _explain(connection, statement, values)
                for plan, (milliseconds, scans) in (("custom", custom), ("generic", generic)):
                    growing = [s for s in scans if s.split()[:2] == ["Seq", "Scan"]]
                    growing = [s for s in growing if s.split()[3] in GROWING]
                    verdict = "a whole table scanned" if growing else "by index"
                    lines.append(
                        f"{name if plan == 'custom' else '':<30} {plan:<7} {milliseconds:7.2f} ms "
                        f"{verdict}: {'; '.join(scans)}"
                    )
    finally:
        await engine.dispose()
    return lines
