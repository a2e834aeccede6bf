"""Applying a service's events in the order the CRM published them, many conferences at once.

Three small pieces, all in memory of the one replica that consumes (the service
queue has a single active consumer, so this replica sees every delivery in queue
order; other replicas stand by):

- `DeliveryOrder` hands deliveries on in the broker's delivery-tag order, even
  if the AMQP client's per-delivery tasks reach us in another order.
- `Sequencer` runs each delivery once every earlier delivery that shares one of
  its ordering keys (a conference, a council's plans) has finished; deliveries
  with no key in common run concurrently.
- `Progress` tracks, per council, what is being applied and when the stream last
  moved (so a timer fires by quiet only in a council that is still), and how far
  it has been applied in business time (for operators; no timer fires by it).
- `Arrivals` counts deliveries the client has read and the service not yet taken.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from shared.observability.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


@dataclass
class _ChannelOrder(Generic[T]):
    expected: int = 1
    waiting: dict[int, T] = field(default_factory=dict)
    gap_timer: asyncio.TimerHandle | None = None


class DeliveryOrder(Generic[T]):
    """Releases deliveries in delivery-tag order per channel.

    A gap that does not fill within `patience` seconds (a delivery the client
    dropped) is skipped, so one lost delivery can never stop the queue.
    """

    def __init__(self, release: Callable[[T], None], patience: float = 2.0) -> None:
        self._release = release
        self._patience = patience
        self._channels: dict[int, _ChannelOrder[T]] = {}

    def arrive(self, channel: object, tag: int, item: T) -> None:
        """A delivery reached us; release it and any that were waiting for it."""
        order = self._channels.setdefault(id(channel), _ChannelOrder())
        if tag < order.expected:  # not from this channel's sequence: nothing to wait for
            self._release(item)
            return
        order.waiting[tag] = item
        self._drain(order)
        if order.waiting and order.gap_timer is None:
            loop = asyncio.get_running_loop()
            order.gap_timer = loop.call_later(self._patience, self._skip_gap, order)

    @property
    def held(self) -> int:
        """Deliveries that reached us and wait for an earlier one."""
        return sum(len(order.waiting) for order in self._channels.values())

    def _drain(self, order: _ChannelOrder[T]) -> None:
        while order.expected in order.waiting:
            self._release(order.waiting.pop(order.expected))
            order.expected += 1
        if not order.waiting and order.gap_timer is not None:
            order.gap_timer.cancel()
            order.gap_timer = None

    def _skip_gap(self, order: _ChannelOrder[T]) -> None:
        order.gap_timer = None
        if order.waiting:
            log.warning("delivery_gap_skipped", missing_tag=order.expected)
            order.expected = min(order.waiting)
            self._drain(order)
            if order.waiting:
                loop = asyncio.get_running_loop()
                order.gap_timer = loop.call_later(self._patience, self._skip_gap, order)


class Arrivals:
    """Deliveries the client has read off the connection that the service has not taken yet.

    The AMQP client hands each delivery on through tasks of its own before the service sees
    it; while it is there it is neither in the broker's queue nor in flight here. Counted
    from the moment it arrives, so a council is never taken for quiet while one of its
    events is on its way in."""

    def __init__(self) -> None:
        self._waiting: dict[int, tuple[Any, set[int]]] = {}

    def arrived(self, channel: Any, tag: int) -> None:
        """A delivery was read off `channel`."""
        self._waiting.setdefault(id(channel), (channel, set()))[1].add(tag)

    def taken(self, channel: Any, tag: int) -> None:
        """The service took it (from here it counts as held or in flight)."""
        entry = self._waiting.get(id(channel))
        if entry is not None:
            entry[1].discard(tag)

    @property
    def waiting(self) -> int:
        """Deliveries arrived and not taken, on channels still open (a closed channel's
        return to the queue, where the broker counts them)."""
        for key, (channel, _tags) in list(self._waiting.items()):
            if getattr(channel, "is_closed", False):
                del self._waiting[key]
        return sum(len(tags) for _channel, tags in self._waiting.values())

    def watch(self, channel: Any, consumer_tag: str | None) -> None:
        """Count what arrives for this consumer of `channel` (an aiormq channel): its
        callback is wrapped once, so each delivery counts before any task runs for it."""
        consumers: dict[str, Any] | None = getattr(channel, "consumers", None)
        if consumers is None or consumer_tag is None:
            return
        callback = consumers.get(consumer_tag)
        if callback is None or getattr(callback, "counted", False):
            return

        def counted(message: Any) -> Any:
            self.arrived(channel, message.delivery.delivery_tag or 0)
            return callback(message)

        counted.counted = True  # type: ignore[attr-defined]  # marks the wrapper as ours
        consumers[consumer_tag] = counted


class Sequencer:
    """Runs work items in submission order per key, different keys concurrently."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, keys: Iterable[str], work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` after every earlier item sharing a key with it has finished."""
        keys = list(dict.fromkeys(keys))
        loop = asyncio.get_running_loop()
        before = {id(f): f for k in keys if (f := self._tails.get(k)) is not None}
        done: asyncio.Future[None] = loop.create_future()
        for key in keys:
            self._tails[key] = done
        task = loop.create_task(self._run(keys, list(before.values()), done, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self,
        keys: list[str],
        before: list[asyncio.Future[None]],
        done: asyncio.Future[None],
        work: Callable[[], Awaitable[None]],
    ) -> None:
        try:
            for earlier in before:
                await asyncio.shield(earlier)
            await work()
        finally:
            done.set_result(None)
            for key in keys:
                if self._tails.get(key) is done:
                    del self._tails[key]

    @property
    def busy(self) -> int:
        """Items submitted and not yet finished."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for everything submitted so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


@dataclass
class _Stream:
    in_flight: Counter[datetime] = field(default_factory=Counter)
    left: Counter[datetime] = field(default_factory=Counter)
    """Deliveries left for redelivery (not applied): the stream has not passed them."""
    done_through: datetime | None = None
    active_at: float = field(default_factory=time.monotonic)


class Progress:
    """Each council's stream: what is being applied, when it last moved, and how far it
    has been applied in business time.

    `through(tenant)` is the latest time T such that every delivery with an envelope
    time up to T has been applied. It says nothing of a conference whose events the CRM
    has yet to publish, so no timer fires by it: timers fire by their own conference's
    next event, or by quiet (`busy`, `idle_seconds`).
    """

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self.changed: set[str] = set()

    def started(self, tenant: str, at: datetime) -> None:
        """A delivery of this council's is being applied."""
        stream = self._streams.setdefault(tenant, _Stream())
        stream.in_flight[at] += 1
        stream.active_at = time.monotonic()
        self.changed.add(tenant)

    def finished(self, tenant: str, at: datetime, *, done: bool = True) -> None:
        """That delivery was applied (or refused, or dead-lettered); `done` False: it was left
        for redelivery, so the stream has not passed it."""
        stream = self._streams[tenant]
        stream.in_flight[at] -= 1
        if stream.in_flight[at] <= 0:
            del stream.in_flight[at]
        if not done:
            # It returns to the queue, for this replica or the next: until it is applied,
            # progress stays before it, whatever later deliveries were applied meanwhile.
            stream.left[at] += 1
            stream.active_at = time.monotonic()
            self.changed.add(tenant)
            return
        if stream.left[at] > 0:  # one left earlier, redelivered and applied now
            stream.left[at] -= 1
        if stream.left[at] <= 0:
            del stream.left[at]
        if stream.done_through is None or at > stream.done_through:
            stream.done_through = at
        stream.active_at = time.monotonic()
        self.changed.add(tenant)

    def through(self, tenant: str) -> datetime | None:
        """Every delivery of this council's up to this time has been applied."""
        stream = self._streams.get(tenant)
        if stream is None:
            return None
        pending = [*stream.in_flight, *stream.left]
        if pending:
            return min(pending) - timedelta(microseconds=1)
        return stream.done_through

    def handed_over(self) -> None:
        """What this replica held is back in the queue, for another: every council it knows
        was active just now (whoever takes those deliveries has the quiet period to start)."""
        now = time.monotonic()
        for tenant, stream in self._streams.items():
            stream.active_at = now
            self.changed.add(tenant)

    def busy(self, tenant: str) -> bool:
        """True while a delivery of this council's is being applied."""
        stream = self._streams.get(tenant)
        return stream is not None and bool(stream.in_flight)

    def busy_tenants(self) -> set[str]:
        """Councils with a delivery being applied now."""
        return {tenant for tenant, stream in self._streams.items() if stream.in_flight}

    def idle_seconds(self, tenant: str) -> float:
        """Seconds since this council's stream last moved."""
        stream = self._streams.get(tenant)
        return float("inf") if stream is None else time.monotonic() - stream.active_at
