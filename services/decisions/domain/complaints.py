"""Complaints about a conference: recorded with the dates the council acknowledges and the
chair answers them by (policy), the chair reminded before each and chased after it, the
outcome recorded. A complaint never suspends the decision: nothing here touches the outcome
or the plans."""

from dataclasses import dataclass
from datetime import date, datetime

from contracts.crm_v1 import ComplaintAcknowledged, ComplaintAnswered, ComplaintReceived
from contracts.decisions_v1 import (
    ComplaintClosed,
    ComplaintOverdue,
    ComplaintRecorded,
    ComplaintReminderSent,
    ComplaintStep,
)
from rules.calendar import local_date
from rules.effects import Effects, Env, NotReadyYet, RuleViolation, Timer
from rules.roles import PARENTS_AND_CARERS, is_agency

COMPLAINT_REMINDER = "complaint_reminder"
COMPLAINT_OVERDUE = "complaint_overdue"
STEPS = {"acknowledgement": "complaint_acknowledge_within_working_days",
         "answer": "complaint_answer_within_working_days"}  # fmt: skip


@dataclass
class Complaint:
    """One complaint and where it stands."""

    complaint_id: str
    person_id: str
    received_on: date
    acknowledge_by: date
    answer_by: date
    acknowledged_at: datetime | None = None
    answered_at: datetime | None = None
    outcome: str | None = None
    told: tuple[str, ...] = ()

    def done_by(self, step: str, moment: datetime) -> bool:
        """True when the step had been done by `moment`."""
        at = self.acknowledged_at if step == "acknowledgement" else self.answered_at
        # an answer acknowledges a complaint too
        at = at or (self.answered_at if step == "acknowledgement" else None)
        return at is not None and at <= moment


def may_complain(role: str | None) -> bool:
    """A parent or carer, or a professional, invited to the conference."""
    return role is not None and (role in PARENTS_AND_CARERS or is_agency(role))


def receive(
    complaints: list[Complaint], data: ComplaintReceived, role: str | None, chair: str, env: Env
) -> tuple[Complaint, Effects]:
    """Record a complaint, with its two deadlines and their reminders and chases."""
    if any(c.complaint_id == data.complaint_id for c in complaints):
        raise RuleViolation([f"complaint {data.complaint_id} is already recorded"])
    if not may_complain(role):
        raise RuleViolation(
            [f"{data.person_id} is not a parent, carer or professional invited to the conference"]
        )
    received_on = local_date(data.received_at)
    due = {step: env.policy.after(key, received_on, env.calendar) for step, key in STEPS.items()}
    complaint = Complaint(
        data.complaint_id, data.person_id, received_on, due["acknowledgement"], due["answer"]
    )
    effects = Effects.of(
        "decisions.complaint.recorded.v1",
        ComplaintRecorded(
            conference_id=data.conference_id,
            complaint_id=data.complaint_id,
            person_id=data.person_id,
            acknowledge_by=complaint.acknowledge_by,
            answer_by=complaint.answer_by,
            notify=[chair],
        ),
        data.conference_id,
    )
    for step, due_by in due.items():
        name = f"{data.complaint_id}:{step}"
        payload = {"complaint_id": data.complaint_id, "step": step, "due_by": str(due_by)}
        effects.remind_and_chase(
            (COMPLAINT_REMINDER, COMPLAINT_OVERDUE), name, due_by, env, payload
        )
    return complaint, effects


def find(complaints: list[Complaint], complaint_id: str) -> Complaint:
    """The complaint; one not known yet may be on its way."""
    found = next((c for c in complaints if c.complaint_id == complaint_id), None)
    if found is None:
        raise NotReadyYet(f"complaint {complaint_id} is not known yet")
    return found


def acknowledge(complaint: Complaint, data: ComplaintAcknowledged) -> Effects:
    """Acknowledged: no more reminders or chases for the acknowledgement."""
    complaint.acknowledged_at = complaint.acknowledged_at or data.acknowledged_at
    effects = Effects()
    effects.cancel_timers(COMPLAINT_REMINDER, f"{complaint.complaint_id}:acknowledgement")
    effects.cancel_timers(COMPLAINT_OVERDUE, f"{complaint.complaint_id}:acknowledgement")
    return effects


def answer(complaint: Complaint, data: ComplaintAnswered, chair: str) -> Effects:
    """The chair answered (or it was withdrawn): its outcome on record, nothing more due."""
    if data.answered_by != chair:
        raise RuleViolation(["only the conference's chair answers a complaint about it"])
    if complaint.outcome is not None:
        raise RuleViolation([f"complaint {complaint.complaint_id} is already answered"])
    complaint.answered_at, complaint.outcome = data.answered_at, data.outcome
    answered_on = local_date(data.answered_at)
    effects = Effects.of(
        "decisions.complaint.closed.v1",
        ComplaintClosed(
            conference_id=data.conference_id,
            complaint_id=complaint.complaint_id,
            outcome=data.outcome,
            answered_on=answered_on,
            on_time=answered_on <= complaint.answer_by,
        ),
        data.conference_id,
    )
    for step in STEPS:
        effects.cancel_timers(COMPLAINT_REMINDER, f"{complaint.complaint_id}:{step}")
        effects.cancel_timers(COMPLAINT_OVERDUE, f"{complaint.complaint_id}:{step}")
    return effects


def remind_or_chase(
    complaints: list[Complaint], conference_id: str, chair: str, timer: Timer, env: Env
) -> Effects:
    """Remind the chair before a complaint's deadline, or chase after it, unless that step
    had been done by then; once each."""
    complaint = next((c for c in complaints if c.complaint_id == timer.payload["complaint_id"]),
                     None)  # fmt: skip
    step: ComplaintStep = "answer" if timer.payload["step"] == "answer" else "acknowledgement"
    key = f"{timer.kind}|{step}"
    if complaint is None or complaint.done_by(step, env.at) or key in complaint.told:
        return Effects()
    complaint.told = (*complaint.told, key)
    due_by = date.fromisoformat(str(timer.payload["due_by"]))
    if timer.kind == COMPLAINT_REMINDER:
        return Effects.of(
            "decisions.complaint.reminder_sent.v1",
            ComplaintReminderSent(conference_id=conference_id, complaint_id=complaint.complaint_id,
                                  step=step, due_by=due_by, notify=[chair]),
            conference_id,
        )  # fmt: skip
    return Effects.of(
        "decisions.complaint.overdue.v1",
        ComplaintOverdue(conference_id=conference_id, complaint_id=complaint.complaint_id,
                         step=step, due_by=due_by, notify=[chair]),
        conference_id,
    )  # fmt: skip
