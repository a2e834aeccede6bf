"""What the invitations service consumes, and the order it must apply it in."""

from collections.abc import Iterable
from typing import Any

from contracts.envelope import CloudEvent
from services.invitations import handlers
from shared.runtime.definition import Binding


def ordering_keys(event: CloudEvent, data: Any) -> Iterable[str]:
    """A conference's events in order; a review after everything of the conference before."""
    previous = getattr(data, "previous_conference_id", None)
    return [data.conference_id, *([previous] if previous else [])]


BINDINGS = [
    Binding(
        "crm.conference.requested.v1",
        handlers.on_conference_requested,
        "Invite every listed participant and the chair; check the statutory timescale; "
        "advise on gaps in the list; at a review, ask the chair to decide exclusions again.",
    ),
    Binding(
        "crm.conference.rescheduled.v1",
        handlers.on_conference_rescheduled,
        "Re-issue every live invitation as a new revision and re-check the timescale.",
    ),
    Binding(
        "crm.conference.cancelled.v1",
        handlers.on_conference_cancelled,
        "Withdraw every invitation and stop the conference's timers.",
    ),
    Binding(
        "crm.participant.added.v1",
        handlers.on_participant_added,
        "Invite a participant added later (once).",
    ),
    Binding(
        "crm.child.added.v1",
        handlers.on_child_added,
        "Another child of the household: advise on the invitation list for them too.",
    ),
    Binding(
        "crm.invitation.responded.v1",
        handlers.on_invitation_responded,
        "Record a response, deputy, supporter (late notice flagged) and needs; assess quorum.",
    ),
    Binding(
        "crm.conference.held.v1",
        handlers.on_conference_held,
        "Assess quorum finally from who attended (invitations.quorum.assessed.v1, final).",
    ),
    Binding(
        "crm.exclusion.decided.v1",
        handlers.on_exclusion_decided,
        "Validate and record the chair's exclusion; a whole exclusion withdraws the invitation.",
    ),
]
