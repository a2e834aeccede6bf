"""Conferences become aggregates (plumbing `aggregates`); the exclusion audit is per council.

Revision ID: invitations_0003
Revises: invitations_0002

No council has run 0.1, so its tables are replaced rather than copied.
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "invitations_0003"
down_revision = "invitations_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("invitees")
    op.drop_table("conferences")
    op.drop_table("exclusions")
    # The audit record of exclusions: rows are only ever added.
    op.create_table(
        "exclusions",
        sa.Column("exclusion_id", sa.String(200), primary_key=True),
        sa.Column("tenant", sa.String(3), nullable=False),
        sa.Column("conference_id", sa.String(200), nullable=False),
        sa.Column("person_id", sa.String(200), nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Index("ix_exclusions_tenant_conference", "tenant", "conference_id"),
    )


def downgrade() -> None:
    raise NotImplementedError("0.1's tables are not restored")
