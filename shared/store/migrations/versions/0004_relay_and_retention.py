"""The outbox relay's lease, indexes for the hot path and for pruning, timers' traces.

Revision ID: plumbing_0004
Revises: plumbing_0003
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shared.store.db import UTCDateTime

revision = "plumbing_0004"
down_revision = "plumbing_0003"
branch_labels = None
depends_on = None

UNPUBLISHED = sa.text("published_at IS NULL")
PENDING = sa.text("fired_at IS NULL AND cancelled_at IS NULL")


def upgrade() -> None:
    lease = op.create_table(
        "relay_lease",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    never = datetime(1970, 1, 1, tzinfo=UTC)
    op.bulk_insert(lease, [{"name": "outbox", "holder": "", "expires_at": never}])
    # The relay reads unpublished rows in order: a small index however long the history.
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["position"],
        postgresql_where=UNPUBLISHED, sqlite_where=UNPUBLISHED,
    )  # fmt: skip
    # The scheduler takes pending timers in (due time, id) order: fired ones stay out of its
    # way, and a back-fill's thousands of due timers are read 100 at a time, never sorted.
    op.create_index(
        "ix_timers_pending_due", "timers", ["due_at", "timer_id"],
        postgresql_where=PENDING, sqlite_where=PENDING,
    )  # fmt: skip
    op.create_index("ix_timers_fired_at", "timers", ["fired_at"])
    op.create_index("ix_timers_cancelled_at", "timers", ["cancelled_at"])
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])
    op.add_column("timers", sa.Column("trace", sa.String(600), nullable=True))
    op.create_index("ix_parked_kind_position", "parked", ["kind", "position"])


def downgrade() -> None:
    with op.batch_alter_table("timers") as batch:
        batch.drop_column("trace")
    op.drop_index("ix_parked_kind_position", "parked")
    op.drop_index("ix_inbox_processed_at", "inbox")
    op.drop_index("ix_timers_cancelled_at", "timers")
    op.drop_index("ix_timers_fired_at", "timers")
    op.drop_index("ix_timers_pending_due", "timers")
    op.drop_index("ix_outbox_unpublished", "outbox")
    op.drop_table("relay_lease")
