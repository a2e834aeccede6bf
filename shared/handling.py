"""What a handler is given, and the two ways it can say no."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.calendar import WorkingDayCalendar
from shared.clock import Clock
from shared.outbox import OutboxWriter
from shared.policy import Policy


class RuleViolation(Exception):
    """A well-formed event broke a business rule: nothing changes and the CRM is told why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class NotReadyYet(Exception):
    """The event arrived before one it depends on (e.g. a report before its conference).

    Retried with back-off like a transient failure, then dead-lettered.
    """


def known_conference(row: Any, conference_id: str, *, for_change: bool = False) -> Any:
    """The conference a handler needs: not yet known is retried (it may be on its way);
    a change to a cancelled conference is refused."""
    if row is None:
        raise NotReadyYet(f"conference {conference_id} is not known yet")
    if for_change and row.status == "cancelled":
        raise RuleViolation([f"conference {conference_id} was cancelled"])
    return row


@dataclass
class HandlerContext:
    """One transaction's worth of tools for a message or timer handler."""

    connection: AsyncConnection
    outbox: OutboxWriter
    policy: Policy
    calendar: WorkingDayCalendar
    clock: Clock
    tenant: str
    event_id: str
    event_time: datetime
    extras: dict[str, Any] = field(default_factory=dict)

    async def emit(self, type_name: str, data: Any, subject: str) -> str:
        """Queue an outgoing event in this transaction."""
        return await self.outbox.emit(type_name, data, subject)
