"""One function per message: contract in, domain call, persist, queue events."""

from datetime import date

from contracts.crm_v1 import ConferenceHeld, ConferenceRequested, OutcomeDecided
from contracts.decisions_v1 import (
    CoreGroupDue,
    Dissent,
    OutcomeRecorded,
    PlanStarted,
    RecordedChildOutcome,
    ReviewDue,
)
from services.decisions import domain, repository
from shared.calendar import local_date
from shared.handling import HandlerContext, NotReadyYet, RuleViolation


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Remember the conference: its kind, date, chair and children."""
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
            mode="json", include={"section47_start_date", "strategy_discussion_date"}
        ),
    )


async def on_conference_held(ctx: HandlerContext, data: ConferenceHeld) -> None:
    """Record the date the conference took place: plans start on it."""
    if await repository.conference(ctx.connection, data.conference_id) is None:
        raise NotReadyYet(f"conference {data.conference_id} is not known yet")
    await repository.set_held_on(ctx.connection, data.conference_id, data.held_on)


async def on_outcome_decided(ctx: HandlerContext, data: OutcomeDecided) -> None:
    """Record each child's outcome, start plans, and say when core group and review are due."""
    conference = await repository.conference(ctx.connection, data.conference_id)
    if conference is None:
        raise NotReadyYet(f"conference {data.conference_id} is not known yet")
    if await repository.latest_record(ctx.connection, data.conference_id) is not None:
        raise RuleViolation([f"conference {data.conference_id} already has a recorded outcome"])
    decisions = [
        domain.ChildDecision(c.child_id, c.decision, tuple(c.categories)) for c in data.children
    ]
    children = {c["child_id"]: c for c in conference.children}
    reasons = domain.rule_violations(
        decisions, set(children), data.decided_by, conference.chair_person_id
    )
    if reasons:
        raise RuleViolation(reasons)
    dissent = domain.dissent(
        decisions,
        [domain.Recommendation(r.person_id, r.child_id, r.decision) for r in data.recommendations],
    )
    record_id = domain.stable_id("outcome", data.conference_id, ctx.event_id)
    recorded = [
        RecordedChildOutcome(
            child_id=d.child_id,
            decision=d.decision,
            categories=list(d.categories),
            census_category=domain.census_category(d.categories),
        )
        for d in decisions
    ]
    dissent_models = [
        Dissent(person_id=d.person_id, child_id=d.child_id, recommended=d.recommended)
        for d in dissent
    ]
    quorate = data.inquorate_reason is None
    await repository.add_record(
        ctx.connection,
        record_id=record_id,
        conference_id=data.conference_id,
        decided_at=data.decided_at,
        decided_by=data.decided_by,
        children=[r.model_dump(mode="json") for r in recorded],
        dissent=[d.model_dump(mode="json") for d in dissent_models],
        quorate=quorate,
        supersedes=None,
        correction_reason=None,
        recorded_at=ctx.clock.now(),
    )
    await ctx.emit(
        "decisions.outcome.recorded.v1",
        OutcomeRecorded(
            conference_id=data.conference_id,
            record_id=record_id,
            children=recorded,
            dissent=dissent_models,
            quorate=quorate,
            supersedes=None,
        ),
        data.conference_id,
    )
    conference_date = conference.held_on or conference.scheduled_date
    await _start_plans(ctx, data, decisions, children, conference.kind, conference_date)


async def _start_plans(
    ctx: HandlerContext,
    data: OutcomeDecided,
    decisions: list[domain.ChildDecision],
    children: dict[str, dict[str, object]],
    kind: str,
    conference_date: date,
) -> None:
    protection = False
    for decision in decisions:
        child = children[decision.child_id]
        plan_type = domain.plan_type(decision.decision, bool(child["unborn"]))
        if plan_type is None:
            continue
        plan_id = domain.stable_id("plan", data.conference_id, decision.child_id, plan_type)
        category = domain.census_category(decision.categories)
        is_protection = plan_type != "child_in_need"
        review_due = (
            domain.review_due(conference_date, kind, ctx.policy, ctx.calendar)
            if is_protection
            else None
        )
        nhs_number = child["nhs_number"] if isinstance(child["nhs_number"], str) else None
        await repository.add_plan(
            ctx.connection,
            plan_id=plan_id,
            tenant=ctx.tenant,
            child_id=decision.child_id,
            plan_type=plan_type,
            category=category,
            categories=list(decision.categories),
            start_date=conference_date,
            started_by_conference=data.conference_id,
            lead_social_worker=data.lead_social_worker,
            review_due=review_due,
        )
        await ctx.emit(
            "decisions.plan.started.v1",
            PlanStarted(
                plan_id=plan_id,
                child_id=decision.child_id,
                nhs_number=nhs_number,
                plan_type=plan_type,
                start_date=conference_date,
                category=category if is_protection else None,
                lead_social_worker=data.lead_social_worker,
                conference_id=data.conference_id,
                tenant=ctx.tenant,
            ),
            plan_id,
        )
        if review_due is not None:
            protection = True
            await ctx.emit(
                "decisions.review.due.v1",
                ReviewDue(
                    plan_id=plan_id,
                    child_id=decision.child_id,
                    due_by=review_due,
                    conference_id=data.conference_id,
                ),
                plan_id,
            )
    if protection:
        await ctx.emit(
            "decisions.core_group.due.v1",
            CoreGroupDue(
                conference_id=data.conference_id,
                due_by=domain.core_group_due(conference_date, ctx.policy, ctx.calendar),
                members=list(data.core_group),
            ),
            data.conference_id,
        )
