"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 05:08:55.371621
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinics")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at_utc", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_key_hash"), ["key_hash"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_users_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("at_utc", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_audit_events_clinic_id_clinics"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_clinic_at", ["clinic_id", "at_utc"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_events_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.Column("expires_utc", sa.DateTime(), nullable=False),
        sa.Column("revoked_utc", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_auth_sessions_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_sessions_token_hash")),
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("safety", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_patients_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["users.id"],
            name=op.f("fk_patients_practitioner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_patients_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("clinic_id", "external_id", name=op.f("uq_patients_clinic_id")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "attacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("start_utc", sa.DateTime(), nullable=False),
        sa.Column("end_utc", sa.DateTime(), nullable=True),
        sa.Column("start_local", sa.DateTime(), nullable=False),
        sa.Column("end_local", sa.DateTime(), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=True),
        sa.Column("peak_intensity", sa.Integer(), nullable=True),
        sa.Column("side", sa.String(length=10), nullable=True),
        sa.Column("locations", sa.JSON(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("aggravated_by_activity", sa.Boolean(), nullable=True),
        sa.Column("nausea", sa.String(length=10), nullable=True),
        sa.Column("vomiting", sa.Boolean(), nullable=True),
        sa.Column("photophobia", sa.Boolean(), nullable=True),
        sa.Column("phonophobia", sa.Boolean(), nullable=True),
        sa.Column("osmophobia", sa.Boolean(), nullable=True),
        sa.Column("cranial_autonomic", sa.JSON(), nullable=False),
        sa.Column("restlessness", sa.Boolean(), nullable=True),
        sa.Column("triggers", sa.JSON(), nullable=False),
        sa.Column("warning_signs", sa.JSON(), nullable=False),
        sa.Column("treated", sa.Boolean(), nullable=True),
        sa.Column("recorded_utc", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_attacks_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_attacks_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attacks")),
    )
    with op.batch_alter_table("attacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attacks_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            "ix_attacks_patient_start", ["patient_id", "start_local"], unique=False
        )

    op.create_table(
        "diary_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("headache", sa.Boolean(), nullable=False),
        sa.Column("stress", sa.Integer(), nullable=True),
        sa.Column("sleep_hours", sa.Float(), nullable=True),
        sa.Column("neck_tension", sa.Integer(), nullable=True),
        sa.Column("menstruating", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("triggers", sa.JSON(), nullable=False),
        sa.Column("recorded_utc", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_diary_days_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_diary_days_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diary_days")),
        sa.UniqueConstraint("patient_id", "day", name=op.f("uq_diary_days_patient_id")),
    )
    with op.batch_alter_table("diary_days", schema=None) as batch_op:
        batch_op.create_index("ix_diary_days_clinic_day", ["clinic_id", "day"], unique=False)

    op.create_table(
        "regimens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("stop", sa.Date(), nullable=True),
        sa.Column("dose", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_regimens_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_regimens_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regimens")),
    )
    with op.batch_alter_table("regimens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_regimens_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "aura_symptoms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("attack_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("symptom", sa.Text(), nullable=False),
        sa.Column("onset_local", sa.DateTime(), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=True),
        sa.Column("gradual_spread", sa.Boolean(), nullable=True),
        sa.Column("unilateral", sa.Boolean(), nullable=True),
        sa.Column("positive", sa.Boolean(), nullable=True),
        sa.Column("headache_within_60_min", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attack_id"],
            ["attacks.id"],
            name=op.f("fk_aura_symptoms_attack_id_attacks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_aura_symptoms_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aura_symptoms")),
    )
    with op.batch_alter_table("aura_symptoms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aura_symptoms_attack_id"), ["attack_id"], unique=False)

    op.create_table(
        "intensity_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("attack_id", sa.Integer(), nullable=False),
        sa.Column("at_local", sa.DateTime(), nullable=False),
        sa.Column("intensity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attack_id"],
            ["attacks.id"],
            name=op.f("fk_intensity_readings_attack_id_attacks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_intensity_readings_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intensity_readings")),
    )
    with op.batch_alter_table("intensity_readings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intensity_readings_attack_id"), ["attack_id"], unique=False
        )

    op.create_table(
        "medication_doses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("attack_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("med_class", sa.String(length=30), nullable=False),
        sa.Column("taken_local", sa.DateTime(), nullable=True),
        sa.Column("taken_day", sa.Date(), nullable=False),
        sa.Column("dose", sa.String(length=50), nullable=True),
        sa.Column("effect", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["attack_id"],
            ["attacks.id"],
            name=op.f("fk_medication_doses_attack_id_attacks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_medication_doses_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_medication_doses_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medication_doses")),
    )
    with op.batch_alter_table("medication_doses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_medication_doses_attack_id"), ["attack_id"], unique=False
        )
        batch_op.create_index(
            "ix_medication_doses_patient_day", ["patient_id", "taken_day"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("medication_doses", schema=None) as batch_op:
        batch_op.drop_index("ix_medication_doses_patient_day")
        batch_op.drop_index(batch_op.f("ix_medication_doses_attack_id"))

    op.drop_table("medication_doses")
    with op.batch_alter_table("intensity_readings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intensity_readings_attack_id"))

    op.drop_table("intensity_readings")
    with op.batch_alter_table("aura_symptoms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aura_symptoms_attack_id"))

    op.drop_table("aura_symptoms")
    with op.batch_alter_table("regimens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_regimens_patient_id"))

    op.drop_table("regimens")
    with op.batch_alter_table("diary_days", schema=None) as batch_op:
        batch_op.drop_index("ix_diary_days_clinic_day")

    op.drop_table("diary_days")
    with op.batch_alter_table("attacks", schema=None) as batch_op:
        batch_op.drop_index("ix_attacks_patient_start")
        batch_op.drop_index(batch_op.f("ix_attacks_clinic_id"))

    op.drop_table("attacks")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_clinic_id"))

    op.drop_table("patients")
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_sessions_user_id"))

    op.drop_table("auth_sessions")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_patient_id"))
        batch_op.drop_index("ix_audit_events_clinic_at")

    op.drop_table("audit_events")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_clinic_id"))

    op.drop_table("users")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_key_hash"))

    op.drop_table("login_attempts")
    op.drop_table("clinics")
