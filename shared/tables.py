"""The plumbing tables every service's database has: outbox, inbox and timers."""

import sqlalchemy as sa

from shared.db import UTCDateTime

metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("exchange", sa.String(100), nullable=False),
    sa.Column("routing_key", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=True, index=True),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("processed_at", UTCDateTime, nullable=False),
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
)
