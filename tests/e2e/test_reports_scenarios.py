"""Reports scenarios on the real broker: raw CloudEvents in, facts out, time moved by hand."""

from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from services.app import running
from shared.clock import ManualClock
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.listener import Listener, listening

DAD = {
    "person_id": "DAD",
    "name": "D",
    "role": "parent",
    "child_ids": ["C1", "C2"],
    "has_parental_responsibility": True,
    "lives_with_child": False,
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def submitted(
    conference: str, report_id: str, author: str, agency: str, when: str, **extra: Any
) -> dict[str, Any]:
    data = {
        "conference_id": conference,
        "report_id": report_id,
        "author_person_id": author,
        "agency": agency,
        "submitted_at": when,
        "document": {
            "uri": f"crm://{report_id}",
            "sha256": "d" * 64,
            "media_type": "application/pdf",
        },
        "sections": [
            "voice_of_child",
            "family_strengths",
            "developmental_needs",
            "parental_capacity",
            "wider_factors",
        ],
        **extra,
    }
    return cloud_event("crm.report.submitted.v1", conference, data, time=when)


def requested(
    conference: str, when: str = "2026-11-16T09:00:00Z", **changes: Any
) -> dict[str, Any]:
    data = family_conference(conference, **changes)
    data["participants"].append(DAD)
    return cloud_event("crm.conference.requested.v1", conference, data, time=when)


def of(listener: Listener, kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in listener.of_type(f"reports.{kind}.v1")]


async def test_a_police_report_is_withheld_and_its_restricted_part_reaches_only_the_chair(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conference = "CONF-POLICE"
    async with listening(amqp_url) as listener, running(["reports"], settings):
        await publish_event(amqp_url, requested(conference))
        await listener.wait_until(lambda seen: len(of(seen, "report.requested")) == 3)
        await publish_event(
            amqp_url,
            submitted(
                conference,
                "R-POL",
                "POL",
                "Police",
                "2026-11-19T10:00:00+00:00",
                restricted_document={
                    "uri": "crm://R-POL-restricted",
                    "sha256": "e" * 64,
                    "media_type": "application/pdf",
                },
                shareable_with_family=False,
            ),
        )
        await publish_event(
            amqp_url,
            submitted(
                conference,
                "R-SW",
                "SW",
                "Children's Social Care",
                "2026-11-19T11:00:00+00:00",
                restricted_document={
                    "uri": "crm://R-SW-third-party",
                    "sha256": "f" * 64,
                    "media_type": "application/pdf",
                },
            ),
        )
        await listener.wait_until(
            lambda seen: (
                len(of(seen, "report.shared")) == 5 and len(of(seen, "report.withheld")) == 2
            )
        )
        await listener.settle()
    shares = {(s["report_id"], s["recipient_person_id"]): s for s in of(listener, "report.shared")}
    # the police report reaches the allocated social worker too (without its restricted
    # part, though the family may not see it); the social worker's own report does not
    assert set(shares) == {
        ("R-POL", "CHAIR"),
        ("R-POL", "SW"),
        ("R-SW", "CHAIR"),
        ("R-SW", "MUM"),
        ("R-SW", "DAD"),
    }
    assert shares[("R-POL", "CHAIR")]["includes_restricted"] is True
    assert shares[("R-POL", "CHAIR")]["restricted_document_uri"] == "crm://R-POL-restricted"
    for (_report, person), share in shares.items():
        if person != "CHAIR":
            assert share["includes_restricted"] is False
            assert share["restricted_document_uri"] is None
            assert (
                "restricted" not in share["document_uri"]
                and "third-party" not in share["document_uri"]
            )
            assert share["on_time"] is True  # shared on the 19th, due to the family by the 23rd
    withheld = of(listener, "report.withheld")
    assert {(w["recipient_person_id"], w["reason"]) for w in withheld} == {
        ("MUM", "not_shareable_before_conference"),
        ("DAD", "not_shareable_before_conference"),
    }
    assert {tuple(w["notify"]) for w in withheld} == {("CHAIR",)}
    for message in listener.messages:  # nothing a family member is sent names a restricted part
        event = message.body.decode()
        if '"recipient_person_id":"MUM"' in event or '"recipient_person_id":"DAD"' in event:
            assert "crm://R-POL-restricted" not in event and "third-party" not in event


async def test_a_late_agency_is_reminded_chased_and_reported_missing(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conference = "CONF-LATE"
    clock = ManualClock(at("2026-11-16T09:00:00"))
    async with listening(amqp_url) as listener, running(["reports"], settings, clock=clock):
        await publish_event(amqp_url, requested(conference))
        await listener.wait_until(lambda seen: len(of(seen, "report.requested")) == 3)
        clock.set(at("2026-11-17T11:00:00"))  # the CRM sends each report as it comes
        await publish_event(
            amqp_url,
            submitted(
                conference, "R-SW", "SW", "Children's Social Care", "2026-11-17T10:00:00+00:00"
            ),
        )
        await publish_event(
            amqp_url, submitted(conference, "R-MW", "MW", "Maternity", "2026-11-17T11:00:00+00:00")
        )
        await listener.wait_until(lambda seen: len(of(seen, "report.received")) == 2)
        clock.set(at("2026-11-18T09:00:00"))  # two working days before the 20th
        await listener.wait_until(lambda seen: len(of(seen, "reminder.sent")) == 1)
        # the 20th is over: people hear the next working day, Monday 23rd, at 09:00
        clock.set(at("2026-11-23T09:00:00"))
        await listener.wait_until(
            lambda seen: (
                len(of(seen, "report.overdue")) == 1 and len(of(seen, "readiness.assessed")) == 1
            )
        )
        clock.set(at("2026-11-24T09:00:00"))
        await publish_event(
            amqp_url, submitted(conference, "R-POL", "POL", "Police", "2026-11-24T09:00:00+00:00")
        )
        await listener.wait_until(lambda seen: len(of(seen, "report.received")) == 3)
        await listener.settle()
    # a reminder before each deadline: the chair's (20th) and the family's (23rd)
    assert [
        (r["author_person_id"], r["deadline"], r["due_by"]) for r in of(listener, "reminder.sent")
    ] == [("POL", "chair", "2026-11-20"), ("POL", "family", "2026-11-23")]
    # chased when each passed: told on the next working day; the facts carry the deadline
    overdue = of(listener, "report.overdue")
    assert [(o["agency"], o["deadline"], o["due_by"]) for o in overdue] == [
        ("Police", "chair", "2026-11-20"),
        ("Police", "family", "2026-11-23"),
    ]
    assert overdue[0]["notify"] == ["POL", "SW", "CHAIR"]
    [summary] = of(listener, "readiness.assessed")
    assert summary == {
        "conference_id": conference,
        "received": ["Children's Social Care", "Maternity"],
        "missing": ["Police"],
        "family_shared_on_time": False,
    }
    late = next(r for r in of(listener, "report.received") if r["report_id"] == "R-POL")
    assert late["on_time"] is False
    family = [
        s
        for s in of(listener, "report.shared")
        if s["report_id"] == "R-POL" and s["recipient_person_id"] != "CHAIR"
    ]
    assert {s["on_time"] for s in family} == {False}  # after 23 November: recorded as late
    timers = [
        e
        for e in listener.events
        if e["type"] in ("reports.report.overdue.v1", "reports.readiness.assessed.v1")
    ]
    assert {e["time"] for e in timers} == {"2026-11-23T09:00:00Z", "2026-11-24T09:00:00Z"}


async def test_a_conference_at_short_notice_starts_with_its_deadlines_past(
    settings: Settings, amqp_url: str
) -> None:
    conference = "CONF-SHORT"
    clock = ManualClock(at("2026-11-23T09:00:00"))
    async with listening(amqp_url) as listener, running(["reports"], settings, clock=clock):
        await publish_event(amqp_url, requested(conference, when="2026-11-23T09:00:00Z"))
        await listener.wait_until(
            lambda seen: (
                len(of(seen, "report.overdue")) == 3 and len(of(seen, "readiness.assessed")) == 1
            )
        )
        await listener.settle()
    assert {r["short_notice"] for r in of(listener, "report.requested")} == {True}
    assert not of(listener, "reminder.sent")  # no reminder for a deadline already gone
    assert of(listener, "readiness.assessed")[0]["missing"] == [
        "Children's Social Care",
        "Police",
        "Maternity",
    ]


async def test_a_reschedule_moves_every_deadline_and_timer(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conference = "CONF-MOVE"
    clock = ManualClock(at("2026-11-16T09:00:00"))
    async with listening(amqp_url) as listener, running(["reports"], settings, clock=clock):
        await publish_event(amqp_url, requested(conference))
        await listener.wait_until(lambda seen: len(of(seen, "report.requested")) == 3)
        clock.set(at("2026-11-17T09:00:00"))
        await publish_event(
            amqp_url,
            cloud_event(
                "crm.conference.rescheduled.v1",
                conference,
                {
                    "conference_id": conference,
                    "scheduled_start": "2026-12-09T10:00:00+00:00",
                    "reason": "Interpreter unavailable",
                },
                time="2026-11-17T09:00:00Z",
            ),
        )
        await listener.wait_until(lambda seen: len(of(seen, "report.requested")) == 6)
        clock.set(at("2026-11-21T00:00:00"))  # the old deadline passes: nothing is due
        await listener.settle()
        assert not of(listener, "report.overdue") and not of(listener, "reminder.sent")
        clock.set(at("2026-12-02T09:00:00"))  # two working days before the new deadline
        await listener.wait_until(lambda seen: len(of(seen, "reminder.sent")) == 3)
    moved = of(listener, "report.requested")[3:]
    assert {(r["due_to_chair"], r["share_with_family_by"]) for r in moved} == {
        ("2026-12-04", "2026-12-07")
    }
    assert {r["request_id"] for r in moved} == {
        r["request_id"] for r in of(listener, "report.requested")[:3]
    }
    assert {r["due_to_chair"] for r in of(listener, "reminder.sent")} == {"2026-12-04"}


async def test_timers_fire_once_across_a_restart_with_two_replicas(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conference = "CONF-RESTART"
    clock = ManualClock(at("2026-11-16T09:00:00"))
    async with listening(amqp_url) as listener:
        async with running(["reports"], settings, clock=clock):
            await publish_event(amqp_url, requested(conference))
            await listener.wait_until(lambda seen: len(of(seen, "report.requested")) == 3)
        # stopped between scheduling and firing; two replicas come back
        async with AsyncExitStack() as replicas:
            for _ in range(2):
                await replicas.enter_async_context(running(["reports"], settings, clock=clock))
            clock.set(at("2026-11-23T09:00:00"))
            await listener.wait_until(
                lambda seen: (
                    len(of(seen, "report.overdue")) == 3 and len(of(seen, "reminder.sent")) == 6
                )
            )
            await listener.settle(1.0)
    assert len(of(listener, "reminder.sent")) == 6  # before the chair's and the family's deadline
    assert len(of(listener, "report.overdue")) == 3
    assert len(of(listener, "readiness.assessed")) == 1


async def test_family_reports_new_family_members_and_reports_withheld_by_the_chair(
    settings: Settings, amqp_url: str
) -> None:
    conference = "CONF-FAMILY"
    exclusion = {
        "conference_id": conference,
        "person_id": "DAD",
        "decided_by": "CHAIR",
        "decided_at": "2026-11-18T09:00:00+00:00",
        "scope": "whole",
        "grounds": ["risk_of_violence"],
        "reason": "Threats.",
        "withhold_reports": True,
    }
    async with listening(amqp_url) as listener, running(["invitations", "reports"], settings):
        await publish_event(amqp_url, requested(conference))
        await listener.wait_until(lambda seen: len(of(seen, "report.requested")) == 3)
        await publish_event(
            amqp_url,
            submitted(
                conference, "R-SW", "SW", "Children's Social Care", "2026-11-17T10:00:00+00:00"
            ),
        )
        await listener.wait_until(lambda seen: len(of(seen, "report.shared")) == 3)
        await publish_event(
            amqp_url,
            cloud_event(
                "crm.exclusion.decided.v1", conference, exclusion, time="2026-11-18T09:00:00Z"
            ),
        )
        await listener.wait_until(
            lambda seen: bool(seen.of_type("invitations.exclusion.recorded.v1"))
        )
        await listener.settle()
        await publish_event(
            amqp_url,
            submitted(
                conference, "R-MUM", "MUM", "family", "2026-11-19T10:00:00+00:00", sections=[]
            ),
        )
        await publish_event(
            amqp_url,
            submitted(
                conference, "R-YOT", "YOT1", "Youth Offending Team", "2026-11-19T11:00:00+00:00"
            ),
        )
        await publish_event(
            amqp_url,
            cloud_event(
                "crm.participant.added.v1",
                conference,
                {
                    "conference_id": conference,
                    "participant": {
                        "person_id": "GRAN",
                        "name": "G",
                        "role": "family_member",
                        "child_ids": ["C1"],
                    },
                },
                time="2026-11-20T09:00:00Z",
            ),
        )
        await listener.wait_until(lambda seen: len(of(seen, "report.received")) == 3)
        await listener.settle()
        # a family member who is not a parent or carer: nothing until the chair says so
        assert not any(s["recipient_person_id"] == "GRAN" for s in of(listener, "report.shared"))
        chair_says = {
            "conference_id": conference,
            "person_id": "GRAN",
            "decided_by": "CHAIR",
            "decided_at": "2026-11-20T10:00:00+00:00",
            "receives_reports": True,
        }
        said = cloud_event(
            "crm.family_sharing.decided.v1", conference, chair_says, time="2026-11-20T10:00:00Z"
        )
        await publish_event(amqp_url, said)
        await listener.wait_until(
            lambda seen: any(s["recipient_person_id"] == "GRAN" for s in of(seen, "report.shared"))
        )
        await listener.settle()
    received = {r["report_id"]: r for r in of(listener, "report.received")}
    assert received["R-MUM"]["family_authored"] is True and received["R-MUM"]["request_id"] is None
    assert received["R-YOT"]["unrequested"] is True and received["R-YOT"]["request_id"] is None
    shares = {(s["report_id"], s["recipient_person_id"]) for s in of(listener, "report.shared")}
    assert ("R-MUM", "CHAIR") in shares and not any(
        r == "R-MUM" and p != "CHAIR" for r, p in shares
    )  # the family's own report: chair only
    assert ("R-YOT", "MUM") in shares and ("R-YOT", "DAD") not in shares
    assert {("R-SW", "GRAN"), ("R-YOT", "GRAN")} <= shares  # from the chair's yes, what arrived
    assert ("R-YOT", "SW") in shares and ("R-SW", "SW") not in shares  # the allocated worker
    withheld = {
        (w["report_id"], w["recipient_person_id"], w["reason"])
        for w in of(listener, "report.withheld")
    }
    assert withheld == {("R-YOT", "DAD", "chair_ordered")}
    counts = [(s["report_id"], s["recipient_person_id"]) for s in of(listener, "report.shared")]
    assert len(counts) == len(set(counts))  # each once


async def test_cancellation_stops_the_chasing_and_later_reports_are_rejected(
    settings: Settings, amqp_url: str
) -> None:
    conference = "CONF-CANCELLED"
    clock = ManualClock(at("2026-11-16T09:00:00"))
    async with listening(amqp_url) as listener, running(["reports"], settings, clock=clock):
        await publish_event(amqp_url, requested(conference))
        await listener.wait_until(lambda seen: len(of(seen, "report.requested")) == 3)
        await publish_event(
            amqp_url,
            cloud_event(
                "crm.conference.cancelled.v1",
                conference,
                {"conference_id": conference, "reason": "Strategy discussion decided otherwise"},
            ),
        )
        clock.set(at("2026-11-17T10:00:00"))
        await publish_event(
            amqp_url,
            submitted(
                conference, "R-SW", "SW", "Children's Social Care", "2026-11-17T10:00:00+00:00"
            ),
        )
        await listener.wait_until(lambda seen: bool(of(seen, "input.rejected")))
        clock.set(at("2026-11-25T00:00:00"))
        await listener.settle(1.0)
    assert of(listener, "input.rejected")[0]["reasons"] == [
        f"conference {conference} was cancelled"
    ]
    assert not (
        of(listener, "reminder.sent")
        or of(listener, "report.overdue")
        or of(listener, "readiness.assessed")
        or of(listener, "report.received")
    )
