"""After the conference, on the real broker and both databases: two councils with the same
ids back-fill a family's whole history (decision, minutes corrected, core group meetings,
a complaint, a review); every fact that follows the decision is checked, each council's
apart, and the census of it still passes the DfE rules."""

from collections.abc import Callable
from datetime import date
from typing import Any

from rules.policy import Policy, load_policy
from services.decisions.census_rules import check
from services.decisions.reporting import census_return, timeliness
from services.reports.reporting import minutes_on_time
from shared.runtime.settings import Settings
from tests.e2e.test_order_and_councils import back_fill
from tests.support.history import family_history
from tests.support.listener import Listener

KENT, DEFAULT = "886", "201"


def of(listener: Listener, type_name: str, tenant: str, conference: str = "CONF-1") -> list[Any]:
    return [
        e["data"]
        for e in listener.events
        if e["type"] == type_name and e["tenant"] == tenant and e["subject"] == conference
    ]


def check_council(listener: Listener, tenant: str, how_to_complain: str) -> None:
    # the decision: a notice for each parent with parental responsibility and each
    # professional, not the father the chair excluded with reports withheld (the chair is
    # told), nor the grandmother (not a parent or carer)
    notices = {
        n["recipient_person_id"]: n
        for n in of(listener, "decisions.decision_notice.due.v1", tenant)
    }
    assert {p: n["recipient"] for p, n in notices.items()} == {
        "MUM": "family", "SW": "lead_social_worker", "HV": "core_group",
        "POL": "professional", "SCH": "professional",
    }  # fmt: skip
    assert notices["MUM"]["send_by"] == "2025-11-27"
    assert notices["MUM"]["how_to_complain"] == how_to_complain
    assert notices["POL"]["how_to_complain"] is None
    assert (notices["MUM"]["core_group_first_meeting_by"], notices["MUM"]["next_review_by"]) == (
        "2025-12-10", "2026-02-26",
    )  # fmt: skip
    [withheld] = of(listener, "decisions.decision_notice.withheld.v1", tenant)
    assert (withheld["recipient_person_id"], withheld["notify"]) == ("DAD", ["CHAIR"])

    # the minutes: to who attended and the family by the sharing rules, the amendment to the
    # same people once each; in on time, so the chair was neither reminded nor chased
    shared = of(listener, "reports.minutes.shared.v1", tenant)
    first = {s["recipient_person_id"]: s for s in shared if s["version"] == 1}
    second = {s["recipient_person_id"]: s for s in shared if s["version"] == 2}
    assert {p: s["includes_restricted"] for p, s in first.items()} == {
        "CHAIR": True, "SW": True, "POL": True, "HV": True, "MUM": False, "GRAN": False,
    }  # fmt: skip
    assert set(second) == set(first) and len(shared) == 12
    assert {s["supersedes_version"] for s in second.values()} == {1}
    assert all(s["on_time"] for s in first.values())
    withheld_minutes = of(listener, "reports.minutes.withheld.v1", tenant)
    assert [w["recipient_person_id"] for w in withheld_minutes] == ["DAD", "DAD"]
    [asked] = of(listener, "reports.minutes.correction_requested.v1", tenant)
    assert (asked["person_id"], asked["answer_by"]) == ("MUM", "2025-12-30")
    assert not of(listener, "reports.minutes.overdue.v1", tenant)
    # the review's minutes never came: the chair is reminded, then chased
    review_minutes = of(listener, "reports.minutes.overdue.v1", tenant, "CONF-2")
    assert [(m["about"], m["due_by"]) for m in review_minutes] == [("minutes", "2026-03-17")]

    # the core group: first on time (the health check done), second late and chased; the
    # plan's actions not done by their dates raised with the lead social worker and chair
    recorded = of(listener, "decisions.core_group.recorded.v1", tenant)
    assert [(r["held_on"], r["due_by"], r["on_time"], r["actions_done"]) for r in recorded] == [
        ("2025-12-05", "2025-12-10", True, ["A1"]),
        ("2026-01-09", "2026-01-07", False, []),
    ]
    due = [d["due_by"] for d in of(listener, "decisions.core_group.due.v1", tenant)]
    assert due == ["2025-12-10", "2026-01-07", "2026-02-06"]
    overdue = of(listener, "decisions.core_group.overdue.v1", tenant)
    assert [(o["due_by"], o["notify"]) for o in overdue] == [
        ("2026-01-07", ["SW", "CHAIR"]), ("2026-02-06", ["SW", "CHAIR"]),
    ]  # fmt: skip
    actions = of(listener, "decisions.plan_action.overdue.v1", tenant)
    assert [(a["action_id"], a["due_by"]) for a in actions] == [
        ("A2", "2026-01-16"), ("A3", "2026-02-13"),
    ]  # fmt: skip
    # the review took the plan on: its own core group, nothing more of the first
    assert [d["due_by"] for d in of(listener, "decisions.core_group.due.v1", tenant, "CONF-2")] == [
        "2026-03-10"
    ]

    # the complaint: acknowledged in time; the answer reminded, chased and late
    [complaint] = of(listener, "decisions.complaint.recorded.v1", tenant)
    assert (complaint["acknowledge_by"], complaint["answer_by"]) == ("2025-12-04", "2025-12-15")
    chased = of(listener, "decisions.complaint.overdue.v1", tenant)
    assert [(o["step"], o["due_by"]) for o in chased] == [("answer", "2025-12-15")]
    # (the acknowledgement's reminder went at 09:00 on the 2nd, an hour before it was sent)
    assert [r["step"] for r in of(listener, "decisions.complaint.reminder_sent.v1", tenant)] == [
        "acknowledgement",
        "answer",
    ]
    [closed] = of(listener, "decisions.complaint.closed.v1", tenant)
    assert (closed["outcome"], closed["on_time"]) == ("not_upheld", False)
    # the grandmother gets reports from the chair's yes on
    reports = {
        s["report_id"] for s in of(listener, "reports.report.shared.v1", tenant)
        if s["recipient_person_id"] == "GRAN"
    }  # fmt: skip
    assert reports == {"CONF-R-SW"}  # the police report is not shareable with the family
    # the allocated social worker receives the police report
    assert any(
        s["report_id"] == "CONF-R-POL" and s["recipient_person_id"] == "SW"
        for s in of(listener, "reports.report.shared.v1", tenant)
    )


async def test_after_the_conference_for_two_councils_with_the_same_ids(
    settings: Settings, fresh_settings: Callable[[], Settings], amqp_url: str, database: str
) -> None:
    kent, default = family_history(KENT), family_history(DEFAULT)
    listener = await back_fill(
        settings, amqp_url, [e for pair in zip(kent, default, strict=True) for e in pair]
    )
    assert not [e for e in listener.events if e["type"].endswith("input.rejected.v1")]
    check_council(listener, KENT, load_policy("kent").how_to_complain)
    check_council(listener, DEFAULT, Policy().how_to_complain)

    start, end = date(2025, 4, 1), date(2026, 3, 31)
    figures = await timeliness(settings, KENT, start, end)
    shares = {
        "core_groups_on_time": (1, 4),  # on time; late; two never held (one each conference)
        "plans_reviewed_within_timescales": (1, 1),
        "second_or_subsequent_plans": (0, 2),
        "plans_ended_after_two_years_or_more": (0, 1),
        "transfer_in_within_timescale": (0, 0),
    }
    for name, expected in shares.items():
        value = getattr(figures, name)
        assert (value.count, value.of) == expected, name
    assert await minutes_on_time(settings, KENT, start, end) == (1, 2)
    assert check(await census_return(settings, KENT, 2026)) == []
