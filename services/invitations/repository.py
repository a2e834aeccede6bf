"""Reading and writing the invitations service's state."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.invitations.tables import conferences, exclusions, invitees


async def conference(
    connection: AsyncConnection, conference_id: str, *, lock: bool = False
) -> sa.Row[Any] | None:
    """The conference; with `lock`, held until the transaction ends (competing replicas
    then handle one conference's events one at a time)."""
    query = sa.select(conferences).where(conferences.c.conference_id == conference_id)
    result = await connection.execute(query.with_for_update() if lock else query)
    return result.first()


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


async def update_conference(connection: AsyncConnection, conference_id: str, **values: Any) -> None:
    """Change a conference's status, time, revision or advice."""
    await connection.execute(
        conferences.update().where(conferences.c.conference_id == conference_id).values(**values)
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
    needs = bool(participant and participant.get("needs_interpreter"))
    await connection.execute(
        invitees.insert().values(
            conference_id=conference_id,
            person_id=person_id,
            role=role,
            agency=agency,
            status="live",
            revision=revision,
            participant=participant,
            needs_interpreter=needs,
            language=(participant or {}).get("language"),
        )
    )


async def invitee_rows(connection: AsyncConnection, conference_id: str) -> list[sa.Row[Any]]:
    """Everyone ever invited to the conference, in the order they were invited."""
    result = await connection.execute(
        sa.select(invitees).where(invitees.c.conference_id == conference_id)
    )
    return list(result.all())


async def invitee(
    connection: AsyncConnection, conference_id: str, person_id: str
) -> sa.Row[Any] | None:
    """One invitation, live or withdrawn."""
    result = await connection.execute(
        sa.select(invitees).where(
            invitees.c.conference_id == conference_id, invitees.c.person_id == person_id
        )
    )
    return result.first()


async def update_invitee(
    connection: AsyncConnection, conference_id: str, person_id: str, **values: Any
) -> None:
    """Change one invitation."""
    await connection.execute(
        invitees.update()
        .where(invitees.c.conference_id == conference_id, invitees.c.person_id == person_id)
        .values(**values)
    )


async def add_exclusion(
    connection: AsyncConnection,
    *,
    exclusion_id: str,
    conference_id: str,
    person_id: str,
    decision: dict[str, Any],
    recorded_at: datetime,
) -> None:
    """Add an exclusion to the audit record (never updated, never deleted)."""
    await connection.execute(
        exclusions.insert().values(
            exclusion_id=exclusion_id,
            conference_id=conference_id,
            person_id=person_id,
            decision=decision,
            recorded_at=recorded_at,
        )
    )


async def exclusion_rows(connection: AsyncConnection, conference_id: str) -> list[sa.Row[Any]]:
    """Every exclusion decided at a conference, oldest first."""
    result = await connection.execute(
        sa.select(exclusions)
        .where(exclusions.c.conference_id == conference_id)
        .order_by(exclusions.c.recorded_at)
    )
    return list(result.all())
