"""Aggregates kept as typed documents: one row per (council, kind, key).

A service's `domain.py` defines its aggregates as dataclasses; the store turns
them to and from JSON with pydantic, loads one whole (locked until the
transaction ends, so competing replicas and timers apply one at a time) and
saves it once.
"""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.tables import aggregates

T = TypeVar("T")


@dataclass
class Loaded(Generic[T]):
    """An aggregate as loaded, and whether it was already stored."""

    key: str
    state: T
    stored: bool


class AggregateStore(Generic[T]):
    """Reads and writes one kind of aggregate of one service."""

    def __init__(self, kind: str, model: type[T]) -> None:
        self.kind = kind
        self._adapter: TypeAdapter[T] = TypeAdapter(model)

    async def load(
        self, connection: AsyncConnection, tenant: str, key: str, *, lock: bool = True
    ) -> Loaded[T] | None:
        """One aggregate of one council, or None."""
        query = sa.select(aggregates.c.state).where(
            aggregates.c.tenant == tenant,
            aggregates.c.kind == self.kind,
            aggregates.c.key == key,
        )
        row = (await connection.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            return None
        return Loaded(key, self.parse(row.state), stored=True)

    async def save(self, connection: AsyncConnection, tenant: str, loaded: Loaded[T]) -> None:
        """Write the aggregate back (insert the first time)."""
        state = self.dump(loaded.state)
        if loaded.stored:
            await connection.execute(
                aggregates.update()
                .where(
                    aggregates.c.tenant == tenant,
                    aggregates.c.kind == self.kind,
                    aggregates.c.key == loaded.key,
                )
                .values(state=state)
            )
        else:
            await connection.execute(
                aggregates.insert().values(
                    tenant=tenant, kind=self.kind, key=loaded.key, state=state
                )
            )
            loaded.stored = True

    async def all(self, connection: AsyncConnection, tenant: str) -> list[T]:
        """Every aggregate of this kind for one council (reports and exports)."""
        result = await connection.execute(
            sa.select(aggregates.c.state)
            .where(aggregates.c.tenant == tenant, aggregates.c.kind == self.kind)
            .order_by(aggregates.c.key)
        )
        return [self.parse(row.state) for row in result]

    def dump(self, state: T) -> Any:
        """The JSON document of an aggregate."""
        return self._adapter.dump_python(state, mode="json")

    def parse(self, document: Any) -> T:
        """An aggregate from its JSON document."""
        return self._adapter.validate_python(document)
