"""Processing one delivery: parse, check, apply once, or reject, retry, dead-letter.

- Not JSON, not a CloudEvent, an unknown type, data that fails its schema, or
  an event from the wrong producer: dead-lettered with the reason in headers;
  `<service>.input.rejected.v1` when the id and type can be read.
- A business-rule violation: `<service>.input.rejected.v1`; nothing else changes.
- A transient failure: retried with back-off, then dead-lettered.
- A redelivered or duplicated event: recognised by the inbox, changes nothing.
The caller acknowledges the message only after `process` returns.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.common_v1 import InputRejected
from contracts.envelope import CloudEvent
from shared import inbox
from shared.clock import Clock
from shared.events import MalformedInput, parse_event
from shared.handling import HandlerContext, NotReadyYet, RuleViolation
from shared.logging import get_logger

log = get_logger(__name__)

MessageHandler = Callable[[HandlerContext, Any], Awaitable[None]]
ContextFactory = Callable[[AsyncConnection, "Flow"], HandlerContext]

TRANSIENT = (
    sa.exc.OperationalError, sa.exc.InterfaceError, OSError, TimeoutError, NotReadyYet,
)  # fmt: skip


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


@dataclass(frozen=True)
class Flow:
    """What links an outgoing event to the one that caused it."""

    event_id: str
    event_type: str
    tenant: str
    subject: str
    correlationid: str
    time: datetime

    @classmethod
    def of(cls, event: CloudEvent) -> "Flow":
        """The flow of a parsed event."""
        return cls(
            event.id, event.type, event.tenant, event.subject, event.correlationid, event.time
        )

    @classmethod
    def of_raw(cls, raw: dict[str, Any], event_id: str, event_type: str, now: datetime) -> "Flow":
        """The flow of an event that failed validation, from what could be read."""

        def text(key: str, fallback: str) -> str:
            value = raw.get(key)
            return value if isinstance(value, str) and value else fallback

        tenant = text("tenant", "000")
        return cls(
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
    ) -> None:
        """Store the message with the reason in its headers."""
        ...


def transient(error: BaseException) -> bool:
    """True for failures that may pass: a database or broker briefly away, an early event."""
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, TRANSIENT)


class Consumer:
    """Applies deliveries to one service's handlers, exactly once per event id."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        handlers: Mapping[str, MessageHandler],
        context: ContextFactory,
        dead_letters: DeadLetterSink,
        clock: Clock,
        after_commit: Callable[[], None],
        max_attempts: int = 5,
        retry_base_seconds: float = 0.2,
        producer_users: Mapping[str, str] | None = None,
        in_transaction: Callable[[AsyncConnection, "Flow"], Awaitable[None]] | None = None,
    ) -> None:
        self._service = service
        self._engine = engine
        self._handlers = handlers
        self._context = context
        self._dead_letters = dead_letters
        self._clock = clock
        self._after_commit = after_commit
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._producer_users = producer_users
        self._in_transaction = in_transaction or _nothing

    def bind_log_context(self, delivery: Delivery) -> None:
        """Log lines from here on name the service, queue and routing key."""
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self._service, queue=delivery.queue, routing_key=delivery.routing_key
        )

    def read(self, delivery: Delivery) -> tuple[CloudEvent, Any]:
        """Parse and check a delivery once; raises MalformedInput."""
        event, _entry, data = parse_event(delivery.body)
        self._check_producer(event, delivery)
        if event.type not in self._handlers:
            # Not the producer's mistake (a binding too many): nothing to reject.
            raise MalformedInput([f"{self._service} does not consume {event.type}"])
        return event, data

    async def process(self, delivery: Delivery) -> str:
        """Read and apply one delivery; returns the outcome. Raises only if dead-lettering
        failed."""
        try:
            event, data = self.read(delivery)
        except MalformedInput as error:
            return await self.refuse(delivery, error)
        return await self.apply(delivery, event, data)

    async def refuse(self, delivery: Delivery, error: MalformedInput) -> str:
        """Dead-letter a malformed delivery, and tell its producer when it can be named."""
        self.bind_log_context(delivery)
        await self._dead_letter(delivery, error, error.reasons, attempts=1)
        if error.event_id and error.event_type:
            flow = Flow.of_raw(error.raw, error.event_id, error.event_type, self._clock.now())
            await self._reject(flow, error.reasons)
        return "dead_lettered"

    async def apply(self, delivery: Delivery, event: CloudEvent, data: Any) -> str:
        """Apply a well-formed event once, retrying transient failures."""
        self.bind_log_context(delivery)
        structlog.contextvars.bind_contextvars(
            event_id=event.id,
            event_type=event.type,
            correlationid=event.correlationid,
            tenant=event.tenant,
            conference_id=event.subject,
        )
        return await self._apply_with_retries(delivery, event, self._handlers[event.type], data)

    async def _apply_with_retries(
        self, delivery: Delivery, event: CloudEvent, handler: MessageHandler, data: Any
    ) -> str:
        flow = Flow.of(event)
        for attempt in range(1, self._max_attempts + 1):
            try:
                outcome = await self._apply(flow, handler, data)
            except RuleViolation as violation:
                await self._reject(flow, violation.reasons)
                log.info("event_rejected", outcome="rejected", count=len(violation.reasons))
                return "rejected"
            except Exception as error:
                if not transient(error) or attempt == self._max_attempts:
                    reason = "; ".join(_safe_reasons(error))
                    await self._dead_letter(delivery, error, [reason], attempts=attempt)
                    return "dead_lettered"
                delay = self._retry_base * 2 ** (attempt - 1)
                log.warning(
                    "event_retry",
                    attempt=attempt,
                    delay_seconds=delay,
                    error_type=type(error).__name__,
                )
                await asyncio.sleep(delay)
            else:
                log.info("event_processed", outcome=outcome)
                return outcome
        raise AssertionError("unreachable: the last attempt returns")

    async def _apply(self, flow: Flow, handler: MessageHandler, data: Any) -> str:
        try:
            async with self._engine.begin() as connection:
                if await inbox.already_processed(connection, flow.tenant, flow.event_id):
                    return "duplicate"
                await inbox.record(
                    connection, flow.tenant, flow.event_id, flow.event_type, "applied", self._clock
                )
                await handler(self._context(connection, flow), data)
                await self._in_transaction(connection, flow)
        except sa.exc.IntegrityError:
            # A replica committed the same event first.
            async with self._engine.connect() as connection:
                if await inbox.already_processed(connection, flow.tenant, flow.event_id):
                    return "duplicate"
            raise
        self._after_commit()
        return "applied"

    async def _reject(self, flow: Flow, reasons: list[str]) -> None:
        async with self._engine.begin() as connection:
            if await inbox.already_processed(connection, flow.tenant, flow.event_id):
                return
            await inbox.record(
                connection, flow.tenant, flow.event_id, flow.event_type, "rejected", self._clock
            )
            context = self._context(connection, flow)
            await context.outbox.emit(
                f"{self._service}.input.rejected.v1",
                InputRejected(event_id=flow.event_id, event_type=flow.event_type, reasons=reasons),
                flow.subject,
            )
        self._after_commit()

    async def _dead_letter(
        self, delivery: Delivery, error: BaseException, reasons: list[str], attempts: int
    ) -> None:
        headers = {
            "x-convene-error-type": type(error).__name__,
            "x-convene-error": "; ".join(reasons)[:2000],
            "x-convene-original-queue": delivery.queue,
            "x-convene-original-exchange": delivery.exchange,
            "x-convene-original-routing-key": delivery.routing_key,
            "x-convene-original-user-id": self._original_sender(delivery) or "",
            "x-convene-attempts": attempts,
            "x-convene-dead-lettered-at": self._clock.now().isoformat(),
        }
        await self._dead_letters.dead_letter(
            self._service, delivery.body, delivery.message_id, headers, delivery.message_type
        )
        log.warning(
            "event_dead_lettered",
            error_type=type(error).__name__,
            attempts=attempts,
            error_fields=reasons[:5] if isinstance(error, MalformedInput) else None,
        )

    def _original_sender(self, delivery: Delivery) -> str | None:
        """Who first sent the message; for a replayed dead letter, who sent it originally.

        Only this service's own broker user can write to its dead letter exchange,
        and the original sender was recorded when the message was dead-lettered.
        """
        own_user = (self._producer_users or {}).get(self._service)
        replayed = "x-convene-replayed-at" in delivery.headers
        if replayed and delivery.user_id is not None and delivery.user_id == own_user:
            return str(delivery.headers.get("x-convene-original-user-id", "")) or None
        return delivery.user_id

    def _check_producer(self, event: CloudEvent, delivery: Delivery) -> None:
        if self._producer_users is None:
            return
        expected = self._producer_users.get(event.producer)
        sender = self._original_sender(delivery)
        if sender != expected:
            raise MalformedInput(
                [f"{event.type} must be published by broker user {expected!r}, not {sender!r}"],
                {
                    "id": event.id,
                    "type": event.type,
                    "tenant": event.tenant,
                    "subject": event.subject,
                    "correlationid": event.correlationid,
                },
            )


async def _nothing(_connection: AsyncConnection, _flow: Flow) -> None:
    return None


def _safe_reasons(error: BaseException) -> list[str]:
    """Why processing failed, without echoing data (database errors quote parameters)."""
    if isinstance(error, sa.exc.StatementError):
        return [f"{type(error).__name__} from the database: {type(error.orig).__name__}"]
    return [f"{type(error).__name__}: {error}"]
