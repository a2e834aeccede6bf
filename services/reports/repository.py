"""Reading and writing the reports service's state."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reports.domain import ReportRequest, agency_key
from services.reports.tables import conferences, reports, requests


async def conference_exists(connection: AsyncConnection, conference_id: str) -> bool:
    """True when the conference is known to this service."""
    result = await connection.execute(
        sa.select(conferences.c.conference_id).where(conferences.c.conference_id == conference_id)
    )
    return result.first() is not None


async def add_conference(connection: AsyncConnection, **values: Any) -> None:
    """Record a conference this service will collect reports for."""
    await connection.execute(conferences.insert().values(**values))


async def add_request(
    connection: AsyncConnection, conference_id: str, request: ReportRequest
) -> None:
    """Record one request."""
    await connection.execute(
        requests.insert().values(
            request_id=request.request_id,
            conference_id=conference_id,
            agency=request.agency,
            agency_key=agency_key(request.agency),
            author_person_id=request.author_person_id,
            due_to_chair=request.due_to_chair,
            share_with_family_by=request.share_with_family_by,
            short_notice=request.short_notice,
        )
    )


async def request_for_agency(
    connection: AsyncConnection, conference_id: str, agency: str
) -> sa.Row[Any] | None:
    """The request an agency's report answers, if the agency was asked."""
    result = await connection.execute(
        sa.select(requests).where(
            requests.c.conference_id == conference_id,
            requests.c.agency_key == agency_key(agency),
        )
    )
    return result.first()


async def report_exists(connection: AsyncConnection, report_id: str) -> bool:
    """True when the report was already received."""
    result = await connection.execute(
        sa.select(reports.c.report_id).where(reports.c.report_id == report_id)
    )
    return result.first() is not None


async def add_report(connection: AsyncConnection, **values: Any) -> None:
    """Record a received report."""
    await connection.execute(reports.insert().values(**values))
