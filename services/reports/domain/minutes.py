"""The minutes of a conference: due within the council's working days of the conference
(the chair reminded before and chased after), shared like reports (the restricted part only
with the chair and the professionals, nothing to a family member the chair ordered reports
withheld from), corrections a family member asks for within the council's days of receiving
them (the chair reminded and chased to answer), and an amended version that supersedes the
earlier one, shared with the same people once each."""

from dataclasses import dataclass
from datetime import date, datetime

from contracts.crm_v1 import (
    ConferenceHeld,
    InvitationResponded,
    MinutesCorrectionAnswered,
    MinutesCorrectionRequested,
    MinutesSubmitted,
)
from contracts.reports_v1 import MinutesCorrectionRequested as CorrectionRequestedFact
from contracts.reports_v1 import (
    MinutesOverdue,
    MinutesReminderSent,
    MinutesShared,
    MinutesWithheld,
)
from rules.calendar import local_date
from rules.effects import Effects, Env, NotReadyYet, RuleViolation, Timer
from rules.roles import FAMILY, PARENTS_AND_CARERS
from services.reports.domain.state import (
    ConferenceState,
    Correction,
    MinutesShareState,
    MinutesVersion,
    ParticipantFacts,
)

MINUTES_REMINDER = "minutes_reminder"
MINUTES_OVERDUE = "minutes_overdue"
CORRECTION_REMINDER = "correction_reminder"
CORRECTION_OVERDUE = "correction_overdue"


@dataclass(frozen=True)
class MinutesRecipient:
    """Someone the minutes go to; `professional`: with the restricted part."""

    person_id: str
    role: str
    professional: bool


class Minutes(ConferenceState):
    """The conference's minutes, their sharing, corrections and amendments."""

    # --- commands --------------------------------------------------------------------

    def hold(self, data: ConferenceHeld, env: Env) -> Effects:
        """The conference took place: who attended is who (with those who sent apologies)
        receives the minutes, due within the council's working days of this date."""
        self._open_for_change()
        self.held_on = data.held_on
        self.attended = list(data.attended) or self.attended
        return self._schedule_minutes(env)

    def respond(self, data: InvitationResponded) -> Effects:
        """An invitee's answer: apologies count them in for the minutes; a deputy who
        attends receives them in their place."""
        self.answers[data.person_id] = data.response
        if data.deputy is not None and all(
            p.person_id != data.deputy.person_id for p in self.deputies
        ):
            deputy = data.deputy
            self.deputies.append(ParticipantFacts(deputy.person_id, deputy.role, deputy.agency))
        return Effects()

    def submit_minutes(self, data: MinutesSubmitted, env: Env) -> Effects:
        """Record a version and share it: the first with everyone invited who attended or
        sent apologies and with parents and carers; an amended one with the same people as
        the version before, once each."""
        self._open_for_change()
        if env.policy.crm_sends_held and self.held_on is None:
            raise NotReadyYet(
                f"conference {self.conference_id} has not been held yet: who attended "
                "decides who receives the minutes"
            )
        latest = self.minutes[-1] if self.minutes else None
        if latest is not None and data.version <= latest.version:
            raise RuleViolation(
                [
                    f"version {latest.version} of the minutes is already recorded: an amendment "
                    "needs a later version"
                ]
            )
        version = MinutesVersion(
            data.minutes_id,
            data.version,
            data.submitted_at,
            data.document.uri,
            data.restricted_document.uri if data.restricted_document else None,
        )
        self.minutes.append(version)
        if latest is None:
            recipients = self._minutes_recipients()
        else:
            recipients = [
                MinutesRecipient(s.person_id, s.role, s.role not in FAMILY)
                for s in self.minutes_shares
                if s.version == latest.version
            ]
        effects = Effects()
        effects.cancel_timers(MINUTES_REMINDER)
        effects.cancel_timers(MINUTES_OVERDUE)
        due_by = self._version_due(env)
        for recipient in recipients:
            effects.extend(self._share_minutes(version, latest, recipient, due_by, env))
        return effects

    def request_correction(self, data: MinutesCorrectionRequested, env: Env) -> Effects:
        """A family member asks the chair to correct the minutes they received, within the
        council's working days of receiving them: the chair is asked to answer by a date."""
        self._open_for_change()
        if any(c.request_id == data.request_id for c in self.corrections):
            raise RuleViolation([f"correction request {data.request_id} is already recorded"])
        received = [
            s
            for s in self.minutes_shares
            if s.person_id == data.person_id and s.outcome == "shared" and s.role in FAMILY
        ]
        if not received:
            if not self.minutes:
                raise NotReadyYet(f"the minutes of {self.conference_id} are not recorded yet")
            raise RuleViolation([f"{data.person_id} has not received the minutes as family"])
        last = received[-1]
        asked_on = local_date(data.requested_at)
        allowed = self._corrections_by(last.at, env)
        if asked_on > allowed:
            raise RuleViolation(
                [
                    f"the minutes can be corrected on request until {allowed}, within "
                    f"{env.policy.minutes_corrections_within_working_days} "
                    f"{env.policy.counts('minutes_corrections_within_working_days')} of "
                    "receiving them"
                ]
            )
        answer_by = env.policy.after(
            "minutes_correction_answer_within_working_days", asked_on, env.calendar
        )
        self.corrections.append(
            Correction(data.request_id, data.person_id, last.version, answer_by)
        )
        effects = Effects.of(
            "reports.minutes.correction_requested.v1",
            CorrectionRequestedFact(
                conference_id=self.conference_id,
                request_id=data.request_id,
                person_id=data.person_id,
                minutes_id=self.minutes[-1].minutes_id,
                version=last.version,
                answer_by=answer_by,
                notify=[self.chair_person_id],
            ),
            self.conference_id,
        )
        effects.extend(
            self._deadline_timers(
                CORRECTION_REMINDER, CORRECTION_OVERDUE, data.request_id, answer_by, env
            )
        )
        return effects

    def answer_correction(self, data: MinutesCorrectionAnswered, env: Env) -> Effects:
        """The chair answered: no more reminders or chases for it."""
        correction = next((c for c in self.corrections if c.request_id == data.request_id), None)
        if correction is None:
            raise NotReadyYet(f"correction request {data.request_id} is not known yet")
        if data.answered_by != self.chair_person_id:
            raise RuleViolation(["only the conference's chair answers a request to correct"])
        correction.answered_at, correction.accepted = data.answered_at, data.accepted
        effects = Effects()
        effects.cancel_timers(CORRECTION_REMINDER, data.request_id)
        effects.cancel_timers(CORRECTION_OVERDUE, data.request_id)
        return effects

    # --- timers ----------------------------------------------------------------------

    def remind_minutes(self, timer: Timer, env: Env) -> Effects:
        """Remind the chair the minutes are due, unless they had arrived."""
        return self._minutes_timer(timer, env, "reports.minutes.reminder_sent.v1")

    def chase_minutes(self, timer: Timer, env: Env) -> Effects:
        """Chase the chair for minutes past their deadline, unless they had arrived."""
        return self._minutes_timer(timer, env, "reports.minutes.overdue.v1")

    def remind_correction(self, timer: Timer, env: Env) -> Effects:
        """Remind the chair to answer a request to correct the minutes."""
        return self._correction_timer(timer, env, "reports.minutes.reminder_sent.v1")

    def chase_correction(self, timer: Timer, env: Env) -> Effects:
        """Chase the chair for an answer past its deadline."""
        return self._correction_timer(timer, env, "reports.minutes.overdue.v1")

    # --- helpers ---------------------------------------------------------------------

    def conference_date(self) -> date:
        """The date it was held, else the date it is scheduled for."""
        return self.held_on or local_date(self.scheduled_start)

    def minutes_due(self, env: Env) -> date:
        """The minutes are shared within the council's working days of the conference."""
        return env.policy.after("minutes_within_working_days", self.conference_date(), env.calendar)

    def _schedule_minutes(self, env: Env) -> Effects:
        if self.minutes or self.status == "cancelled":
            return Effects()
        return self._deadline_timers(
            MINUTES_REMINDER, MINUTES_OVERDUE, "minutes", self.minutes_due(env), env
        )

    def _deadline_timers(
        self, remind: str, chase: str, name: str, due_by: date, env: Env
    ) -> Effects:
        effects = Effects()
        payload = {"due_by": str(due_by), "name": name}
        effects.remind_and_chase((remind, chase), name, due_by, env, payload)
        return effects

    def _minutes_recipients(self) -> list[MinutesRecipient]:
        """The chair; each professional invited (or their deputy) who attended or sent
        apologies; parents and carers, and another family member the chair said receives
        reports."""
        if self.attended is not None:
            present = set(self.attended)
        else:
            present = {p for p, answer in self.answers.items() if answer == "attending"}
        apologised = {p for p, answer in self.answers.items() if answer == "apologies"}
        found = [MinutesRecipient(self.chair_person_id, "chair", True)]
        for person in [*self.participants, *self.deputies]:
            if any(r.person_id == person.person_id for r in found):
                continue
            if person.role in PARENTS_AND_CARERS or (
                person.role == "family_member" and person.person_id in self.shared_with_by_chair
            ):
                found.append(MinutesRecipient(person.person_id, person.role, False))
            elif (
                person.role not in FAMILY
                and person.role != "interpreter"
                and person.person_id in present | apologised
            ):
                found.append(MinutesRecipient(person.person_id, person.role, True))
        return found

    def _version_due(self, env: Env) -> date:
        """The first version is due within the council's working days of the conference;
        an amendment by the answer to the last correction accepted."""
        accepted = [c.answer_by for c in self.corrections if c.accepted]
        return accepted[-1] if len(self.minutes) > 1 and accepted else self.minutes_due(env)

    def _corrections_by(self, received_at: datetime, env: Env) -> date:
        return env.policy.after(
            "minutes_corrections_within_working_days", local_date(received_at), env.calendar
        )

    def _share_minutes(
        self,
        version: MinutesVersion,
        earlier: MinutesVersion | None,
        recipient: MinutesRecipient,
        due_by: date,
        env: Env,
    ) -> Effects:
        at = max(env.at, version.received_at)
        if not recipient.professional and recipient.person_id in self.withheld_by_chair:
            self.minutes_shares.append(
                MinutesShareState(
                    version.version, recipient.person_id, recipient.role, "withheld", at
                )
            )
            return Effects.of(
                "reports.minutes.withheld.v1",
                MinutesWithheld(
                    conference_id=self.conference_id,
                    minutes_id=version.minutes_id,
                    version=version.version,
                    recipient_person_id=recipient.person_id,
                    reason="chair_ordered",
                    notify=[self.chair_person_id],
                ),
                self.conference_id,
                at,
            )
        self.minutes_shares.append(
            MinutesShareState(version.version, recipient.person_id, recipient.role, "shared", at)
        )
        restricted = version.restricted_document_uri if recipient.professional else None
        family = recipient.role in FAMILY
        return Effects.of(
            "reports.minutes.shared.v1",
            MinutesShared(
                conference_id=self.conference_id,
                minutes_id=version.minutes_id,
                version=version.version,
                supersedes_version=earlier.version if earlier else None,
                recipient_person_id=recipient.person_id,
                recipient_role=recipient.role,
                document_uri=version.document_uri,
                includes_restricted=restricted is not None,
                restricted_document_uri=restricted,
                shared_at=at,
                due_by=due_by,
                on_time=local_date(at) <= due_by,
                corrections_by=self._corrections_by(at, env) if family else None,
            ),
            self.conference_id,
            at,
        )

    def _minutes_timer(self, timer: Timer, env: Env, fact: str) -> Effects:
        due_by = date.fromisoformat(str(timer.payload["due_by"]))
        arrived = any(m.received_at <= env.at for m in self.minutes)
        if self.status == "cancelled" or arrived or not self._told_once(timer):
            return Effects()
        model = MinutesReminderSent if fact.endswith("reminder_sent.v1") else MinutesOverdue
        return Effects.of(
            fact,
            model(
                conference_id=self.conference_id,
                about="minutes",
                request_id=None,
                due_by=due_by,
                notify=[self.chair_person_id],
            ),
            self.conference_id,
        )

    def _correction_timer(self, timer: Timer, env: Env, fact: str) -> Effects:
        name = str(timer.payload["name"])
        correction = next((c for c in self.corrections if c.request_id == name), None)
        if correction is None or self.status == "cancelled" or not self._told_once(timer):
            return Effects()
        if correction.answered_at is not None and correction.answered_at <= env.at:
            return Effects()
        model = MinutesReminderSent if fact.endswith("reminder_sent.v1") else MinutesOverdue
        return Effects.of(
            fact,
            model(
                conference_id=self.conference_id,
                about="correction",
                request_id=name,
                due_by=correction.answer_by,
                notify=[self.chair_person_id],
            ),
            self.conference_id,
        )

    def _told_once(self, timer: Timer) -> bool:
        """True the first time this reminder or chase is sent for its deadline."""
        told = f"{timer.kind}|{timer.payload.get('name')}|{timer.payload.get('due_by')}"
        if told in self.told:
            return False
        self.told.append(told)
        return True
