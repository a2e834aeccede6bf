"""Version 1 of the facts the reports service publishes on `reports.events`."""

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from contracts.base import ContractModel
from contracts.invitations_v1 import InviteeRole


class ReportRequested(ContractModel):
    """`reports.report.requested.v1`: an agency was asked for its report."""

    conference_id: str = Field(description="The conference.")
    request_id: str = Field(description="Id of this request.")
    agency: str = Field(description="The agency asked.")
    author_person_id: str = Field(description="Who is asked to write it.")
    due_to_chair: date = Field(description="The report reaches the chair by this date.")
    share_with_family_by: date = Field(description="The report is shared with the family by then.")
    short_notice: bool = Field(
        description="A deadline (the chair's or the family's) had passed when requested."
    )
    children: list[str] = Field(
        default_factory=list,
        description="Optional (added within v1): the children the report must cover "
        "(child_id); a request is issued again, same request_id, when a child is added.",
    )


class ReportReceived(ContractModel):
    """`reports.report.received.v1`: a report arrived."""

    conference_id: str = Field(description="The conference.")
    request_id: str | None = Field(
        description="The request it answers; null for an agency never asked."
    )
    report_id: str = Field(description="The report.")
    agency: str = Field(description="The author's agency.")
    received_at: datetime = Field(description="When it was submitted.")
    on_time: bool = Field(description="Received by the chair's deadline.")
    missing_sections: list[str] = Field(description="Checklist sections it does not cover.")
    unrequested: bool = Field(
        default=False, description="Optional: no report was asked of this agency (flagged)."
    )
    family_authored: bool = Field(
        default=False, description="Optional: a family member's own report (shared with the chair)."
    )
    notify: list[str] = Field(
        default_factory=list,
        description="Optional: person_ids told about missing sections (author and chair).",
    )


class ReportShared(ContractModel):
    """`reports.report.shared.v1`: a report was made available to one recipient."""

    conference_id: str = Field(description="The conference.")
    report_id: str = Field(description="The report.")
    recipient_person_id: str = Field(description="Who receives it.")
    recipient_role: InviteeRole = Field(description="Their role.")
    document_uri: str = Field(description="The document they may see.")
    includes_restricted: bool = Field(description="True only for the chair.")
    shared_at: datetime = Field(description="When it was shared.")
    on_time: bool = Field(description="Shared by `share_with_family_by` (chair: by the deadline).")
    restricted_document_uri: str | None = Field(
        default=None, description="Optional: the restricted part; only ever set for the chair."
    )


class ReportWithheld(ContractModel):
    """`reports.report.withheld.v1`: a report was withheld from a family recipient."""

    conference_id: str = Field(description="The conference.")
    report_id: str = Field(description="The report.")
    recipient_person_id: str = Field(description="Who does not receive it.")
    reason: Literal["not_shareable_before_conference", "chair_ordered"] = Field(
        description="Why it was withheld."
    )
    notify: list[str] = Field(
        default_factory=list, description="Optional: person_ids told it was withheld (the chair)."
    )


class ReminderSent(ContractModel):
    """`reports.reminder.sent.v1`: an author was reminded of their deadline."""

    conference_id: str = Field(description="The conference.")
    request_id: str = Field(description="The request.")
    author_person_id: str = Field(description="Who was reminded.")
    due_to_chair: date = Field(description="Their deadline.")
    deadline: Literal["chair", "family"] = Field(
        default="chair",
        description="Optional (added within v1): which deadline this reminder is for; the "
        "family's comes with its own reminder when it falls earlier.",
    )
    due_by: date | None = Field(
        default=None, description="Optional (added within v1): the date of that deadline."
    )
    share_with_family_by: date | None = Field(
        default=None,
        description="Optional (added within v1): the date the report must reach the family "
        "by, so an author reminded of the chair's deadline hears of an earlier family one.",
    )


class ReportOverdue(ContractModel):
    """`reports.report.overdue.v1`: a report missed the chair's deadline."""

    conference_id: str = Field(description="The conference.")
    request_id: str = Field(description="The request.")
    agency: str = Field(description="The agency that is late.")
    due_to_chair: date = Field(description="The deadline missed.")
    notify: list[str] = Field(description="person_ids told: author, social worker, chair.")
    deadline: Literal["chair", "family"] = Field(
        default="chair",
        description="Optional (added within v1): which deadline passed without the report.",
    )
    due_by: date | None = Field(
        default=None, description="Optional (added within v1): the date of that deadline."
    )


class ReadinessAssessed(ContractModel):
    """`reports.readiness.assessed.v1`: the chair's summary at the deadline."""

    conference_id: str = Field(description="The conference.")
    received: list[str] = Field(description="Agencies whose reports arrived.")
    missing: list[str] = Field(description="Agencies whose reports are missing.")
    family_shared_on_time: bool = Field(description="Every shareable report reached the family.")


class MinutesShared(ContractModel):
    """`reports.minutes.shared.v1`: a version of the minutes was made available to one
    person. A new type within v1."""

    conference_id: str = Field(description="The conference.")
    minutes_id: str = Field(description="The minutes.")
    version: int = Field(description="Which version.")
    supersedes_version: int | None = Field(description="The version it amends, or null.")
    recipient_person_id: str = Field(description="Who receives it.")
    recipient_role: InviteeRole = Field(description="Their role.")
    document_uri: str = Field(description="The document they may see.")
    includes_restricted: bool = Field(description="True only for the chair and professionals.")
    restricted_document_uri: str | None = Field(
        description="The restricted part; set only for the chair and professionals."
    )
    shared_at: datetime = Field(description="When it was shared.")
    due_by: date = Field(description="The minutes were due to be shared by this date.")
    on_time: bool = Field(description="Shared by `due_by`.")
    corrections_by: date | None = Field(
        description="For the family: the last day to ask the chair to correct them."
    )


class MinutesWithheld(ContractModel):
    """`reports.minutes.withheld.v1`: the minutes were withheld from a family member the chair
    excluded with reports withheld. A new type within v1."""

    conference_id: str = Field(description="The conference.")
    minutes_id: str = Field(description="The minutes.")
    version: int = Field(description="Which version.")
    recipient_person_id: str = Field(description="Who does not receive them.")
    reason: Literal["chair_ordered"] = Field(description="Why they were withheld.")
    notify: list[str] = Field(description="person_ids told (the chair).")


class MinutesCorrectionRequested(ContractModel):
    """`reports.minutes.correction_requested.v1`: the chair is asked to answer a family
    member's request to correct the minutes. A new type within v1."""

    conference_id: str = Field(description="The conference.")
    request_id: str = Field(description="The CRM's request.")
    person_id: str = Field(description="Who asked.")
    minutes_id: str = Field(description="The minutes.")
    version: int = Field(description="The version they received.")
    answer_by: date = Field(description="The chair answers by this date.")
    notify: list[str] = Field(description="person_ids asked to answer (the chair).")


MinutesAbout = Literal["minutes", "correction"]


class MinutesReminderSent(ContractModel):
    """`reports.minutes.reminder_sent.v1`: the chair was reminded that the minutes (or the
    answer to a request to correct them) are due. A new type within v1."""

    conference_id: str = Field(description="The conference.")
    about: MinutesAbout = Field(description="The minutes, or an answer to a correction.")
    request_id: str | None = Field(description="The correction request, for `correction`.")
    due_by: date = Field(description="The deadline.")
    notify: list[str] = Field(description="person_ids reminded (the chair).")


class MinutesOverdue(ContractModel):
    """`reports.minutes.overdue.v1`: the minutes (or the answer to a request to correct them)
    passed their deadline. A new type within v1."""

    conference_id: str = Field(description="The conference.")
    about: MinutesAbout = Field(description="The minutes, or an answer to a correction.")
    request_id: str | None = Field(description="The correction request, for `correction`.")
    due_by: date = Field(description="The deadline missed.")
    notify: list[str] = Field(description="person_ids chased (the chair).")
