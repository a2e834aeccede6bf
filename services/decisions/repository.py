"""The decisions service's records as the census and the timeliness figures read them."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from services.decisions.domain import Conference, Plan
from services.decisions.handlers import CHILDREN, CONFERENCES


@dataclass(frozen=True)
class HeldReview:
    """A review conference held for a plan."""

    plan_id: str
    review_date: date


@dataclass(frozen=True)
class CouncilRecords:
    """One council's children, decided conferences, plans and reviews."""

    children: list[dict[str, object]]
    conferences: list[Conference]
    plans: list[Plan]
    reviews: list[HeldReview]


async def council_records(connection: AsyncConnection, tenant: str) -> CouncilRecords:
    """Everything one council's census return and figures are made of (no other council's)."""
    children = await CHILDREN.all(connection, tenant)
    conferences = [c for c in await CONFERENCES.all(connection, tenant) if c.current is not None]
    plans = sorted((p for c in children for p in c.plans), key=lambda p: p.start_date)
    return CouncilRecords(
        children=[dict(c.details) for c in children if c.details],
        conferences=conferences,
        plans=plans,
        reviews=[HeldReview(p.plan_id, r.review_date) for p in plans for r in p.reviews],
    )
