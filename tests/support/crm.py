"""CloudEvents exactly as the CRM writes them: plain dicts and JSON, not the project's models."""

import json
import uuid
from typing import Any

import aio_pika


def cloud_event(
    type_name: str,
    subject: str,
    data: dict[str, Any],
    *,
    time: str = "2026-11-16T09:00:00Z",
    tenant: str = "201",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A CRM event as a plain dict."""
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "crm",
        "type": type_name,
        "time": time,
        "subject": subject,
        "tenant": tenant,
        "correlationid": subject,
        "causationid": None,
        "datacontenttype": "application/json",
        "data": data,
    }


def family_conference(conference_id: str, **overrides: Any) -> dict[str, Any]:
    """The data of a crm.conference.requested.v1 for a family of two children."""
    data: dict[str, Any] = {
        "conference_id": conference_id,
        "kind": "initial",
        "scheduled_start": "2026-11-25T10:00:00+00:00",
        "venue": {"mode": "in_person", "address": "Town Hall"},
        "chair": {"person_id": "CHAIR", "name": "A Chair"},
        "children": [
            {
                "child_id": "C1",
                "given_name": "A",
                "family_name": "B",
                "date_of_birth": "2018-01-05",
                "nhs_number": "9434765919",
            },
            {
                "child_id": "C2",
                "given_name": "C",
                "family_name": "B",
                "expected_date_of_delivery": "2027-01-20",
            },
        ],
        "participants": [
            {
                "person_id": "MUM",
                "name": "M",
                "role": "parent",
                "child_ids": ["C1", "C2"],
                "has_parental_responsibility": True,
                "lives_with_child": True,
            },
            {
                "person_id": "SW",
                "name": "S",
                "role": "social_worker",
                "agency": "Children's Social Care",
            },
            {"person_id": "POL", "name": "P", "role": "police", "agency": "Police"},
            {"person_id": "MW", "name": "W", "role": "midwife", "agency": "Maternity"},
            {"person_id": "MW", "name": "W", "role": "midwife", "agency": "Maternity"},
        ],
        "strategy_discussion_date": "2026-11-02",
    }
    data.update(overrides)
    return data


async def publish_raw(
    url: str,
    body: bytes,
    routing_key: str,
    *,
    message_id: str | None = None,
    exchange: str = "crm.events",
) -> None:
    """Publish bytes to an exchange as the CRM's own client would."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await target.publish(
            aio_pika.Message(
                body,
                content_type="application/cloudevents+json",
                message_id=message_id,
                type=routing_key,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
        )


async def publish_event(url: str, event: dict[str, Any]) -> None:
    """Publish one CRM event as JSON."""
    await publish_raw(url, json.dumps(event).encode(), event["type"], message_id=event["id"])


async def publish_events(url: str, events: list[dict[str, Any]]) -> None:
    """Publish events in one burst, in order, on one channel (as a CRM back-fill would)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.declare_exchange(
            "crm.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        for event in events:
            await target.publish(crm_message(event), routing_key=event["type"])


def crm_message(event: dict[str, Any]) -> aio_pika.Message:
    """An event as the CRM publishes it: persistent, typed, its id as the message id."""
    return aio_pika.Message(
        json.dumps(event).encode(),
        content_type="application/cloudevents+json",
        message_id=event["id"],
        type=event["type"],
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
