"""Receiving reports and sharing them with the chair and the family, as the chair's
exclusions and the author's restrictions allow."""

from datetime import datetime

from contracts.crm_v1 import (
    ExclusionDecided,
    FamilySharingDecided,
    ReportSubmitted,
)
from contracts.reports_v1 import (
    ReportReceived,
    ReportShared,
    ReportWithheld,
)
from rules.calendar import local_date
from rules.effects import Effects, Env, RuleViolation
from rules.roles import FAMILY_AUTHORS, NOT_AN_AGENCY, PARENTS_AND_CARERS
from services.reports.domain.requests import (
    ReportRequest,
    missing_sections,
    on_time,
)  # fmt: skip
from services.reports.domain.sharing import (
    Recipient,
    Share,
    Withhold,
    distribute,
    members_for,
    share_on_time,
)  # fmt: skip
from services.reports.domain.state import (
    ConferenceState,
    ReportState,
    ShareState,
)  # fmt: skip


class Receiving(ConferenceState):
    """The conference's reports, as they arrive and are shared."""

    def decide_exclusion(self, data: ExclusionDecided) -> Effects:
        """The chair ordered reports withheld from a family member: they receive nothing more.
        (A decision that is not the chair's is refused by the invitations service.)"""
        if not data.withhold_reports or data.decided_by != self.chair_person_id:
            return Effects()
        # Kept even for someone not (yet) a recipient: whoever is added later gets nothing.
        self.withheld_by_chair.append(data.person_id)
        self.recipients = [
            Recipient(r.person_id, r.role, True) if r.person_id == data.person_id else r
            for r in self.recipients
        ]
        return Effects()

    def decide_family_sharing(self, data: FamilySharingDecided, env: Env) -> Effects:
        """The chair said whether a family member who is not a parent or carer receives
        reports: from a yes they get what has arrived (as of the decision) and what comes;
        after a no, nothing more. Parents and carers receive them by right."""
        self._open_for_change()
        if data.decided_by != self.chair_person_id:
            raise RuleViolation(["only the conference's chair decides who else receives reports"])
        person = data.person_id
        role = next((p.role for p in self.participants if p.person_id == person), None)
        if role in PARENTS_AND_CARERS:
            return Effects()  # they receive reports by right; nothing to change
        if not data.receives_reports:
            self.shared_with_by_chair = [p for p in self.shared_with_by_chair if p != person]
            self.recipients = [
                r for r in self.recipients if r.person_id != person or r.role != "family_member"
            ]
            return Effects()
        if person not in self.shared_with_by_chair:
            self.shared_with_by_chair.append(person)
        effects = Effects()
        if role is not None and self._add_recipient(person, role):
            for report in self.reports:
                effects.extend(self._distribute(report, env))
        return effects

    def submit_report(self, data: ReportSubmitted, env: Env) -> Effects:
        """Match the report to its request, record it, and share it with the chair and family.
        `env.at` is when it was submitted: it is shared then, never earlier."""
        self._open_for_change()
        if any(r.report_id == data.report_id for r in self.reports):
            raise RuleViolation([f"report {data.report_id} was already submitted"])
        author_role = next(
            (p.role for p in self.participants if p.person_id == data.author_person_id), None
        )
        family = author_role in FAMILY_AUTHORS
        request = None if family else self._request_for(data.agency)
        punctual = on_time(local_date(data.submitted_at), self.deadlines(env).due_to_chair)
        missing = [] if family else missing_sections(list(data.sections))
        report = _report_state(data, request, punctual, family)
        self.reports.append(report)
        effects = Effects()
        effects.emit(
            "reports.report.received.v1",
            ReportReceived(
                conference_id=self.conference_id,
                request_id=report.request_id,
                report_id=data.report_id,
                agency=data.agency,
                received_at=data.submitted_at,
                on_time=punctual,
                missing_sections=missing,
                unrequested=request is None and not family,
                family_authored=family,
                notify=[data.author_person_id, self.chair_person_id] if missing else [],
            ),
            self.conference_id,
        )
        effects.extend(self._distribute(report, env))
        return effects

    def _distribute(self, report: ReportState, env: Env) -> Effects:
        """Share or withhold a report with every recipient not yet dealt with; a share
        happens when the report was received, or later (`env.at`), never before."""
        delivered = {(s.report_id, s.person_id) for s in self.shares}
        shared_at = max(env.at, report.received_at)
        members = list(
            {
                p.person_id: Recipient(p.person_id, p.role)
                for p in self.participants
                if p.agency is not None and p.role not in NOT_AN_AGENCY
            }.values()
        )
        outcomes: list[Share | Withhold] = [
            *distribute(report.facts, self.recipients, delivered),
            *(
                members_for(report.facts, members, delivered)
                if env.policy.family_reports_shared_with_members
                else []
            ),
        ]
        effects = Effects()
        for outcome in outcomes:
            if isinstance(outcome, Share):
                punctual = share_on_time(outcome.role, local_date(shared_at), self.deadlines(env))
                effects.extend(self._shared(outcome, shared_at, punctual))
            else:
                effects.extend(self._withheld(outcome, shared_at))
        return effects

    def _shared(self, share: Share, at: datetime, punctual: bool) -> Effects:
        self.shares.append(
            ShareState(share.report_id, share.person_id, share.role, "shared", at, punctual)
        )
        return Effects.of(
            "reports.report.shared.v1",
            ReportShared(
                conference_id=self.conference_id,
                report_id=share.report_id,
                recipient_person_id=share.person_id,
                recipient_role=share.role,
                document_uri=share.document_uri,
                includes_restricted=share.includes_restricted,
                shared_at=at,
                on_time=punctual,
                restricted_document_uri=share.restricted_document_uri,
            ),
            self.conference_id,
            at,
        )

    def _withheld(self, withhold: Withhold, at: datetime) -> Effects:
        self.shares.append(
            ShareState(
                withhold.report_id,
                withhold.person_id,
                "family",
                "withheld",
                at,
                reason=withhold.reason,
            )
        )
        return Effects.of(
            "reports.report.withheld.v1",
            ReportWithheld(
                conference_id=self.conference_id,
                report_id=withhold.report_id,
                recipient_person_id=withhold.person_id,
                reason=withhold.reason,
                notify=[self.chair_person_id],
            ),
            self.conference_id,
            at,
        )


def _report_state(
    data: ReportSubmitted, request: ReportRequest | None, punctual: bool, family: bool
) -> ReportState:
    """What the aggregate keeps of a report received."""
    return ReportState(
        report_id=data.report_id,
        request_id=request.request_id if request else None,
        agency=data.agency,
        author_person_id=data.author_person_id,
        received_at=data.submitted_at,
        on_time=punctual,
        shareable_with_family=data.shareable_with_family,
        document_uri=data.document.uri,
        restricted_document_uri=data.restricted_document.uri if data.restricted_document else None,
        family_authored=family,
    )
