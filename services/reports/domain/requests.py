"""Asking agencies for their reports: who is asked (one author per agency), the request's
stable id, its two deadlines in working days, whether a report came on time and whole."""

import uuid
from dataclasses import dataclass
from datetime import date

from rules.calendar import WorkingDayCalendar
from rules.policy import Policy
from rules.roles import NOT_AN_AGENCY, agency_key

CHECKLIST = (
    "voice_of_child",
    "family_strengths",
    "developmental_needs",
    "parental_capacity",
    "wider_factors",
)
"""The five parts of a good report (seed 003), in the order a chair reads them."""


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


def request_id(tenant: str, conference_id: str, agency: str) -> str:
    """A stable id: the same council, conference and agency always give the same request."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{tenant}|{conference_id}|{agency_key(agency)}"))


def deadlines(
    kind: str, conference_date: date, policy: Policy, calendar: WorkingDayCalendar
) -> Deadlines:
    """When reports are due to the chair and shared with the family."""
    return Deadlines(
        policy.before(policy.chair_key(kind), conference_date, calendar),
        policy.before(policy.family_key(kind), conference_date, calendar),
    )


def authors(professionals: list[Professional]) -> list[Professional]:
    """One author per agency; the social worker's agency always, and first."""
    ordered = sorted(
        (p for p in professionals if p.role not in NOT_AN_AGENCY),
        key=lambda p: p.role != "social_worker",
    )
    chosen: dict[str, Professional] = {}
    for professional in ordered:
        chosen.setdefault(agency_key(professional.agency), professional)
    return list(chosen.values())


def requests_for(
    tenant: str,
    conference_id: str,
    professionals: list[Professional],
    requested_on: date,
    due: Deadlines,
) -> list[ReportRequest]:
    """A request per agency; short notice when either deadline (the chair's or the family's)
    has already passed."""
    return [
        ReportRequest(
            request_id=request_id(tenant, conference_id, author.agency),
            agency=author.agency,
            author_person_id=author.person_id,
            due_to_chair=due.due_to_chair,
            share_with_family_by=due.share_with_family_by,
            short_notice=requested_on > min(due.due_to_chair, due.share_with_family_by),
        )
        for author in authors(professionals)
    ]


def missing_sections(sections: list[str]) -> list[str]:
    """The checklist sections a report does not cover."""
    return [section for section in CHECKLIST if section not in sections]


def on_time(submitted_on: date, due_to_chair: date | None) -> bool:
    """A report is on time when it reaches the chair by the deadline (no deadline: on time)."""
    return due_to_chair is None or submitted_on <= due_to_chair


def deadlines_of(request: ReportRequest) -> list[tuple[str, date]]:
    """The chair's deadline, and the family's when it falls on another day."""
    deadlines = [("chair", request.due_to_chair)]
    if request.share_with_family_by != request.due_to_chair:
        deadlines.append(("family", request.share_with_family_by))
    return deadlines
