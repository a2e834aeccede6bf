"""The invitations service's own tables."""

import sqlalchemy as sa

from shared.db import UTCDateTime

metadata = sa.MetaData()

conferences = sa.Table(
    "conferences",
    metadata,
    sa.Column("conference_id", sa.String(200), primary_key=True),
    sa.Column("tenant", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("scheduled_start", UTCDateTime, nullable=False),
    sa.Column("chair_person_id", sa.String(200), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("advice", sa.JSON, nullable=True),
)

invitees = sa.Table(
    "invitees",
    metadata,
    sa.Column("conference_id", sa.String(200), primary_key=True),
    sa.Column("person_id", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("agency", sa.String(200), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("participant", sa.JSON, nullable=True),
    sa.Column("response", sa.String(20), nullable=True),
    sa.Column("responded_at", UTCDateTime, nullable=True),
    sa.Column("deputy", sa.JSON, nullable=True),
    sa.Column("supporter", sa.JSON, nullable=True),
    sa.Column("supporter_notice_late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("needs_interpreter", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("language", sa.String(50), nullable=True),
)

exclusions = sa.Table(
    "exclusions",
    metadata,
    sa.Column("exclusion_id", sa.String(200), primary_key=True),
    sa.Column("conference_id", sa.String(200), nullable=False, index=True),
    sa.Column("person_id", sa.String(200), nullable=False),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)
