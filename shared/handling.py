"""What a handler is given: load an aggregate, save it with its effects, once per event.

A handler loads the aggregate an event is about, calls the domain, and saves:

    conference = await ctx.load(CONFERENCES, data.conference_id)
    effects = conference.state.submit_report(data, ctx.env())
    await ctx.save(CONFERENCES, conference, effects)

Loading also fires the aggregate's timers that fell due before the event's own
time (in due order, each judged as of its due time), so an aggregate's timers
and events are applied in the order live processing would have applied them.
"""

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from shared import timers
from shared.aggregates import AggregateStore, Loaded
from shared.calendar import WorkingDayCalendar
from shared.clock import Clock
from shared.effects import CancelTimer, Effects, Env, NotReadyYet, RuleViolation, SetTimer
from shared.outbox import OutboxWriter
from shared.policy import Policy
from shared.telemetry import current_trace
from shared.timers import Timer

__all__ = ["HandlerContext", "NotReadyYet", "RuleViolation", "TimerRule"]

T = TypeVar("T")


@dataclass(frozen=True)
class TimerRule:
    """What a kind of timer does to its aggregate when it falls due."""

    store: AggregateStore[Any]
    fire: Callable[[Any, Timer, Env], Effects]


@dataclass
class HandlerContext:
    """One transaction's worth of tools for a message or timer handler.

    Facts to queue and timers to set, cancel or mark fired are kept in order and written
    in as few statements as they allow (`flush`, before the transaction commits, and
    before any read that could see them).
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
    _pending: list[tuple[str, Any]] = field(default_factory=list)

    def env(self, at: datetime | None = None) -> Env:
        """Time and policy for a domain call; `at` is the fact's business time if the data
        carries one (else the envelope's time)."""
        return Env(at or self.event_time, self.policy, self.calendar)

    async def load(self, store: AggregateStore[T], key: str) -> Loaded[T] | None:
        """The aggregate, locked until the transaction ends, with its due timers fired."""
        kinds = self._timer_kinds(store)
        if not kinds:
            return await store.load(self.connection, self.tenant, key)
        await self.flush()  # the timers this transaction set must be seen
        if self.connection.dialect.name == "postgresql":
            # Lock first, then read the timers in a statement of their own: its snapshot is
            # taken after the lock, so a timer another transaction fired while this one
            # waited is seen as fired (one statement would read them as they were before).
            loaded = await store.load(self.connection, self.tenant, key)
            if loaded is None:
                return None
            due = await timers.due_for(self.connection, self.tenant, key, kinds, self.event_time)
        else:  # SQLite runs one writing transaction at a time: one statement is enough
            found = await timers.load_with_due(
                self.connection, store, self.tenant, key, kinds, self.event_time
            )
            if found is None:
                return None
            loaded, due = found
        self._fire(store, loaded, due)
        return loaded

    def _timer_kinds(self, store: AggregateStore[Any]) -> list[str]:
        return [kind for kind, rule in self.timer_rules.items() if rule.store.kind == store.kind]

    async def flush(self) -> None:
        """Write what is pending, in order, joining neighbours of one kind."""
        pending, self._pending = self._pending, []
        # Facts go in one statement, in order (no timer statement reads the outbox).
        facts = [item for kind, item in pending if kind == "facts"]
        if facts:
            await facts[0][0].insert([row for writer, f in facts for row in writer.rows(f)])
        changes = [(kind, item) for kind, item in pending if kind != "facts"]
        for kind, group in itertools.groupby(changes, key=lambda change: change[0]):
            items = [item for _, item in group]
            if kind == "set":
                await timers.schedule_all(self.connection, self.clock, items)
            elif kind == "cancel":
                await timers.cancel_all(self.connection, self.clock, self.tenant, items)
            else:
                await timers.mark_all_fired(self.connection, items, self.clock)

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
        await store.save(self.connection, self.tenant, loaded)
        self._apply(store, loaded.key, effects, self.outbox)

    async def fire_due(self, store: AggregateStore[T], key: str, through: datetime) -> int:
        """Fire an aggregate's timers due by `through` (the scheduler's way in)."""
        loaded = await store.load(self.connection, self.tenant, key)
        if loaded is None:
            return 0
        fired = await self._fire_due(store, loaded, through)
        if fired:
            await store.save(self.connection, self.tenant, loaded)
        return fired

    async def _fire_due(
        self, store: AggregateStore[T], loaded: Loaded[T], through: datetime
    ) -> int:
        kinds = self._timer_kinds(store)
        if not kinds:
            return 0
        await self.flush()  # the query must see the timers this transaction set
        due = await timers.due_for(self.connection, self.tenant, loaded.key, kinds, through)
        self._fire(store, loaded, due)
        return len(due)

    def _fire(self, store: AggregateStore[T], loaded: Loaded[T], due: list[Timer]) -> None:
        """Fire due timers on the aggregate, in due order, each judged as of its due time."""
        for timer in due:
            effects = self.timer_rules[timer.kind].fire(
                loaded.state, timer, Env(timer.due_at, self.policy, self.calendar)
            )
            writer = self.outbox.for_timer(timer.correlationid, timer.due_at)
            self._pending.append(("fired", timer.timer_id))
            self._apply(store, loaded.key, effects, writer)

    def _apply(
        self, store: AggregateStore[Any], key: str, effects: Effects, writer: OutboxWriter
    ) -> None:
        if effects.facts:
            self._pending.append(("facts", (writer, list(effects.facts))))
        for change in effects.timers:
            if isinstance(change, SetTimer):
                self._pending.append(
                    (
                        "set",
                        Timer(
                            timers.timer_id(self.tenant, store.kind, key, change.kind, change.name),
                            change.kind,
                            change.due_at,
                            key,
                            self.tenant,
                            writer.correlationid,
                            {"name": change.name, **change.payload},
                            current_trace().get("traceparent"),
                        ),
                    )
                )
            elif isinstance(change, CancelTimer):
                prefix = timers.timer_id(self.tenant, store.kind, key, change.kind, change.name)
                self._pending.append(("cancel", (key, prefix)))
