"""The reports service's measures, read from its own database."""

from datetime import UTC, date, datetime

from rules.calendar import WorkingDayCalendar
from rules.policy import PolicyBook
from services.reports import stats
from services.reports.handlers import CONFERENCES
from services.reports.main import DEFINITION
from shared.runtime.settings import Settings
from shared.store.db import create_engine, migrate


async def minutes_on_time(
    settings: Settings, tenant: str, start: date, end: date
) -> tuple[int, int]:
    """(on time, of): minutes shared within the council's working days of the conference."""
    engine = create_engine(
        settings.database_url_for(DEFINITION.name), settings.schema_for(DEFINITION.name)
    )
    try:
        await migrate(engine, settings.schema_for(DEFINITION.name), DEFINITION.migrations)
        policy = PolicyBook.build(settings.policy, settings.tenant_policy_map()).for_tenant(tenant)
        async with engine.connect() as connection:
            conferences = await CONFERENCES.all(connection, tenant)
        return stats.minutes_on_time(
            conferences, start, end, policy, WorkingDayCalendar(), datetime.now(UTC)
        )
    finally:
        await engine.dispose()
