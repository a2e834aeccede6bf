"""The report rules, as plain Python: pure functions, and the `Conference` aggregate that
applies them to one council's conference, command by command."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from contracts.crm_v1 import (
    ChildAdded,
    ConferenceCancelled,
    ConferenceRequested,
    ConferenceRescheduled,
    ExclusionDecided,
    ParticipantAdded,
    ReportSubmitted,
)
from contracts.reports_v1 import (
    ReadinessAssessed,
    ReminderSent,
    ReportOverdue,
    ReportReceived,
    ReportRequested,
    ReportShared,
    ReportWithheld,
)
from rules.calendar import WorkingDayCalendar, local_date
from rules.effects import Effects, Env, RuleViolation, Timer
from rules.policy import Policy
from rules.roles import FAMILY_AUTHORS, FAMILY_RECIPIENTS, NOT_AN_AGENCY, agency_key

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
        calendar.subtract_working_days(conference_date, policy.reports_to_chair_before(kind)),
        calendar.subtract_working_days(conference_date, policy.reports_to_family_before(kind)),
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


# --- Sharing ---------------------------------------------------------------------------


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
    return role in FAMILY_RECIPIENTS


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


# --- The conference aggregate ---------------------------------------------------------

REMINDER, OVERDUE, READINESS = "report_reminder", "report_overdue", "readiness_summary"


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


@dataclass
class Conference:
    """One council's conference, as the reports service keeps it."""

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
    told: list[str] = field(default_factory=list)
    """Reminders and chases sent, one key each (kind, request, deadline and its date): a
    request issued again for the same deadline is never reminded or chased twice."""

    # --- commands --------------------------------------------------------------------

    @classmethod
    def request(
        cls, tenant: str, data: ConferenceRequested, existing: "Conference | None", env: Env
    ) -> tuple["Conference", Effects]:
        """Ask every invited agency for its report; note who reports are shared with."""
        if existing is not None:
            raise RuleViolation([f"conference {data.conference_id} was already requested"])
        conference = cls(
            conference_id=data.conference_id,
            kind=data.kind,
            scheduled_start=data.scheduled_start,
            chair_person_id=data.chair.person_id,
            participants=[
                ParticipantFacts(p.person_id, p.role, p.agency) for p in data.participants
            ],
            recipients=[Recipient(data.chair.person_id, "chair")],
            children=[c.child_id for c in data.children],
        )
        for participant in data.participants:
            conference._add_family_recipient(participant.person_id, participant.role)
        professionals = [
            Professional(p.person_id, p.role, p.agency)
            for p in data.participants
            if p.agency is not None
        ]
        effects = Effects()
        for request in requests_for(
            tenant,
            data.conference_id,
            professionals,
            local_date(env.at),
            conference.deadlines(env),
        ):
            conference.requests.append(request)
            effects.extend(conference._requested(request, env))
        effects.extend(conference._schedule_readiness(env))
        return conference, effects

    def reschedule(self, data: ConferenceRescheduled, env: Env) -> Effects:
        """Move every deadline and every timer with the conference."""
        self._open_for_change()
        self.scheduled_start = data.scheduled_start
        due = self.deadlines(env)
        short_notice = local_date(env.at) > min(due.due_to_chair, due.share_with_family_by)
        self.requests = [
            ReportRequest(
                r.request_id,
                r.agency,
                r.author_person_id,
                due.due_to_chair,
                due.share_with_family_by,
                short_notice,
            )
            for r in self.requests
        ]
        effects = Effects()
        effects.cancel_timers(REMINDER)
        effects.cancel_timers(OVERDUE)
        for request in self.requests:
            # Every author hears the new dates; only a report still awaited is reminded of
            # them or chased.
            effects.extend(self._requested(request, env, timers=not self._received(request)))
        effects.extend(self._schedule_readiness(env))
        return effects

    def cancel(self, data: ConferenceCancelled, env: Env) -> Effects:
        """Stop every reminder, chase and summary."""
        self._open_for_change()
        self.status = "cancelled"
        effects = Effects()
        effects.cancel_timers()
        return effects

    def add_participant(self, tenant: str, data: ParticipantAdded, env: Env) -> Effects:
        """A new agency is asked for its report; a new family member gets what was shared."""
        self._open_for_change()
        participant = data.participant
        self.participants.append(
            ParticipantFacts(participant.person_id, participant.role, participant.agency)
        )
        effects = Effects()
        if (
            participant.agency is not None
            and participant.role not in NOT_AN_AGENCY
            and self._request_for(participant.agency) is None
        ):
            [request] = requests_for(
                tenant,
                self.conference_id,
                [Professional(participant.person_id, participant.role, participant.agency)],
                local_date(env.at),
                self.deadlines(env),
            )
            self.requests.append(request)
            # An agency whose report came before it was on the list is not asked for it.
            if not self._received(request):
                effects.extend(self._requested(request, env))
        if self._add_family_recipient(participant.person_id, participant.role):
            for report in self.reports:
                effects.extend(self._distribute(report, env))
        return effects

    def add_child(self, data: ChildAdded, env: Env) -> Effects:
        """Another child of the household: every request is issued again (same id) naming
        the children the report must cover, so each author knows, also one already in."""
        self._open_for_change()
        if data.child.child_id in self.children:
            return Effects()
        self.children.append(data.child.child_id)
        effects = Effects()
        for request in self.requests:
            # The deadlines did not move: its reminders and chase stand as they were.
            effects.extend(self._requested(request, env, timers=False))
        return effects

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
        due = self.deadlines(env)
        punctual = on_time(local_date(data.submitted_at), due.due_to_chair)
        missing = [] if family else missing_sections(list(data.sections))
        report = ReportState(
            report_id=data.report_id,
            request_id=request.request_id if request else None,
            agency=data.agency,
            author_person_id=data.author_person_id,
            received_at=data.submitted_at,
            on_time=punctual,
            shareable_with_family=data.shareable_with_family,
            document_uri=data.document.uri,
            restricted_document_uri=(
                data.restricted_document.uri if data.restricted_document else None
            ),
            family_authored=family,
        )
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

    # --- timers: each judges what had happened by the moment it fires (`env.at`: its due
    # time, or when it became known if that was later) --------------------------------

    def remind(self, timer: Timer, env: Env) -> Effects:
        """Remind an author whose report has not arrived, two working days before a deadline
        (the chair's, and the family's when it is another day); once a deadline."""
        request = self._waiting_for(str(timer.payload["request_id"]), env.at)
        effects = Effects()
        if request is not None and self._first_time(REMINDER, timer):
            effects.emit(
                "reports.reminder.sent.v1",
                ReminderSent(
                    conference_id=self.conference_id,
                    request_id=request.request_id,
                    author_person_id=request.author_person_id,
                    due_to_chair=request.due_to_chair,
                    deadline=_which(timer),
                    due_by=_due_by(timer, request.due_to_chair),
                    share_with_family_by=request.share_with_family_by,
                ),
                self.conference_id,
            )
        return effects

    def chase(self, timer: Timer, env: Env) -> Effects:
        """A deadline passed without the report: tell author, social worker and chair (on the
        next working day at the policy's time, or at once for a deadline already past), only
        if the report is still not in then; once a deadline."""
        due_by = _due_by(timer, None)
        request = self._waiting_for(str(timer.payload["request_id"]), env.at)
        effects = Effects()
        if request is not None and self._first_time(OVERDUE, timer):
            social_workers = [p.person_id for p in self.participants if p.role == "social_worker"]
            notify = [request.author_person_id, *social_workers, self.chair_person_id]
            effects.emit(
                "reports.report.overdue.v1",
                ReportOverdue(
                    conference_id=self.conference_id,
                    request_id=request.request_id,
                    agency=request.agency,
                    due_to_chair=request.due_to_chair,
                    notify=list(dict.fromkeys(notify)),
                    deadline=_which(timer),
                    due_by=due_by or request.due_to_chair,
                ),
                self.conference_id,
            )
        return effects

    def summarise(self, timer: Timer, env: Env) -> Effects:
        """After the chair's deadline: what had arrived by then, what is missing, what the
        family got on time."""
        effects = Effects()
        if self.status == "cancelled":
            return effects
        as_of = env.at
        arrived = [r for r in self.reports if r.received_at <= as_of]
        summary = readiness(
            [r.agency for r in self.requests],
            [r.agency for r in arrived if not r.family_authored],
            [
                bool(s.on_time)
                for s in self.shares
                if s.role != "chair" and s.outcome == "shared" and s.at <= as_of
            ],
        )
        effects.emit(
            "reports.readiness.assessed.v1",
            ReadinessAssessed(
                conference_id=self.conference_id,
                received=summary.received,
                missing=summary.missing,
                family_shared_on_time=summary.family_shared_on_time,
            ),
            self.conference_id,
        )
        return effects

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
        told = f"{kind}|{timer.payload.get('request_id')}|{_which(timer)}|{_due_by(timer, None)}"
        if told in self.told:
            return False
        self.told.append(told)
        return True

    def _add_family_recipient(self, person_id: str, role: str) -> bool:
        if not entitled_family_role(role) or any(r.person_id == person_id for r in self.recipients):
            return False
        self.recipients.append(Recipient(person_id, role, person_id in self.withheld_by_chair))
        return True

    def _requested(self, request: ReportRequest, env: Env, *, timers: bool = True) -> Effects:
        """The request, and (`timers`) its reminders and chase for each deadline."""
        effects = Effects()
        effects.emit(
            "reports.report.requested.v1",
            ReportRequested(
                conference_id=self.conference_id,
                request_id=request.request_id,
                agency=request.agency,
                author_person_id=request.author_person_id,
                due_to_chair=request.due_to_chair,
                share_with_family_by=request.share_with_family_by,
                short_notice=request.short_notice,
                children=list(self.children),
            ),
            self.conference_id,
        )
        if not timers:
            return effects
        for which, due_by in _deadlines_of(request):
            name = f"{request.request_id}:{which}"
            payload = {"request_id": request.request_id, "deadline": which, "due_by": str(due_by)}
            remind_on = env.calendar.subtract_working_days(
                due_by, env.policy.reminder_before_deadline
            )
            remind_at = env.calendar.at_on(remind_on, env.policy.notify_at)
            if remind_at > env.at:  # a reminder whose moment passed: the request says it
                effects.set_timer(REMINDER, name, remind_at, payload)
            effects.set_timer(
                OVERDUE, name, env.calendar.after(due_by, env.policy.notify_at), payload
            )
        return effects

    def _schedule_readiness(self, env: Env) -> Effects:
        due_by = self.deadlines(env).due_to_chair
        effects = Effects()
        effects.set_timer(
            READINESS,
            "chair_deadline",
            env.calendar.after(due_by, env.policy.notify_at),
            {"deadline": "chair", "due_by": str(due_by)},
        )
        return effects

    def _distribute(self, report: ReportState, env: Env) -> Effects:
        """Share or withhold a report with every recipient not yet dealt with; a share
        happens when the report was received, or later (`env.at`), never before."""
        delivered = {(s.report_id, s.person_id) for s in self.shares}
        due = self.deadlines(env)
        shared_at = max(env.at, report.received_at)
        effects = Effects()
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
        for outcome in outcomes:
            if isinstance(outcome, Share):
                punctual = share_on_time(outcome.role, local_date(shared_at), due)
                self.shares.append(
                    ShareState(
                        outcome.report_id,
                        outcome.person_id,
                        outcome.role,
                        "shared",
                        shared_at,
                        on_time=punctual,
                    )
                )
                effects.emit(
                    "reports.report.shared.v1",
                    ReportShared(
                        conference_id=self.conference_id,
                        report_id=outcome.report_id,
                        recipient_person_id=outcome.person_id,
                        recipient_role=outcome.role,
                        document_uri=outcome.document_uri,
                        includes_restricted=outcome.includes_restricted,
                        shared_at=shared_at,
                        on_time=punctual,
                        restricted_document_uri=outcome.restricted_document_uri,
                    ),
                    self.conference_id,
                    shared_at,
                )
            else:
                self.shares.append(
                    ShareState(
                        outcome.report_id,
                        outcome.person_id,
                        "family",
                        "withheld",
                        shared_at,
                        reason=outcome.reason,
                    )
                )
                effects.emit(
                    "reports.report.withheld.v1",
                    ReportWithheld(
                        conference_id=self.conference_id,
                        report_id=outcome.report_id,
                        recipient_person_id=outcome.person_id,
                        reason=outcome.reason,
                        notify=[self.chair_person_id],
                    ),
                    self.conference_id,
                    shared_at,
                )
        return effects


def _deadlines_of(request: ReportRequest) -> list[tuple[str, date]]:
    """The chair's deadline, and the family's when it falls on another day."""
    deadlines = [("chair", request.due_to_chair)]
    if request.share_with_family_by != request.due_to_chair:
        deadlines.append(("family", request.share_with_family_by))
    return deadlines


def _which(timer: Timer) -> Literal["chair", "family"]:
    return "family" if timer.payload.get("deadline") == "family" else "chair"


def _due_by(timer: Timer, default: date | None) -> date | None:
    value = timer.payload.get("due_by")
    return date.fromisoformat(str(value)) if value else default
