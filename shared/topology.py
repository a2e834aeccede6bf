"""Broker topology and the broker-facing adapters (publisher, dead letters).

One durable topic exchange per producer (`<producer>.events`, routing key =
event type); per service one durable quorum queue `<service>.incoming` bound
to the types it consumes, and beside it `<service>.incoming.dlq`, reached
through the direct exchange `<service>.dlx`.
"""

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from contracts.envelope import CONTENT_TYPE

if TYPE_CHECKING:
    from faststream.rabbit.schemas.queue import QuorumQueueArgs

DELIVERY_LIMIT = 20
"""Broker-side safety net: a message redelivered this often (a crash loop) is dead-lettered."""


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
    }


def incoming_queue(service: str, routing_key: str, *, declare: bool = True) -> RabbitQueue:
    """The service's queue, as bound to one routing key (bound only when declared)."""
    return RabbitQueue(
        incoming_queue_name(service),
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=routing_key,
        arguments=cast("QuorumQueueArgs", incoming_queue_arguments(service)),
        declare=declare,
    )


def dead_letter_queue(service: str) -> RabbitQueue:
    """The service's dead letter queue."""
    return RabbitQueue(dead_letter_queue_name(service), queue_type=QueueType.QUORUM, durable=True)


async def declare_dead_letters(broker: RabbitBroker, service: str) -> None:
    """Declare the dead letter exchange and queue, and the way back for replays."""
    exchange = await broker.declare_exchange(dead_letter_exchange(service))
    queue = await broker.declare_queue(dead_letter_queue(service))
    await queue.bind(exchange, routing_key=dead_letter_queue_name(service))
    # Replayed dead letters come back through the same exchange.
    incoming = await broker.declare_queue(incoming_queue(service, ""))
    await incoming.bind(exchange, routing_key=incoming_queue_name(service))


def broker_user(amqp_url: str) -> str | None:
    """The user a connection authenticates as; RabbitMQ checks `user_id` against it."""
    return urlsplit(amqp_url).username or None


class BrokerPublisher:
    """Publishes CloudEvents persistently, with publisher confirms and `user_id` set."""

    def __init__(self, broker: RabbitBroker, user_id: str | None, declare: bool = True) -> None:
        self._broker = broker
        self._user_id = user_id
        self._declare = declare

    async def publish(
        self, *, exchange: str, routing_key: str, body: bytes, message_id: str
    ) -> None:
        """Publish one event to a topic exchange and wait for the broker's confirm."""
        await self._broker.publish(
            body,
            exchange=RabbitExchange(
                exchange, type=ExchangeType.TOPIC, durable=True, declare=self._declare
            ),
            routing_key=routing_key,
            persist=True,
            message_id=message_id,
            message_type=routing_key,
            content_type=CONTENT_TYPE,
            user_id=self._user_id,
        )

    async def dead_letter(
        self,
        service: str,
        body: bytes,
        message_id: str | None,
        headers: dict[str, Any],
        message_type: str | None = None,
    ) -> None:
        """Put a message on the service's dead letter queue with the reason in its headers."""
        await self._broker.publish(
            body,
            exchange=dead_letter_exchange(service, declare=self._declare),
            routing_key=dead_letter_queue_name(service),
            persist=True,
            message_id=message_id,
            message_type=message_type,
            content_type=CONTENT_TYPE,
            headers=headers,
        )
