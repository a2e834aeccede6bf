"""The decision rules, as plain Python: the `Conference` aggregate (what a conference
decided), the `ChildPlans` aggregate (a child's plans across conferences), and the chair's
outcome that changes them.

- `conference`: the conference, its invitees, answers, attendance and outcome records;
- `checks`: the rules an outcome keeps, what it waits for, quorum and dissent;
- `outcome`: recording an outcome and correcting it;
- `plans`: what a decision does to a child's plans, as values;
- `children`: a child's plans, changed by decisions, with the facts CP-IS is told;
- `notice`: telling the family and the professionals the decision;
- `core_group`: the core group's meetings and the plan's actions after the conference;
- `complaints`: complaints about a conference, acknowledged and answered on time.
"""

from services.decisions.domain.checks import (
    Dissent,
    Recommendation,
    core_group_due,
    dissent,
    quorate,
    rule_violations,
)
from services.decisions.domain.children import ChildPlans
from services.decisions.domain.complaints import COMPLAINT_OVERDUE, COMPLAINT_REMINDER, Complaint
from services.decisions.domain.conference import (
    Answer,
    ChildRef,
    Conference,
    Listed,
    OutcomeRecord,
    upgrade_conference_1,
)
from services.decisions.domain.core_group import (
    ACTION_OVERDUE,
    CORE_GROUP_OVERDUE,
    Action,
    CoreGroup,
    Meeting,
    next_meeting,
)
from services.decisions.domain.outcome import decide
from services.decisions.domain.plans import (
    CENSUS_CODES,
    REVIEW_OVERDUE,
    Applied,
    ChildDecision,
    ContinuePlan,
    EndPlan,
    OpenPlan,
    Plan,
    PlanEffect,
    Review,
    StartPlan,
    census_category,
    plan_effects,
    plan_type,
    review_due,
    stable_id,
)

__all__ = [
    "ACTION_OVERDUE",
    "CENSUS_CODES",
    "COMPLAINT_OVERDUE",
    "COMPLAINT_REMINDER",
    "CORE_GROUP_OVERDUE",
    "REVIEW_OVERDUE",
    "Action",
    "Answer",
    "Applied",
    "ChildDecision",
    "ChildPlans",
    "ChildRef",
    "Complaint",
    "Conference",
    "ContinuePlan",
    "CoreGroup",
    "Dissent",
    "EndPlan",
    "Listed",
    "Meeting",
    "OpenPlan",
    "OutcomeRecord",
    "Plan",
    "PlanEffect",
    "Recommendation",
    "Review",
    "StartPlan",
    "census_category",
    "core_group_due",
    "decide",
    "dissent",
    "next_meeting",
    "plan_effects",
    "plan_type",
    "quorate",
    "review_due",
    "rule_violations",
    "stable_id",
    "upgrade_conference_1",
]
