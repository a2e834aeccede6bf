"""What a handler is given: load an aggregate, save it with its effects, once per event.

A handler loads the aggregate an event is about, calls the domain, and saves:

    conference = await ctx.load(CONFERENCES, data.conference_id)
    effects = conference.state.submit_report(data, ctx.env())
    await ctx.save(CONFERENCES, conference, effects)

Loading also fires the aggregate's timers that fell due before the event's own
time (in due order, each judged as of its due time), so an aggregate's timers
and events are applied in the order live processing would have applied them.

The handler does no I/O of its own: its loads are read by the group it is applied in
(`shared.application.grouping`), together with the group's others, and what it saves,
the facts and timer changes are kept here, in order, until the group writes them.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.envelope import CloudEvent
from rules.calendar import WorkingDayCalendar
from rules.effects import CancelTimer, Effects, Env, NotReadyYet, RuleViolation, SetTimer, Timer
from rules.policy import Policy
from shared.clock import Clock
from shared.observability.telemetry import current_trace
from shared.store import timers
from shared.store.aggregates import AggregateStore, Loaded
from shared.store.outbox import OutboxWriter

__all__ = ["Flow", "HandlerContext", "NotReadyYet", "RuleViolation", "Seat", "TimerRule"]

T = TypeVar("T")


@dataclass(frozen=True)
class Flow:
    """What links an outgoing fact to the event (or timer) that caused it."""

    event_id: str
    event_type: str
    tenant: str
    subject: str
    correlationid: str
    time: datetime

    @classmethod
    def of(cls, event: CloudEvent) -> "Flow":
        """The flow of a parsed event."""
        return cls(
            event.id, event.type, event.tenant, event.subject, event.correlationid, event.time
        )

    @classmethod
    def of_timer(cls, timer: Timer) -> "Flow":
        """The flow of a timer firing: its facts are dated at its due time."""
        return cls(
            timer.timer_id,
            f"timer:{timer.kind}",
            timer.tenant,
            timer.subject,
            timer.correlationid,
            timer.due_at,
        )


@dataclass(frozen=True)
class TimerRule:
    """What a kind of timer does to its aggregate when it falls due."""

    store: AggregateStore[Any]
    fire: Callable[[Any, Timer, Env], Effects]


class Seat(Protocol):
    """A handler's place in its group: how its loads are read and its saves kept."""

    async def load(
        self, context: "HandlerContext", store: AggregateStore[Any], key: str, kinds: list[str]
    ) -> tuple[Loaded[Any], list[Timer]] | None:
        """The aggregate (locked until the group commits) and its timers due by the
        event's time, or None when it is not stored."""
        ...

    def save(self, store: AggregateStore[Any], loaded: Loaded[Any]) -> None:
        """The aggregate is written with the group's other saves."""
        ...


@dataclass
class HandlerContext:
    """One event's (or timer's) worth of tools for a handler.

    Facts to queue and timers to set, cancel or mark fired are kept in order; the group
    writes them, in as few statements as they allow, before any read that could see them
    and before it commits.
    """

    connection: AsyncConnection
    outbox: OutboxWriter
    policy: Policy
    calendar: WorkingDayCalendar
    clock: Clock
    tenant: str
    event_id: str
    event_time: datetime
    timer_rules: Mapping[str, TimerRule]
    seat: Seat | None = None
    """The handler's place in the group it is applied in (given by the group)."""
    fired: int = 0
    """How many timers its loads fired."""
    _pending: list[tuple[str, Any]] = field(default_factory=list)

    def env(self, at: datetime | None = None) -> Env:
        """Time and policy for a domain call; `at` is the fact's business time if the data
        carries one (else the envelope's time)."""
        return Env(at or self.event_time, self.policy, self.calendar)

    async def load(self, store: AggregateStore[T], key: str) -> Loaded[T] | None:
        """The aggregate, locked until the transaction ends, with its due timers fired."""
        assert self.seat is not None, "a handler runs in a group"
        found = await self.seat.load(self, store, key, self._timer_kinds(store))
        if found is None:
            return None
        loaded, due = found
        self._fire(store, loaded, due)
        return cast("Loaded[T]", loaded)

    async def load_aside(self, store: AggregateStore[T], key: str) -> Loaded[T] | None:
        """An aggregate of another order (a review's previous conference, the conference
        whose core group a child's plan has): locked and saved as `load` does, but its timers
        are not fired here. They fire in its own events' order, so what they judge does not
        depend on which of two streams arrives first."""
        assert self.seat is not None, "a handler runs in a group"
        found = await self.seat.load(self, store, key, [])
        return None if found is None else cast("Loaded[T]", found[0])

    def through(self) -> datetime:
        """Timers due by the event's time fire before it, but never one the clock has not
        reached (an event may be a little ahead of the clock)."""
        return min(self.event_time, self.clock.now())

    def _timer_kinds(self, store: AggregateStore[Any]) -> list[str]:
        return [kind for kind, rule in self.timer_rules.items() if rule.store.kind == store.kind]

    def take_pending(self) -> list[tuple[str, Any]]:
        """What is pending, now the group writes it."""
        pending, self._pending = self._pending, []
        return pending

    @property
    def has_pending(self) -> bool:
        """True when something waits to be written."""
        return bool(self._pending)

    def insert(self, table: sa.Table, row: dict[str, Any]) -> None:
        """A row of the service's own (an audit row): inserted in order with the rest, in
        one statement with the other rows for its table pending beside it."""
        self._pending.append(("insert", (table, row)))

    def mark_fired(self, timer_id: str) -> None:
        """A timer with nothing to judge (its aggregate is gone, or its kind has no rule)
        is marked fired all the same."""
        self._pending.append(("fired", timer_id))

    async def require(self, store: AggregateStore[T], key: str, what: str) -> Loaded[T]:
        """The aggregate; one not known yet may be on its way, so the event is retried."""
        loaded = await self.load(store, key)
        if loaded is None:
            raise NotReadyYet(f"{what} {key} is not known yet")
        return loaded

    def new(self, key: str, state: T) -> Loaded[T]:
        """An aggregate to be stored for the first time."""
        return Loaded(key, state, stored=False)

    async def save(self, store: AggregateStore[T], loaded: Loaded[T], effects: Effects) -> None:
        """Save the aggregate once, queue its facts and set or cancel its timers."""
        assert self.seat is not None, "a handler runs in a group"
        self.seat.save(store, loaded)
        self._apply(store, loaded.key, effects, self.outbox)

    def _fire(self, store: AggregateStore[T], loaded: Loaded[T], due: list[Timer]) -> None:
        """Fire due timers on the aggregate, in due order, each judged as of its due time."""
        for timer in due:
            effects = self.timer_rules[timer.kind].fire(
                loaded.state, timer, Env(timer.due_at, self.policy, self.calendar)
            )
            writer = self.outbox.for_timer(timer.correlationid, timer.due_at)
            self._pending.append(("fired", timer.timer_id))
            self._apply(store, loaded.key, effects, writer, timer.due_at)
            self.fired += 1

    def _apply(
        self,
        store: AggregateStore[Any],
        key: str,
        effects: Effects,
        writer: OutboxWriter,
        known_at: datetime | None = None,
    ) -> None:
        """Queue a step's facts and timer changes; `known_at`: the business time of the step
        (a timer's, when a timer set them), else the event's."""
        known_at = known_at or self.event_time
        if effects.facts:
            # Built now, in the applying span: the facts carry its trace.
            self._pending.append(("facts", (writer, writer.rows(list(effects.facts)))))
        for change in effects.timers:
            if isinstance(change, SetTimer):
                self._pending.append(("set", self._timer(store, key, change, writer, known_at)))
            elif isinstance(change, CancelTimer):
                prefix = timers.timer_id(self.tenant, store.kind, key, change.kind, change.name)
                self._pending.append(("cancel", (self.tenant, key, prefix)))

    def _timer(
        self,
        store: AggregateStore[Any],
        key: str,
        change: SetTimer,
        writer: OutboxWriter,
        known_at: datetime,
    ) -> Timer:
        return Timer(
            timers.timer_id(self.tenant, store.kind, key, change.kind, change.name),
            change.kind,
            # A timer judges, and its facts are dated, as of the later of its due time and
            # the moment it became known: never before what set it (a deadline born in the
            # past judges then).
            max(change.due_at, known_at),
            key,
            self.tenant,
            writer.correlationid,
            {"name": change.name, **change.payload},
            current_trace().get("traceparent"),
        )


async def write_pending(
    connection: AsyncConnection, clock: Clock, pendings: Sequence[list[tuple[str, Any]]]
) -> None:
    """Write what handlers left pending, each list in its order, joining neighbours of one
    kind across the lists (they are different aggregates': their order between them does
    not matter)."""
    # Facts go in one statement, in order (no timer statement reads the outbox).
    facts = [item for pending in pendings for kind, item in pending if kind == "facts"]
    if facts:
        await facts[0][0].insert([row for _writer, rows in facts for row in rows])
    runs = [
        _runs([(kind, item) for kind, item in pending if kind != "facts"]) for pending in pendings
    ]
    while any(runs):
        # The kind most lists go on with next, from every list whose next run is of it.
        heads = [run[0][0] for run in runs if run]
        kind = max(dict.fromkeys(heads), key=heads.count)
        items = [item for run in runs if run and run[0][0] == kind for item in run.pop(0)[1]]
        await _write_run(connection, clock, kind, items)


async def _write_run(
    connection: AsyncConnection, clock: Clock, kind: str, items: list[Any]
) -> None:
    if kind == "set":
        await timers.schedule_all(connection, clock, items)
    elif kind == "cancel":
        await timers.cancel_all(connection, clock, items)
    elif kind == "fired":
        await timers.mark_all_fired(connection, items, clock)
    else:
        rows: dict[sa.Table, list[dict[str, Any]]] = {}
        for table, row in items:
            rows.setdefault(table, []).append(row)
        for table, of_table in rows.items():
            await connection.execute(table.insert(), of_table)


def _runs(changes: list[tuple[str, Any]]) -> list[tuple[str, list[Any]]]:
    """Neighbouring changes of one kind, joined."""
    runs: list[tuple[str, list[Any]]] = []
    for kind, item in changes:
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(item)
        else:
            runs.append((kind, [item]))
    return runs
