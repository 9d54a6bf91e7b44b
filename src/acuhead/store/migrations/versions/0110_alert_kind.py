"""red_flag_alerts.kind: an alert is a SNNOOP10 red flag or a questionnaire's self-harm answer

A questionnaire's safety item (the depression questionnaire's item on thoughts of self-harm,
``domain.questionnaires.safety_concern``) must reach the clinic's staff as red flags do: an
open, acknowledgeable alert on the patient, first on the dashboard. It shares the alerts table
and its screens, and ``kind`` keeps the two apart where they differ: only "red_flag" alerts
carry SNNOOP10 findings and block treatment planning. Every existing alert is "red_flag".

Revision ID: 0110
Revises: 0105
Create Date: 2026-12-07 05:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0110"
down_revision = "0105"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place on both engines (no table rebuild: intake_screens points at these rows).
    with op.batch_alter_table("red_flag_alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="red_flag")
        )


def downgrade() -> None:
    # The older version reads every alert as SNNOOP10 findings (its gate would fail on a
    # self-harm alert), and deleting clinical safety records silently is not a downgrade's
    # call: it is refused while any exists, naming how many. Not batch mode: SQLite >= 3.35
    # drops a column in place, as PostgreSQL does.
    count = (
        op.get_bind()
        .execute(sa.text("SELECT COUNT(*) FROM red_flag_alerts WHERE kind <> 'red_flag'"))
        .scalar_one()
    )
    if count:
        raise RuntimeError(
            f"{count} self-harm alert(s) exist; the version before 0110 cannot hold them. "
            "Keep this version, or export and remove them deliberately first."
        )
    op.drop_column("red_flag_alerts", "kind")
