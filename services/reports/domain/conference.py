"""The conference aggregate of the reports service: its commands (requested, moved,
cancelled, someone or a child added), with receiving (`receiving`), reminding
(`reminding`) and the minutes (`minutes`) mixed in over the state they share (`state`)."""

from dataclasses import dataclass

from contracts.crm_v1 import (
    ChildAdded,
    ConferenceCancelled,
    ConferenceRequested,
    ConferenceRescheduled,
    ParticipantAdded,
)
from rules.calendar import local_date
from rules.effects import Effects, Env, RuleViolation
from rules.roles import NOT_AN_AGENCY
from services.reports.domain.minutes import Minutes
from services.reports.domain.receiving import Receiving
from services.reports.domain.reminding import Reminding
from services.reports.domain.requests import (
    Professional,
    ReportRequest,
    requests_for,
)  # fmt: skip
from services.reports.domain.sharing import (
    Recipient,
)  # fmt: skip
from services.reports.domain.state import (
    OVERDUE,
    REMINDER,
    ParticipantFacts,
)  # fmt: skip


@dataclass
class Conference(Reminding, Receiving, Minutes):
    """One council's conference, as the reports service keeps it."""

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
            conference._add_recipient(participant.person_id, participant.role)
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
        effects.extend(conference._schedule_minutes(env))
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
        effects.extend(self._schedule_minutes(env))
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
        if self._add_recipient(participant.person_id, participant.role):
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
