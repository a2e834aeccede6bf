"""Conference documents at shape version 2 (release 0.2.0): the store upgrades each 0.1.0
document as it reads it (`upgrade_conference_1`). Nothing changes in the tables; this
revision marks the database, so a release before 0.2.0 refuses to run on it instead of
reading documents it does not understand.

Revision ID: reports_0004
Revises: reports_0003
"""

revision = "reports_0004"
down_revision = "reports_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: documents are upgraded as they are read."""


def downgrade() -> None:
    raise NotImplementedError("0.2.0 documents are not turned back into 0.1.0 ones")
