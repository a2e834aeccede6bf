"""The indexes of publication, firing and cancelling times hold only the rows that have one.

As full indexes they held every unpublished fact and every pending timer under NULL, so
the planner could answer `published_at IS NULL` from them: after a 10,000-conference
back-fill it read the relay's unsent rows by a bitmap of the publication-time index,
through the entries of 130,000 rows published since the last vacuum (80 ms a round,
against 2 ms by the relay's own index of unpublished rows). Pruning reads them for rows
older than its horizon, which never includes NULL.

Revision ID: plumbing_0005
Revises: plumbing_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "plumbing_0005"
down_revision = "plumbing_0004"
branch_labels = None
depends_on = None

TIMES = (
    ("ix_outbox_published_at", "outbox", "published_at"),
    ("ix_timers_fired_at", "timers", "fired_at"),
    ("ix_timers_cancelled_at", "timers", "cancelled_at"),
)


def upgrade() -> None:
    for name, table, column in TIMES:
        present = sa.text(f"{column} IS NOT NULL")
        op.drop_index(name, table)
        op.create_index(name, table, [column], postgresql_where=present, sqlite_where=present)


def downgrade() -> None:
    for name, table, column in TIMES:
        op.drop_index(name, table)
        op.create_index(name, table, [column])
