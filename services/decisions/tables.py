"""The decisions service's own tables."""

import sqlalchemy as sa

from shared.db import UTCDateTime

metadata = sa.MetaData()

conferences = sa.Table(
    "conferences",
    metadata,
    sa.Column("conference_id", sa.String(200), primary_key=True),
    sa.Column("tenant", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("scheduled_date", sa.Date, nullable=False),
    sa.Column("held_on", sa.Date, nullable=True),
    sa.Column("chair_person_id", sa.String(200), nullable=False),
    sa.Column("children", sa.JSON, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("quorate", sa.Boolean, nullable=True),
)

outcome_records = sa.Table(
    "outcome_records",
    metadata,
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("conference_id", sa.String(200), nullable=False, index=True),
    sa.Column("decided_at", UTCDateTime, nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=False),
    sa.Column("children", sa.JSON, nullable=False),
    sa.Column("dissent", sa.JSON, nullable=False),
    sa.Column("quorate", sa.Boolean, nullable=False),
    sa.Column("supersedes", sa.String(64), nullable=True),
    sa.Column("correction_reason", sa.Text, nullable=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("effects", sa.JSON, nullable=True),
)

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("plan_id", sa.String(64), primary_key=True),
    sa.Column("tenant", sa.String(3), nullable=False),
    sa.Column("child_id", sa.String(200), nullable=False, index=True),
    sa.Column("plan_type", sa.String(40), nullable=False),
    sa.Column("category", sa.String(3), nullable=True),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=True),
    sa.Column("end_reason", sa.String(40), nullable=True),
    sa.Column("started_by_conference", sa.String(200), nullable=True),
    sa.Column("lead_social_worker", sa.String(200), nullable=True),
    sa.Column("review_due", sa.Date, nullable=True),
    sa.Column("initial_category", sa.String(3), nullable=True),
    sa.Column("nhs_number", sa.String(10), nullable=True),
    sa.Column("voided", sa.Boolean, nullable=False, server_default=sa.false()),
)

plan_reviews = sa.Table(
    "plan_reviews",
    metadata,
    sa.Column("plan_id", sa.String(64), primary_key=True),
    sa.Column("conference_id", sa.String(200), primary_key=True),
    sa.Column("review_date", sa.Date, nullable=False),
)

children = sa.Table(
    "children",
    metadata,
    sa.Column("tenant", sa.String(3), primary_key=True),
    sa.Column("child_id", sa.String(200), primary_key=True),
    sa.Column("details", sa.JSON, nullable=False),
)
