"""Every deadline rule of the slice, table-driven, under the default policy and presets."""

from datetime import UTC, date, datetime

import pytest

from rules.calendar import WorkingDayCalendar
from rules.policy import Policy, load_policy
from services.decisions import domain as decisions
from services.invitations import domain as invitations
from services.reports import domain as reports

calendar = WorkingDayCalendar()
default = Policy()


@pytest.mark.parametrize(
    ("kind", "scheduled", "strategy", "notice", "expected"),
    [
        ("initial", date(2026, 11, 23), date(2026, 11, 2), None, None),  # on the 15th day
        ("initial", date(2026, 11, 24), date(2026, 11, 2), None, ("2026-11-23", 1)),
        ("initial", date(2027, 1, 7), date(2026, 12, 14), None, None),  # Christmas not counted
        ("initial", date(2027, 1, 11), date(2026, 12, 14), None, ("2027-01-07", 2)),
        ("initial", date(2027, 4, 8), date(2027, 3, 15), None, ("2027-04-07", 1)),  # Easter
        (
            "transfer_in",
            date(2027, 5, 25),
            date(2026, 1, 1),
            date(2027, 4, 30),
            ("2027-05-24", 1),
        ),  # early May bank holiday; strategy date ignored
        ("transfer_in", date(2027, 5, 24), None, date(2027, 4, 30), None),
        ("review", date(2027, 6, 1), None, None, None),  # reviews have no such rule
    ],
)
def test_timescale_breach(
    kind: str,
    scheduled: date,
    strategy: date | None,
    notice: date | None,
    expected: tuple[str, int] | None,
) -> None:
    breach = invitations.timescale_breach(kind, scheduled, strategy, notice, default, calendar)
    if expected is None:
        assert breach is None
    else:
        assert breach is not None
        assert (breach.target_date.isoformat(), breach.working_days_late) == expected
        assert breach.rule == f"{kind}_within_15_working_days"


@pytest.mark.parametrize(
    ("policy", "kind", "conference", "to_chair", "to_family"),
    [
        ("default", "initial", date(2026, 11, 25), date(2026, 11, 20), date(2026, 11, 23)),
        ("default", "review", date(2026, 11, 25), date(2026, 11, 18), date(2026, 11, 18)),
        ("default", "transfer_in", date(2026, 11, 25), date(2026, 11, 20), date(2026, 11, 23)),
        ("default", "initial", date(2027, 1, 5), date(2026, 12, 30), date(2026, 12, 31)),
        ("default", "review", date(2027, 4, 1), date(2027, 3, 23), date(2027, 3, 23)),  # Easter
        ("default", "initial", date(2027, 5, 4), date(2027, 4, 28), date(2027, 4, 29)),
        # "5 days" [001], "three days" / "five days" [003], "two days" [004]: calendar days,
        # a weekend or bank holiday giving the working day before
        ("kent", "initial", date(2026, 11, 25), date(2026, 11, 20), date(2026, 11, 20)),
        ("kent", "initial", date(2026, 12, 29), date(2026, 12, 22), date(2026, 12, 24)),
        ("redcar-cleveland", "initial", date(2026, 11, 25), date(2026, 11, 20), date(2026, 11, 20)),
        ("redcar-cleveland", "review", date(2026, 11, 25), date(2026, 11, 18), date(2026, 11, 20)),
        ("devon", "initial", date(2026, 11, 25), date(2026, 11, 20), date(2026, 11, 23)),
        ("devon", "initial", date(2026, 11, 23), date(2026, 11, 18), date(2026, 11, 20)),
    ],
)
def test_report_deadlines(
    policy: str, kind: str, conference: date, to_chair: date, to_family: date
) -> None:
    due = reports.deadlines(kind, conference, load_policy(policy), calendar)
    assert (due.due_to_chair, due.share_with_family_by) == (to_chair, to_family)


def test_a_request_after_the_chairs_deadline_is_short_notice() -> None:
    due = reports.deadlines("initial", date(2026, 11, 25), default, calendar)
    people = [reports.Professional("SW", "social_worker", "CSC")]
    on_time = reports.requests_for("201", "C", people, date(2026, 11, 20), due)
    late = reports.requests_for("201", "C", people, date(2026, 11, 23), due)
    assert [r.short_notice for r in on_time + late] == [False, True]


def test_one_request_per_agency_social_worker_first() -> None:
    people = [
        reports.Professional("POL1", "police", "Police"),
        reports.Professional("POL2", "police", " police "),
        reports.Professional("MT", "minute_taker", "CSC"),
        reports.Professional("SW", "social_worker", "CSC"),
    ]
    assert [(a.person_id, a.agency) for a in reports.authors(people)] == [
        ("SW", "CSC"),
        ("POL1", "Police"),
    ]
    assert reports.request_id("201", "C", "Police") == reports.request_id("201", "C", " POLICE")
    assert reports.request_id("201", "C", "Police") != reports.request_id("807", "C", "Police")


@pytest.mark.parametrize(
    ("conference", "kind", "core_group", "review"),
    [
        (date(2026, 11, 25), "initial", date(2026, 12, 9), date(2027, 2, 25)),
        (date(2026, 12, 17), "initial", date(2027, 1, 5), date(2027, 3, 17)),  # Christmas
        (date(2027, 3, 24), "transfer_in", date(2027, 4, 9), date(2027, 6, 24)),  # Easter
        (date(2027, 4, 28), "review", date(2027, 5, 13), date(2027, 10, 28)),  # May, 6 months
        (date(2026, 9, 25), "initial", date(2026, 10, 9), date(2026, 12, 24)),  # 25 Dec
    ],
)
def test_core_group_and_review_dates(
    conference: date, kind: str, core_group: date, review: date
) -> None:
    assert decisions.core_group_due(conference, default, calendar) == core_group
    assert decisions.review_due(conference, kind, default, calendar) == review


def test_family_invitations_carry_the_pre_meeting_and_supporter_notice() -> None:
    start = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    parent = invitations.invitation_for(
        invitations.Invitee("MUM", "parent"), start, start.date(), 1, default, calendar
    )
    police = invitations.invitation_for(
        invitations.Invitee("POL", "police"), start, start.date(), 1, default, calendar
    )
    assert parent.pre_meeting_start == datetime(2026, 11, 25, 9, 45, tzinfo=UTC)
    assert parent.supporter_notice_by == date(2026, 11, 23)
    assert parent.respond_by == police.respond_by == date(2026, 11, 20)
    assert police.pre_meeting_start is None and police.supporter_notice_by is None


def test_everyone_is_invited_once_and_the_chair_first() -> None:
    listed = [
        invitations.Invitee("A", "parent"),
        invitations.Invitee("B", "police"),
        invitations.Invitee("A", "parent"),
        invitations.Invitee("CH", "other_professional"),
    ]
    assert [i.person_id for i in invitations.invitees("CH", listed)] == ["CH", "A", "B"]
