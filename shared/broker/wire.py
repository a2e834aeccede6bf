"""AMQP frames written together: many publishes, or many acknowledgements, in one write.

aiormq (under aio-pika and FastStream) writes every publish and every acknowledgement as
a socket write of its own, and a publish holds the channel until its write has drained.
On the machines Convene was measured on, one loopback write costs 25 to 100 µs of CPU in
the writer and wakes the broker once more: more than everything else a fact costs. Here
the frames of many messages are marshalled into one `ChannelFrame` and put on the
connection's write queue once, under the channel's lock, so they leave in one write, in
order.

A batch of publishes registers a confirmation future per delivery tag exactly as
`aiormq.Channel.basic_publish` does, so aiormq's own reader settles each one: the
broker's ack, its negative confirm, a message returned as unroutable, or the channel
closing. This leans on aiormq's channel attributes (`lock`, `delivery_tag`,
`confirmations`, `message_id_delivery_tag`, `write_queue`), so the project pins aiormq and
pamqp to the versions it is proven against (`PROVEN`, the same ranges as `pyproject.toml`):
`tests/integration/test_wire.py` proves it against the real broker, and
`tests/unit/test_wire_versions.py` fails on any other version installed, naming it, until
it has been proven again. Kept rather than replaced: the raw broker round trip written this
way is 1.6 to 1.8 times the one a client writes a frame per publish (`make bench`).
"""

import asyncio
import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import aiormq
from aiormq.abc import ChannelFrame, DeliveredMessage
from pamqp import commands
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

PROVEN = {"aiormq": ">=7.2,<7.3", "pamqp": ">=4.0,<4.1"}
"""The versions of the libraries whose private parts this module uses that it is proven
against."""

Answer = commands.Basic.Ack | DeliveredMessage | BaseException
"""The broker's answer to one publish: its confirm, the message returned as unroutable
(with the `Basic.Return` frame in `.delivery`), or why it was not taken."""


@dataclass(frozen=True)
class Outgoing:
    """One message to publish (mandatory: the broker returns it if no queue takes it)."""

    exchange: str
    routing_key: str
    body: bytes
    properties: commands.Basic.Properties


def _channel(channel: aiormq.abc.AbstractChannel) -> aiormq.Channel:
    if not isinstance(channel, aiormq.Channel):
        raise TypeError(f"an aiormq channel is needed, not {type(channel).__name__}")
    return channel


def _forget(channel: aiormq.Channel, message_id: str, tag: int, _: object) -> None:
    if channel.message_id_delivery_tag.get(message_id) == tag:
        channel.message_id_delivery_tag.pop(message_id)


def _body(body: bytes, size: int) -> list[ContentBody]:
    if len(body) <= size:  # nearly always: a frame holds 128 KiB
        return [ContentBody(body)] if body else []
    return [ContentBody(body[start : start + size]) for start in range(0, len(body), size)]


async def publish(
    channel: aiormq.abc.AbstractChannel, messages: Sequence[Outgoing]
) -> list[Answer]:
    """Publish `messages` in order in one write on a channel in confirm mode; returns the
    broker's answer to each, in the same order, once it has answered them all."""
    if not messages:
        return []
    raw = _channel(channel)
    if not raw.publisher_confirms:
        raise ValueError("the channel is not in confirm mode")
    loop = asyncio.get_running_loop()
    confirmations: list[asyncio.Future[object]] = []
    async with raw.lock:  # publishes of others (aio-pika's) wait, so tags stay in order
        first = raw.delivery_tag
        frames: list[object] = []
        try:
            for message in messages:
                raw.delivery_tag += 1
                tag = raw.delivery_tag
                # A plain future (aiormq's own register with the channel, which rejects them
                # when it closes: here the closing is watched once for the whole batch).
                confirmation = loop.create_future()
                raw.confirmations[tag] = confirmation
                message_id = message.properties.message_id or ""
                raw.message_id_delivery_tag[message_id] = tag
                confirmation.add_done_callback(functools.partial(_forget, raw, message_id, tag))
                confirmations.append(confirmation)
                frames.append(
                    commands.Basic.Publish(
                        exchange=message.exchange, routing_key=message.routing_key, mandatory=True
                    )
                )
                frames.append(
                    ContentHeader(properties=message.properties, body_size=len(message.body))
                )
                frames.extend(_body(message.body, raw.max_content_size))
            drained = raw.create_future()
            await raw.write_queue.put(ChannelFrame.marshall(raw.number, frames, drained))  # type: ignore[arg-type]
        except BaseException:
            # Nothing was written: the broker has seen none of these tags.
            for tag in range(first + 1, raw.delivery_tag + 1):
                raw.confirmations.pop(tag, None)
            for confirmation in confirmations:
                confirmation.cancel()
            raw.delivery_tag = first
            raise
        with contextlib.suppress(Exception):  # a failed write closes the channel: see below
            await drained
    # Each is settled by the broker's answer, or fails when the channel closes first.
    closing = raw.closing
    try:
        settled = asyncio.gather(*confirmations, return_exceptions=True)
        await asyncio.wait((settled, closing), return_when=asyncio.FIRST_COMPLETED)
        if not settled.done():
            reason = _closed(raw, closing)
            for confirmation in confirmations:
                if not confirmation.done():
                    confirmation.set_exception(reason)
        return cast("list[Answer]", await settled)
    finally:
        closing.cancel()  # an observer: cancelling it leaves the channel alone


def _closed(channel: aiormq.Channel, closing: asyncio.Future[object]) -> BaseException:
    """Why a channel closed, for the publishes it had not answered."""
    if not closing.cancelled() and (reason := closing.exception()) is not None:
        return reason
    return aiormq.exceptions.ChannelInvalidStateError(f"{channel} closed")


async def acknowledge(channel: aiormq.abc.AbstractChannel, tags: Sequence[int]) -> None:
    """Acknowledge these deliveries (each on its own, not `multiple`) in one write."""
    if not tags:
        return
    raw = _channel(channel)
    if raw.is_closed:
        raise aiormq.exceptions.ChannelInvalidStateError(f"{raw} closed")
    drained = raw.create_future()
    frames = [commands.Basic.Ack(delivery_tag=tag) for tag in tags]
    await raw.write_queue.put(ChannelFrame.marshall(raw.number, frames, drained))
    await drained


class Acknowledgements:
    """Acknowledges deliveries in one write per channel for all those settled during one turn
    of the event loop (a group commit settles tens at once), each on its own tag."""

    def __init__(self) -> None:
        self._pending: dict[aiormq.abc.AbstractChannel, list[tuple[int, asyncio.Future[None]]]] = {}
        self._writes: set[asyncio.Task[None]] = set()

    async def ack(self, channel: aiormq.abc.AbstractChannel, tag: int) -> None:
        """Acknowledge one delivery; returns once its frame is written, raises if it could not
        be (the channel closed: the broker delivers it again)."""
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._flush)  # after the callbacks of this turn
        written: asyncio.Future[None] = loop.create_future()
        self._pending.setdefault(channel, []).append((tag, written))
        await written

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        loop = asyncio.get_running_loop()
        for channel, waiting in pending.items():
            tags = [tag for tag, _ in waiting]
            write = loop.create_task(acknowledge(channel, tags))
            self._writes.add(write)
            write.add_done_callback(functools.partial(self._written, waiting))

    def _written(
        self, waiting: list[tuple[int, asyncio.Future[None]]], write: asyncio.Task[None]
    ) -> None:
        self._writes.discard(write)
        failed = None if write.cancelled() else write.exception()
        for _tag, written in waiting:
            if written.done():
                continue
            if write.cancelled():
                written.cancel()
            elif failed is not None:
                written.set_exception(failed)
            else:
                written.set_result(None)
