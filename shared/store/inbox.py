"""The inbox: each processed event id is recorded with its effects, once."""

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.store.tables import inbox

_RECORD = inbox.insert()  # built once (no construction or cache key per event)


async def already_processed(connection: AsyncConnection, tenant: str, event_id: str) -> bool:
    """True when this council's event's effects are already committed."""
    result = await connection.execute(
        sa.select(inbox.c.event_id).where(inbox.c.tenant == tenant, inbox.c.event_id == event_id)
    )
    return result.first() is not None


async def digest_of(connection: AsyncConnection, tenant: str, event_id: str) -> str | None:
    """The content digest of an event already processed ("" when not recorded), or None."""
    result = await connection.execute(
        sa.select(inbox.c.digest).where(inbox.c.tenant == tenant, inbox.c.event_id == event_id)
    )
    row = result.first()
    return None if row is None else (row.digest or "")


async def record_all(connection: AsyncConnection, rows: list[dict[str, object]]) -> None:
    """Record several events as processed in one statement (the keys of `record`)."""
    if rows:
        await connection.execute(_RECORD, rows)
