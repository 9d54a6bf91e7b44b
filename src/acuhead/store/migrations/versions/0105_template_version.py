"""prescription_templates.version: a template change carries the version it was based on

Two practitioners editing one clinic template at once: the second save silently replaced the
first. Like every other record that is changed in place, a template now has a version; a
change without it is refused (428) and one based on an older version is refused (409).
Existing templates start at version 1.

Revision ID: 0105
Revises: 0100
Create Date: 2026-12-06 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0105"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prescription_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    # Not batch mode: SQLite >= 3.35 drops a column in place, as PostgreSQL does.
    op.drop_column("prescription_templates", "version")
