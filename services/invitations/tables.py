"""The invitations service's own tables (its conferences are aggregates, in the plumbing)."""

import sqlalchemy as sa

from shared.store.db import UTCDateTime

metadata = sa.MetaData()

exclusions = sa.Table(
    "exclusions",
    metadata,
    sa.Column("exclusion_id", sa.String(200), primary_key=True),
    sa.Column("tenant", sa.String(3), nullable=False),
    sa.Column("conference_id", sa.String(200), nullable=False),
    sa.Column("person_id", sa.String(200), nullable=False),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Index("ix_exclusions_tenant_conference", "tenant", "conference_id"),
)
