"""Bad input lands in the dead letter queue with its reason; the service keeps consuming."""

import json
import uuid
from typing import Any

import aio_pika

from services.app import running
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event, publish_raw
from tests.support.listener import listening


async def dead_letters(url: str, queue: str, count: int) -> list[Any]:
    """Take `count` messages from a dead letter queue (waiting for them to arrive)."""
    connection = await aio_pika.connect(url)
    taken = []
    async with connection:
        channel = await connection.channel()
        dlq = await channel.get_queue(queue)
        for _ in range(200):
            message = await dlq.get(fail=False, no_ack=True)
            if message is not None:
                taken.append(message)
                if len(taken) == count:
                    break
            else:
                import asyncio

                await asyncio.sleep(0.05)  # poll for the dead letters
    return taken


async def test_bad_input_is_dead_lettered_and_rejected_and_consumption_goes_on(
    settings: Settings, amqp_url: str
) -> None:
    bad_schema = cloud_event(
        "crm.conference.requested.v1",
        "CONF-BAD",
        family_conference("CONF-BAD", kind="initial", strategy_discussion_date=None, children=[]),
    )
    good = cloud_event("crm.conference.requested.v1", "CONF-GOOD", family_conference("CONF-GOOD"))
    async with listening(amqp_url) as listener, running(["invitations"], settings):
        await publish_raw(
            amqp_url, b"{not json", "crm.conference.requested.v1", message_id=str(uuid.uuid4())
        )
        await publish_event(amqp_url, bad_schema)
        await publish_event(amqp_url, good)
        await listener.wait_until(
            lambda seen: (
                bool(seen.of_type("invitations.input.rejected.v1"))
                and len(seen.of_type("invitations.invitation.issued.v1", "CONF-GOOD")) == 5
            )
        )
        letters = await dead_letters(amqp_url, "invitations.incoming.dlq", 2)

    by_body = {message.body: message for message in letters}
    not_json = by_body[b"{not json"]
    assert not_json.headers["x-convene-error-type"] == "MalformedInput"
    assert "not JSON" in str(not_json.headers["x-convene-error"])
    assert not_json.headers["x-convene-original-queue"] == "invitations.incoming"
    assert not_json.headers["x-convene-original-routing-key"] == "crm.conference.requested.v1"
    assert not_json.headers["x-convene-original-exchange"] == "crm.events"
    assert not_json.headers["x-convene-attempts"] == 1
    schema = by_body[json.dumps(bad_schema).encode()]
    reason = str(schema.headers["x-convene-error"])
    assert "data.children" in reason and "at least 1 item" in reason
    assert schema.message_id == bad_schema["id"]

    rejected = listener.of_type("invitations.input.rejected.v1")
    assert len(rejected) == 1  # the unreadable body has no id to answer
    assert rejected[0]["data"]["event_id"] == bad_schema["id"]
    assert rejected[0]["causationid"] == bad_schema["id"]
    assert any("children" in r for r in rejected[0]["data"]["reasons"])
    assert not listener.of_type("invitations.invitation.issued.v1", "CONF-BAD")


async def test_a_broken_business_rule_is_rejected_with_reasons(
    settings: Settings, amqp_url: str
) -> None:
    first = cloud_event(
        "crm.conference.requested.v1", "CONF-TWICE", family_conference("CONF-TWICE")
    )
    again = cloud_event(
        "crm.conference.requested.v1", "CONF-TWICE", family_conference("CONF-TWICE")
    )
    async with listening(amqp_url) as listener, running(["invitations"], settings):
        await publish_event(amqp_url, first)
        await publish_event(amqp_url, again)
        await listener.wait_until(lambda seen: bool(seen.of_type("invitations.input.rejected.v1")))
        await listener.settle()
    rejected = listener.of_type("invitations.input.rejected.v1")[0]["data"]
    assert rejected["event_id"] == again["id"]
    assert "already requested" in rejected["reasons"][0]
    assert len(listener.of_type("invitations.invitation.issued.v1")) == 5


async def test_bodies_built_to_escape_the_parser_are_dead_lettered_once_with_a_reason(
    settings: Settings, amqp_url: str
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    huge_number = b'{"specversion": "1.0", "id": ' + b"9" * 5_000 + b"}"
    good = cloud_event("crm.conference.requested.v1", "CONF-AFTER", family_conference("CONF-AFTER"))
    async with listening(amqp_url) as listener, running(["invitations"], settings):
        for body in (deep, huge_number):
            await publish_raw(amqp_url, body, "crm.conference.requested.v1")
        await publish_event(amqp_url, good)
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.invitation.issued.v1", "CONF-AFTER")) == 5
        )
        letters = await dead_letters(amqp_url, "invitations.incoming.dlq", 2)
    reasons = " | ".join(str(m.headers["x-convene-error"]) for m in letters)
    assert "nested too deeply" in reasons and "not usable JSON" in reasons
    assert {m.headers["x-convene-attempts"] for m in letters} == {1}  # refused, not retried
