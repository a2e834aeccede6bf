"""One way to apply: every delivery and every timer firing is a member of a group, and a
group is applied in one transaction by this code alone.

A lone delivery, a redelivery, a delayed retry coming back, a parked event tried again
and a timer the scheduler found due are each a member of a group of one or more. A group
asks the database once at each step for all its members: one inbox check (and whether an
event of the council out for a delayed retry comes first), one read of the aggregates
(locked) and one of their due timers, the handlers, one write of each kind (inbox,
aggregates, facts, timers, the service's own rows, parked rows done with), one commit.

Under load many deliveries are ready at once (of different conferences: the sequencer
applies one conference's events one at a time). A group takes those that became ready
while the previous group was being written (up to `CONVENE_GROUP_COMMIT`). With nothing
else waiting, a delivery makes a group of one at once: grouping never waits for company.

Each member's handler runs in the member's own task (its log context, its trace), beside
the group's other handlers: a load waits until every running handler of the group is
waiting for a load or has finished, then the loads asked for are read together. Handlers
never write themselves: saves, facts, timers and the service's own rows wait until the
group writes them, in each handler's order.

A member leaves its group:
- when its handler raises (a broken rule, an early event, a failure): nothing of it is
  written; the consumer refuses, parks or retries it as any delivery;
- to be applied again in a group of its own when it asks for an aggregate another member
  holds (two conferences' events touching one aggregate), or when a group of several fails
  as a whole (an event id committed meanwhile by another replica, a deadlock, the database
  away). A group of one that fails tells its member why: an id another transaction
  committed first is a duplicate (or, with other content, a conflict); anything else goes
  to the consumer's retries and the database gate.
"""

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rules.effects import Effects, NotReadyYet, Timer
from shared.application.group import Group, Handler, Member, MemberSeat, Regroup
from shared.application.handling import Flow, HandlerContext, TimerRule, write_pending
from shared.clock import Clock
from shared.observability import telemetry
from shared.store import aggregates, inbox, parking

ContextFactory = Callable[[AsyncConnection, Flow], HandlerContext]
InTransaction = Callable[[AsyncConnection, Flow], Awaitable[None]]

RUN, DUPLICATE, CONFLICT = "run", "duplicate", "conflict"


class GroupCommit:
    """Gathers ready members into groups and applies each group in one transaction."""

    def __init__(
        self,
        service: str,
        engine: AsyncEngine,
        clock: Clock,
        context: ContextFactory,
        in_transaction: InTransaction,
        size: int,
        lanes: int,
    ) -> None:
        self._service = service
        self._engine = engine
        self._clock = clock
        self._context = context
        self._in_transaction = in_transaction
        self._size = max(1, size)
        self._lanes = lanes
        self._driving = 0
        self._queue: collections.deque[Member] = collections.deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0
        self.grouped = 0

    async def apply(
        self,
        flow: Flow,
        keys: list[str],
        digest: str,
        handler: Handler,
        data: Any,
        *,
        unpark: bool = False,
    ) -> str:
        """Apply one delivery: "applied", "duplicate", "conflict" (its id was used for other
        content), or raises: `NotReadyYet` with an event out for a retry that comes first,
        the handler's exception, or why its group of one failed."""
        try:
            return await self._join(flow, keys, digest, handler, data, unpark, alone=False)
        except Regroup:
            return await self._join(flow, keys, digest, handler, data, unpark, alone=True)

    async def fire(self, timer: Timer, rule: TimerRule | None) -> None:
        """Fire a timer the scheduler found due, on its aggregate (locked), with every other
        timer of the aggregate due by then."""

        async def firing(context: HandlerContext, _data: None) -> None:
            if rule is not None:
                loaded = await context.load(rule.store, timer.subject)
                if loaded is not None and context.fired:
                    await context.save(rule.store, loaded, Effects())
                    return
            context.mark_fired(timer.timer_id)  # its aggregate is gone, or it has no rule

        flow = Flow.of_timer(timer)
        try:
            await self._join(flow, [], None, firing, None, False, alone=False)
        except Regroup:
            await self._join(flow, [], None, firing, None, False, alone=True)

    async def _join(
        self,
        flow: Flow,
        keys: list[str],
        digest: str | None,
        handler: Handler,
        data: Any,
        unpark: bool,
        *,
        alone: bool,
    ) -> str:
        loop = asyncio.get_running_loop()
        member = Member(
            flow, handler, data, keys, digest, unpark, alone,
            loop.create_future(), loop.create_future(),
        )  # fmt: skip
        self._queue.append(member)
        self._drive()
        verdict, blocker = await member.verdict
        if verdict != RUN:
            return verdict
        if blocker is not None:
            raise NotReadyYet(f"event {blocker}, published before it, is being retried")
        assert member.context is not None and member.group is not None
        try:
            await handler(member.context, data)
        except BaseException:
            member.group.stop()
            raise
        member.finished = True
        member.group.stop()
        try:
            await member.committed
        except _Settled as settled:
            return settled.verdict
        return "applied"

    def _drive(self) -> None:
        if self._driving < self._lanes:
            self._driving += 1
            task = asyncio.get_running_loop().create_task(self._lane(), name="group-commit")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _lane(self) -> None:
        try:
            while self._queue:
                await self._commit(self._next_group())
        finally:
            self._driving -= 1

    def _next_group(self) -> list[Member]:
        """The next members in order: one that must be alone goes alone."""
        members = [self._queue.popleft()]
        while (
            not members[0].alone
            and self._queue
            and len(members) < self._size
            and not self._queue[0].alone
        ):
            members.append(self._queue.popleft())
        return members

    async def _commit(self, members: list[Member]) -> None:
        self.groups += 1
        self.grouped += len(members)
        telemetry.GROUP_DELIVERIES.labels(self._service).observe(len(members))
        try:
            async with self._engine.begin() as connection:
                settled = await self._run(connection, members)
        except BaseException as error:
            await self._failed(members, error)
            if not isinstance(error, Exception):
                raise
            return
        for member in members:
            if not member.committed.done():
                member.committed.set_result(None)
        for member, verdict in settled:
            member.verdict.set_result((verdict, None))

    async def _run(
        self, connection: AsyncConnection, members: list[Member]
    ) -> list[tuple[Member, str]]:
        """Check, run the handlers, write: in the group's transaction. Returns the members
        settled without running (duplicates and conflicts), told once it commits."""
        group = Group(connection, self._clock)
        settled, runners = await self._check(connection, members)
        for member in runners:
            member.group = group
            member.context = self._context(connection, member.flow)
            member.context.seat = MemberSeat(group, member)
        group.start(len(runners))
        if not runners:
            group.settled.set()
        for member in runners:
            member.verdict.set_result((RUN, None))
        await group.serve()
        done = [member for member in runners if member.finished]
        await self._write(connection, done, [member for member, _verdict in settled])
        return settled

    async def _check(
        self, connection: AsyncConnection, members: list[Member]
    ) -> tuple[list[tuple[Member, str]], list[Member]]:
        """The events already applied (by content: duplicates or conflicts), the events an
        event out for a retry comes before (told at once), and those to run."""
        events = [member for member in members if member.event]
        checks = await parking.before_applying_all(
            connection, [(m.flow.tenant, m.keys, m.flow.event_id) for m in events]
        )
        found = dict(zip(map(id, events), checks, strict=True))
        settled: list[tuple[Member, str]] = []
        runners: list[Member] = []
        for member in members:
            blocker, seen = found.get(id(member), (None, None))
            if blocker is not None:
                member.verdict.set_result((RUN, blocker))
            elif seen is not None:
                settled.append((member, DUPLICATE if seen in ("", member.digest) else CONFLICT))
            else:
                runners.append(member)
        return settled, runners

    async def _write(
        self, connection: AsyncConnection, done: list[Member], settled: list[Member]
    ) -> None:
        events = [member for member in done if member.event]
        now = self._clock.now()
        await inbox.record_all(
            connection,
            [
                {
                    "tenant": m.flow.tenant,
                    "event_id": m.flow.event_id,
                    "event_type": m.flow.event_type,
                    "outcome": "applied",
                    "processed_at": now,
                    "digest": m.digest,
                }
                for m in events
            ],
        )
        await parking.remove_all(
            connection,
            [(m.flow.tenant, m.flow.event_id) for m in [*events, *settled] if m.unpark],
        )
        await aggregates.save_all(
            connection,
            [(m.flow.tenant, store, loaded) for m in done for store, loaded in m.saves.values()],
        )
        await write_pending(
            connection, self._clock, [m.context.take_pending() for m in done if m.context]
        )
        for member in events:
            await self._in_transaction(connection, member.flow)

    async def _failed(self, members: list[Member], error: BaseException) -> None:
        """The group's transaction failed: several members are applied again each in a
        group of its own; a member alone is told why (an id another transaction committed
        first is a duplicate or a conflict)."""
        for member in members:
            failure: BaseException = Regroup(type(error).__name__)
            if len(members) == 1:
                failure = error
                if isinstance(error, sa.exc.IntegrityError) and member.event:
                    verdict = await self._committed_elsewhere(member)
                    if verdict is not None:
                        if member.verdict.done():
                            member.committed.set_exception(_Settled(verdict))
                        else:
                            member.verdict.set_result((verdict, None))
                        continue
            if not member.verdict.done():
                member.verdict.set_exception(failure)
            if not member.committed.done():
                member.committed.set_exception(failure)
                member.committed.exception()  # those that left never look

    async def _committed_elsewhere(self, member: Member) -> str | None:
        """Duplicate or conflict when another transaction committed the member's id first;
        None when it did not, or when the inbox cannot be read now (the member is told the
        group's failure, and retried as any failure)."""
        try:
            async with self._engine.connect() as connection:
                seen = await inbox.digest_of(connection, member.flow.tenant, member.flow.event_id)
        except Exception:
            return None
        if seen is None:
            return None
        return DUPLICATE if seen in ("", member.digest) else CONFLICT

    async def drain(self) -> None:
        """Wait for the groups being written."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class _Settled(Exception):
    """A member that ran, whose id another transaction committed first."""

    def __init__(self, verdict: str) -> None:
        super().__init__(verdict)
        self.verdict = verdict
