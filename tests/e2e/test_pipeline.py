"""The whole flow on the real broker: raw CloudEvents in as the CRM sends them, facts out."""

import json

from services.app import running
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.listener import listening

ALL = ("invitations", "reports", "decisions")


async def test_initial_conference_flows_through_all_three_services(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conference = "CONF-E2E-1"
    requested = cloud_event(
        "crm.conference.requested.v1", conference, family_conference(conference)
    )
    async with listening(amqp_url) as listener, running(ALL, settings) as app:
        await publish_event(amqp_url, requested)
        await listener.wait_until(
            lambda seen: (
                len(seen.of_type("reports.report.requested.v1")) == 3
                and len(seen.of_type("invitations.invitation.issued.v1")) == 5
                and len(seen.of_type("invitations.timescale.breached.v1")) == 1
            )
        )
        await publish_event(
            amqp_url,
            cloud_event(
                "crm.report.submitted.v1",
                conference,
                {
                    "conference_id": conference,
                    "report_id": "R1",
                    "author_person_id": "POL",
                    "agency": "police",
                    "submitted_at": "2026-11-23T10:00:00+00:00",
                    "document": {
                        "uri": "crm://r1",
                        "sha256": "b" * 64,
                        "media_type": "application/pdf",
                    },
                    "shareable_with_family": False,
                    "sections": ["voice_of_child", "wider_factors"],
                },
                time="2026-11-23T10:00:00Z",
            ),
        )
        await publish_event(
            amqp_url,
            cloud_event(
                "crm.conference.held.v1",
                conference,
                {
                    "conference_id": conference,
                    "held_on": "2026-11-25",
                    "attended": ["CHAIR", "MUM", "SW", "POL", "MW"],
                },
                time="2026-11-25T12:00:00Z",
            ),
        )
        await listener.wait_until(lambda seen: bool(seen.of_type("reports.report.received.v1")))
        await publish_event(
            amqp_url,
            cloud_event(
                "crm.outcome.decided.v1",
                conference,
                {
                    "conference_id": conference,
                    "decided_at": "2026-11-25T12:00:00+00:00",
                    "decided_by": "CHAIR",
                    "children": [
                        {
                            "child_id": "C1",
                            "decision": "child_protection_plan",
                            "categories": ["physical", "emotional"],
                            "reason": "r",
                        },
                        {
                            "child_id": "C2",
                            "decision": "child_protection_plan",
                            "categories": ["neglect"],
                            "reason": "r",
                        },
                    ],
                    "recommendations": [
                        {
                            "person_id": "POL",
                            "agency": "Police",
                            "child_id": "C1",
                            "decision": "child_in_need_plan",
                        }
                    ],
                    "lead_social_worker": "SW",
                    "core_group": ["MUM", "SW"],
                },
                time="2026-11-25T12:00:00Z",
            ),
        )
        await listener.wait_until(
            lambda seen: (
                len(seen.of_type("decisions.review.due.v1")) == 2
                and len(seen.of_type("decisions.core_group.due.v1")) == 1
            )
        )
        assert app.in_memory is False

    issued = {
        e["data"]["person_id"]: e["data"]
        for e in listener.of_type("invitations.invitation.issued.v1")
    }
    assert sorted(issued) == ["CHAIR", "MUM", "MW", "POL", "SW"]  # MW listed twice, invited once
    assert issued["CHAIR"]["role"] == "chair"
    assert issued["MUM"]["pre_meeting_start"] == "2026-11-25T09:45:00Z"
    assert issued["MUM"]["supporter_notice_by"] == "2026-11-23"
    assert issued["POL"]["supporter_notice_by"] is None
    breach = listener.of_type("invitations.timescale.breached.v1")[0]["data"]
    assert (breach["target_date"], breach["working_days_late"]) == ("2026-11-23", 2)

    requests = {
        e["data"]["agency"]: e["data"] for e in listener.of_type("reports.report.requested.v1")
    }
    assert set(requests) == {"Children's Social Care", "Police", "Maternity"}
    assert {r["due_to_chair"] for r in requests.values()} == {"2026-11-20"}
    assert {r["share_with_family_by"] for r in requests.values()} == {"2026-11-23"}
    assert not any(r["short_notice"] for r in requests.values())
    received = listener.of_type("reports.report.received.v1")[0]["data"]
    assert received["request_id"] == requests["Police"]["request_id"]
    assert received["on_time"] is False
    assert received["missing_sections"] == [
        "family_strengths",
        "developmental_needs",
        "parental_capacity",
    ]

    outcome = listener.of_type("decisions.outcome.recorded.v1")[0]["data"]
    assert [c["census_category"] for c in outcome["children"]] == ["MUL", "NEG"]
    assert outcome["dissent"] == [
        {"person_id": "POL", "child_id": "C1", "recommended": "child_in_need_plan"}
    ]
    plans = {
        e["data"]["child_id"]: e["data"] for e in listener.of_type("decisions.plan.started.v1")
    }
    assert plans["C1"]["plan_type"] == "child_protection"
    assert plans["C1"]["nhs_number"] == "9434765919"
    assert plans["C2"]["plan_type"] == "unborn_child_protection"
    assert {p["start_date"] for p in plans.values()} == {"2026-11-25"}
    assert {e["data"]["due_by"] for e in listener.of_type("decisions.review.due.v1")} == {
        "2027-02-25"
    }
    assert listener.of_type("decisions.core_group.due.v1")[0]["data"]["due_by"] == "2026-12-09"

    for message in listener.messages:  # every fact as the contract says it is sent
        event = json.loads(message.body)
        assert message.content_type == "application/cloudevents+json"
        assert message.message_id == event["id"]
        assert message.type == event["type"] == message.routing_key
        assert message.delivery_mode == 2
        assert message.user_id == "guest"
        assert event["correlationid"] == conference
        assert event["source"] == message.exchange.split(".")[0]
    causes = {e["causationid"] for e in listener.of_type("invitations.invitation.issued.v1")}
    assert causes == {requested["id"]}


async def test_historical_events_give_the_same_records_as_live_ones(
    settings: Settings, amqp_url: str
) -> None:
    """Replaying a CRM event from 2024 (a migration) is processed by its own dates."""
    conference = "CONF-E2E-HIST"
    data = family_conference(
        conference,
        scheduled_start="2024-12-23T10:00:00+00:00",
        strategy_discussion_date="2024-12-02",
    )
    async with listening(amqp_url) as listener, running(ALL, settings):
        await publish_event(
            amqp_url,
            cloud_event(
                "crm.conference.requested.v1", conference, data, time="2024-12-09T09:00:00Z"
            ),
        )
        await listener.wait_until(
            lambda seen: len(seen.of_type("reports.report.requested.v1")) == 3
        )
        await listener.settle()
    request = listener.of_type("reports.report.requested.v1")[0]["data"]
    assert request["due_to_chair"] == "2024-12-18"
    assert request["short_notice"] is False  # judged on the event's date, not today's
    assert not listener.of_type("invitations.timescale.breached.v1")
