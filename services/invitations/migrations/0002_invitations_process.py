"""Responses, needs, advice and the exclusion audit record.

Revision ID: invitations_0002
Revises: invitations_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "invitations_0002"
down_revision = "invitations_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conferences", sa.Column("advice", sa.JSON, nullable=True))
    for column in (
        sa.Column("response", sa.String(20), nullable=True),
        sa.Column("responded_at", UTCDateTime, nullable=True),
        sa.Column("deputy", sa.JSON, nullable=True),
        sa.Column("supporter", sa.JSON, nullable=True),
        sa.Column("supporter_notice_late", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("needs_interpreter", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("language", sa.String(50), nullable=True),
    ):
        op.add_column("invitees", column)
    # The audit record of exclusions: rows are only ever added.
    op.create_table(
        "exclusions",
        sa.Column("exclusion_id", sa.String(200), primary_key=True),
        sa.Column("conference_id", sa.String(200), nullable=False, index=True),
        sa.Column("person_id", sa.String(200), nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("exclusions")
    for name in (
        "language",
        "needs_interpreter",
        "supporter_notice_late",
        "supporter",
        "deputy",
        "responded_at",
        "response",
    ):
        op.drop_column("invitees", name)
    op.drop_column("conferences", "advice")
