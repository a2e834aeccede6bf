"""A release refuses a database a later release migrated: one line, exit 2."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from services.reports.main import DEFINITION
from shared.store.db import create_engine, migrate


async def _migrated_by_a_later_release(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}", "reports")
    try:
        await migrate(engine, "reports", DEFINITION.migrations)
        async with engine.begin() as connection:
            await connection.execute(
                sa.text("UPDATE alembic_version SET version_num = 'reports_0099' "
                        "WHERE version_num LIKE 'reports_%'")
            )  # fmt: skip
    finally:
        await engine.dispose()


def test_a_database_a_later_release_migrated_is_refused_in_one_line(
    tmp_path: Path, amqp_url: str
) -> None:
    database = tmp_path / "reports.db"
    asyncio.run(_migrated_by_a_later_release(database))
    env = {
        **os.environ,
        "AMQP_URL": amqp_url,
        "REPORTS_DATABASE_URL": f"sqlite:///{database}",
        "CONVENE_DATA_DIR": str(tmp_path),
        "CONVENE_LOG_FORMAT": "console",
        "CONVENE_LOG_LEVEL": "WARNING",  # the migrations' own INFO lines aside
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "convene"), "run", "reports"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "reports_0099" in lines[0] and "downgrading is refused" in lines[0]
