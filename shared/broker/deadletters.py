"""Listing and replaying a service's dead letters (`convene deadletters …`).

Replay puts each message back on the service's own queue through its dead
letter exchange (`<service>.dlx`, routing key `<service>.incoming`), with the
original headers kept, so only that service sees it again; its inbox makes a
replay of something already processed harmless. A replay moves at most the
messages that were dead-lettered when it started: one that fails again waits for
the next replay. Both commands can be limited to one council's events.
"""

import asyncio
import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika

from shared.broker import handback
from shared.broker.topology import (
    broker_user,
    dead_letter_exchange,
    dead_letter_queue_name,
    incoming_queue_name,
)


@dataclass(frozen=True)
class DeadLetter:
    """What an operator needs to know about one dead letter (no message content)."""

    message_id: str | None
    event_type: str | None
    error_type: str
    error: str
    routing_key: str
    attempts: int
    dead_lettered_at: str
    subject: str | None = None
    """The conference (or child) it is about, when its body says."""


def _describe(message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
    letter = _described(message)
    return dataclasses.replace(letter, subject=_body_field(message, "subject"))


def _described(message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
    headers: dict[str, Any] = dict(message.headers or {})
    deaths = headers.get("x-death") or []
    if "x-convene-error-type" not in headers and deaths:  # the broker dead-lettered it
        death = dict(deaths[0])
        return DeadLetter(
            message.message_id,
            message.type,
            f"broker:{death.get('reason')}",
            f"dead-lettered by RabbitMQ from {death.get('queue')}",
            str((death.get("routing-keys") or [""])[0]),
            int(death.get("count", 0)),
            str(death.get("time", "")),
        )
    return DeadLetter(
        message.message_id,
        message.type,
        str(headers.get("x-convene-error-type", "unknown")),
        str(headers.get("x-convene-error", "")),
        str(headers.get("x-convene-original-routing-key", message.routing_key or "")),
        int(headers.get("x-convene-attempts", 0)),
        str(headers.get("x-convene-dead-lettered-at", "")),
    )


def tenant_of(message: aio_pika.abc.AbstractIncomingMessage) -> str | None:
    """The council a dead letter belongs to, when its body says."""
    return _body_field(message, "tenant")


def _body_field(message: aio_pika.abc.AbstractIncomingMessage, name: str) -> str | None:
    try:
        body = json.loads(message.body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


async def _present(
    queue: aio_pika.abc.AbstractQueue, limit: int, tenant: str | None
) -> tuple[list[aio_pika.abc.AbstractIncomingMessage], list[aio_pika.abc.AbstractIncomingMessage]]:
    """Take the messages present now (at most `limit` of the council's), split into the
    council's and the others'. All stay unacknowledged until the caller settles them."""
    present = queue.declaration_result.message_count or 0
    chosen: list[aio_pika.abc.AbstractIncomingMessage] = []
    others: list[aio_pika.abc.AbstractIncomingMessage] = []
    for _ in range(present):
        if len(chosen) >= limit:
            break
        message = await queue.get(fail=False)
        if message is None:
            break
        (chosen if tenant is None or tenant_of(message) == tenant else others).append(message)
    return chosen, others


async def list_dead_letters(
    url: str, service: str, limit: int = 100, tenant: str | None = None
) -> list[DeadLetter]:
    """The dead letters waiting in a service's queue; they stay where they are."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(dead_letter_queue_name(service), passive=True)
        chosen, others = await _present(queue, limit, tenant)
        letters = [_describe(m) for m in chosen]
        taken = [*chosen, *others]
        for message in taken:  # put them all back once every one was read
            await message.nack(requeue=True)
        await _until_back(channel, queue.name, len(taken))
    return letters


async def _until_back(
    channel: aio_pika.abc.AbstractChannel, name: str, count: int, within: float = 10.0
) -> None:
    """Until the queue holds at least the `count` messages put back (a quorum queue applies a
    requeue after the command returns: a replay run straight after a listing found the
    queue empty and replayed nothing)."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        queue = await channel.declare_queue(name, passive=True)
        if (queue.declaration_result.message_count or 0) >= count:
            return
        await asyncio.sleep(0.02)


def refused_as_not_consumed(letter: DeadLetter, service: str) -> str | None:
    """The event type a replica refused only because it did not consume that type, or did
    not know it at all (an earlier release of the service, meeting a type bound to its queue
    for a later one), else None."""
    if letter.error_type != "MalformedInput":
        return None
    prefix = f"{service} does not consume "
    if letter.error.startswith(prefix):
        return letter.error.removeprefix(prefix).strip()
    unknown = re.fullmatch(r"unknown event type or version '([\w.]+)'", letter.error)
    return unknown.group(1) if unknown else None


async def replay_dead_letters(
    url: str,
    service: str,
    limit: int = 100,
    tenant: str | None = None,
    handback_key: bytes | None = None,
    only: Callable[[DeadLetter], bool] | None = None,
    source: str | None = None,
) -> int:
    """Put up to `limit` of the dead letters present now back on the service's queue;
    returns how many.

    A message the broker itself dead-lettered (its delivery limit) carries no signed
    sender; with the service's `handback_key` it is signed for the sender RabbitMQ
    recorded in its `user_id` (which RabbitMQ checked when it was first published).
    `only` chooses among them by what the listing would say of each; `source` takes them
    from another of the service's queues than its dead letters.
    """
    connection = await aio_pika.connect(url)
    replayed = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(source or dead_letter_queue_name(service), passive=True)
        exchange = await channel.declare_exchange(dead_letter_exchange(service).name, passive=True)
        chosen, others = await _present(queue, limit, tenant)
        if only is not None:
            others += [m for m in chosen if not only(_described(m))]
            chosen = [m for m in chosen if only(_described(m))]
        for message in others:
            await message.nack(requeue=True)
        for message in chosen:
            headers = dict(message.headers or {})
            headers["x-convene-replayed-at"] = datetime.now(UTC).isoformat()
            if handback_key and message.user_id and handback.SIGNATURE not in headers:
                headers[handback.ORIGINAL_USER] = message.user_id
                headers[handback.SIGNATURE] = handback.signature(
                    handback_key, message.body, message.message_id, message.user_id
                )
            await exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    message_id=message.message_id,
                    type=message.type,
                    content_type=message.content_type,
                    user_id=broker_user(url),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=incoming_queue_name(service),
            )
            await message.ack()
            replayed += 1
    return replayed
