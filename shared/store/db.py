"""Persistence helpers: the async engine, a UTC timestamp type, migrations at start."""

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.store.dialect import dialect_of

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
        return dialect_of(dialect).stored_time(value.astimezone(UTC))

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


def create_engine(
    url: str, schema: str, sqlite_synchronous: str = "FULL", pool_size: int = 10
) -> AsyncEngine:
    """An engine for one service's database, as its dialect makes it (`Dialect.engine`):
    its own schema on PostgreSQL, one connection on SQLite."""
    return dialect_of(url.split(":", 1)[0].split("+", 1)[0]).engine(
        url, schema, sqlite_synchronous, pool_size
    )


def single_statements(engine: AsyncEngine) -> AsyncEngine:
    """The engine for work that is one statement at a time (a read, or a write that stands on
    its own): on PostgreSQL in autocommit, so it costs no BEGIN and COMMIT round trips; SQLite
    is left as it is (a transaction there costs no round trip, and each must take the write
    lock at BEGIN)."""
    return dialect_of(engine).single_statements(engine)


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


class LaterRelease(Exception):
    """The database was migrated by a later release than this one: running on it is a
    downgrade, refused."""


async def migrate(engine: AsyncEngine, schema: str, service_migrations: Path) -> None:
    """Bring the service's database to the newest schema (plumbing and service tables).

    On PostgreSQL the schema is created if needed and an advisory lock lets
    only one replica migrate at a time.
    """
    config = _alembic_config(service_migrations)
    async with engine.begin() as connection:
        await dialect_of(connection).prepare_schema(connection, schema)

        def upgrade(sync_connection: sa.Connection) -> None:
            config.attributes["connection"] = sync_connection
            try:
                command.upgrade(config, "heads")
            except CommandError as error:
                if "Can't locate revision" not in str(error):
                    raise
                found = sync_connection.execute(sa.text("SELECT version_num FROM alembic_version"))
                raise LaterRelease(
                    f"its schema is at {', '.join(r[0] for r in found)}, which a later release "
                    "wrote and this one does not know: downgrading is refused (run the release "
                    "that migrated it, or a later one)"
                ) from None

        await connection.run_sync(upgrade)
