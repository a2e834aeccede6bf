"""The aggregates, command by command, in domain terms: no broker, no database."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.crm_v1 import (
    ChildAdded,
    ConferenceCancelled,
    ConferenceHeld,
    ConferenceRequested,
    ConferenceRescheduled,
    ExclusionDecided,
    InvitationResponded,
    OutcomeDecided,
    ReportSubmitted,
)
from rules.calendar import WorkingDayCalendar
from rules.effects import Env, NotReadyYet, RuleViolation, SetTimer, Timer
from rules.policy import Policy
from services.decisions import domain as decisions
from services.invitations import domain as invitations
from services.reports import domain as reports
from shared.store.aggregates import AggregateStore
from tests.support.crm import family_conference

CALENDAR = WorkingDayCalendar()


def _decisions_conference(
    data: ConferenceRequested, existing: decisions.Conference | None
) -> decisions.Conference:
    """The decisions service's conference as requested (a request says nothing yet)."""
    conference, effects = decisions.Conference.request(data, existing)
    assert not effects.facts and not effects.timers
    return conference


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


def test_a_timer_judges_what_is_in_when_it_fires_not_at_the_end_of_the_deadline_day() -> None:
    conference, effects = reports.Conference.request(
        "201", requested(), None, env("2026-11-16T09:00:00")
    )
    timers = {(t.kind, t.name): t for t in effects.timers if isinstance(t, SetTimer)}
    summary_timer = timers[(reports.READINESS, "chair_deadline")]
    # the deadline is Friday 20 November: people hear on Monday at 09:00, London
    monday_nine = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert summary_timer.due_at == monday_nine

    def chase(agency: str) -> list[Any]:
        request = next(r for r in conference.requests if r.agency == agency)
        payload = timers[(reports.OVERDUE, f"{request.request_id}:chair")].payload
        fired = conference.chase(
            Timer("t", reports.OVERDUE, monday_nine, "C", "201", "C", payload),
            Env(monday_nine, Policy(), CALENDAR),
        )
        return fired.facts

    # Police's report came late on the deadline day, the social worker's on Monday at 8,
    # after the deadline but before anyone was chased: neither is chased.
    conference.submit_report(
        submitted("R-POL", "Police", "POL", "2026-11-20T23:00:00+00:00"),
        env("2026-11-20T23:00:00"),
    )
    [social_work] = conference.submit_report(
        submitted("R-SW", "Children's Social Care", "SW", "2026-11-23T08:00:00+00:00"),
        env("2026-11-23T08:00:00"),
    ).facts[:1]
    assert social_work.data.on_time is False  # late all the same
    assert chase("Police") == [] and chase("Children's Social Care") == []
    [late] = chase("Maternity")
    assert (late.data.agency, late.data.due_by) == ("Maternity", date(2026, 11, 20))
    assert chase("Maternity") == []  # once per request and deadline
    [summary] = conference.summarise(
        Timer("t", reports.READINESS, monday_nine, "C", "201", "C", summary_timer.payload),
        Env(monday_nine, Policy(), CALENDAR),
    ).facts
    assert summary.data.received == ["Children's Social Care", "Police"]  # what is in at 09:00
    assert summary.data.missing == ["Maternity"]


def test_where_the_family_deadline_comes_first_it_has_its_own_reminder_and_short_notice() -> None:
    kent = Policy(reports_to_family_before_initial=5)
    on_friday = Env(datetime(2026, 11, 13, 9, 0, tzinfo=UTC), kent, CALENDAR)
    conference, effects = reports.Conference.request("886", requested(), None, on_friday)
    police = next(r for r in conference.requests if r.agency == "Police")
    assert (police.due_to_chair, police.share_with_family_by) == (
        date(2026, 11, 20),
        date(2026, 11, 18),
    )
    reminders = sorted(
        (t.name.split(":")[1], t.due_at)
        for t in effects.timers
        if isinstance(t, SetTimer) and t.kind == reports.REMINDER and police.request_id in t.name
    )
    assert reminders == [
        ("chair", datetime(2026, 11, 18, 9, 0, tzinfo=UTC)),
        ("family", datetime(2026, 11, 16, 9, 0, tzinfo=UTC)),
    ]
    # requested on Thursday 19th: after the family's deadline, before the chair's
    late = Env(datetime(2026, 11, 19, 9, 0, tzinfo=UTC), kent, CALENDAR)
    conference, _ = reports.Conference.request("886", requested(), None, late)
    assert all(r.short_notice for r in conference.requests)


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
    review = ConferenceRequested.model_validate(review_request)
    with pytest.raises(NotReadyYet, match="previous conference C is not held"):
        invitations.Conference.request(review, None, first, env("2027-02-01T09:00"))
    first.hold(
        ConferenceHeld.model_validate({"conference_id": "C", "held_on": "2026-11-25"}),
        env("2026-11-25T12:00"),
    )
    review, effects = invitations.Conference.request(review, None, first, env("2027-02-01T09:00"))
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
    conference = _decisions_conference(requested(), None)
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


def held(conference: decisions.Conference, day: str = "2026-11-25") -> decisions.Conference:
    """The conference took place (an outcome waits for it)."""
    conference.hold(
        ConferenceHeld.model_validate({"conference_id": conference.conference_id, "held_on": day})
    )
    return conference


def held_review() -> decisions.Conference:
    """Review conference R of conference C, held on 23 February 2027."""
    review_request = family_conference(
        "R", kind="review", scheduled_start="2027-02-23T10:00:00+00:00", previous_conference_id="C"
    )
    review_request.pop("strategy_discussion_date")
    return held(
        _decisions_conference(ConferenceRequested.model_validate(review_request), None),
        "2027-02-23",
    )


def test_a_correction_of_categories_changes_them_on_the_plan_and_one_of_decision_voids_it() -> None:
    conference = held(_decisions_conference(requested(), None))
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in conference.children}
    decisions.decide("201", conference, children, outcome(), "REC-1", env("2026-11-25T12:30"))
    [plan] = children["C1"].plans
    corrected = outcome("physical", correction_reason="wrong category")
    _facts, per_child = decisions.decide(
        "201", conference, children, corrected, "REC-2", env("2026-11-25T13:00")
    )
    # one plan, its category changed: CP-IS sees no end and no new start, the census one plan
    assert children["C1"].plans == [plan] and plan.open
    assert (plan.category, plan.initial_category, plan.categories) == ("PHY", "PHY", ("physical",))
    [changed] = per_child["C1"].facts
    assert changed.type_name == "decisions.plan.category_changed.v1"
    assert (changed.data.from_, changed.data.to) == ("NEG", "PHY")
    assert conference.current is not None and conference.current.supersedes == "REC-1"
    # a correction of the decision itself voids the plan and applies the right one
    stepped_down = outcome(
        correction_reason="a child in need plan was decided",
        children=[
            {"child_id": "C1", "decision": "child_in_need_plan", "categories": []},
            {"child_id": "C2", "decision": "no_further_action", "categories": []},
        ],
    )
    _facts, per_child = decisions.decide(
        "201", conference, children, stepped_down, "REC-3", env("2026-11-25T14:00")
    )
    assert plan.voided
    assert [p.plan_type for p in children["C1"].plans if p.open] == ["child_in_need"]
    assert [f.type_name for f in per_child["C1"].facts] == [
        "decisions.plan.ended.v1",
        "decisions.plan.started.v1",
    ]
    # and correcting back undoes that, starting the protection plan again under a new id
    back = outcome("physical", correction_reason="the plan stands")
    decisions.decide("201", conference, children, back, "REC-4", env("2026-11-25T15:00"))
    assert [(p.plan_type, p.category) for p in children["C1"].plans if p.open] == [
        ("child_protection", "PHY")
    ]
    with pytest.raises(RuleViolation, match="correction_reason"):
        decisions.decide("201", conference, children, outcome(), "REC-5", env("2026-11-26T09:00"))


def test_an_outcome_waits_for_held_and_a_review_for_its_previous_outcome() -> None:
    conference = _decisions_conference(requested(), None)
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in conference.children}
    with pytest.raises(NotReadyYet, match="not been held"):
        decisions.decide("201", conference, children, outcome(), "REC-1", env("2026-11-25T12:30"))
    # a council whose CRM never sends held: judged on the answers, nothing waits
    no_held = Env(
        datetime(2026, 11, 25, 12, 30, tzinfo=UTC), Policy(crm_sends_held=False), CALENDAR
    )
    decisions.decide("201", conference, children, outcome(), "REC-1", no_held)
    review = held_review()
    fresh = {c.child_id: decisions.ChildPlans(c.child_id) for c in review.children}
    again = outcome(conference_id="R", decided_at="2027-02-23T12:30:00+00:00")
    with pytest.raises(NotReadyYet, match="previous conference C"):
        decisions.decide("201", review, fresh, again, "REC-R", env("2027-02-23T12:30"))
    # once the previous conference's outcome is in, the review is judged on the plan it made
    decisions.decide(
        "201", review, children, again, "REC-R", env("2027-02-23T12:30"), previous=conference
    )
    assert [p.reviews[0].conference_id for p in children["C1"].plans] == ["R"]


def test_an_overdue_review_is_judged_on_the_plan_as_it_stands() -> None:
    conference = held(_decisions_conference(requested(), None))
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
    conference = held(_decisions_conference(requested(), None))
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in conference.children}
    decisions.decide("201", conference, children, outcome(), "REC-1", env("2026-11-25T12:30"))
    for store, state in (
        (AggregateStore("conference", decisions.Conference), conference),
        (AggregateStore("child", decisions.ChildPlans), children["C1"]),
    ):
        assert store.parse(store.dump(state)) == state


# --- issue: the rules a council checks ---------------------------------------------------


@pytest.mark.parametrize(
    ("third", "quorate"),
    [
        ({"person_id": "MT", "role": "minute_taker", "agency": "CP Business Support"}, False),
        ({"person_id": "ADV", "role": "advocate", "agency": "Advocacy Service"}, False),
        ({"person_id": "INT", "role": "interpreter", "agency": "Language Line"}, False),
        ({"person_id": "GP", "role": "gp", "agency": "Surgery"}, True),
    ],
)
def test_only_agencies_with_direct_involvement_count_for_quorum(
    third: dict[str, str], quorate: bool
) -> None:
    people = [
        {"person_id": "SW", "name": "S", "role": "social_worker", "agency": "CSC"},
        {"person_id": "POL", "name": "P", "role": "police", "agency": "Police"},
        {**third, "name": "N"},
    ]
    conference = _decisions_conference(requested(participants=people), None)
    conference.hold(
        ConferenceHeld.model_validate(
            {
                "conference_id": "C",
                "held_on": "2026-11-25",
                "attended": ["SW", "POL", third["person_id"]],
            }
        )
    )
    assert conference.quorate(env("2026-11-25T12:00")) is quorate
    invited, _ = invitations.Conference.request(
        requested(participants=people), None, None, env("2026-11-16T09:00")
    )
    [final] = invited.hold(
        ConferenceHeld.model_validate(
            {
                "conference_id": "C",
                "held_on": "2026-11-25",
                "attended": ["SW", "POL", third["person_id"]],
            }
        ),
        env("2026-11-25T12:00"),
    ).facts
    assert (final.data.quorate, final.data.final) == (quorate, True)


def test_a_deputy_counts_for_the_agency_they_stand_in_for() -> None:
    people = [
        {"person_id": "SW", "name": "S", "role": "social_worker", "agency": "CSC"},
        {"person_id": "POL", "name": "P", "role": "police", "agency": "Police"},
        {"person_id": "HV", "name": "H", "role": "health_visitor", "agency": "Community Health"},
    ]
    conference = _decisions_conference(requested(participants=people), None)
    conference.respond(
        InvitationResponded.model_validate(
            {
                "conference_id": "C",
                "person_id": "HV",
                "response": "deputy",
                "deputy": {
                    "person_id": "HV2",
                    "name": "D",
                    "role": "school_nurse",
                    "agency": "Schools",
                },
            }
        )
    )
    conference.hold(
        ConferenceHeld.model_validate(
            {"conference_id": "C", "held_on": "2026-11-25", "attended": ["SW", "POL", "HV2"]}
        )
    )
    assert conference.quorate(env("2026-11-25T12:00")) is True


def test_decisions_follow_a_reschedule_and_refuse_an_outcome_after_a_cancellation() -> None:
    moved = _decisions_conference(requested(), None)
    moved.reschedule(
        ConferenceRescheduled.model_validate(
            {"conference_id": "C", "scheduled_start": "2027-06-18T10:00:00+01:00", "reason": "r"}
        )
    )
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in moved.children}
    # a council whose CRM sends no held: plans start on the date it was moved to
    no_held = Env(datetime(2027, 6, 18, 12, 30, tzinfo=UTC), Policy(crm_sends_held=False), CALENDAR)
    decisions.decide("201", moved, children, outcome(), "REC-1", no_held)
    assert [p.start_date for p in children["C1"].plans] == [date(2027, 6, 18)]
    cancelled = _decisions_conference(requested(), None)
    cancelled.cancel(ConferenceCancelled.model_validate({"conference_id": "C", "reason": "r"}))
    with pytest.raises(RuleViolation, match="cancelled"):
        decisions.decide("201", cancelled, {}, outcome(), "REC-2", env("2026-11-25T12:30"))


def test_timeliness_per_conference_and_per_child_as_the_dfe_counts() -> None:
    from services.decisions.stats import timeliness

    siblings = _decisions_conference(  # two children, in time (target 27 November)
        requested("A", strategy_discussion_date="2026-11-06"), None
    )
    single = _decisions_conference(
        requested(
            "B",
            children=[family_conference("B")["children"][0]],
            strategy_discussion_date="2026-10-01",  # 15 working days: 22 October; held late
        ),
        None,
    )
    figures = timeliness(
        tenant="201",
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
        conferences=[siblings, single],
        plans=[],
        reviews=[],
        policy=Policy(),
        calendar=CALENDAR,
    )
    assert (figures.initial_within_timescale.count, figures.initial_within_timescale.of) == (1, 2)
    per_child = figures.children_initial_within_timescale
    assert (per_child.count, per_child.of, per_child.percent) == (2, 3, 66.7)


def test_a_parents_own_report_goes_to_the_members_only_where_the_policy_says() -> None:
    report = reports.ReportFacts("R-MUM", "crm://m", None, True, family_authored=True)
    members = [reports.Recipient("SW", "social_worker"), reports.Recipient("POL", "police")]
    assert [s.person_id for s in reports.members_for(report, members, set())] == ["SW", "POL"]
    assert reports.members_for(report, members, {("R-MUM", "SW")})[0].person_id == "POL"
    agency = reports.ReportFacts("R-POL", "crm://p", None, True)
    assert reports.members_for(agency, members, set()) == []  # agencies' reports: not this rule
    for policy, expected in (
        (Policy(), {"CHAIR"}),
        (Policy(family_reports_shared_with_members=True), {"CHAIR", "SW", "POL", "MW"}),
    ):
        conference, _ = reports.Conference.request(
            "886", requested(), None, Env(datetime(2026, 11, 16, 9, tzinfo=UTC), policy, CALENDAR)
        )
        effects = conference.submit_report(
            submitted("R-MUM", "Family", "MUM", "2026-11-16T10:00:00+00:00"),
            Env(datetime(2026, 11, 16, 10, tzinfo=UTC), policy, CALENDAR),
        )
        shared = {
            f.data.recipient_person_id for f in effects.facts if f.type_name.endswith("shared.v1")
        }
        assert shared == expected


def test_invitations_carry_needs_and_the_chairs_contact_and_a_late_exclusion_is_flagged() -> None:
    gran = {
        "person_id": "GRAN",
        "name": "G",
        "role": "family_member",
        "accessibility_needs": "ramp",
    }
    redcar = Policy(chair_contacts_family_before=1)
    data = requested(participants=[*family_conference("C")["participants"], gran])
    conference, effects = invitations.Conference.request(
        data, None, None, Env(datetime(2026, 11, 16, 9, tzinfo=UTC), redcar, CALENDAR)
    )
    issued = {f.data.person_id: f.data for f in effects.facts if f.type_name.endswith("issued.v1")}
    assert issued["GRAN"].accessibility_needs == "ramp"
    assert (issued["MUM"].pre_meeting_start, issued["MUM"].chair_contact_by) == (
        None,
        date(2026, 11, 24),
    )
    assert issued["SW"].chair_contact_by is None
    for decided_at, late in (
        ("2026-11-20T10:00:00+00:00", False),
        ("2026-11-23T10:00:00+00:00", True),
    ):
        decision = ExclusionDecided.model_validate(
            {
                "conference_id": "C",
                "person_id": "GRAN",
                "decided_by": "CHAIR",
                "decided_at": decided_at,
                "scope": "part",
                "part_description": "police information",
                "grounds": ["police_investigation"],
                "reason": "investigation",
                "alternative_arrangements": [],
                "withhold_reports": False,
            }
        )
        [recorded] = conference.decide_exclusion(decision, env(decided_at[:16])).facts
        assert recorded.data.late_request is late  # three working days before: the 20th


def test_an_advocate_for_the_child_meets_the_need_for_their_views() -> None:
    ten = [invitations.ChildFacts("T1", date(2016, 1, 1))]
    advocate = invitations.ListedPerson("ADV", "advocate", ("T1",))
    mum = invitations.ListedPerson("MUM", "parent", ("T1",), True)

    def codes(people: list[invitations.ListedPerson]) -> set[str]:
        return {
            a.code for a in invitations.attendance_advice(ten, people, date(2026, 11, 25), Policy())
        }

    assert "child_views_needed" in codes([mum])
    assert "child_views_needed" not in codes([mum, advocate])


def test_a_change_of_categories_within_mul_is_reported() -> None:
    conference = held(_decisions_conference(requested(), None))
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in conference.children}
    first = outcome()
    first_children = [
        {
            "child_id": "C1",
            "decision": "child_protection_plan",
            "categories": ["neglect", "emotional"],
        },
        {"child_id": "C2", "decision": "no_further_action", "categories": []},
    ]
    decisions.decide(
        "201",
        conference,
        children,
        OutcomeDecided.model_validate(
            {**first.model_dump(mode="json"), "children": first_children}
        ),
        "REC-1",
        env("2026-11-25T12:30"),
    )
    review = held_review()
    again = OutcomeDecided.model_validate(
        {
            **first.model_dump(mode="json"),
            "conference_id": "R",
            "children": [
                {
                    "child_id": "C1",
                    "decision": "child_protection_plan",
                    "categories": ["physical", "sexual"],
                }
            ],
        }
    )
    _facts, per_child = decisions.decide(
        "201", review, children, again, "REC-2", env("2027-02-23T12:30"), previous=conference
    )
    [changed] = [
        f.data for f in per_child["C1"].facts if f.type_name.endswith("category_changed.v1")
    ]
    assert (changed.from_, changed.to) == ("MUL", "MUL")
    assert (changed.from_categories, changed.to_categories) == (
        ["emotional", "neglect"],
        ["physical", "sexual"],
    )


def test_a_child_added_later_is_advised_on_and_can_be_decided_for() -> None:
    added = ChildAdded.model_validate(
        {
            "conference_id": "C",
            "child": {
                "child_id": "C3",
                "given_name": "E",
                "family_name": "B",
                "date_of_birth": "2025-09-01",
            },
        }
    )
    invited, _ = invitations.Conference.request(requested(), None, None, env("2026-11-16T09:00"))
    [advised] = invited.add_child(added, env("2026-11-17T09:00")).facts
    assert "C3" in {a.child_id for a in advised.data.advice}
    conference = _decisions_conference(requested(), None)
    conference.add_child(added)
    assert "C3" in {c.child_id for c in conference.children}
    collecting, _ = reports.Conference.request("201", requested(), None, env("2026-11-16T09:00"))
    again = [
        f.data
        for f in collecting.add_child(added, env("2026-11-17T09:00")).facts
        if f.type_name == "reports.report.requested.v1"
    ]
    assert {r.request_id for r in again} == {r.request_id for r in collecting.requests}
    assert {tuple(r.children) for r in again} == {("C1", "C2", "C3")}
    assert collecting.add_child(added, env("2026-11-17T10:00")).facts == []  # once


def test_in_lists_are_padded_to_a_power_of_two_with_the_same_values() -> None:
    from shared.store.dialect import padded

    assert padded([]) == []
    assert padded(["a"]) == ["a"]
    assert padded(["a", "b", "c"]) == ["a", "b", "c", "c"]
    assert len(padded(list(range(33)))) == 64 and set(padded(list(range(33)))) == set(range(33))
    lengths = {len(padded(list(range(n)))) for n in range(1, 101)}
    assert lengths == {1, 2, 4, 8, 16, 32, 64, 128}  # eight statement texts, not a hundred
