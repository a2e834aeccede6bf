"""Every version-1 event type: its model, its producer and what it means.

The type string is also the routing key on the producer's exchange.
"""

from dataclasses import dataclass

from contracts import crm_v1, decisions_v1, invitations_v1, reports_v1
from contracts.base import ContractModel
from contracts.common_v1 import InputRejected


@dataclass(frozen=True)
class EventType:
    """One event type of the contract."""

    name: str
    model: type[ContractModel]
    summary: str

    @property
    def producer(self) -> str:
        """The service (or `crm`) that alone may publish this type."""
        return self.name.split(".", 1)[0]

    @property
    def exchange(self) -> str:
        """The producer's exchange, where this type is published."""
        return f"{self.producer}.events"


def _types(*entries: tuple[str, type[ContractModel]]) -> dict[str, EventType]:
    return {
        name: EventType(name, model, (model.__doc__ or "").split(":", 1)[-1].strip())
        for name, model in entries
    }


EVENT_TYPES: dict[str, EventType] = _types(
    ("crm.conference.requested.v1", crm_v1.ConferenceRequested),
    ("crm.conference.rescheduled.v1", crm_v1.ConferenceRescheduled),
    ("crm.conference.cancelled.v1", crm_v1.ConferenceCancelled),
    ("crm.participant.added.v1", crm_v1.ParticipantAdded),
    ("crm.child.added.v1", crm_v1.ChildAdded),
    ("crm.invitation.responded.v1", crm_v1.InvitationResponded),
    ("crm.exclusion.decided.v1", crm_v1.ExclusionDecided),
    ("crm.report.submitted.v1", crm_v1.ReportSubmitted),
    ("crm.family_sharing.decided.v1", crm_v1.FamilySharingDecided),
    ("crm.conference.held.v1", crm_v1.ConferenceHeld),
    ("crm.minutes.submitted.v1", crm_v1.MinutesSubmitted),
    ("crm.minutes.correction_requested.v1", crm_v1.MinutesCorrectionRequested),
    ("crm.minutes.correction_answered.v1", crm_v1.MinutesCorrectionAnswered),
    ("crm.outcome.decided.v1", crm_v1.OutcomeDecided),
    ("crm.plan.ended.v1", crm_v1.PlanEnded),
    ("crm.plan.agreed.v1", crm_v1.PlanAgreed),
    ("crm.core_group.held.v1", crm_v1.CoreGroupHeld),
    ("crm.complaint.received.v1", crm_v1.ComplaintReceived),
    ("crm.complaint.acknowledged.v1", crm_v1.ComplaintAcknowledged),
    ("crm.complaint.answered.v1", crm_v1.ComplaintAnswered),
    ("invitations.invitation.issued.v1", invitations_v1.InvitationIssued),
    ("invitations.invitation.withdrawn.v1", invitations_v1.InvitationWithdrawn),
    ("invitations.attendance.advised.v1", invitations_v1.AttendanceAdvised),
    ("invitations.response.recorded.v1", invitations_v1.ResponseRecorded),
    ("invitations.exclusion.recorded.v1", invitations_v1.ExclusionRecorded),
    ("invitations.exclusion.review_required.v1", invitations_v1.ExclusionReviewRequired),
    ("invitations.quorum.assessed.v1", invitations_v1.QuorumAssessed),
    ("invitations.timescale.breached.v1", invitations_v1.TimescaleBreached),
    ("invitations.input.rejected.v1", InputRejected),
    ("reports.report.requested.v1", reports_v1.ReportRequested),
    ("reports.report.received.v1", reports_v1.ReportReceived),
    ("reports.report.shared.v1", reports_v1.ReportShared),
    ("reports.report.withheld.v1", reports_v1.ReportWithheld),
    ("reports.reminder.sent.v1", reports_v1.ReminderSent),
    ("reports.report.overdue.v1", reports_v1.ReportOverdue),
    ("reports.readiness.assessed.v1", reports_v1.ReadinessAssessed),
    ("reports.minutes.shared.v1", reports_v1.MinutesShared),
    ("reports.minutes.withheld.v1", reports_v1.MinutesWithheld),
    ("reports.minutes.correction_requested.v1", reports_v1.MinutesCorrectionRequested),
    ("reports.minutes.reminder_sent.v1", reports_v1.MinutesReminderSent),
    ("reports.minutes.overdue.v1", reports_v1.MinutesOverdue),
    ("reports.input.rejected.v1", InputRejected),
    ("decisions.outcome.recorded.v1", decisions_v1.OutcomeRecorded),
    ("decisions.plan.started.v1", decisions_v1.PlanStarted),
    ("decisions.plan.ended.v1", decisions_v1.PlanEnded),
    ("decisions.plan.category_changed.v1", decisions_v1.PlanCategoryChanged),
    ("decisions.core_group.due.v1", decisions_v1.CoreGroupDue),
    ("decisions.core_group.recorded.v1", decisions_v1.CoreGroupRecorded),
    ("decisions.core_group.overdue.v1", decisions_v1.CoreGroupOverdue),
    ("decisions.plan_action.overdue.v1", decisions_v1.PlanActionOverdue),
    ("decisions.complaint.recorded.v1", decisions_v1.ComplaintRecorded),
    ("decisions.complaint.reminder_sent.v1", decisions_v1.ComplaintReminderSent),
    ("decisions.complaint.overdue.v1", decisions_v1.ComplaintOverdue),
    ("decisions.complaint.closed.v1", decisions_v1.ComplaintClosed),
    ("decisions.decision_notice.due.v1", decisions_v1.DecisionNoticeDue),
    ("decisions.decision_notice.withheld.v1", decisions_v1.DecisionNoticeWithheld),
    ("decisions.review.due.v1", decisions_v1.ReviewDue),
    ("decisions.review.overdue.v1", decisions_v1.ReviewOverdue),
    ("decisions.input.rejected.v1", InputRejected),
)

PRODUCERS = ("crm", "invitations", "reports", "decisions")


def event_type(name: str) -> EventType | None:
    """The contract entry for a type string, or None for a type the contract does not know."""
    return EVENT_TYPES.get(name)
