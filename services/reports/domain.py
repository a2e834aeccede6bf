"""The report rules, as plain Python."""

import uuid
from dataclasses import dataclass
from datetime import date

from shared.calendar import WorkingDayCalendar
from shared.policy import Policy

CHECKLIST = (
    "voice_of_child",
    "family_strengths",
    "developmental_needs",
    "parental_capacity",
    "wider_factors",
)
"""The five parts of a good report (seed 003), in the order a chair reads them."""

NON_PROFESSIONAL_ROLES = frozenset(
    {"parent", "carer", "child", "family_member", "supporter", "advocate", "interpreter",
     "minute_taker"}
)  # fmt: skip

_REQUEST_NAMESPACE = uuid.UUID("6f2b3c1e-5d0a-4c1b-9a53-8f2d1e4b7a60")


@dataclass(frozen=True)
class Professional:
    """An invited professional who may be asked for a report."""

    person_id: str
    role: str
    agency: str


@dataclass(frozen=True)
class ReportRequest:
    """One agency's report, asked of one author."""

    request_id: str
    agency: str
    author_person_id: str
    due_to_chair: date
    share_with_family_by: date
    short_notice: bool


@dataclass(frozen=True)
class Deadlines:
    """The two dates every request carries."""

    due_to_chair: date
    share_with_family_by: date


def agency_key(agency: str) -> str:
    """Agencies are matched without regard to case or surrounding spaces."""
    return " ".join(agency.split()).casefold()


def request_id(conference_id: str, agency: str) -> str:
    """A stable id: the same conference and agency always give the same request."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{conference_id}|{agency_key(agency)}"))


def deadlines(
    kind: str, conference_date: date, policy: Policy, calendar: WorkingDayCalendar
) -> Deadlines:
    """When reports are due to the chair and shared with the family."""
    return Deadlines(
        calendar.subtract_working_days(conference_date, policy.reports_to_chair_before(kind)),
        calendar.subtract_working_days(conference_date, policy.reports_to_family_before(kind)),
    )


def authors(professionals: list[Professional]) -> list[Professional]:
    """One author per agency; the social worker's agency always, and first."""
    ordered = sorted(
        (p for p in professionals if p.role not in NON_PROFESSIONAL_ROLES),
        key=lambda p: p.role != "social_worker",
    )
    chosen: dict[str, Professional] = {}
    for professional in ordered:
        chosen.setdefault(agency_key(professional.agency), professional)
    return list(chosen.values())


def requests_for(
    conference_id: str,
    professionals: list[Professional],
    requested_on: date,
    due: Deadlines,
) -> list[ReportRequest]:
    """A request per agency; short notice when the chair's deadline has already passed."""
    return [
        ReportRequest(
            request_id=request_id(conference_id, author.agency),
            agency=author.agency,
            author_person_id=author.person_id,
            due_to_chair=due.due_to_chair,
            share_with_family_by=due.share_with_family_by,
            short_notice=requested_on > due.due_to_chair,
        )
        for author in authors(professionals)
    ]


def missing_sections(sections: list[str]) -> list[str]:
    """The checklist sections a report does not cover."""
    return [section for section in CHECKLIST if section not in sections]


def on_time(submitted_on: date, due_to_chair: date | None) -> bool:
    """A report is on time when it reaches the chair by the deadline (no deadline: on time)."""
    return due_to_chair is None or submitted_on <= due_to_chair


# --- Sharing ---------------------------------------------------------------------------

FAMILY_RECIPIENT_ROLES = frozenset({"parent", "carer", "family_member"})
"""Family members who receive reports before the conference (a child's access goes
through their advocate or worker; supporters and interpreters receive nothing)."""

FAMILY_AUTHOR_ROLES = frozenset({"parent", "carer", "family_member", "child"})


@dataclass(frozen=True)
class Recipient:
    """Someone reports are shared with: the chair, or an entitled family member."""

    person_id: str
    role: str
    withhold_ordered: bool = False

    @property
    def is_chair(self) -> bool:
        """The chair receives everything, restricted parts included."""
        return self.role == "chair"


@dataclass(frozen=True)
class ReportFacts:
    """What sharing needs to know about a received report."""

    report_id: str
    document_uri: str
    restricted_document_uri: str | None
    shareable_with_family: bool
    family_authored: bool = False


@dataclass(frozen=True)
class Share:
    """A report made available to one recipient."""

    report_id: str
    person_id: str
    role: str
    document_uri: str
    includes_restricted: bool
    restricted_document_uri: str | None


@dataclass(frozen=True)
class Withhold:
    """A report kept from one family recipient, and why."""

    report_id: str
    person_id: str
    reason: str


def entitled_family_role(role: str) -> bool:
    """Parents and carers (with parental responsibility or not) and other family members."""
    return role in FAMILY_RECIPIENT_ROLES


def distribute(
    report: ReportFacts, recipients: list[Recipient], delivered: set[tuple[str, str]]
) -> list[Share | Withhold]:
    """Who gets a report, and who does not, among recipients not yet dealt with.

    The chair gets the report with its restricted part; a family member gets only
    the shareable document, never the restricted part, and nothing at all when the
    report is not shareable before the conference or the chair ordered reports
    withheld from them. A family member's own report goes to the chair only.
    """
    outcomes: list[Share | Withhold] = []
    for recipient in recipients:
        if (report.report_id, recipient.person_id) in delivered:
            continue
        if recipient.is_chair:
            outcomes.append(
                Share(
                    report.report_id,
                    recipient.person_id,
                    recipient.role,
                    report.document_uri,
                    report.restricted_document_uri is not None,
                    report.restricted_document_uri,
                )
            )
        elif report.family_authored:
            continue
        elif recipient.withhold_ordered:
            outcomes.append(Withhold(report.report_id, recipient.person_id, "chair_ordered"))
        elif not report.shareable_with_family:
            outcomes.append(
                Withhold(report.report_id, recipient.person_id, "not_shareable_before_conference")
            )
        else:
            outcomes.append(
                Share(
                    report.report_id,
                    recipient.person_id,
                    recipient.role,
                    report.document_uri,
                    False,
                    None,
                )
            )
    return outcomes


def share_on_time(role: str, shared_on: date, due: Deadlines) -> bool:
    """The chair's copy counts against the chair's deadline, the family's against theirs."""
    return shared_on <= (due.due_to_chair if role == "chair" else due.share_with_family_by)


# --- Readiness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Readiness:
    """The chair's summary when reports are due."""

    received: list[str]
    missing: list[str]
    family_shared_on_time: bool


def readiness(
    requested_agencies: list[str], received_agencies: list[str], family_shares_on_time: list[bool]
) -> Readiness:
    """What arrived, what is missing, and whether the family got everything on time."""
    received_keys = {agency_key(a) for a in received_agencies}
    missing = [a for a in requested_agencies if agency_key(a) not in received_keys]
    return Readiness(
        sorted(set(received_agencies)), missing, not missing and all(family_shares_on_time)
    )
