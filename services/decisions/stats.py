"""Timeliness: the figures councils are judged on, from the decisions service's records."""

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from rules.calendar import WorkingDayCalendar
from rules.policy import Policy
from services.decisions import measures
from services.decisions.measures import Share

SHARES = (
    "initial_within_timescale",
    "reviews_on_time",
    "children_initial_within_timescale",
    "transfer_in_within_timescale",
    "plans_reviewed_within_timescales",
    "second_or_subsequent_plans",
    "second_or_subsequent_within_two_years",
    "plans_ended_after_two_years_or_more",
    "core_groups_on_time",
    "minutes_on_time",
)


@dataclass(frozen=True)
class Timeliness:
    """The figures for one council and period."""

    tenant: str
    start: date
    end: date
    initial_within_timescale: Share
    reviews_on_time: Share
    children_initial_within_timescale: Share
    """Per child with an initial conference in the period, as the DfE counts it."""
    plans_started: dict[str, int]
    plans_ended: dict[str, int]
    plans_open_at_end: dict[str, int]
    transfer_in_within_timescale: Share
    plans_reviewed_within_timescales: Share
    """Protection plans open at the end, reviewed by every date a review was due."""
    second_or_subsequent_plans: Share
    """Of the protection plans started: the child had had one before."""
    second_or_subsequent_within_two_years: Share
    """Of the protection plans started: within two years of the previous one ending."""
    plans_ended_after_two_years_or_more: Share
    plans_open_two_years_or_more: int
    core_groups_on_time: Share
    minutes_on_time: Share | None = None
    """Conferences held in the period whose minutes were shared in time (from the reports
    service's database; None when it was not read)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        values = asdict(self)
        values["start"], values["end"] = self.start.isoformat(), self.end.isoformat()
        for key in SHARES:
            if getattr(self, key) is not None:
                values[key]["percent"] = getattr(self, key).percent
        return values

    def table(self) -> str:
        """The figures as a small table."""

        def share(value: Share | None) -> str:
            if value is None:
                return "not read"
            percent = "-" if value.percent is None else f"{value.percent}%"
            return f"{value.count} of {value.of} ({percent})"

        rows = [
            ("council", self.tenant),
            ("period", f"{self.start} to {self.end}"),
            ("initial conferences within timescale", share(self.initial_within_timescale)),
            (
                "children's initial conferences within timescale (DfE)",
                share(self.children_initial_within_timescale),
            ),
            ("reviews held on time", share(self.reviews_on_time)),
            ("transfer-in conferences within timescale", share(self.transfer_in_within_timescale)),
            ("plans reviewed within timescales", share(self.plans_reviewed_within_timescales)),
            ("second or subsequent plans", share(self.second_or_subsequent_plans)),
            ("  within two years", share(self.second_or_subsequent_within_two_years)),
            (
                "plans ended after two years or more",
                share(self.plans_ended_after_two_years_or_more),
            ),
            ("plans open two years or more", str(self.plans_open_two_years_or_more)),
            ("core group meetings on time", share(self.core_groups_on_time)),
            ("minutes shared on time", share(self.minutes_on_time)),
        ]
        for label, counts in (
            ("plans started", self.plans_started),
            ("plans ended", self.plans_ended),
            ("plans open at the end", self.plans_open_at_end),
        ):
            rows.append((label, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "0"))
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def _count(plans: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for plan in plans:
        counts[plan.plan_type] = counts.get(plan.plan_type, 0) + 1
    return counts


def timeliness(
    *,
    tenant: str,
    start: date,
    end: date,
    conferences: list[Any],
    plans: list[Any],
    reviews: list[Any],
    policy: Policy,
    calendar: WorkingDayCalendar,
) -> Timeliness:
    """Initial and transfer-in conferences within the timescale, reviews on time, plans
    started, ended, open, reviewed, repeated and long, core groups on time."""
    initials = [
        (c.date, c.details.get("strategy_discussion_date"), len(c.children))
        for c in conferences
        if c.kind == "initial" and start <= c.date <= end
    ]
    in_time = [
        strategy is not None
        and held
        <= calendar.add_working_days(
            date.fromisoformat(strategy), policy.initial_within_working_days
        )
        for held, strategy, _children in initials
    ]
    within = sum(in_time)
    per_child = Share(
        sum(n for ok, (_h, _s, n) in zip(in_time, initials, strict=True) if ok),
        sum(n for _h, _s, n in initials),
    )
    live = [p for p in plans if not p.voided]
    on_time = total = 0
    for plan in (p for p in live if p.plan_type != "child_in_need"):
        due = calendar.within_months(plan.start_date, policy.first_review_within_months)
        for held in sorted(r.review_date for r in reviews if r.plan_id == plan.plan_id):
            if start <= held <= end:
                total += 1
                on_time += held <= due
            due = calendar.within_months(held, policy.later_review_within_months)
    ever, within_two = measures.subsequent_plans(live, start, end)
    long_ended, long_open = measures.two_years_or_more(live, start, end)
    return Timeliness(
        tenant,
        start,
        end,
        Share(within, len(initials)),
        Share(on_time, total),
        per_child,
        _count([p for p in live if start <= p.start_date <= end]),
        _count([p for p in live if p.end_date is not None and start <= p.end_date <= end]),
        _count(
            [p for p in live if p.start_date <= end and (p.end_date is None or p.end_date > end)]
        ),
        measures.transfer_in_within(conferences, start, end, policy, calendar),
        measures.reviewed_within_timescales(live, end, policy, calendar),
        ever,
        within_two,
        long_ended,
        long_open,
        measures.core_groups_on_time(conferences, start, end),
    )
