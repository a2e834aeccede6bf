"""The plumbing tables every service's database has: outbox, inbox, timers, the
aggregates and each council's progress."""

import sqlalchemy as sa

from shared.store.db import JSONText, UTCDateTime

metadata = sa.MetaData()


def _time_index(name: str, column: str) -> sa.Index:
    """An index of a time that only some rows have (published, fired, cancelled): only those
    rows are in it, so it is never a way to the rows without one (migration plumbing_0005)."""
    present = sa.text(f"{column} IS NOT NULL")
    return sa.Index(name, column, postgresql_where=present, sqlite_where=present)


outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("exchange", sa.String(100), nullable=False),
    sa.Column("routing_key", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=True),
    _time_index("ix_outbox_published_at", "published_at"),
    sa.Index(
        "ix_outbox_unpublished",
        "position",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    ),
)

relay_lease = sa.Table(
    "relay_lease",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)
"""Which replica's relay publishes the outbox (one at a time, so facts leave in order)."""

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("tenant", sa.String(3), primary_key=True),
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("processed_at", UTCDateTime, nullable=False),
    sa.Column("digest", sa.String(64), nullable=True),
    sa.Index("ix_inbox_processed_at", "processed_at"),
)

timers = sa.Table(
    "timers",
    metadata,
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
    sa.Column("trace", sa.String(600), nullable=True),
    sa.Index("ix_timers_tenant_subject", "tenant", "subject"),
    sa.Index(
        "ix_timers_pending_due",
        "due_at",
        "timer_id",
        postgresql_where=sa.text("fired_at IS NULL AND cancelled_at IS NULL"),
        sqlite_where=sa.text("fired_at IS NULL AND cancelled_at IS NULL"),
    ),
    _time_index("ix_timers_fired_at", "fired_at"),
    _time_index("ix_timers_cancelled_at", "cancelled_at"),
)

aggregates = sa.Table(
    "aggregates",
    metadata,
    sa.Column("tenant", sa.String(3), primary_key=True),
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("state", JSONText, nullable=False),
)

progress = sa.Table(
    "progress",
    metadata,
    sa.Column("tenant", sa.String(3), primary_key=True),
    sa.Column("through", UTCDateTime, nullable=False),
    sa.Column("active_at", UTCDateTime, nullable=False),
)
"""How far each council's stream has been applied (business time), and when it last moved
(wall time): every replica's scheduler fires timers only in a council quiet since then."""

parked = sa.Table(
    "parked",
    metadata,
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
    sa.Index("ix_parked_tenant", "tenant"),
    sa.Index("ix_parked_kind_position", "kind", "position"),
)
"""Events that arrived before one they depend on, waiting (in arrival order) to be applied
(`kind` "early"), and events out for a delayed retry that later events of theirs wait for
(`kind` "retrying")."""
