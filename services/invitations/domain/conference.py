"""The conference aggregate of the invitations service: its commands (requested, moved,
cancelled, someone or a child added), with answering and excluding mixed in over the state
they share."""

from dataclasses import dataclass

from contracts.common_v1 import Participant
from contracts.crm_v1 import (
    ChildAdded,
    ConferenceCancelled,
    ConferenceRequested,
    ConferenceRescheduled,
    ParticipantAdded,
)
from contracts.invitations_v1 import (
    ExclusionReviewRequired,
)
from rules.effects import Effects, Env, NotReadyYet, RuleViolation
from services.invitations.domain.advice import ChildFacts
from services.invitations.domain.answering import Answering
from services.invitations.domain.exclusions import Excluding
from services.invitations.domain.invitations import Invitee, invitees
from services.invitations.domain.state import (
    invitee_state,
)  # fmt: skip


@dataclass
class Conference(Answering, Excluding):
    """One council's conference, as the invitations service keeps it."""

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
        participants, review_grounds = _with_excluded_last_time(data, previous)
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
        effects = conference._invite(data.chair.person_id, participants, env)
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

    def _invite(self, chair_person_id: str, participants: list[Participant], env: Env) -> Effects:
        """Invite the chair and everyone listed, once each."""
        listed_by_id = {p.person_id: p for p in participants}
        effects = Effects()
        for person in invitees(
            chair_person_id,
            [Invitee(p.person_id, p.role, p.needs_interpreter, p.language) for p in participants],
        ):
            self.invitees.append(invitee_state(person, listed_by_id.get(person.person_id)))
            effects.extend(self._issue(person, env))
        return effects

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
        self.invitees.append(invitee_state(person, participant))
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


def _with_excluded_last_time(
    data: ConferenceRequested, previous: Conference | None
) -> tuple[list[Participant], dict[str, tuple[str, ...]]]:
    """Everyone listed, and anyone excluded at the previous conference and not listed (they
    are invited as normal: the chair decides again); the grounds each was excluded on."""
    participants = list(data.participants)
    grounds: dict[str, tuple[str, ...]] = {}
    if previous is None:
        return participants, grounds
    listed = {p.person_id for p in participants}
    for exclusion in previous.exclusions:
        grounds[exclusion.person_id] = exclusion.grounds
        earlier = previous.invitee(exclusion.person_id)
        if exclusion.person_id not in listed and earlier and earlier.participant:
            participants.append(Participant.model_validate(earlier.participant))
            listed.add(exclusion.person_id)
    return participants, grounds


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
