"""An event that keeps failing is retried, dead-lettered, listed, and, once the cause is
fixed, replayed to the same records as if it had never failed."""

import asyncio
import json

import aio_pika
from pydantic import SecretStr

from services.app import running
from shared.broker.deadletters import list_dead_letters, replay_dead_letters
from shared.runtime.settings import Settings
from tests.faults.conftest import FailingReports
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.listener import listening


async def test_a_failing_report_is_dead_lettered_then_replayed(
    settings: Settings, amqp_url: str, database: str, failing_reports: FailingReports
) -> None:
    failing_reports.fail("R-EARLY")
    report = cloud_event(
        "crm.report.submitted.v1",
        "CONF-EARLY",
        {
            "conference_id": "CONF-EARLY",
            "report_id": "R-EARLY",
            "author_person_id": "SW",
            "agency": "Children's Social Care",
            "submitted_at": "2026-11-19T10:00:00+00:00",
            "document": {"uri": "crm://r", "sha256": "c" * 64, "media_type": "application/pdf"},
            "sections": ["voice_of_child"],
        },
    )
    requested = cloud_event(
        "crm.conference.requested.v1", "CONF-EARLY", family_conference("CONF-EARLY")
    )
    async with listening(amqp_url) as listener, running(["reports"], settings):
        await publish_event(amqp_url, requested)
        await listener.wait_until(
            lambda seen: len(seen.of_type("reports.report.requested.v1")) == 3
        )
        await publish_event(amqp_url, report)  # fails on every immediate and delayed try
        await _wait_for_dead_letters(amqp_url, "reports", 1)
        letters = await list_dead_letters(amqp_url, "reports")
        assert await list_dead_letters(amqp_url, "reports") == letters  # listing keeps them
        failing_reports.fix()
        assert await replay_dead_letters(amqp_url, "reports") == 1
        await listener.wait_until(lambda seen: bool(seen.of_type("reports.report.received.v1")))
        await listener.settle()

    [letter] = letters
    assert (letter.message_id, letter.event_type) == (report["id"], report["type"])
    # every immediate try, for the first delivery and for each delayed retry
    retries = len(settings.retry_delay_list())
    assert letter.error_type == "RuntimeError"
    assert letter.attempts == settings.max_attempts * (1 + retries)
    assert "the document store did not answer" in letter.error
    received = listener.of_type("reports.report.received.v1")
    assert len(received) == 1 and received[0]["data"]["on_time"] is True
    assert received[0]["causationid"] == report["id"]
    assert not await list_dead_letters(amqp_url, "reports")


async def test_replay_of_something_already_processed_changes_nothing(
    settings: Settings, amqp_url: str
) -> None:
    requested = cloud_event("crm.conference.requested.v1", "CONF-R2", family_conference("CONF-R2"))
    async with listening(amqp_url) as listener, running(["invitations"], settings):
        await publish_event(amqp_url, requested)
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.invitation.issued.v1")) == 5
        )
        connection = await aio_pika.connect(amqp_url)
        async with connection:  # the same event finds its way to the dead letters
            channel = await connection.channel(publisher_confirms=True)
            dlx = await channel.declare_exchange("invitations.dlx", passive=True)
            await dlx.publish(
                aio_pika.Message(json.dumps(requested).encode(), message_id=requested["id"]),
                routing_key="invitations.incoming.dlq",
            )
        assert await replay_dead_letters(amqp_url, "invitations") == 1
        await _wait_for_dead_letters(amqp_url, "invitations", 0)
        await listener.settle()
    assert len(listener.of_type("invitations.invitation.issued.v1")) == 5
    assert not listener.of_type("invitations.input.rejected.v1")


async def _dead_letter_count(url: str, service: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{service}.incoming.dlq", passive=True)
        return queue.declaration_result.message_count or 0


async def _wait_for_dead_letters(url: str, service: str, count: int) -> None:
    async with asyncio.timeout(20):
        while await _dead_letter_count(url, service) != count:
            await asyncio.sleep(0.05)  # poll for the condition


async def test_a_replay_moves_only_what_was_there_and_a_failure_stays_dead_lettered_once(
    settings: Settings, amqp_url: str
) -> None:
    broken = [
        cloud_event("crm.conference.requested.v1", f"CONF-BAD-{n}", {"conference_id": "x"})
        for n in range(5)
    ]  # schema failures: dead-lettered at once, again on every replay
    async with running(["invitations"], settings):
        for event in broken:
            await publish_event(amqp_url, event)
        await _wait_for_dead_letters(amqp_url, "invitations", 5)
        # each replayed message is dead-lettered again while the replay is still running;
        # the replay takes only the five that were there when it started
        assert await replay_dead_letters(amqp_url, "invitations") == 5
        await _wait_for_dead_letters(amqp_url, "invitations", 5)
        assert await replay_dead_letters(amqp_url, "invitations") == 5
        await _wait_for_dead_letters(amqp_url, "invitations", 5)
    letters = await list_dead_letters(amqp_url, "invitations")
    assert sorted(d.message_id or "" for d in letters) == sorted(e["id"] for e in broken)


async def test_dead_letters_are_listed_and_replayed_per_council(
    settings: Settings, amqp_url: str, failing_reports: FailingReports
) -> None:
    failing_reports.fail("R-COUNCIL")
    report = {
        "conference_id": "CONF-COUNCIL",
        "report_id": "R-COUNCIL",
        "author_person_id": "SW",
        "agency": "Children's Social Care",
        "submitted_at": "2026-11-19T10:00:00+00:00",
        "document": {"uri": "crm://r", "sha256": "c" * 64, "media_type": "application/pdf"},
        "sections": ["voice_of_child"],
    }
    failing = {
        tenant: cloud_event("crm.report.submitted.v1", "CONF-COUNCIL", report, tenant=tenant)
        for tenant in ("886", "807")
    }
    async with listening(amqp_url) as listener, running(["reports"], settings):
        for tenant, event in failing.items():  # two councils, the same conference id
            await publish_event(
                amqp_url,
                cloud_event(
                    "crm.conference.requested.v1",
                    "CONF-COUNCIL",
                    family_conference("CONF-COUNCIL"),
                    tenant=tenant,
                ),
            )
            await publish_event(amqp_url, event)
        await _wait_for_dead_letters(amqp_url, "reports", 2)
        listed = await list_dead_letters(amqp_url, "reports", tenant="807")
        assert [d.message_id for d in listed] == [failing["807"]["id"]]
        failing_reports.fix()
        assert await replay_dead_letters(amqp_url, "reports", tenant="807") == 1
        # 807's is now applied; 886's is still dead-lettered
        await listener.wait_until(lambda seen: bool(seen.of_type("reports.report.received.v1")))
        await _wait_for_dead_letters(amqp_url, "reports", 1)
        await listener.settle()
    [left] = await list_dead_letters(amqp_url, "reports")
    assert left.message_id == failing["886"]["id"]
    assert [e["tenant"] for e in listener.of_type("reports.report.received.v1")] == ["807"]


async def test_a_message_the_broker_dead_lettered_is_replayed_signed_for_its_sender(
    settings: Settings, amqp_url: str
) -> None:
    """A message the broker dead-lettered (its delivery limit) has no signed sender; a replay
    with the service's key signs it for the sender RabbitMQ checked, so the secure profile
    still knows who sent it. A replay without the key leaves it unsigned: refused."""
    key = "replay-secret"
    secure = settings.model_copy(
        update={
            "verify_producers": True,
            "producer_users": "crm=guest,invitations=guest,reports=guest,decisions=guest",
            "handback_key": SecretStr(key),
        }
    )
    signed = cloud_event("crm.conference.requested.v1", "CONF-DL-1", family_conference("CONF-DL-1"))
    unsigned = cloud_event(
        "crm.conference.requested.v1", "CONF-DL-2", family_conference("CONF-DL-2")
    )
    async with listening(amqp_url) as listener, running(["invitations"], secure):
        connection = await aio_pika.connect(amqp_url)
        async with connection:  # as the broker leaves it: the CRM's user_id, no headers of ours
            channel = await connection.channel(publisher_confirms=True)
            dlx = await channel.declare_exchange("invitations.dlx", passive=True)
            for event in (signed, unsigned):
                await dlx.publish(
                    aio_pika.Message(
                        json.dumps(event).encode(), message_id=event["id"], user_id="guest"
                    ),
                    routing_key="invitations.incoming.dlq",
                )
        assert (
            await replay_dead_letters(amqp_url, "invitations", limit=1, handback_key=key.encode())
            == 1
        )
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.invitation.issued.v1", "CONF-DL-1")) == 5
        )
        assert await replay_dead_letters(amqp_url, "invitations", limit=1) == 1
        await listener.wait_until(lambda seen: bool(seen.of_type("invitations.input.rejected.v1")))
    (refusal,) = listener.of_type("invitations.input.rejected.v1")
    assert refusal["data"]["event_id"] == unsigned["id"]
    assert "without a valid signature" in refusal["data"]["reasons"][0]
    assert not listener.of_type("invitations.invitation.issued.v1", "CONF-DL-2")
