"""The minutes: due after the conference (reminded and chased), shared like reports with who
attended or sent apologies and with parents and carers, corrections asked for in time and
answered, and an amended version for the same people once each."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.crm_v1 import (
    ConferenceHeld,
    ConferenceRequested,
    ExclusionDecided,
    FamilySharingDecided,
    InvitationResponded,
    MinutesCorrectionAnswered,
    MinutesCorrectionRequested,
    MinutesSubmitted,
)
from rules.calendar import WorkingDayCalendar
from rules.effects import Effects, Env, NotReadyYet, RuleViolation, SetTimer, Timer
from rules.policy import Policy
from services.reports import domain
from tests.support.crm import family_conference

CALENDAR = WorkingDayCalendar()
EXTRA = [
    {"person_id": "DAD", "name": "D", "role": "parent", "has_parental_responsibility": True},
    {"person_id": "GRAN", "name": "G", "role": "family_member"},
    {"person_id": "AUNT", "name": "A", "role": "family_member"},
    {"person_id": "GP", "name": "G", "role": "gp", "agency": "Surgery"},
    {"person_id": "INT", "name": "I", "role": "interpreter", "language": "ar"},
]


def env(at: str) -> Env:
    return Env(datetime.fromisoformat(at).replace(tzinfo=UTC), Policy(), CALENDAR)


def conference() -> tuple[domain.Conference, Effects]:
    data = family_conference("C")
    data["participants"] += EXTRA
    made, effects = domain.Conference.request(
        "201", ConferenceRequested.model_validate(data), None, env("2026-11-16T09:00")
    )
    return made, effects


def minutes(version: int, at: str, restricted: bool = True) -> MinutesSubmitted:
    document = {"uri": f"crm://minutes-v{version}", "sha256": "a" * 64, "media_type": "x/y"}
    return MinutesSubmitted.model_validate(
        {
            "conference_id": "C",
            "minutes_id": "MIN-1",
            "version": version,
            "submitted_at": at,
            "document": document,
            "restricted_document": (
                {**document, "uri": f"crm://minutes-v{version}-restricted"} if restricted else None
            ),
        }
    )


def held_with_answers(made: domain.Conference) -> Effects:
    """POL sent apologies, MW sent no answer and did not attend; GP attended; the chair said
    GRAN receives reports, not AUNT."""
    made.respond(InvitationResponded(conference_id="C", person_id="POL", response="apologies"))
    made.decide_family_sharing(
        FamilySharingDecided(conference_id="C", person_id="GRAN", decided_by="CHAIR",
                             decided_at=datetime(2026, 11, 20, tzinfo=UTC),
                             receives_reports=True),
        env("2026-11-20T00:00"),
    )  # fmt: skip
    return made.hold(
        ConferenceHeld(conference_id="C", held_on=date(2026, 11, 25),
                       attended=["CHAIR", "MUM", "SW", "GP", "INT"]),
        env("2026-11-25T12:00"),
    )  # fmt: skip


def shares(effects: Effects) -> dict[str, Any]:
    return {
        f.data.recipient_person_id: f.data
        for f in effects.facts
        if f.type_name == "reports.minutes.shared.v1"
    }


def fire(made: domain.Conference, effects: Effects, kind: str, at: str | None = None) -> Effects:
    [timer] = [t for t in effects.timers if isinstance(t, SetTimer) and t.kind == kind]
    due = Timer("t", kind, timer.due_at, "C", "201", "C", timer.payload)
    rules = {
        domain.MINUTES_REMINDER: made.remind_minutes,
        domain.MINUTES_OVERDUE: made.chase_minutes,
        domain.CORRECTION_REMINDER: made.remind_correction,
        domain.CORRECTION_OVERDUE: made.chase_correction,
    }
    moment = datetime.fromisoformat(at).replace(tzinfo=UTC) if at else timer.due_at
    return rules[kind](due, Env(moment, Policy(), CALENDAR))


def test_the_minutes_are_due_15_working_days_after_the_conference_reminded_and_chased() -> None:
    made, _ = conference()
    scheduled = held_with_answers(made)
    assert made.minutes_due(env("2026-11-25T12:00")) == date(2026, 12, 16)
    [reminder] = fire(made, scheduled, domain.MINUTES_REMINDER).facts
    assert (reminder.type_name, reminder.data.about, reminder.data.due_by) == (
        "reports.minutes.reminder_sent.v1", "minutes", date(2026, 12, 16),
    )  # fmt: skip
    assert reminder.data.notify == ["CHAIR"]
    [chase] = fire(made, scheduled, domain.MINUTES_OVERDUE).facts
    assert (chase.type_name, chase.data.due_by) == (
        "reports.minutes.overdue.v1",
        date(2026, 12, 16),
    )
    # once each: the same timer again says nothing
    assert not fire(made, scheduled, domain.MINUTES_OVERDUE).facts


def test_shared_with_who_attended_or_sent_apologies_and_parents_and_carers_as_reports_are() -> None:
    made, _ = conference()
    scheduled = held_with_answers(made)
    made.decide_exclusion(
        ExclusionDecided.model_validate(
            {"conference_id": "C", "person_id": "DAD", "decided_by": "CHAIR",
             "decided_at": "2026-11-24T10:00:00+00:00", "scope": "whole",
             "grounds": ["risk_of_violence"], "reason": "Threats.", "withhold_reports": True}
        )
    )  # fmt: skip
    effects = made.submit_minutes(minutes(1, "2026-12-10T10:00:00+00:00"), env("2026-12-10T10:00"))
    shared = shares(effects)
    # the chair and professionals who attended or sent apologies, with the restricted part;
    # a mother who attended, and the grandmother the chair said receives reports, without;
    # not the midwife (no answer, absent), the interpreter, the aunt, or the excluded father
    assert {p: s.includes_restricted for p, s in shared.items()} == {
        "CHAIR": True, "SW": True, "GP": True, "POL": True, "MUM": False, "GRAN": False,
    }  # fmt: skip
    assert shared["MUM"].restricted_document_uri is None
    assert shared["MUM"].document_uri == "crm://minutes-v1"
    assert shared["POL"].restricted_document_uri == "crm://minutes-v1-restricted"
    assert (shared["MUM"].on_time, shared["MUM"].due_by) == (True, date(2026, 12, 16))
    assert (
        shared["MUM"].corrections_by == date(2026, 12, 24) and shared["SW"].corrections_by is None
    )
    [withheld] = [f.data for f in effects.facts if f.type_name == "reports.minutes.withheld.v1"]
    assert (withheld.recipient_person_id, withheld.reason, withheld.notify) == (
        "DAD", "chair_ordered", ["CHAIR"],
    )  # fmt: skip
    # in before the chair is reminded: neither reminder nor chase is sent
    assert not fire(made, scheduled, domain.MINUTES_REMINDER).facts
    assert not fire(made, scheduled, domain.MINUTES_OVERDUE).facts


def test_minutes_wait_for_the_conference_to_be_held() -> None:
    made, _ = conference()
    with pytest.raises(NotReadyYet):
        made.submit_minutes(minutes(1, "2026-11-26T10:00:00+00:00"), env("2026-11-26T10:00"))


def correction(request_id: str, person: str, at: str) -> MinutesCorrectionRequested:
    return MinutesCorrectionRequested(
        conference_id="C",
        request_id=request_id,
        person_id=person,
        requested_at=datetime.fromisoformat(at),
    )


def test_a_correction_asked_in_time_is_answered_and_the_amendment_goes_to_the_same_people() -> None:
    made, _ = conference()
    held_with_answers(made)
    first = made.submit_minutes(minutes(1, "2026-12-10T10:00:00+00:00"), env("2026-12-10T10:00"))
    asked = made.request_correction(
        correction("CR-1", "MUM", "2026-12-14T10:00:00+00:00"), env("2026-12-14T10:00")
    )
    [fact] = asked.facts
    assert (fact.type_name, fact.data.answer_by, fact.data.notify, fact.data.version) == (
        "reports.minutes.correction_requested.v1", date(2026, 12, 30), ["CHAIR"], 1,
    )  # fmt: skip
    [reminder] = fire(made, asked, domain.CORRECTION_REMINDER).facts
    assert (reminder.data.about, reminder.data.request_id) == ("correction", "CR-1")
    made.answer_correction(
        MinutesCorrectionAnswered(conference_id="C", request_id="CR-1", answered_by="CHAIR",
                                  answered_at=datetime(2026, 12, 22, tzinfo=UTC), accepted=True),
        env("2026-12-22T00:00"),
    )  # fmt: skip
    assert not fire(made, asked, domain.CORRECTION_OVERDUE).facts  # answered before the chase
    amended = made.submit_minutes(minutes(2, "2027-01-04T10:00:00+00:00"), env("2027-01-04T10:00"))
    assert set(shares(amended)) == set(shares(first))  # the same people, once each
    assert {s.supersedes_version for s in shares(amended).values()} == {1}
    assert shares(amended)["GP"].restricted_document_uri == "crm://minutes-v2-restricted"
    assert shares(amended)["MUM"].due_by == date(2026, 12, 30)  # the answer's date
    with pytest.raises(RuleViolation, match="later version"):
        made.submit_minutes(minutes(2, "2027-01-05T10:00:00+00:00"), env("2027-01-05T10:00"))


def test_a_correction_is_asked_within_10_working_days_by_someone_who_received_them() -> None:
    made, _ = conference()
    held_with_answers(made)
    with pytest.raises(NotReadyYet):
        made.request_correction(
            correction("CR-0", "MUM", "2026-12-09T10:00:00+00:00"), env("2026-12-09T10:00")
        )
    made.submit_minutes(minutes(1, "2026-12-10T10:00:00+00:00"), env("2026-12-10T10:00"))
    with pytest.raises(RuleViolation, match="until 2026-12-24"):
        made.request_correction(
            correction("CR-1", "MUM", "2026-12-29T10:00:00+00:00"), env("2026-12-29T10:00")
        )
    with pytest.raises(RuleViolation, match="has not received"):
        made.request_correction(
            correction("CR-2", "SW", "2026-12-11T10:00:00+00:00"), env("2026-12-11T10:00")
        )
    unanswered = made.request_correction(
        correction("CR-3", "GRAN", "2026-12-24T10:00:00+00:00"), env("2026-12-24T10:00")
    )
    [chase] = fire(made, unanswered, domain.CORRECTION_OVERDUE).facts
    assert (chase.type_name, chase.data.request_id) == ("reports.minutes.overdue.v1", "CR-3")
    with pytest.raises(RuleViolation, match="chair"):
        made.answer_correction(
            MinutesCorrectionAnswered(conference_id="C", request_id="CR-3", answered_by="SW",
                                      answered_at=datetime(2027, 1, 5, tzinfo=UTC),
                                      accepted=False),
            env("2027-01-05T00:00"),
        )  # fmt: skip
