"""index patients.user_id: each request of a patient account looks its record up by it

Revision ID: 0050
Revises: 0040
Create Date: 2026-11-27 12:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0050"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_user_id"))
