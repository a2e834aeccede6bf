"""Running a service: its database, consumer, outbox relay and timer scheduler.

A service is described by a `ServiceDefinition` (bindings, handlers, timer
handlers, migrations); `ServiceRuntime` wires it to a FastStream broker. One
broker can carry one service (`convene run reports`) or all three
(`convene run all`, the demo).
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitRouter
from faststream.rabbit.annotations import RabbitMessage
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.calendar import WorkingDayCalendar
from shared.clock import Clock, SystemClock
from shared.consumer import Consumer, Delivery, Flow, MessageHandler
from shared.db import create_engine, migrate
from shared.handling import HandlerContext
from shared.logging import get_logger
from shared.outbox import OutboxRelay, OutboxWriter
from shared.policy import PolicyBook
from shared.settings import Settings
from shared.timers import Timer, TimerScheduler
from shared.topology import (
    BrokerPublisher,
    broker_user,
    declare_dead_letters,
    incoming_queue,
    producer_exchange,
)

log = get_logger(__name__)

TimerHandler = Callable[[HandlerContext, Timer], Awaitable[None]]


@dataclass(frozen=True)
class Binding:
    """One event type a service consumes, and what it does with it (for AsyncAPI)."""

    event_type: str
    handler: MessageHandler
    description: str


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything that makes one service what it is."""

    name: str
    migrations: Path
    bindings: Sequence[Binding]
    timer_handlers: Mapping[str, TimerHandler] = field(default_factory=dict)


class ServiceRuntime:
    """One service's moving parts, started and stopped together."""

    def __init__(
        self,
        definition: ServiceDefinition,
        settings: Settings,
        clock: Clock | None = None,
        calendar: WorkingDayCalendar | None = None,
    ) -> None:
        self.definition = definition
        self.settings = settings
        self.clock = clock or SystemClock()
        self.calendar = calendar or WorkingDayCalendar()
        self.policies = PolicyBook.build(settings.policy, settings.tenant_policy_map())
        self.engine: AsyncEngine = create_engine(
            settings.database_url_for(definition.name), settings.schema_for(definition.name)
        )
        self.relay: OutboxRelay | None = None
        self.scheduler: TimerScheduler | None = None
        self.consumer: Consumer | None = None

    @property
    def name(self) -> str:
        """The service's name."""
        return self.definition.name

    def router(self) -> RabbitRouter:
        """The FastStream subscribers: one per bound event type, all on the service's queue."""
        router = RabbitRouter()
        channel = Channel(prefetch_count=self.settings.prefetch)
        for binding in self.definition.bindings:
            producer = binding.event_type.split(".", 1)[0]
            declare = self.settings.declare_topology
            router.subscriber(
                incoming_queue(self.name, binding.event_type, declare=declare),
                producer_exchange(producer, declare=declare),
                ack_policy=AckPolicy.MANUAL,
                channel=channel,
                title=f"{self.name}:{binding.event_type}",
                description=binding.description,
            )(self._on_message)
        return router

    async def _on_message(self, message: RabbitMessage) -> None:
        raw = message.raw_message
        if self.consumer is None:  # not started: let the broker hold the message
            await message.nack(requeue=True)
            return
        delivery = Delivery(
            body=raw.body,
            exchange=raw.exchange or "",
            routing_key=raw.routing_key or "",
            message_id=raw.message_id,
            user_id=raw.user_id,
            queue=f"{self.name}.incoming",
            headers=dict(raw.headers or {}),
            message_type=raw.type,
        )
        try:
            await self.consumer.process(delivery)
        except Exception as error:  # dead-lettering itself failed: keep the message
            log.error("delivery_not_processed", error_type=type(error).__name__)
            await message.nack(requeue=True)
        else:
            await message.ack()

    async def prepare(self, broker: RabbitBroker) -> None:
        """Migrate the database and build the consumer, relay and scheduler."""
        await migrate(self.engine, self.settings.schema_for(self.name), self.definition.migrations)
        publisher = BrokerPublisher(
            broker, broker_user(self.settings.amqp_url), self.settings.declare_topology
        )
        self.relay = OutboxRelay(
            self.engine, publisher, self.clock, self.settings.outbox_poll_seconds
        )
        self.consumer = Consumer(
            service=self.name,
            engine=self.engine,
            handlers={b.event_type: b.handler for b in self.definition.bindings},
            context=self.context,
            dead_letters=publisher,
            clock=self.clock,
            after_commit=self.relay.wake,
            max_attempts=self.settings.max_attempts,
            retry_base_seconds=self.settings.retry_base_seconds,
            producer_users=(
                self.settings.producer_user_map() if self.settings.verify_producers else None
            ),
        )
        self.scheduler = TimerScheduler(
            self.engine,
            {kind: self._timer_action(h) for kind, h in self.definition.timer_handlers.items()},
            self.clock,
            self.settings.timer_poll_seconds,
            after_fire=self.relay.wake,
        )

    def context(self, connection: AsyncConnection, flow: Flow) -> HandlerContext:
        """The tools a handler gets for one transaction."""
        writer = OutboxWriter(
            connection,
            self.clock,
            self.name,
            flow.tenant,
            flow.correlationid,
            flow.event_id,
            flow.time,
        )
        return HandlerContext(
            connection=connection,
            outbox=writer,
            policy=self.policies.for_tenant(flow.tenant),
            calendar=self.calendar,
            clock=self.clock,
            tenant=flow.tenant,
            event_id=flow.event_id,
            event_time=flow.time,
        )

    def _timer_action(
        self, handler: TimerHandler
    ) -> Callable[[AsyncConnection, Timer], Awaitable[None]]:
        async def action(connection: AsyncConnection, timer: Timer) -> None:
            flow = Flow(
                timer.timer_id,
                f"timer:{timer.kind}",
                timer.tenant,
                timer.subject,
                timer.correlationid,
                timer.due_at,
            )
            await handler(self.context(connection, flow), timer)

        return action

    async def start_background(self, broker: RabbitBroker, *, in_memory: bool = False) -> None:
        """Declare the dead letter queue and start the relay and the scheduler."""
        if not in_memory and self.settings.declare_topology:
            await declare_dead_letters(broker, self.name)
        assert self.relay is not None and self.scheduler is not None, "prepare() first"
        self.relay.start()
        self.relay.wake()
        self.scheduler.start()
        log.info("service_started", service=self.name, database=self.engine.dialect.name)

    async def database_reachable(self) -> bool:
        """True when the service's database answers."""
        async with self.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
        return True

    async def stop(self) -> None:
        """Stop timers, flush the outbox, close the database."""
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.relay is not None:
            await self.relay.stop()
        await self.engine.dispose()
        log.info("service_stopped", service=self.name)
