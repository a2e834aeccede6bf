"""The core group of a conference's protection plans: it meets first within 10 working days
of the conference, then within the council's interval of each meeting, until the plans end
or the next conference takes them on; a meeting missed, or a plan action past its date and
not done, is raised with the lead social worker and the chair."""

from dataclasses import dataclass, field
from datetime import date

from contracts.crm_v1 import CoreGroupHeld, PlanAction
from contracts.decisions_v1 import (
    CoreGroupDue,
    CoreGroupOverdue,
    CoreGroupRecorded,
    PlanActionOverdue,
)
from rules.effects import Effects, Env, RuleViolation, Timer

CORE_GROUP_OVERDUE = "core_group_overdue"
ACTION_OVERDUE = "plan_action_overdue"


@dataclass
class Action:
    """A plan action (what is to be done stays in the CRM: Convene keeps who and when)."""

    action_id: str
    who: str
    due_by: date
    child_id: str | None = None
    done_on: date | None = None


@dataclass(frozen=True)
class Meeting:
    """A core group meeting on record."""

    meeting_id: str
    held_on: date
    due_by: date | None
    on_time: bool


@dataclass
class CoreGroup:
    """The core group of one conference's protection plans."""

    conference_id: str
    chair_person_id: str
    members: list[str]
    lead_social_worker: str | None
    children: list[str]
    next_due: date | None
    meetings: list[Meeting] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    stopped: str | None = None
    """Why it no longer meets: `plans_ended`, `next_conference`, or `no_plan` (a correction)."""
    told: list[str] = field(default_factory=list)
    """Each missed meeting and action raised, once (a timer set again never raises twice)."""
    stopped_on: date | None = None
    """From when: what was due before it is still judged, whatever order the conference's
    and the next conference's events arrive in."""

    def meets_on(self, day: date) -> bool:
        """True when the group still met for this conference on `day`."""
        return self.stopped_on is None or day < self.stopped_on

    @property
    def notify(self) -> list[str]:
        """Who hears that something is missed: the lead social worker and the chair."""
        return list(
            dict.fromkeys([p for p in (self.lead_social_worker, self.chair_person_id) if p])
        )

    def due_effects(self, env: Env, after: date | None = None) -> Effects:
        """Say when the next meeting is due, and set the timer that notices it missed."""
        effects = Effects()
        if self.next_due is None or self.stopped == "no_plan":
            return effects
        effects.emit(
            "decisions.core_group.due.v1",
            CoreGroupDue(
                conference_id=self.conference_id,
                due_by=self.next_due,
                members=list(self.members),
                after_meeting_on=after,
            ),
            self.conference_id,
        )
        effects.set_timer(
            CORE_GROUP_OVERDUE,
            "meeting",
            env.calendar.after(self.next_due, env.policy.notify_at),
            {"due_by": str(self.next_due)},
        )
        return effects

    def set_actions(self, actions: list[PlanAction], env: Env) -> Effects:
        """The plan's actions (the outline plan's, or the detailed plan that replaces them):
        each not yet done is watched for its date; one dropped is no longer."""
        effects = Effects()
        done = {a.action_id: a.done_on for a in self.actions}
        for dropped in {a.action_id for a in self.actions} - {a.action_id for a in actions}:
            effects.cancel_timers(ACTION_OVERDUE, f"action:{dropped}")
        self.actions = [
            Action(a.action_id, a.who, a.due_by, a.child_id, done.get(a.action_id)) for a in actions
        ]
        if self.stopped != "no_plan":
            for action in self.actions:
                if action.done_on is None:
                    effects.set_timer(
                        ACTION_OVERDUE,
                        f"action:{action.action_id}",
                        env.calendar.after(action.due_by, env.policy.notify_at),
                        {"action_id": action.action_id, "due_by": str(action.due_by)},
                    )
        return effects

    def hold(self, data: CoreGroupHeld, conference_date: date, env: Env) -> Effects:
        """A meeting: on record (on time or not), the actions it found done, and the next
        meeting due within the council's interval of it (unless the group no longer meets)."""
        if data.held_on < conference_date:
            raise RuleViolation(
                [f"the core group cannot meet on {data.held_on}, before the conference"]
            )
        if any(m.meeting_id == data.meeting_id for m in self.meetings):
            raise RuleViolation([f"core group meeting {data.meeting_id} is already recorded"])
        due = self.next_due
        on_time = due is None or data.held_on <= due
        self.meetings.append(Meeting(data.meeting_id, data.held_on, due, on_time))
        done = []
        for reviewed in data.actions_reviewed:
            action = next((a for a in self.actions if a.action_id == reviewed.action_id), None)
            if action is not None and reviewed.done and action.done_on is None:
                action.done_on = data.held_on
                done.append(action.action_id)
        effects = Effects.of(
            "decisions.core_group.recorded.v1",
            CoreGroupRecorded(
                conference_id=self.conference_id,
                meeting_id=data.meeting_id,
                held_on=data.held_on,
                due_by=due,
                on_time=on_time,
                actions_done=done,
            ),
            self.conference_id,
        )
        for action_id in done:
            effects.cancel_timers(ACTION_OVERDUE, f"action:{action_id}")
        latest = max(m.held_on for m in self.meetings)
        if self.meets_on(data.held_on) and latest == data.held_on:
            self.next_due = next_meeting(data.held_on, env)
            effects.extend(self.due_effects(env, data.held_on))
        return effects

    def stop(self, why: str, on: date) -> Effects:
        """The group no longer meets for this conference from `on`: nothing due from then is
        raised (what was due before is: its timers judge by the date, so the facts are the
        same whichever of the two conferences' events arrive first)."""
        if self.stopped_on is None or on < self.stopped_on:
            self.stopped, self.stopped_on = why, on
        return Effects()

    def meeting_overdue(self, timer: Timer, env: Env) -> Effects:
        """No meeting was held by the date the next one was due."""
        due = date.fromisoformat(str(timer.payload["due_by"]))
        if not self.meets_on(due) or self.next_due != due or not self._first(f"meeting|{due}"):
            return Effects()
        return Effects.of(
            "decisions.core_group.overdue.v1",
            CoreGroupOverdue(conference_id=self.conference_id, due_by=due, notify=self.notify),
            self.conference_id,
        )

    def action_overdue(self, timer: Timer, env: Env) -> Effects:
        """A plan action not done by its date."""
        due = date.fromisoformat(str(timer.payload["due_by"]))
        action = next((a for a in self.actions if a.action_id == timer.payload["action_id"]), None)
        if action is None or action.due_by != due or action.done_on is not None:
            return Effects()
        if not self.meets_on(due) or not self._first(f"action|{action.action_id}|{due}"):
            return Effects()
        return Effects.of(
            "decisions.plan_action.overdue.v1",
            PlanActionOverdue(
                conference_id=self.conference_id,
                action_id=action.action_id,
                who=action.who,
                due_by=due,
                child_id=action.child_id,
                notify=self.notify,
            ),
            self.conference_id,
        )

    def _first(self, told: str) -> bool:
        if told in self.told:
            return False
        self.told.append(told)
        return True


def next_meeting(after: date, env: Env) -> date:
    """The next meeting is due within the council's interval: working days, or calendar
    months where the council says the core group meets monthly."""
    months = env.policy.core_group_interval_months
    if months:
        return env.calendar.within_months(after, months)
    return env.policy.after("core_group_interval_working_days", after, env.calendar)
