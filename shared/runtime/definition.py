"""What makes one service what it is: the events it consumes and what it does with each,
its timers, its migrations, and how its events are ordered."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.envelope import CloudEvent
from shared.application.delivery import MessageHandler
from shared.application.handling import TimerRule

OrderingKeys = Callable[[CloudEvent, Any], Iterable[str]]


def by_conference(event: CloudEvent, data: Any) -> Iterable[str]:
    """The default ordering key: the conference the event is about."""
    return [str(getattr(data, "conference_id", None) or event.subject)]


@dataclass(frozen=True)
class Binding:
    """One event type a service consumes, and what it does with it (for AsyncAPI)."""

    event_type: str
    handler: MessageHandler
    description: str
    since: str = "0.1.0"
    """The release that first consumed it: during a rolling upgrade, a replica of an earlier
    release may still be consuming the queue (shared/runtime/upgrades.py)."""


def converted(handler: MessageHandler, convert: Callable[[Any], Any]) -> MessageHandler:
    """The handler of a `.v2` type published beside the `.v1` it replaces (the contract's
    rule for a breaking change): its data converted to the `.v1`'s, then the `.v1`'s handler,
    so both are accepted and give the same facts."""

    async def handle(ctx: Any, data: Any) -> None:
        await handler(ctx, convert(data))

    return handle


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything that makes one service what it is."""

    name: str
    migrations: Path
    bindings: Sequence[Binding]
    timer_rules: Mapping[str, TimerRule] = field(default_factory=dict)
    ordering_keys: OrderingKeys = by_conference

    def since_of(self, event_type: str) -> str | None:
        """The release that first consumed a type (None: not consumed)."""
        return next((b.since for b in self.bindings if b.event_type == event_type), None)

    @property
    def event_types(self) -> list[str]:
        """The routing keys the service's queue is bound to."""
        return [binding.event_type for binding in self.bindings]
