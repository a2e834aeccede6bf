"""What an outcome must be to be recorded: the rules it keeps whatever the order of events,
what it waits for, quorum, and who disagreed."""

from dataclasses import dataclass
from datetime import date

from contracts.crm_v1 import (
    OutcomeDecided,
)
from rules.calendar import WorkingDayCalendar
from rules.effects import Env
from rules.policy import Policy
from services.decisions.domain.children import ChildPlans
from services.decisions.domain.conference import Conference, OutcomeRecord
from services.decisions.domain.plans import (
    ChildDecision,
)


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
    return policy.after("core_group_within_working_days", conference_date, calendar)


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


def waiting_for(
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
