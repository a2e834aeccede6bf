"""Listens on the services' exchanges the way the CRM's own queue does."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika

EXCHANGES = ("invitations.events", "reports.events", "decisions.events")


@dataclass
class Listener:
    """Collects every event published on the services' exchanges."""

    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[aio_pika.abc.AbstractIncomingMessage] = field(default_factory=list)

    def of_type(self, type_name: str, subject: str | None = None) -> list[dict[str, Any]]:
        """Events of one type, optionally about one subject."""
        return [
            e
            for e in self.events
            if e["type"] == type_name and (subject is None or e["subject"] == subject)
        ]

    async def wait_until(
        self, condition: Callable[["Listener"], bool], within: float = 20.0
    ) -> None:
        """Wait for a condition on what has arrived; fail with what did arrive."""
        deadline = time.monotonic() + within
        while not condition(self):
            if time.monotonic() > deadline:
                seen = sorted({e["type"] for e in self.events})
                raise AssertionError(f"condition not met in {within}s; seen types: {seen}")
            await asyncio.sleep(0.05)  # poll for the condition

    async def settle(self, quiet: float = 0.5) -> None:
        """Wait until nothing new has arrived for `quiet` seconds."""
        count = -1
        while count != len(self.events):
            count = len(self.events)
            await asyncio.sleep(quiet)


@asynccontextmanager
async def listening(url: str, exchanges: tuple[str, ...] = EXCHANGES) -> AsyncIterator[Listener]:
    """A private queue bound to every routing key of the given exchanges."""
    listener = Listener()
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            f"test.listener.{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True
        )
        for name in exchanges:
            exchange = await channel.declare_exchange(
                name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            await queue.bind(exchange, routing_key="#")

        async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                listener.messages.append(message)
                listener.events.append(json.loads(message.body))

        await queue.consume(collect)
        yield listener
