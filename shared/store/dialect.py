"""Where the two databases differ, in one place: PostgreSQL (production) and SQLite (one
process, tests and small councils) behind one interface.

Every module of the store asks `dialect_of(connection or engine)` and speaks to what it
gets; none branches on the database's name.

- Value lists: on PostgreSQL arrays (`= ANY`, `unnest`), so a statement's text never
  changes and the planner looks values up; on SQLite an IN list padded to a power of two.
- Keyed reads (`keyed`): on PostgreSQL each key looked up on its own by its index (a
  lateral join fenced with `OFFSET 0`), whatever the statistics say; on SQLite an IN list.
- Upserts (`insert`), time stamps (SQLite has no time zones: UTC wall time), single
  statements (PostgreSQL in autocommit), the service's schema and the migration lock,
  retention's batch deletes, how many transactions can write at once, and the lock one
  process holds at a time (`process_lock` in `shared.store.locks`).
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.store import tls

T = TypeVar("T")

Bind = AsyncConnection | AsyncEngine | sa.engine.Dialect


class Dialect:
    """What a store module needs to know of its database (the SQLite behaviour; PostgreSQL
    overrides it)."""

    name = "sqlite"
    postgres = False
    writers = 1
    """Transactions that can write at once: SQLite has one writer (one connection)."""
    notifies = False
    """Whether a commit can wake another process (LISTEN/NOTIFY), and a lock be held on a
    connection of its own (an advisory lock); else a file's lock."""

    def among(self, columns: Sequence[sa.ColumnElement[Any]], name: str) -> sa.ColumnElement[bool]:
        """`columns` (one, or a row of several) among the values bound as `name`
        (`among_values`)."""
        target = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
        return target.in_(sa.bindparam(name, expanding=True))

    def among_values(self, name: str, rows: Sequence[Any], width: int = 1) -> dict[str, Any]:
        """The parameters of `among(columns, name)` for these values (rows of `width` values
        each when `width` > 1)."""
        return {name: padded(list(rows))}

    def keyed(
        self,
        name: str,
        columns: Sequence[sa.ColumnElement[Any]],
        build: Callable[[list[sa.ColumnElement[bool]]], sa.Select[Any]],
    ) -> sa.Select[Any]:
        """The rows `build(conditions)` selects for each key bound as `name` (rows of
        `columns`' values): `conditions` tie `columns` to the keys."""
        return build([self.among(columns, name)])

    def insert(self, table: sa.Table) -> Any:
        """An INSERT that can say what to do on a conflict (`on_conflict_do_*`)."""
        return sqlite.insert(table)

    def unset(self, *columns: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """None of `columns` is set, in a keyed read: as a condition a partial index of such
        rows matches."""
        return sa.and_(*(column.is_(None) for column in columns))

    def stored_time(self, utc: datetime) -> datetime:
        """A UTC time as the database stores it (SQLite has no time zones: the UTC wall
        time)."""
        return utc.replace(tzinfo=None)

    def engine(self, url: str, schema: str, synchronous: str, pool_size: int) -> AsyncEngine:
        """One connection, so a process's transactions queue rather than fail with "database
        is locked"; every transaction takes the write lock at BEGIN, in WAL mode."""
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=1, max_overflow=0, connect_args={"timeout": 30})
        _begin_immediate(engine, synchronous)
        return engine

    def single_statements(self, engine: AsyncEngine) -> AsyncEngine:
        """The engine for work that is one statement at a time (a transaction costs SQLite no
        round trip, and each must take the write lock at BEGIN)."""
        return engine

    async def prepare_schema(self, connection: AsyncConnection, schema: str) -> None:
        """Before migrating: nothing (one file, one migrating process at a time)."""

    def lock_file(self, engine: AsyncEngine, name: str) -> str | None:
        """The file whose lock one process holds at a time (None for a database in memory:
        there is no other process)."""
        database = engine.url.database
        return f"{database}-{name}.lock" if database and database != ":memory:" else None

    def delete_oldest(self, time: sa.Column[Any], before: datetime, batch: int) -> sa.Delete:
        """Delete the (up to) `batch` oldest rows of `time`'s table whose `time` is `before`,
        read in the order of `time`'s index; by primary key."""
        table, past = time.table, time < before
        columns = list(table.primary_key.columns)
        key = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
        oldest = sa.select(*columns).where(past).order_by(time).limit(batch)
        return table.delete().where(key.in_(oldest))


class PostgreSQL(Dialect):
    """PostgreSQL: arrays for value lists, each key looked up on its own, a schema a service."""

    name = "postgresql"
    postgres = True
    writers = 2
    notifies = True

    def among(self, columns: Sequence[sa.ColumnElement[Any]], name: str) -> sa.ColumnElement[bool]:
        """The values go as arrays, one a column: `= ANY(array)`, or a row among the rows of
        `unnest(arrays...)`, so the statement's text never changes and the planner looks the
        values up (or hashes them) instead of filtering every row through an OR of all of
        them: a group's inbox check was a sequential scan testing each of a growing inbox's
        rows against 64 (tenant, event id) pairs, 10-20 ms a group."""
        arrays = _arrays(name, columns)
        if len(columns) == 1:
            return columns[0] == sa.any_(arrays[0])
        return sa.tuple_(*columns).in_(sa.select(*(sa.func.unnest(array) for array in arrays)))

    def among_values(self, name: str, rows: Sequence[Any], width: int = 1) -> dict[str, Any]:
        if width == 1:
            return {f"{name}_0": list(rows)}
        columns = list(zip(*rows, strict=True)) if rows else [()] * width
        return {f"{name}_{n}": list(column) for n, column in enumerate(columns)}

    def keyed(
        self,
        name: str,
        columns: Sequence[sa.ColumnElement[Any]],
        build: Callable[[list[sa.ColumnElement[bool]]], sa.Select[Any]],
    ) -> sa.Select[Any]:
        """`build` run once for each key and joined to it: a lateral join, fenced with
        `OFFSET 0` so the planner neither flattens it into one join nor picks another plan
        for it. Whatever statistics it holds (taken while a table was small, a back-fill
        outgrows them within seconds) and whichever plan it caches, each key is looked up by
        its index, never a table scanned and every row tested against every key."""
        names = [str(getattr(column, "name", f"c{n}")) for n, column in enumerate(columns)]
        keys = sa.func.unnest(*_arrays(name, columns)).table_valued(*names).render_derived("wanted")
        conditions = [column == keys.c[n] for column, n in zip(columns, names, strict=True)]
        found = build(conditions).offset(sa.literal_column("0")).lateral("found")
        return sa.select(found).select_from(keys).join(found, sa.true())

    def insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)

    def unset(self, *columns: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """Written so a partial index of such rows does not apply: as one condition over
        them, with statistics taken while few were pending, the planner walked the due-time
        index through thousands of pending timers testing each against every key (100 ms a
        group, seen with auto_explain on a private cluster); each key's own index is read
        instead."""
        return sa.func.coalesce(*columns).is_(None)

    def stored_time(self, utc: datetime) -> datetime:
        return utc

    def engine(self, url: str, schema: str, synchronous: str, pool_size: int) -> AsyncEngine:
        """The service's own schema. No ping before each checkout (three round trips a
        transaction): a connection the server dropped fails its statement, the pool discards
        it, and the consumer's gate treats the failure as an outage and retries once the
        database answers. A bounded pool that stays open: a transaction beyond it waits for a
        connection (an overflow connection is closed when it is returned, so a burst wider
        than the pool opened and closed one per transaction: 5 % of a busy service's time
        spent connecting)."""
        clean, encryption = tls.split(url)
        connect_args: dict[str, Any] = {"server_settings": {"search_path": schema}}
        if encryption is not None:  # the URL's sslmode (and certificates), as libpq reads them
            connect_args["ssl"] = encryption
        engine = create_async_engine(
            clean,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=60,
            pool_recycle=1800,
            connect_args=connect_args,
        )
        tls.remember(engine.sync_engine, encryption)
        return engine

    def single_statements(self, engine: AsyncEngine) -> AsyncEngine:
        """In autocommit: a single statement costs no BEGIN and COMMIT round trips."""
        return engine.execution_options(isolation_level="AUTOCOMMIT")

    async def prepare_schema(self, connection: AsyncConnection, schema: str) -> None:
        """Lock first (two replicas creating the schema at once would race: CREATE SCHEMA IF
        NOT EXISTS is not safe against a concurrent one), then create the service's schema."""
        await connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"convene-migrate-{schema}"},
        )
        await connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

    def lock_file(self, engine: AsyncEngine, name: str) -> str | None:
        return None  # an advisory lock instead (`shared.store.locks`)

    def delete_oldest(self, time: sa.Column[Any], before: datetime, batch: int) -> sa.Delete:
        """By physical address (`ctid`, a TID scan): as `key IN (the batch)` the planner
        joined the batch to the whole table (every batch read all of an outbox or an inbox).
        The condition is repeated so a row changed meanwhile (a timer set again under its id)
        is checked again as it now is."""
        table, past = time.table, time < before
        address: sa.ColumnClause[Any] = sa.literal_column("ctid")
        doomed = sa.select(address).select_from(table).where(past).order_by(time).limit(batch)
        return table.delete().where(
            address == sa.any_(sa.func.array(doomed.scalar_subquery())), past
        )


SQLITE, POSTGRESQL = Dialect(), PostgreSQL()


def dialect_of(bind: Bind | str) -> Dialect:
    """The dialect of a connection, an engine, SQLAlchemy's dialect, or a name."""
    name = bind if isinstance(bind, str) else getattr(bind, "dialect", bind).name  # type: ignore[union-attr]
    dialects = {"postgresql": POSTGRESQL, "postgres": POSTGRESQL, "sqlite": SQLITE}
    if name not in dialects:
        raise ValueError(f"Convene runs on PostgreSQL or SQLite, not {name}")
    return dialects[name]


def padded(values: Sequence[T]) -> list[T]:
    """Values for an IN list, their number rounded up to a power of two by repeating the
    last one (the same set): a statement's text then has one of a few lengths, so its
    prepared statement is reused (by the driver and by the database) instead of parsed and
    planned again for every length. Before, a back-fill prepared about 450 statements a
    service, a fifth of those it ran, most of them the group's reads with IN lists."""
    if not values:
        return list(values)
    size = 1 << (len(values) - 1).bit_length()
    return [*values, *[values[-1]] * (size - len(values))]


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


def _arrays(name: str, columns: Sequence[sa.ColumnElement[Any]]) -> list[sa.BindParameter[Any]]:
    return [
        sa.bindparam(f"{name}_{n}", type_=postgresql.ARRAY(column.type))
        for n, column in enumerate(columns)
    ]


__all__ = ["POSTGRESQL", "SQLITE", "Dialect", "PostgreSQL", "dialect_of", "padded"]
