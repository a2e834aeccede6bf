"""Reading and writing the reports service's state."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reports.domain import ReportRequest, agency_key
from services.reports.tables import conferences, recipients, reports, requests, shares


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


async def conference(
    connection: AsyncConnection, conference_id: str, *, lock: bool = False
) -> sa.Row[Any] | None:
    """The conference; with `lock`, held until the transaction ends."""
    query = sa.select(conferences).where(conferences.c.conference_id == conference_id)
    result = await connection.execute(query.with_for_update() if lock else query)
    return result.first()


async def update_conference(connection: AsyncConnection, conference_id: str, **values: Any) -> None:
    """Change a conference's time or status."""
    await connection.execute(
        conferences.update().where(conferences.c.conference_id == conference_id).values(**values)
    )


async def request_rows(connection: AsyncConnection, conference_id: str) -> list[sa.Row[Any]]:
    """Every request for the conference."""
    result = await connection.execute(
        sa.select(requests).where(requests.c.conference_id == conference_id)
    )
    return list(result.all())


async def request(connection: AsyncConnection, request_id: str) -> sa.Row[Any] | None:
    """One request."""
    result = await connection.execute(
        sa.select(requests).where(requests.c.request_id == request_id)
    )
    return result.first()


async def update_request(connection: AsyncConnection, request_id: str, **values: Any) -> None:
    """Move a request's deadlines."""
    await connection.execute(
        requests.update().where(requests.c.request_id == request_id).values(**values)
    )


async def report_rows(connection: AsyncConnection, conference_id: str) -> list[sa.Row[Any]]:
    """Every report received for the conference."""
    result = await connection.execute(
        sa.select(reports).where(reports.c.conference_id == conference_id)
    )
    return list(result.all())


async def recipient_rows(connection: AsyncConnection, conference_id: str) -> list[sa.Row[Any]]:
    """The chair and the family members reports are shared with."""
    result = await connection.execute(
        sa.select(recipients).where(recipients.c.conference_id == conference_id)
    )
    return list(result.all())


async def add_recipient(
    connection: AsyncConnection, conference_id: str, person_id: str, role: str
) -> None:
    """Someone new to share reports with."""
    await connection.execute(
        recipients.insert().values(conference_id=conference_id, person_id=person_id, role=role)
    )


async def order_withheld(connection: AsyncConnection, conference_id: str, person_id: str) -> int:
    """The chair ordered reports withheld from this person; returns rows changed."""
    result = await connection.execute(
        recipients.update()
        .where(recipients.c.conference_id == conference_id, recipients.c.person_id == person_id)
        .values(withhold_ordered=True)
    )
    return int(result.rowcount)


async def delivered(connection: AsyncConnection, conference_id: str) -> set[tuple[str, str]]:
    """(report, person) pairs already shared or withheld."""
    result = await connection.execute(
        sa.select(shares.c.report_id, shares.c.person_id).where(
            shares.c.conference_id == conference_id
        )
    )
    return {(row.report_id, row.person_id) for row in result.all()}


async def add_share(connection: AsyncConnection, **values: Any) -> None:
    """Record a share or a withholding (once per report and person)."""
    await connection.execute(shares.insert().values(**values))


async def share_rows(connection: AsyncConnection, conference_id: str) -> list[sa.Row[Any]]:
    """Every share and withholding for the conference."""
    result = await connection.execute(
        sa.select(shares).where(shares.c.conference_id == conference_id)
    )
    return list(result.all())
