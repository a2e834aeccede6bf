"""A group while its members' handlers run: their loads read together (locked), their saves
kept, each handler's place in it (its seat). `grouping` gathers the members, runs the
group in its transaction and writes it."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rules.effects import Timer
from shared.application.handling import Flow, HandlerContext, write_pending
from shared.clock import Clock
from shared.store import aggregates, timers
from shared.store.aggregates import AggregateStore, Loaded

Handler = Callable[[HandlerContext, Any], Awaitable[None]]


Name = tuple[str, str, str]  # tenant, aggregate kind, key


class Regroup(Exception):
    """The group could not take this member: apply it in a group of its own."""


@dataclass(eq=False)
class Member:
    """One delivery or timer firing in a group: what the group needs of it, how it stands."""

    flow: Flow
    handler: Handler
    data: Any
    keys: list[str]
    digest: str | None
    """The event's content digest; None for a timer firing (no inbox, no order check)."""
    unpark: bool
    """A parked event or a delayed retry: its parked row goes when it is done with."""
    alone: bool
    verdict: "asyncio.Future[tuple[str, str | None]]"
    committed: "asyncio.Future[None]"
    context: HandlerContext | None = None
    group: "Group | None" = None
    finished: bool = False
    saves: dict[tuple[str, str], tuple[AggregateStore[Any], Loaded[Any]]] = field(
        default_factory=dict
    )

    @property
    def event(self) -> bool:
        """True for a delivery (false for a timer firing)."""
        return self.digest is not None


@dataclass(eq=False)
class _Load:
    member: Member
    store: AggregateStore[Any]
    key: str
    kinds: list[str]
    answer: "asyncio.Future[tuple[Loaded[Any], list[Timer]] | None]"


@dataclass(eq=False)
class MemberSeat:
    """A member's place in its group (the handler context's `seat`)."""

    group: "Group"
    member: Member

    async def load(
        self, context: HandlerContext, store: AggregateStore[Any], key: str, kinds: list[str]
    ) -> tuple[Loaded[Any], list[Timer]] | None:
        return await self.group.load(self.member, store, key, kinds)

    def save(self, store: AggregateStore[Any], loaded: Loaded[Any]) -> None:
        self.group.save(self.member, store, loaded)


class Group:
    """One transaction's members while their handlers run."""

    def __init__(self, connection: AsyncConnection, clock: Clock) -> None:
        self.connection = connection
        self.clock = clock
        self.running = 0
        self.settled = asyncio.Event()
        self.loads: list[_Load] = []
        self.holders: dict[Name, Member] = {}
        self.loaded: dict[Name, Loaded[Any] | None] = {}

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
        self, member: Member, store: AggregateStore[Any], key: str, kinds: list[str]
    ) -> tuple[Loaded[Any], list[Timer]] | None:
        """An aggregate, read with the group's other loads (locked), with its due timers."""
        answer: asyncio.Future[tuple[Loaded[Any], list[Timer]] | None] = (
            asyncio.get_running_loop().create_future()
        )
        self.loads.append(_Load(member, store, key, kinds, answer))
        self.stop()
        return await answer

    def save(self, member: Member, store: AggregateStore[Any], loaded: Loaded[Any]) -> None:
        """The aggregate is written with the group's other saves (and read back from here)."""
        member.saves[(store.kind, loaded.key)] = (store, loaded)
        self.holders[(member.flow.tenant, store.kind, loaded.key)] = member
        self.loaded[(member.flow.tenant, store.kind, loaded.key)] = loaded

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
        contexts = {id(load.member): load.member.context for load in loads}
        for context in contexts.values():
            if context is not None and context.has_pending:
                await write_pending(self.connection, self.clock, [context.take_pending()])
        answers: list[tuple[Loaded[Any], list[Timer]] | BaseException | None] = []
        fresh: dict[Name, _Load] = {}
        for load in loads:
            name = (load.member.flow.tenant, load.store.kind, load.key)
            holder = self.holders.get(name)
            if holder is not None and holder is not load.member:
                answers.append(Regroup(f"{load.store.kind} held by another member"))
                continue
            self.holders[name] = load.member
            fresh.setdefault(name, load)
            answers.append(None)
        due = await self._read_fresh(fresh)
        for index, load in enumerate(loads):
            if isinstance(answers[index], BaseException):
                continue
            name = (load.member.flow.tenant, load.store.kind, load.key)
            loaded = self.loaded[name]
            # Due timers fire once, for the first load of an aggregate.
            answers[index] = None if loaded is None else (loaded, due.pop(name, []))
        return answers

    async def _read_fresh(self, fresh: dict[Name, _Load]) -> dict[Name, list[Timer]]:
        """Read the aggregates not read yet (locked), then, in a statement of its own, their
        due timers: its snapshot is taken after the locks, so a timer another transaction
        fired while this one waited is seen as fired."""
        new = [name for name in fresh if name not in self.loaded]
        documents = await aggregates.load_all(self.connection, new)
        for name in new:
            document = documents.get(name)
            self.loaded[name] = (
                None
                if document is None
                else Loaded(name[2], fresh[name].store.parse(document), stored=True)
            )
        wanted = [
            (name, fresh[name])
            for name in new
            if self.loaded[name] is not None and fresh[name].kinds
        ]
        found = await timers.due_for_all(
            self.connection,
            [(name[0], name[2], load.kinds, _through(load.member)) for name, load in wanted],
        )
        return {name: due for (name, _load), due in zip(wanted, found, strict=True)}


def _through(member: Member) -> datetime:
    """Timers due by when fire first: by a delivery's time (never past the clock), and by
    a timer's own due time (the scheduler fires only what the clock has passed)."""
    if not member.event:
        return member.flow.time
    assert member.context is not None, "a member that loads has its context"
    return member.context.through()
