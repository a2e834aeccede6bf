"""Complaints about a conference: deadlines from the council's policy, reminders and chases
only while a step is not done, the outcome recorded, and the decision untouched."""

from datetime import UTC, date, datetime

import pytest

from contracts.crm_v1 import (
    ComplaintAcknowledged,
    ComplaintAnswered,
    ComplaintReceived,
    ConferenceRequested,
)
from rules.calendar import WorkingDayCalendar
from rules.effects import Effects, Env, NotReadyYet, RuleViolation, SetTimer, Timer
from rules.policy import Policy
from services.decisions import domain
from tests.support.crm import family_conference

CALENDAR = WorkingDayCalendar()


def env(at: str, policy: Policy | None = None) -> Env:
    return Env(datetime.fromisoformat(at).replace(tzinfo=UTC), policy or Policy(), CALENDAR)


def conference() -> domain.Conference:
    made, _ = domain.Conference.request(
        ConferenceRequested.model_validate(family_conference("C")), None
    )
    return made


def received(person: str = "MUM", complaint: str = "K1") -> ComplaintReceived:
    return ComplaintReceived(
        conference_id="C",
        complaint_id=complaint,
        person_id=person,
        received_at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
    )


def fire(made: domain.Conference, effects: Effects, kind: str, name: str) -> Effects:
    [timer] = [
        t for t in effects.timers if isinstance(t, SetTimer) and (t.kind, t.name) == (kind, name)
    ]
    return made.complaint_due(
        Timer("t", kind, timer.due_at, "C", "201", "C", timer.payload),
        Env(timer.due_at, Policy(), CALENDAR),
    )


def test_a_complaint_is_due_acknowledged_in_3_and_answered_in_10_working_days() -> None:
    made = conference()
    effects = made.receive_complaint(received(), env("2026-11-30T10:00"))
    [recorded] = effects.facts
    assert recorded.type_name == "decisions.complaint.recorded.v1"
    assert (recorded.data.acknowledge_by, recorded.data.answer_by, recorded.data.notify) == (
        date(2026, 12, 3),
        date(2026, 12, 14),
        ["CHAIR"],
    )
    [chase] = fire(made, effects, domain.COMPLAINT_OVERDUE, "K1:acknowledgement").facts
    assert (chase.type_name, chase.data.step, chase.data.due_by) == (
        "decisions.complaint.overdue.v1",
        "acknowledgement",
        date(2026, 12, 3),
    )
    [reminder] = fire(made, effects, domain.COMPLAINT_REMINDER, "K1:answer").facts
    assert (reminder.type_name, reminder.data.step) == (
        "decisions.complaint.reminder_sent.v1",
        "answer",
    )
    # once each
    assert not fire(made, effects, domain.COMPLAINT_REMINDER, "K1:answer").facts


def test_a_step_done_is_neither_reminded_nor_chased_and_the_answer_is_recorded() -> None:
    made = conference()
    effects = made.receive_complaint(received(), env("2026-11-30T10:00"))
    made.acknowledge_complaint(
        ComplaintAcknowledged(conference_id="C", complaint_id="K1",
                              acknowledged_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    )  # fmt: skip
    assert not fire(made, effects, domain.COMPLAINT_OVERDUE, "K1:acknowledgement").facts
    closed = made.answer_complaint(
        ComplaintAnswered(conference_id="C", complaint_id="K1", answered_by="CHAIR",
                          answered_at=datetime(2026, 12, 15, 12, 0, tzinfo=UTC),
                          outcome="partly_upheld")
    )  # fmt: skip
    [fact] = closed.facts
    assert (fact.data.outcome, fact.data.answered_on, fact.data.on_time) == (
        "partly_upheld",
        date(2026, 12, 15),
        False,
    )
    # the chase fired on its own date (the 15th, 09:00), before the answer at noon
    [chase] = fire(made, effects, domain.COMPLAINT_OVERDUE, "K1:answer").facts
    assert chase.data.step == "answer"
    with pytest.raises(RuleViolation, match="already answered"):
        made.answer_complaint(
            ComplaintAnswered(conference_id="C", complaint_id="K1", answered_by="CHAIR",
                              answered_at=datetime(2026, 12, 16, tzinfo=UTC), outcome="upheld")
        )  # fmt: skip


def test_who_may_complain_and_what_waits() -> None:
    made = conference()
    with pytest.raises(RuleViolation, match="not a parent, carer or professional"):
        made.receive_complaint(received("STRANGER"), env("2026-11-30T10:00"))
    made.receive_complaint(received("POL", "K2"), env("2026-11-30T10:00"))  # a professional
    with pytest.raises(RuleViolation, match="already recorded"):
        made.receive_complaint(received("POL", "K2"), env("2026-11-30T11:00"))
    with pytest.raises(NotReadyYet):
        made.acknowledge_complaint(
            ComplaintAcknowledged(conference_id="C", complaint_id="K9",
                                  acknowledged_at=datetime(2026, 12, 1, tzinfo=UTC))
        )  # fmt: skip
    with pytest.raises(RuleViolation, match="chair"):
        made.answer_complaint(
            ComplaintAnswered(conference_id="C", complaint_id="K2", answered_by="SW",
                              answered_at=datetime(2026, 12, 1, tzinfo=UTC), outcome="upheld")
        )  # fmt: skip


def test_a_complaint_never_suspends_the_decision() -> None:
    from contracts.crm_v1 import ConferenceHeld, OutcomeDecided

    made = conference()
    made.hold(ConferenceHeld(conference_id="C", held_on=date(2026, 11, 25)))
    made.receive_complaint(received(), env("2026-11-25T11:00"))
    children = {c.child_id: domain.ChildPlans(c.child_id) for c in made.children}
    outcome = OutcomeDecided.model_validate(
        {"conference_id": "C", "decided_at": "2026-11-25T12:30:00+00:00", "decided_by": "CHAIR",
         "children": [{"child_id": "C1", "decision": "child_protection_plan",
                       "categories": ["neglect"]},
                      {"child_id": "C2", "decision": "no_further_action", "categories": []}]}
    )  # fmt: skip
    facts, per_child = domain.decide("201", made, children, outcome, "R", env("2026-11-25T12:30"))
    assert "decisions.outcome.recorded.v1" in [f.type_name for f in facts.facts]
    assert next(f.type_name for f in per_child["C1"].facts) == "decisions.plan.started.v1"
