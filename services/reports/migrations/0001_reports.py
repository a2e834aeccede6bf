"""Reports tables: conferences, requests, reports.

Revision ID: reports_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "reports_0001"
down_revision = None
branch_labels = ("reports",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conferences",
        sa.Column("conference_id", sa.String(200), primary_key=True),
        sa.Column("tenant", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("scheduled_start", UTCDateTime, nullable=False),
        sa.Column("chair_person_id", sa.String(200), nullable=False),
        sa.Column("participants", sa.JSON, nullable=False),
    )
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("conference_id", sa.String(200), nullable=False, index=True),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("agency_key", sa.String(200), nullable=False),
        sa.Column("author_person_id", sa.String(200), nullable=False),
        sa.Column("due_to_chair", sa.Date, nullable=False),
        sa.Column("share_with_family_by", sa.Date, nullable=False),
        sa.Column("short_notice", sa.Boolean, nullable=False),
    )
    op.create_table(
        "reports",
        sa.Column("report_id", sa.String(200), primary_key=True),
        sa.Column("conference_id", sa.String(200), nullable=False, index=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("author_person_id", sa.String(200), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("on_time", sa.Boolean, nullable=False),
        sa.Column("missing_sections", sa.JSON, nullable=False),
        sa.Column("shareable_with_family", sa.Boolean, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("restricted_document", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("reports")
    op.drop_table("requests")
    op.drop_table("conferences")
