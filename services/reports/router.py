"""What the reports service consumes (every fact straight from the CRM, so what the CRM
published in order is applied in order)."""

from services.reports import handlers
from shared.runtime.definition import Binding

BINDINGS = [
    Binding(
        "crm.conference.requested.v1",
        handlers.on_conference_requested,
        "Request a report from every invited agency, due to the chair and the family by "
        "the policy's working-day deadlines; set reminders, chases and the chair's summary.",
    ),
    Binding(
        "crm.conference.rescheduled.v1",
        handlers.on_conference_rescheduled,
        "Move every deadline, reminder, chase and summary with the conference.",
    ),
    Binding(
        "crm.conference.cancelled.v1",
        handlers.on_conference_cancelled,
        "Stop every reminder, chase and summary.",
    ),
    Binding(
        "crm.participant.added.v1",
        handlers.on_participant_added,
        "Ask a newly invited agency for its report; share what has arrived with a newly "
        "invited family member.",
    ),
    Binding(
        "crm.child.added.v1",
        handlers.on_child_added,
        "Another child of the household: issue every report request again, naming the "
        "children the report must cover.",
    ),
    Binding(
        "crm.report.submitted.v1",
        handlers.on_report_submitted,
        "Receive a report (on time or late, sections missing) and share it: everything to "
        "the chair, the shareable document to the allocated social worker and to parents and "
        "carers, never the restricted part.",
    ),
    Binding(
        "crm.family_sharing.decided.v1",
        handlers.on_family_sharing_decided,
        "Share reports with a family member who is not a parent or carer from the chair's "
        "yes (what has arrived, then what comes), and no more after a no.",
        since="0.2.0",
    ),
    Binding(
        "crm.exclusion.decided.v1",
        handlers.on_exclusion_decided,
        "Withhold every further report from a family member the chair ordered them withheld from.",
    ),
    Binding(
        "crm.invitation.responded.v1",
        handlers.on_invitation_responded,
        "Remember an answer: those who send apologies receive the minutes too.",
        since="0.2.0",
    ),
    Binding(
        "crm.conference.held.v1",
        handlers.on_conference_held,
        "Remember who attended (they receive the minutes) and move the minutes' deadline to "
        "the date it was held.",
        since="0.2.0",
    ),
    Binding(
        "crm.minutes.submitted.v1",
        handlers.on_minutes_submitted,
        "Share the minutes as reports are shared (the restricted part with the chair and "
        "professionals only, nothing to a family member the chair withheld reports from); "
        "an amended version with the same people, superseding the earlier one.",
        since="0.2.0",
    ),
    Binding(
        "crm.minutes.correction_requested.v1",
        handlers.on_minutes_correction_requested,
        "A family member's request to correct the minutes, within the council's days of "
        "receiving them: the chair is asked to answer, reminded and chased.",
        since="0.2.0",
    ),
    Binding(
        "crm.minutes.correction_answered.v1",
        handlers.on_minutes_correction_answered,
        "The chair answered a request to correct the minutes: no more reminders or chases.",
        since="0.2.0",
    ),
]
