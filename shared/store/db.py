"""Persistence helpers: the async engine, a UTC timestamp type, migrations at start."""

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_FOLDER = Path(__file__).parent / "migrations"

T = TypeVar("T")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored as UTC on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        utc = value.astimezone(UTC)
        # SQLite has no time zones: keep the UTC wall time.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(sa.TypeDecorator[str]):
    """A JSON column written and read as its JSON text, for a caller that serialises and
    parses it itself in one pass (pydantic's `dump_json` and `validate_json`), instead of
    the driver's `json` and then pydantic walking the dictionaries: an aggregate's document
    is the largest thing a delivery reads and writes. On PostgreSQL the column stays
    `json` (the text is checked as JSON when written)."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None  # the text as it is

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None

    def column_expression(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        return sa.cast(column, sa.Text)  # text from the driver, not a decoded document


def padded(values: Sequence[T]) -> list[T]:
    """Values for an IN list, their number rounded up to a power of two by repeating the
    last one (the same set): a statement's text then has one of a few lengths, so its
    prepared statement is reused (by the driver and by PostgreSQL) instead of parsed and
    planned again for every length. Before, a back-fill prepared about 450 statements a
    service, a fifth of those it ran, most of them the group's reads with IN lists."""
    if not values:
        return list(values)
    size = 1 << (len(values) - 1).bit_length()
    return [*values, *[values[-1]] * (size - len(values))]


def among(
    columns: Sequence[sa.ColumnElement[Any]], name: str, *, postgres: bool
) -> sa.ColumnElement[bool]:
    """`columns` (one, or a row of several) among the values bound as `name` (`among_values`).

    On PostgreSQL the values go as arrays, one a column: `= ANY(array)`, or a row among the
    rows of `unnest(arrays...)`, so the statement's text never changes and the planner looks
    the values up (or hashes them) instead of filtering every row of the table through an OR
    of all of them: a group's inbox check was a sequential scan testing each of a growing
    inbox's rows against 64 (tenant, event id) pairs, 10-20 ms a group. Elsewhere an IN list
    of the rows, padded to a power of two (`padded`)."""
    if not postgres:
        target = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
        return target.in_(sa.bindparam(name, expanding=True))
    arrays = [
        sa.bindparam(f"{name}_{n}", type_=postgresql.ARRAY(column.type))
        for n, column in enumerate(columns)
    ]
    if len(columns) == 1:
        return columns[0] == sa.any_(arrays[0])
    return sa.tuple_(*columns).in_(sa.select(*(sa.func.unnest(array) for array in arrays)))


def wanted(name: str, columns: Sequence[sa.ColumnElement[Any]]) -> Any:
    """PostgreSQL: the rows of the arrays bound as `name` (`among_values`), a column each of
    `columns`, as a table named `wanted`, to look each row up on its own with `lookup`."""
    arrays = [
        sa.bindparam(f"{name}_{n}", type_=postgresql.ARRAY(column.type))
        for n, column in enumerate(columns)
    ]
    names = [str(getattr(column, "name", f"c{n}")) for n, column in enumerate(columns)]
    return sa.func.unnest(*arrays).table_valued(*names).render_derived("wanted")


def lookup(select: sa.Select[Any], name: str) -> Any:
    """PostgreSQL: `select` (which names `wanted`'s columns) run once for each of its rows
    and joined to it: a lateral join, fenced with `OFFSET 0` so the planner neither
    flattens it into one join nor picks another plan for it. Whatever statistics it
    holds (taken while a table was small, a back-fill outgrows them within seconds) and
    whichever plan it caches, each row is looked up by its index, never a table scanned
    and every row tested against every value."""
    return select.offset(sa.literal_column("0")).lateral(name)


def among_values(
    name: str, rows: Sequence[Any], *, postgres: bool, width: int = 1
) -> dict[str, Any]:
    """The parameters of `among(columns, name)` for these values (rows of `width` values each
    when `width` > 1)."""
    if not postgres:
        return {name: padded(list(rows))}
    if width == 1:
        return {f"{name}_0": list(rows)}
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    return {f"{name}_{n}": list(column) for n, column in enumerate(columns)}


def create_engine(
    url: str, schema: str, sqlite_synchronous: str = "FULL", pool_size: int = 10
) -> AsyncEngine:
    """An engine for one service's database: its own schema on PostgreSQL.

    SQLite gets one connection, so a process's transactions queue rather than
    fail with "database is locked".
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=1, max_overflow=0, connect_args={"timeout": 30})
        _begin_immediate(engine, sqlite_synchronous)
        return engine
    connect_args: dict[str, Any] = {"server_settings": {"search_path": schema}}
    # No ping before each checkout (three round trips a transaction): a connection the
    # server dropped fails its statement, the pool discards it, and the consumer's gate
    # treats the failure as an outage and retries once the database answers.
    # A bounded pool that stays open: a transaction beyond it waits for a connection. (An
    # overflow connection is closed when it is returned, so a burst wider than the pool
    # opened and closed one per transaction: 5 % of a busy service's time spent connecting.)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        pool_recycle=1800,
        connect_args=connect_args,
    )


def single_statements(engine: AsyncEngine) -> AsyncEngine:
    """The engine for work that is one statement at a time (a read, or a write that stands on
    its own): on PostgreSQL in autocommit, so it costs no BEGIN and COMMIT round trips; SQLite
    is left as it is (a transaction there costs no round trip, and each must take the write
    lock at BEGIN)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def _begin_immediate(engine: AsyncEngine, synchronous: str) -> None:
    """Make every SQLite transaction take the write lock at BEGIN, in WAL mode.

    Otherwise two processes on one file can both read a row (a due timer, an
    unsent outbox row) before either writes, and both act on it.
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"SQLite synchronous level {synchronous!r}")

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Write-ahead log: readers never wait for the writer, and a commit appends to the
        # log (one sync with FULL) instead of journalling and rewriting pages (several).
        # NORMAL syncs at checkpoints only: a process crash loses nothing, an operating
        # system crash can lose the last commits.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(service_migrations: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    config.set_main_option("path_separator", "os")
    locations = [str(MIGRATIONS_FOLDER / "versions"), str(service_migrations)]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    return config


def migration_heads(service_migrations: Path) -> list[str]:
    """The newest revision of each migration branch (plumbing and the service's own)."""
    from alembic.script import ScriptDirectory

    return sorted(ScriptDirectory.from_config(_alembic_config(service_migrations)).get_heads())


async def migrate(engine: AsyncEngine, schema: str, service_migrations: Path) -> None:
    """Bring the service's database to the newest schema (plumbing and service tables).

    On PostgreSQL the schema is created if needed and an advisory lock lets
    only one replica migrate at a time.
    """
    config = _alembic_config(service_migrations)
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Lock first: two replicas creating the schema at once would otherwise race
            # (CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent one).
            await connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"convene-migrate-{schema}"},
            )
            await connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

        def upgrade(sync_connection: sa.Connection) -> None:
            config.attributes["connection"] = sync_connection
            command.upgrade(config, "heads")

        await connection.run_sync(upgrade)
