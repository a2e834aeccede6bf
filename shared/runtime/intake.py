"""Taking deliveries from the service's queue: each delivery read once, in queue order,
queued behind its ordering keys, applied, settled (acknowledged in one write with the
others settled in the same turn) and, once applied, what waited on it tried again."""

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING, cast

import aiormq
from faststream import AckPolicy
from faststream.rabbit import Channel, QueueType, RabbitQueue, RabbitRouter
from faststream.rabbit.message import RabbitMessage

from shared.application.consumer import Consumer
from shared.application.delivery import Delivery
from shared.application.ordering import Arrivals, DeliveryOrder, Progress, Sequencer
from shared.broker.topology import (
    incoming_queue_arguments,
    incoming_queue_name,
    producer_exchange,
)
from shared.broker.wire import Acknowledgements
from shared.messages import MalformedInput
from shared.observability.logging import get_logger
from shared.runtime.definition import ServiceDefinition
from shared.runtime.scheduler import TimerScheduler
from shared.runtime.settings import Settings
from shared.runtime.waiting import WaitingEvents

if TYPE_CHECKING:
    from faststream.rabbit.schemas.queue import QuorumQueueArgs

log = get_logger(__name__)


class Intake:
    """The service's consumer of its queue (mixed into `ServiceRuntime`, which sets these)."""

    definition: ServiceDefinition
    settings: Settings
    consumer: Consumer | None
    scheduler: TimerScheduler | None
    progress: Progress
    sequencer: Sequencer
    waiting: WaitingEvents
    _order: DeliveryOrder[RabbitMessage]
    _arrivals: Arrivals
    _in_memory: bool
    _consuming_on: aiormq.abc.AbstractChannel | None
    _marking: asyncio.Task[None] | None
    _acks: Acknowledgements
    _accepting: bool
    _took_deliveries: bool
    _sweep_now: asyncio.Event

    @property
    def name(self) -> str:
        """The service's name."""
        return self.definition.name

    def router(self, *, in_memory: bool = False) -> RabbitRouter:
        """The service's one consumer of its queue (bound to every type it consumes).

        In memory there are no queues to bind, so each type gets its own subscriber;
        FastStream's test broker calls them in publish order.
        """
        self._in_memory = in_memory
        router = RabbitRouter()
        channel = Channel(prefetch_count=self.settings.prefetch)
        if in_memory:
            for binding in self.definition.bindings:
                producer = binding.event_type.split(".", 1)[0]
                router.subscriber(
                    RabbitQueue(incoming_queue_name(self.name), routing_key=binding.event_type),
                    producer_exchange(producer),
                    ack_policy=AckPolicy.MANUAL,
                    title=f"{self.name}:{binding.event_type}",
                    description=binding.description,
                )(self._on_message)
            return router
        router.subscriber(
            RabbitQueue(
                incoming_queue_name(self.name),
                queue_type=QueueType.QUORUM,
                durable=True,
                arguments=cast("QuorumQueueArgs", incoming_queue_arguments(self.name)),
                declare=False,  # declared with its bindings in prepare(), or provisioned
            ),
            ack_policy=AckPolicy.MANUAL,
            channel=channel,
            title=f"{self.name}.incoming",
            description="; ".join(
                f"{b.event_type}: {b.description}" for b in self.definition.bindings
            ),
        )(self._on_message)
        return router

    async def _on_message(self, message: RabbitMessage) -> None:
        if self.consumer is None:  # not started: let the broker hold the message
            await message.nack(requeue=True)
            return
        if not self._accepting:  # stopping: left unacknowledged, it returns to the queue
            return
        raw = message.raw_message
        if self._in_memory:
            self._release(message)
        else:
            if raw.channel is not self._consuming_on:  # the first delivery on this channel
                self._consuming_on = raw.channel
                self._marking = asyncio.create_task(self._take_mark())
                self._arrivals.watch(raw.channel, raw.consumer_tag)  # a channel opened again
            self._arrivals.taken(raw.channel, raw.delivery_tag or 0)
            self._order.arrive(raw.channel, raw.delivery_tag or 0, message)

    def _release(self, message: RabbitMessage) -> None:
        """Take a delivery in queue order: read it once and queue it behind its keys."""
        assert self.consumer is not None
        if not self._accepting:  # stopping: left unacknowledged, it returns to the queue
            return
        if not self._took_deliveries:  # taking over: what waits is in the database
            self._took_deliveries = True
            self.waiting.forget()
            self._sweep_now.set()
        raw = message.raw_message
        delivery = Delivery(
            body=raw.body,
            exchange=raw.exchange or "",
            routing_key=raw.routing_key or "",
            message_id=raw.message_id,
            user_id=raw.user_id,
            queue=incoming_queue_name(self.name),
            headers=dict(raw.headers or {}),
            message_type=raw.type,
        )
        consumer = self.consumer
        try:
            event, data = consumer.read(delivery)
        except MalformedInput as error:
            refusal = consumer.refuse(delivery, error)

            async def settle_refusal() -> None:
                await self._settle(message, refusal)

            self.sequencer.submit([f"malformed|{raw.delivery_tag}"], settle_refusal)
            return
        tenant, at = event.tenant, event.time
        keys = [f"{tenant}|{key}" for key in self.definition.ordering_keys(event, data)]
        ahead = consumer.ahead_of_clock(event, data)
        if ahead:  # refused in its turn; it moves nothing, not even the council's progress
            refusal = consumer.refuse_ahead(delivery, event, ahead)

            async def settle_ahead() -> None:
                await self._settle(message, refusal)

            self.sequencer.submit([*keys, f"{tenant}|event|{event.id}"], settle_ahead)
            return
        self.progress.started(tenant, at)

        async def work() -> None:
            outcome = "failed"
            try:
                outcome = await self._settle(message, consumer.apply(delivery, event, data, keys))
                if outcome == "parked":
                    self.waiting.parked(keys)
                await self.waiting.after(outcome, tenant, keys)
            finally:
                self.progress.finished(tenant, at, done=outcome not in ("abandoned", "failed"))

        # Deliveries sharing an event id go in arrival order too, whatever their conference:
        # the first published is the one applied, a later reuse of its id the one refused.
        self.sequencer.submit([*keys, f"{tenant}|event|{event.id}"], work)

    async def _settle(self, message: RabbitMessage, outcome: Awaitable[str]) -> str:
        try:
            result = await outcome
        except Exception as error:  # dead-lettering itself failed: keep the message
            log.error("delivery_not_processed", error_type=type(error).__name__)
            with contextlib.suppress(Exception):  # a closed channel returns it anyway
                await message.nack(requeue=True)
            return "failed"
        if result == "abandoned":  # stopping: left unacknowledged, it returns to the queue
            return result
        try:
            if self._in_memory:
                await message.ack()
            else:  # with the others settled in this turn, in one write
                raw = message.raw_message
                await self._acks.ack(raw.channel, raw.delivery_tag or 0)
        except Exception as error:  # the channel closed: it is redelivered, the inbox knows it
            log.warning("ack_failed", error_type=type(error).__name__)
        return result

    async def _take_mark(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.take_mark()
