"""One function per message or timer: contract in, domain call, persist, queue events."""

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.crm_v1 import ConferenceHeld, ConferenceRequested, OutcomeDecided
from contracts.crm_v1 import PlanEnded as CrmPlanEnded
from contracts.decisions_v1 import (
    CoreGroupDue,
    Dissent,
    OutcomeRecorded,
    PlanCategoryChanged,
    PlanEnded,
    PlanStarted,
    RecordedChildOutcome,
    ReviewDue,
    ReviewOverdue,
)
from contracts.invitations_v1 import QuorumAssessed
from services.decisions import domain, repository
from shared import timers
from shared.calendar import LONDON, local_date
from shared.handling import HandlerContext, NotReadyYet, RuleViolation
from shared.timers import Timer

REVIEW_OVERDUE = "review_overdue"


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Remember the conference (kind, date, chair, children) and the children themselves."""
    if await repository.conference(ctx.connection, data.conference_id) is not None:
        raise RuleViolation([f"conference {data.conference_id} was already requested"])
    await repository.add_conference(
        ctx.connection,
        conference_id=data.conference_id,
        tenant=ctx.tenant,
        kind=data.kind,
        scheduled_date=local_date(data.scheduled_start),
        chair_person_id=data.chair.person_id,
        children=[
            {"child_id": c.child_id, "unborn": c.unborn, "nhs_number": c.nhs_number}
            for c in data.children
        ],
        details=data.model_dump(
            mode="json",
            include={
                "section47_start_date",
                "strategy_discussion_date",
                "transfer_notice_date",
                "previous_conference_id",
            },
        ),
    )
    for child in data.children:
        await repository.save_child(
            ctx.connection,
            ctx.tenant,
            child.child_id,
            child.model_dump(mode="json", exclude={"given_name", "family_name"}),
        )


async def on_conference_held(ctx: HandlerContext, data: ConferenceHeld) -> None:
    """Record the date the conference took place: plans start and reviews count on it."""
    if await repository.conference(ctx.connection, data.conference_id) is None:
        raise NotReadyYet(f"conference {data.conference_id} is not known yet")
    await repository.set_held_on(ctx.connection, data.conference_id, data.held_on)


async def on_quorum_assessed(ctx: HandlerContext, data: QuorumAssessed) -> None:
    """Keep the invitations service's latest view of quorum."""
    if await repository.conference(ctx.connection, data.conference_id) is None:
        raise NotReadyYet(f"conference {data.conference_id} is not known yet")
    await repository.set_quorate(ctx.connection, data.conference_id, data.quorate)


async def on_outcome_decided(ctx: HandlerContext, data: OutcomeDecided) -> None:
    """Record each child's outcome; start, continue or end plans; say what is due next.

    A correction is a new record superseding the current one: the plans it changed are
    put back as they were, then the corrected decision is applied.
    """
    conference = await repository.conference(ctx.connection, data.conference_id)
    if conference is None:
        raise NotReadyYet(f"conference {data.conference_id} is not known yet")
    current = await repository.latest_record(ctx.connection, data.conference_id)
    decisions = [
        domain.ChildDecision(c.child_id, c.decision, tuple(c.categories)) for c in data.children
    ]
    children = {c["child_id"]: c for c in conference.children}
    reasons = domain.rule_violations(
        decisions, set(children), data.decided_by, conference.chair_person_id
    )
    if current is not None and not data.correction_reason:
        reasons.append(
            f"conference {data.conference_id} already has a recorded outcome: a "
            "correction must say why (correction_reason)"
        )
    quorate, quorum_reasons = domain.quorate(conference.quorate, data.inquorate_reason)
    reasons += quorum_reasons
    if reasons:
        raise RuleViolation(reasons)
    if current is not None:
        await _undo(ctx, current)
    conference_date: date = conference.held_on or conference.scheduled_date
    effects: list[domain.PlanEffect] = []
    for decision in decisions:
        open_plans = [
            domain.OpenPlan(p.plan_id, p.plan_type, p.category)
            for p in await repository.open_plans(ctx.connection, ctx.tenant, decision.child_id)
        ]
        found, problems = domain.plan_effects(
            conference.kind, decision, bool(children[decision.child_id]["unborn"]), open_plans
        )
        if problems:
            raise RuleViolation(problems)
        effects += found
    record_id = domain.stable_id("outcome", data.conference_id, ctx.event_id)
    applied = [
        await _apply(ctx, effect, conference, conference_date, record_id, data, children)
        for effect in effects
    ]
    await _record(ctx, data, decisions, record_id, quorate, current, applied)
    if any(
        isinstance(e, domain.StartPlan | domain.ContinuePlan)
        and (not isinstance(e, domain.StartPlan) or e.plan_type != "child_in_need")
        for e in effects
    ):
        await ctx.emit(
            "decisions.core_group.due.v1",
            CoreGroupDue(
                conference_id=data.conference_id,
                due_by=domain.core_group_due(conference_date, ctx.policy, ctx.calendar),
                members=list(data.core_group),
            ),
            data.conference_id,
        )


async def on_plan_ended(ctx: HandlerContext, data: CrmPlanEnded) -> None:
    """A plan ends outside a conference (moved away, turned 18, died, looked after)."""
    open_plans = await repository.open_plans(ctx.connection, ctx.tenant, data.child_id)
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
    await _end(ctx, plan, data.ended_on, data.reason)


async def on_review_overdue(ctx: HandlerContext, timer: Timer) -> None:
    """No review was held by the date it was due."""
    plan = await repository.plan(ctx.connection, timer.subject)
    due = date.fromisoformat(str(timer.payload["due_by"]))
    if plan is not None and plan.end_date is None and not plan.voided and plan.review_due == due:
        await ctx.emit(
            "decisions.review.overdue.v1",
            ReviewOverdue(plan_id=plan.plan_id, child_id=plan.child_id, due_by=due),
            plan.plan_id,
        )


# --- helpers ---------------------------------------------------------------------------


async def _record(
    ctx: HandlerContext,
    data: OutcomeDecided,
    decisions: list[domain.ChildDecision],
    record_id: str,
    quorate: bool,
    current: sa.Row[Any] | None,
    applied: list[dict[str, Any]],
) -> None:
    recorded = [
        RecordedChildOutcome(
            child_id=d.child_id,
            decision=d.decision,
            categories=list(d.categories),
            census_category=domain.census_category(d.categories),
        )
        for d in decisions
    ]
    dissent = [
        Dissent(person_id=d.person_id, child_id=d.child_id, recommended=d.recommended)
        for d in domain.dissent(
            decisions,
            [
                domain.Recommendation(r.person_id, r.child_id, r.decision)
                for r in data.recommendations
            ],
        )
    ]
    supersedes = current.record_id if current is not None else None
    await repository.add_record(
        ctx.connection,
        record_id=record_id,
        conference_id=data.conference_id,
        decided_at=data.decided_at,
        decided_by=data.decided_by,
        children=[r.model_dump(mode="json") for r in recorded],
        dissent=[d.model_dump(mode="json") for d in dissent],
        quorate=quorate,
        supersedes=supersedes,
        correction_reason=data.correction_reason,
        recorded_at=ctx.clock.now(),
        effects=applied,
    )
    await ctx.emit(
        "decisions.outcome.recorded.v1",
        OutcomeRecorded(
            conference_id=data.conference_id,
            record_id=record_id,
            children=recorded,
            dissent=dissent,
            quorate=quorate,
            supersedes=supersedes,
        ),
        data.conference_id,
    )


async def _apply(
    ctx: HandlerContext,
    effect: domain.PlanEffect,
    conference: sa.Row[Any],
    conference_date: date,
    record_id: str,
    data: OutcomeDecided,
    children: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Carry out one plan effect; returns what was done (kept to undo a correction)."""
    if isinstance(effect, domain.StartPlan):
        plan_id = domain.stable_id(
            "plan", data.conference_id, effect.child_id, effect.plan_type, record_id
        )
        nhs_number = children[effect.child_id].get("nhs_number")
        protection = effect.plan_type != "child_in_need"
        review = (
            domain.review_due(conference_date, conference.kind, ctx.policy, ctx.calendar)
            if protection
            else None
        )
        await repository.add_plan(
            ctx.connection,
            plan_id=plan_id,
            tenant=ctx.tenant,
            child_id=effect.child_id,
            plan_type=effect.plan_type,
            category=effect.category,
            initial_category=effect.category,
            categories=list(effect.categories),
            start_date=conference_date,
            started_by_conference=data.conference_id,
            lead_social_worker=data.lead_social_worker,
            review_due=review,
            nhs_number=nhs_number,
        )
        await ctx.emit(
            "decisions.plan.started.v1",
            PlanStarted(
                plan_id=plan_id,
                child_id=effect.child_id,
                nhs_number=nhs_number,
                plan_type=effect.plan_type,
                start_date=conference_date,
                category=effect.category,
                lead_social_worker=data.lead_social_worker,
                conference_id=data.conference_id,
                tenant=ctx.tenant,
            ),
            plan_id,
        )
        if review is not None:
            await _review_due(ctx, plan_id, effect.child_id, review, data.conference_id)
        return {"started": plan_id}
    if isinstance(effect, domain.ContinuePlan):
        review = domain.review_due(conference_date, "review", ctx.policy, ctx.calendar)
        plan = await repository.plan(ctx.connection, effect.plan_id)
        assert plan is not None
        await repository.update_plan(
            ctx.connection,
            effect.plan_id,
            category=effect.category_to,
            categories=list(effect.categories),
            review_due=review,
        )
        await repository.add_review(
            ctx.connection, effect.plan_id, data.conference_id, conference_date
        )
        if effect.category_to != effect.category_from and effect.category_to is not None:
            await _category_changed(
                ctx,
                effect.plan_id,
                effect.child_id,
                effect.category_from,
                effect.category_to,
                conference_date,
            )
        await _review_due(ctx, effect.plan_id, effect.child_id, review, data.conference_id)
        return {
            "continued": effect.plan_id,
            "category": plan.category,
            "categories": list(plan.categories),
            "review_due": str(plan.review_due),
            "conference_id": data.conference_id,
        }
    plan = await repository.plan(ctx.connection, effect.plan_id)
    assert plan is not None
    if effect.plan_type != "child_in_need":
        await repository.add_review(
            ctx.connection, effect.plan_id, data.conference_id, conference_date
        )
    await _end(ctx, plan, conference_date, effect.reason)
    return {
        "ended": effect.plan_id,
        "review_due": str(plan.review_due),
        "conference_id": data.conference_id,
    }


async def _undo(ctx: HandlerContext, record: sa.Row[Any]) -> None:
    """Put back the plans a superseded record changed, telling CP-IS where they moved."""
    for done in reversed(record.effects or []):
        if "started" in done:
            plan = await repository.plan(ctx.connection, done["started"])
            assert plan is not None
            await repository.update_plan(ctx.connection, plan.plan_id, voided=True)
            await timers.cancel(ctx.connection, ctx.clock, subject=plan.plan_id)
            await ctx.emit(
                "decisions.plan.ended.v1",
                PlanEnded(
                    plan_id=plan.plan_id,
                    child_id=plan.child_id,
                    plan_type=plan.plan_type,
                    end_date=plan.start_date,
                    reason="other",
                    nhs_number=plan.nhs_number,
                    tenant=plan.tenant,
                    voided=True,
                ),
                plan.plan_id,
            )
            continue
        plan_id = done.get("continued") or done["ended"]
        plan = await repository.plan(ctx.connection, plan_id)
        assert plan is not None
        await repository.remove_review(ctx.connection, plan_id, done["conference_id"])
        if "continued" in done:
            if done["category"] != plan.category and done["category"] is not None:
                await _category_changed(
                    ctx, plan_id, plan.child_id, plan.category, done["category"], plan.start_date
                )
            await repository.update_plan(
                ctx.connection, plan_id, category=done["category"], categories=done["categories"]
            )
        else:  # reopened: the plan never ended
            await repository.update_plan(ctx.connection, plan_id, end_date=None, end_reason=None)
            await ctx.emit(
                "decisions.plan.started.v1",
                PlanStarted(
                    plan_id=plan.plan_id,
                    child_id=plan.child_id,
                    nhs_number=plan.nhs_number,
                    plan_type=plan.plan_type,
                    start_date=plan.start_date,
                    category=plan.category,
                    lead_social_worker=plan.lead_social_worker,
                    conference_id=plan.started_by_conference,
                    tenant=plan.tenant,
                ),
                plan.plan_id,
            )
        previous_due = (
            date.fromisoformat(done["review_due"]) if done["review_due"] != "None" else None
        )
        await repository.update_plan(ctx.connection, plan_id, review_due=previous_due)
        if previous_due is not None:
            await _schedule_overdue(ctx, plan_id, previous_due)


async def _end(ctx: HandlerContext, plan: sa.Row[Any], end_date: date, reason: str) -> None:
    await repository.update_plan(ctx.connection, plan.plan_id, end_date=end_date, end_reason=reason)
    await timers.cancel(ctx.connection, ctx.clock, subject=plan.plan_id)
    await ctx.emit(
        "decisions.plan.ended.v1",
        PlanEnded(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            plan_type=plan.plan_type,
            end_date=end_date,
            reason=reason,
            nhs_number=plan.nhs_number,
            tenant=plan.tenant,
        ),
        plan.plan_id,
    )


async def _category_changed(
    ctx: HandlerContext, plan_id: str, child_id: str, before: str | None, after: str, on: date
) -> None:
    await ctx.emit(
        "decisions.plan.category_changed.v1",
        PlanCategoryChanged.model_validate(
            {
                "plan_id": plan_id,
                "child_id": child_id,
                "from": before or after,
                "to": after,
                "on": on,
            }
        ),
        plan_id,
    )


async def _review_due(
    ctx: HandlerContext, plan_id: str, child_id: str, due: date, conference_id: str
) -> None:
    await ctx.emit(
        "decisions.review.due.v1",
        ReviewDue(plan_id=plan_id, child_id=child_id, due_by=due, conference_id=conference_id),
        plan_id,
    )
    await _schedule_overdue(ctx, plan_id, due)


async def _schedule_overdue(ctx: HandlerContext, plan_id: str, due: date) -> None:
    await timers.schedule(
        ctx.connection,
        ctx.clock,
        timer_id=f"{REVIEW_OVERDUE}:{plan_id}",
        kind=REVIEW_OVERDUE,
        due_at=datetime.combine(due + timedelta(days=1), time(0, 0), LONDON),
        subject=plan_id,
        tenant=ctx.tenant,
        correlationid=ctx.outbox.correlationid,
        payload={"due_by": due.isoformat()},
    )
