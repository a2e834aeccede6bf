"""A mark one replica of a service holds at a time, gone the moment its holder dies.

On PostgreSQL a session advisory lock on a connection of the mark's own; on SQLite an
exclusive `flock` on a file beside the database. The database or the operating system
releases it when the holding process dies (kill -9 included), so nothing waits for a
lease to run out. An in-memory SQLite database lives in one process: there is no other
replica to mark anything against.
"""

import asyncio
import contextlib
import fcntl
import hashlib
import os
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine


def lock_key(name: str) -> int:
    """The 64-bit PostgreSQL advisory lock key of a name."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ReplicaMark:
    """Held by at most one replica of a service at a time."""

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._key = lock_key(f"convene-mark:{name}")
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._path = f"{database}-{name}.lock" if database and database != ":memory:" else None
        self._connection: Any = None  # PostgreSQL: the connection holding the lock
        self._locked = False
        self._file: int | None = None  # SQLite: the flocked file's descriptor
        self._busy = asyncio.Lock()  # one question to the database at a time

    @property
    def held(self) -> bool:
        """True while this replica holds the mark (always, with nothing to lock)."""
        if self._postgres:
            return (
                self._locked and self._connection is not None and not self._connection.is_closed()
            )
        return self._path is None or self._file is not None

    async def hold(self) -> bool:
        """Take the mark if no other replica holds it; True while this one does."""
        async with self._busy:
            return await self._hold()

    async def _hold(self) -> bool:
        if self.held:
            return True
        if self._postgres:
            self._locked = await self._try_postgres()
            return self._locked
        assert self._path is not None  # else held
        self._file = try_flock(self._path)
        return self._file is not None

    async def held_elsewhere(self) -> bool:
        """True when another replica holds the mark (never when this one does)."""
        async with self._busy:
            return await self._held_elsewhere()

    async def _held_elsewhere(self) -> bool:
        if self.held:
            return False
        if self._postgres:
            # Asked of pg_locks, never by taking the lock for a moment: a probe that held it
            # would refuse the consuming replica's own hold() in that moment.
            await self._connect_postgres()
            return bool(await self._connection.fetchval(_HELD, *_halves(self._key)))
        assert self._path is not None  # else held
        probe = try_flock(self._path)
        if probe is None:
            return True
        os.close(probe)  # closing the file releases its lock
        return False

    async def release(self) -> None:
        """Give the mark up (a replica that holds it no more)."""
        async with self._busy:
            await self._release()

    async def _release(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None
        if self._locked and self._connection is not None and not self._connection.is_closed():
            with contextlib.suppress(Exception):
                await self._connection.fetchval("SELECT pg_advisory_unlock($1)", self._key)
        self._locked = False

    async def close(self) -> None:
        """Release the mark and close its connection."""
        async with self._busy:
            await self._release()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)
            self._connection = None

    async def _try_postgres(self) -> bool:
        await self._connect_postgres()
        return bool(await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", self._key))

    async def _connect_postgres(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        if self._connection is None or self._connection.is_closed():
            self._locked = False
            url = self._engine.url.set(drivername="postgresql")
            self._connection = await asyncpg.connect(url.render_as_string(hide_password=False))


_HELD = """SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND classid::text::bigint = $1 AND objid::text::bigint = $2 AND objsubid = 1
    AND pid <> pg_backend_pid())"""
"""Whether another session holds the advisory lock of a 64-bit key (its two halves)."""


def _halves(key: int) -> tuple[int, int]:
    """An advisory lock's 64-bit key as pg_locks shows it: the high and low 32 bits."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


def try_flock(path: str) -> int | None:
    """The descriptor of `path`, locked exclusively, or None when another holds the lock."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor
