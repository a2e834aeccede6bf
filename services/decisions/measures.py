"""The children in need measures after the conference (DfE): transfer-in conferences on time,
plans reviewed within timescales, second or subsequent plans, plans of two years or more,
core groups held on time. Each is a share of the council's own records in a period."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from rules.calendar import WorkingDayCalendar
from rules.policy import Policy


@dataclass(frozen=True)
class Share:
    """How many of how many."""

    count: int
    of: int

    @property
    def percent(self) -> float | None:
        """The share as a percentage (None when there is nothing to count)."""
        return None if self.of == 0 else round(100 * self.count / self.of, 1)


def _protection(plans: list[Any]) -> list[Any]:
    return [p for p in plans if not p.voided and p.plan_type != "child_in_need"]


def years_after(day: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def transfer_in_within(
    conferences: list[Any], start: date, end: date, policy: Policy, calendar: WorkingDayCalendar
) -> Share:
    """Transfer-in conferences held in the period within the working days of the written
    notice of the move."""
    held = [
        (c.date, c.details.get("transfer_notice_date"))
        for c in conferences
        if c.kind == "transfer_in" and start <= c.date <= end
    ]
    on_time = sum(
        1
        for day, notice in held
        if notice is not None
        and day
        <= calendar.add_working_days(
            date.fromisoformat(notice), policy.transfer_in_within_working_days
        )
    )
    return Share(on_time, len(held))


def reviewed_within_timescales(
    plans: list[Any], end: date, policy: Policy, calendar: WorkingDayCalendar
) -> Share:
    """Protection plans open at the end of the period whose first review fell due by then,
    and that were reviewed by every date a review was due: the first within the policy's
    months of the plan's start, each later one within its months of the one before."""
    counted = reviewed = 0
    for plan in _protection(plans):
        if plan.start_date > end or (plan.end_date is not None and plan.end_date <= end):
            continue
        due = calendar.within_months(plan.start_date, policy.first_review_within_months)
        if due > end:
            continue
        counted += 1
        on_time = True
        for held in sorted(r.review_date for r in plan.reviews if r.review_date <= end):
            on_time = on_time and held <= due
            due = calendar.within_months(held, policy.later_review_within_months)
        reviewed += on_time and due >= end  # and no review is overdue at the end
    return Share(reviewed, counted)


def subsequent_plans(plans: list[Any], start: date, end: date) -> tuple[Share, Share]:
    """Protection plans started in the period that are the child's second or subsequent:
    ever, and within two years of the previous one ending."""
    protection = _protection(plans)
    started = [p for p in protection if start <= p.start_date <= end]
    ever = within_two = 0
    for plan in started:
        earlier = [
            p
            for p in protection
            if p.child_id == plan.child_id
            and p.plan_id != plan.plan_id
            and p.end_date is not None
            and p.end_date <= plan.start_date
        ]
        if earlier:
            ever += 1
            latest_end = max(p.end_date for p in earlier)
            within_two += plan.start_date <= years_after(latest_end, 2)
    return Share(ever, len(started)), Share(within_two, len(started))


def two_years_or_more(plans: list[Any], start: date, end: date) -> tuple[Share, int]:
    """Protection plans that ended in the period having lasted two years or more (of those
    that ended), and plans open at the end that have lasted two years or more."""
    protection = _protection(plans)
    ended = [p for p in protection if p.end_date is not None and start <= p.end_date <= end]
    long_ended = sum(1 for p in ended if p.end_date >= years_after(p.start_date, 2))
    open_long = sum(
        1
        for p in protection
        if p.start_date <= end
        and (p.end_date is None or p.end_date > end)
        and end >= years_after(p.start_date, 2)
    )
    return Share(long_ended, len(ended)), open_long


def core_groups_on_time(conferences: list[Any], start: date, end: date) -> Share:
    """Core group meetings due in the period held by the date they were due; a meeting due
    in the period and not held by the end counts against."""
    due = held = 0
    for conference in conferences:
        group = conference.core_group
        if group is None:
            continue
        for meeting in group.meetings:
            if meeting.due_by is not None and start <= meeting.due_by <= end:
                due += 1
                held += meeting.on_time
        outstanding = group.next_due
        if (
            outstanding is not None
            and start <= outstanding < end
            and group.meets_on(outstanding)
            and not any(m.due_by == outstanding for m in group.meetings)
        ):
            due += 1
    return Share(held, due)
