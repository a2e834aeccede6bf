"""Events waiting for one they depend on, tried again when it may have come.

An event applied, refused or given up on may be what parked events of its keys wait for:
they are tried again at once, in arrival order, until none of them can move. A sweep now
and then tries every waiting event (and refuses those waiting too long). Which keys have
something waiting is kept here once known, so an event whose keys have nothing waiting
costs no question to the database.
"""

import functools
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.application.consumer import Consumer
from shared.application.delivery import Delivery
from shared.application.ordering import Sequencer
from shared.clock import Clock
from shared.messages import MalformedInput
from shared.store import parking
from shared.store.parking import ParkedEvent


class WaitingEvents:
    """The parked events of one service, tried again as what they wait for arrives."""

    def __init__(
        self,
        engine: AsyncEngine,
        consumer: Callable[[], Consumer | None],
        sequencer: Sequencer,
        clock: Clock,
        expiry_seconds: float,
    ) -> None:
        self._engine = engine
        self._consumer = consumer
        self._sequencer = sequencer
        self._clock = clock
        self._expiry = timedelta(seconds=expiry_seconds)
        self._keys: set[str] = set()
        """Ordering keys that early events wait on, once `_known` (until then, ask the
        database). The consuming replica parks every early event itself; the sweep reloads
        what the database has."""
        self._known = False

    def forget(self) -> None:
        """Taking over: what waits is in the database."""
        self._known = False

    def parked(self, keys: list[str]) -> None:
        """An event was parked on these keys."""
        self._keys.update(keys)

    async def after(self, outcome: str, tenant: str, keys: list[str]) -> None:
        """An event applied, refused or given up on may be what waiting events wait for."""
        if outcome in ("applied", "rejected", "dead_lettered"):
            await self.apply(tenant, keys)

    async def apply(self, tenant: str, keys: list[str]) -> None:
        """Try the events waiting on these keys again, in arrival order, until none of them
        can move (applying one may be what the next waits for)."""
        if self._known and self._keys.isdisjoint(keys):
            return  # nothing waits on these keys: no need to ask the database
        moved = True
        while moved:
            moved = False
            waiting = await parking.waiting(self._engine, keys, tenant)
            for event in waiting:
                outcome = await self._retry(event)
                if outcome == "abandoned":  # stopping: it waits for the next replica
                    return
                moved = moved or outcome != "parked"
            if not waiting:
                self._keys.difference_update(keys)

    async def _retry(self, parked: ParkedEvent) -> str:
        consumer = self._consumer()
        assert consumer is not None
        delivery = Delivery.of_parked(parked)
        try:
            event, data = consumer.read(delivery)
        except MalformedInput as error:  # readable when parked: the contract changed since
            outcome = await consumer.refuse(delivery, error)
            async with self._engine.begin() as connection:
                await parking.remove_event(connection, parked.tenant, parked.event_id)
            return outcome
        return await consumer.apply(delivery, event, data, parked.keys, parked)

    async def sweep(self) -> None:
        """Forget delayed retries that never came back, then queue every waiting event for
        another try behind its keys."""
        await parking.expire_retrying(self._engine, self._clock.now() - self._expiry)
        waiting = await parking.waiting(self._engine)
        # What waits now, and what was parked while the database was asked.
        self._keys |= {key for event in waiting for key in event.keys}
        self._known = True
        for tenant, keys in dict.fromkeys((e.tenant, tuple(e.keys)) for e in waiting):
            self._sequencer.submit(list(keys), functools.partial(self.apply, tenant, list(keys)))
