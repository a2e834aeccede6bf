"""Pausing a service while its database is away, and resuming by itself.

When applying an event fails in a way that may be the database going away, the
consumer asks the gate, which looks (`SELECT 1`). If the database answers, the
failure was the event's own and is retried as usual. If not, the gate closes:
every delivery in flight or arriving waits at it, unacknowledged, with no attempt
counted (the broker sends no more than the prefetch, so the consumer is paused),
`/ready` says not ready, and the gate looks again every `CONVENE_OUTAGE_PROBE_SECONDS`
until the database is back. Nothing is dead-lettered because of an outage.
"""

import asyncio
import contextlib

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.observability.logging import get_logger

log = get_logger(__name__)


class Abandoned(Exception):
    """The service is stopping while a delivery waits: it is left to return to the queue."""


class DatabaseGate:
    """Open while the service's database answers."""

    def __init__(self, engine: AsyncEngine, probe_seconds: float = 1.0) -> None:
        self._engine = engine
        self._probe_seconds = probe_seconds
        self._open = asyncio.Event()
        self._open.set()
        self._stopping = asyncio.Event()
        self._probe: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        """False while the database is known to be unreachable."""
        return self._open.is_set()

    async def wait_open(self) -> None:
        """Return once the database is reachable; raise Abandoned if the service stops
        while it is not (a normal stop lets deliveries in flight finish)."""
        if self._open.is_set():
            return
        if self._stopping.is_set():
            raise Abandoned()
        opened = asyncio.ensure_future(self._open.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({opened, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
            stopping.cancel()
        if not self._open.is_set():
            raise Abandoned()

    async def reachable(self) -> bool:
        """Whether the database answers now."""
        try:
            async with asyncio.timeout(5):
                async with self._engine.connect() as connection:
                    await connection.execute(sa.text("SELECT 1"))
        except Exception:
            return False
        return True

    async def outage(self, error: BaseException) -> bool:
        """After a failure that may be the database: True (and the gate closed) when the
        database does not answer, False when it does (the failure was something else)."""
        if not self._open.is_set():
            return True
        if await self.reachable():
            return False
        if self._open.is_set():
            self._open.clear()
            log.warning("database_unreachable", error_type=type(error).__name__)
            self._probe = asyncio.create_task(self._until_back(), name="database-probe")
        return True

    async def _until_back(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(self._probe_seconds)
            if await self.reachable():
                self._open.set()
                log.warning("database_reachable_again")
                return

    async def stop(self) -> None:
        """Wake every waiter with Abandoned and stop looking."""
        self._stopping.set()
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
