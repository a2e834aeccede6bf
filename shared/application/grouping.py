"""Group commit: deliveries of different conferences applied in one transaction.

Under load many deliveries are ready at once (of different conferences: the sequencer
applies one conference's events one at a time). Applied each on its own, every one
costs the same round trips to the database: begin, the inbox check, the aggregate,
its due timers, the save, the facts, the timers, commit. A group takes the
deliveries that became ready while the previous group was being written (up to
`CONVENE_GROUP_COMMIT`) into one transaction, and asks the database once for all of
them at each step: one inbox check, one read of the aggregates (locked) and one of
their due timers, one write of each kind, one commit. With nothing else waiting, a
delivery makes a group of one at once: grouping never waits for company.

Each delivery's handler still runs in the delivery's own task (its log context, its
trace), beside the group's other handlers: a load waits until every running handler
of the group is waiting for a load or has finished, then the loads asked for are
read together. Handlers never write themselves: saves, facts, timers and the
service's own rows wait until the group writes them, in each handler's order.

A delivery leaves the group and is applied on its own, as without grouping, when:
- its handler raises (a broken rule, an early event, a failure): nothing of it was
  written; the consumer refuses, parks or retries it as any delivery;
- it asks for an aggregate another delivery of the group holds (two conferences'
  events touching one aggregate): it is applied after the group commits;
- the group fails as a whole (an event id committed meanwhile by another replica, a
  deadlock, the database away): each of its deliveries is applied again on its own,
  which tells a duplicate from a conflict and waits out an outage as ever.
"""

import asyncio
import collections
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rules.effects import NotReadyYet, Timer
from shared.application.handling import HandlerContext, write_pending
from shared.clock import Clock
from shared.observability import telemetry
from shared.store import aggregates, inbox, parking, timers
from shared.store.aggregates import AggregateStore, Loaded

ContextFactory = Callable[[AsyncConnection, Any], HandlerContext]
InTransaction = Callable[[AsyncConnection, Any], Awaitable[None]]

RUN, DUPLICATE, CONFLICT = "run", "duplicate", "conflict"


class Regroup(Exception):
    """The group could not take this delivery: apply it on its own."""


@dataclass(eq=False)
class Member:
    """One delivery in a group: what the group needs of it, and how it stands."""

    flow: Any  # shared.application.consumer.Flow
    keys: list[str]
    digest: str
    verdict: "asyncio.Future[tuple[str, str | None]]"
    committed: "asyncio.Future[None]"
    context: HandlerContext | None = None
    finished: bool = False
    left: bool = False
    saves: dict[tuple[str, str], tuple[AggregateStore[Any], Loaded[Any]]] = field(
        default_factory=dict
    )


@dataclass(eq=False)
class _Load:
    member: Member
    store: AggregateStore[Any]
    key: str
    kinds: list[str]
    answer: "asyncio.Future[tuple[Loaded[Any], list[Timer]] | None]"


class Group:
    """One transaction's deliveries while their handlers run."""

    def __init__(self, connection: AsyncConnection, clock: Clock) -> None:
        self.connection = connection
        self.clock = clock
        self.running = 0
        self.settled = asyncio.Event()
        self.loads: list[_Load] = []
        self.holders: dict[tuple[str, str, str], Member] = {}
        self.loaded: dict[tuple[str, str, str], Loaded[Any] | None] = {}

    def start(self, count: int) -> None:
        """`count` handlers run (or go on running)."""
        self.running += count
        if self.running:
            self.settled.clear()

    def stop(self) -> None:
        """A handler waits for a load, has finished, or has left the group."""
        self.running -= 1
        if self.running == 0:
            self.settled.set()

    async def load(
        self, context: HandlerContext, store: AggregateStore[Any], key: str, kinds: list[str]
    ) -> tuple[Loaded[Any], list[Timer]] | None:
        """An aggregate, read with the group's other loads (locked), with its due timers."""
        member = _member_of(context)
        answer: asyncio.Future[tuple[Loaded[Any], list[Timer]] | None] = (
            asyncio.get_running_loop().create_future()
        )
        self.loads.append(_Load(member, store, key, kinds, answer))
        self.stop()
        return await answer

    def save(
        self, context: HandlerContext, store: AggregateStore[Any], loaded: Loaded[Any]
    ) -> None:
        """The aggregate is written with the group's other saves (and read back from here)."""
        member = _member_of(context)
        member.saves[(store.kind, loaded.key)] = (store, loaded)
        self.holders[(context.tenant, store.kind, loaded.key)] = member
        self.loaded[(context.tenant, store.kind, loaded.key)] = loaded

    async def serve(self) -> None:
        """Answer the handlers' loads, all those asked at once together, until every
        handler has finished or left."""
        while True:
            await self.settled.wait()
            loads, self.loads = self.loads, []
            if not loads:
                return
            try:
                answers = await self._read(loads)
            except BaseException as error:
                self.start(len(loads))
                for load in loads:
                    load.answer.set_exception(error)
                raise
            self.start(len(loads))
            for load, answer in zip(loads, answers, strict=True):
                if isinstance(answer, BaseException):
                    load.answer.set_exception(answer)
                else:
                    load.answer.set_result(answer)

    async def _read(
        self, loads: list[_Load]
    ) -> list[tuple[Loaded[Any], list[Timer]] | BaseException | None]:
        # A handler that set timers and loads again must see them (and its facts go too).
        for context in {id(load.member.context): load.member.context for load in loads}.values():
            if context is not None and context.has_pending:
                await write_pending(self.connection, self.clock, [context.take_pending()])
        answers: list[tuple[Loaded[Any], list[Timer]] | BaseException | None] = []
        fresh: dict[tuple[str, str, str], _Load] = {}
        for load in loads:
            name = (load.member.flow.tenant, load.store.kind, load.key)
            holder = self.holders.get(name)
            if holder is not None and holder is not load.member:
                answers.append(Regroup(f"{load.store.kind} held by another delivery"))
                continue
            self.holders[name] = load.member
            fresh.setdefault(name, load)
            answers.append(None)
        new = [name for name in fresh if name not in self.loaded]
        documents = await aggregates.load_all(self.connection, new)
        for name in new:
            store = fresh[name].store
            document = documents.get(name)
            self.loaded[name] = (
                None if document is None else Loaded(name[2], store.parse(document), stored=True)
            )
        wanted = [
            (name, fresh[name])
            for name in new
            if self.loaded[name] is not None and fresh[name].kinds
        ]
        now = self.clock.now()  # never a timer before its due time by the clock
        due = await timers.due_for_all(
            self.connection,
            [
                (name[0], name[2], load.kinds, min(load.member.flow.time, now))
                for name, load in wanted
            ],
        )
        due_by_name = {name: found for (name, _load), found in zip(wanted, due, strict=True)}
        for index, load in enumerate(loads):
            if isinstance(answers[index], BaseException):
                continue
            name = (load.member.flow.tenant, load.store.kind, load.key)
            loaded = self.loaded[name]
            # Due timers fire once, for the first load of an aggregate.
            answers[index] = None if loaded is None else (loaded, due_by_name.pop(name, []))
        return answers


def _member_of(context: HandlerContext) -> Member:
    member = getattr(context, "member", None)
    assert isinstance(member, Member), "a grouped context belongs to a member"
    return member


class GroupCommit:
    """Gathers ready deliveries into groups and writes each group in one transaction."""

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
        self._size = size
        self._lanes = lanes
        self._driving = 0
        self._queue: collections.deque[Member] = collections.deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0
        self.grouped = 0

    async def apply(
        self,
        flow: Any,
        keys: Sequence[str],
        digest: str,
        handler: Callable[[HandlerContext, Any], Awaitable[None]],
        data: Any,
    ) -> str:
        """Apply one delivery in a group: "applied", "duplicate", "conflict" (its id was
        used for other content), or raises: `NotReadyYet` with the event out for a retry
        that comes first, the handler's exception, or `Regroup`."""
        loop = asyncio.get_running_loop()
        member = Member(flow, list(keys), digest, loop.create_future(), loop.create_future())
        self._queue.append(member)
        self._drive()
        verdict, blocker = await member.verdict
        if verdict != RUN:
            return verdict
        if blocker is not None:
            raise NotReadyYet(f"event {blocker}, published before it, is being retried")
        assert member.context is not None and member.context.group is not None
        group = member.context.group
        try:
            await handler(member.context, data)
        except BaseException:
            member.left = True
            group.stop()
            raise
        member.finished = True
        group.stop()
        await member.committed
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
                members = [self._queue.popleft() for _ in range(min(self._size, len(self._queue)))]
                await self._commit(members)
        finally:
            self._driving -= 1

    async def _commit(self, members: list[Member]) -> None:
        self.groups += 1
        self.grouped += len(members)
        telemetry.GROUP_DELIVERIES.labels(self._service).observe(len(members))
        try:
            async with self._engine.begin() as connection:
                group = Group(connection, self._clock)
                checks = await parking.before_applying_all(
                    connection, [(m.flow.tenant, m.keys, m.flow.event_id) for m in members]
                )
                runners = []
                for member, (blocker, seen) in zip(members, checks, strict=True):
                    if blocker is not None:
                        member.verdict.set_result((RUN, blocker))
                    elif seen is not None:
                        member.verdict.set_result(
                            (DUPLICATE if seen in ("", member.digest) else CONFLICT, None)
                        )
                    else:
                        context = self._context(connection, member.flow)
                        context.group = group
                        context.member = member  # type: ignore[attr-defined]
                        member.context = context
                        runners.append(member)
                group.start(len(runners))
                if not runners:
                    group.settled.set()
                for member in runners:
                    member.verdict.set_result((RUN, None))
                await group.serve()
                done = [member for member in runners if member.finished]
                if done:
                    await self._write(connection, done)
        except BaseException as error:
            for member in members:
                if not member.verdict.done():
                    member.verdict.set_exception(Regroup(type(error).__name__))
                if not member.committed.done():
                    member.committed.set_exception(Regroup(type(error).__name__))
                    member.committed.exception()  # those that left never look
            if not isinstance(error, Exception):
                raise
            return
        for member in members:
            if not member.committed.done():
                member.committed.set_result(None)

    async def _write(self, connection: AsyncConnection, done: list[Member]) -> None:
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
                for m in done
            ],
        )
        await aggregates.save_all(
            connection,
            [(m.flow.tenant, store, loaded) for m in done for store, loaded in m.saves.values()],
        )
        await write_pending(
            connection, self._clock, [m.context.take_pending() for m in done if m.context]
        )
        for member in done:
            await self._in_transaction(connection, member.flow)

    async def drain(self) -> None:
        """Wait for the groups being written."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
