"""The rules a council's safeguarding team checks, on the real broker: who counts for
quorum, reschedules and cancellations in the decisions service, both report deadlines,
the chair's order to withhold, what the leaflets ask invitations to carry, a child added
later, a late exclusion request, a parent's own report, and category changes within MUL."""

from datetime import UTC, datetime
from typing import Any

from services.app import running
from shared.clock import ManualClock
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_events
from tests.support.listener import Listener, listening

ALL = ["invitations", "reports", "decisions"]
MINUTES = {"person_id": "MT", "name": "T", "role": "minute_taker", "agency": "CP Business Support"}
GRAN = {
    "person_id": "GRAN",
    "name": "G",
    "role": "family_member",
    "child_ids": ["C1"],
    "accessibility_needs": "step-free access",
}


def crm(
    type_name: str, conference: str, data: dict[str, Any], time: str, **kw: Any
) -> dict[str, Any]:
    return cloud_event(
        type_name, conference, {"conference_id": conference, **data}, time=time, **kw
    )


def requested(
    conference: str, time: str = "2026-11-09T09:00:00Z", **changes: Any
) -> dict[str, Any]:
    data = family_conference(conference, **changes)
    tenant = changes.pop("tenant", "201")
    return cloud_event("crm.conference.requested.v1", conference, data, time=time, tenant=tenant)


def held(conference: str, day: str, **extra: Any) -> dict[str, Any]:
    return crm("crm.conference.held.v1", conference, {"held_on": day}, f"{day}T12:00:00Z", **extra)


def outcome(conference: str, **extra: Any) -> dict[str, Any]:
    data = {
        "decided_at": "2026-11-25T12:30:00+00:00",
        "decided_by": "CHAIR",
        "children": [
            {"child_id": "C1", "decision": "child_protection_plan", "categories": ["neglect"]},
            {"child_id": "C2", "decision": "no_further_action", "categories": []},
        ],
        "recommendations": [],
        "core_group": [],
        **extra,
    }
    return crm("crm.outcome.decided.v1", conference, data, str(data["decided_at"]))


def of(listener: Listener, type_name: str, subject: str | None = None) -> list[dict[str, Any]]:
    return [e["data"] for e in listener.of_type(type_name, subject)]


async def test_quorum_counts_agencies_only_and_the_decisions_service_follows_the_diary(
    settings: Settings, amqp_url: str, database: str
) -> None:
    minutes_only = requested("CONF-MT")
    minutes_only["data"]["participants"].append(MINUTES)
    # council 202's CRM never sends `held`: its policy says so, and its outcomes wait for none
    no_held = settings.data_dir.parent / "no-held.toml"
    no_held.write_text("crm_sends_held = false\n", encoding="utf-8")
    settings = settings.model_copy(update={"tenant_policies": f"202={no_held}"})
    async with listening(amqp_url) as listener, running(ALL, settings):
        await publish_events(
            amqp_url,
            [
                # social worker, police and the minute taker: not quorate
                minutes_only,
                crm(
                    "crm.conference.held.v1",
                    "CONF-MT",
                    {"held_on": "2026-11-25", "attended": ["CHAIR", "SW", "POL", "MT"]},
                    "2026-11-25T12:00:00Z",
                ),
                outcome("CONF-MT"),
                # moved from 25 November to 27 November, decided without a `held` (council 202)
                requested("CONF-MOVED", tenant="202"),
                crm(
                    "crm.conference.rescheduled.v1",
                    "CONF-MOVED",
                    {"scheduled_start": "2026-11-27T10:00:00+00:00", "reason": "chair ill"},
                    "2026-11-20T09:00:00Z",
                    tenant="202",
                ),
                {**outcome("CONF-MOVED"), "tenant": "202"},
                # cancelled, then an outcome all the same
                requested("CONF-OFF", tenant="203"),
                crm(
                    "crm.conference.cancelled.v1",
                    "CONF-OFF",
                    {"reason": "no longer needed"},
                    "2026-11-20T09:00:00Z",
                    tenant="203",
                ),
                {**outcome("CONF-OFF"), "tenant": "203"},
            ],
        )
        await listener.wait_until(
            lambda seen: (
                len(seen.of_type("decisions.input.rejected.v1")) == 2
                and bool(seen.of_type("decisions.outcome.recorded.v1", "CONF-MOVED"))
                and any(q["final"] for q in of(seen, "invitations.quorum.assessed.v1", "CONF-MT"))
            )
        )
    [final] = [q for q in of(listener, "invitations.quorum.assessed.v1", "CONF-MT") if q["final"]]
    assert final["quorate"] is False
    assert "CP Business Support" not in final["agencies_attending"]
    refusals = {
        e["subject"]: e["data"]["reasons"] for e in listener.of_type("decisions.input.rejected.v1")
    }
    assert "inquorate_reason" in refusals["CONF-MT"][0]
    assert refusals["CONF-OFF"] == ["conference CONF-OFF was cancelled"]
    [plan] = of(listener, "decisions.plan.started.v1", None)
    assert (plan["start_date"], plan["tenant"]) == ("2026-11-27", "202")


async def test_both_report_deadlines_and_the_chairs_order_to_withhold(
    settings: Settings, amqp_url: str, database: str
) -> None:
    dad = {
        "person_id": "DAD",
        "name": "D",
        "role": "parent",
        "child_ids": ["C1", "C2"],
        "has_parental_responsibility": True,
    }
    kent = requested("CONF-KENT", time="2026-11-23T09:00:00Z", tenant="886")
    kent["data"]["participants"].append(dad)
    async with listening(amqp_url) as listener, running(["reports"], settings):
        await publish_events(
            amqp_url,
            [
                kent,  # requested after Kent's deadlines: the family's "5 days" before (the 20th)
                crm(
                    "crm.exclusion.decided.v1",
                    "CONF-KENT",
                    {
                        "person_id": "DAD",
                        "decided_by": "CHAIR",
                        "decided_at": "2026-11-23T10:00:00+00:00",
                        "scope": "whole",
                        "grounds": ["risk_of_violence"],
                        "reason": "threats",
                        "alternative_arrangements": [],
                        "withhold_reports": True,
                    },
                    "2026-11-23T10:00:00Z",
                    tenant="886",
                ),
                crm(
                    "crm.report.submitted.v1",
                    "CONF-KENT",
                    {
                        "report_id": "R-POL",
                        "author_person_id": "POL",
                        "agency": "Police",
                        "submitted_at": "2026-11-23T11:00:00+00:00",
                        "document": {"uri": "crm://p", "sha256": "a" * 64, "media_type": "x/y"},
                        "shareable_with_family": False,
                        "sections": [],
                    },
                    "2026-11-23T11:00:00Z",
                    tenant="886",
                ),
            ],
        )
        await listener.wait_until(lambda seen: len(of(seen, "reports.report.withheld.v1")) == 2)
    assert {r["short_notice"] for r in of(listener, "reports.report.requested.v1")} == {True}
    reasons = {
        w["recipient_person_id"]: w["reason"] for w in of(listener, "reports.report.withheld.v1")
    }
    assert reasons == {"MUM": "not_shareable_before_conference", "DAD": "chair_ordered"}


async def test_invitations_carry_what_the_leaflets_ask_for(
    settings: Settings, amqp_url: str, database: str
) -> None:
    redcar = requested("CONF-RC", tenant="807")
    redcar["data"]["participants"] = [
        p for p in redcar["data"]["participants"] if p["role"] != "midwife"
    ] + [GRAN]
    teen = family_conference(
        "CONF-TEEN",
        children=[
            {
                "child_id": "T1",
                "given_name": "A",
                "family_name": "B",
                "date_of_birth": "2016-11-26",  # 9 on 25 November 2026, 10 on 3 December
            }
        ],
    )
    advocate = {"person_id": "ADV", "name": "V", "role": "advocate", "child_ids": ["T1"]}
    teen_with_advocate = {
        **teen,
        "conference_id": "CONF-ADV",
        "participants": [*teen["participants"], advocate],
    }
    async with listening(amqp_url) as listener, running(ALL, settings):
        await publish_events(
            amqp_url,
            [
                redcar,
                crm(  # decided a day after Redcar's three working days before
                    "crm.exclusion.decided.v1",
                    "CONF-RC",
                    {
                        "person_id": "GRAN",
                        "decided_by": "CHAIR",
                        "decided_at": "2026-11-23T10:00:00+00:00",
                        "scope": "part",
                        "part_description": "the discussion of police information",
                        "grounds": ["police_investigation"],
                        "reason": "ongoing investigation",
                        "alternative_arrangements": [],
                        "withhold_reports": False,
                    },
                    "2026-11-23T10:00:00Z",
                    tenant="807",
                ),
                crm(
                    "crm.child.added.v1",
                    "CONF-RC",
                    {
                        "child": {
                            "child_id": "C3",
                            "given_name": "E",
                            "family_name": "B",
                            "date_of_birth": "2025-09-01",
                        }
                    },
                    "2026-11-17T09:00:00Z",
                    tenant="807",
                ),
                cloud_event("crm.conference.requested.v1", "CONF-ADV", teen_with_advocate),
                crm(
                    "crm.conference.rescheduled.v1",
                    "CONF-ADV",
                    {"scheduled_start": "2026-12-03T10:00:00+00:00", "reason": "moved"},
                    "2026-11-17T09:00:00Z",
                ),
                cloud_event("crm.conference.requested.v1", "CONF-TEEN", teen),
                crm(
                    "crm.conference.rescheduled.v1",
                    "CONF-TEEN",
                    {"scheduled_start": "2026-12-03T10:00:00+00:00", "reason": "moved"},
                    "2026-11-17T09:00:00Z",
                ),
            ],
        )
        await listener.wait_until(
            lambda seen: (
                bool(of(seen, "invitations.exclusion.recorded.v1"))
                and len(of(seen, "invitations.attendance.advised.v1", "CONF-TEEN")) == 2
                and len(of(seen, "invitations.attendance.advised.v1", "CONF-RC")) == 2
                and len(of(seen, "invitations.invitation.issued.v1", "CONF-ADV")) == 2 * 6
                and len(of(seen, "reports.report.requested.v1", "CONF-RC")) == 2 * 2
            )
        )
        await listener.settle(0.5)
    issued = {
        i["person_id"]: i for i in of(listener, "invitations.invitation.issued.v1", "CONF-RC")
    }
    assert issued["GRAN"]["accessibility_needs"] == "step-free access"
    # Redcar and Cleveland's chair meets or phones the family before the day instead
    assert (issued["MUM"]["pre_meeting_start"], issued["MUM"]["chair_contact_by"]) == (
        None,
        "2026-11-24",
    )
    # each report request is issued again, naming the child added
    requests = of(listener, "reports.report.requested.v1", "CONF-RC")
    assert [r["children"] for r in requests] == [["C1", "C2"]] * 2 + [["C1", "C2", "C3"]] * 2
    [exclusion] = of(listener, "invitations.exclusion.recorded.v1")
    assert exclusion["late_request"] is True
    before, added = of(listener, "invitations.attendance.advised.v1", "CONF-RC")
    assert "C3" not in {a["child_id"] for a in before["advice"]}
    # under 5 with no health visitor, and nobody with parental responsibility for them listed
    assert {a["code"] for a in added["advice"] if a["child_id"] == "C3"} == {
        "health_visitor_expected",
        "parental_responsibility_not_invited",
    }
    # 9 on the first date, 10 on the new one: the child's views are needed now...
    first, moved = of(listener, "invitations.attendance.advised.v1", "CONF-TEEN")
    assert "child_views_needed" not in {a["code"] for a in first["advice"]}
    assert "child_views_needed" in {a["code"] for a in moved["advice"]}
    # ... unless an advocate for the child is invited
    assert not [
        a
        for advised in of(listener, "invitations.attendance.advised.v1", "CONF-ADV")
        for a in advised["advice"]
        if a["code"] == "child_views_needed"
    ]


async def test_a_parents_own_report_and_a_change_of_categories_within_mul(
    settings: Settings, amqp_url: str, database: str
) -> None:
    review = family_conference(
        "CONF-R",
        kind="review",
        scheduled_start="2027-02-23T10:00:00+00:00",
        previous_conference_id="CONF-I",
    )
    review.pop("strategy_discussion_date")
    both = [
        {
            "child_id": "C1",
            "decision": "child_protection_plan",
            "categories": ["neglect", "emotional"],
        },
        {"child_id": "C2", "decision": "no_further_action", "categories": []},
    ]
    # played after the review (nothing it says happened is in the future)
    clock = ManualClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    services = ["reports", "decisions"]
    async with listening(amqp_url) as listener, running(services, settings, clock=clock):
        await publish_events(
            amqp_url,
            [
                requested("CONF-I", tenant="886"),
                crm(
                    "crm.report.submitted.v1",
                    "CONF-I",
                    {
                        "report_id": "R-MUM",
                        "author_person_id": "MUM",
                        "agency": "Family",
                        "submitted_at": "2026-11-16T10:00:00+00:00",
                        "document": {"uri": "crm://m", "sha256": "a" * 64, "media_type": "x/y"},
                        "sections": [],
                    },
                    "2026-11-16T10:00:00Z",
                    tenant="886",
                ),
                held("CONF-I", "2026-11-25", tenant="886"),
                {**outcome("CONF-I", children=both), "tenant": "886"},
                cloud_event(
                    "crm.conference.requested.v1",
                    "CONF-R",
                    review,
                    time="2027-02-01T09:00:00Z",
                    tenant="886",
                ),
                held("CONF-R", "2027-02-23", tenant="886"),
                {
                    **outcome(
                        "CONF-R",
                        decided_at="2027-02-23T12:30:00+00:00",
                        children=[
                            {
                                "child_id": "C1",
                                "decision": "child_protection_plan",
                                "categories": ["physical", "sexual"],
                            }
                        ],
                    ),
                    "tenant": "886",
                },
            ],
        )
        await listener.wait_until(
            lambda seen: (
                bool(of(seen, "decisions.plan.category_changed.v1"))
                and len(of(seen, "reports.report.shared.v1")) == 4
            )
        )
    # Kent shares a parent's own report with the chair and the conference members
    shared = {s["recipient_person_id"]: s for s in of(listener, "reports.report.shared.v1")}
    assert set(shared) == {"CHAIR", "SW", "POL", "MW"}
    assert not any(s["includes_restricted"] for s in shared.values())
    [changed] = of(listener, "decisions.plan.category_changed.v1")
    assert (changed["from"], changed["to"]) == ("MUL", "MUL")
    assert (changed["from_categories"], changed["to_categories"]) == (
        ["emotional", "neglect"],
        ["physical", "sexual"],
    )
