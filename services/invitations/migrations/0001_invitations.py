"""Invitations tables: conferences and invitees.

Revision ID: invitations_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "invitations_0001"
down_revision = None
branch_labels = ("invitations",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conferences",
        sa.Column("conference_id", sa.String(200), primary_key=True),
        sa.Column("tenant", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("scheduled_start", UTCDateTime, nullable=False),
        sa.Column("chair_person_id", sa.String(200), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "invitees",
        sa.Column("conference_id", sa.String(200), primary_key=True),
        sa.Column("person_id", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("agency", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("participant", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("invitees")
    op.drop_table("conferences")
