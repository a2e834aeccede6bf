"""The decision rules, as plain Python."""

import uuid
from dataclasses import dataclass
from datetime import date

from shared.calendar import WorkingDayCalendar
from shared.policy import Policy

CENSUS_CODES = {"neglect": "NEG", "physical": "PHY", "emotional": "EMO", "sexual": "SAB"}
_NAMESPACE = uuid.UUID("0b9e3c44-8f61-4d8e-9c1e-2f5a7d3b6e10")


@dataclass(frozen=True)
class ChildDecision:
    """The chair's decision for one child."""

    child_id: str
    decision: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    """One professional's recommendation for one child."""

    person_id: str
    child_id: str
    decision: str


@dataclass(frozen=True)
class Dissent:
    """A recommendation the decision differs from."""

    person_id: str
    child_id: str
    recommended: str


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


def dissent(decisions: list[ChildDecision], recommendations: list[Recommendation]) -> list[Dissent]:
    """Each recommendation that differs from the decision for its child."""
    decided = {d.child_id: d.decision for d in decisions}
    return [
        Dissent(r.person_id, r.child_id, r.decision)
        for r in recommendations
        if r.child_id in decided and decided[r.child_id] != r.decision
    ]


def rule_violations(
    decisions: list[ChildDecision],
    conference_children: set[str],
    decided_by: str,
    chair_person_id: str,
) -> list[str]:
    """Why an outcome cannot be recorded, in words a CRM user understands."""
    reasons = []
    if decided_by != chair_person_id:
        reasons.append("the outcome must be decided by this conference's chair")
    for child in decisions:
        if child.child_id not in conference_children:
            reasons.append(f"child {child.child_id} is not a child this conference concerned")
        if child.decision == "child_protection_plan" and not child.categories:
            reasons.append(f"the plan for child {child.child_id} needs at least one category")
    seen = [d.child_id for d in decisions]
    reasons.extend(
        f"child {child_id} has more than one decision"
        for child_id in sorted({c for c in seen if seen.count(c) > 1})
    )
    return reasons


def core_group_due(conference_date: date, policy: Policy, calendar: WorkingDayCalendar) -> date:
    """The first core group meeting is due within the policy's working days."""
    return calendar.add_working_days(conference_date, policy.core_group_within_working_days)


def review_due(
    conference_date: date, kind: str, policy: Policy, calendar: WorkingDayCalendar
) -> date:
    """First review within 3 months of an initial (or transfer-in); later ones within 6."""
    months = (
        policy.later_review_within_months if kind == "review" else policy.first_review_within_months
    )
    return calendar.within_months(conference_date, months)


# --- Plans across conferences ---------------------------------------------------------


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


def quorate(assessed: bool | None, inquorate_reason: str | None) -> tuple[bool, list[str]]:
    """Quorate from the invitations service's latest assessment (none yet: assumed quorate
    unless the chair says otherwise); an inquorate decision needs the chair's reason."""
    if inquorate_reason:
        return False, []
    if assessed is False:
        return False, [
            "the conference was assessed as inquorate: the chair must give "
            "inquorate_reason to decide"
        ]
    return True, []
