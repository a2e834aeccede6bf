"""Answers to invitations and quorum: responses, deputies, supporters (late or not) and
needs; quorum from the answers by the day before, and from who attended once held."""

from datetime import date

from contracts.crm_v1 import (
    ConferenceHeld,
    InvitationResponded,
)
from contracts.invitations_v1 import (
    QuorumAssessed,
    ResponseRecorded,
)
from rules.calendar import local_date
from rules.effects import Effects, Env, RuleViolation, Timer
from rules.quorum import Quorum, assess_quorum, attendee
from services.invitations.domain.state import (
    QUORUM_CHECK,
    ConferenceState,
)  # fmt: skip


def supporter_notice_late(named_on: date, supporter_notice_by: date | None) -> bool:
    """A supporter named after the notice date is flagged for the chair."""
    return supporter_notice_by is not None and named_on > supporter_notice_by


class Answering(ConferenceState):
    """The conference's answers and quorum."""

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
                needs_interpreter=data.needs_interpreter,
                language=data.language,
            ),
            self.conference_id,
        )
        effects.extend(self._assess_quorum(env))
        effects.extend(self._advise(env))  # a need for an interpreter may be new
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
