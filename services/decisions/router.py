"""What the decisions service consumes (every fact straight from the CRM), and in what order."""

from collections.abc import Iterable
from typing import Any

from contracts.envelope import CloudEvent
from services.decisions import handlers
from shared.runtime.definition import Binding

PLANS = "plans"
"""A child's plans span conferences: every event that can change them is applied in order
with the other events about that child (key `plans|<child_id>`)."""


def _children(event_type: str, data: Any) -> list[str]:
    """The children whose plans an event can change."""
    if event_type in ("crm.conference.requested.v1", "crm.outcome.decided.v1"):
        return [child.child_id for child in data.children]
    if event_type == "crm.child.added.v1":
        return [data.child.child_id]
    if event_type == "crm.plan.ended.v1":
        return [data.child_id]
    return []


def ordering_keys(event: CloudEvent, data: Any) -> Iterable[str]:
    """A conference's events in order; the events that touch a child's plans in order with
    that child's others (other children's run beside them)."""
    keys = [data.conference_id] if hasattr(data, "conference_id") else []
    keys += [f"{PLANS}|{child_id}" for child_id in _children(event.type, data)]
    return keys


BINDINGS = [
    Binding(
        "crm.conference.requested.v1",
        handlers.on_conference_requested,
        "Remember the conference's kind, date, chair, children and who is invited.",
    ),
    Binding(
        "crm.conference.rescheduled.v1",
        handlers.on_conference_rescheduled,
        "Move the conference: plans start and the census counts on the new date.",
    ),
    Binding(
        "crm.conference.cancelled.v1",
        handlers.on_conference_cancelled,
        "The conference will not take place: an outcome for it is refused.",
    ),
    Binding(
        "crm.child.added.v1",
        handlers.on_child_added,
        "Another child the conference concerns: a decision can be recorded for them.",
    ),
    Binding(
        "crm.participant.added.v1",
        handlers.on_participant_added,
        "Remember someone added to the list (quorum counts them if they attend).",
    ),
    Binding(
        "crm.invitation.responded.v1",
        handlers.on_invitation_responded,
        "Remember an answer: quorum comes from the answers when attendance is not sent.",
    ),
    Binding(
        "crm.exclusion.decided.v1",
        handlers.on_exclusion_decided,
        "Remember a family member the chair excluded with reports withheld: the decision "
        "notice is not sent to them, and the chair is told.",
        since="0.2.0",
    ),
    Binding(
        "crm.conference.held.v1",
        handlers.on_conference_held,
        "Record the date the conference was held and who attended: plans start, reviews "
        "count and quorum is judged on it.",
    ),
    Binding(
        "crm.outcome.decided.v1",
        handlers.on_outcome_decided,
        "Record each child's outcome with dissent; start, continue or end plans; core group "
        "and review due; a decision notice for each person to be told. A correction "
        "supersedes the current record and notifies everyone again with what changed.",
    ),
    Binding(
        "crm.plan.ended.v1",
        handlers.on_plan_ended,
        "End a plan outside a conference (transfer out, turned 18, died, looked after); "
        "its core group stops meeting with the last plan it serves.",
    ),
    Binding(
        "crm.plan.agreed.v1",
        handlers.on_plan_agreed,
        "The detailed plan: its actions replace the outline plan's, each watched for its date.",
        since="0.2.0",
    ),
    Binding(
        "crm.core_group.held.v1",
        handlers.on_core_group_held,
        "Record a core group meeting (on time or late) and the actions it found done; the "
        "next meeting is due within the council's interval.",
        since="0.2.0",
    ),
    Binding(
        "crm.complaint.received.v1",
        handlers.on_complaint_received,
        "Record a complaint about a conference with the dates it is to be acknowledged and "
        "answered by; the chair is reminded and chased. The decision stands.",
        since="0.2.0",
    ),
    Binding(
        "crm.complaint.acknowledged.v1",
        handlers.on_complaint_acknowledged,
        "A complaint was acknowledged: no more reminders or chases for that.",
        since="0.2.0",
    ),
    Binding(
        "crm.complaint.answered.v1",
        handlers.on_complaint_answered,
        "The chair answered a complaint (or it was withdrawn): its outcome, on time or not.",
        since="0.2.0",
    ),
]
