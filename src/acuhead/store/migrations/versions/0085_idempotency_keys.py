"""idempotency_keys, patient_app_settings: the patient app (issue 14)

``idempotency_keys``: a diary write sent again by a phone's offline queue is stored once.
``patient_app_settings``: the patient's chosen reminder time.

Issue 14: the patient app queues day entries and attacks made offline and sends them until it
hears an answer; each carries a key of its own, kept here once per patient with the answer.

Revision ID: 0085
Revises: 0080
Create Date: 2026-12-06 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0085"
down_revision = "0080"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "clinic_id",
            sa.Integer(),
            sa.ForeignKey(
                "clinics.id", ondelete="CASCADE", name="fk_idempotency_keys_clinic_id_clinics"
            ),
            nullable=False,
        ),
        sa.Column(
            "patient_id",
            sa.Integer(),
            sa.ForeignKey(
                "patients.id", ondelete="CASCADE", name="fk_idempotency_keys_patient_id_patients"
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_keys"),
        sa.UniqueConstraint("patient_id", "key", name="uq_idempotency_keys_patient_id"),
    )
    op.create_index(
        "ix_idempotency_keys_created_utc", "idempotency_keys", ["created_utc"], unique=False
    )

    op.create_table(
        "patient_app_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "clinic_id",
            sa.Integer(),
            sa.ForeignKey(
                "clinics.id", ondelete="CASCADE", name="fk_patient_app_settings_clinic_id_clinics"
            ),
            nullable=False,
        ),
        sa.Column(
            "patient_id",
            sa.Integer(),
            sa.ForeignKey(
                "patients.id",
                ondelete="CASCADE",
                name="fk_patient_app_settings_patient_id_patients",
            ),
            nullable=False,
        ),
        sa.Column("reminder_minute", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patient_app_settings"),
        sa.UniqueConstraint("patient_id", name="uq_patient_app_settings_patient_id"),
    )


def downgrade() -> None:
    op.drop_table("patient_app_settings")
    op.drop_index("ix_idempotency_keys_created_utc", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
