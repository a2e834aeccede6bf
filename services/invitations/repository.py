"""Reading and writing the invitations service's state."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.invitations.tables import conferences, invitees


async def conference_exists(connection: AsyncConnection, conference_id: str) -> bool:
    """True when the conference was already requested."""
    result = await connection.execute(
        sa.select(conferences.c.conference_id).where(conferences.c.conference_id == conference_id)
    )
    return result.first() is not None


async def add_conference(
    connection: AsyncConnection,
    *,
    conference_id: str,
    tenant: str,
    kind: str,
    scheduled_start: datetime,
    chair_person_id: str,
    details: dict[str, Any],
    requested_at: datetime,
) -> None:
    """Record a newly requested conference at revision 1."""
    await connection.execute(
        conferences.insert().values(
            conference_id=conference_id,
            tenant=tenant,
            kind=kind,
            status="scheduled",
            revision=1,
            scheduled_start=scheduled_start,
            chair_person_id=chair_person_id,
            details=details,
            requested_at=requested_at,
        )
    )


async def add_invitee(
    connection: AsyncConnection,
    *,
    conference_id: str,
    person_id: str,
    role: str,
    agency: str | None,
    revision: int,
    participant: dict[str, Any] | None,
) -> None:
    """Record a live invitation."""
    await connection.execute(
        invitees.insert().values(
            conference_id=conference_id,
            person_id=person_id,
            role=role,
            agency=agency,
            status="live",
            revision=revision,
            participant=participant,
        )
    )
