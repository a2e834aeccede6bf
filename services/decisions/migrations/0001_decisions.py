"""Decisions tables: conferences, outcome records, plans.

Revision ID: decisions_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "decisions_0001"
down_revision = None
branch_labels = ("decisions",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conferences",
        sa.Column("conference_id", sa.String(200), primary_key=True),
        sa.Column("tenant", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("scheduled_date", sa.Date, nullable=False),
        sa.Column("held_on", sa.Date, nullable=True),
        sa.Column("chair_person_id", sa.String(200), nullable=False),
        sa.Column("children", sa.JSON, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_table(
        "outcome_records",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("conference_id", sa.String(200), nullable=False, index=True),
        sa.Column("decided_at", UTCDateTime, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("children", sa.JSON, nullable=False),
        sa.Column("dissent", sa.JSON, nullable=False),
        sa.Column("quorate", sa.Boolean, nullable=False),
        sa.Column("supersedes", sa.String(64), nullable=True),
        sa.Column("correction_reason", sa.Text, nullable=True),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(3), nullable=False),
        sa.Column("child_id", sa.String(200), nullable=False, index=True),
        sa.Column("plan_type", sa.String(40), nullable=False),
        sa.Column("category", sa.String(3), nullable=True),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        sa.Column("started_by_conference", sa.String(200), nullable=True),
        sa.Column("lead_social_worker", sa.String(200), nullable=True),
        sa.Column("review_due", sa.Date, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("plans")
    op.drop_table("outcome_records")
    op.drop_table("conferences")
