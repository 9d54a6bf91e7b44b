"""treatment_sessions: a covering index for the practice report's anchors

The report groups a clinic's sessions by patient (first session = the outcome anchor, the
count, the scored sessions' relief). With only the clinic_id index, SQLite read every session
row through the table; this index holds every column that statement reads, in patient order
within the clinic (issue 17: the report within 3x of DuckDB at 10,000 x 365).

Revision ID: 0115
Revises: 0110
Create Date: 2026-12-07 07:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0115"
down_revision = "0110"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_treatment_sessions_clinic_anchor",
        "treatment_sessions",
        ["clinic_id", "patient_id", "start_local", "pain_before", "pain_after"],
    )


def downgrade() -> None:
    op.drop_index("ix_treatment_sessions_clinic_anchor", table_name="treatment_sessions")
