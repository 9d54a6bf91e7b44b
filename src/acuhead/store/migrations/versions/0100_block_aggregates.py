"""block_aggregates: per patient x outcome window sums of day_units, kept on write (issue 17)

One row per patient and window (baseline -1, then 28-day blocks from the first treatment
session; the default windows, CLINICAL.md 3) with the sums ``domain.outcomes.BlockCounts``
holds. Filled here for everyone in one grouped statement over ``day_units`` (the same windows
as ``analytics.cohort.block_counts_select``); from then on ``store.block_aggregates`` keeps it
in step in the transaction of every diary and session write. ``acuhead db
rebuild-aggregates`` rebuilds it again.

Revision ID: 0100
Revises: 0095
Create Date: 2026-12-06 22:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0100"
down_revision = "0095"
branch_labels = None
depends_on = None

COUNTS = (
    "recorded_days",
    "late_days",
    "migraine_days",
    "headache_days",
    "moderate_severe_days",
    "acute_medication_days",
    "migraine_specific_medication_days",
    "triptan_days",
    "attacks",
    "peak_sum",
    "peak_n",
    "headache_minutes",
    "stress_sum",
    "stress_n",
    "neck_tension_sum",
    "neck_tension_n",
    "sleep_hours_sum",
    "sleep_hours_n",
    "migraine_uncertain_days",
)

# The same sums in COUNTS order, frozen here (the migration must not change with the app).
SUMS = (
    "SUM(CASE WHEN du.recorded THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN du.late THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN du.migraine THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN du.headache THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN du.moderate_severe THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN du.acute_med THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN du.migraine_specific_med THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN du.triptan THEN 1 ELSE 0 END)",
    "SUM(du.attacks_started)",
    "SUM(du.peak_sum)",
    "SUM(du.peak_n)",
    "SUM(du.headache_minutes)",
    "COALESCE(SUM(du.stress), 0)",
    "COUNT(du.stress)",
    "COALESCE(SUM(du.neck_tension), 0)",
    "COUNT(du.neck_tension)",
    "COALESCE(SUM(du.sleep_hours), 0.0)",
    "COUNT(du.sleep_hours)",
    "SUM(CASE WHEN du.migraine_uncertain THEN 1 ELSE 0 END)",
)


def _fill_sql(dialect: str) -> str:
    if dialect == "sqlite":
        anchor = "CAST(julianday(date(MIN(ts.start_local))) - 2440587.5 AS INTEGER)"
    else:
        anchor = "(CAST(MIN(ts.start_local) AS DATE) - DATE '1970-01-01')"
    return (
        f"INSERT INTO block_aggregates (patient_id, block, clinic_id, {', '.join(COUNTS)}) "  # noqa: S608 - constants only
        "SELECT du.patient_id, CASE WHEN du.day_num < a.anchor THEN -1 "
        "ELSE (du.day_num - a.anchor) / 28 END AS blk, a.clinic_id, "
        f"{', '.join(SUMS)} "
        "FROM day_units du JOIN ("
        f"SELECT ts.patient_id, p.clinic_id, {anchor} AS anchor "
        "FROM treatment_sessions ts JOIN patients p "
        "ON p.id = ts.patient_id AND ts.clinic_id = p.clinic_id "
        "GROUP BY ts.patient_id, p.clinic_id) a ON a.patient_id = du.patient_id "
        "WHERE du.day_num >= a.anchor - 28 "
        "GROUP BY du.patient_id, blk, a.clinic_id"
    )


def upgrade() -> None:
    columns: list[sa.Column[Any]] = [
        sa.Column(
            "patient_id",
            sa.Integer(),
            sa.ForeignKey("patients.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("block", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column(
            "clinic_id",
            sa.Integer(),
            sa.ForeignKey("clinics.id", ondelete="CASCADE"),
            nullable=False,
        ),
    ]
    columns += [
        sa.Column(c, sa.Float() if c == "sleep_hours_sum" else sa.Integer(), nullable=False)
        for c in COUNTS
    ]
    op.create_table("block_aggregates", *columns, sqlite_with_rowid=False)
    op.execute(_fill_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table("block_aggregates")
