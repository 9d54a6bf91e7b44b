"""session_versions and patient_contacts: a corrected session keeps its previous version, and
the record editing page keeps the patient's contact details (issue 15).

Revision ID: 0095
Revises: 0090
Create Date: 2026-12-06 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0095"
down_revision = "0090"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("start_local", sa.DateTime(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("prescription_id", sa.Integer(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_utc", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"],
            name=op.f("fk_session_versions_clinic_id_clinics"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"],
            name=op.f("fk_session_versions_patient_id_patients"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["treatment_sessions.id"],
            name=op.f("fk_session_versions_session_id_treatment_sessions"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"],
            name=op.f("fk_session_versions_changed_by_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_versions")),
        sa.UniqueConstraint("session_id", "version", name=op.f("uq_session_versions_session_id")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_session_versions_clinic_id"), "session_versions", ["clinic_id"], unique=False
    )
    op.create_index(
        op.f("ix_session_versions_patient_id"), "session_versions", ["patient_id"], unique=False
    )
    op.create_table(
        "patient_contacts",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"],
            name=op.f("fk_patient_contacts_clinic_id_clinics"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"],
            name=op.f("fk_patient_contacts_patient_id_patients"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_contacts")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_patient_contacts_clinic_id"), "patient_contacts", ["clinic_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_patient_contacts_clinic_id"), table_name="patient_contacts")
    op.drop_table("patient_contacts")
    op.drop_index(op.f("ix_session_versions_patient_id"), table_name="session_versions")
    op.drop_index(op.f("ix_session_versions_clinic_id"), table_name="session_versions")
    op.drop_table("session_versions")
