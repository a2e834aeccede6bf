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
        "Record the date the conference was held; plans start on it.",
    ),
    Binding(
        "crm.outcome.decided.v1",
        handlers.on_outcome_decided,
        "Record each child's outcome with dissent; start plans; core group and review due.",
    ),
]
