"""What the invitations service keeps of one conference, and what every part of the
aggregate does with it: issue, withdraw, check the timescale, advise on the list."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.common_v1 import Participant, Venue
from contracts.invitations_v1 import (
    Advice,
    AttendanceAdvised,
    InvitationIssued,
    InvitationWithdrawn,
    TimescaleBreached,
)
from rules.calendar import local_date
from rules.effects import Effects, Env, RuleViolation
from services.invitations.domain.advice import ChildFacts, ListedPerson, attendance_advice
from services.invitations.domain.invitations import (
    Invitation,
    Invitee,
    invitation_for,
    timescale_breach,
)

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
class ConferenceState:
    """One council's conference, as the invitations service keeps it: the state every part
    of the aggregate shares."""

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
                i.needs_interpreter,
                i.language,
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


def invitee_state(person: Invitee, participant: Participant | None) -> InviteeState:
    return InviteeState(
        person_id=person.person_id,
        role=person.role,
        agency=participant.agency if participant else None,
        participant=participant.model_dump(mode="json") if participant else None,
        needs_interpreter=person.needs_interpreter,
        language=person.language,
    )
