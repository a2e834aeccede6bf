"""Plans across conferences: reviews held, corrections, quorum, children for the census.

Revision ID: decisions_0002
Revises: decisions_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "decisions_0002"
down_revision = "decisions_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conferences", sa.Column("quorate", sa.Boolean, nullable=True))
    op.add_column("outcome_records", sa.Column("effects", sa.JSON, nullable=True))
    op.add_column("plans", sa.Column("initial_category", sa.String(3), nullable=True))
    op.add_column("plans", sa.Column("nhs_number", sa.String(10), nullable=True))
    op.add_column(
        "plans", sa.Column("voided", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_table(
        "plan_reviews",
        sa.Column("plan_id", sa.String(64), primary_key=True),
        sa.Column("conference_id", sa.String(200), primary_key=True),
        sa.Column("review_date", sa.Date, nullable=False),
    )
    op.create_table(
        "children",
        sa.Column("tenant", sa.String(3), primary_key=True),
        sa.Column("child_id", sa.String(200), primary_key=True),
        sa.Column("details", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("children")
    op.drop_table("plan_reviews")
    for column in ("voided", "nhs_number", "initial_category"):
        op.drop_column("plans", column)
    op.drop_column("outcome_records", "effects")
    op.drop_column("conferences", "quorate")
