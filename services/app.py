"""Starting and stopping services on a broker: one, all three, or in memory."""

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiormq
from faststream.message import StreamMessage
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from rules.calendar import WorkingDayCalendar
from services.decisions.main import DEFINITION as DECISIONS
from services.entry import stop_requested
from services.invitations.main import DEFINITION as INVITATIONS
from services.reports.main import DEFINITION as REPORTS
from shared.clock import Clock
from shared.observability import telemetry
from shared.observability.logging import get_logger
from shared.runtime.definition import ServiceDefinition
from shared.runtime.health import Check, HealthServer
from shared.runtime.problems import Problem, broker_problem
from shared.runtime.service import ServiceRuntime
from shared.runtime.settings import Settings

log = get_logger(__name__)

DEFINITIONS: dict[str, ServiceDefinition] = {d.name: d for d in (INVITATIONS, REPORTS, DECISIONS)}


@dataclass
class Running:
    """Services running on one broker."""

    broker: RabbitBroker
    runtimes: list[ServiceRuntime]
    in_memory: bool
    health: HealthServer | None = None

    def runtime(self, name: str) -> ServiceRuntime:
        """One of the running services."""
        return next(r for r in self.runtimes if r.name == name)


def build_broker(settings: Settings) -> RabbitBroker:
    """A broker for the services; FastStream logs through our JSON logging.

    FastStream's telemetry middleware only when spans are recorded: with the no-op tracer
    it still built a span, its context and its attributes for every publish and delivery
    (12 % of a busy service's time). Facts carry the trace context they were caused in
    either way."""
    middlewares: list[Any] = [
        RabbitPrometheusMiddleware(registry=telemetry.registry(), app_name="convene")
    ]
    if telemetry.tracing_installed():
        middlewares.append(RabbitTelemetryMiddleware())
    return RabbitBroker(
        settings.amqp_url,
        # Subscribers get FastStream's message as it is: the services read each body once
        # (the contract's models), so FastStream neither decodes its JSON nor resolves
        # dependencies for it (both cost as much as the rest of a delivery's way in).
        apply_types=False,
        decoder=undecoded,
        logger=logging.getLogger("faststream"),
        # FastStream's "Received" and "Processed" for every message at DEBUG: at INFO, a
        # delivery logs one line, the service's own `event_processed`.
        log_level=logging.DEBUG,
        graceful_timeout=15.0,
        fail_fast=True,
        middlewares=tuple(middlewares),
    )


async def undecoded(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """FastStream's decoder for the services' subscribers: the message itself, undecoded."""
    return message


def metrics_text() -> tuple[bytes, str]:
    """The Prometheus exposition of this process's metrics, and its content type."""
    return generate_latest(telemetry.registry()), CONTENT_TYPE_LATEST


@contextlib.asynccontextmanager
async def running(
    names: Sequence[str],
    settings: Settings,
    *,
    clock: Clock | None = None,
    in_memory: bool = False,
    broker: RabbitBroker | None = None,
) -> AsyncIterator[Running]:
    """Run the named services until the block ends, then stop them gracefully.

    A caller may pass its own broker with extra subscribers already on it (the demo's
    timeline does).
    """
    broker = broker or build_broker(settings)
    calendar = WorkingDayCalendar()
    runtimes = [ServiceRuntime(DEFINITIONS[n], settings, clock, calendar) for n in names]
    for runtime in runtimes:
        broker.include_router(runtime.router(in_memory=in_memory))
    async with contextlib.AsyncExitStack() as stack:
        # Each engine is closed whatever happens, last: preparing opens it (migrations), and
        # a broker that does not answer afterwards must not leave its connections open.
        for runtime in runtimes:
            stack.push_async_callback(runtime.engine.dispose)
        for runtime in runtimes:
            await runtime.prepare(broker, in_memory=in_memory)
        if in_memory:
            broker = await stack.enter_async_context(TestRabbitBroker(broker))
        else:
            try:
                await broker.start()
            except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as error:
                raise broker_problem(settings.amqp_url, error) from error
            stack.push_async_callback(broker.stop)
        # Stopping runs in reverse: each service stops taking deliveries and finishes those in
        # flight while its consumer stays attached (a standby replica must not start on a
        # conference's later events before these are done); then the consuming channels
        # close, which returns what was never started to the queue at once and in order, with
        # the consumer (the standby takes over from there, not before); then each service
        # stops its timers, writes its progress, gives its consuming mark up and flushes its
        # outbox; then the connection closes.
        for runtime in runtimes:
            stack.push_async_callback(runtime.stop)
        stack.push_async_callback(_stop_consuming, broker)
        for runtime in runtimes:
            stack.push_async_callback(runtime.finish)
        for runtime in runtimes:
            await runtime.start_background(broker, in_memory=in_memory)
        health = None
        if settings.health_port is not None and not in_memory:
            health = HealthServer(
                _checks(broker, runtimes),
                host=settings.health_host,
                port=settings.health_port,
                metrics=metrics_text,
            )
            try:
                await health.start()
            except OSError as error:
                raise Problem(
                    f"cannot listen on {settings.health_host}:{settings.health_port} "
                    f"(CONVENE_HEALTH_PORT, CONVENE_HEALTH_HOST): {error.strerror or error}"
                ) from None
            stack.push_async_callback(health.stop)
        yield Running(broker, runtimes, in_memory, health)


def _checks(broker: RabbitBroker, runtimes: list[ServiceRuntime]) -> dict[str, Check]:
    """What `/ready` asks: the broker connection open (not merely once opened), the consumers
    attached, each database reachable with its migrations done."""

    async def broker_connected() -> bool:
        connection = broker._connection  # FastStream keeps the aio-pika connection here
        if connection is None or connection.is_closed:
            return False
        return bool(await broker.ping(timeout=3))

    async def consumers_attached() -> bool:
        return consuming(broker)

    checks: dict[str, Check] = {"broker": broker_connected, "consumers": consumers_attached}
    for runtime in runtimes:
        checks[f"{runtime.name}_database"] = runtime.database_reachable
        checks[f"{runtime.name}_migrated"] = runtime.migrated
    return checks


def consuming(broker: RabbitBroker) -> bool:
    """Every subscriber running on an open channel. A channel the client library failed to
    restore after a broker restart stays closed while the connection itself is fine."""
    for subscriber in broker.subscribers:
        queue = getattr(subscriber, "_queue_obj", None)  # FastStream's aio-pika queue
        if not subscriber.running or queue is None or queue.channel.is_closed:
            return False
    return True


async def _watch_consumers(
    broker: RabbitBroker, stop: asyncio.Event, lost: list[bool], lost_after: float
) -> None:
    """Stop the process (to be restarted) when its consumers have been detached for long
    enough that, with the bounded shutdown that follows (`shutdown_bound`), it has exited
    within `lost_after` seconds of losing them: a consumer that will not come back must not
    leave a live process that takes nothing."""
    detached_since: float | None = None
    loop = asyncio.get_running_loop()
    check = min(CONSUMER_CHECK_SECONDS, lost_after / 10)
    # detection lags a check at most; the shutdown after it takes `shutdown_bound` at most
    declare_after = max(0.0, lost_after - check - shutdown_bound(lost_after))
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), check)
        if stop.is_set():
            return
        if consuming(broker):
            detached_since = None
            continue
        detached_since = detached_since or loop.time()
        if loop.time() - detached_since >= declare_after:
            log.error("broker_consumers_lost", seconds=lost_after)
            lost.append(True)
            stop.set()


def shutdown_bound(lost_after: float) -> float:
    """How long a process whose consumers are lost may take to shut down before it exits
    regardless (a quarter of the setting, at most 10 s): closing cleanly can wait on a broker
    that does not answer, and nothing is lost by not waiting (what was not committed is
    redelivered, what was committed and not yet published leaves from the outbox on restart)."""
    return min(10.0, lost_after / 4)


CONSUMER_CHECK_SECONDS = 5.0


async def _stop_consuming(broker: RabbitBroker) -> None:
    """Close the consuming channels, then stop the subscribers. Closing the channel returns
    its unacknowledged deliveries and removes its consumer in one step; cancelling the
    consumer first would let a standby take later deliveries while earlier ones were still
    held here, to come back after them."""
    for subscriber in broker.subscribers:
        queue = getattr(subscriber, "_queue_obj", None)  # FastStream's aio-pika queue
        if queue is not None and not queue.channel.is_closed:
            with contextlib.suppress(Exception):
                await queue.channel.close()
    for subscriber in broker.subscribers:
        with contextlib.suppress(Exception):
            await subscriber.stop()


GC_FIRST_THRESHOLD = 20_000
"""Container objects allocated (less those freed) between two collections of the youngest
generation (Python's default is 700)."""


def _settle_heap() -> None:
    """Once started, leave what the process built to get there (modules, models, schemas,
    the calendar's holidays: about 150,000 objects) out of the cyclic garbage collector's
    scans, and collect the young generation less often.

    Measured on a 2,000-conference back-fill: the collector took about 8 s of each service's
    19 s of CPU (a full collection walked every object the imports made, 15 times a run);
    with this, about 2 s, and each service 15-20 % less CPU in alternating runs. Objects freed
    by their reference count are freed as ever; only cycles wait for a collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_FIRST_THRESHOLD, *gc.get_threshold()[1:])


async def serve(names: Sequence[str], settings: Settings) -> None:
    """Run services until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if stop_requested():  # asked to stop while starting up: nothing was taken yet
        log.info("stopped_before_starting", service=",".join(names))
        return
    telemetry.configure_tracing(settings.tracing, "-".join(names))
    lost: list[bool] = []

    async def served() -> None:
        async with running(names, settings) as services:
            _settle_heap()
            watch = asyncio.create_task(
                _watch_consumers(services.broker, stop, lost, settings.consumers_lost_seconds)
            )
            await stop.wait()
            await watch

    serving = asyncio.create_task(served())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if serving.done() or not lost:
        await serving  # started badly (a Problem), or asked to stop: close cleanly
    else:
        try:
            await asyncio.wait_for(serving, shutdown_bound(settings.consumers_lost_seconds))
        except TimeoutError:
            log.error("shutdown_abandoned", reason="broker_consumers_lost")
            logging.shutdown()
            os._exit(1)  # the broker does not answer: exit all the same, to be restarted
    if lost:  # exit non-zero: the platform starts the service again
        raise SystemExit(1)
