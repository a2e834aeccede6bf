"""The clock, injected so tests and the demo can move time."""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        self._now = start

    def now(self) -> datetime:
        """The time the clock was last set to."""
        return self._now

    def advance(self, by: timedelta) -> None:
        """Move the clock forward."""
        self._now += by

    def set(self, to: datetime) -> None:
        """Move the clock to a given time."""
        if to.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        self._now = to
