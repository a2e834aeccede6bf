"""Reading and writing the decisions service's state."""

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.decisions.tables import conferences, outcome_records, plans


async def conference(connection: AsyncConnection, conference_id: str) -> sa.Row[Any] | None:
    """The conference as this service knows it."""
    result = await connection.execute(
        sa.select(conferences).where(conferences.c.conference_id == conference_id)
    )
    return result.first()


async def add_conference(connection: AsyncConnection, **values: Any) -> None:
    """Record a requested conference."""
    await connection.execute(conferences.insert().values(**values))


async def set_held_on(connection: AsyncConnection, conference_id: str, held_on: date) -> None:
    """Record the date the conference was held."""
    await connection.execute(
        conferences.update()
        .where(conferences.c.conference_id == conference_id)
        .values(held_on=held_on)
    )


async def latest_record(connection: AsyncConnection, conference_id: str) -> sa.Row[Any] | None:
    """The conference's current outcome record, if any."""
    result = await connection.execute(
        sa.select(outcome_records)
        .where(outcome_records.c.conference_id == conference_id)
        .order_by(outcome_records.c.recorded_at.desc())
        .limit(1)
    )
    return result.first()


async def add_record(connection: AsyncConnection, **values: Any) -> None:
    """Record an outcome (never edited afterwards)."""
    await connection.execute(outcome_records.insert().values(**values))


async def add_plan(connection: AsyncConnection, **values: Any) -> None:
    """Record a started plan."""
    await connection.execute(plans.insert().values(**values))
