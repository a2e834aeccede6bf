"""Rolling upgrades: a type a release newly consumes never meets a replica of the earlier
release, and none of it published once the release's first replica runs is lost (what
was published before reached only the services that consumed it then: CHANGELOG.md says
what a CRM sends again).

During a rolling upgrade both releases consume the service's queue for a while, one
replica at a time (the queue has a single active consumer, which passes to the replicas
started after it). `Bindings` binds the types new in this release to
`<service>.incoming.pending`, where they wait while an earlier replica may consume, and
moves them to the service's queue once a replica of this release is the one consuming it
(it took a delivery, or it is the queue's only consumer): by then no earlier replica is
left to meet them (one that did would dead-letter the event, and, for a type its contract
does not know at all, tell the CRM it refused it). The move is marked on the broker
(`<service>.bindings.<version>`, an exchange), so later replicas of the release bind
everything to the queue at once; a first replica with nobody consuming yet binds
everything at once too. Releases are upgraded one at a time.

`EarlierRefusals` covers bindings made early by someone else (definitions loaded before
the last earlier replica stopped): the dead letters an earlier release made of a type this
one consumes ("does not consume", "unknown event type") are put back on the queue, now and
then; the inbox makes any of them already applied harmless.
"""

from collections.abc import Iterable

import aio_pika
import aiormq

from shared.broker.deadletters import DeadLetter, refused_as_not_consumed, replay_dead_letters
from shared.broker.topology import (
    dead_letter_queue_name,
    declare_service_topology,
    incoming_queue_name,
)
from shared.observability.logging import get_logger
from shared.runtime.definition import ServiceDefinition
from shared.version import VERSION

log = get_logger(__name__)


class EarlierRefusals:
    """Takes back one service's dead letters of the kind above."""

    def __init__(self, url: str, service: str, consumed: set[str], key: bytes | None) -> None:
        self._url = url
        self._service = service
        self._consumed = consumed
        self._key = key
        self._fruitless_at: int | None = None
        """How many dead letters there were when a look found none of ours (not looked
        at again until that changes)."""

    def _ours(self, letter: DeadLetter) -> bool:
        refused = refused_as_not_consumed(letter, self._service)
        return refused is not None and refused in self._consumed

    async def take_back(self) -> int:
        """Put the dead letters of types this release consumes back on the queue; how many."""
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(dead_letter_queue_name(self._service), passive=True)
            present = queue.declaration_result.message_count or 0
        if present == 0 or present == self._fruitless_at:
            return 0
        taken = await replay_dead_letters(
            self._url, self._service, present, handback_key=self._key, only=self._ours
        )
        self._fruitless_at = None if taken else present
        if taken:
            log.info("earlier_release_refusals_taken_back", count=taken)
        return taken


def pending_queue_name(service: str) -> str:
    """Where the types new in a release wait while an earlier release may consume."""
    return f"{incoming_queue_name(service)}.pending"


def _marker(service: str, version: str) -> str:
    return f"{service}.bindings.{version}"


class Bindings:
    """The service's queue and its bindings, with the types new in this release held back
    until this release consumes the queue (see the module's description)."""

    def __init__(
        self, url: str, definition: ServiceDefinition, retry_delays: Iterable[float],
        key: bytes | None, version: str = VERSION,
    ) -> None:  # fmt: skip
        self._url = url
        self._service = definition.name
        self._known = [b.event_type for b in definition.bindings if b.since != version]
        self._new = [b.event_type for b in definition.bindings if b.since == version]
        self._retry_delays = list(retry_delays)
        self._key = key
        self._version = version
        self.settled = not self._new
        """True once every type is bound to the service's queue."""

    async def declare(self) -> None:
        """Declare the queue, bound to every type an earlier release consumed too; the new
        types to it as well if this release already consumes it, else to the pending queue."""
        if not self.settled and await self._marked():
            self.settled = True
        types = self._known + (self._new if self.settled else [])
        await declare_service_topology(self._url, self._service, types, self._retry_delays)
        if not self.settled and await self._consumers() == 0:
            # Nobody consumes yet (a new installation, or every replica stopped): nothing of
            # an earlier release can meet the new types.
            await self.settle()
        if not self.settled:
            await self._bind(pending_queue_name(self._service), self._new, declare=True)

    async def alone(self) -> bool:
        """True when this replica is the only consumer of the service's queue."""
        return await self._consumers() == 1

    async def _consumers(self) -> int:
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(incoming_queue_name(self._service), passive=True)
            return int(queue.declaration_result.consumer_count or 0)

    async def settle(self) -> int:
        """This release consumes the queue: bind the new types to it, stop holding them back,
        and move what waited; returns how many events waited."""
        await self._bind(incoming_queue_name(self._service), self._new)
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel()
            await channel.declare_exchange(
                _marker(self._service, self._version), aio_pika.ExchangeType.FANOUT, durable=True
            )
        pending = pending_queue_name(self._service)
        moved = 0
        if await self._exists(pending):
            await self._bind(pending, self._new, unbind=True)
            while waiting := await replay_dead_letters(
                self._url, self._service, 1000, handback_key=self._key, source=pending
            ):
                moved += waiting
        self.settled = True
        log.info("release_bindings_settled", version=self._version, count=moved)
        return moved

    async def _marked(self) -> bool:
        return await self._exists(_marker(self._service, self._version), exchange=True)

    async def _exists(self, name: str, *, exchange: bool = False) -> bool:
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel()
            try:
                if exchange:
                    await channel.declare_exchange(name, passive=True)
                else:
                    await channel.declare_queue(name, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                return False
            return True

    async def _bind(
        self, queue_name: str, types: list[str], *, declare: bool = False, unbind: bool = False
    ) -> None:
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(
                queue_name, durable=True, passive=not declare,
                arguments={"x-queue-type": "quorum"} if declare else None,
            )  # fmt: skip
            for event_type in types:
                exchange = f"{event_type.split('.', 1)[0]}.events"
                if unbind:
                    await queue.unbind(exchange, routing_key=event_type)
                else:
                    await queue.bind(exchange, routing_key=event_type)


async def settle_release(
    bindings: Bindings | None, refusals: EarlierRefusals | None, consuming: bool
) -> None:
    """Now and then: once this release consumes the queue (it took deliveries, or it is the
    queue's only consumer), the types new in it bound to the queue; and what an earlier
    release refused of the types this one consumes taken back."""
    if bindings and not bindings.settled and (consuming or await bindings.alone()):
        await bindings.settle()
    if refusals is not None:
        await refusals.take_back()
