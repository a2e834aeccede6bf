"""Minutes shared on time: the measure the reports service's records answer."""

from datetime import date
from typing import Any

from rules.calendar import WorkingDayCalendar, local_date
from rules.effects import Env
from rules.policy import Policy


def minutes_on_time(
    conferences: list[Any],
    start: date,
    end: date,
    policy: Policy,
    calendar: WorkingDayCalendar,
    now: Any,
) -> tuple[int, int]:
    """(on time, of): conferences held in the period whose minutes were due by the end
    of it (or came in), and how many of them had their first version shared by the date
    they were due."""
    env = Env(now, policy, calendar)
    on_time = due = 0
    for conference in conferences:
        if conference.status == "cancelled":
            continue
        held = conference.conference_date()
        if not start <= held <= end or (policy.crm_sends_held and conference.held_on is None):
            continue
        due_by = conference.minutes_due(env)
        first = conference.minutes[0] if conference.minutes else None
        if first is None and due_by > end:
            continue
        due += 1
        on_time += first is not None and local_date(first.received_at) <= due_by
    return on_time, due
