"""Running a service: its database, ordered consumer, outbox relay and timer scheduler.

A service is described by a `ServiceDefinition` (bindings, handlers, timer rules,
ordering keys, migrations); `ServiceRuntime` wires it to a FastStream broker. One
broker can carry one service (`convene run reports`) or all three
(`convene run all`, the demo).

Order: the service's queue has a single active consumer (other replicas stand by
and take over when it stops). Deliveries are taken in delivery-tag order and run
through a `Sequencer`: events sharing an ordering key (by default the council and
the conference) are applied one at a time in the order the CRM published them,
while other conferences run concurrently, up to `CONVENE_PREFETCH` in flight.
"""

import asyncio
import contextlib
import functools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import aiormq
import sqlalchemy as sa
from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.message import RabbitMessage
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rules.calendar import WorkingDayCalendar
from rules.effects import Timer
from rules.policy import PolicyBook
from shared.application.availability import DatabaseGate
from shared.application.consumer import Consumer
from shared.application.handling import Flow, HandlerContext
from shared.application.ordering import Arrivals, DeliveryOrder, Progress, Sequencer
from shared.broker.topology import (
    BrokerPublisher,
    broker_user,
    incoming_queue_name,
)
from shared.broker.wire import Acknowledgements
from shared.clock import Clock, SystemClock
from shared.observability import telemetry
from shared.observability.logging import get_logger
from shared.runtime.definition import ServiceDefinition
from shared.runtime.intake import Intake
from shared.runtime.problems import Problem, broker_problem, where
from shared.runtime.relay import OutboxRelay
from shared.runtime.scheduler import TimerScheduler, save_progress
from shared.runtime.settings import Settings
from shared.runtime.upgrades import Bindings, EarlierRefusals, pending_queue_name, settle_release
from shared.runtime.waiting import WaitingEvents
from shared.store import retention, timers
from shared.store.backlog import measure_backlog
from shared.store.db import LaterRelease, create_engine, migrate
from shared.store.locks import ReplicaMark
from shared.store.outbox import OutboxWriter, notify_channel
from shared.store.retention import Retention

if TYPE_CHECKING:
    pass

log = get_logger(__name__)


def _reason(error: BaseException) -> str:
    """What the database said, on one line (a missing database, a refused user), else the
    kind of failure."""
    said = str(getattr(error, "orig", None) or "").split("\n", 1)[0].strip()
    if said:
        return said.split(") ", 1)[-1] if said.startswith("(") else said
    return type(error).__name__


BACKLOG_ASK_SECONDS = 5.0
"""How long to wait for the broker to say how many messages wait in the queue."""


class ServiceRuntime(Intake):
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
            settings.database_url_for(definition.name),
            settings.schema_for(definition.name),
            settings.sqlite_synchronous,
            settings.db_pool_size,
        )
        self.relay: OutboxRelay | None = None
        self.scheduler: TimerScheduler | None = None
        self.consumer: Consumer | None = None
        self.progress = Progress()
        self.sequencer = Sequencer()
        self._order: DeliveryOrder[RabbitMessage] = DeliveryOrder(self._release)
        self._arrivals = Arrivals()
        self._in_memory = False
        self._consuming_on: aiormq.abc.AbstractChannel | None = None
        """The channel this replica last took a delivery on."""
        self._marking: asyncio.Task[None] | None = None
        self._acks = Acknowledgements()
        self._accepting = True
        self._councils_on_record: set[str] = set()
        self.gate = DatabaseGate(self.engine, settings.outage_probe_seconds)
        self._took_deliveries = False
        self._sweeper: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._measurer: asyncio.Task[None] | None = None
        self.retention = Retention.of(
            settings.retention_days, max(settings.retry_delay_list(), default=0.0)
        )
        self.waiting = WaitingEvents(
            self.engine, lambda: self.consumer, self.sequencer, self.clock,
            settings.park_expiry_seconds,
        )  # fmt: skip
        self._sweep_now = asyncio.Event()
        self.earlier_refusals: EarlierRefusals | None = None
        self.bindings: Bindings | None = None
        """Set when the service runs on a broker (not in memory)."""
        self._winding_down = asyncio.Event()

    async def _sweep_parked(self) -> None:
        """Now and then, try every waiting event (and refuse those waiting too long)."""
        while not self._winding_down.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sweep_now.wait(), self.settings.park_retry_seconds)
            self._sweep_now.clear()
            if not self._accepting:
                continue
            try:
                await settle_release(self.bindings, self.earlier_refusals, self._took_deliveries)
            except Exception as error:  # tried again at the next sweep
                log.warning("release_settling_failed", error_type=type(error).__name__)
            if not self._took_deliveries:
                continue  # a standby: the consuming replica sweeps
            try:
                await self.waiting.sweep()
            except Exception as error:
                log.warning("parked_sweep_failed", error_type=type(error).__name__)

    async def _prune(self) -> None:
        """Now and then, delete what is past retention (the leading relay's replica only)."""
        while not await self._pause(self.settings.prune_seconds):
            if self.relay is None or not self.relay.leading:
                continue
            try:
                await retention.prune(
                    self.engine, self.clock.now(), self.retention, self.settings.prune_batch
                )
            except Exception as error:
                log.warning("prune_failed", error_type=type(error).__name__)

    async def prepare(self, broker: RabbitBroker, *, in_memory: bool = False) -> None:
        """Migrate the database, declare the topology, build consumer, relay and scheduler."""
        database = self.settings.database_url_for(self.name)
        try:
            await migrate(
                self.engine, self.settings.schema_for(self.name), self.definition.migrations
            )
        except (OSError, TimeoutError, sa.exc.DBAPIError) as error:
            raise Problem(
                f"cannot reach the database of {self.name} at {where(database)} "
                f"(DATABASE_URL or {self.name.upper()}_DATABASE_URL): {_reason(error)}"
            ) from None
        except LaterRelease as error:
            raise Problem(f"the database of {self.name} at {where(database)}: {error}") from None
        if not in_memory and self.settings.declare_topology:
            key = self.settings.handback_key
            self.bindings = Bindings(
                self.settings.amqp_url, self.definition, self.settings.retry_delay_list(),
                key.get_secret_value().encode() if key else None,
            )  # fmt: skip
            try:
                await self.bindings.declare()
            except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as error:
                raise broker_problem(self.settings.amqp_url, error) from error
        publisher = BrokerPublisher(
            broker, broker_user(self.settings.amqp_url), batched=not in_memory
        )
        self.relay = OutboxRelay(
            self.engine,
            publisher,
            self.clock,
            self.settings.outbox_poll_seconds,
            self.settings.outbox_batch,
            notify_channel(self.settings.schema_for(self.name)),
        )
        self.consumer = Consumer(
            service=self.name,
            engine=self.engine,
            handlers={b.event_type: b.handler for b in self.definition.bindings},
            context=self.context,
            dead_letters=publisher,
            clock=self.clock,
            after_commit=self.relay.wake,
            gate=self.gate,
            max_attempts=self.settings.max_attempts,
            retry_base_seconds=self.settings.retry_base_seconds,
            retry_delays=self.settings.retry_delay_list(),
            handback_key=(
                self.settings.handback_key.get_secret_value().encode()
                if self.settings.handback_key
                else None
            ),
            park_expiry_seconds=self.settings.park_expiry_seconds,
            producer_users=(
                self.settings.producer_user_map() if self.settings.verify_producers else None
            ),
            in_transaction=self._record_progress,
            group_size=self.settings.group_commit,
            max_clock_skew_seconds=self.settings.max_clock_skew_seconds,
        )
        self.scheduler = TimerScheduler(
            self.engine,
            self._fire_timer,
            self.clock,
            self.progress,
            self.settings.timer_poll_seconds,
            self.settings.timer_quiet_seconds,
            after_fire=self.relay.wake,
            backlog=None if in_memory else functools.partial(self._backlog, broker),
            hold_seconds=self.settings.timer_hold_seconds,
            consuming=self.consuming,
            # Named by the service's schema: replicas of other deployments in one database
            # (another schema prefix) hold marks of their own.
            mark=None
            if in_memory
            else ReplicaMark(self.engine, f"{self.settings.schema_for(self.name)}-consuming"),
        )

    def consuming(self) -> bool:
        """True while this replica consumes the service's queue: it has taken deliveries on
        a channel still open (a standby has taken none; once the channel closes, what it
        had not started is back in the queue and it consumes no more)."""
        channel = self._consuming_on
        return channel is not None and not channel.is_closed

    async def _backlog(self, broker: RabbitBroker) -> int:
        """Messages waiting in the service's queue (not yet delivered to any replica), and
        deliveries here not yet counted as in flight: read by the client and not yet taken,
        or waiting for an earlier one."""

        async def declared() -> int:
            names = [incoming_queue_name(self.name)]
            if self.bindings is not None and not self.bindings.settled:
                names.append(pending_queue_name(self.name))  # held back for this release
            counts = [
                (await (await broker.declare_queue(RabbitQueue(n, declare=False))).declare())
                for n in names
            ]
            return sum(int(count.message_count or 0) for count in counts)

        # bounded: with the broker away the client waits to reconnect for ever, and a
        # scheduler waiting here could neither be stopped nor judge anything meanwhile
        waiting = await asyncio.wait_for(declared(), BACKLOG_ASK_SECONDS)
        return waiting + self._arrivals.waiting + self._order.held

    async def _record_progress(self, connection: AsyncConnection, flow: Flow) -> None:
        """A council seen for the first time by this replica gets its progress row now."""
        if flow.tenant not in self._councils_on_record:
            through = self.progress.through(flow.tenant)  # this event is among those in flight
            earliest = flow.time - timedelta(microseconds=1)
            await timers.ensure_progress(
                connection, flow.tenant, min(through, earliest) if through else earliest
            )
            self._councils_on_record.add(flow.tenant)

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
            # Another replica's relay leads: wake it at this commit.
            notify=None if self.relay is None or self.relay.leading else self.relay.channel,
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
            timer_rules=self.definition.timer_rules,
        )

    async def _fire_timer(self, timer: Timer) -> None:
        """Fire a timer the scheduler found due, on its aggregate (locked), applied as any
        delivery is: in a group."""
        assert self.consumer is not None, "prepare() first"
        with telemetry.firing(self.name, timer):
            await self.consumer.grouping.fire(timer, self.definition.timer_rules.get(timer.kind))
        log.info("timer_fired", timer_id=timer.timer_id, timer_kind=timer.kind)

    async def start_background(self, broker: RabbitBroker, *, in_memory: bool = False) -> None:
        """Start the relay and the scheduler."""
        assert self.relay is not None and self.scheduler is not None, "prepare() first"
        if not in_memory:
            await self._watch_arrivals(broker)
            key = self.settings.handback_key
            self.earlier_refusals = EarlierRefusals(
                self.settings.amqp_url, self.name, set(self.definition.event_types),
                key.get_secret_value().encode() if key else None,
            )  # fmt: skip
        self.relay.start()
        self.relay.wake()
        self.scheduler.start()
        self._sweeper = asyncio.create_task(self._sweep_parked(), name="parked-sweep")
        self._pruner = asyncio.create_task(self._prune(), name="retention-pruner")
        self._measurer = asyncio.create_task(self._measure(), name="backlog-metrics")
        log.info("service_started", service=self.name, database=self.engine.dialect.name)

    async def _watch_arrivals(self, broker: RabbitBroker) -> None:
        """Count deliveries from the moment the client reads them, from the first (the
        consuming channel opened again later is watched at its first delivery)."""
        for subscriber in broker.subscribers:
            queue = getattr(subscriber, "_queue_obj", None)  # FastStream's aio-pika queue
            tag = getattr(subscriber, "_consumer_tag", None)
            if queue is None or tag is None or queue.name != incoming_queue_name(self.name):
                continue
            with contextlib.suppress(Exception):  # not consuming yet: watched at the first
                self._arrivals.watch(await queue.channel.get_underlay_channel(), tag)

    async def migrated(self) -> bool:
        """True once the database's migrations are done (prepare() has run)."""
        return self.consumer is not None

    async def _measure(self) -> None:
        """Keep the backlog gauges (outbox, timers, waiting events) fresh for /metrics."""
        while not self._winding_down.is_set():
            with contextlib.suppress(Exception):  # a metric is never worth a failure
                await measure_backlog(self.name, self.engine, datetime.now(UTC))
            await self._pause(self.settings.metrics_seconds)

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the service is stopping; True when it is."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._winding_down.wait(), seconds)
        return self._winding_down.is_set()

    async def database_reachable(self) -> bool:
        """True when the service's database answers and deliveries are not paused for it."""
        if not self.gate.is_open:
            return False
        async with self.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
        return True

    async def finish(self) -> None:
        """Take no more deliveries and finish those in flight (the consumer stays attached
        meanwhile: a standby must not start on a conference's later events first)."""
        self._accepting = False
        # Background tasks finish what they are doing (never cancelled in the middle of a
        # database call: a connection cut off there may never return to the pool).
        self._winding_down.set()
        self._sweep_now.set()
        for task in (self._sweeper, self._pruner, self._measurer):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
        await self.gate.stop()  # deliveries waiting out an outage return to the queue
        await self.sequencer.drain()
        if self.consumer is not None:
            await self.consumer.grouping.drain()

    async def stop(self) -> None:
        """Once what it had received but not started is back in the queue (its consumer
        closed): stop timers, say how far each council got (and that it was active just
        now, so no replica takes it for quiet before it has taken those deliveries), give
        the consuming mark up, flush the outbox, close the database."""
        await self.finish()
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.progress.handed_over()
            with contextlib.suppress(Exception):  # best effort: the next replica catches up
                await save_progress(self.engine, self.progress)
            with contextlib.suppress(Exception):
                await self.scheduler.close()
        if self.relay is not None:
            await self.relay.stop()
        await self.engine.dispose()
        log.info("service_stopped", service=self.name)
