"""One delivery as processing sees it: its AMQP parts, the attempt to apply it, what is
transient, what a parked event keeps of it, and where what cannot be processed goes."""

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from contracts.envelope import CloudEvent
from shared.application.handling import Flow, HandlerContext
from shared.broker import handback
from shared.clock import Clock
from shared.store.parking import ParkedEvent

MessageHandler = Callable[[HandlerContext, Any], Awaitable[None]]


TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, OSError, TimeoutError)


RETRIED = "x-convene-delayed-retries"
"""Header: how many delayed retries a message has had."""


BROKER_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue",
                  "x-first-death-reason", "x-delivery-count")  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    """The parts of an AMQP delivery that processing needs."""

    body: bytes
    exchange: str
    routing_key: str
    message_id: str | None
    user_id: str | None
    queue: str
    headers: dict[str, Any] = field(default_factory=dict)
    message_type: str | None = None

    def stored(self) -> dict[str, Any]:
        """What a parked event keeps of its delivery (the body is kept beside it)."""
        return {
            "exchange": self.exchange,
            "routing_key": self.routing_key,
            "message_id": self.message_id,
            "user_id": self.user_id,
            "queue": self.queue,
            "headers": {k: v for k, v in self.headers.items() if _plain(v)},
            "message_type": self.message_type,
        }

    def dead_letter_headers(
        self,
        error_type: str,
        reasons: list[str],
        attempts: int,
        sender: str,
        now: datetime,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        """The headers it is dead-lettered (or handed back for a delayed retry) with: why,
        where it first came from and who sent it, how often it was tried; the broker's own
        and the service's earlier ones left out."""
        kept = {
            k: v for k, v in self.headers.items()
            if k not in BROKER_HEADERS and not k.startswith("x-convene-")
        }  # fmt: skip
        return {
            **kept,
            "x-convene-error-type": error_type,
            "x-convene-error": "; ".join(reasons)[:2000],
            "x-convene-original-queue": self.queue,
            "x-convene-original-exchange": str(
                self.headers.get("x-convene-original-exchange") or self.exchange
            ),
            "x-convene-original-routing-key": str(
                self.headers.get("x-convene-original-routing-key") or self.routing_key
            ),
            handback.ORIGINAL_USER: sender,
            "x-convene-attempts": attempts,
            "x-convene-dead-lettered-at": now.isoformat(),
            **extra,
        }

    @classmethod
    def of_parked(cls, event: ParkedEvent) -> "Delivery":
        """A parked event's delivery, as it first arrived."""
        return cls(body=event.body, **event.delivery)


def flow_of_raw(raw: dict[str, Any], event_id: str, event_type: str, now: datetime) -> Flow:
    """The flow of an event that failed validation, from what could be read."""

    def text(key: str, fallback: str) -> str:
        value = raw.get(key)
        if isinstance(value, str) and re.fullmatch(r"[!-~]{1,200}", value):
            return value
        return fallback

    tenant = text("tenant", "000")
    return Flow(
        event_id,
        event_type,
        tenant if re.fullmatch(r"[0-9]{3}", tenant) else "000",
        text("subject", event_id),
        text("correlationid", event_id),
        now,
    )


class DeadLetterSink(Protocol):
    """Where messages that cannot be processed go."""

    async def dead_letter(
        self,
        service: str,
        body: bytes,
        message_id: str | None,
        headers: dict[str, Any],
        message_type: str | None = None,
        queue: str | None = None,
    ) -> None:
        """Store the message with the reason in its headers (`queue`: a retry queue)."""
        ...


def transient(error: BaseException) -> bool:
    """True for failures that may pass: a database or broker briefly away, an early event."""
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, TRANSIENT)


@dataclass(frozen=True)
class Attempt:
    """One event being applied: its delivery, handler, data, ordering keys, and the parked
    row it comes from (if it waited)."""

    delivery: Delivery
    event: CloudEvent
    handler: MessageHandler
    data: Any
    keys: list[str]
    parked: ParkedEvent | None


def inbox_row(flow: Flow, outcome: str, clock: Clock) -> dict[str, object]:
    return {
        "tenant": flow.tenant,
        "event_id": flow.event_id,
        "event_type": flow.event_type,
        "outcome": outcome,
        "processed_at": clock.now(),
        "digest": None,
    }


def digest_of_event(event: CloudEvent) -> str:
    """The content of an event, whatever the order of its JSON keys."""
    canonical = json.dumps(event.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def safe_reasons(error: BaseException) -> list[str]:
    """Why processing failed, without echoing data (database errors quote parameters)."""
    if isinstance(error, sa.exc.StatementError):
        return [f"{type(error).__name__} from the database: {type(error.orig).__name__}"]
    return [f"{type(error).__name__}: {error}"]
