"""Processing one delivery: parse, check, apply once, or reject, park, retry, dead-letter.

- Not JSON, not a CloudEvent, an unknown type, data that fails its schema, or
  an event from the wrong producer: dead-lettered with the reason in headers;
  `<service>.input.rejected.v1` when the id and type can be read.
- A business-rule violation: `<service>.input.rejected.v1`; nothing else changes.
- An event that arrived before one it depends on: parked until that one is applied.
- The database unreachable: the delivery waits at the gate (no attempt counted).
- Any other failure: a few immediate tries with back-off, then delayed retries
  through the broker's retry queues, then the dead letters.
- A redelivered or duplicated event: recognised by the inbox, changes nothing; an
  event id used again for different content is refused and said.
The caller acknowledges the message only after `process` returns.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.base import ahead_of
from contracts.common_v1 import InputRejected
from contracts.envelope import CloudEvent
from contracts.registry import event_type
from shared.application.availability import Abandoned, DatabaseGate
from shared.application.delivery import (
    RETRIED,
    Attempt,
    DeadLetterSink,
    Delivery,
    MessageHandler,
    digest_of_event,
    flow_of_raw,
    inbox_row,
    safe_reasons,
    transient,
)  # fmt: skip
from shared.application.grouping import CONFLICT, GroupCommit
from shared.application.handling import Flow, HandlerContext, NotReadyYet, RuleViolation
from shared.broker import handback
from shared.broker.topology import dead_letter_exchange, retry_queue_name
from shared.clock import Clock
from shared.messages import MalformedInput, parse_event
from shared.observability import telemetry
from shared.observability.logging import get_logger
from shared.store import inbox, parking
from shared.store.dialect import dialect_of
from shared.store.parking import ParkedEvent

log = get_logger(__name__)

ContextFactory = Callable[[AsyncConnection, "Flow"], HandlerContext]


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
        gate: DatabaseGate,
        max_attempts: int = 3,
        retry_base_seconds: float = 0.2,
        retry_delays: Sequence[float] = (),
        handback_key: bytes | None = None,
        park_expiry_seconds: float = 86_400.0,
        producer_users: Mapping[str, str] | None = None,
        in_transaction: Callable[[AsyncConnection, "Flow"], Awaitable[None]] | None = None,
        group_size: int = 1,
        max_clock_skew_seconds: float = 300.0,
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
        self._retry_delays = list(retry_delays)
        self._handback_key = handback_key
        self._park_expiry = park_expiry_seconds
        self._gate = gate
        self._producer_users = producer_users
        self._in_transaction = in_transaction or _nothing
        self._skew = timedelta(seconds=max_clock_skew_seconds)
        self.grouping = GroupCommit(
            service,
            engine,
            clock,
            context,
            self._in_transaction,
            group_size,
            # As many groups at a time as the database has writers (SQLite one).
            lanes=dialect_of(engine).writers,
        )

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

    def ahead_of_clock(self, event: CloudEvent, data: Any) -> list[str]:
        """Why an event is refused for saying something happened in the future (a mistyped
        year, a CRM with a wrong clock): each past-only time more than the tolerance ahead
        of this service's clock, by name. Empty when none is."""
        now = self._clock.now()
        latest = now + self._skew
        fields = [*ahead_of(event, latest), *ahead_of(data, latest, "data.")]
        seconds = int(self._skew.total_seconds())
        return [
            f"{field} is in the future (the service's clock says {now:%Y-%m-%dT%H:%M}Z, give "
            f"or take {seconds} seconds): it says when something happened, so it cannot be "
            "later than now"
            for field in fields
        ]

    async def refuse_ahead(self, delivery: Delivery, event: CloudEvent, reasons: list[str]) -> str:
        """Refuse an event from the future: it changes nothing (no state, no council's
        progress, no timer), and the CRM is told which field."""
        self.bind_log_context(delivery)
        structlog.contextvars.bind_contextvars(
            event_id=event.id, event_type=event.type, tenant=event.tenant
        )
        await self._reject(Flow.of(event), reasons)
        telemetry.count(self._service, event.type, "rejected")
        log.warning("event_from_the_future", fields=len(reasons))
        return "rejected"

    async def process(self, delivery: Delivery, keys: Sequence[str] = ()) -> str:
        """Read and apply one delivery; returns the outcome. Raises only if dead-lettering
        failed."""
        try:
            event, data = self.read(delivery)
        except MalformedInput as error:
            return await self.refuse(delivery, error)
        return await self.apply(delivery, event, data, keys)

    async def refuse(self, delivery: Delivery, error: MalformedInput) -> str:
        """Dead-letter a malformed delivery, and tell its producer when it can be named."""
        self.bind_log_context(delivery)
        known = delivery.routing_key if event_type(delivery.routing_key) else "unknown"
        telemetry.count(self._service, known, "dead_lettered")
        await self._dead_letter(delivery, error, error.reasons, attempts=1)
        if error.event_id and error.event_type:
            flow = flow_of_raw(error.raw, error.event_id, error.event_type, self._clock.now())
            await self._reject(flow, error.reasons)
        return "dead_lettered"

    async def apply(
        self,
        delivery: Delivery,
        event: CloudEvent,
        data: Any,
        keys: Sequence[str] = (),
        parked: ParkedEvent | None = None,
    ) -> str:
        """Apply a well-formed event once: park it if it is early, wait out a database
        outage, retry other failures (immediately, then delayed), else dead-letter it.

        Returns "applied", "duplicate", "rejected", "parked", "retrying", "dead_lettered",
        or "abandoned" (the service is stopping: leave the delivery unacknowledged).
        """
        self.bind_log_context(delivery)
        structlog.contextvars.bind_contextvars(
            event_id=event.id,
            event_type=event.type,
            correlationid=event.correlationid,
            tenant=event.tenant,
            conference_id=event.subject,
        )
        attempt = Attempt(delivery, event, self._handlers[event.type], data, list(keys), parked)
        with telemetry.applying(self._service, event):
            try:
                outcome = await self._apply_with_retries(attempt)
            except Abandoned:
                outcome = "abandoned"
        telemetry.count(self._service, event.type, outcome)
        if outcome != "abandoned":
            log.info("event_processed", outcome=outcome)
        return outcome

    async def _apply_with_retries(self, attempt: "Attempt") -> str:
        tries = 0
        while True:
            await self._gate.wait_open()
            try:
                return await self._attempt(attempt)
            except Exception as error:
                if transient(error) and await self._gate.outage(error):
                    continue  # the database is away: wait for it, count nothing
                tries += 1
                if tries < self._max_attempts:
                    delay = self._retry_base * 2 ** (tries - 1)
                    log.warning(
                        "event_retry", attempt=tries, delay_seconds=delay,
                        error_type=type(error).__name__,
                    )  # fmt: skip
                    await asyncio.sleep(delay)
                    continue
                return await self._hand_back(attempt, error, tries)

    async def _attempt(self, attempt: "Attempt") -> str:
        flow = Flow.of(attempt.event)
        try:
            return await self._apply(flow, attempt)
        except RuleViolation as violation:
            await self._reject(flow, violation.reasons)
            return "rejected"
        except NotReadyYet as early:
            return await self._wait_for(flow, attempt, str(early))

    async def _wait_for(self, flow: Flow, attempt: "Attempt", reason: str) -> str:
        """Park an early event, or refuse one that has waited too long."""
        parked = attempt.parked
        if parked is not None:
            waited = (self._clock.now() - parked.parked_at).total_seconds()
            if waited < self._park_expiry:
                return "parked"
            hours = waited / 3600
            await self._reject(flow, [f"waited {hours:.1f} hours for: {reason}"])
            return "rejected"
        await self._park(flow, attempt, reason, parking.EARLY)
        log.info("event_parked")
        return "parked"

    async def _park(self, flow: Flow, attempt: "Attempt", reason: str, kind: str) -> None:
        async with self._engine.begin() as connection:
            await parking.park(
                connection,
                tenant=flow.tenant,
                event_id=flow.event_id,
                event_type=flow.event_type,
                keys=attempt.keys,
                body=attempt.delivery.body,
                delivery=attempt.delivery.stored(),
                reason=reason,
                event_time=flow.time,
                now=self._clock.now(),
                kind=kind,
            )

    async def _apply(self, flow: Flow, attempt: "Attempt") -> str:
        unpark = attempt.parked is not None or RETRIED in attempt.delivery.headers
        outcome = await self.grouping.apply(
            flow, attempt.keys, digest_of_event(attempt.event), attempt.handler, attempt.data,
            unpark=unpark,
        )  # fmt: skip
        if outcome == CONFLICT:
            return await self._refuse_reused(flow)
        if outcome == "applied":
            self._after_commit()
        return outcome

    async def _refuse_reused(self, flow: Flow) -> str:
        reason = f"event id {flow.event_id} was already used for a different event"
        await self._reject(flow, [reason], record=False)
        log.warning("event_id_reused")
        return "rejected"

    async def _reject(
        self,
        flow: Flow,
        reasons: list[str],
        *,
        record: bool = True,
    ) -> None:
        async with self._engine.begin() as connection:
            await parking.remove_event(connection, flow.tenant, flow.event_id)
            if record:
                if await inbox.already_processed(connection, flow.tenant, flow.event_id):
                    return
                await inbox.record_all(connection, [inbox_row(flow, "rejected", self._clock)])
            context = self._context(connection, flow)
            await context.outbox.emit(
                f"{self._service}.input.rejected.v1",
                InputRejected(event_id=flow.event_id, event_type=flow.event_type, reasons=reasons),
                flow.subject,
            )
        self._after_commit()
        log.info("event_rejected", count=len(reasons))

    async def _hand_back(self, attempt: "Attempt", error: BaseException, tries: int) -> str:
        """After the immediate tries: the next delayed retry, or the dead letters."""
        delivery = attempt.delivery
        reasons = safe_reasons(error)
        delayed = int(delivery.headers.get(RETRIED, 0) or 0)
        attempts = int(delivery.headers.get("x-convene-attempts", 0) or 0) + tries
        if attempt.parked is not None:
            return "parked"  # it stays parked; the next try is the next sweep
        flow = Flow.of(attempt.event)
        if delayed < len(self._retry_delays):
            delay = self._retry_delays[delayed]
            # Later events of its conference wait for it, so order holds while it is out.
            await self._park(flow, attempt, "; ".join(reasons), parking.RETRYING)
            await self._dead_letter(
                delivery, error, reasons, attempts,
                queue=retry_queue_name(self._service, delay),
                extra={RETRIED: delayed + 1},
            )  # fmt: skip
            log.warning("event_retry_delayed", delay_seconds=delay, attempts=attempts)
            return "retrying"
        await self._dead_letter(delivery, error, reasons, attempts, extra={RETRIED: delayed})
        async with self._engine.begin() as connection:
            await parking.remove_event(connection, flow.tenant, flow.event_id)
        return "dead_lettered"

    async def _dead_letter(
        self,
        delivery: Delivery,
        error: BaseException,
        reasons: list[str],
        attempts: int,
        *,
        queue: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        sender = self._original_sender(delivery) or ""
        headers = delivery.dead_letter_headers(
            type(error).__name__, reasons, attempts, sender, self._clock.now(), extra or {}
        )
        if self._handback_key is not None:
            headers[handback.SIGNATURE] = handback.signature(
                self._handback_key, delivery.body, delivery.message_id, sender
            )
        await self._dead_letters.dead_letter(
            self._service, delivery.body, delivery.message_id, headers, delivery.message_type,
            queue,
        )  # fmt: skip
        if queue is None:
            log.warning(
                "event_dead_lettered",
                error_type=type(error).__name__,
                attempts=attempts,
                error_fields=reasons[:5] if isinstance(error, MalformedInput) else None,
            )

    def _original_sender(self, delivery: Delivery) -> str | None:
        """Who first sent the message. One the service handed back to its own queue (a
        delayed retry, a replayed dead letter) names its original sender in a header,
        trusted only with a valid signature."""
        if delivery.exchange == dead_letter_exchange(self._service).name:
            return handback.verified_sender(
                self._handback_key, delivery.body, delivery.message_id, delivery.headers
            )
        return delivery.user_id

    def _check_producer(self, event: CloudEvent, delivery: Delivery) -> None:
        if self._producer_users is None:
            return
        expected = self._producer_users.get(event.producer)
        sender = self._original_sender(delivery)
        if sender == expected:
            return
        handed_back = delivery.exchange == dead_letter_exchange(self._service).name
        reason = (
            f"{event.type} came back through {delivery.exchange} without a valid signature"
            if handed_back and sender is None
            else f"{event.type} must be published by broker user {expected!r}, not {sender!r}"
        )
        raise MalformedInput(
            [reason],
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
