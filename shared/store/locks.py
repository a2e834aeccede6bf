"""A lock one process of a service holds at a time, gone the moment its holder dies.

On PostgreSQL a session advisory lock on a connection of the lock's own; on SQLite an
exclusive `flock` on a file beside the database. The database or the operating system
releases it when the holding process dies (kill -9 included), so nothing waits for a
lease to run out. An in-memory SQLite database lives in one process: there is no other
process to hold anything against. Which one a database gets is its dialect's choice
(`process_lock`).

Two things are held this way: the relay's leadership (one replica publishes the outbox)
and the consuming mark (`ReplicaMark`: the replica taking deliveries, whose councils'
timers a standby must not fire).
"""

import asyncio
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.store import tls
from shared.store.dialect import dialect_of


def lock_key(name: str) -> int:
    """The 64-bit PostgreSQL advisory lock key of a name."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ProcessLock:
    """Held by at most one process at a time (this base: by the only process there is)."""

    @property
    def held(self) -> bool:
        """True while this process holds it."""
        return True

    async def hold(self) -> bool:
        """Take it if no other process holds it; True while this one does."""
        return True

    async def held_elsewhere(self) -> bool:
        """True when another process holds it (never when this one does), asked without
        taking it even for a moment (that would refuse the holder's own hold)."""
        return False

    async def release(self) -> None:
        """Give it up."""

    async def close(self) -> None:
        """Give it up and let go of what holding it took (a connection)."""
        await self.release()


class FileLock(ProcessLock):
    """An exclusive `flock` on a file (SQLite: beside the database)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._file: int | None = None

    @property
    def path(self) -> str:
        """The file whose lock this is."""
        return self._path

    @property
    def held(self) -> bool:
        return self._file is not None

    async def hold(self) -> bool:
        if self._file is None:
            self._file = try_flock(self._path)
        return self._file is not None

    async def held_elsewhere(self) -> bool:
        if self.held:
            return False
        probe = try_flock(self._path)
        if probe is None:
            return True
        os.close(probe)  # closing the file releases its lock
        return False

    async def release(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None


class AdvisoryLock(ProcessLock):
    """A PostgreSQL session advisory lock on a connection of its own, checked every
    `check_seconds` while held (a connection that died quietly has lost it); `listen`: a
    channel and a callback to LISTEN on that connection while it is held."""

    def __init__(
        self,
        engine: AsyncEngine,
        name: str,
        check_seconds: float = 5.0,
        listen: tuple[str, Callable[[], None]] | None = None,
    ) -> None:
        self._engine = engine
        self._key = lock_key(name)
        self._check_seconds = check_seconds
        self._listen = listen
        self._connection: Any = None
        self._locked = False
        self._checked = 0.0

    @property
    def key(self) -> int:
        """The advisory lock's 64-bit key."""
        return self._key

    @property
    def held(self) -> bool:
        return self._locked and self._connection is not None and not self._connection.is_closed()

    async def hold(self) -> bool:
        import asyncpg  # type: ignore[import-untyped]

        if self.held:
            if time.monotonic() - self._checked < self._check_seconds:
                return True
            try:
                await self._connection.fetchval("SELECT 1")
                self._checked = time.monotonic()
                return True
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                await self.close()
        await self._connect()
        self._locked = bool(
            await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
        )
        if self._locked:
            self._checked = time.monotonic()
            await self._start_listening()
        return self._locked

    async def held_elsewhere(self) -> bool:
        if self.held:
            return False
        # Asked of pg_locks, never by taking the lock for a moment.
        await self._connect()
        return bool(await self._connection.fetchval(_HELD, *_halves(self._key)))

    async def release(self) -> None:
        if self._locked and self._connection is not None and not self._connection.is_closed():
            with contextlib.suppress(Exception):
                await self._connection.fetchval("SELECT pg_advisory_unlock($1)", self._key)
        self._locked = False

    async def close(self) -> None:
        await self.release()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)
            self._connection = None

    async def _connect(self) -> None:
        import asyncpg

        if self._connection is None or self._connection.is_closed():
            self._locked = False
            url = self._engine.url.set(drivername="postgresql")
            self._connection = await asyncpg.connect(
                url.render_as_string(hide_password=False),
                ssl=tls.for_engine(self._engine.sync_engine),
            )

    async def _start_listening(self) -> None:
        if self._listen is None:
            return
        channel, callback = self._listen
        try:
            await self._connection.add_listener(channel, lambda *_: callback())
        except Exception as error:  # polling still finds the rows
            from shared.observability.logging import get_logger

            get_logger(__name__).warning("lock_listen_failed", error_type=type(error).__name__)


def process_lock(
    engine: AsyncEngine,
    key: str,
    file: str,
    *,
    check_seconds: float = 5.0,
    listen: tuple[str, Callable[[], None]] | None = None,
) -> ProcessLock:
    """A lock of the service's database as its dialect holds one: an advisory lock named
    `key`, or the lock of the file `file` beside the database."""
    dialect = dialect_of(engine)
    if dialect.notifies:
        return AdvisoryLock(engine, key, check_seconds, listen)
    path = dialect.lock_file(engine, file)
    return ProcessLock() if path is None else FileLock(path)


class ReplicaMark:
    """Held by at most one replica of a service at a time (the consuming mark)."""

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self._lock = process_lock(engine, f"convene-mark:{name}", name, check_seconds=0.0)
        self._busy = asyncio.Lock()  # one question to the database at a time

    @property
    def held(self) -> bool:
        """True while this replica holds the mark (always, with nothing to lock)."""
        return self._lock.held

    async def hold(self) -> bool:
        """Take the mark if no other replica holds it; True while this one does."""
        async with self._busy:
            return self._lock.held or await self._lock.hold()

    async def held_elsewhere(self) -> bool:
        """True when another replica holds the mark (never when this one does)."""
        async with self._busy:
            return await self._lock.held_elsewhere()

    async def release(self) -> None:
        """Give the mark up (a replica that holds it no more)."""
        async with self._busy:
            await self._lock.release()

    async def close(self) -> None:
        """Release the mark and close its connection."""
        async with self._busy:
            await self._lock.close()


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
