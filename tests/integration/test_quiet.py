"""Quiet means quiet: a delivery counts from the moment the client reads it off the
connection, not from when the service is handed it, so no council is taken for quiet (and
no timer fires by quiet) while one of its events is on its way in."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from services.app import running
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event


async def test_a_delivery_the_client_has_read_is_backlog_until_the_service_takes_it(
    settings: Settings, amqp_url: str, database: str
) -> None:
    async with running(["reports"], settings) as app:
        runtime = app.runtime("reports")
        [subscriber] = [
            s
            for s in app.broker.subscribers
            if getattr(s, "_queue_obj", None) is not None
            and s._queue_obj.name == "reports.incoming"
        ]
        channel = await subscriber._queue_obj.channel.get_underlay_channel()
        tag = subscriber._consumer_tag
        reading: Callable[[Any], Awaitable[None]] = channel.consumers[tag]
        handed_over = asyncio.Event()

        def slow(message: Any) -> Awaitable[None]:
            """The client has read the delivery; what hands it on is slow (a busy loop)."""
            delivery = reading(message)

            async def later() -> None:
                await handed_over.wait()
                await delivery

            return later()

        channel.consumers[tag] = slow
        event = cloud_event("crm.conference.requested.v1", "CONF-Q", family_conference("CONF-Q"))
        await publish_event(amqp_url, event)
        async with asyncio.timeout(10):
            while await runtime._backlog(app.broker) == 0:
                await asyncio.sleep(0.05)  # poll until the client has read it
        assert await runtime._backlog(app.broker) == 1  # not in the queue, not yet taken
        handed_over.set()
        async with asyncio.timeout(10):
            while runtime.progress.through("201") is None:
                await asyncio.sleep(0.05)  # poll until it is applied
        assert await runtime._backlog(app.broker) == 0
