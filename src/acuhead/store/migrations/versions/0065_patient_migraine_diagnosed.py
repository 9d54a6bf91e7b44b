"""patients.migraine_diagnosed: probable migraine is a migraine day only in a migraine patient

ICHD-3 1.5 counts probable-migraine attacks as migraine only in a patient who has migraine
(issue 12 item 6). The stored day units need that patient-level answer; it is kept here and is
NULL for every existing patient, which makes the next count of their day units recount the
whole diary (``acuhead db upgrade`` does it for every patient, see
``store.day_units.recount_stale``).

Revision ID: 0065
Revises: 0060
Create Date: 2026-12-06 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0065"
down_revision = "0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("migraine_diagnosed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # Not batch mode: rebuilding ``patients`` on SQLite drops the old table, and with foreign
    # keys on that deletes every diary row through ON DELETE CASCADE. SQLite >= 3.35 drops a
    # column in place, as PostgreSQL does.
    op.drop_column("patients", "migraine_diagnosed")
