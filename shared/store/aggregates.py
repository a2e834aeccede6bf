"""Aggregates kept as typed documents: one row per (council, kind, key).

A service's `domain.py` defines its aggregates as dataclasses; the store turns
them to and from JSON with pydantic, loads one whole (locked until the
transaction ends, so competing replicas and timers apply one at a time) and
saves it once.

Each document says the version of its shape (`"__v"`; none: version 1, as the first
release wrote them). A document of an older shape is brought up to date by the store's
upgrade steps as it is read (and written back in the new shape when next saved); one of a
newer shape than this release knows is refused: a release never reads what a later one
wrote as if it understood it.
"""

import functools
import json
from collections.abc import Callable, Mapping
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


Upgrade = Callable[[dict[str, Any]], dict[str, Any]]
"""One step: a document of version N (a dict) to version N + 1."""


class NewerShape(Exception):
    """A stored document was written by a later release: this one refuses to read it."""


class AggregateStore(Generic[T]):
    """Reads and writes one kind of aggregate of one service, at `version` of its shape;
    `upgrades[n]` brings a document of version n to n + 1."""

    def __init__(
        self, kind: str, model: type[T], version: int = 1, upgrades: Mapping[int, Upgrade] = {}
    ) -> None:
        missing = [n for n in range(1, version) if n not in upgrades]
        assert not missing, f"{kind}: no upgrade step from version {missing}"
        self.kind = kind
        self.version = version
        self._upgrades = dict(upgrades)
        self._adapter: TypeAdapter[T] = TypeAdapter(model)
        self._current = f'{{"__v":{version},'.encode()

    async def all(self, connection: AsyncConnection, tenant: str) -> list[T]:
        """Every aggregate of this kind for one council (reports and exports)."""
        result = await connection.execute(
            sa.select(aggregates.c.state)
            .where(aggregates.c.tenant == tenant, aggregates.c.kind == self.kind)
            .order_by(aggregates.c.key)
        )
        return [self.parse(row.state) for row in result]

    def dump(self, state: T) -> str:
        """The JSON document of an aggregate, as text, saying its shape's version."""
        body = self._adapter.dump_json(state)
        if body == b"{}":
            return f'{{"__v":{self.version}}}'
        return (self._current + body[1:]).decode()

    def parse(self, document: str | bytes) -> T:
        """An aggregate from its JSON document's text, upgraded from an older shape."""
        raw = document.encode() if isinstance(document, str) else document
        if raw.startswith(self._current):  # the shape this release writes: no detour
            return self._adapter.validate_json(raw)
        values = json.loads(raw)
        version = int(values.pop("__v", 1))
        if version > self.version:
            raise NewerShape(
                f"a stored {self.kind} has shape version {version}; this release knows up to "
                f"{self.version}: it was written by a later release (downgrading is refused)"
            )
        for step in range(version, self.version):
            values = self._upgrades[step](values)
        return self._adapter.validate_python(values)
