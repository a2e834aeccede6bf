"""Sharing a report: with the chair whole, with the allocated social worker and the family
without its restricted part (the family only where the author allows and the chair has not
excluded them); each share or withholding with its reason; whether each got it on time."""

from dataclasses import dataclass
from datetime import date

from rules.roles import ALLOCATED_SOCIAL_WORKER, FAMILY_RECIPIENTS, PARENTS_AND_CARERS
from services.reports.domain.requests import Deadlines


@dataclass(frozen=True)
class Recipient:
    """Someone reports are shared with: the chair, the allocated social worker, or an
    entitled family member."""

    person_id: str
    role: str
    withhold_ordered: bool = False

    @property
    def is_chair(self) -> bool:
        """The chair receives everything, restricted parts included."""
        return self.role == "chair"

    @property
    def is_social_worker(self) -> bool:
        """The allocated social worker receives every agency's report but their own, without
        its restricted part [002]."""
        return self.role == ALLOCATED_SOCIAL_WORKER


@dataclass(frozen=True)
class ReportFacts:
    """What sharing needs to know about a received report."""

    report_id: str
    document_uri: str
    restricted_document_uri: str | None
    shareable_with_family: bool
    family_authored: bool = False
    author_person_id: str | None = None


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


def entitled_family_role(role: str, chair_allows: bool = False) -> bool:
    """Parents and carers (with parental responsibility or not) by right [003]; another
    family member only where the chair says so."""
    return role in PARENTS_AND_CARERS or (role in FAMILY_RECIPIENTS and chair_allows)


def distribute(
    report: ReportFacts, recipients: list[Recipient], delivered: set[tuple[str, str]]
) -> list[Share | Withhold]:
    """Who gets a report, and who does not, among recipients not yet dealt with.

    The chair gets the report with its restricted part; the allocated social worker an
    agency's report (never their own) without it; a family member gets only the shareable
    document, never the restricted part, and nothing at all when the report is not
    shareable before the conference or the chair ordered reports withheld from them. A
    family member's own report goes to the chair only.
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
        elif recipient.is_social_worker:
            if recipient.person_id != report.author_person_id:
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
    """The family's copy counts against the family's deadline; the chair's (and a conference
    member's) against the chair's."""
    family = role in FAMILY_RECIPIENTS
    return shared_on <= (due.share_with_family_by if family else due.due_to_chair)


def members_for(
    report: ReportFacts, professionals: list[Recipient], delivered: set[tuple[str, str]]
) -> list[Share]:
    """A family member's own report for the conference members, where the council's policy
    shares it with them: the document only, once each."""
    if not report.family_authored:
        return []
    return [
        Share(report.report_id, p.person_id, p.role, report.document_uri, False, None)
        for p in professionals
        if (report.report_id, p.person_id) not in delivered
    ]
