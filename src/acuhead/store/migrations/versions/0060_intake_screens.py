"""intake_screens: each completed SNNOOP10 intake screen, for the safety gate (issue 12)

The gate (``acuhead.domain.readiness``) needs the date of the latest complete screen and the
first-headache date it recorded; until now a screen only opened an alert when it found
something, so "screened, nothing found" and "never screened" looked the same.

Revision ID: 0060
Revises: 0050
Create Date: 2026-12-06 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0060"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("first_headache_onset", sa.Date(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("screened_by", sa.Integer(), nullable=True),
        sa.Column("recorded_utc", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_intake_screens_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_intake_screens_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["red_flag_alerts.id"],
            name=op.f("fk_intake_screens_alert_id_red_flag_alerts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["screened_by"],
            ["users.id"],
            name=op.f("fk_intake_screens_screened_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_screens")),
    )
    op.create_index(
        "ix_intake_screens_patient_day", "intake_screens", ["patient_id", "screened_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_intake_screens_patient_day", table_name="intake_screens")
    op.drop_table("intake_screens")
