"""The chair's outcome: the rules an outcome must keep, what it waits for, quorum, dissent,
and recording it (a correction supersedes, putting back what the record it corrects did)."""

from contracts.crm_v1 import (
    OutcomeDecided,
)
from contracts.decisions_v1 import (
    Dissent as DissentFact,
)
from contracts.decisions_v1 import (
    OutcomeRecorded,
    RecordedChildOutcome,
)
from rules.effects import Effects, Env, NotReadyYet, RuleViolation
from services.decisions.domain.checks import (
    Recommendation,
    core_group_due,
    dissent,
    quorate,
    rule_violations,
    waiting_for,
)  # fmt: skip
from services.decisions.domain.children import ChildPlans, apply_effect, category_changed, undo
from services.decisions.domain.conference import Conference, OutcomeRecord
from services.decisions.domain.core_group import CoreGroup
from services.decisions.domain.notice import decision_notices
from services.decisions.domain.plans import (
    Applied,
    ChildDecision,
    Decided,
    PlanEffect,
    census_category,
    plan_effects,
)


def decide(
    tenant: str,
    conference: Conference,
    children: dict[str, ChildPlans],
    data: OutcomeDecided,
    record_id: str,
    env: Env,
    previous: Conference | None = None,
) -> tuple[Effects, dict[str, Effects]]:
    """Record each child's outcome; start, continue or end plans; say what is due next.

    An outcome that breaks a rule whatever the order is refused at once; one that depends
    on an event not applied yet (its conference's `held`, the outcome it corrects, at a
    review its previous conference's outcome) waits for it. A correction is a new record
    superseding the current one: for a child whose decision changed, the plans it changed
    are put back as they were and the corrected decision applied; for a child whose decision
    stands, only the categories can change, on the same plan. `previous`: at a review, its
    previous conference. Returns the conference's effects and each child's (a child's timers
    belong to the child).
    """
    conference.open_for_change()
    current = conference.current
    decisions = [ChildDecision(c.child_id, c.decision, tuple(c.categories)) for c in data.children]
    _refuse_broken(conference, current, decisions, data)
    waiting = waiting_for(conference, current, decisions, children, data, env, previous)
    if waiting:
        raise NotReadyYet(waiting)
    is_quorate, quorum_reasons = quorate(conference.quorate(env), data.inquorate_reason)
    if quorum_reasons:
        raise RuleViolation(quorum_reasons)
    decided = Decided(
        tenant, data.conference_id, conference.kind, conference.date, record_id,
        data.lead_social_worker,
    )  # fmt: skip
    per_child: dict[str, Effects] = {child_id: Effects() for child_id in children}
    before = {c["child_id"]: c["decision"] for c in current.children} if current else {}
    standing = {d.child_id for d in decisions if before.get(d.child_id) == d.decision}
    applied: list[Applied] = []
    if current is not None:
        applied += _put_back(current, standing, decisions, children, conference, decided, env,
                             per_child)  # fmt: skip
    applied += _carry_out(conference, decisions, standing, children, decided, env, per_child)
    record = OutcomeRecord(
        record_id=record_id,
        decided_at=data.decided_at,
        decided_by=data.decided_by,
        children=[c.model_dump(mode="json") for c in data.children],
        quorate=is_quorate,
        supersedes=current.record_id if current else None,
        correction_reason=data.correction_reason,
        applied=applied,
        lead_social_worker=data.lead_social_worker,
        core_group=list(data.core_group),
    )
    conference.records.append(record)
    facts = _recorded(record, decisions, data, conference, env)
    facts.extend(_notices(conference, record, current, decisions, children, env))
    return facts, per_child


def _notices(
    conference: Conference,
    record: OutcomeRecord,
    before: OutcomeRecord | None,
    decisions: list[ChildDecision],
    children: dict[str, ChildPlans],
    env: Env,
) -> Effects:
    """The decision notice for everyone to be told, with each child's next review."""
    review_due = {
        d.child_id: next(
            (
                p.review_due
                for p in children[d.child_id].plans
                if p.open and p.plan_type != "child_in_need"
            ),
            None,
        )
        for d in decisions
    }
    protection = any(d.decision == "child_protection_plan" for d in decisions)
    core_group_by = (
        core_group_due(conference.date, env.policy, env.calendar) if protection else None
    )
    return decision_notices(conference, record, before, review_due, core_group_by, env)


def _refuse_broken(
    conference: Conference,
    current: OutcomeRecord | None,
    decisions: list[ChildDecision],
    data: OutcomeDecided,
) -> None:
    """Refuse an outcome that breaks a rule whatever the order of events."""
    children = {c.child_id for c in conference.children}
    reasons = rule_violations(decisions, children, data.decided_by, conference.chair_person_id)
    if current is not None and not data.correction_reason:
        reasons.append(
            f"conference {data.conference_id} already has a recorded outcome: a "
            "correction must say why (correction_reason)"
        )
    if reasons:
        raise RuleViolation(reasons)


def _put_back(
    current: OutcomeRecord,
    standing: set[str],
    decisions: list[ChildDecision],
    children: dict[str, ChildPlans],
    conference: Conference,
    decided: Decided,
    env: Env,
    per_child: dict[str, Effects],
) -> list[Applied]:
    """A correction: put back what the record it supersedes did for each child whose
    decision changed (last first); a standing decision's plan stays, with the corrected
    categories. Returns what stands (it is the new record's too)."""
    for done in reversed(current.applied):
        if done.child_id not in standing:
            child = children[done.child_id]
            per_child[done.child_id].extend(
                undo(decided.tenant, child, done, decided.conference_id, env)
            )
    by_child = {d.child_id: d for d in decisions}
    kept = [done for done in current.applied if done.child_id in standing]
    for done in kept:
        per_child[done.child_id].extend(
            _recategorise(children[done.child_id], done, by_child[done.child_id], conference)
        )
    return kept


def _carry_out(
    conference: Conference,
    decisions: list[ChildDecision],
    standing: set[str],
    children: dict[str, ChildPlans],
    decided: Decided,
    env: Env,
    per_child: dict[str, Effects],
) -> list[Applied]:
    """What each changed decision does to the child's plans: all checked before any is
    done (one that cannot be applied refuses the outcome), then done in order."""
    refs = {c.child_id: c for c in conference.children}
    effects: list[tuple[str, PlanEffect]] = []
    for decision in decisions:
        if decision.child_id in standing:
            continue
        found, problems = plan_effects(
            conference.kind,
            decision,
            refs[decision.child_id].unborn,
            children[decision.child_id].open_plans(),
        )
        if problems:
            raise RuleViolation(problems)
        effects += [(decision.child_id, effect) for effect in found]
    applied = []
    for child_id, effect in effects:
        nhs_number = refs[child_id].nhs_number
        done, child_effects = apply_effect(children[child_id], nhs_number, effect, decided, env)
        applied.append(done)
        per_child[child_id].extend(child_effects)
    return applied


def _recorded(
    record: OutcomeRecord,
    decisions: list[ChildDecision],
    data: OutcomeDecided,
    conference: Conference,
    env: Env,
) -> Effects:
    """The outcome as recorded (with dissent), and the core group's first meeting when a
    child has a protection plan."""
    recommendations = [
        Recommendation(r.person_id, r.child_id, r.decision) for r in data.recommendations
    ]
    facts = Effects.of(
        "decisions.outcome.recorded.v1",
        OutcomeRecorded(
            conference_id=data.conference_id,
            record_id=record.record_id,
            children=[
                RecordedChildOutcome(
                    child_id=d.child_id,
                    decision=d.decision,
                    categories=list(d.categories),
                    census_category=census_category(d.categories),
                )
                for d in decisions
            ],
            dissent=[
                DissentFact(person_id=d.person_id, child_id=d.child_id, recommended=d.recommended)
                for d in dissent(decisions, recommendations)
            ],
            quorate=record.quorate,
            supersedes=record.supersedes,
        ),
        data.conference_id,
    )
    facts.extend(_core_group(conference, decisions, data, env))
    return facts


def _core_group(
    conference: Conference, decisions: list[ChildDecision], data: OutcomeDecided, env: Env
) -> Effects:
    """A protection plan gets a core group, first meeting within the policy's working days
    of the conference; a correction keeps its meetings; an outcome without a plan (a
    correction) stops it."""
    protected = [d.child_id for d in decisions if d.decision == "child_protection_plan"]
    group = conference.core_group
    if not protected:
        return group.stop("no_plan", conference.date) if group is not None else Effects()
    first_due = core_group_due(conference.date, env.policy, env.calendar)
    if group is None or group.stopped == "no_plan":  # a correction back to a plan restarts it
        group = CoreGroup(
            conference.conference_id, conference.chair_person_id, [], None, [], first_due,
            actions=group.actions if group else [],
        )  # fmt: skip
        conference.core_group = group
    group.members, group.lead_social_worker = list(data.core_group), data.lead_social_worker
    group.children = protected
    effects = Effects()
    if not group.meetings:
        group.next_due = first_due
        effects.extend(group.due_effects(env))
    if data.plan_actions or not group.actions:
        effects.extend(group.set_actions(list(data.plan_actions), env))
    return effects


def _recategorise(
    child: ChildPlans, done: Applied, decision: ChildDecision, conference: Conference
) -> Effects:
    """A correction that keeps a child's decision: the plan the record started or continued
    stays, and takes the corrected categories (a category change, not a new plan)."""
    plan = child.plan(done.plan_id)
    if done.action == "ended" or plan.plan_type == "child_in_need" or not plan.open:
        return Effects()
    if set(decision.categories) == set(plan.categories):
        return Effects()
    category = census_category(decision.categories)
    effects = category_changed(
        plan, plan.category, category, conference.date, plan.categories, decision.categories
    )
    plan.category, plan.categories = category, decision.categories
    if done.action == "started":  # the category it started with was the corrected one
        plan.initial_category = category
    return effects
