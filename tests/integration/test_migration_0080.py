"""Migration 0080 moves questionnaire answers from ``items``/``extra`` into ``answers``, on both
engines, and back again on downgrade: rows stored by the previous version keep every answer.

Each engine gets a fresh, empty database that is migrated to 0070 (the shape before), filled
with rows as that version wrote them, then upgraded; the rows are read back with plain SQL.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from acuhead.store.db import Database, alembic_config, upgrade

PG_ADMIN_URL = os.environ.get(
    "ACUHEAD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# (id, instrument, items, extra, total, band, total_entered) as 0070 stored them.
OLD_ROWS: list[tuple[int, str, list[Any] | None, dict[str, Any], float, str, bool]] = [
    (1, "hit6", [6, 8, 10, 11, 13, 13], {}, 61, "severe", False),
    (2, "hit6", None, {}, 58, "substantial", True),  # a total typed in from paper
    (3, "midas", [1, 2, 0, 4, 5], {"a": 12, "b": 6}, 12, "III", False),
    (4, "midas", [0, 0, 0, 0, 0], {}, 0, "I", False),
    (5, "pss10", [2, 1, 3, 3, 4, 0, 1, 4, 2, 2], {}, 14, "moderate", False),
    (6, "pgic", [2], {}, 2, "much_improved", False),
]
NEW_ANSWERS = {
    1: {"q1": 6, "q2": 8, "q3": 10, "q4": 11, "q5": 13, "q6": 13},
    2: {},
    3: {"q1": 1, "q2": 2, "q3": 0, "q4": 4, "q5": 5, "a": 12, "b": 6},
    4: {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0},
    5: {f"q{n}": v for n, v in enumerate([2, 1, 3, 3, 4, 0, 1, 4, 2, 2], start=1)},
    6: {"q1": 2},
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A brand-new database with no schema at all on each engine."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        yield database
        database.dispose()
        return
    name = f"acuhead_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(PG_ADMIN_URL).set(database=name).render_as_string(False))
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _seed_patient(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO clinics (id, name, created_utc) VALUES (1, 'c', :t)"),
            {"t": "2026-01-01 00:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO patients (id, clinic_id, external_id, display_name, sex, timezone,"
                " safety, version, created_utc) VALUES (1, 1, 'P-1', '', 'unknown', 'UTC',"
                " '{}', 1, :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )


def _seed_0070(db: Database) -> None:
    _seed_patient(db)
    with db.engine.begin() as conn:
        for row_id, inst, items, extra, total, band, entered in OLD_ROWS:
            conn.execute(
                text(
                    "INSERT INTO questionnaires (id, clinic_id, patient_id, instrument,"
                    " completed_on, recall_period, items, extra, total, band, total_entered,"
                    " created_utc) VALUES (:id, 1, 1, :inst, :day, 'r', :items, :extra,"
                    " :total, :band, :entered, :t)"
                ),
                {
                    "id": row_id,
                    "inst": inst,
                    "day": f"2026-02-{row_id:02d}",
                    "items": None if items is None else json.dumps(items),
                    "extra": json.dumps(extra),
                    "total": total,
                    "band": band,
                    "entered": entered,
                    "t": "2026-01-01 00:00:00",
                },
            )


def _read(db: Database, columns: str, json_columns: int = 1) -> dict[int, tuple[Any, ...]]:
    """Rows by id; the first ``json_columns`` columns are JSON (SQLite gives them as text)."""
    out: dict[int, tuple[Any, ...]] = {}
    with db.engine.connect() as conn:
        for r in conn.execute(text(f"SELECT id, {columns} FROM questionnaires ORDER BY id")):
            values = list(r[1:])
            for n in range(json_columns):
                if isinstance(values[n], str):
                    values[n] = json.loads(values[n])
            out[r[0]] = tuple(values)
    return out


def test_0080_moves_every_answer_and_back(empty: Database) -> None:
    upgrade(empty, "0070")
    _seed_0070(empty)

    upgrade(empty, "0080")
    columns = {c["name"] for c in inspect(empty.engine).get_columns("questionnaires")}
    assert "answers" in columns and not {"items", "extra"} & columns
    moved = _read(empty, "answers, total, band, total_entered")
    assert {k: v[0] for k, v in moved.items()} == NEW_ANSWERS
    # Totals, bands and the paper-total flag are untouched.
    assert [(v[1], v[2], bool(v[3])) for v in moved.values()] == [
        (r[4], r[5], r[6]) for r in OLD_ROWS
    ]

    cfg = alembic_config(empty.url)
    with empty.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0070")
    columns = {c["name"] for c in inspect(empty.engine).get_columns("questionnaires")}
    assert "answers" not in columns and {"items", "extra"} <= columns
    back = _read(empty, "items, extra", json_columns=2)
    assert back == {r[0]: (r[2], r[3]) for r in OLD_ROWS}


def test_0080_new_rows_default_to_no_answers(empty: Database) -> None:
    """A row written without answers (a raw insert, as an older writer would) reads as {}."""
    upgrade(empty)
    _seed_patient(empty)
    with empty.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO questionnaires (clinic_id, patient_id, instrument, completed_on,"
                " recall_period, total, band, total_entered, created_utc) VALUES"
                " (1, 1, 'hit6', '2026-02-01', 'r', 50, 'some', :t, '2026-01-01 00:00:00')"
            ),
            {"t": True},
        )
    assert [v[0] for v in _read(empty, "answers").values()] == [{}]
