"""questionnaires.answers: every answer by item key, one shape for every instrument

Before, a questionnaire row kept its scored answers as a list (``items``) and MIDAS's recorded
questions A and B in ``extra``: the shape of the row depended on the instrument. Now every
instrument's answers are one JSON object keyed by the item keys of its spec in
``domain/instruments/`` (``{"q1": 6, ..., "q6": 13}``; MIDAS ``{"q1": .., "q5": .., "a": 12,
"b": 6}``; a HIT-6 total typed in from paper has none: ``{}``), beside the instrument id,
total and band the row already had (issue 16, instrument registry).

The data step is written out here rather than read from the registry, so this migration means
the same thing whatever the registry later holds: list position i becomes key ``q<i+1>`` (the
key every instrument of 0070 used for its i-th scored item), and ``extra`` keys are kept.

Columns are added and dropped in place (SQLite >= 3.35 drops a column the way PostgreSQL does)
so no table is rebuilt.

Revision ID: 0080
Revises: 0070
Create Date: 2026-12-06 21:30:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0080"
down_revision = "0070"
branch_labels = None
depends_on = None

_BATCH = 1000


def _rows(columns: list[str]) -> list[sa.Row[Any]]:
    table = sa.table("questionnaires", sa.column("id"), *(sa.column(c, sa.JSON()) for c in columns))
    return list(op.get_bind().execute(sa.select(table).order_by(table.c.id)))


def _update(column: str, values: list[dict[str, Any]], kind: Any = None) -> None:
    table = sa.table("questionnaires", sa.column("id"), sa.column(column, kind or sa.JSON()))
    stmt = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values({column: sa.bindparam("value", type_=kind or sa.JSON())})
    )
    for start in range(0, len(values), _BATCH):
        op.get_bind().execute(stmt, values[start : start + _BATCH])


def upgrade() -> None:
    op.add_column(
        "questionnaires",
        sa.Column("answers", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    moved = []
    for row_id, items, extra in _rows(["items", "extra"]):
        answers = {f"q{n}": v for n, v in enumerate(items or [], start=1)}
        answers.update(extra or {})
        if answers:
            moved.append({"row_id": row_id, "value": answers})
    _update("answers", moved)
    op.drop_column("questionnaires", "items")
    op.drop_column("questionnaires", "extra")


def downgrade() -> None:
    op.add_column("questionnaires", sa.Column("items", sa.JSON(), nullable=True))
    op.add_column(
        "questionnaires",
        sa.Column("extra", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    items, extra = [], []
    for row_id, answers in _rows(["answers"]):
        answers = dict(answers or {})
        scored = sorted(
            (int(k[1:]), v) for k, v in answers.items() if k.startswith("q") and k[1:].isdigit()
        )
        if scored:
            items.append({"row_id": row_id, "value": [v for _, v in scored]})
        rest = {k: v for k, v in answers.items() if not (k.startswith("q") and k[1:].isdigit())}
        if rest:
            extra.append({"row_id": row_id, "value": rest})
    _update("items", items)
    _update("extra", extra)
    op.drop_column("questionnaires", "answers")
