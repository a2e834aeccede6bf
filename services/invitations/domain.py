"""The invitation rules, as plain Python: pure functions, and the `Conference` aggregate
that applies them to one council's conference, command by command."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from contracts.common_v1 import Participant, Venue
from contracts.crm_v1 import (
    ChildAdded,
    ConferenceCancelled,
    ConferenceHeld,
    ConferenceRequested,
    ConferenceRescheduled,
    ExclusionDecided,
    InvitationResponded,
    ParticipantAdded,
)
from contracts.invitations_v1 import (
    Advice,
    AttendanceAdvised,
    ExclusionRecorded,
    ExclusionReviewRequired,
    InvitationIssued,
    InvitationWithdrawn,
    QuorumAssessed,
    ResponseRecorded,
    TimescaleBreached,
)
from rules.calendar import WorkingDayCalendar, local_date
from rules.effects import Effects, Env, NotReadyYet, RuleViolation, Timer
from rules.policy import Policy
from rules.quorum import Attendee, Quorum, assess_quorum, attendee
from rules.roles import FAMILY, SOCIAL_CARE

__all__ = ["Attendee", "Quorum", "assess_quorum", "attendee"]


@dataclass(frozen=True)
class Invitee:
    """Someone to invite: a participant the CRM listed, or the chair."""

    person_id: str
    role: str
    needs_interpreter: bool = False
    language: str | None = None

    @property
    def is_family(self) -> bool:
        """Family members get the pre-meeting and the supporter notice date."""
        return self.role in FAMILY


@dataclass(frozen=True)
class Invitation:
    """What one invitation says beyond the conference's own details."""

    invitee: Invitee
    revision: int
    respond_by: date
    pre_meeting_start: datetime | None
    supporter_notice_by: date | None
    chair_contact_by: date | None = None


@dataclass(frozen=True)
class TimescaleBreach:
    """A conference scheduled after its statutory date."""

    rule: str
    target_date: date
    scheduled_date: date
    working_days_late: int


def invitees(chair_person_id: str, participants: list[Invitee]) -> list[Invitee]:
    """Everyone to invite, once each: the chair first, then the list in its order."""
    seen = {chair_person_id}
    result = [Invitee(chair_person_id, "chair")]
    for participant in participants:
        if participant.person_id not in seen:
            seen.add(participant.person_id)
            result.append(participant)
    return result


def invitation_for(
    invitee: Invitee,
    scheduled_start: datetime,
    conference_date: date,
    revision: int,
    policy: Policy,
    calendar: WorkingDayCalendar,
) -> Invitation:
    """The dates one invitation carries; for the family, the pre-meeting, or where the
    council's chair is in touch before the day instead, the date they will have been."""
    family = invitee.is_family
    contact_before = policy.chair_contacts_family_before
    return Invitation(
        invitee=invitee,
        revision=revision,
        respond_by=calendar.subtract_working_days(conference_date, policy.respond_by_before),
        pre_meeting_start=(
            scheduled_start - timedelta(minutes=policy.pre_meeting_minutes)
            if family and contact_before is None
            else None
        ),
        chair_contact_by=(
            calendar.subtract_working_days(conference_date, contact_before)
            if family and contact_before is not None
            else None
        ),
        supporter_notice_by=(
            calendar.subtract_working_days(conference_date, policy.supporter_notice_before)
            if family
            else None
        ),
    )


def timescale_breach(
    kind: str,
    scheduled_date: date,
    strategy_discussion_date: date | None,
    transfer_notice_date: date | None,
    policy: Policy,
    calendar: WorkingDayCalendar,
) -> TimescaleBreach | None:
    """The statutory timescale an initial or transfer-in conference misses, if any."""
    if kind == "initial" and strategy_discussion_date is not None:
        rule, start, within = (
            "initial_within_15_working_days",
            strategy_discussion_date,
            policy.initial_within_working_days,
        )
    elif kind == "transfer_in" and transfer_notice_date is not None:
        rule, start, within = (
            "transfer_in_within_15_working_days",
            transfer_notice_date,
            policy.transfer_in_within_working_days,
        )
    else:
        return None
    target = calendar.add_working_days(start, within)
    if scheduled_date <= target:
        return None
    late = max(1, calendar.working_days_between(target, scheduled_date))
    return TimescaleBreach(rule, target, scheduled_date, late)


# --- Advice on the invitation list --------------------------------------------------

HEALTH_FOR_YOUNG_CHILDREN = frozenset({"health_visitor", "midwife"})


@dataclass(frozen=True)
class ChildFacts:
    """What advice needs to know about a child."""

    child_id: str
    date_of_birth: date | None  # None: unborn


@dataclass(frozen=True)
class ListedPerson:
    """What advice needs to know about someone on the invitation list."""

    person_id: str
    role: str
    child_ids: tuple[str, ...] = ()
    has_parental_responsibility: bool = False
    invited: bool = True


@dataclass(frozen=True)
class AdviceItem:
    """One gap in the invitation list."""

    code: str
    message: str
    child_id: str | None = None


def age_on(born: date, on: date) -> int:
    """Age in whole years on a date."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _relates(person: ListedPerson, child_id: str) -> bool:
    return not person.child_ids or child_id in person.child_ids


def attendance_advice(
    children: list[ChildFacts], people: list[ListedPerson], conference_date: date, policy: Policy
) -> list[AdviceItem]:
    """Gaps in the invitation list: advice for the social worker, never a block."""
    invited = [p for p in people if p.invited]
    advice: list[AdviceItem] = []
    for child in children:
        age = None if child.date_of_birth is None else age_on(child.date_of_birth, conference_date)
        if (
            age is not None
            and age >= policy.child_invited_from_age
            and not any(
                p.role in ("child", "advocate") and child.child_id in p.child_ids for p in invited
            )
        ):
            advice.append(
                AdviceItem(
                    "child_views_needed",
                    f"Child {child.child_id} is {age}: invite them or gather their views another "
                    "way (advocate, app or worker).",
                    child.child_id,
                )
            )
        if (age is None or age < 5) and not any(
            p.role in HEALTH_FOR_YOUNG_CHILDREN and _relates(p, child.child_id) for p in invited
        ):
            needed = "midwife" if age is None else "health visitor"
            advice.append(
                AdviceItem(
                    "health_visitor_expected",
                    f"Child {child.child_id} is {'unborn' if age is None else 'under 5'}: a "
                    f"{needed} is expected.",
                    child.child_id,
                )
            )
        if not any(
            p.has_parental_responsibility and _relates(p, child.child_id)
            for p in invited
            if p.role not in SOCIAL_CARE
        ):
            advice.append(
                AdviceItem(
                    "parental_responsibility_not_invited",
                    f"No one with parental responsibility for child {child.child_id} is invited: "
                    "invite every parent or carer with parental responsibility, including one "
                    "who does not live with the child.",
                    child.child_id,
                )
            )
    for person in people:
        if person.has_parental_responsibility and not person.invited:
            advice.append(
                AdviceItem(
                    "parental_responsibility_not_invited",
                    f"{person.person_id} has parental responsibility and is not invited: make sure "
                    "their views are heard.",
                )
            )
    if not any(p.role == "police" for p in invited):
        advice.append(AdviceItem("police_expected", "Police are expected at every conference."))
    if not any(p.role in SOCIAL_CARE for p in invited):
        advice.append(
            AdviceItem(
                "social_care_expected", "Children's social care is expected at every conference."
            )
        )
    return advice


# --- Responses and quorum -----------------------------------------------------------


def supporter_notice_late(named_on: date, supporter_notice_by: date | None) -> bool:
    """A supporter named after the notice date is flagged for the chair."""
    return supporter_notice_by is not None and named_on > supporter_notice_by


# --- Exclusions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExclusionRequest:
    """A chair's decision to exclude someone, as the domain sees it."""

    person_id: str
    decided_by: str
    scope: str
    part_description: str | None
    grounds: tuple[str, ...]
    reason: str


def exclusion_violations(
    request: ExclusionRequest, chair_person_id: str, invitee_role: str | None
) -> list[str]:
    """Why an exclusion cannot be recorded, in words a CRM user understands."""
    reasons = []
    if request.decided_by != chair_person_id:
        reasons.append("only this conference's chair can decide an exclusion")
    if not request.grounds:
        reasons.append("an exclusion needs at least one ground")
    if not request.reason.strip():
        reasons.append("an exclusion needs the chair's written reason")
    if request.scope == "part" and not (request.part_description or "").strip():
        reasons.append("a partial exclusion must describe which part")
    if invitee_role is None:
        reasons.append(f"{request.person_id} is not invited to this conference")
    elif invitee_role not in FAMILY:
        reasons.append("only a family member can be excluded")
    return reasons


# --- The conference aggregate ---------------------------------------------------------

QUORUM_CHECK = "quorum_check"


@dataclass
class InviteeState:
    """One invitation and what the invitee said."""

    person_id: str
    role: str
    agency: str | None = None
    status: str = "live"
    participant: dict[str, Any] | None = None
    response: str | None = None
    responded_at: datetime | None = None
    deputy: dict[str, Any] | None = None
    supporter: dict[str, Any] | None = None
    supporter_notice_late: bool = False
    needs_interpreter: bool = False
    language: str | None = None

    @property
    def invitee(self) -> Invitee:
        """The invitee as the invitation rules see them."""
        return Invitee(self.person_id, self.role, self.needs_interpreter, self.language)


@dataclass(frozen=True)
class ExclusionState:
    """What a later conference needs to know of an exclusion decided at this one."""

    person_id: str
    grounds: tuple[str, ...]


@dataclass
class Conference:
    """One council's conference, as the invitations service keeps it."""

    conference_id: str
    kind: str
    scheduled_start: datetime
    chair_person_id: str
    venue: dict[str, Any]
    children: list[ChildFacts]
    strategy_discussion_date: date | None = None
    transfer_notice_date: date | None = None
    previous_conference_id: str | None = None
    status: str = "scheduled"
    held_on: date | None = None
    revision: int = 1
    invitees: list[InviteeState] = field(default_factory=list)
    advice: list[tuple[str, str | None]] = field(default_factory=list)
    exclusions: list[ExclusionState] = field(default_factory=list)

    # --- commands --------------------------------------------------------------------

    @classmethod
    def request(
        cls,
        data: ConferenceRequested,
        existing: "Conference | None",
        previous: "Conference | None",
        env: Env,
    ) -> tuple["Conference", Effects]:
        """Invite everyone listed and the chair; check the timescale; advise on gaps; at a
        review, invite anyone excluded last time as normal and tell the chair to decide
        again."""
        if existing is not None:
            raise RuleViolation(
                [
                    f"conference {data.conference_id} was already requested; "
                    "use crm.conference.rescheduled.v1 to move it"
                ]
            )
        if data.previous_conference_id and not _over(previous, env):
            # Its exclusions are decided again here: all of them must be known first.
            raise NotReadyYet(
                f"the previous conference {data.previous_conference_id} is not "
                f"{'held' if env.policy.crm_sends_held else 'known'} yet"
            )
        participants = list(data.participants)
        review_grounds: dict[str, tuple[str, ...]] = {}
        if previous is not None:
            listed = {p.person_id for p in participants}
            for exclusion in previous.exclusions:
                review_grounds[exclusion.person_id] = exclusion.grounds
                earlier = previous.invitee(exclusion.person_id)
                if exclusion.person_id not in listed and earlier and earlier.participant:
                    participants.append(Participant.model_validate(earlier.participant))
                    listed.add(exclusion.person_id)
        conference = cls(
            conference_id=data.conference_id,
            kind=data.kind,
            scheduled_start=data.scheduled_start,
            chair_person_id=data.chair.person_id,
            venue=data.venue.model_dump(mode="json"),
            children=[ChildFacts(c.child_id, c.date_of_birth) for c in data.children],
            strategy_discussion_date=data.strategy_discussion_date,
            transfer_notice_date=data.transfer_notice_date,
            previous_conference_id=data.previous_conference_id,
        )
        listed_by_id = {p.person_id: p for p in participants}
        effects = Effects()
        for person in invitees(
            data.chair.person_id,
            [Invitee(p.person_id, p.role, p.needs_interpreter, p.language) for p in participants],
        ):
            participant = listed_by_id.get(person.person_id)
            conference.invitees.append(_invitee_state(person, participant))
            effects.extend(conference._issue(person, env))
        effects.extend(conference._check_timescale(env))
        effects.extend(conference._advise(env))
        effects.extend(conference._schedule_quorum_check(env))
        for person_id, grounds in review_grounds.items():
            effects.emit(
                "invitations.exclusion.review_required.v1",
                ExclusionReviewRequired(
                    conference_id=data.conference_id,
                    person_id=person_id,
                    previous_conference_id=data.previous_conference_id or "",
                    previous_grounds=list(grounds),
                ),
                data.conference_id,
            )
        return conference, effects

    def reschedule(self, data: ConferenceRescheduled, env: Env) -> Effects:
        """Re-issue every live invitation as a new revision; re-check the timescale."""
        self._open_for_change()
        self.scheduled_start = data.scheduled_start
        self.revision += 1
        effects = Effects()
        for invitee in self._live():
            effects.extend(self._issue(invitee.invitee, env))
        effects.extend(self._check_timescale(env))
        effects.extend(self._advise(env))  # a child's age is taken on the new date
        effects.extend(self._schedule_quorum_check(env))
        return effects

    def cancel(self, data: ConferenceCancelled, env: Env) -> Effects:
        """Withdraw every live invitation and stop every timer."""
        self._open_for_change()
        self.status = "cancelled"
        effects = Effects()
        for invitee in self._live():
            effects.extend(self._withdraw(invitee, "cancelled"))
        effects.cancel_timers()
        return effects

    def add_participant(self, data: ParticipantAdded, env: Env) -> Effects:
        """Invite someone added to the list (once, however often they are added)."""
        self._open_for_change()
        participant = data.participant
        existing = self.invitee(participant.person_id)
        if existing is not None and existing.status == "live":
            return Effects()
        if existing is not None:
            raise RuleViolation(
                [f"{participant.person_id} was excluded from this conference by the chair"]
            )
        person = Invitee(
            participant.person_id,
            participant.role,
            participant.needs_interpreter,
            participant.language,
        )
        self.invitees.append(_invitee_state(person, participant))
        effects = self._issue(person, env)
        effects.extend(self._advise(env))
        return effects

    def add_child(self, data: ChildAdded, env: Env) -> Effects:
        """Another child of the household: the advice on the list covers them too."""
        self._open_for_change()
        if any(c.child_id == data.child.child_id for c in self.children):
            return Effects()
        self.children.append(ChildFacts(data.child.child_id, data.child.date_of_birth))
        return self._advise(env)

    def respond(self, data: InvitationResponded, env: Env) -> Effects:
        """Record an answer, a deputy, a supporter (late or not) and needs; re-assess quorum."""
        self._open_for_change()
        invitee = self.invitee(data.person_id)
        if invitee is None or invitee.status != "live":
            raise RuleViolation([f"{data.person_id} has no live invitation to this conference"])
        reasons = []
        if data.supporter is not None and not invitee.invitee.is_family:
            reasons.append("only a family member can bring a supporter")
        if data.response == "deputy" and (data.deputy is None or invitee.invitee.is_family):
            reasons.append("a deputy response comes from a professional and names the deputy")
        if reasons:
            raise RuleViolation(reasons)
        notice_by = self._invitation(invitee.invitee, env).supporter_notice_by
        late = data.supporter is not None and supporter_notice_late(local_date(env.at), notice_by)
        invitee.response = data.response
        invitee.responded_at = env.at
        invitee.deputy = data.deputy.model_dump(mode="json") if data.deputy else None
        if data.supporter is not None:
            invitee.supporter = data.supporter.model_dump(mode="json")
            invitee.supporter_notice_late = late
        if data.needs_interpreter is not None:
            invitee.needs_interpreter = data.needs_interpreter
        invitee.language = data.language or invitee.language
        effects = Effects()
        effects.emit(
            "invitations.response.recorded.v1",
            ResponseRecorded(
                conference_id=self.conference_id,
                person_id=data.person_id,
                response=data.response,
                deputy=data.deputy,
                supporter=data.supporter,
                supporter_notice_late=late,
            ),
            self.conference_id,
        )
        effects.extend(self._assess_quorum(env))
        return effects

    def decide_exclusion(self, data: ExclusionDecided, env: Env) -> Effects:
        """Validate and record the chair's exclusion; a whole exclusion withdraws the
        invitation. Exclusions are kept for the next conference to decide again."""
        self._open_for_change()
        invitee = self.invitee(data.person_id)
        reasons = exclusion_violations(
            ExclusionRequest(
                data.person_id,
                data.decided_by,
                data.scope,
                data.part_description,
                tuple(data.grounds),
                data.reason,
            ),
            self.chair_person_id,
            invitee.role if invitee is not None else None,
        )
        if reasons:
            raise RuleViolation(reasons)
        self.exclusions.append(ExclusionState(data.person_id, tuple(data.grounds)))
        request_by = env.calendar.subtract_working_days(
            local_date(self.scheduled_start), env.policy.exclusion_request_before
        )
        effects = Effects()
        effects.emit(
            "invitations.exclusion.recorded.v1",
            ExclusionRecorded(
                **data.model_dump(),
                recorded_at=env.at,
                late_request=local_date(data.decided_at) > request_by,
            ),
            self.conference_id,
        )
        if data.scope == "whole" and invitee is not None and invitee.status == "live":
            effects.extend(self._withdraw(invitee, "excluded"))
            effects.extend(self._advise(env))
        return effects

    def hold(self, data: ConferenceHeld, env: Env) -> Effects:
        """The conference took place: the final quorum assessment, from who attended (an
        empty list says nothing: nobody is a conference without its chair)."""
        self.held_on = data.held_on
        if not data.attended:
            return Effects()
        by_id = {i.person_id: i for i in self.invitees}
        deputies = {str(i.deputy["person_id"]): i for i in self.invitees if i.deputy is not None}
        present = [by_id.get(pid) or deputies.get(pid) for pid in data.attended]
        answers = [attendee(p.role, p.agency, "attending", None) for p in present if p]
        return self._quorum_facts(
            assess_quorum([a for a in answers if a is not None], env.policy), final=True
        )

    def quorum_check(self, timer: Timer, env: Env) -> Effects:
        """One working day before the conference: tell the chair whether it is quorate, from
        the answers given by then."""
        if self.status == "cancelled":
            return Effects()
        return self._assess_quorum(env)

    # --- helpers ---------------------------------------------------------------------

    def invitee(self, person_id: str) -> InviteeState | None:
        """One invitation, live or withdrawn."""
        return next((i for i in self.invitees if i.person_id == person_id), None)

    def _live(self) -> list[InviteeState]:
        return [i for i in self.invitees if i.status == "live"]

    def _open_for_change(self) -> None:
        if self.status == "cancelled":
            raise RuleViolation([f"conference {self.conference_id} was cancelled"])

    def _invitation(self, invitee: Invitee, env: Env) -> Invitation:
        return invitation_for(
            invitee,
            self.scheduled_start,
            local_date(self.scheduled_start),
            self.revision,
            env.policy,
            env.calendar,
        )

    def _issue(self, invitee: Invitee, env: Env) -> Effects:
        invitation = self._invitation(invitee, env)
        return Effects.of(
            "invitations.invitation.issued.v1",
            InvitationIssued(
                conference_id=self.conference_id,
                person_id=invitee.person_id,
                role=invitee.role,
                revision=invitation.revision,
                kind=self.kind,
                scheduled_start=self.scheduled_start,
                pre_meeting_start=invitation.pre_meeting_start,
                venue=Venue.model_validate(self.venue),
                respond_by=invitation.respond_by,
                supporter_notice_by=invitation.supporter_notice_by,
                needs_interpreter=invitee.needs_interpreter,
                language=invitee.language,
                accessibility_needs=self._accessibility_needs(invitee.person_id),
                chair_contact_by=invitation.chair_contact_by,
            ),
            self.conference_id,
        )

    def _accessibility_needs(self, person_id: str) -> str | None:
        state = self.invitee(person_id)
        participant = state.participant if state is not None else None
        needs = participant.get("accessibility_needs") if participant else None
        return str(needs) if needs else None

    def _withdraw(self, invitee: InviteeState, reason: str) -> Effects:
        invitee.status = "withdrawn"
        return Effects.of(
            "invitations.invitation.withdrawn.v1",
            InvitationWithdrawn(
                conference_id=self.conference_id, person_id=invitee.person_id, reason=reason
            ),
            self.conference_id,
        )

    def _check_timescale(self, env: Env) -> Effects:
        breach = timescale_breach(
            self.kind,
            local_date(self.scheduled_start),
            self.strategy_discussion_date,
            self.transfer_notice_date,
            env.policy,
            env.calendar,
        )
        effects = Effects()
        if breach is not None:
            effects.emit(
                "invitations.timescale.breached.v1",
                TimescaleBreached(
                    conference_id=self.conference_id,
                    rule=breach.rule,
                    target_date=breach.target_date,
                    scheduled_date=breach.scheduled_date,
                    working_days_late=breach.working_days_late,
                ),
                self.conference_id,
            )
        return effects

    def _advise(self, env: Env) -> Effects:
        """Advise on gaps in the list when they change (an empty list: the gaps are closed)."""
        people = [
            ListedPerson(
                i.person_id,
                i.role,
                tuple(i.participant.get("child_ids") or ()),
                bool(i.participant.get("has_parental_responsibility")),
                i.status == "live",
            )
            for i in self.invitees
            if i.participant is not None
        ]
        advice = attendance_advice(
            self.children, people, local_date(self.scheduled_start), env.policy
        )
        stored = [(a.code, a.child_id) for a in advice]
        effects = Effects()
        if stored == self.advice:
            return effects
        self.advice = stored
        effects.emit(
            "invitations.attendance.advised.v1",
            AttendanceAdvised(
                conference_id=self.conference_id,
                advice=[
                    Advice(code=a.code, child_id=a.child_id, message=a.message) for a in advice
                ],
            ),
            self.conference_id,
        )
        return effects

    def _assess_quorum(self, env: Env) -> Effects:
        """Quorum from the answers given by `env.at`."""
        answers = [
            attendee(i.role, i.agency, i.response, i.deputy)
            for i in self._live()
            if i.responded_at is not None and i.responded_at <= env.at
        ]
        return self._quorum_facts(assess_quorum([a for a in answers if a is not None], env.policy))

    def _quorum_facts(self, quorum: Quorum, *, final: bool = False) -> Effects:
        return Effects.of(
            "invitations.quorum.assessed.v1",
            QuorumAssessed(
                conference_id=self.conference_id,
                quorate=quorum.quorate,
                agencies_attending=quorum.agencies_attending,
                missing=quorum.missing,
                final=final,
            ),
            self.conference_id,
        )

    def _schedule_quorum_check(self, env: Env) -> Effects:
        day_before = env.calendar.subtract_working_days(local_date(self.scheduled_start), 1)
        effects = Effects()
        effects.set_timer(
            QUORUM_CHECK, "day_before", env.calendar.at_on(day_before, env.policy.notify_at)
        )
        return effects


def _over(conference: Conference | None, env: Env) -> bool:
    """True when a conference is known and (where the CRM says so) held or cancelled: no
    more exclusions can be decided for it."""
    if conference is None:
        return False
    return (
        not env.policy.crm_sends_held
        or conference.held_on is not None
        or (conference.status == "cancelled")
    )


def _invitee_state(person: Invitee, participant: Participant | None) -> InviteeState:
    return InviteeState(
        person_id=person.person_id,
        role=person.role,
        agency=participant.agency if participant else None,
        participant=participant.model_dump(mode="json") if participant else None,
        needs_interpreter=person.needs_interpreter,
        language=person.language,
    )
