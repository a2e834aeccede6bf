"""The `ChildPlans` aggregate: a child of one council and their plans across conferences,
changed by each decision (and put back by a correction), with the facts CP-IS and the
census are told and the review-overdue timer."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.common_v1 import Child
from contracts.crm_v1 import PlanEnded as CrmPlanEnded
from contracts.decisions_v1 import (
    PlanCategoryChanged,
    PlanEnded,
    ReviewDue,
    ReviewOverdue,
)
from rules.effects import Effects, Env, RuleViolation, Timer
from services.decisions.domain.plans import (
    REVIEW_OVERDUE,
    Applied,
    ContinuePlan,
    Decided,
    OpenPlan,
    Plan,
    PlanEffect,
    Review,
    StartPlan,
    review_due,
    stable_id,
)


@dataclass
class ChildPlans:
    """A child of one council, and their plans across conferences."""

    child_id: str
    details: dict[str, Any] = field(default_factory=dict)
    plans: list[Plan] = field(default_factory=list)

    def remember(self, child: Child) -> Effects:
        """Keep the newest details of the child for CP-IS and the census (never the names)."""
        self.details = child.model_dump(mode="json", exclude={"given_name", "family_name"})
        return Effects()

    def open_plans(self) -> list[OpenPlan]:
        """The child's plans that have not ended."""
        return [OpenPlan(p.plan_id, p.plan_type, p.category) for p in self.plans if p.open]

    def plan(self, plan_id: str) -> Plan:
        """One of the child's plans."""
        return next(p for p in self.plans if p.plan_id == plan_id)

    def end_outside_conference(self, tenant: str, data: CrmPlanEnded) -> Effects:
        """A plan ends outside a conference (moved away, turned 18, died, looked after)."""
        open_plans = [p for p in self.plans if p.open]
        protection = [p for p in open_plans if p.plan_type != "child_in_need"] or open_plans
        if not protection:
            raise RuleViolation([f"child {data.child_id} has no open plan to end"])
        plan = protection[0]
        if data.ended_on <= plan.start_date:
            raise RuleViolation(
                [
                    f"the plan for child {data.child_id} started on "
                    f"{plan.start_date}: it must end after that"
                ]
            )
        return end_plan(tenant, plan, data.ended_on, data.reason)

    def core_group_conference(self) -> str | None:
        """The conference whose core group meets for the child's protection plan, if any."""
        return next(
            (
                p.latest_conference or p.started_by_conference
                for p in self.plans
                if p.open and p.plan_type != "child_in_need"
            ),
            None,
        )

    def review_overdue(self, timer: Timer, env: Env) -> Effects:
        """No review was held by the date it was due."""
        effects = Effects()
        due = date.fromisoformat(str(timer.payload["due_by"]))
        plan = next((p for p in self.plans if p.plan_id == timer.payload["plan_id"]), None)
        if plan is not None and plan.open and plan.review_due == due:
            effects.emit(
                "decisions.review.overdue.v1",
                ReviewOverdue(plan_id=plan.plan_id, child_id=plan.child_id, due_by=due),
                plan.plan_id,
            )
        return effects


def apply_effect(
    child: ChildPlans, nhs_number: str | None, effect: PlanEffect, decided: Decided, env: Env
) -> tuple[Applied, Effects]:
    """Carry out one plan effect; returns what was done (kept to undo a correction)."""
    if isinstance(effect, StartPlan):
        return _start(child, nhs_number, effect, decided, env)
    plan = child.plan(effect.plan_id)
    before = Applied(
        "continued" if isinstance(effect, ContinuePlan) else "ended",
        plan.plan_id,
        plan.child_id,
        plan.category,
        plan.categories,
        plan.review_due,
    )
    if isinstance(effect, ContinuePlan):
        return before, _continue(plan, effect, before, decided, env)
    if effect.plan_type != "child_in_need":
        plan.reviews.append(Review(decided.conference_id, decided.on))
    return before, end_plan(decided.tenant, plan, decided.on, effect.reason)


def _start(
    child: ChildPlans, nhs_number: str | None, effect: StartPlan, decided: Decided, env: Env
) -> tuple[Applied, Effects]:
    on, protection = decided.on, effect.plan_type != "child_in_need"
    plan = Plan(
        plan_id=stable_id(
            "plan",
            decided.tenant,
            decided.conference_id,
            effect.child_id,
            effect.plan_type,
            decided.record_id,
        ),
        child_id=effect.child_id,
        plan_type=effect.plan_type,
        category=effect.category,
        initial_category=effect.category,
        categories=effect.categories,
        start_date=on,
        started_by_conference=decided.conference_id,
        lead_social_worker=decided.lead_social_worker,
        review_due=review_due(on, decided.kind, env.policy, env.calendar) if protection else None,
        nhs_number=nhs_number,
        latest_conference=decided.conference_id,
    )
    child.plans.append(plan)
    effects = Effects.of(
        "decisions.plan.started.v1", plan.started_fact(decided.tenant), plan.plan_id
    )
    if plan.review_due is not None:
        effects.extend(review_due_facts(plan, decided.conference_id, env))
    return Applied("started", plan.plan_id, plan.child_id), effects


def _continue(
    plan: Plan, effect: ContinuePlan, before: Applied, decided: Decided, env: Env
) -> Effects:
    effects = Effects()
    plan.category, plan.categories = effect.category_to, effect.categories
    plan.review_due = review_due(decided.on, "review", env.policy, env.calendar)
    plan.reviews.append(Review(decided.conference_id, decided.on))
    plan.latest_conference = decided.conference_id
    if effect.category_to is not None and (
        effect.category_to != effect.category_from
        or set(effect.categories) != set(before.categories)
    ):  # MUL to MUL with other categories is a change too
        effects.extend(
            category_changed(
                plan, effect.category_from, plan.category, decided.on, before.categories
            )
        )
    effects.extend(review_due_facts(plan, decided.conference_id, env))
    return effects


def undo(tenant: str, child: ChildPlans, done: Applied, conference_id: str, env: Env) -> Effects:
    """Put back what a superseded record did to a plan, telling CP-IS where it moved."""
    plan = child.plan(done.plan_id)
    if done.action == "started":
        return _void(tenant, plan)
    effects = Effects()
    plan.reviews = [r for r in plan.reviews if r.conference_id != conference_id]
    if done.action == "continued":
        if done.category is not None and (
            done.category != plan.category or set(done.categories) != set(plan.categories)
        ):
            effects.extend(
                category_changed(
                    plan,
                    plan.category,
                    done.category,
                    plan.start_date,
                    plan.categories,
                    done.categories,
                )
            )
        plan.category, plan.categories = done.category, done.categories
    else:  # reopened: the plan never ended
        plan.end_date = plan.end_reason = None
        effects.emit("decisions.plan.started.v1", plan.started_fact(tenant), plan.plan_id)
    plan.review_due = done.review_due
    if plan.review_due is not None:
        effects.extend(overdue_timer(plan, env))
    return effects


def _void(tenant: str, plan: Plan) -> Effects:
    """A plan the superseded record started never was: CP-IS is told it ended the day it
    started, withdrawn."""
    plan.voided = True
    return _ended(tenant, plan, plan.start_date, "other", voided=True)


def end_plan(tenant: str, plan: Plan, end_date: date, reason: str) -> Effects:
    """The plan ends on `end_date`: its review is no longer due."""
    plan.end_date, plan.end_reason = end_date, reason
    return _ended(tenant, plan, end_date, reason)


def _ended(
    tenant: str, plan: Plan, end_date: date, reason: str, *, voided: bool = False
) -> Effects:
    effects = Effects()
    effects.cancel_timers(REVIEW_OVERDUE, plan.plan_id)
    effects.emit(
        "decisions.plan.ended.v1",
        PlanEnded(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            plan_type=plan.plan_type,
            end_date=end_date,
            reason=reason,
            nhs_number=plan.nhs_number,
            tenant=tenant,
            voided=voided,
        ),
        plan.plan_id,
    )
    return effects


def category_changed(
    plan: Plan,
    before: str | None,
    after: str | None,
    on: date,
    categories_before: tuple[str, ...],
    categories_after: tuple[str, ...] | None = None,
) -> Effects:
    return Effects.of(
        "decisions.plan.category_changed.v1",
        PlanCategoryChanged.model_validate(
            {
                "plan_id": plan.plan_id,
                "child_id": plan.child_id,
                "from": before or after,
                "to": after,
                "on": on,
                "from_categories": sorted(categories_before),
                "to_categories": sorted(
                    plan.categories if categories_after is None else categories_after
                ),
            }
        ),
        plan.plan_id,
    )


def review_due_facts(plan: Plan, conference_id: str, env: Env) -> Effects:
    assert plan.review_due is not None
    effects = Effects()
    effects.emit(
        "decisions.review.due.v1",
        ReviewDue(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            due_by=plan.review_due,
            conference_id=conference_id,
        ),
        plan.plan_id,
    )
    effects.extend(overdue_timer(plan, env))
    return effects


def overdue_timer(plan: Plan, env: Env) -> Effects:
    """The review is overdue once its due day has ended; people hear on the next working
    day at the policy's time."""
    assert plan.review_due is not None
    effects = Effects()
    effects.set_timer(
        REVIEW_OVERDUE,
        plan.plan_id,
        env.calendar.after(plan.review_due, env.policy.notify_at),
        {"plan_id": plan.plan_id, "due_by": plan.review_due.isoformat()},
    )
    return effects
