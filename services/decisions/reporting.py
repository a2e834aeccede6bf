"""The census return and the timeliness figures, read from the decisions service's database."""

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from rules.calendar import WorkingDayCalendar
from rules.policy import PolicyBook
from services.decisions import census, repository, stats
from services.decisions.main import DEFINITION
from services.decisions.stats import Timeliness
from shared.runtime.settings import Settings
from shared.store.db import create_engine, migrate


async def _engine(settings: Settings) -> AsyncEngine:
    engine = create_engine(
        settings.database_url_for(DEFINITION.name), settings.schema_for(DEFINITION.name)
    )
    await migrate(engine, settings.schema_for(DEFINITION.name), DEFINITION.migrations)
    return engine


async def census_return(settings: Settings, tenant: str, year: int) -> bytes:
    """The council's census return for the year, from this service's database."""
    engine = await _engine(settings)
    try:
        policy = PolicyBook.build(settings.policy, settings.tenant_policy_map()).for_tenant(tenant)
        return await census.export(
            engine, tenant, year, policy, WorkingDayCalendar(), datetime.now(UTC)
        )
    finally:
        await engine.dispose()


async def timeliness(settings: Settings, tenant: str, start: date, end: date) -> Timeliness:
    """The council's timeliness figures for a period, from this service's database."""
    engine = await _engine(settings)
    try:
        policy = PolicyBook.build(settings.policy, settings.tenant_policy_map()).for_tenant(tenant)
        async with engine.connect() as connection:
            records = await repository.council_records(connection, tenant)
        return stats.timeliness(
            tenant=tenant,
            start=start,
            end=end,
            conferences=records.conferences,
            plans=records.plans,
            reviews=records.reviews,
            policy=policy,
            calendar=WorkingDayCalendar(),
        )
    finally:
        await engine.dispose()
