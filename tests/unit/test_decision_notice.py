"""Telling people the decision: who gets a notice, what it says, when it is due, and what a
correction tells them again."""

from datetime import UTC, date, datetime
from typing import Any

from contracts.crm_v1 import ConferenceHeld, ConferenceRequested, ExclusionDecided, OutcomeDecided
from rules.calendar import WorkingDayCalendar
from rules.effects import Env
from rules.policy import Policy, load_policy
from services.decisions import domain
from tests.support.crm import family_conference

DAD = {
    "person_id": "DAD",
    "name": "D",
    "role": "parent",
    "has_parental_responsibility": True,
}
STEPDAD = {"person_id": "STEP", "name": "T", "role": "carer"}  # no parental responsibility
GRAN = {"person_id": "GRAN", "name": "G", "role": "family_member"}
SUPPORTER = {"person_id": "FRIEND", "name": "F", "role": "supporter"}


def env(at: str, policy: Policy | None = None) -> Env:
    return Env(datetime.fromisoformat(at).replace(tzinfo=UTC), policy or Policy(),
               WorkingDayCalendar())  # fmt: skip


def conference() -> domain.Conference:
    data = family_conference("C")
    data["participants"] += [DAD, STEPDAD, GRAN, SUPPORTER]
    made, _ = domain.Conference.request(ConferenceRequested.model_validate(data), None)
    made.hold(ConferenceHeld(conference_id="C", held_on=date(2026, 11, 25)))
    return made


def outcome(**extra: Any) -> OutcomeDecided:
    return OutcomeDecided.model_validate(
        {
            "conference_id": "C",
            "decided_at": "2026-11-25T12:30:00+00:00",
            "decided_by": "CHAIR",
            "children": [
                {"child_id": "C1", "decision": "child_protection_plan", "categories": ["neglect"]},
                {"child_id": "C2", "decision": "child_in_need_plan", "categories": []},
            ],
            "lead_social_worker": "SW",
            "core_group": ["MUM", "SW", "HV"],
            **extra,
        }
    )


def notices(facts: list[Any]) -> dict[str, Any]:
    return {
        f.data.recipient_person_id: f.data
        for f in facts
        if f.type_name == "decisions.decision_notice.due.v1"
    }


def decide(
    made: domain.Conference, children: dict[str, domain.ChildPlans], data: OutcomeDecided,
    record: str, at: str, policy: Policy | None = None,
) -> list[Any]:  # fmt: skip
    facts, _ = domain.decide("201", made, children, data, record, env(at, policy))
    return facts.facts


def test_each_parent_and_carer_with_parental_responsibility_and_every_professional_is_told() -> (
    None
):
    made = conference()
    children = {c.child_id: domain.ChildPlans(c.child_id) for c in made.children}
    told = notices(decide(made, children, outcome(), "REC-1", "2026-11-25T12:30"))
    # parents with parental responsibility; the lead social worker; the core group (a health
    # visitor not invited to the conference too); each invited professional. Not a carer
    # without parental responsibility, another family member or a supporter.
    assert {p: n.recipient for p, n in told.items()} == {
        "MUM": "family",
        "DAD": "family",
        "SW": "lead_social_worker",
        "HV": "core_group",
        "POL": "professional",
        "MW": "professional",
    }
    mum, police = told["MUM"], told["POL"]
    assert mum.send_by == date(2026, 11, 26)  # within one working day of the decision
    assert [(c.child_id, c.decision, c.categories, c.review_due_by) for c in mum.children] == [
        ("C1", "child_protection_plan", ["neglect"], date(2027, 2, 25)),
        ("C2", "child_in_need_plan", [], None),
    ]
    assert (mum.lead_social_worker, mum.core_group) == ("SW", ["MUM", "SW", "HV"])
    assert mum.core_group_first_meeting_by == date(2026, 12, 9)  # 10 working days
    assert mum.next_review_by == date(2027, 2, 25)  # within three months
    assert mum.how_to_complain == Policy().how_to_complain and police.how_to_complain is None
    assert (mum.supersedes, mum.changes) == (None, [])


def test_the_notice_is_due_within_the_councils_days_and_says_its_complaints_route() -> None:
    made = conference()
    children = {c.child_id: domain.ChildPlans(c.child_id) for c in made.children}
    friday = outcome(decided_at="2026-12-24T16:00:00+00:00")
    made.hold(ConferenceHeld(conference_id="C", held_on=date(2026, 12, 24)))
    told = notices(decide(made, children, friday, "R", "2026-12-24T16:00", load_policy("kent")))
    # Christmas and Boxing Day (moved to Monday the 28th): the next working day is the 29th
    assert told["MUM"].send_by == date(2026, 12, 29)
    assert "Kroner House" in (told["MUM"].how_to_complain or "")


def test_a_parent_excluded_with_reports_withheld_is_not_sent_it_and_the_chair_is_told() -> None:
    made = conference()
    made.decide_exclusion(
        ExclusionDecided.model_validate(
            {
                "conference_id": "C",
                "person_id": "DAD",
                "decided_by": "CHAIR",
                "decided_at": "2026-11-20T10:00:00+00:00",
                "scope": "whole",
                "grounds": ["risk_of_violence"],
                "reason": "Threats.",
                "withhold_reports": True,
            }
        )
    )
    children = {c.child_id: domain.ChildPlans(c.child_id) for c in made.children}
    facts = decide(made, children, outcome(), "REC-1", "2026-11-25T12:30")
    assert "DAD" not in notices(facts)
    [withheld] = [f.data for f in facts if f.type_name == "decisions.decision_notice.withheld.v1"]
    assert (withheld.recipient_person_id, withheld.reason, withheld.notify) == (
        "DAD",
        "chair_ordered",
        ["CHAIR"],
    )


def test_a_correction_tells_everyone_again_with_what_changed() -> None:
    made = conference()
    children = {c.child_id: domain.ChildPlans(c.child_id) for c in made.children}
    decide(made, children, outcome(), "REC-1", "2026-11-25T12:30")
    corrected = outcome(
        correction_reason="C2 needs no plan; the police officer joins the core group",
        children=[
            {"child_id": "C1", "decision": "child_protection_plan", "categories": ["physical"]},
            {"child_id": "C2", "decision": "no_further_action", "categories": []},
        ],
        core_group=["MUM", "SW", "HV", "POL"],
    )
    told = notices(decide(made, children, corrected, "REC-2", "2026-11-25T15:00"))
    assert set(told) == {"MUM", "DAD", "SW", "HV", "POL", "MW"}
    assert told["POL"].recipient == "core_group"
    assert told["MUM"].supersedes == "REC-1"
    assert [(c.what, c.child_id) for c in told["MUM"].changes] == [
        ("categories", "C1"),
        ("decision", "C2"),
        ("core_group", None),
    ]


def test_no_plan_means_no_core_group_or_review_date() -> None:
    made = conference()
    children = {c.child_id: domain.ChildPlans(c.child_id) for c in made.children}
    nfa = outcome(
        children=[
            {"child_id": "C1", "decision": "no_further_action", "categories": []},
            {"child_id": "C2", "decision": "no_further_action", "categories": []},
        ],
        core_group=[],
    )
    mum = notices(decide(made, children, nfa, "REC-1", "2026-11-25T12:30"))["MUM"]
    assert (mum.core_group_first_meeting_by, mum.next_review_by) == (None, None)
