"""What the reports service consumes (each binding is a subscriber in AsyncAPI)."""

from services.reports import handlers
from shared.runtime import Binding

BINDINGS = [
    Binding(
        "crm.conference.requested.v1",
        handlers.on_conference_requested,
        "Request a report from every invited agency, due to the chair and the family by "
        "the policy's working-day deadlines.",
    ),
    Binding(
        "crm.report.submitted.v1",
        handlers.on_report_submitted,
        "Receive a report: match it to its request, on time or late, sections missing.",
    ),
]
