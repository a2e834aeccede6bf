"""Sharing: recipients, every share and withholding, family reports, cancellation.

Revision ID: reports_0002
Revises: reports_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "reports_0002"
down_revision = "reports_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "conferences",
        sa.Column("status", sa.String(20), nullable=False, server_default="scheduled"),
    )
    op.add_column(
        "reports",
        sa.Column("family_authored", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "recipients",
        sa.Column("conference_id", sa.String(200), primary_key=True),
        sa.Column("person_id", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("withhold_ordered", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "shares",
        sa.Column("report_id", sa.String(200), primary_key=True),
        sa.Column("person_id", sa.String(200), primary_key=True),
        sa.Column("conference_id", sa.String(200), nullable=False, index=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(60), nullable=True),
        sa.Column("on_time", sa.Boolean, nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("shares")
    op.drop_table("recipients")
    op.drop_column("reports", "family_authored")
    op.drop_column("conferences", "status")
