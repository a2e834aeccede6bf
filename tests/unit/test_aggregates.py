"""The aggregates, command by command, in domain terms: no broker, no database."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.crm_v1 import (
    ConferenceHeld,
    ConferenceRequested,
    ExclusionDecided,
    InvitationResponded,
    OutcomeDecided,
    ReportSubmitted,
)
from services.decisions import domain as decisions
from services.invitations import domain as invitations
from services.reports import domain as reports
from shared.aggregates import AggregateStore
from shared.calendar import WorkingDayCalendar
from shared.effects import Env, RuleViolation, SetTimer
from shared.policy import Policy
from shared.timers import Timer
from tests.support.crm import family_conference

CALENDAR = WorkingDayCalendar()


def env(at: str) -> Env:
    return Env(datetime.fromisoformat(at).replace(tzinfo=UTC), Policy(), CALENDAR)


def requested(conference: str = "C", **changes: Any) -> ConferenceRequested:
    return ConferenceRequested.model_validate(family_conference(conference, **changes))


def timer(kind: str, due: datetime, **payload: Any) -> Timer:
    return Timer("t", kind, due, "C", "201", "C", payload)


def submitted(rid: str, agency: str, author: str, at: str) -> ReportSubmitted:
    return ReportSubmitted.model_validate(
        {
            "conference_id": "C",
            "report_id": rid,
            "author_person_id": author,
            "agency": agency,
            "submitted_at": at,
            "document": {"uri": f"crm://{rid}", "sha256": "a" * 64, "media_type": "x/y"},
            "sections": [],
        }
    )


# --- reports: timers judge what had happened by their due time --------------------------


def test_a_report_in_by_the_deadline_is_not_chased_and_one_after_it_is_not_counted() -> None:
    conference, effects = reports.Conference.request(
        "201", requested(), None, env("2026-11-16T09:00:00")
    )
    police = next(r for r in conference.requests if r.agency == "Police")
    chase = next(
        t
        for t in effects.timers
        if isinstance(t, SetTimer) and t.kind == reports.OVERDUE and t.name == police.request_id
    )
    assert chase.due_at == datetime(2026, 11, 21, 0, 0, tzinfo=chase.due_at.tzinfo)
    # Police's report was submitted on the deadline day but is applied after the chase time
    conference.submit_report(
        submitted("R-POL", "Police", "POL", "2026-11-20T23:00:00+00:00"),
        env("2026-11-20T23:00:00"),
    )
    assert (
        conference.chase(
            timer(reports.OVERDUE, chase.due_at, request_id=police.request_id),
            Env(chase.due_at, Policy(), CALENDAR),
        ).facts
        == []
    )
    # the social worker's arrived later than the summary's time: not counted as received
    conference.submit_report(
        submitted("R-SW", "Children's Social Care", "SW", "2026-11-23T10:00:00+00:00"),
        env("2026-11-23T10:00:00"),
    )
    [summary] = conference.summarise(
        timer(reports.READINESS, chase.due_at), Env(chase.due_at, Policy(), CALENDAR)
    ).facts
    assert summary.data.received == ["Police"]
    assert "Children's Social Care" in summary.data.missing


def test_a_share_never_happens_before_the_report_was_submitted() -> None:
    conference, _ = reports.Conference.request("201", requested(), None, env("2026-11-16T09:00:00"))
    effects = conference.submit_report(
        submitted("R", "Police", "POL", "2026-11-19T15:00:00+00:00"), env("2026-11-19T15:00:00")
    )
    shares = [f for f in effects.facts if f.type_name == "reports.report.shared.v1"]
    assert {f.data.shared_at for f in shares} == {datetime(2026, 11, 19, 15, 0, tzinfo=UTC)}
    assert {f.time for f in shares} == {datetime(2026, 11, 19, 15, 0, tzinfo=UTC)}


def test_request_ids_belong_to_a_council() -> None:
    kent, _ = reports.Conference.request("886", requested(), None, env("2026-11-16T09:00:00"))
    devon, _ = reports.Conference.request("878", requested(), None, env("2026-11-16T09:00:00"))
    assert not {r.request_id for r in kent.requests} & {r.request_id for r in devon.requests}


# --- invitations -----------------------------------------------------------------------


def test_a_review_invites_last_times_excluded_parent_and_asks_the_chair_again() -> None:
    dad = {"person_id": "DAD", "name": "D", "role": "parent", "has_parental_responsibility": True}
    first_request = requested("C", participants=[*family_conference("C")["participants"], dad])
    first, _ = invitations.Conference.request(first_request, None, None, env("2026-11-16T09:00"))
    first.decide_exclusion(
        ExclusionDecided.model_validate(
            {
                "conference_id": "C",
                "person_id": "DAD",
                "decided_by": "CHAIR",
                "decided_at": "2026-11-18T10:00:00+00:00",
                "scope": "whole",
                "grounds": ["risk_of_violence"],
                "reason": "threats",
                "alternative_arrangements": [],
                "withhold_reports": False,
            }
        ),
        env("2026-11-18T10:00"),
    )
    review_request = family_conference(
        "R", kind="review", scheduled_start="2027-02-23T10:00:00+00:00", previous_conference_id="C"
    )
    review_request.pop("strategy_discussion_date")
    review, effects = invitations.Conference.request(
        ConferenceRequested.model_validate(review_request), None, first, env("2027-02-01T09:00")
    )
    assert review.invitee("DAD") is not None and review.invitee("DAD").status == "live"
    [asked] = [f for f in effects.facts if f.type_name.endswith("review_required.v1")]
    assert (asked.data.person_id, asked.data.previous_grounds) == ("DAD", ["risk_of_violence"])


def test_the_quorum_check_counts_the_answers_given_by_its_time() -> None:
    conference, _ = invitations.Conference.request(requested(), None, None, env("2026-11-16T09:00"))
    for person, at in (("SW", "2026-11-17T09:00"), ("POL", "2026-11-24T09:30")):
        conference.respond(
            InvitationResponded.model_validate(
                {"conference_id": "C", "person_id": person, "response": "attending"}
            ),
            env(at),
        )
    day_before = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    [assessed] = conference.quorum_check(
        timer("quorum_check", day_before), Env(day_before, Policy(), CALENDAR)
    ).facts
    assert assessed.data.agencies_attending == ["Children's Social Care"]


def test_an_event_for_a_cancelled_conference_is_refused() -> None:
    conference, _ = invitations.Conference.request(requested(), None, None, env("2026-11-16T09:00"))
    conference.status = "cancelled"
    with pytest.raises(RuleViolation, match="cancelled"):
        conference.respond(
            InvitationResponded.model_validate(
                {"conference_id": "C", "person_id": "SW", "response": "attending"}
            ),
            env("2026-11-17T09:00"),
        )


# --- decisions ---------------------------------------------------------------------------


def outcome(category: str = "neglect", **extra: Any) -> OutcomeDecided:
    return OutcomeDecided.model_validate(
        {
            "conference_id": "C",
            "decided_at": "2026-11-25T12:30:00+00:00",
            "decided_by": "CHAIR",
            "children": [
                {"child_id": "C1", "decision": "child_protection_plan", "categories": [category]},
                {"child_id": "C2", "decision": "no_further_action", "categories": []},
            ],
            "recommendations": [],
            "core_group": [],
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("attended", "answers", "quorate"),
    [
        (None, [], None),  # nothing known: the chair decides
        (["CHAIR", "SW", "POL", "MW"], [], True),  # attendance alone
        (["CHAIR", "MUM", "SW"], [("POL", "attending")], False),  # attendance wins
        (None, [("SW", "attending"), ("POL", "attending"), ("MW", "apologies")], False),
        (None, [("SW", "attending"), ("POL", "attending"), ("MW", "attending")], True),
    ],
)
def test_quorum_from_attendance_else_from_answers(
    attended: list[str] | None, answers: list[tuple[str, str]], quorate: bool | None
) -> None:
    conference = decisions.Conference.request(requested(), None)
    for person, response in answers:
        conference.respond(
            InvitationResponded.model_validate(
                {"conference_id": "C", "person_id": person, "response": response}
            )
        )
    if attended is not None:
        conference.hold(
            ConferenceHeld.model_validate(
                {"conference_id": "C", "held_on": "2026-11-25", "attended": attended}
            )
        )
    assert conference.quorate(env("2026-11-25T12:30")) is quorate


def test_a_correction_voids_the_plan_it_replaces_and_starts_the_right_one() -> None:
    conference = decisions.Conference.request(requested(), None)
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in conference.children}
    decisions.decide("201", conference, children, outcome(), "REC-1", env("2026-11-25T12:30"))
    [plan] = children["C1"].plans
    corrected = outcome("physical", correction_reason="wrong category")
    _facts, per_child = decisions.decide(
        "201", conference, children, corrected, "REC-2", env("2026-11-25T13:00")
    )
    assert plan.voided
    assert [p.category for p in children["C1"].plans if p.open] == ["PHY"]
    assert conference.current is not None and conference.current.supersedes == "REC-1"
    assert [f.type_name for f in per_child["C1"].facts][:1] == ["decisions.plan.ended.v1"]
    with pytest.raises(RuleViolation, match="correction_reason"):
        decisions.decide("201", conference, children, outcome(), "REC-3", env("2026-11-26T09:00"))


def test_an_overdue_review_is_judged_on_the_plan_as_it_stands() -> None:
    conference = decisions.Conference.request(requested(), None)
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in conference.children}
    decisions.decide("201", conference, children, outcome(), "REC-1", env("2026-11-25T12:30"))
    [plan] = children["C1"].plans
    assert plan.review_due == date(2027, 2, 25)
    due = datetime(2027, 2, 26, 0, 0, tzinfo=UTC)
    overdue = timer(decisions.REVIEW_OVERDUE, due, plan_id=plan.plan_id, due_by="2027-02-25")
    assert len(children["C1"].review_overdue(overdue, Env(due, Policy(), CALENDAR)).facts) == 1
    plan.review_due = date(2027, 8, 23)  # a review was held and moved the date
    assert children["C1"].review_overdue(overdue, Env(due, Policy(), CALENDAR)).facts == []


def test_aggregates_survive_the_store_round_trip() -> None:
    conference = decisions.Conference.request(requested(), None)
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in conference.children}
    decisions.decide("201", conference, children, outcome(), "REC-1", env("2026-11-25T12:30"))
    for store, state in (
        (AggregateStore("conference", decisions.Conference), conference),
        (AggregateStore("child", decisions.ChildPlans), children["C1"]),
    ):
        assert store.parse(store.dump(state)) == state
