"""Migrations ship inside the package, apply from any folder, and are safe to run twice."""

import asyncio
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.app import DEFINITIONS
from shared.runtime.settings import Settings
from shared.store.db import create_engine, migrate, migration_heads


@pytest.mark.parametrize("service", sorted(DEFINITIONS))
async def test_migrations_apply_twice_from_another_folder(
    settings: Settings,
    database: str,
    service: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine(settings.database_url_for(service), settings.schema_for(service))
    for _ in range(2):
        await migrate(engine, settings.schema_for(service), DEFINITIONS[service].migrations)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
        heads = await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        versions = sorted(row[0] for row in heads)
    await engine.dispose()
    assert {"outbox", "inbox", "timers", "aggregates", "progress"} <= set(names)
    assert "conferences" not in names  # conferences are aggregates now
    assert versions == migration_heads(DEFINITIONS[service].migrations)
    assert "plumbing_0005" in versions and any(v.startswith(service) for v in versions)
    assert os.getcwd() == str(tmp_path)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_replicas_starting_together_migrate_one_at_a_time(
    settings: Settings, database: str
) -> None:
    """Four replicas of a service migrating a new schema at the same moment all succeed."""
    service = "reports"
    engines = [
        create_engine(settings.database_url_for(service), settings.schema_for(service))
        for _ in range(4)
    ]
    try:
        await asyncio.gather(
            *(
                migrate(engine, settings.schema_for(service), DEFINITIONS[service].migrations)
                for engine in engines
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
