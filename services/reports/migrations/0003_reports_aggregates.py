"""Conferences (and, in decisions, children's plans) become aggregates in the plumbing
`aggregates` table, keyed by council.

Revision ID: reports_0003
Revises: reports_0002

No council has run 0.1, so its tables are replaced rather than copied.
"""

from alembic import op

revision = "reports_0003"
down_revision = "reports_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("shares", "recipients", "reports", "requests", "conferences"):
        op.drop_table(table)


def downgrade() -> None:
    raise NotImplementedError("0.1's tables are not restored")
