"""Aggregates kept as typed documents: one row per (council, kind, key).

A service's `domain.py` defines its aggregates as dataclasses; the store turns
them to and from JSON with pydantic, loads one whole (locked until the
transaction ends, so competing replicas and timers apply one at a time) and
saves it once.
"""

import functools
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.store.dialect import Dialect, dialect_of
from shared.store.tables import aggregates

T = TypeVar("T")

# Built once: the hot path's statements cost no construction and no cache key per call.
_UPDATE = (
    aggregates.update()
    .where(
        aggregates.c.tenant == sa.bindparam("b_tenant"),
        aggregates.c.kind == sa.bindparam("b_kind"),
        aggregates.c.key == sa.bindparam("b_key"),
    )
    .values(state=sa.bindparam("b_state"))
)
_INSERT = aggregates.insert()


@functools.cache
def _load_many_locked(dialect: Dialect) -> sa.Select[tuple[str, str, str, str]]:
    """Built once a dialect (bound: keys, rows of tenant, kind and key): each aggregate
    looked up by its key (`Dialect.keyed`), locked until the transaction ends."""
    columns = (aggregates.c.tenant, aggregates.c.kind, aggregates.c.key)
    return dialect.keyed(
        "keys",
        columns,
        lambda conditions: (
            sa.select(*columns, aggregates.c.state)
            .where(*conditions)
            .with_for_update(of=aggregates)
        ),
    )


async def load_all(
    connection: AsyncConnection, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Any]:
    """The stored documents of several aggregates, (tenant, kind, key) each, locked until
    the transaction ends, in one statement."""
    if not keys:
        return {}
    dialect = dialect_of(connection)
    rows = await connection.execute(
        _load_many_locked(dialect), dialect.among_values("keys", keys, width=3)
    )
    return {(row.tenant, row.kind, row.key): row.state for row in rows}


async def save_all(
    connection: AsyncConnection, saves: list[tuple[str, "AggregateStore[Any]", "Loaded[Any]"]]
) -> None:
    """Write several aggregates back, (tenant, store, loaded) each: one statement for those
    stored, one for the new."""
    updates, inserts = [], []
    for tenant, store, loaded in saves:
        state = store.dump(loaded.state)
        if loaded.stored:
            updates.append(
                {"b_tenant": tenant, "b_kind": store.kind, "b_key": loaded.key, "b_state": state}
            )
        else:
            inserts.append(
                {"tenant": tenant, "kind": store.kind, "key": loaded.key, "state": state}
            )
    if updates:
        await connection.execute(_UPDATE, updates)
    if inserts:
        await connection.execute(_INSERT, inserts)
    for _tenant, _store, loaded in saves:
        loaded.stored = True


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

    async def all(self, connection: AsyncConnection, tenant: str) -> list[T]:
        """Every aggregate of this kind for one council (reports and exports)."""
        result = await connection.execute(
            sa.select(aggregates.c.state)
            .where(aggregates.c.tenant == tenant, aggregates.c.kind == self.kind)
            .order_by(aggregates.c.key)
        )
        return [self.parse(row.state) for row in result]

    def dump(self, state: T) -> str:
        """The JSON document of an aggregate, as text."""
        return self._adapter.dump_json(state).decode()

    def parse(self, document: str | bytes) -> T:
        """An aggregate from its JSON document's text."""
        return self._adapter.validate_json(document)
