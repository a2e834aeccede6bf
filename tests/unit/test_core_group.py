"""The core group after the conference: its first meeting and then the council's interval,
meetings missed, plan actions past their date, the detailed plan, and when it stops."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.crm_v1 import (
    ConferenceHeld,
    ConferenceRequested,
    CoreGroupHeld,
    OutcomeDecided,
    PlanAgreed,
)
from rules.calendar import WorkingDayCalendar
from rules.effects import CancelTimer, Effects, Env, NotReadyYet, RuleViolation, SetTimer, Timer
from rules.policy import Policy, load_policy
from services.decisions import domain
from tests.support.crm import family_conference

CALENDAR = WorkingDayCalendar()
ACTIONS = [
    {"action_id": "A1", "what": "Health check", "who": "HV", "due_by": "2026-12-04",
     "child_id": "C1"},
    {"action_id": "A2", "what": "Parenting course", "who": "MUM", "due_by": "2027-01-15"},
]  # fmt: skip


def env(at: str, policy: Policy | None = None) -> Env:
    return Env(datetime.fromisoformat(at).replace(tzinfo=UTC), policy or Policy(), CALENDAR)


def decided(
    decision: str = "child_protection_plan", policy: Policy | None = None, **extra: Any
) -> tuple[domain.Conference, Effects]:
    made, _ = domain.Conference.request(
        ConferenceRequested.model_validate(family_conference("C")), None
    )
    made.hold(ConferenceHeld(conference_id="C", held_on=date(2026, 11, 25)))
    children = {c.child_id: domain.ChildPlans(c.child_id) for c in made.children}
    outcome = OutcomeDecided.model_validate(
        {
            "conference_id": "C",
            "decided_at": "2026-11-25T12:30:00+00:00",
            "decided_by": "CHAIR",
            "children": [
                {
                    "child_id": "C1",
                    "decision": decision,
                    "categories": ["neglect"] if decision == "child_protection_plan" else [],
                },
                {"child_id": "C2", "decision": "no_further_action", "categories": []},
            ],
            "lead_social_worker": "SW",
            "core_group": ["MUM", "SW", "HV"],
            "plan_actions": ACTIONS,
            **extra,
        }
    )
    facts, _ = domain.decide("201", made, children, outcome, "REC-1",
                             env("2026-11-25T12:30", policy))  # fmt: skip
    return made, facts


def meeting(mid: str, on: str, done: tuple[str, ...] = ()) -> CoreGroupHeld:
    return CoreGroupHeld.model_validate(
        {
            "conference_id": "C",
            "meeting_id": mid,
            "held_on": on,
            "attended": ["MUM", "SW"],
            "actions_reviewed": [{"action_id": a, "done": True} for a in done],
        }
    )


def fire(made: domain.Conference, effects: Effects, kind: str, name: str) -> Effects:
    """Fire the timer `effects` set, as of its due time."""
    [timer] = [t for t in effects.timers if isinstance(t, SetTimer) and t.name == name]
    assert timer.kind == kind
    due = Timer("t", kind, timer.due_at, "C", "201", "C", timer.payload)
    rule = made.core_group_overdue if kind == domain.CORE_GROUP_OVERDUE else made.action_overdue
    return rule(due, Env(timer.due_at, Policy(), CALENDAR))


def types(effects: Effects) -> list[str]:
    return [f.type_name for f in effects.facts]


def test_a_plan_gets_a_core_group_due_within_10_working_days_and_its_actions_watched() -> None:
    made, facts = decided()
    [due] = [f.data for f in facts.facts if f.type_name == "decisions.core_group.due.v1"]
    assert (due.due_by, due.members, due.after_meeting_on) == (
        date(2026, 12, 9),
        ["MUM", "SW", "HV"],
        None,
    )
    timers = {t.name: t.due_at for t in facts.timers if isinstance(t, SetTimer)}
    assert timers == {
        "meeting": CALENDAR.after(date(2026, 12, 9), Policy().notify_at),
        "action:A1": CALENDAR.after(date(2026, 12, 4), Policy().notify_at),
        "action:A2": CALENDAR.after(date(2027, 1, 15), Policy().notify_at),
    }
    # missed: raised with the lead social worker and the chair
    [overdue] = fire(made, facts, domain.CORE_GROUP_OVERDUE, "meeting").facts
    assert overdue.type_name == "decisions.core_group.overdue.v1"
    assert (overdue.data.due_by, overdue.data.notify) == (date(2026, 12, 9), ["SW", "CHAIR"])
    [late] = fire(made, facts, domain.ACTION_OVERDUE, "action:A1").facts
    assert (late.data.action_id, late.data.who, late.data.child_id, late.data.notify) == (
        "A1", "HV", "C1", ["SW", "CHAIR"],
    )  # fmt: skip


def test_each_meeting_sets_the_next_within_the_interval_and_marks_actions_done() -> None:
    made, facts = decided()
    first = made.hold_core_group(meeting("M1", "2026-12-08", done=("A1",)), env("2026-12-08T15:00"))
    recorded, due = first.facts
    assert recorded.type_name == "decisions.core_group.recorded.v1"
    assert (recorded.data.on_time, recorded.data.due_by, recorded.data.actions_done) == (
        True, date(2026, 12, 9), ["A1"],
    )  # fmt: skip
    # 20 working days after the 8th, over Christmas and New Year
    assert (due.data.due_by, due.data.after_meeting_on) == (date(2027, 1, 8), date(2026, 12, 8))
    assert CancelTimer("plan_action_overdue", "action:A1") in first.timers
    # the timers set before judge what happened by then: nothing is raised
    assert not fire(made, facts, domain.CORE_GROUP_OVERDUE, "meeting").facts
    assert not fire(made, facts, domain.ACTION_OVERDUE, "action:A1").facts
    # a late meeting is on record as late; the next counts from it
    second = made.hold_core_group(meeting("M2", "2027-01-12"), env("2027-01-12T15:00"))
    assert second.facts[0].data.on_time is False
    assert second.facts[1].data.due_by == date(2027, 2, 9)
    with pytest.raises(RuleViolation, match="already recorded"):
        made.hold_core_group(meeting("M2", "2027-01-13"), env("2027-01-13T15:00"))


def test_a_council_whose_core_group_meets_monthly() -> None:
    warwickshire = load_policy("warwickshire")
    made, _ = decided(policy=warwickshire)
    effects = made.hold_core_group(
        meeting("M1", "2026-12-08"), env("2026-12-08T15:00", warwickshire)
    )
    assert effects.facts[1].data.due_by == date(2027, 1, 8)
    effects = made.hold_core_group(
        meeting("M2", "2027-01-29"), env("2027-01-29T15:00", warwickshire)
    )
    assert effects.facts[1].data.due_by == date(2027, 2, 26)  # a month, a Friday on the 28th's


def test_the_detailed_plan_replaces_the_outline_plans_actions() -> None:
    made, facts = decided()
    detailed = PlanAgreed.model_validate(
        {
            "conference_id": "C",
            "agreed_on": "2026-12-08",
            "actions": [
                {**ACTIONS[1], "due_by": "2027-02-01"},
                {"action_id": "A3", "what": "School plan", "who": "SCH", "due_by": "2027-01-20"},
            ],
        }
    )
    effects = made.agree_plan(detailed, env("2026-12-08T16:00"))
    assert CancelTimer("plan_action_overdue", "action:A1") in effects.timers
    assert {t.name for t in effects.timers if isinstance(t, SetTimer)} == {"action:A2", "action:A3"}
    # the old date of A2 no longer raises anything; the new one does
    assert not fire(made, facts, domain.ACTION_OVERDUE, "action:A2").facts
    assert types(fire(made, effects, domain.ACTION_OVERDUE, "action:A2")) == [
        "decisions.plan_action.overdue.v1"
    ]


def test_it_stops_when_the_last_plan_ends_or_the_next_conference_takes_it_on() -> None:
    made, facts = decided()
    made.plan_ended("C1", date(2026, 11, 30))
    assert not fire(made, facts, domain.CORE_GROUP_OVERDUE, "meeting").facts
    assert not fire(made, facts, domain.ACTION_OVERDUE, "action:A2").facts
    # a meeting held after it stopped is on record; nothing more is due
    assert types(made.hold_core_group(meeting("M1", "2026-12-08"), env("2026-12-20T09:00"))) == [
        "decisions.core_group.recorded.v1"
    ]
    review, _ = decided()
    review.hand_on_core_group(date(2027, 2, 23))
    assert review.core_group is not None
    assert (review.core_group.stopped, review.core_group.stopped_on) == (
        "next_conference",
        date(2027, 2, 23),
    )


def test_what_was_due_before_it_stopped_is_judged_whichever_conference_arrives_first() -> None:
    """The review's outcome and this conference's meetings come in two streams: the review
    may be applied first. What fell due before the review is raised all the same, and a
    meeting held before it still sets the next."""
    made, facts = decided()
    made.hand_on_core_group(date(2027, 2, 23))
    assert types(fire(made, facts, domain.CORE_GROUP_OVERDUE, "meeting")) == [
        "decisions.core_group.overdue.v1"
    ]
    effects = made.hold_core_group(meeting("M1", "2026-12-10"), env("2026-12-10T15:00"))
    assert types(effects) == ["decisions.core_group.recorded.v1", "decisions.core_group.due.v1"]
    assert types(fire(made, facts, domain.ACTION_OVERDUE, "action:A2")) == [
        "decisions.plan_action.overdue.v1"
    ]


def test_a_meeting_waits_for_the_outcome_and_is_refused_without_a_plan() -> None:
    made, _ = domain.Conference.request(
        ConferenceRequested.model_validate(family_conference("C")), None
    )
    with pytest.raises(NotReadyYet):
        made.hold_core_group(meeting("M1", "2026-12-08"), env("2026-12-08T15:00"))
    in_need, facts = decided("child_in_need_plan")
    assert "decisions.core_group.due.v1" not in types(facts)
    with pytest.raises(RuleViolation, match="no core group"):
        in_need.hold_core_group(meeting("M1", "2026-12-08"), env("2026-12-08T15:00"))
    made, _ = decided()
    with pytest.raises(RuleViolation, match="before the conference"):
        made.hold_core_group(meeting("M0", "2026-11-20"), env("2026-11-25T15:00"))
