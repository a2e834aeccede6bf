"""Decisions scenarios on the real broker; the census return of them passes the DfE rules."""

import asyncio
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from typer.testing import CliRunner

from services.app import running
from services.cli import app as cli
from services.decisions.census_rules import check
from services.decisions.reporting import census_return, timeliness
from shared.clock import ManualClock
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event, publish_events
from tests.support.listener import Listener, listening

SIBLINGS = [
    {
        "child_id": "S1",
        "given_name": "A",
        "family_name": "B",
        "date_of_birth": "2016-02-01",
        "nhs_number": "9434765919",
        "sex": "female",
        "cin_referral_date": "2026-03-20",
    },
    {
        "child_id": "S2",
        "given_name": "C",
        "family_name": "B",
        "date_of_birth": "2019-05-05",
        "sex": "male",
        "cin_referral_date": "2026-03-20",
    },
]


def conference(
    cid: str, kind: str, day: str, children: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    data = family_conference(
        cid, kind=kind, scheduled_start=f"{day}T10:00:00+00:00", children=children, **extra
    )
    if kind != "initial":
        data.pop("strategy_discussion_date")
    return cloud_event("crm.conference.requested.v1", cid, data, time=f"{day}T08:00:00Z")


def held(cid: str, day: str) -> dict[str, Any]:
    return cloud_event(
        "crm.conference.held.v1",
        cid,
        {"conference_id": cid, "held_on": day},
        time=f"{day}T12:00:00Z",
    )


def outcome(
    cid: str, day: str, decisions: list[tuple[str, str, list[str]]], **extra: Any
) -> dict[str, Any]:
    return cloud_event(
        "crm.outcome.decided.v1",
        cid,
        {
            "conference_id": cid,
            "decided_at": f"{day}T12:30:00+00:00",
            "decided_by": "CHAIR",
            "children": [{"child_id": c, "decision": d, "categories": k} for c, d, k in decisions],
            "recommendations": [],
            "lead_social_worker": "SW",
            "core_group": ["MUM", "SW"],
            **extra,
        },
        time=f"{day}T12:30:00Z",
    )


def plan_ended(child: str, day: str, reason: str) -> dict[str, Any]:
    return cloud_event(
        "crm.plan.ended.v1",
        f"PLAN-{child}",
        {"child_id": child, "ended_on": day, "reason": reason, "recorded_by": "SW"},
        time=f"{day}T09:00:00Z",
    )


def of(listener: Listener, kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in listener.of_type(f"decisions.{kind}.v1")]


async def play(
    url: str, listener: Listener, events: list[dict[str, Any]], expect: tuple[str, int]
) -> None:
    await publish_events(url, events)  # one burst: each conference's events apply in order
    await listener.wait_until(lambda seen: len(of(seen, expect[0])) >= expect[1])


async def test_siblings_reviews_step_down_transfer_unborn_and_correction_then_census(
    settings: Settings, amqp_url: str, database: str
) -> None:
    # The council's year, told after it ended (nothing it says happened is in the future).
    clock = ManualClock(datetime(2027, 4, 1, 9, 0, tzinfo=UTC))
    async with listening(amqp_url) as listener, running(["decisions"], settings, clock=clock):
        # An initial conference: two siblings, plans in different categories.
        await play(
            amqp_url,
            listener,
            [
                conference(
                    "ICPC-1",
                    "initial",
                    "2026-04-15",
                    SIBLINGS,
                    strategy_discussion_date="2026-03-25",
                    section47_start_date="2026-03-25",
                ),
                held("ICPC-1", "2026-04-15"),
                outcome(
                    "ICPC-1",
                    "2026-04-15",
                    [
                        ("S1", "child_protection_plan", ["neglect"]),
                        ("S2", "child_protection_plan", ["physical", "emotional"]),
                    ],
                ),
            ],
            ("plan.started", 2),
        )
        # A review continues one (category changes) and steps the other down.
        await play(
            amqp_url,
            listener,
            [
                conference(
                    "RCPC-1", "review", "2026-07-08", SIBLINGS, previous_conference_id="ICPC-1"
                ),
                held("RCPC-1", "2026-07-08"),
                outcome(
                    "RCPC-1",
                    "2026-07-08",
                    [
                        ("S1", "child_protection_plan", ["emotional"]),
                        ("S2", "child_in_need_plan", []),
                    ],
                ),
            ],
            ("plan.started", 3),
        )
        # A second review ends the remaining plan; the CIN plan ends later.
        await play(
            amqp_url,
            listener,
            [
                conference(
                    "RCPC-2", "review", "2026-12-16", SIBLINGS[:1], previous_conference_id="RCPC-1"
                ),
                held("RCPC-2", "2026-12-16"),
                outcome("RCPC-2", "2026-12-16", [("S1", "no_further_action", [])]),
                plan_ended("S2", "2027-02-10", "other"),
            ],
            ("plan.ended", 3),
        )
        # A plan ended by a transfer out; an unborn child's plan.
        await play(
            amqp_url,
            listener,
            [
                conference(
                    "ICPC-T",
                    "initial",
                    "2026-06-10",
                    [
                        {
                            "child_id": "T1",
                            "given_name": "T",
                            "family_name": "M",
                            "date_of_birth": "2012-09-09",
                        }
                    ],
                    strategy_discussion_date="2026-05-27",
                ),
                held("ICPC-T", "2026-06-10"),
                outcome("ICPC-T", "2026-06-10", [("T1", "child_protection_plan", ["sexual"])]),
                plan_ended("T1", "2026-09-01", "transferred_out"),
                conference(
                    "ICPC-U",
                    "initial",
                    "2026-11-25",
                    [
                        {
                            "child_id": "U1",
                            "given_name": "",
                            "family_name": "N",
                            "expected_date_of_delivery": "2027-03-01",
                            "nhs_number": "9434765870",
                        }
                    ],
                    strategy_discussion_date="2026-11-04",
                ),
                held("ICPC-U", "2026-11-25"),
                outcome("ICPC-U", "2026-11-25", [("U1", "child_protection_plan", ["neglect"])]),
            ],
            ("plan.ended", 4),
        )
        # A correction supersedes a record; one without a reason is refused.
        await play(
            amqp_url,
            listener,
            [
                conference(
                    "ICPC-K",
                    "initial",
                    "2026-10-14",
                    [
                        {
                            "child_id": "K1",
                            "given_name": "K",
                            "family_name": "O",
                            "date_of_birth": "2020-01-01",
                        }
                    ],
                    strategy_discussion_date="2026-09-30",
                ),
                held("ICPC-K", "2026-10-14"),
                outcome("ICPC-K", "2026-10-14", [("K1", "child_protection_plan", ["neglect"])]),
                outcome("ICPC-K", "2026-10-14", [("K1", "child_protection_plan", ["physical"])]),
                outcome(
                    "ICPC-K",
                    "2026-10-14",
                    [("K1", "child_protection_plan", ["physical"])],
                    correction_reason="Category recorded in error by the minute taker",
                ),
            ],
            ("outcome.recorded", 7),
        )
        await listener.settle()

    started = {(p["child_id"], p["plan_type"], p["category"]) for p in of(listener, "plan.started")}
    assert started >= {
        ("S1", "child_protection", "NEG"),
        ("S2", "child_protection", "MUL"),
        ("S2", "child_in_need", None),
        ("T1", "child_protection", "SAB"),
        ("U1", "unborn_child_protection", "NEG"),
        ("K1", "child_protection", "NEG"),
    }
    changes = [
        (c["child_id"], c["from"], c["to"], c["on"]) for c in of(listener, "plan.category_changed")
    ]
    assert changes == [
        ("S1", "NEG", "EMO", "2026-07-08"),
        ("K1", "NEG", "PHY", "2026-10-14"),  # a correction of the category: the same plan
    ]
    # the decision is told to each person, and told again after the correction, saying what
    # changed (the outcome sent without a correction reason was refused: nothing told)
    told = [n for n in of(listener, "decision_notice.due") if n["conference_id"] == "ICPC-K"]
    first = {n["recipient_person_id"]: n for n in told if n["supersedes"] is None}
    again = {n["recipient_person_id"]: n for n in told if n["supersedes"] is not None}
    assert set(first) == set(again) == {"MUM", "SW", "POL", "MW"}
    assert {json.dumps(n["changes"], sort_keys=True) for n in again.values()} == {
        json.dumps([{"child_id": "K1", "what": "categories"}])
    }
    assert (again["MUM"]["children"][0]["categories"], first["MUM"]["send_by"]) == (
        ["physical"],
        "2026-10-15",
    )
    ended = {
        (e["child_id"], e["plan_type"], e["end_date"], e["reason"], e.get("voided"))
        for e in of(listener, "plan.ended")
    }
    assert ended == {
        ("S2", "child_protection", "2026-07-08", "review_decision", False),
        ("S1", "child_protection", "2026-12-16", "review_decision", False),
        ("S2", "child_in_need", "2027-02-10", "other", False),
        ("T1", "child_protection", "2026-09-01", "transferred_out", False),
    }
    assert len([p for p in of(listener, "plan.started") if p["child_id"] == "K1"]) == 1
    unborn = next(p for p in of(listener, "plan.started") if p["child_id"] == "U1")
    assert (unborn["nhs_number"], unborn["tenant"]) == ("9434765870", "201")  # for CP-IS
    dues = [(d["child_id"], d["due_by"]) for d in of(listener, "review.due")]
    assert ("S1", "2026-07-15") in dues and ("S1", "2027-01-08") in dues  # 3 months, then 6
    records = [r for r in of(listener, "outcome.recorded") if r["conference_id"] == "ICPC-K"]
    assert records[1]["supersedes"] == records[0]["record_id"]
    rejected = [e["data"] for e in listener.of_type("decisions.input.rejected.v1")]
    assert any("correction must say why" in r for x in rejected for r in x["reasons"])

    document = await census_return(settings, "201", 2027)
    assert check(document) == []
    return_ = ET.fromstring(document)  # noqa: S314  # our own output
    assert return_.findtext("Header/CollectionDetails/ReferenceDate") == "2027-03-31"
    assert return_.findtext("Header/Source/LEA") == "201"
    by_child = {c.findtext("ChildIdentifiers/LAchildID"): c for c in return_.iter("Child")}
    assert set(by_child) == {"S1", "S2", "T1", "U1", "K1"}
    s1 = by_child["S1"].find("CINdetails/ChildProtectionPlans")
    assert s1 is not None
    assert [
        s1.findtext(t)
        for t in (
            "CPPstartDate",
            "CPPendDate",
            "InitialCategoryOfAbuse",
            "LatestCategoryOfAbuse",
            "NumberOfPreviousCPP",
        )
    ] == ["2026-04-15", "2026-12-16", "NEG", "EMO", "0"]
    assert [r.text for r in s1.iter("CPPreviewDate")] == ["2026-07-08", "2026-12-16"]
    s47 = by_child["S1"].find("CINdetails/Section47")
    assert s47 is not None
    assert [
        s47.findtext(t)
        for t in ("S47ActualStartDate", "InitialCPCtarget", "DateOfInitialCPC", "ICPCnotRequired")
    ] == ["2026-03-25", "2026-04-17", "2026-04-15", "false"]
    cin = by_child["S2"].find("CINdetails/CINPlanDates")
    assert cin is not None and [
        cin.findtext("CINPlanStartDate"),
        cin.findtext("CINPlanEndDate"),
    ] == ["2026-07-08", "2027-02-10"]
    assert by_child["U1"].findtext("ChildIdentifiers/ExpectedPersonBirthDate") == "2027-03-01"
    assert [
        p.findtext("LatestCategoryOfAbuse") for p in by_child["K1"].iter("ChildProtectionPlans")
    ] == ["PHY"]  # one plan, as corrected
    assert [
        p.findtext("InitialCategoryOfAbuse") for p in by_child["K1"].iter("ChildProtectionPlans")
    ] == ["PHY"]

    figures = await timeliness(
        settings, "201", datetime(2026, 4, 1).date(), datetime(2027, 3, 31).date()
    )
    assert (figures.initial_within_timescale.count, figures.initial_within_timescale.of) == (4, 4)
    per_child = figures.children_initial_within_timescale  # the siblings count twice
    assert (per_child.count, per_child.of) == (5, 5)
    # S1 continued and later ended at reviews; S2 stepped down at one: three reviews held
    assert (figures.reviews_on_time.count, figures.reviews_on_time.of) == (3, 3)
    assert figures.plans_started == {
        "child_protection": 4,
        "unborn_child_protection": 1,
        "child_in_need": 1,
    }
    assert figures.plans_open_at_end == {"child_protection": 1, "unborn_child_protection": 1}
    env = {
        "AMQP_URL": settings.amqp_url,
        "CONVENE_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "DECISIONS_DATABASE_URL": None,
        "CONVENE_DB_SCHEMA_PREFIX": settings.db_schema_prefix,
    }
    arguments = ["stats", "--tenant", "201", "--from", "2026-04-01", "--to", "2027-03-31", "--json"]
    # the command runs its own event loop, as from a terminal
    result = await asyncio.to_thread(CliRunner().invoke, cli, arguments, env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reviews_on_time"]["percent"] == 100.0
    exported = settings.data_dir.parent / "census-2027.xml"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["census", "export", "--tenant", "201", "--year", "2027", "--output", str(exported)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert check(exported.read_bytes()) == []


async def test_an_overdue_review_is_raised_by_timer(settings: Settings, amqp_url: str) -> None:
    clock = ManualClock(datetime(2026, 4, 15, 13, 0, tzinfo=UTC))
    async with listening(amqp_url) as listener, running(["decisions"], settings, clock=clock):
        await play(
            amqp_url,
            listener,
            [
                conference(
                    "ICPC-O",
                    "initial",
                    "2026-04-15",
                    SIBLINGS[:1],
                    strategy_discussion_date="2026-03-25",
                ),
                held("ICPC-O", "2026-04-15"),
                outcome("ICPC-O", "2026-04-15", [("S1", "child_protection_plan", ["neglect"])]),
            ],
            ("review.due", 1),
        )
        clock.set(datetime(2026, 7, 15, 22, 0, tzinfo=UTC))  # the due day is not over
        await listener.settle(0.5)
        assert not of(listener, "review.overdue")
        clock.set(datetime(2026, 7, 16, 7, 55, tzinfo=UTC))  # not yet 09:00 in London (BST)
        await listener.settle(0.7)
        assert not of(listener, "review.overdue")
        clock.set(datetime(2026, 7, 16, 8, 5, tzinfo=UTC))  # people hear the next working day
        await listener.wait_until(lambda seen: bool(of(seen, "review.overdue")))
    [overdue] = of(listener, "review.overdue")
    assert (overdue["child_id"], overdue["due_by"]) == ("S1", "2026-07-15")


async def test_an_inquorate_conference_needs_the_chairs_reason(
    settings: Settings, amqp_url: str
) -> None:
    requested = conference(
        "ICPC-Q", "initial", "2026-11-25", SIBLINGS[:1], strategy_discussion_date="2026-11-04"
    )
    decided = [("S1", "child_protection_plan", ["neglect"])]
    async with listening(amqp_url) as listener, running(["decisions"], settings):
        # one burst, held with no attendance: quorum from the answers (social care alone)
        await publish_events(
            amqp_url,
            [
                requested,
                cloud_event(
                    "crm.invitation.responded.v1",
                    "ICPC-Q",
                    {"conference_id": "ICPC-Q", "person_id": "SW", "response": "attending"},
                ),
                held("ICPC-Q", "2026-11-25"),
                outcome("ICPC-Q", "2026-11-25", decided),
            ],
        )
        await listener.wait_until(lambda seen: bool(of(seen, "input.rejected")))
        await publish_event(
            amqp_url,
            outcome(
                "ICPC-Q",
                "2026-11-25",
                decided,
                inquorate_reason="Police could not attend; the child's safety cannot wait",
            ),
        )
        await listener.wait_until(lambda seen: bool(of(seen, "outcome.recorded")))
    assert "inquorate" in of(listener, "input.rejected")[0]["reasons"][0]
    assert of(listener, "outcome.recorded")[0]["quorate"] is False
