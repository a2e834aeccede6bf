"""Broker topology and the broker-facing adapters (publisher, dead letters).

One durable topic exchange per producer (`<producer>.events`, routing key =
event type); per service one durable quorum queue `<service>.incoming` with a
single active consumer, bound to the types it consumes, and beside it
`<service>.incoming.dlq`, reached through the direct exchange `<service>.dlx`.
Delayed retries wait in `<service>.retry.<delay>` queues (a per-queue message TTL)
bound to the same exchange; when the TTL passes, the broker dead-letters the message
back to `<service>.incoming`, so a waiting retry holds no consumer slot.
The CRM reads the services' facts from its own quorum queue `crm.facts`.

Each service declares its own part at start (`declare_service_topology`);
`convene broker setup` declares all of it, so a CRM can bind and publish before
any service has run and nothing it publishes is unroutable.
"""

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import aio_pika
from aiormq.abc import DeliveredMessage
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange
from pamqp import commands

from contracts.envelope import CONTENT_TYPE
from contracts.registry import PRODUCERS
from shared.broker import wire
from shared.messages import Message
from shared.observability import telemetry
from shared.observability.logging import get_logger

log = get_logger(__name__)

CRM_QUEUE = "crm.facts"
"""The CRM's own queue: every fact the three services publish."""

DELIVERY_LIMIT = 20
"""Broker-side safety net: a message redelivered this often (a crash loop) is dead-lettered."""

CRM_DEAD_LETTERS = "crm.facts.dlx"
CRM_DEAD_LETTER_QUEUE = "crm.facts.dlq"
CRM_MAX_LENGTH = 5_000_000
"""Facts `crm.facts` holds while the CRM is away (months of a large council's facts); beyond
that the broker refuses new ones and the services' outboxes keep them until it takes more."""


def crm_queue_arguments() -> dict[str, Any]:
    """`crm.facts`: a quorum queue whose poison messages (a CRM consumer crashing on one
    again and again) go to `crm.facts.dlq`, with a length limit that pushes back."""
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": CRM_DEAD_LETTERS,
        "x-dead-letter-routing-key": CRM_DEAD_LETTER_QUEUE,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-max-length": CRM_MAX_LENGTH,
    }


def producer_exchange(producer: str, *, declare: bool = True) -> RabbitExchange:
    """The exchange a producer (`crm` or a service) publishes its facts to.

    With `declare=False` it must already exist (provisioned from
    deploy/rabbitmq/definitions.json) and is only checked, which needs no
    configure permission.
    """
    return RabbitExchange(
        f"{producer}.events", type=ExchangeType.TOPIC, durable=True, declare=declare
    )


def dead_letter_exchange(service: str, *, declare: bool = True) -> RabbitExchange:
    """The exchange that routes a service's dead letters to its dead letter queue."""
    return RabbitExchange(f"{service}.dlx", type=ExchangeType.DIRECT, durable=True, declare=declare)


def incoming_queue_name(service: str) -> str:
    """The quorum queue a service consumes from."""
    return f"{service}.incoming"


def dead_letter_queue_name(service: str) -> str:
    """The queue beside it that holds what could not be processed."""
    return f"{incoming_queue_name(service)}.dlq"


def incoming_queue_arguments(service: str) -> dict[str, Any]:
    """Quorum queue arguments: dead letters go beside the queue, at least once."""
    return {
        "x-dead-letter-exchange": dead_letter_exchange(service).name,
        "x-dead-letter-routing-key": dead_letter_queue_name(service),
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-delivery-limit": DELIVERY_LIMIT,
        # One replica consumes at a time, so a conference's events are applied in the
        # order they were published; the others take over if it stops.
        "x-single-active-consumer": True,
    }


def retry_queue_name(service: str, delay_seconds: float) -> str:
    """The queue where a delayed retry of `delay_seconds` waits (named by its delay, so
    changing the delays declares new queues rather than clashing with old ones)."""
    return f"{service}.retry.{delay_seconds:g}s"


def retry_queue_arguments(service: str, delay_seconds: float) -> dict[str, Any]:
    """A retry queue: messages expire after the delay and go back to the service's queue."""
    return {
        "x-message-ttl": int(delay_seconds * 1000),
        "x-dead-letter-exchange": dead_letter_exchange(service).name,
        "x-dead-letter-routing-key": incoming_queue_name(service),
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def _declare(
    channel: aio_pika.abc.AbstractChannel,
    service: str,
    event_types: Iterable[str],
    retry_delays: Iterable[float] = (),
) -> None:
    await channel.declare_exchange(f"{service}.events", aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(
        incoming_queue_name(service),
        durable=True,
        arguments={"x-queue-type": "quorum", **incoming_queue_arguments(service)},
    )
    for event_type in event_types:
        producer = event_type.split(".", 1)[0]
        source = await channel.declare_exchange(
            f"{producer}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        await queue.bind(source, routing_key=event_type)
    dlx = await channel.declare_exchange(
        dead_letter_exchange(service).name, aio_pika.ExchangeType.DIRECT, durable=True
    )
    dlq = await channel.declare_queue(
        dead_letter_queue_name(service), durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dlq.bind(dlx, routing_key=dead_letter_queue_name(service))
    # Replayed dead letters and expired delayed retries come back through the same exchange.
    await queue.bind(dlx, routing_key=incoming_queue_name(service))
    for delay in retry_delays:
        name = retry_queue_name(service, delay)
        retry = await channel.declare_queue(
            name,
            durable=True,
            arguments={"x-queue-type": "quorum", **retry_queue_arguments(service, delay)},
        )
        await retry.bind(dlx, routing_key=name)


async def declare_service_topology(
    url: str, service: str, event_types: Iterable[str], retry_delays: Iterable[float] = ()
) -> None:
    """Declare a service's own exchange, its queue with its bindings, its dead letters and
    its delayed-retry queues; and the CRM's `crm.facts`, bound to this service's exchange,
    so that a CRM following the contract finds its queue once any service has run."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await _declare(channel, service, event_types, retry_delays)
        await _declare_crm_queue(channel, [service])


async def declare_all(
    url: str, services: dict[str, list[str]], retry_delays: Iterable[float] = ()
) -> None:
    """Declare every exchange and queue, the CRM's `crm.facts` queue included."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for producer in PRODUCERS:
            await channel.declare_exchange(
                f"{producer}.events", aio_pika.ExchangeType.TOPIC, durable=True
            )
        delays = list(retry_delays)
        for service, event_types in services.items():
            await _declare(channel, service, event_types, delays)
        await _declare_crm_queue(channel, list(services))


async def _declare_crm_queue(channel: aio_pika.abc.AbstractChannel, services: list[str]) -> None:
    """The CRM's `crm.facts` (with its dead letters), bound to these services' exchanges."""
    dead = await channel.declare_exchange(
        CRM_DEAD_LETTERS, aio_pika.ExchangeType.DIRECT, durable=True
    )
    parked = await channel.declare_queue(
        CRM_DEAD_LETTER_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await parked.bind(dead, routing_key=CRM_DEAD_LETTER_QUEUE)
    facts = await channel.declare_queue(CRM_QUEUE, durable=True, arguments=crm_queue_arguments())
    for service in services:
        await facts.bind(f"{service}.events", routing_key="#")


def _unroutable(message: Message, returned: DeliveredMessage) -> None:
    """The broker took a fact no queue is bound for (`crm.facts` missing: the topology was
    not set up): said, since nobody will read it."""
    frame = returned.delivery
    log.warning(
        "outbox_fact_unroutable",
        event_id=message.message_id,
        exchange=message.exchange,
        routing_key=message.routing_key,
        broker_reply_code=getattr(frame, "reply_code", None),
        broker_reply_text=getattr(frame, "reply_text", None),
    )


def broker_user(amqp_url: str) -> str | None:
    """The user a connection authenticates as; RabbitMQ checks `user_id` against it."""
    return urlsplit(amqp_url).username or None


class BrokerPublisher:
    """Publishes CloudEvents persistently, with publisher confirms and `user_id` set.

    Facts leave in batches as one write on FastStream's publishing channel (`shared.broker.wire`),
    each confirmed by the broker; on FastStream's in-memory test broker (`batched=False`)
    each goes through FastStream, which routes it to the subscribers in memory."""

    def __init__(self, broker: RabbitBroker, user_id: str | None, *, batched: bool = True) -> None:
        self._broker = broker
        self._user_id = user_id
        self._batched = batched
        self._exchanges: dict[str, RabbitExchange] = {}
        self._ready: set[str] = set()

    def _exchange(self, name: str) -> RabbitExchange:
        # Declared at start (or provisioned): publishing never needs to configure.
        if name not in self._exchanges:
            self._exchanges[name] = RabbitExchange(
                name, type=ExchangeType.TOPIC, durable=True, declare=False
            )
        return self._exchanges[name]

    async def prepare(self, exchanges: Iterable[str]) -> None:
        """Make sure the exchanges exist (once each) before publishing to them: publishing to
        one that does not would close the channel."""
        for name in exchanges:
            if name not in self._ready:
                await self._broker.declare_exchange(self._exchange(name))
                self._ready.add(name)

    async def publish_all(self, messages: Sequence[Message]) -> list[BaseException | None]:
        """Publish in order; for each message, None once the broker has taken it, or why it
        did not (a negative confirm, the channel closed)."""
        if not self._batched:
            return list(
                await asyncio.gather(*map(self._publish_one, messages), return_exceptions=True)
            )
        channel = await self._broker.config.channel_manager.get_channel()
        underlay = await channel.get_underlay_channel()
        traced = telemetry.tracing_installed()
        spans = [
            telemetry.publishing(m.exchange, m.routing_key, m.message_id, m.body)
            if traced
            else None
            for m in messages
        ]
        answers = await wire.publish(
            underlay,
            [
                wire.Outgoing(m.exchange, m.routing_key, m.body, self._properties(m, span))
                for m, span in zip(messages, spans, strict=True)
            ],
        )
        results: list[BaseException | None] = []
        for message, answer, span in zip(messages, answers, spans, strict=True):
            failed = answer if isinstance(answer, BaseException) else None
            if isinstance(answer, DeliveredMessage):  # taken, but no queue is bound for it
                _unroutable(message, answer)
            if span is not None:
                telemetry.published(span[0], failed)
            results.append(failed)
        return results

    def _properties(
        self, message: Message, span: tuple[Any, dict[str, str]] | None
    ) -> commands.Basic.Properties:
        """The contract's AMQP properties (and the trace's headers when tracing)."""
        return commands.Basic.Properties(
            content_type=CONTENT_TYPE,
            delivery_mode=2,  # persistent
            message_id=message.message_id,
            message_type=message.routing_key,
            user_id=self._user_id,
            headers=dict(span[1]) if span is not None else None,
        )

    async def _publish_one(self, message: Message) -> None:
        await self._broker.publish(
            message.body,
            exchange=self._exchange(message.exchange),
            routing_key=message.routing_key,
            persist=True,
            message_id=message.message_id,
            message_type=message.routing_key,
            content_type=CONTENT_TYPE,
            user_id=self._user_id,
        )

    async def renew(self) -> None:
        """Close the publishing channel and open it again: the same channel object for
        FastStream (its exchanges keep working), a new channel on the broker."""
        channel = await self._broker.config.channel_manager.get_channel()
        with contextlib.suppress(Exception):  # already closed: reopening is all there is
            underlay = await channel.get_underlay_channel()
            await underlay.close()
        await channel.reopen()

    async def dead_letter(
        self,
        service: str,
        body: bytes,
        message_id: str | None,
        headers: dict[str, Any],
        message_type: str | None = None,
        queue: str | None = None,
    ) -> None:
        """Put a message on the service's dead letter queue (or, with `queue`, one of its
        retry queues) with the reason in its headers."""
        await self._broker.publish(
            body,
            exchange=dead_letter_exchange(service, declare=False),
            routing_key=queue or dead_letter_queue_name(service),
            persist=True,
            message_id=message_id,
            message_type=message_type,
            content_type=CONTENT_TYPE,
            headers=headers,
        )
