"""Council-scoped inbox, aggregates kept as documents, each council's progress.

Revision ID: plumbing_0002
Revises: plumbing_0001

The inbox is recreated with the council in its key (no council has run 0.1).
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "plumbing_0002"
down_revision = "plumbing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("inbox")
    op.create_table(
        "inbox",
        sa.Column("tenant", sa.String(3), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_timers_tenant_subject", "timers", ["tenant", "subject"])
    op.create_table(
        "aggregates",
        sa.Column("tenant", sa.String(3), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("state", sa.JSON, nullable=False),
    )
    op.create_table(
        "progress",
        sa.Column("tenant", sa.String(3), primary_key=True),
        sa.Column("through", UTCDateTime, nullable=False),
        sa.Column("active_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("progress")
    op.drop_table("aggregates")
    op.drop_index("ix_timers_tenant_subject", "timers")
    op.drop_table("inbox")
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
    )
