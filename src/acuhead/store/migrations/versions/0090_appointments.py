"""appointments, calendar feeds and the clinic's time zone (issue 15)

The practitioner's day: booked slots (stored as UTC instants with the clinic zone beside them),
linked to the treatment session recorded from them, and per-practitioner iCalendar feeds whose
secret token is stored hashed. ``clinics.timezone`` defaults to UTC for existing clinics.

Revision ID: 0090
Revises: 0085
Create Date: 2026-12-06 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0090"
down_revision = "0085"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"))
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "clinic_id",
            sa.Integer(),
            sa.ForeignKey(
                "clinics.id", ondelete="CASCADE", name="fk_appointments_clinic_id_clinics"
            ),
            nullable=False,
        ),
        sa.Column(
            "patient_id",
            sa.Integer(),
            sa.ForeignKey(
                "patients.id", ondelete="CASCADE", name="fk_appointments_patient_id_patients"
            ),
            nullable=False,
        ),
        sa.Column(
            "practitioner_id",
            sa.Integer(),
            sa.ForeignKey(
                "users.id", ondelete="CASCADE", name="fk_appointments_practitioner_id_users"
            ),
            nullable=False,
        ),
        sa.Column("start_utc", sa.DateTime(), nullable=False),
        sa.Column("end_utc", sa.DateTime(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey(
                "treatment_sessions.id",
                ondelete="SET NULL",
                name="fk_appointments_session_id_treatment_sessions",
            ),
            nullable=True,
        ),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_appointments_created_by_users"),
            nullable=True,
        ),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
    )
    op.create_index("ix_appointments_patient_id", "appointments", ["patient_id"])
    op.create_index(
        "ix_appointments_practitioner_start", "appointments", ["practitioner_id", "start_utc"]
    )
    op.create_index("ix_appointments_clinic_start", "appointments", ["clinic_id", "start_utc"])
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "clinic_id",
            sa.Integer(),
            sa.ForeignKey(
                "clinics.id", ondelete="CASCADE", name="fk_calendar_feeds_clinic_id_clinics"
            ),
            nullable=False,
        ),
        sa.Column(
            "practitioner_id",
            sa.Integer(),
            sa.ForeignKey(
                "users.id", ondelete="CASCADE", name="fk_calendar_feeds_practitioner_id_users"
            ),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.Column("revoked_utc", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_feeds"),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feeds_token_hash"),
    )
    op.create_index("ix_calendar_feeds_practitioner_id", "calendar_feeds", ["practitioner_id"])


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_table("appointments")
    # In place on both engines (SQLite 3.35+ drops a column itself): a batch rebuild would drop
    # and recreate ``clinics``, and with foreign keys on that deletes every patient row.
    op.drop_column("clinics", "timezone")
