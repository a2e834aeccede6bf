"""A child's plans across conferences: what a decision does to them (start, continue,
end), the `ChildPlans` aggregate, and the facts CP-IS and the census are told."""

import uuid
from dataclasses import dataclass, field
from datetime import date

from contracts.decisions_v1 import (
    PlanStarted,
)
from rules.calendar import WorkingDayCalendar
from rules.policy import Policy

CENSUS_CODES = {"neglect": "NEG", "physical": "PHY", "emotional": "EMO", "sexual": "SAB"}


_NAMESPACE = uuid.UUID("0b9e3c44-8f61-4d8e-9c1e-2f5a7d3b6e10")


@dataclass(frozen=True)
class ChildDecision:
    """The chair's decision for one child."""

    child_id: str
    decision: str
    categories: tuple[str, ...]


def stable_id(*parts: str) -> str:
    """An id derived from what it identifies: replaying the same events gives the same ids."""
    return str(uuid.uuid5(_NAMESPACE, "|".join(parts)))


def census_category(categories: tuple[str, ...]) -> str | None:
    """NEG, PHY, EMO or SAB for one category; MUL for more than one; None for none."""
    distinct = sorted(set(categories))
    if not distinct:
        return None
    return "MUL" if len(distinct) > 1 else CENSUS_CODES[distinct[0]]


def plan_type(decision: str, unborn: bool) -> str | None:
    """The plan a decision starts, if any."""
    if decision == "child_protection_plan":
        return "unborn_child_protection" if unborn else "child_protection"
    if decision == "child_in_need_plan":
        return "child_in_need"
    return None


def review_due(
    conference_date: date, kind: str, policy: Policy, calendar: WorkingDayCalendar
) -> date:
    """First review within 3 months of an initial (or transfer-in); later ones within 6."""
    months = (
        policy.later_review_within_months if kind == "review" else policy.first_review_within_months
    )
    return calendar.within_months(conference_date, months)


@dataclass(frozen=True)
class Decided:
    """The decision being carried out: the council, its conference and kind, the date plans
    start and end on, the record, the lead social worker."""

    tenant: str
    conference_id: str
    kind: str
    on: date
    record_id: str
    lead_social_worker: str | None


@dataclass(frozen=True)
class OpenPlan:
    """A child's plan that has not ended."""

    plan_id: str
    plan_type: str
    category: str | None


@dataclass(frozen=True)
class StartPlan:
    """Start a plan on the conference date."""

    child_id: str
    plan_type: str
    category: str | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class ContinuePlan:
    """A review keeps the plan; its category may change."""

    child_id: str
    plan_id: str
    category_from: str | None
    category_to: str | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class EndPlan:
    """End a plan on the conference date."""

    child_id: str
    plan_id: str
    plan_type: str
    reason: str


PlanEffect = StartPlan | ContinuePlan | EndPlan


def plan_effects(
    kind: str, decision: ChildDecision, unborn: bool, open_plans: list[OpenPlan]
) -> tuple[list[PlanEffect], list[str]]:
    """What a decision does to a child's plans, or why it cannot be applied.

    An initial or transfer-in conference starts a protection plan; a review
    continues it (its category may change), or ends it stepping down to a child in
    need plan or no further action. A protection plan and a child in need plan never
    run together: one ends on the day the other starts.
    """
    protection = next((p for p in open_plans if p.plan_type != "child_in_need"), None)
    in_need = next((p for p in open_plans if p.plan_type == "child_in_need"), None)
    category = census_category(decision.categories)
    effects: list[PlanEffect] = []
    if decision.decision == "child_protection_plan":
        if protection is not None:
            if kind != "review":
                return [], [
                    f"child {decision.child_id} already has a child protection plan: "
                    "a further plan is decided at a review conference"
                ]
            effects.append(
                ContinuePlan(
                    decision.child_id,
                    protection.plan_id,
                    protection.category,
                    category,
                    decision.categories,
                )
            )
            return effects, []
        if kind == "review":
            return [], [f"child {decision.child_id} has no child protection plan to review"]
        if in_need is not None:
            effects.append(
                EndPlan(decision.child_id, in_need.plan_id, "child_in_need", "review_decision")
            )
        plan = plan_type(decision.decision, unborn) or "child_protection"
        effects.append(StartPlan(decision.child_id, plan, category, decision.categories))
        return effects, []
    if protection is not None:
        effects.append(
            EndPlan(decision.child_id, protection.plan_id, protection.plan_type, "review_decision")
        )
    if decision.decision == "child_in_need_plan" and in_need is None:
        effects.append(StartPlan(decision.child_id, "child_in_need", None, ()))
    if decision.decision == "no_further_action" and in_need is not None:
        effects.append(
            EndPlan(decision.child_id, in_need.plan_id, "child_in_need", "review_decision")
        )
    return effects, []


REVIEW_OVERDUE = "review_overdue"


@dataclass(frozen=True)
class Applied:
    """What a record did to one plan, kept so that a correction can put it back."""

    action: str  # started, continued or ended
    plan_id: str
    child_id: str
    category: str | None = None
    categories: tuple[str, ...] = ()
    review_due: date | None = None


@dataclass
class Review:
    """A review conference held for a plan."""

    conference_id: str
    review_date: date


@dataclass
class Plan:
    """A child protection or child in need plan."""

    plan_id: str
    child_id: str
    plan_type: str
    category: str | None
    initial_category: str | None
    categories: tuple[str, ...]
    start_date: date
    started_by_conference: str | None
    lead_social_worker: str | None
    review_due: date | None
    nhs_number: str | None
    end_date: date | None = None
    end_reason: str | None = None
    voided: bool = False
    reviews: list[Review] = field(default_factory=list)
    latest_conference: str | None = None
    """The conference that last started or continued it: its core group meets for the plan."""

    @property
    def open(self) -> bool:
        """Not ended and not withdrawn by a correction."""
        return self.end_date is None and not self.voided

    def started_fact(self, tenant: str) -> PlanStarted:
        """What CP-IS is told when the plan starts (or is reopened)."""
        return PlanStarted(
            tenant=tenant,
            plan_id=self.plan_id,
            child_id=self.child_id,
            nhs_number=self.nhs_number,
            plan_type=self.plan_type,
            start_date=self.start_date,
            category=self.category,
            lead_social_worker=self.lead_social_worker,
            conference_id=self.started_by_conference,
        )
