"""Plumbing tables: outbox, inbox, timers.

Revision ID: plumbing_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "plumbing_0001"
down_revision = None
branch_labels = ("plumbing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("exchange", sa.String(100), nullable=False),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=True, index=True),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "timers",
        sa.Column("timer_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False, index=True),
        sa.Column("subject", sa.String(200), nullable=False, index=True),
        sa.Column("tenant", sa.String(3), nullable=False),
        sa.Column("correlationid", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("fired_at", UTCDateTime, nullable=True),
        sa.Column("cancelled_at", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("timers")
    op.drop_table("inbox")
    op.drop_table("outbox")
