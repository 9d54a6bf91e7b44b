"""A whole-diary recount of day units reads the attacks without listing their ids in one
statement (issue 13 item 5): it sent one IN list of every attack id, past PostgreSQL's 65,535
and SQLite's 32,766 bind parameters for a long diary. Both engines (`db` fixture).

The same recount of a patient with 66,000 attacks passed on both engines once (2026-12-06), but
took 88 s (SQLite) and 160 s (PostgreSQL) on the shared machine: too slow for ``make test``, so
the test below counts the parameters each statement binds instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, event, func, insert, select
from sqlalchemy.engine import Engine

from acuhead.services import accounts, diary
from acuhead.services.actors import Actor
from acuhead.store.day_units import refresh_day_units
from acuhead.store.db import Database
from acuhead.store.models import AttackRow, DayUnitRow

BASE = dt.datetime(2001, 1, 1, 6, 0)


def _patient_with_attacks(db: Database, n: int) -> int:
    """A patient with ``n`` attacks, one a day, every third a migraine-like one."""
    with db.write() as s:
        cid = accounts.create_clinic(s, name="C").id
        pid = diary.create_patient(s, actor=Actor.system(cid), external_id="long").id
        rows = []
        for i in range(n):
            start = BASE + dt.timedelta(days=i)
            rows.append(
                {
                    "clinic_id": cid,
                    "patient_id": pid,
                    "start_utc": start,
                    "start_local": start,
                    "end_local": start + dt.timedelta(hours=5),
                    "peak_intensity": 7 if i % 3 == 0 else 3,
                    "side": "left",
                    "locations": ["temporal"],
                    "quality": ["pulsating"] if i % 3 == 0 else ["pressing"],
                    "nausea": "moderate" if i % 3 == 0 else "none",
                    "photophobia": i % 3 == 0,
                    "phonophobia": i % 3 == 0,
                    "version": 1,
                }
            )
        table: Table = AttackRow.__table__  # type: ignore[assignment]
        conn = s.connection()
        for lo in range(0, n, 2_000):
            conn.execute(insert(table), rows[lo : lo + 2_000])
    return pid


@contextmanager
def _largest_statement(engine: Engine) -> Iterator[list[int]]:
    """The number of bind parameters of each single statement sent meanwhile."""
    seen: list[int] = []

    def count(
        _conn: Any, _cursor: Any, _sql: str, params: Any, _ctx: Any, executemany: bool
    ) -> None:
        if not executemany and params is not None:
            seen.append(len(params))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_whole_recount_binds_few_parameters_however_long_the_diary(db: Database) -> None:
    """1,200 attacks: the old code bound 1,200 parameters in one statement (and more than
    65,535 failed on PostgreSQL); the ORM's own loads of child rows go 500 at a time."""
    pid = _patient_with_attacks(db, 1_200)
    with _largest_statement(db.engine) as seen, db.write() as s:
        written = refresh_day_units(s, patient_id=pid)
    assert written == 1_200  # one day each: a 5 h attack from 06:00 ends the same day
    assert max(seen) <= 500
    with db.read() as s:
        days = select(func.count()).where(DayUnitRow.patient_id == pid)
        assert s.scalar(days) == 1_200
        assert s.scalar(days.where(DayUnitRow.migraine.is_(True))) == 400  # the 1.1 attacks
