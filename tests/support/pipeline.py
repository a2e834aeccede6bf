"""The three services as separate processes, a CRM that plays many families' histories in one
burst, and the CRM's own queue counting what comes back: the fault suite's harness.

Facts are counted by logical key (type, council, subject and data, without the
publication's own id and envelope time), once per event id as the CRM de-duplicates,
so a run with a fault can be compared with a run without: lost = expected and
missing, extra = beyond what was expected (the same fact under another id, or a fact
that should not exist). Copies = an event id published again (the outbox relay died
between the broker's confirm and marking the row sent): harmless by the contract.
"""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import aiormq

from services.app import DEFINITIONS
from shared.broker.topology import (
    CRM_QUEUE,
    dead_letter_queue_name,
    declare_all,
    incoming_queue_name,
    retry_queue_name,
)
from tests.support.crm import publish_events
from tests.support.history import family_history
from tests.support.infrastructure import free_port

COUNCILS = ("201", "886", "807", "317")


def family(n: int) -> list[dict[str, Any]]:
    """Family `n`'s whole history (initial conference, review, plan ended) in its council
    (one of four), in the order the CRM publishes it; its ids are its own."""
    tenant = COUNCILS[n % len(COUNCILS)]
    text = json.dumps(family_history(tenant, prefix=f"F{n}"))
    for child in ("C1", "C2"):  # each family's children are children of their own
        text = text.replace(f'"{child}"', f'"F{n}-{child}"')
    events = json.loads(text)
    for event in events:  # ids unique across families too
        event["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"F{n}/{event['id']}"))
    return events


def workload(families: int) -> list[dict[str, Any]]:
    """`families` whole histories across four councils, as one CRM would publish them: in
    time order."""
    events = [event for n in range(families) for event in family(n)]
    return sorted(events, key=lambda e: e["time"])  # stable: a family's order is kept


def logical_key(fact: dict[str, Any]) -> str:
    """What makes a fact the same fact, whichever publication carried it."""
    return json.dumps([fact["type"], fact["tenant"], fact["subject"], fact["data"]], sort_keys=True)


@dataclass
class Tally:
    """What came back, against what was expected."""

    expected: Counter[str]
    got: Counter[str] = field(default_factory=Counter)
    ids: Counter[str] = field(default_factory=Counter)

    def add(self, fact: dict[str, Any]) -> None:
        """Count a fact once per event id, as the contract's consumers de-duplicate."""
        self.ids[fact["id"]] += 1
        if self.ids[fact["id"]] == 1:
            self.got[logical_key(fact)] += 1

    @property
    def lost(self) -> int:
        return sum(max(n - self.got[k], 0) for k, n in self.expected.items())

    @property
    def extra(self) -> int:
        """Facts beyond those expected: the same fact under another id, or one that should
        not exist."""
        return sum(max(n - self.expected[k], 0) for k, n in self.got.items())

    def differences(self, most: int = 3) -> list[str]:
        """A few of the facts missing (-) and beyond what was expected (+)."""
        lost = [f"- {k}" for k, n in self.expected.items() if self.got[k] < n]
        extra = [f"+ {k}" for k, n in self.got.items() if n > self.expected[k]]
        return lost[:most] + extra[:most]

    @property
    def rejected(self) -> int:
        return sum(n for k, n in self.got.items() if ".input.rejected." in k)

    @property
    def republished(self) -> int:
        """Publications of an event id seen before (harmless: consumers de-duplicate)."""
        return sum(n - 1 for n in self.ids.values() if n > 1)


class Collector:
    """The CRM's side: consumes `crm.facts`, connecting again by itself whenever its
    connection or channel is lost (aio-pika's robust channel can fail to come back when
    it reconnects while a broker is still starting, leaving the connection with no
    consumer: a CRM must not rely on it).

    It consumes with aiormq, the AMQP client under aio-pika, and acknowledges what it has
    taken every 200 facts or 20 ms with one `multiple` acknowledgement: a benchmark runs it
    on the machine it measures, so it should take as little of it as a CRM's consumer can."""

    ACK_EVERY = 200
    ACK_AFTER_SECONDS = 0.02

    def __init__(self, url: str, keep: bool = True) -> None:
        self.url = url
        self.keep = keep
        """False: only count (a long back-fill's facts would not fit in memory)."""
        self.facts: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        """When each fact arrived (time.perf_counter()), kept or not."""
        self.count = 0
        self.ids: set[str] = set()
        self.rejected = 0
        self.last = 0.0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unacknowledged: tuple[aiormq.abc.AbstractChannel, int, int] | None = None
        """The channel, the latest delivery tag taken, and how many wait since the last ack."""
        self._ack_timer: asyncio.TimerHandle | None = None

    async def _collect(self, message: aiormq.abc.DeliveredMessage) -> None:
        self.count += 1
        self.last = time.perf_counter()
        self.arrived.append(self.last)
        if self.keep:
            self.facts.append(json.loads(message.body))
        else:
            self.ids.add(message.header.properties.message_id or "")
            self.rejected += ".input.rejected." in (message.routing_key or "")
        channel, tag = message.channel, message.delivery_tag or 0
        previous = self._unacknowledged
        waiting = previous[2] + 1 if previous is not None and previous[0] is channel else 1
        self._unacknowledged = (channel, tag, waiting)
        if waiting >= self.ACK_EVERY:
            self._acknowledge()
        elif self._ack_timer is None:
            loop = asyncio.get_running_loop()
            self._ack_timer = loop.call_later(self.ACK_AFTER_SECONDS, self._acknowledge)

    def _acknowledge(self) -> None:
        """Everything taken so far on the channel, in one `multiple` acknowledgement (a
        channel that closed meanwhile: the broker delivers them again)."""
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        if self._unacknowledged is None:
            return
        channel, tag, _ = self._unacknowledged
        self._unacknowledged = None
        if not channel.is_closed:
            acknowledged = asyncio.ensure_future(channel.basic_ack(tag, multiple=True))
            acknowledged.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _consume_once(self, attached: asyncio.Event) -> None:
        """Connect, consume until the connection or the channel closes."""
        connection = await asyncio.wait_for(aiormq.connect(self.url), timeout=10)
        try:
            channel = await connection.channel()
            await channel.basic_qos(prefetch_count=500)
            await channel.basic_consume(CRM_QUEUE, self._collect)
            attached.set()
            stopping = asyncio.ensure_future(self._stopping.wait())
            closed = [connection.closing, channel.closing]
            await asyncio.wait({stopping, *closed}, return_when=asyncio.FIRST_COMPLETED)
            for waiting in (stopping, *closed):
                waiting.cancel()
        finally:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _run(self, attached: asyncio.Event) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(Exception):
                await self._consume_once(attached)
            if not self._stopping.is_set():
                await asyncio.sleep(0.5)  # the broker is away: try again

    async def start(self) -> None:
        attached = asyncio.Event()
        first = asyncio.create_task(self._consume_once(attached))
        waiting = asyncio.create_task(attached.wait())
        done, _ = await asyncio.wait({first, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if first in done:
            first.result()  # the first attempt failed: say why
        self._task = asyncio.create_task(self._supervise(first))

    async def _supervise(self, first: "asyncio.Task[None]") -> None:
        with contextlib.suppress(Exception):
            await first
        if not self._stopping.is_set():
            await asyncio.sleep(0.5)  # then connect again, for as long as the test runs
        await self._run(asyncio.Event())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task


class Services:
    """`convene run <service>` processes, each with its own health port."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.programs: dict[str, Path | None] = {}

    def start(self, name: str, program: Path | None = None) -> None:
        """Start `convene run <service>`; `name` may be `<service>#<n>` for a replica, and the
        service `all` runs the three in one process. `program`: another release's."""
        port = free_port()
        env = {**os.environ, **self.env, "CONVENE_HEALTH_PORT": str(port)}
        log = (self.folder / f"{name}.log").open("ab")
        self.programs[name] = program
        program = program or Path(sys.executable).parent / "convene"
        self.processes[name] = subprocess.Popen(  # the product's own command
            [str(program), "run", name.split("#")[0]],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ports[name] = port

    def ready(self, name: str) -> bool:
        """True when this service's process (not another run's on the same port) is ready."""
        try:
            with urllib.request.urlopen(  # our own health port, on loopback
                f"http://127.0.0.1:{self.ports[name]}/ready", timeout=2
            ) as answer:
                body = json.loads(answer.read())
                return int(answer.status) == 200 and body["pid"] == self.processes[name].pid
        except (OSError, ValueError, KeyError):
            return False

    async def wait_ready(self, names: list[str], within: float = 60.0) -> None:
        """Until every named service is ready; one whose health port was taken meanwhile
        (another run on this machine) is started again on another."""
        deadline = time.monotonic() + within
        while not all(self.ready(n) for n in names):
            for name in names:
                if self.processes[name].poll() is not None:
                    log = (self.folder / f"{name}.log").read_text()[-3000:]
                    if "address already in use" not in log:
                        raise RuntimeError(f"{name} exited:\n{log}")
                    self.start(name, self.programs.get(name))
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready within {within}s: {names}")
            await asyncio.sleep(0.1)  # poll for the condition

    def kill(self, name: str) -> None:
        """kill -9: no graceful stop, nothing flushed."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def terminate(self, name: str) -> None:
        """SIGTERM: the graceful stop."""
        process = self.processes[name]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    def stop_all(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is None:
                with contextlib.suppress(Exception):
                    self.terminate(name)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)


RETRY_DELAYS = (1.0, 3.0)


async def _purge(amqp_url: str) -> None:
    """Empty this run's queues: a case starts from nothing left by the one before."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        names = [CRM_QUEUE]
        for service in DEFINITIONS:
            names += [incoming_queue_name(service), dead_letter_queue_name(service)]
            names += [retry_queue_name(service, delay) for delay in RETRY_DELAYS]
        for name in names:
            queue = await channel.declare_queue(name, passive=True)
            await queue.purge()


async def _declare_crm_side(amqp_url: str) -> None:
    """The exchanges and the CRM's `crm.facts`, bound to the three services' exchanges."""
    await declare_all(amqp_url, {}, [])
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        facts = await channel.declare_queue(CRM_QUEUE, passive=True)
        for service in DEFINITIONS:
            await facts.bind(f"{service}.events", routing_key="#")


def service_env(
    amqp_url: str, database_url: str | None, folder: Path, prefix: str
) -> dict[str, str]:
    """Settings for the services under a fault: fast polls, short delayed retries."""
    env = {
        "AMQP_URL": amqp_url,
        "CONVENE_DATA_DIR": str(folder / "var"),
        "CONVENE_DB_SCHEMA_PREFIX": prefix,
        "CONVENE_LOG_LEVEL": "INFO",
        "CONVENE_LOG_FORMAT": "json",
        "CONVENE_OUTBOX_POLL_SECONDS": "0.2",
        "CONVENE_TIMER_POLL_SECONDS": "0.2",
        # Timers fire once a council has been quiet this long, nothing of it waiting in a
        # queue or a client: after the burst, and never because a restart was quiet (a
        # service restarted has been running less than this, and its queue holds the rest).
        "CONVENE_TIMER_QUIET_SECONDS": "3",
        "CONVENE_RETRY_BASE_SECONDS": "0.1",
        "CONVENE_RETRY_DELAYS": ",".join(f"{d:g}" for d in RETRY_DELAYS),
        "CONVENE_PARK_RETRY_SECONDS": "1",
        "CONVENE_OUTAGE_PROBE_SECONDS": "0.5",
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


@contextlib.asynccontextmanager
async def pipeline(
    amqp_url: str,
    database_url: str | None,
    folder: Path,
    prefix: str,
    declare_url: str | None = None,
    processes: Sequence[str] = tuple(DEFINITIONS),
    env: dict[str, str] | None = None,
    keep: bool = True,
    program: Path | None = None,
    declare: bool = True,
) -> AsyncIterator[tuple[Services, Collector]]:
    """The topology declared (through `declare_url`: in a cluster, the node that leads the
    queues) and emptied, the three services started and ready, the CRM listening. Without
    `declare`, only the CRM's side is: each service declares its own (an empty vhost)."""
    if declare:
        await declare_all(
            declare_url or amqp_url,
            {n: d.event_types for n, d in DEFINITIONS.items()},
            RETRY_DELAYS,
        )
        await _purge(amqp_url)
    else:
        await _declare_crm_side(amqp_url)
    settings = {**service_env(amqp_url, database_url, folder, prefix), **(env or {})}
    services = Services(settings, folder)
    collector = Collector(amqp_url, keep)
    try:
        for name in processes:
            services.start(name, program)
        await services.wait_ready(list(processes))
        await collector.start()
        yield services, collector
    finally:
        services.stop_all()
        await collector.stop()


async def publish(amqp_url: str, events: list[dict[str, Any]]) -> None:
    """The CRM's burst, retried on a broken connection (a CRM keeps what it could not send;
    a resend is harmless, the services de-duplicate on the event id)."""
    sent = 0
    while sent < len(events):
        try:
            await publish_events(amqp_url, events[sent : sent + 50])
            sent += 50
        except (aio_pika.exceptions.AMQPError, OSError, ConnectionError):
            await asyncio.sleep(0.5)  # the broker is away: try again


async def wait_for(tally: Tally, collector: Collector, within: float) -> None:
    """Until nothing is missing (or time is up), then until the stream is quiet."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        _count(tally, collector)
        if tally.lost == 0:
            break
        await asyncio.sleep(0.2)  # poll for the condition
    quiet_since, seen = time.monotonic(), len(collector.facts)
    while time.monotonic() - quiet_since < 2.0:  # anything extra still on its way
        await asyncio.sleep(0.2)  # poll for the condition
        if len(collector.facts) != seen:
            quiet_since, seen = time.monotonic(), len(collector.facts)
    _count(tally, collector)


def _count(tally: Tally, collector: Collector) -> None:
    tally.got.clear()
    tally.ids.clear()
    for fact in collector.facts:
        tally.add(fact)


async def dead_letters(amqp_url: str) -> int:
    """Messages in the three services' dead letter queues."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        total = 0
        for name in DEFINITIONS:
            queue = await channel.declare_queue(dead_letter_queue_name(name), passive=True)
            total += queue.declaration_result.message_count or 0
        return total
