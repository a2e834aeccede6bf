"""The report rules, as plain Python: asking agencies for reports (`requests`), sharing
them (`sharing`), how ready the conference is (`readiness`), and the `Conference`
aggregate (`conference`, with `receiving` and `reminding` over the shared `state`)."""

from services.reports.domain.conference import Conference
from services.reports.domain.minutes import (
    CORRECTION_OVERDUE,
    CORRECTION_REMINDER,
    MINUTES_OVERDUE,
    MINUTES_REMINDER,
    MinutesRecipient,
)
from services.reports.domain.readiness import Readiness, readiness
from services.reports.domain.requests import (
    CHECKLIST,
    Deadlines,
    Professional,
    ReportRequest,
    authors,
    deadlines,
    missing_sections,
    on_time,
    request_id,
    requests_for,
)
from services.reports.domain.sharing import (
    Recipient,
    ReportFacts,
    Share,
    Withhold,
    distribute,
    entitled_family_role,
    members_for,
    share_on_time,
)
from services.reports.domain.state import (
    OVERDUE,
    READINESS,
    REMINDER,
    ParticipantFacts,
    ReportState,
    ShareState,
    upgrade_conference_1,
)

__all__ = [
    "CHECKLIST",
    "CORRECTION_OVERDUE",
    "CORRECTION_REMINDER",
    "MINUTES_OVERDUE",
    "MINUTES_REMINDER",
    "OVERDUE",
    "READINESS",
    "REMINDER",
    "Conference",
    "Deadlines",
    "MinutesRecipient",
    "ParticipantFacts",
    "Professional",
    "Readiness",
    "Recipient",
    "ReportFacts",
    "ReportRequest",
    "ReportState",
    "Share",
    "ShareState",
    "Withhold",
    "authors",
    "deadlines",
    "distribute",
    "entitled_family_role",
    "members_for",
    "missing_sections",
    "on_time",
    "readiness",
    "request_id",
    "requests_for",
    "share_on_time",
    "upgrade_conference_1",
]
