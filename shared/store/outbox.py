"""The transactional outbox: events are written with the state they describe, then relayed.

A handler queues events in the same database transaction as its state
change; the relay publishes committed rows persistently, with publisher
confirms, then marks them sent. Nothing is published before its state is
committed, and nothing is lost if the process dies in between: the relay
publishes it on restart (consumers de-duplicate on the event id).
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.base import ContractModel
from contracts.registry import event_type
from rules.effects import Fact
from shared.clock import Clock
from shared.messages import Message, new_event, to_body
from shared.observability.logging import get_logger
from shared.observability.telemetry import current_trace
from shared.store.tables import outbox

log = get_logger(__name__)


class Publisher(Protocol):
    """Publishes batches of facts, each confirmed by the broker."""

    async def prepare(self, exchanges: Iterable[str]) -> None:
        """Get ready to publish to these exchanges."""
        ...

    async def publish_all(self, messages: Sequence[Message]) -> list[BaseException | None]:
        """Publish persistently, in order; for each, None once the broker has taken it, or
        why it did not."""
        ...

    async def renew(self) -> None:
        """Publish on a new channel from now on (the broker refuses all on this one)."""
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
    notify: str | None = None
    """A NOTIFY channel to wake the relay of another replica at commit (PostgreSQL)."""
    _notified: list[bool] = field(default_factory=list)

    def for_timer(self, correlationid: str, time: datetime) -> "OutboxWriter":
        """A writer for the facts of a timer that fell due at `time` (same transaction)."""
        return OutboxWriter(
            self.connection, self.clock, self.service, self.tenant, correlationid, None, time,
            self.notify, self._notified,
        )  # fmt: skip

    async def emit(
        self, type_name: str, data: ContractModel, subject: str, time: datetime | None = None
    ) -> str:
        """Queue one event of this service's own types; returns its id. `time` is when the
        fact happened, when that is not the causing event's time."""
        return (await self.emit_all([Fact(type_name, data, subject, time)]))[0]

    async def emit_all(self, facts: list[Fact]) -> list[str]:
        """Queue several events in one statement, in order; returns their ids."""
        rows = self.rows(facts)
        await self.insert(rows)
        return [str(row["event_id"]) for row in rows]

    def rows(self, facts: list[Fact]) -> list[dict[str, Any]]:
        """The outbox rows of these facts (this writer's cause, correlation and time)."""
        now = self.clock.now()
        carried = current_trace()  # the span applying the cause: its facts join its trace
        rows = []
        for fact in facts:
            entry = event_type(fact.type_name)
            if entry is None or entry.producer != self.service:
                raise ValueError(f"{self.service} may not publish {fact.type_name}")
            event = new_event(
                type_name=fact.type_name,
                data=fact.data,
                subject=fact.subject,
                tenant=self.tenant,
                correlationid=self.correlationid,
                causationid=self.causationid,
                time=fact.time or self.time,
                trace=carried,
            )
            rows.append(
                {
                    "event_id": event.id,
                    "exchange": entry.exchange,
                    "routing_key": fact.type_name,
                    "body": to_body(event).decode(),
                    "created_at": now,
                }
            )
        return rows

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        """Insert outbox rows (of this writer's or its timers' facts) in one statement."""
        if not rows:
            return
        await self.connection.execute(outbox.insert(), rows)
        if self.notify is not None and not self._notified:
            await self.connection.execute(sa.select(sa.func.pg_notify(self.notify, "")))
            self._notified.append(True)


UNSENT = (
    sa.select(
        outbox.c.position, outbox.c.event_id, outbox.c.exchange, outbox.c.routing_key, outbox.c.body
    )
    .where(outbox.c.published_at.is_(None))
    .order_by(outbox.c.position)
    .limit(sa.bindparam("limit"))
)
"""The oldest unsent rows, in order (built once: no construction or cache key per round)."""


def notify_channel(schema: str) -> str:
    """The NOTIFY channel of one service's outbox (PostgreSQL names are at most 63 bytes)."""
    name = f"convene_outbox_{schema}".lower()
    if len(name) <= 63 and name.replace("_", "").isalnum():
        return name
    return "convene_outbox_" + hashlib.sha256(schema.encode()).hexdigest()[:40]


async def pending_count(engine: AsyncEngine) -> int:
    """How many outbox rows are not yet published."""
    async with engine.connect() as connection:
        result = await connection.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
        return int(result.scalar_one())
