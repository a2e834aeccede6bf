"""The decision rules, as plain Python: pure functions, the `Conference` aggregate (what a
conference decided) and the `ChildPlans` aggregate (a child's plans across conferences)."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.common_v1 import Child, Participant
from contracts.crm_v1 import (
    ChildAdded,
    ConferenceCancelled,
    ConferenceHeld,
    ConferenceRequested,
    ConferenceRescheduled,
    InvitationResponded,
    OutcomeDecided,
    ParticipantAdded,
)
from contracts.crm_v1 import PlanEnded as CrmPlanEnded
from contracts.decisions_v1 import (
    CoreGroupDue,
    OutcomeRecorded,
    PlanCategoryChanged,
    PlanEnded,
    PlanStarted,
    RecordedChildOutcome,
    ReviewDue,
    ReviewOverdue,
)
from contracts.decisions_v1 import (
    Dissent as DissentFact,
)
from rules.calendar import WorkingDayCalendar, local_date
from rules.effects import Effects, Env, NotReadyYet, RuleViolation, Timer
from rules.policy import Policy
from rules.quorum import Attendee, assess_quorum, attendee

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
    """Quorate as assessed from attendance (not known: assumed quorate unless the chair says
    otherwise); an inquorate decision needs the chair's reason."""
    if inquorate_reason:
        return False, []
    if assessed is False:
        return False, [
            "the conference was assessed as inquorate: the chair must give "
            "inquorate_reason to decide"
        ]
    return True, []


# --- Aggregates -----------------------------------------------------------------------

REVIEW_OVERDUE = "review_overdue"


@dataclass(frozen=True)
class ChildRef:
    """A child a conference concerned."""

    child_id: str
    unborn: bool
    nhs_number: str | None = None


@dataclass(frozen=True)
class Listed:
    """Someone invited: what quorum needs to know."""

    person_id: str
    role: str
    agency: str | None = None


@dataclass(frozen=True)
class Answer:
    """An invitee's response, with the deputy who attends in their place."""

    response: str
    deputy: Listed | None = None


@dataclass(frozen=True)
class Applied:
    """What a record did to one plan, kept so that a correction can put it back."""

    action: str  # started, continued or ended
    plan_id: str
    child_id: str
    category: str | None = None
    categories: tuple[str, ...] = ()
    review_due: date | None = None


@dataclass(frozen=True)
class OutcomeRecord:
    """One outcome record (never edited; a correction supersedes it)."""

    record_id: str
    decided_at: datetime
    decided_by: str
    children: list[dict[str, Any]]
    quorate: bool
    supersedes: str | None
    correction_reason: str | None
    applied: list[Applied]


@dataclass
class Conference:
    """One council's conference, as the decisions service keeps it."""

    conference_id: str
    kind: str
    scheduled_date: date
    chair_person_id: str
    children: list[ChildRef]
    details: dict[str, Any]
    listed: list[Listed] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    attended: list[str] | None = None
    held_on: date | None = None
    records: list[OutcomeRecord] = field(default_factory=list)
    status: str = "scheduled"

    @property
    def current(self) -> OutcomeRecord | None:
        """The record no other supersedes."""
        superseded = {r.supersedes for r in self.records}
        return next((r for r in reversed(self.records) if r.record_id not in superseded), None)

    @property
    def date(self) -> date:
        """The date it was held (else scheduled for): plans start and reviews count on it."""
        return self.held_on or self.scheduled_date

    @classmethod
    def request(cls, data: ConferenceRequested, existing: "Conference | None") -> "Conference":
        """Remember the conference's kind, date, chair, children and who is invited."""
        if existing is not None:
            raise RuleViolation([f"conference {data.conference_id} was already requested"])
        return cls(
            conference_id=data.conference_id,
            kind=data.kind,
            scheduled_date=local_date(data.scheduled_start),
            chair_person_id=data.chair.person_id,
            children=[ChildRef(c.child_id, c.unborn, c.nhs_number) for c in data.children],
            details=data.model_dump(
                mode="json",
                include={
                    "section47_start_date",
                    "strategy_discussion_date",
                    "transfer_notice_date",
                    "previous_conference_id",
                },
            ),
            listed=[_listed(p) for p in data.participants],
        )

    def reschedule(self, data: ConferenceRescheduled) -> None:
        """The conference moved: plans start, reviews count and the census date on the new
        date, unless it is recorded as held on another."""
        self._open_for_change()
        self.scheduled_date = local_date(data.scheduled_start)

    def cancel(self, data: ConferenceCancelled) -> None:
        """The conference will not take place: no outcome can be recorded for it."""
        self._open_for_change()
        self.status = "cancelled"

    def _open_for_change(self) -> None:
        if self.status == "cancelled":
            raise RuleViolation([f"conference {self.conference_id} was cancelled"])

    def add_child(self, data: ChildAdded) -> None:
        """Another child the conference concerns: a decision can be made for them."""
        self._open_for_change()
        if all(c.child_id != data.child.child_id for c in self.children):
            child = data.child
            self.children.append(ChildRef(child.child_id, child.unborn, child.nhs_number))

    def add_participant(self, data: ParticipantAdded) -> None:
        """Someone added to the list."""
        if all(p.person_id != data.participant.person_id for p in self.listed):
            self.listed.append(_listed(data.participant))

    def respond(self, data: InvitationResponded) -> None:
        """An invitee's answer (a deputy attends in their place)."""
        self.answers[data.person_id] = Answer(
            data.response, _listed(data.deputy) if data.deputy else None
        )

    def hold(self, data: ConferenceHeld) -> None:
        """The conference took place: its date and who was there (an empty list says nothing:
        nobody is a conference without its chair)."""
        self.held_on = data.held_on
        self.attended = list(data.attended) or self.attended

    def quorate(self, env: Env) -> bool | None:
        """Quorate from who attended, else from the answers; None when nothing is known."""
        by_id = {p.person_id: p for p in self.listed}
        # a deputy in the room counts for the invitee they stand in for
        deputies = {
            a.deputy.person_id: by_id[pid]
            for pid, a in self.answers.items()
            if a.deputy is not None and pid in by_id
        }
        attendees: list[Attendee | None]
        if self.attended is not None:
            present = [by_id.get(pid) or deputies.get(pid) for pid in self.attended]
            attendees = [attendee(p.role, p.agency, "attending", None) for p in present if p]
        elif self.answers:
            attendees = [
                attendee(
                    by_id[pid].role,
                    by_id[pid].agency,
                    answer.response,
                    {"role": answer.deputy.role, "agency": answer.deputy.agency}
                    if answer.deputy
                    else None,
                )
                for pid, answer in self.answers.items()
                if pid in by_id
            ]
        else:
            return None
        return assess_quorum([a for a in attendees if a is not None], env.policy).quorate


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


@dataclass
class ChildPlans:
    """A child of one council, and their plans across conferences."""

    child_id: str
    details: dict[str, Any] = field(default_factory=dict)
    plans: list[Plan] = field(default_factory=list)

    def remember(self, child: Child) -> None:
        """Keep the newest details of the child for CP-IS and the census (never the names)."""
        self.details = child.model_dump(mode="json", exclude={"given_name", "family_name"})

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
        return _end(tenant, plan, data.ended_on, data.reason)

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
    conference._open_for_change()
    current = conference.current
    decisions = [ChildDecision(c.child_id, c.decision, tuple(c.categories)) for c in data.children]
    refs = {c.child_id: c for c in conference.children}
    reasons = rule_violations(decisions, set(refs), data.decided_by, conference.chair_person_id)
    if current is not None and not data.correction_reason:
        reasons.append(
            f"conference {data.conference_id} already has a recorded outcome: a "
            "correction must say why (correction_reason)"
        )
    if reasons:
        raise RuleViolation(reasons)
    waiting = _waiting_for(conference, current, decisions, children, data, env, previous)
    if waiting:
        raise NotReadyYet(waiting)
    is_quorate, quorum_reasons = quorate(conference.quorate(env), data.inquorate_reason)
    if quorum_reasons:
        raise RuleViolation(quorum_reasons)
    per_child: dict[str, Effects] = {child_id: Effects() for child_id in children}
    before = {c["child_id"]: c["decision"] for c in current.children} if current else {}
    standing = {d.child_id for d in decisions if before.get(d.child_id) == d.decision}
    applied: list[Applied] = []
    if current is not None:
        for done in reversed(current.applied):
            if done.child_id not in standing:
                per_child[done.child_id].extend(
                    _undo(tenant, children[done.child_id], done, data.conference_id, env)
                )
        by_child = {d.child_id: d for d in decisions}
        for done in current.applied:
            if done.child_id in standing:  # what it did stands: it is this record's too
                applied.append(done)
                per_child[done.child_id].extend(
                    _recategorise(
                        children[done.child_id], done, by_child[done.child_id], conference
                    )
                )
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
    for child_id, effect in effects:
        done, child_effects = _apply(
            tenant, conference, children[child_id], refs[child_id], effect, record_id, data, env
        )
        applied.append(done)
        per_child[child_id].extend(child_effects)
    record = OutcomeRecord(
        record_id=record_id,
        decided_at=data.decided_at,
        decided_by=data.decided_by,
        children=[c.model_dump(mode="json") for c in data.children],
        quorate=is_quorate,
        supersedes=current.record_id if current else None,
        correction_reason=data.correction_reason,
        applied=applied,
    )
    conference.records.append(record)
    facts = Effects()
    facts.emit(
        "decisions.outcome.recorded.v1",
        OutcomeRecorded(
            conference_id=data.conference_id,
            record_id=record_id,
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
                for d in dissent(
                    decisions,
                    [
                        Recommendation(r.person_id, r.child_id, r.decision)
                        for r in data.recommendations
                    ],
                )
            ],
            quorate=is_quorate,
            supersedes=record.supersedes,
        ),
        data.conference_id,
    )
    if any(d.decision == "child_protection_plan" for d in decisions):
        facts.emit(
            "decisions.core_group.due.v1",
            CoreGroupDue(
                conference_id=data.conference_id,
                due_by=core_group_due(conference.date, env.policy, env.calendar),
                members=list(data.core_group),
            ),
            data.conference_id,
        )
    return facts, per_child


def _waiting_for(
    conference: Conference,
    current: OutcomeRecord | None,
    decisions: list[ChildDecision],
    children: dict[str, ChildPlans],
    data: OutcomeDecided,
    env: Env,
    previous: Conference | None,
) -> str | None:
    """What an outcome waits for, if anything: the same events give the same facts in any
    order the CRM publishes them."""
    if current is None and data.correction_reason:
        return (
            f"conference {data.conference_id} has no recorded outcome yet for this correction "
            "to supersede"
        )
    if env.policy.crm_sends_held and conference.held_on is None:
        return (
            f"conference {data.conference_id} has not been held yet (crm.conference.held.v1): "
            "quorum is judged on who attended"
        )
    earlier = conference.details.get("previous_conference_id")
    unreviewed = [
        d.child_id
        for d in decisions
        if not any(p.plan_type != "child_in_need" for p in children[d.child_id].open_plans())
    ]
    if (
        conference.kind == "review"
        and earlier
        and unreviewed
        and (previous is None or previous.current is None)
    ):
        return f"the outcome of the previous conference {earlier} is not recorded yet"
    return None


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
    effects = _category_changed(
        plan, plan.category, category, conference.date, plan.categories, decision.categories
    )
    plan.category, plan.categories = category, decision.categories
    if done.action == "started":  # the category it started with was the corrected one
        plan.initial_category = category
    return effects


def _apply(
    tenant: str,
    conference: Conference,
    child: ChildPlans,
    ref: ChildRef,
    effect: PlanEffect,
    record_id: str,
    data: OutcomeDecided,
    env: Env,
) -> tuple[Applied, Effects]:
    """Carry out one plan effect; returns what was done (kept to undo a correction)."""
    effects = Effects()
    on = conference.date
    if isinstance(effect, StartPlan):
        protection = effect.plan_type != "child_in_need"
        plan = Plan(
            plan_id=stable_id(
                "plan", tenant, data.conference_id, effect.child_id, effect.plan_type, record_id
            ),
            child_id=effect.child_id,
            plan_type=effect.plan_type,
            category=effect.category,
            initial_category=effect.category,
            categories=effect.categories,
            start_date=on,
            started_by_conference=data.conference_id,
            lead_social_worker=data.lead_social_worker,
            review_due=(
                review_due(on, conference.kind, env.policy, env.calendar) if protection else None
            ),
            nhs_number=ref.nhs_number,
        )
        child.plans.append(plan)
        effects.emit("decisions.plan.started.v1", plan.started_fact(tenant), plan.plan_id)
        if plan.review_due is not None:
            effects.extend(_review_due(plan, data.conference_id, env))
        return Applied("started", plan.plan_id, plan.child_id), effects
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
        plan.category, plan.categories = effect.category_to, effect.categories
        plan.review_due = review_due(on, "review", env.policy, env.calendar)
        plan.reviews.append(Review(data.conference_id, on))
        if effect.category_to is not None and (
            effect.category_to != effect.category_from
            or set(effect.categories) != set(before.categories)
        ):  # MUL to MUL with other categories is a change too
            effects.extend(
                _category_changed(plan, effect.category_from, plan.category, on, before.categories)
            )
        effects.extend(_review_due(plan, data.conference_id, env))
        return before, effects
    assert isinstance(effect, EndPlan)
    if effect.plan_type != "child_in_need":
        plan.reviews.append(Review(data.conference_id, on))
    effects.extend(_end(tenant, plan, on, effect.reason))
    return before, effects


def _undo(tenant: str, child: ChildPlans, done: Applied, conference_id: str, env: Env) -> Effects:
    """Put back what a superseded record did to a plan, telling CP-IS where it moved."""
    effects = Effects()
    plan = child.plan(done.plan_id)
    if done.action == "started":
        plan.voided = True
        effects.cancel_timers(REVIEW_OVERDUE, plan.plan_id)
        effects.emit(
            "decisions.plan.ended.v1",
            PlanEnded(
                plan_id=plan.plan_id,
                child_id=plan.child_id,
                plan_type=plan.plan_type,
                end_date=plan.start_date,
                reason="other",
                nhs_number=plan.nhs_number,
                tenant=tenant,
                voided=True,
            ),
            plan.plan_id,
        )
        return effects
    plan.reviews = [r for r in plan.reviews if r.conference_id != conference_id]
    if done.action == "continued":
        if done.category is not None and (
            done.category != plan.category or set(done.categories) != set(plan.categories)
        ):
            effects.extend(
                _category_changed(
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
        effects.extend(_overdue_timer(plan, env))
    return effects


def _end(tenant: str, plan: Plan, end_date: date, reason: str) -> Effects:
    plan.end_date, plan.end_reason = end_date, reason
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
        ),
        plan.plan_id,
    )
    return effects


def _category_changed(
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


def _review_due(plan: Plan, conference_id: str, env: Env) -> Effects:
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
    effects.extend(_overdue_timer(plan, env))
    return effects


def _overdue_timer(plan: Plan, env: Env) -> Effects:
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


def _listed(participant: Participant) -> Listed:
    return Listed(participant.person_id, participant.role, participant.agency)
