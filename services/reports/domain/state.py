"""What the reports service keeps of one conference, and the questions every part of the
aggregate asks of it (is a report in, was this reminder sent, the deadlines)."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from rules.calendar import local_date
from rules.effects import Env, RuleViolation, Timer
from rules.roles import ALLOCATED_SOCIAL_WORKER, agency_key
from services.reports.domain.requests import Deadlines, ReportRequest, deadlines
from services.reports.domain.sharing import Recipient, ReportFacts, entitled_family_role

REMINDER = "report_reminder"


OVERDUE = "report_overdue"


READINESS = "readiness_summary"


@dataclass(frozen=True)
class ParticipantFacts:
    """What the reports service needs of someone on the list."""

    person_id: str
    role: str
    agency: str | None = None


@dataclass(frozen=True)
class ReportState:
    """A received report."""

    report_id: str
    request_id: str | None
    agency: str
    author_person_id: str
    received_at: datetime
    on_time: bool
    shareable_with_family: bool
    document_uri: str
    restricted_document_uri: str | None
    family_authored: bool

    @property
    def facts(self) -> ReportFacts:
        """What sharing needs to know."""
        return ReportFacts(
            self.report_id,
            self.document_uri,
            self.restricted_document_uri,
            self.shareable_with_family,
            self.family_authored,
            self.author_person_id,
        )


@dataclass(frozen=True)
class ShareState:
    """A report shared with, or withheld from, one recipient."""

    report_id: str
    person_id: str
    role: str
    outcome: str
    at: datetime
    on_time: bool | None = None
    reason: str | None = None


@dataclass(frozen=True)
class MinutesVersion:
    """A version of the minutes received."""

    minutes_id: str
    version: int
    received_at: datetime
    document_uri: str
    restricted_document_uri: str | None


@dataclass(frozen=True)
class MinutesShareState:
    """A version of the minutes shared with, or withheld from, one person."""

    version: int
    person_id: str
    role: str
    outcome: str
    at: datetime


@dataclass
class Correction:
    """A family member's request to correct the minutes, and the chair's answer."""

    request_id: str
    person_id: str
    version: int
    answer_by: date
    answered_at: datetime | None = None
    accepted: bool | None = None


@dataclass
class ConferenceState:
    """One council's conference, as the reports service keeps it: the state every part of
    the aggregate shares."""

    conference_id: str
    kind: str
    scheduled_start: datetime
    chair_person_id: str
    participants: list[ParticipantFacts]
    status: str = "scheduled"
    children: list[str] = field(default_factory=list)
    requests: list[ReportRequest] = field(default_factory=list)
    reports: list[ReportState] = field(default_factory=list)
    recipients: list[Recipient] = field(default_factory=list)
    shares: list[ShareState] = field(default_factory=list)
    withheld_by_chair: list[str] = field(default_factory=list)
    shared_with_by_chair: list[str] = field(default_factory=list)
    """Family members other than parents and carers the chair said receive reports [003]."""
    held_on: date | None = None
    attended: list[str] | None = None
    answers: dict[str, str] = field(default_factory=dict)
    """Each invitee's answer (attending, apologies, deputy): the minutes go to those who
    attended or sent apologies."""
    deputies: list[ParticipantFacts] = field(default_factory=list)
    minutes: list[MinutesVersion] = field(default_factory=list)
    minutes_shares: list[MinutesShareState] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    """Reminders and chases sent, one key each (kind, request, deadline and its date): a
    request issued again for the same deadline is never reminded or chased twice."""

    # --- commands --------------------------------------------------------------------

    # --- timers: each judges what had happened by the moment it fires (`env.at`: its due
    # time, or when it became known if that was later) --------------------------------

    # --- helpers ---------------------------------------------------------------------

    def deadlines(self, env: Env) -> Deadlines:
        """The conference's two report deadlines."""
        return deadlines(self.kind, local_date(self.scheduled_start), env.policy, env.calendar)

    def _open_for_change(self) -> None:
        if self.status == "cancelled":
            raise RuleViolation([f"conference {self.conference_id} was cancelled"])

    def _request_for(self, agency: str) -> ReportRequest | None:
        key = agency_key(agency)
        return next((r for r in self.requests if agency_key(r.agency) == key), None)

    def _waiting_for(self, request_id: str, as_of: datetime) -> ReportRequest | None:
        """The request, if its report had not arrived by `as_of`."""
        if self.status == "cancelled":
            return None
        request = next((r for r in self.requests if r.request_id == request_id), None)
        if request is None or self._received(request, as_of):
            return None
        return request

    def _received(self, request: ReportRequest, by: datetime | None = None) -> bool:
        """True when the agency's report is in (by `by`): the one matched to the request, or
        one its agency sent before it was asked."""
        key = agency_key(request.agency)
        return any(
            (r.request_id == request.request_id or agency_key(r.agency) == key)
            and not r.family_authored
            and (by is None or r.received_at <= by)
            for r in self.reports
        )

    def _first_time(self, kind: str, timer: Timer) -> bool:
        """True the first time this reminder or chase is sent for its deadline (and notes it)."""
        request = timer.payload.get("request_id")
        told = f"{kind}|{request}|{which_deadline(timer)}|{due_by_of(timer, None)}"
        if told in self.told:
            return False
        self.told.append(told)
        return True

    def _add_recipient(self, person_id: str, role: str) -> bool:
        """Add the allocated social worker, or a family member entitled to reports."""
        if any(r.person_id == person_id for r in self.recipients):
            return False
        if role == ALLOCATED_SOCIAL_WORKER:
            self.recipients.append(Recipient(person_id, role))
            return True
        if not entitled_family_role(role, person_id in self.shared_with_by_chair):
            return False
        self.recipients.append(Recipient(person_id, role, person_id in self.withheld_by_chair))
        return True


def which_deadline(timer: Timer) -> Literal["chair", "family"]:
    return "family" if timer.payload.get("deadline") == "family" else "chair"


def due_by_of(timer: Timer, default: date | None) -> date | None:
    value = timer.payload.get("due_by")
    return date.fromisoformat(str(value)) if value else default


def upgrade_conference_1(document: dict[str, Any]) -> dict[str, Any]:
    """A conference stored by release 0.1.0, under its sharing rules: a family member
    already receiving reports keeps receiving them (as if the chair had said so; a later no
    stops it), and the allocated social worker becomes a recipient of what arrives from
    now. Everything else added since has a default."""
    recipients = document.setdefault("recipients", [])
    allowed = document.setdefault("shared_with_by_chair", [])
    for recipient in recipients:
        if recipient.get("role") == "family_member" and recipient["person_id"] not in allowed:
            allowed.append(recipient["person_id"])
    known = {r["person_id"] for r in recipients}
    for person in document.get("participants", []):
        if person.get("role") == ALLOCATED_SOCIAL_WORKER and person["person_id"] not in known:
            recipients.append({"person_id": person["person_id"], "role": person["role"],
                               "withhold_ordered": False})  # fmt: skip
            known.add(person["person_id"])
    return document
