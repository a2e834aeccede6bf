"""Forty kinds of bad (and odd but good) input, each ending processed, refused with a reason,
or dead-lettered with a reason, and the service still consuming afterwards."""

import asyncio
import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aio_pika
import sqlalchemy as sa

from services.app import running
from shared.runtime.settings import Settings
from shared.store.tables import inbox
from tests.support.crm import cloud_event, family_conference
from tests.support.listener import listening

PROCESSED, REFUSED, DEAD_LETTERED = "processed", "refused", "dead-lettered"


@dataclass(frozen=True)
class Case:
    """One input, how it must end, and a word its reason must contain."""

    name: str
    body: bytes
    ends: str
    reason: str = ""
    routing_key: str = "crm.conference.requested.v1"
    properties: dict[str, Any] | None = None


def _event(mutate: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    conference = f"CONF-{uuid.uuid4().hex[:8]}"
    event = cloud_event("crm.conference.requested.v1", conference, family_conference(conference))
    if mutate is not None:
        mutate(event)
    return event


def _json(mutate: Callable[[dict[str, Any]], Any] | None = None) -> bytes:
    return json.dumps(_event(mutate)).encode()


def _data(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda event: event["data"].update(changes)


def _person(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda event: event["data"]["participants"][0].update(changes)


def _many_participants(event: dict[str, Any]) -> None:
    event["data"]["participants"] = [
        {"person_id": f"P{n}", "name": "N", "role": "gp", "agency": f"Agency {n}"}
        for n in range(10_000)
    ]


def _both_birth_dates(event: dict[str, Any]) -> None:
    event["data"]["children"][0]["expected_date_of_delivery"] = "2027-01-01"


def _duplicate_people(event: dict[str, Any]) -> None:
    event["data"]["participants"].append(copy.deepcopy(event["data"]["participants"][1]))


def _raw_text(mutate: Callable[[dict[str, Any]], Any], marker: str, raw: str) -> bytes:
    """JSON whose one string holds an escape json.dumps would not write (a lone surrogate)."""
    return _json(mutate).replace(json.dumps(marker).encode(), raw.encode())


CASES = [
    Case("not JSON", b"{not json", DEAD_LETTERED, "not JSON"),
    Case("empty body", b"", DEAD_LETTERED, "not JSON"),
    Case("JSON array", b"[1, 2]", DEAD_LETTERED, "not an object"),
    Case("JSON string", b'"hello"', DEAD_LETTERED, "not an object"),
    Case("not UTF-8", b"\xff\xfe{}", DEAD_LETTERED, "not"),
    Case("20 MB body", b'{"a": "' + b"x" * 20_000_000 + b'"}', DEAD_LETTERED, "bytes"),
    Case("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, DEAD_LETTERED, "nested"),
    Case("5,000-digit integer", b'{"id": ' + b"9" * 5_000 + b"}", DEAD_LETTERED, "JSON"),
    Case("wrong specversion", _json(lambda e: e.update(specversion="0.3")), DEAD_LETTERED,
         "specversion"),
    Case("missing id", _json(lambda e: e.pop("id")), DEAD_LETTERED, "id"),
    Case("empty id", _json(lambda e: e.update(id="")), DEAD_LETTERED, "id"),
    Case("300-character id", _json(lambda e: e.update(id="x" * 300)), DEAD_LETTERED, "id"),
    Case("id with spaces", _json(lambda e: e.update(id="an id")), DEAD_LETTERED, "id"),
    Case("unknown type", _json(lambda e: e.update(type="crm.conference.exploded.v1")),
         DEAD_LETTERED, "unknown event type"),
    Case("unknown version", _json(lambda e: e.update(type="crm.conference.requested.v9")),
         DEAD_LETTERED, "unknown event type"),
    Case("type off the pattern", _json(lambda e: e.update(type="Conference Requested")),
         DEAD_LETTERED, "type"),
    Case("wrong source", _json(lambda e: e.update(source="invitations")), DEAD_LETTERED,
         "source"),
    Case("council code not three digits", _json(lambda e: e.update(tenant="abc")),
         DEAD_LETTERED, "tenant"),
    Case("unknown council code (default policy)", _json(lambda e: e.update(tenant="999")),
         PROCESSED),
    Case("missing time", _json(lambda e: e.pop("time")), DEAD_LETTERED, "time"),
    Case("time without an offset", _json(lambda e: e.update(time="2026-11-16T09:00:00")),
         DEAD_LETTERED, "time"),
    Case("missing data", _json(lambda e: e.pop("data")), DEAD_LETTERED, "data"),
    Case("data a list", _json(lambda e: e.update(data=[1])), DEAD_LETTERED, "data"),
    Case("wrong type of field", _json(_data(participants="everyone")), DEAD_LETTERED,
         "participants"),
    Case("invalid date", _json(_data(strategy_discussion_date="2026-02-30")), DEAD_LETTERED,
         "strategy_discussion_date"),
    Case("far past date", _json(_data(strategy_discussion_date="1066-10-14")), DEAD_LETTERED,
         "between 1900 and 2100"),
    Case("far future date", _json(_data(scheduled_start="3026-11-25T10:00:00+00:00")),
         DEAD_LETTERED, "between 1900 and 2100"),
    Case("unicode names", _json(_person(name="Zoë Ó Briain 李小龍 🙂")), PROCESSED),
    Case("lone surrogate", _raw_text(_person(name="MARK"), "MARK", '"\\ud800"'),
         DEAD_LETTERED, "surrogate"),
    Case("NUL character", _json(_person(name="a\x00b")), DEAD_LETTERED, "NUL"),
    Case("SQL-looking text", _json(_person(name="Robert'); DROP TABLE inbox; --")),
         PROCESSED),
    Case("10,000 participants", _json(_many_participants), DEAD_LETTERED, "participants"),
    Case("duplicate person ids", _json(_duplicate_people), PROCESSED),
    Case("300-character conference id", _json(_data(conference_id="C" * 300)), DEAD_LETTERED,
         "conference_id"),
    Case("5,000-character address",
         _json(_data(venue={"mode": "in_person", "address": "x" * 5_000})),
         DEAD_LETTERED, "address"),
    Case("virtual venue without a joining link", _json(_data(venue={"mode": "virtual"})),
         DEAD_LETTERED, "join_url"),
    Case("hybrid venue without a joining link",
         _json(_data(venue={"mode": "hybrid", "address": "Town Hall"})), DEAD_LETTERED,
         "join_url"),
    Case("initial without strategy discussion", _json(_data(strategy_discussion_date=None)),
         DEAD_LETTERED, "strategy_discussion_date"),
    Case("both birth dates", _json(_both_birth_dates), DEAD_LETTERED, "exactly one"),
    Case("professional without agency", _json(_person(role="police", agency=None)),
         DEAD_LETTERED, "agency"),
    Case("wrong content type", _json(), PROCESSED, properties={"content_type": "text/plain"}),
    Case("no AMQP properties", _json(), PROCESSED, properties={"bare": True}),
]  # fmt: skip


async def test_each_kind_of_bad_input_ends_processed_refused_or_dead_lettered(
    settings: Settings, amqp_url: str
) -> None:
    assert len(CASES) >= 30
    tags = {case.name: str(uuid.uuid4()) for case in CASES}
    good = _event()
    async with listening(amqp_url) as listener, running(["invitations"], settings) as app:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                "crm.events", aio_pika.ExchangeType.TOPIC, durable=True
            )
            for case in CASES:
                properties = case.properties or {}
                bare = properties.get("bare")
                content_type = properties.get("content_type", "application/cloudevents+json")
                message = aio_pika.Message(
                    case.body,
                    headers={"x-test-case": tags[case.name]},
                    message_id=None if bare else tags[case.name],
                    type=None if bare else case.routing_key,
                    content_type=None if bare else content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                )
                await exchange.publish(message, routing_key=case.routing_key)
            await exchange.publish(
                aio_pika.Message(json.dumps(good).encode(), message_id=good["id"]),
                routing_key=good["type"],
            )
            # the service is alive after all of it: the good event is processed
            await listener.wait_until(
                lambda seen: (
                    len(seen.of_type("invitations.invitation.issued.v1", good["subject"])) == 5
                ),
                within=60,
            )
            letters = await _dead_letters(channel, sum(c.ends == DEAD_LETTERED for c in CASES))
        processed = await _applied(app.runtime("invitations").engine, CASES)

    by_tag = {str(m.headers.get("x-test-case")): m for m in letters}
    ended = {}
    for case in CASES:
        tag = tags[case.name]
        if tag in by_tag:
            reason = str(by_tag[tag].headers["x-convene-error"])
            ended[case.name] = (DEAD_LETTERED, case.reason.lower() in reason.lower())
        elif case.name in processed:
            ended[case.name] = (PROCESSED, True)
        else:
            ended[case.name] = ("nothing", False)
    assert ended == {case.name: (case.ends, True) for case in CASES}
    # a rejection names every refused event whose id and type could be read
    refused_ids = {e["data"]["event_id"] for e in listener.of_type("invitations.input.rejected.v1")}
    for case in CASES:
        if case.ends == DEAD_LETTERED and case.name in ("wrong type of field", "invalid date"):
            assert json.loads(case.body)["id"] in refused_ids


async def _dead_letters(
    channel: aio_pika.abc.AbstractChannel, count: int
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """What reached the dead letter queue, once `count` have (or 30 s have passed: the
    comparison then says which are missing)."""
    dlq = await channel.declare_queue("invitations.incoming.dlq", passive=True)
    taken: list[aio_pika.abc.AbstractIncomingMessage] = []
    deadline = asyncio.get_running_loop().time() + 30
    while len(taken) < count and asyncio.get_running_loop().time() < deadline:
        message = await dlq.get(fail=False, no_ack=True)
        if message is None:
            await asyncio.sleep(0.05)  # poll for the dead letters
        else:
            taken.append(message)
    return taken


async def _applied(engine: Any, cases: list[Case]) -> set[str]:
    """The cases whose event the service applied (by the event id in their body)."""
    ids = {}
    for case in cases:
        if case.ends == PROCESSED:
            body = json.loads(case.body)
            ids[(body["tenant"], body["id"])] = case.name
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(inbox.c.tenant, inbox.c.event_id).where(inbox.c.outcome == "applied")
        )
        return {
            ids[(row.tenant, row.event_id)] for row in rows if (row.tenant, row.event_id) in ids
        }
