"""What a domain method returns: facts to publish and timers to set or cancel.

Plain data, no I/O: a service's `domain.py` builds these, the runtime persists
them (outbox, timer rows) in the transaction that saves the aggregate.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rules.calendar import WorkingDayCalendar
from rules.policy import Policy


class RuleViolation(Exception):
    """A well-formed event broke a business rule: nothing changes and the CRM is told why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class NotReadyYet(Exception):
    """The event arrived before one it depends on (e.g. a report before its conference).

    Retried with back-off like a transient failure, then dead-lettered.
    """


@dataclass(frozen=True)
class Fact:
    """One event to publish. `time` is when the fact happened (default: the causing
    event's business time)."""

    type_name: str
    data: Any
    subject: str
    time: datetime | None = None


@dataclass(frozen=True)
class SetTimer:
    """Set (or move) a timer of this aggregate; `name` tells apart timers of one kind."""

    kind: str
    name: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelTimer:
    """Cancel one timer of this aggregate (`name` None: every timer of the aggregate)."""

    kind: str | None = None
    name: str | None = None


@dataclass
class Effects:
    """Everything a command or a timer did, in order."""

    facts: list[Fact] = field(default_factory=list)
    timers: list[SetTimer | CancelTimer] = field(default_factory=list)

    @classmethod
    def of(cls, type_name: str, data: Any, subject: str, time: datetime | None = None) -> "Effects":
        """Effects of one fact."""
        effects = cls()
        effects.emit(type_name, data, subject, time)
        return effects

    def emit(self, type_name: str, data: Any, subject: str, time: datetime | None = None) -> None:
        """Publish a fact."""
        self.facts.append(Fact(type_name, data, subject, time))

    def set_timer(
        self, kind: str, name: str, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> None:
        """Set or move a timer."""
        self.timers.append(SetTimer(kind, name, due_at, payload or {}))

    def cancel_timers(self, kind: str | None = None, name: str | None = None) -> None:
        """Cancel one timer, or all of this aggregate's timers."""
        self.timers.append(CancelTimer(kind, name))

    def remind_and_chase(
        self,
        kinds: tuple[str, str],
        name: str,
        due_by: date,
        env: "Env",
        payload: dict[str, Any],
    ) -> None:
        """The two timers of a deadline (`kinds`: the reminder's, the chase's): the reminder
        the policy's `reminder_before_deadline` before it at `notify_at` (none when that
        moment has passed: whoever set the deadline says it), the chase at `notify_at` on the
        working day after it."""
        remind, chase = kinds
        remind_on = env.policy.before("reminder_before_deadline", due_by, env.calendar)
        remind_at = env.calendar.at_on(remind_on, env.policy.notify_at)
        if remind_at > env.at:
            self.set_timer(remind, name, remind_at, payload)
        self.set_timer(chase, name, env.calendar.after(due_by, env.policy.notify_at), payload)

    def extend(self, other: "Effects") -> None:
        """Append what another step did."""
        self.facts += other.facts
        self.timers += other.timers


@dataclass(frozen=True)
class Env:
    """What a rule may know besides the aggregate: when, and the council's policy."""

    at: datetime
    """Business time of the fact being applied (the date in the data, else the envelope's);
    for a timer, its due time."""
    policy: Policy
    calendar: WorkingDayCalendar


@dataclass(frozen=True)
class Timer:
    """A timer that is due."""

    timer_id: str
    kind: str
    due_at: datetime
    subject: str
    tenant: str
    correlationid: str
    payload: dict[str, Any]
    trace: str | None = None
    """The `traceparent` of the span that set it: its facts join that trace."""
