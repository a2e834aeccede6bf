"""What the decisions service consumes (each binding is a subscriber in AsyncAPI)."""

from services.decisions import handlers
from shared.runtime import Binding

BINDINGS = [
    Binding(
        "crm.conference.requested.v1",
        handlers.on_conference_requested,
        "Remember the conference's kind, date, chair and children.",
    ),
    Binding(
        "crm.conference.held.v1",
        handlers.on_conference_held,
        "Record the date the conference was held; plans start and reviews count on it.",
    ),
    Binding(
        "crm.outcome.decided.v1",
        handlers.on_outcome_decided,
        "Record each child's outcome with dissent; start, continue or end plans; core group "
        "and review due. A correction supersedes the current record.",
    ),
    Binding(
        "crm.plan.ended.v1",
        handlers.on_plan_ended,
        "End a plan outside a conference (transfer out, turned 18, died, looked after).",
    ),
    Binding(
        "invitations.quorum.assessed.v1",
        handlers.on_quorum_assessed,
        "Keep the latest quorum assessment: an inquorate decision needs the chair's reason.",
    ),
]
