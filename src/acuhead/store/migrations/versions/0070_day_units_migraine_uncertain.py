"""day_units.migraine_uncertain: days whose migraine status the diary leaves open

Issue 12 item 8: an unknown duration or unrecorded features no longer count as "long enough" or
"not migraine"; the day is uncertain and outcomes give the known count beside the uncertain
one. A plain column, summed on its own (the packed ``flags`` column is not rebuilt). The
stored rows were counted under the old rules, so every patient's
``migraine_diagnosed`` is cleared: the recount after upgrading (``acuhead db upgrade``,
``store.day_units.recount_stale``) rewrites their day units.

Revision ID: 0070
Revises: 0065
Create Date: 2026-12-06 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0070"
down_revision = "0065"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN in place on both engines (SQLite keeps the WITHOUT ROWID table as it is).
    op.add_column(
        "day_units",
        sa.Column("migraine_uncertain", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE patients SET migraine_diagnosed = NULL")


def downgrade() -> None:
    # Not batch mode: rebuilding day_units would drop its generated columns' table options;
    # SQLite >= 3.35 and PostgreSQL drop a column in place.
    op.drop_column("day_units", "migraine_uncertain")
