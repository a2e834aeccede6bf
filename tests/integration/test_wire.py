"""Frames written together (`shared.broker.wire`) on the real broker: a batch of publishes leaves in
one write, in order, and every message gets the broker's own answer (its confirm, a negative
confirm when the queue refuses it, the message returned when nothing is bound, the channel
closing); acknowledgements settled together leave in one write and count for each delivery."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import aiormq
import pytest
from aiormq.abc import DeliveredMessage
from pamqp import commands

from shared.broker import wire


@contextlib.asynccontextmanager
async def _channel(amqp_url: str) -> AsyncIterator[tuple[aio_pika.abc.AbstractChannel, Any]]:
    """An aio-pika channel in confirm mode and the aiormq channel under it."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        yield channel, await channel.get_underlay_channel()


async def _queue(channel: aio_pika.abc.AbstractChannel, **arguments: Any) -> Any:
    return await channel.declare_queue(
        f"wire.{uuid.uuid4().hex[:8]}",
        durable=True,
        arguments={"x-queue-type": "quorum", **arguments},
    )


async def _classic_queue(channel: aio_pika.abc.AbstractChannel, **arguments: Any) -> Any:
    """A classic queue: its length limit refuses at once (a quorum queue's lags behind its log)."""
    return await channel.declare_queue(
        f"wire.{uuid.uuid4().hex[:8]}", auto_delete=True, arguments=arguments
    )


def _message(routing_key: str, n: int, body: bytes | None = None, exchange: str = "") -> Any:
    properties = commands.Basic.Properties(
        delivery_mode=2, message_id=f"M{n}", message_type="test.v1", content_type="text/plain"
    )
    return wire.Outgoing(exchange, routing_key, body or f"body {n}".encode(), properties)


class _Writes:
    """Counts what is put on the connection's write queue (each put is one socket write)."""

    def __init__(self, raw: Any) -> None:
        self.count = 0
        queue = raw.write_queue
        put = queue.put

        async def counted(frame: Any) -> None:
            self.count += 1
            await put(frame)

        queue.put = counted
        self._restore = lambda: setattr(queue, "put", put)

    def close(self) -> None:
        self._restore()


async def test_a_batch_leaves_in_one_write_in_order_each_confirmed(amqp_url: str) -> None:
    async with _channel(amqp_url) as (channel, raw):
        queue = await _queue(channel)
        # a body larger than a frame is split across body frames, as aiormq does
        big = b"x" * (raw.max_content_size * 2 + 10)
        messages = [_message(queue.name, n, big if n == 3 else None) for n in range(50)]
        writes = _Writes(raw)
        answers = await wire.publish(raw, messages)
        writes.close()
        assert writes.count == 1
        assert all(isinstance(answer, commands.Basic.Ack) for answer in answers)
        received = []
        for _ in range(50):
            message = await queue.get(timeout=5)
            received.append(message)
            await message.ack()
        assert [m.message_id for m in received] == [f"M{n}" for n in range(50)]
        assert received[3].body == big and received[4].body == b"body 4"
        assert received[0].delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert received[0].type == "test.v1" and received[0].content_type == "text/plain"
        assert not raw.confirmations and not raw.message_id_delivery_tag  # nothing left behind


async def test_a_refused_publish_gets_a_negative_confirm_and_the_rest_their_acks(
    amqp_url: str,
) -> None:
    async with _channel(amqp_url) as (channel, raw):
        queue = await _classic_queue(channel, **{"x-max-length": 2, "x-overflow": "reject-publish"})
        answers = await wire.publish(raw, [_message(queue.name, n) for n in range(5)])
        assert [type(a).__name__ for a in answers[:2]] == ["Ack", "Ack"]
        assert all(isinstance(a, aiormq.exceptions.DeliveryError) for a in answers[2:])
        assert isinstance(answers[2], aiormq.exceptions.DeliveryError)
        assert isinstance(answers[2].frame, commands.Basic.Nack)
        # the channel goes on
        await queue.purge()
        assert [type(a).__name__ for a in await wire.publish(raw, [_message(queue.name, 9)])] == [
            "Ack"
        ]


async def test_an_unroutable_message_comes_back_returned(amqp_url: str) -> None:
    async with _channel(amqp_url) as (channel, raw):
        nowhere = await channel.declare_exchange(
            f"wire.nowhere.{uuid.uuid4().hex[:6]}", aio_pika.ExchangeType.TOPIC, auto_delete=True
        )
        queue = await _queue(channel)
        answers = await wire.publish(
            raw,
            [_message("x.y", 1, exchange=nowhere.name), _message(queue.name, 2)],
        )
        returned, confirmed = answers
        assert isinstance(returned, DeliveredMessage)
        assert isinstance(returned.delivery, commands.Basic.Return)
        assert returned.delivery.reply_text == "NO_ROUTE"
        assert isinstance(confirmed, commands.Basic.Ack)
        assert not raw.message_id_delivery_tag


async def test_batches_and_aio_pikas_own_publishes_share_the_channel(amqp_url: str) -> None:
    async with _channel(amqp_url) as (channel, raw):
        queue = await _queue(channel)
        own = [
            channel.default_exchange.publish(
                aio_pika.Message(b"own", message_id=f"P{n}"), routing_key=queue.name
            )
            for n in range(20)
        ]
        batches = [
            wire.publish(raw, [_message(queue.name, 100 * b + n) for n in range(10)])
            for b in range(5)
        ]
        results = await asyncio.gather(*own, *batches)
        assert all(isinstance(r, commands.Basic.Ack) for r in results[:20])
        assert all(isinstance(a, commands.Basic.Ack) for batch in results[20:] for a in batch)
        declared = await queue.declare()
        assert declared.message_count == 70


async def test_a_channel_closing_mid_batch_fails_every_message_of_it(amqp_url: str) -> None:
    async with _channel(amqp_url) as (channel, raw):
        queue = await _queue(channel)
        missing = [_message("x", n, exchange=f"missing.{uuid.uuid4().hex}") for n in range(3)]
        answers = await asyncio.wait_for(
            wire.publish(raw, [_message(queue.name, 0), *missing]), timeout=10
        )
        # the broker closes the channel at the unknown exchange: none of these counts as taken
        # after it (the first may have been confirmed first)
        assert all(isinstance(a, BaseException) for a in answers[1:])
        assert raw.is_closed
        with pytest.raises(aiormq.exceptions.ChannelInvalidStateError):
            await wire.publish(raw, [_message(queue.name, 5)])


async def test_acknowledgements_of_one_turn_leave_in_one_write(amqp_url: str) -> None:
    async with _channel(amqp_url) as (channel, raw):
        queue = await _queue(channel)
        await wire.publish(raw, [_message(queue.name, n) for n in range(30)])
        connection = await aio_pika.connect(amqp_url)
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=100)
        consuming = await consumer.get_queue(queue.name)
        delivered: list[aio_pika.abc.AbstractIncomingMessage] = []
        all_in = asyncio.Event()

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            delivered.append(message)
            if len(delivered) == 30:
                all_in.set()

        tag = await consuming.consume(keep)
        await asyncio.wait_for(all_in.wait(), timeout=10)
        channel_of = await consumer.get_underlay_channel()
        acks = wire.Acknowledgements()
        writes = _Writes(channel_of)
        await asyncio.gather(*(acks.ack(m.channel, m.delivery_tag or 0) for m in delivered))
        writes.close()
        assert writes.count == 1
        await consuming.cancel(tag)
        await consumer.close()  # unacknowledged deliveries would return to the queue now
        for _ in range(50):  # until the broker has settled the channel's close
            if (await queue.declare()).message_count == 0:
                break
            await asyncio.sleep(0.05)  # poll for the condition
        assert (await queue.declare()).message_count == 0
        with pytest.raises(aiormq.exceptions.ChannelInvalidStateError):
            await acks.ack(channel_of, 1)  # a closed channel: the broker delivers it again
        await connection.close()
