"""Dead letters an earlier release made of a type it did not consume (during a rolling
upgrade, where a binding reached its queue early) are taken back by the release that
consumes the type; any other dead letter stays for an operator."""

import asyncio

import aio_pika
import sqlalchemy as sa

from services.app import DEFINITIONS, running
from shared.broker.deadletters import list_dead_letters
from shared.broker.topology import dead_letter_queue_name, declare_all
from shared.runtime.settings import Settings
from shared.store.db import create_engine
from shared.store.tables import inbox
from tests.support.crm import cloud_event, crm_message, family_conference, publish_events


def _dead_letter(event: dict[str, object], error: str) -> aio_pika.Message:
    """A dead letter as release 0.1.0 wrote it."""
    message = crm_message(event)
    message.headers = {
        "x-convene-error-type": "MalformedInput",
        "x-convene-error": error,
        "x-convene-original-routing-key": str(event["type"]),
        "x-convene-attempts": 1,
    }
    return message


async def test_an_earlier_releases_refusals_of_a_type_now_consumed_are_taken_back(
    settings: Settings,
) -> None:
    url = settings.amqp_url
    await declare_all(url, {n: d.event_types for n, d in DEFINITIONS.items()})
    requested = cloud_event("crm.conference.requested.v1", "C-1", family_conference("C-1"))
    held = cloud_event(
        "crm.conference.held.v1", "C-1",
        {"conference_id": "C-1", "held_on": "2026-11-25"}, time="2026-11-25T12:00:00Z",
    )  # fmt: skip
    other = cloud_event("crm.conference.held.v1", "C-2", {"conference_id": "C-2"})
    await publish_events(url, [requested])
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        dlq = dead_letter_queue_name("reports")
        await channel.default_exchange.publish(
            _dead_letter(held, "reports does not consume crm.conference.held.v1"), dlq
        )
        await channel.default_exchange.publish(
            _dead_letter(other, "data.held_on: Field required"), dlq
        )
    async with running(["reports"], settings):
        async with asyncio.timeout(20):
            while not await _applied(settings, held["id"]):
                await asyncio.sleep(0.2)  # poll the inbox until the held event is applied
        letters = await list_dead_letters(url, "reports")
    assert [(letter.message_id, letter.error) for letter in letters] == [
        (other["id"], "data.held_on: Field required")
    ]


async def _applied(settings: Settings, event_id: str) -> bool:
    """True when the reports service's inbox says it applied the event."""
    engine = create_engine(settings.database_url_for("reports"), settings.schema_for("reports"))
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                sa.select(inbox.c.outcome).where(inbox.c.event_id == event_id)
            )
            return found.scalar() == "applied"
    finally:
        await engine.dispose()
