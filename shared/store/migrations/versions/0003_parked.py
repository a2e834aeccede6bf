"""Events waiting for one they depend on; the inbox remembers each event's content digest.

Revision ID: plumbing_0003
Revises: plumbing_0002
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "plumbing_0003"
down_revision = "plumbing_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbox", sa.Column("digest", sa.String(64), nullable=True))
    op.create_table(
        "parked",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(3), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("ordering_keys", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("delivery", sa.JSON, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("event_time", UTCDateTime, nullable=False),
        sa.Column("parked_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("tenant", "event_id", name="uq_parked_tenant_event"),
    )
    op.create_index("ix_parked_tenant", "parked", ["tenant"])


def downgrade() -> None:
    op.drop_table("parked")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("digest")
