"""Reminding, chasing and summarising: each timer judges what had happened by the moment
it fires (`env.at`: its due time, or when it became known if that was later)."""

from contracts.reports_v1 import (
    ReadinessAssessed,
    ReminderSent,
    ReportOverdue,
    ReportRequested,
)
from rules.effects import Effects, Env, Timer
from rules.roles import FAMILY_RECIPIENTS
from services.reports.domain.readiness import readiness
from services.reports.domain.requests import (
    ReportRequest,
    deadlines_of,
)  # fmt: skip
from services.reports.domain.state import (
    OVERDUE,
    READINESS,
    REMINDER,
    ConferenceState,
    due_by_of,
    which_deadline,
)  # fmt: skip


class Reminding(ConferenceState):
    """The conference's reminders, chases and readiness summary."""

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
                    deadline=which_deadline(timer),
                    due_by=due_by_of(timer, request.due_to_chair),
                    share_with_family_by=request.share_with_family_by,
                ),
                self.conference_id,
            )
        return effects

    def chase(self, timer: Timer, env: Env) -> Effects:
        """A deadline passed without the report: tell author, social worker and chair (on the
        next working day at the policy's time, or at once for a deadline already past), only
        if the report is still not in then; once a deadline."""
        due_by = due_by_of(timer, None)
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
                    deadline=which_deadline(timer),
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
                if s.role in FAMILY_RECIPIENTS and s.outcome == "shared" and s.at <= as_of
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
        for which, due_by in deadlines_of(request):
            name = f"{request.request_id}:{which}"
            payload = {"request_id": request.request_id, "deadline": which, "due_by": str(due_by)}
            effects.remind_and_chase((REMINDER, OVERDUE), name, due_by, env, payload)
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
