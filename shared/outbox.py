"""The transactional outbox: events are written with the state they describe, then relayed.

A handler queues events in the same database transaction as its state
change; the relay publishes committed rows persistently, with publisher
confirms, then marks them sent. Nothing is published before its state is
committed, and nothing is lost if the process dies in between: the relay
publishes it on restart (consumers de-duplicate on the event id).
"""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.base import ContractModel
from contracts.registry import event_type
from shared.clock import Clock
from shared.events import new_event, to_body
from shared.logging import get_logger
from shared.tables import outbox

log = get_logger(__name__)


class Publisher(Protocol):
    """Publishes one message and returns once the broker has confirmed it."""

    async def publish(
        self, *, exchange: str, routing_key: str, body: bytes, message_id: str
    ) -> None:
        """Publish persistently; raise if the broker did not take it."""
        ...


@dataclass
class OutboxWriter:
    """Queues a flow's outgoing events on the handler's own transaction."""

    connection: AsyncConnection
    clock: Clock
    service: str
    tenant: str
    correlationid: str
    causationid: str | None
    time: datetime
    """When the causing fact happened: outgoing events carry it, so replaying old events
    gives the same events as processing them live."""

    def for_timer(self, correlationid: str, time: datetime) -> "OutboxWriter":
        """A writer for the facts of a timer that fell due at `time`."""
        return OutboxWriter(
            self.connection, self.clock, self.service, self.tenant, correlationid, None, time
        )

    async def emit(
        self, type_name: str, data: ContractModel, subject: str, time: datetime | None = None
    ) -> str:
        """Queue one event of this service's own types; returns its id. `time` is when the
        fact happened, when that is not the causing event's time."""
        entry = event_type(type_name)
        if entry is None or entry.producer != self.service:
            raise ValueError(f"{self.service} may not publish {type_name}")
        event = new_event(
            type_name=type_name,
            data=data,
            subject=subject,
            tenant=self.tenant,
            correlationid=self.correlationid,
            causationid=self.causationid,
            time=time or self.time,
        )
        await self.connection.execute(
            outbox.insert().values(
                event_id=event.id,
                exchange=entry.exchange,
                routing_key=type_name,
                body=to_body(event).decode(),
                created_at=self.clock.now(),
            )
        )
        return event.id


class OutboxRelay:
    """Publishes committed outbox rows in order; woken after each commit, polls as well."""

    def __init__(
        self,
        engine: AsyncEngine,
        publisher: Publisher,
        clock: Clock,
        poll_seconds: float = 1.0,
        batch_size: int = 100,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask the relay to look for new rows now."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish every unsent row; returns how many were published."""
        total = 0
        while published := await self._publish_batch():
            total += published
        return total

    async def _publish_batch(self) -> int:
        async with self._engine.begin() as connection:
            rows = (
                await connection.execute(
                    sa.select(outbox)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.position)
                    .limit(self._batch_size)
                    # Competing replicas each take different rows.
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                await self._publisher.publish(
                    exchange=row.exchange,
                    routing_key=row.routing_key,
                    body=row.body.encode(),
                    message_id=row.event_id,
                )
                await connection.execute(
                    outbox.update()
                    .where(outbox.c.position == row.position)
                    .values(published_at=self._clock.now())
                )
        return len(rows)

    async def run(self) -> None:
        """Relay until stopped; a failed publish is retried on the next round."""
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()
            try:
                count = await self.publish_pending()
            except Exception as error:
                log.warning("outbox_publish_failed", error_type=type(error).__name__)
                await asyncio.sleep(self._poll_seconds)
            else:
                if count:
                    log.debug("outbox_published", count=count)

    def start(self) -> None:
        """Run the relay in the background."""
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        """Finish the batch in flight, publish what is pending, then stop.

        Never cancelled mid-batch: a batch cut short would be published again.
        """
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.publish_pending()


async def pending_count(engine: AsyncEngine) -> int:
    """How many outbox rows are not yet published."""
    async with engine.connect() as connection:
        result = await connection.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
        return int(result.scalar_one())
