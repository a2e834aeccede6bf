"""How far behind a service is, as gauges: facts not yet published, events parked,
timers overdue."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.observability.telemetry import (
    OUTBOX_OLDEST,
    OUTBOX_PENDING,
    TIMERS_DUE,
    TIMERS_LATE,
    WAITING,
)
from shared.store.db import single_statements
from shared.store.tables import outbox, parked, timers


async def measure_backlog(service: str, engine: AsyncEngine, now: datetime) -> None:
    """Refresh the outbox, timer and waiting gauges from the service's database."""
    unpublished = outbox.c.published_at.is_(None)
    pending = sa.and_(timers.c.fired_at.is_(None), timers.c.cancelled_at.is_(None))
    async with single_statements(engine).connect() as connection:
        queued = (
            await connection.execute(
                sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(unpublished)
            )
        ).one()
        due = (
            await connection.execute(
                sa.select(sa.func.count(), sa.func.min(timers.c.due_at)).where(
                    pending, timers.c.due_at <= now
                )
            )
        ).one()
        waiting = (
            await connection.execute(sa.select(sa.func.count()).select_from(parked))
        ).scalar_one()
    OUTBOX_PENDING.labels(service).set(queued[0])
    OUTBOX_OLDEST.labels(service).set(_age(queued[1], now))
    TIMERS_DUE.labels(service).set(due[0])
    TIMERS_LATE.labels(service).set(_age(due[1], now))
    WAITING.labels(service).set(int(waiting))


def _age(moment: Any, now: datetime) -> float:
    if moment is None:
        return 0.0
    if isinstance(moment, str):  # SQLite returns the aggregate as text
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, float((now - moment).total_seconds()))
