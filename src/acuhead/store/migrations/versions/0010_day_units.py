"""day units: materialised diary-day units for set-based outcome queries

Revision ID: 0010
Revises: 0002
Create Date: 2026-11-27 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "day_units",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("day_num", sa.Integer(), nullable=False),
        sa.Column("recorded", sa.Boolean(), nullable=False),
        sa.Column("migraine", sa.Boolean(), nullable=False),
        sa.Column("headache", sa.Boolean(), nullable=False),
        sa.Column("moderate_severe", sa.Boolean(), nullable=False),
        sa.Column("acute_med", sa.Boolean(), nullable=False),
        sa.Column("migraine_specific_med", sa.Boolean(), nullable=False),
        sa.Column("triptan", sa.Boolean(), nullable=False),
        sa.Column("attacks_started", sa.Integer(), nullable=False),
        sa.Column("peak_sum", sa.Integer(), nullable=False),
        sa.Column("peak_n", sa.Integer(), nullable=False),
        sa.Column("headache_minutes", sa.Integer(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("stress", sa.Integer(), nullable=True),
        sa.Column("sleep_hours", sa.Float(), nullable=True),
        sa.Column("neck_tension", sa.Integer(), nullable=True),
        sa.Column("menstruating", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_day_units_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_day_units_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", "day", name=op.f("pk_day_units")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("day_units", schema=None) as batch_op:
        batch_op.create_index("ix_day_units_clinic_day_num", ["clinic_id", "day_num"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("day_units", schema=None) as batch_op:
        batch_op.drop_index("ix_day_units_clinic_day_num")

    op.drop_table("day_units")
