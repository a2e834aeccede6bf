"""The reports service's own tables."""

import sqlalchemy as sa

from shared.db import UTCDateTime

metadata = sa.MetaData()

conferences = sa.Table(
    "conferences",
    metadata,
    sa.Column("conference_id", sa.String(200), primary_key=True),
    sa.Column("tenant", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("scheduled_start", UTCDateTime, nullable=False),
    sa.Column("chair_person_id", sa.String(200), nullable=False),
    sa.Column("participants", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="scheduled"),
)

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("conference_id", sa.String(200), nullable=False, index=True),
    sa.Column("agency", sa.String(200), nullable=False),
    sa.Column("agency_key", sa.String(200), nullable=False),
    sa.Column("author_person_id", sa.String(200), nullable=False),
    sa.Column("due_to_chair", sa.Date, nullable=False),
    sa.Column("share_with_family_by", sa.Date, nullable=False),
    sa.Column("short_notice", sa.Boolean, nullable=False),
)

reports = sa.Table(
    "reports",
    metadata,
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
    sa.Column("family_authored", sa.Boolean, nullable=False, server_default=sa.false()),
)

recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("conference_id", sa.String(200), primary_key=True),
    sa.Column("person_id", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("withhold_ordered", sa.Boolean, nullable=False, server_default=sa.false()),
)

shares = sa.Table(
    "shares",
    metadata,
    sa.Column("report_id", sa.String(200), primary_key=True),
    sa.Column("person_id", sa.String(200), primary_key=True),
    sa.Column("conference_id", sa.String(200), nullable=False, index=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(60), nullable=True),
    sa.Column("on_time", sa.Boolean, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
)
