"""Early events wait, failures are retried through the broker, order holds meanwhile."""

import asyncio
import json
from collections.abc import Iterable
from typing import Any

import aio_pika
import pytest

from services.app import running
from shared.application.ordering import Sequencer
from shared.runtime.settings import Settings
from shared.store import parking
from tests.faults.conftest import FailingReports
from tests.support.crm import cloud_event, family_conference, publish_event, publish_events
from tests.support.listener import Listener, listening

DOCUMENT = {"uri": "crm://r", "sha256": "d" * 64, "media_type": "application/pdf"}


def report(conference: str, report_id: str, author: str, agency: str) -> dict[str, Any]:
    return cloud_event(
        "crm.report.submitted.v1",
        conference,
        {
            "conference_id": conference,
            "report_id": report_id,
            "author_person_id": author,
            "agency": agency,
            "submitted_at": "2026-11-17T10:00:00+00:00",
            "document": DOCUMENT,
            "sections": ["voice_of_child"],
        },
        time="2026-11-17T10:00:00Z",
    )


def requested(conference: str) -> dict[str, Any]:
    return cloud_event("crm.conference.requested.v1", conference, family_conference(conference))


def received(listener: Listener, conference: str) -> list[str]:
    return [
        e["data"]["report_id"] for e in listener.of_type("reports.report.received.v1", conference)
    ]


async def test_events_before_their_conference_wait_and_are_applied_in_order(
    settings: Settings, amqp_url: str, database: str
) -> None:
    async with listening(amqp_url) as listener, running(["reports"], settings):
        await publish_events(
            amqp_url,
            [
                report("CONF-EARLY", "R-SW", "SW", "Children's Social Care"),
                report("CONF-EARLY", "R-POL", "POL", "Police"),
                requested("CONF-EARLY"),
            ],
        )
        await listener.wait_until(lambda seen: len(received(seen, "CONF-EARLY")) == 2)
        await listener.settle()
    assert received(listener, "CONF-EARLY") == ["R-SW", "R-POL"]
    assert not listener.of_type("reports.input.rejected.v1")


async def test_a_correction_before_the_outcome_it_corrects_waits_for_it(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conference = "CONF-CORR-FIRST"

    def outcome(category: str, **extra: Any) -> dict[str, Any]:
        return cloud_event(
            "crm.outcome.decided.v1",
            conference,
            {
                "conference_id": conference,
                "decided_at": "2026-11-25T12:30:00+00:00",
                "decided_by": "CHAIR",
                "children": [
                    {"child_id": c, "decision": "child_protection_plan", "categories": [category]}
                    for c in ("C1", "C2")
                ],
                "recommendations": [],
                **extra,
            },
            time="2026-11-25T12:30:00Z",
        )

    held = cloud_event(
        "crm.conference.held.v1",
        conference,
        {
            "conference_id": conference,
            "held_on": "2026-11-25",
            "attended": ["CHAIR", "SW", "POL", "MW"],
        },
        time="2026-11-25T12:00:00Z",
    )
    correction = outcome("physical", correction_reason="category recorded in error")
    async with listening(amqp_url) as listener, running(["decisions"], settings):
        await publish_events(
            amqp_url, [requested(conference), held, correction, outcome("neglect")]
        )
        await listener.wait_until(
            lambda seen: len(seen.of_type("decisions.outcome.recorded.v1")) == 2
        )
        await listener.settle()
    first, second = (e["data"] for e in listener.of_type("decisions.outcome.recorded.v1"))
    assert second["supersedes"] == first["record_id"]
    assert [c["census_category"] for c in second["children"]] == ["PHY", "PHY"]
    assert not listener.of_type("decisions.input.rejected.v1")


async def test_a_failure_is_retried_through_the_broker_and_later_events_wait_for_it(
    settings: Settings, amqp_url: str, database: str, failing_reports: FailingReports
) -> None:
    tries = failing_reports.fail("R-FLAKY", 3)  # every immediate try fails; the delayed one works
    async with listening(amqp_url) as listener, running(["reports"], settings):
        await publish_events(amqp_url, [requested("CONF-FLAKY"), requested("CONF-OTHER")])
        await listener.wait_until(
            lambda seen: len(seen.of_type("reports.report.requested.v1")) == 6
        )
        await publish_events(
            amqp_url,
            [
                report("CONF-FLAKY", "R-FLAKY", "SW", "Children's Social Care"),
                report("CONF-FLAKY", "R-AFTER", "POL", "Police"),
                report("CONF-OTHER", "R-ELSEWHERE", "POL", "Police"),
            ],
        )
        await listener.wait_until(lambda seen: len(received(seen, "CONF-OTHER")) == 1)
        assert received(listener, "CONF-FLAKY") == []  # R-AFTER waits behind R-FLAKY
        await listener.wait_until(lambda seen: len(received(seen, "CONF-FLAKY")) == 2)
        await listener.settle()
    assert tries == ["R-FLAKY"] * 4
    assert received(listener, "CONF-FLAKY") == ["R-FLAKY", "R-AFTER"]
    assert not listener.of_type("reports.input.rejected.v1")


async def test_a_failure_that_persists_is_dead_lettered_after_the_delayed_retries(
    settings: Settings, amqp_url: str, database: str, failing_reports: FailingReports
) -> None:
    tries = failing_reports.fail("R-BROKEN")
    async with listening(amqp_url) as listener, running(["reports"], settings):
        await publish_event(amqp_url, requested("CONF-BROKEN"))
        await listener.wait_until(
            lambda seen: len(seen.of_type("reports.report.requested.v1")) == 3
        )
        await publish_events(
            amqp_url,
            [
                report("CONF-BROKEN", "R-BROKEN", "SW", "Children's Social Care"),
                report("CONF-BROKEN", "R-NEXT", "POL", "Police"),
            ],
        )
        # once R-BROKEN is given up on, R-NEXT no longer waits
        await listener.wait_until(lambda seen: received(seen, "CONF-BROKEN") == ["R-NEXT"])
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            dlq = await channel.declare_queue("reports.incoming.dlq", passive=True)
            letter = await dlq.get(timeout=5, no_ack=True)
    # three immediate tries, then one delayed retry (CONVENE_RETRY_DELAYS=1) of three more
    assert len(tries) == 6
    assert json.loads(letter.body)["data"]["report_id"] == "R-BROKEN"
    assert letter.headers["x-convene-attempts"] == 6
    assert letter.headers["x-convene-delayed-retries"] == 1
    assert letter.headers["x-convene-error-type"] == "RuntimeError"
    assert letter.headers["x-convene-original-routing-key"] == "crm.report.submitted.v1"


async def test_an_event_id_used_again_for_other_content_is_refused(
    settings: Settings, amqp_url: str, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = requested("CONF-REUSED")
    other = requested("CONF-SOMETHING-ELSE")
    other["id"] = first["id"]
    # The first published is slow to apply (a busy database, say): it is held until the
    # later delivery of another conference has either been queued behind it or checked the
    # inbox itself (free to run beside it). That delivery must still not take the id.
    checking, submit = parking.before_applying_all, Sequencer.submit
    other_went = asyncio.Event()

    def watching(self: Sequencer, keys: Iterable[str], work: Any) -> None:
        keys = list(keys)
        if any(k.endswith("CONF-SOMETHING-ELSE") for k in keys) and any(
            k in self._tails for k in keys
        ):
            other_went.set()  # it waits for an earlier delivery: nothing to race
        submit(self, keys, work)

    async def slow_first(connection: Any, events: list[tuple[str, list[str], str]]) -> Any:
        keys = [key for _tenant, of_event, _id in events for key in of_event]
        if any(key.endswith("CONF-REUSED") for key in keys) and not other_went.is_set():
            async with asyncio.timeout(20):
                await other_went.wait()
        found = await checking(connection, events)
        if any(key.endswith("CONF-SOMETHING-ELSE") for key in keys):
            other_went.set()  # it ran beside the first and is about to record the id
        return found

    monkeypatch.setattr(Sequencer, "submit", watching)
    monkeypatch.setattr(parking, "before_applying_all", slow_first)
    async with listening(amqp_url) as listener, running(["reports"], settings):
        await publish_events(amqp_url, [first, first, other])
        await listener.wait_until(lambda seen: len(seen.of_type("reports.input.rejected.v1")) == 1)
        await listener.settle()
    (refusal,) = listener.of_type("reports.input.rejected.v1")
    assert refusal["data"]["event_id"] == first["id"]
    assert "already used for a different event" in refusal["data"]["reasons"][0]
    assert {e["subject"] for e in listener.of_type("reports.report.requested.v1")} == {
        "CONF-REUSED"
    }
    assert len(listener.of_type("reports.report.requested.v1")) == 3


async def test_an_event_whose_conference_never_comes_is_refused_after_waiting(
    settings: Settings, amqp_url: str
) -> None:
    patient = settings.model_copy(update={"park_expiry_seconds": 1.5})
    orphan = report("CONF-NEVER", "R-ORPHAN", "SW", "Children's Social Care")
    async with listening(amqp_url) as listener, running(["reports"], patient):
        await publish_event(amqp_url, orphan)
        await listener.wait_until(
            lambda seen: len(seen.of_type("reports.input.rejected.v1")) == 1, within=30
        )
    (refusal,) = listener.of_type("reports.input.rejected.v1")
    assert refusal["data"]["event_id"] == orphan["id"]
    assert "conference CONF-NEVER is not known yet" in refusal["data"]["reasons"][0]
    assert refusal["data"]["reasons"][0].startswith("waited ")
