"""Reading and writing the decisions service's state."""

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.decisions.tables import children, conferences, outcome_records, plan_reviews, plans


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
    """The conference's current outcome record (the one no other supersedes), if any."""
    superseded = sa.select(outcome_records.c.supersedes).where(
        outcome_records.c.supersedes.is_not(None)
    )
    result = await connection.execute(
        sa.select(outcome_records).where(
            outcome_records.c.conference_id == conference_id,
            outcome_records.c.record_id.not_in(superseded),
        )
    )
    return result.first()


async def add_record(connection: AsyncConnection, **values: Any) -> None:
    """Record an outcome (never edited afterwards)."""
    await connection.execute(outcome_records.insert().values(**values))


async def add_plan(connection: AsyncConnection, **values: Any) -> None:
    """Record a started plan."""
    await connection.execute(plans.insert().values(**values))


async def set_quorate(connection: AsyncConnection, conference_id: str, quorate: bool) -> None:
    """The invitations service's latest quorum assessment for the conference."""
    await connection.execute(
        conferences.update()
        .where(conferences.c.conference_id == conference_id)
        .values(quorate=quorate)
    )


async def save_child(
    connection: AsyncConnection, tenant: str, child_id: str, details: dict[str, Any]
) -> None:
    """Keep the newest details of a child (for CP-IS and the census)."""
    await connection.execute(
        children.delete().where(children.c.tenant == tenant, children.c.child_id == child_id)
    )
    await connection.execute(
        children.insert().values(tenant=tenant, child_id=child_id, details=details)
    )


async def child_rows(connection: AsyncConnection, tenant: str) -> list[sa.Row[Any]]:
    """Every child a council's conferences concerned."""
    result = await connection.execute(sa.select(children).where(children.c.tenant == tenant))
    return list(result.all())


async def open_plans(connection: AsyncConnection, tenant: str, child_id: str) -> list[sa.Row[Any]]:
    """A child's plans that have not ended."""
    result = await connection.execute(
        sa.select(plans).where(
            plans.c.tenant == tenant,
            plans.c.child_id == child_id,
            plans.c.end_date.is_(None),
            plans.c.voided.is_(False),
        )
    )
    return list(result.all())


async def plan(connection: AsyncConnection, plan_id: str) -> sa.Row[Any] | None:
    """One plan."""
    result = await connection.execute(sa.select(plans).where(plans.c.plan_id == plan_id))
    return result.first()


async def update_plan(connection: AsyncConnection, plan_id: str, **values: Any) -> None:
    """Change a plan's category, end or review date."""
    await connection.execute(plans.update().where(plans.c.plan_id == plan_id).values(**values))


async def plan_rows(connection: AsyncConnection, tenant: str) -> list[sa.Row[Any]]:
    """Every plan of a council, oldest first."""
    result = await connection.execute(
        sa.select(plans).where(plans.c.tenant == tenant).order_by(plans.c.start_date)
    )
    return list(result.all())


async def add_review(
    connection: AsyncConnection, plan_id: str, conference_id: str, review_date: date
) -> None:
    """A review conference was held for a plan."""
    await connection.execute(
        plan_reviews.insert().values(
            plan_id=plan_id, conference_id=conference_id, review_date=review_date
        )
    )


async def remove_review(connection: AsyncConnection, plan_id: str, conference_id: str) -> None:
    """Undo a review entry when its decision is corrected."""
    await connection.execute(
        plan_reviews.delete().where(
            plan_reviews.c.plan_id == plan_id, plan_reviews.c.conference_id == conference_id
        )
    )


async def review_rows(connection: AsyncConnection) -> list[sa.Row[Any]]:
    """Every review held."""
    result = await connection.execute(sa.select(plan_reviews))
    return list(result.all())


async def conference_rows(connection: AsyncConnection, tenant: str) -> list[sa.Row[Any]]:
    """Every conference of a council."""
    result = await connection.execute(sa.select(conferences).where(conferences.c.tenant == tenant))
    return list(result.all())


async def decided_conferences(connection: AsyncConnection, tenant: str) -> list[sa.Row[Any]]:
    """A council's conferences that reached an outcome (not cancelled, not pending)."""
    return [
        c
        for c in await conference_rows(connection, tenant)
        if await latest_record(connection, c.conference_id) is not None
    ]


async def record_rows(connection: AsyncConnection, conference_id: str) -> list[sa.Row[Any]]:
    """Every outcome record of a conference, oldest first."""
    result = await connection.execute(
        sa.select(outcome_records)
        .where(outcome_records.c.conference_id == conference_id)
        .order_by(outcome_records.c.recorded_at)
    )
    return list(result.all())
