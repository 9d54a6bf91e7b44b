"""The demo generator's bulk path (issue 17: the registry build) against the per-patient code.

The generator makes and counts its patients in chunks, in worker processes when there is more
than one chunk, numbers the ids of each chunk from 1 and shifts them as it writes, and writes
driver values (COPY on PostgreSQL). These tests hold it to what the one-by-one paths give: the
same rows however the cohort is split, and day units, window sums and migraine status equal a
recount of each patient through the services' refresh.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func, select, text
from sqlalchemy.exc import IntegrityError

from acuhead import demo
from acuhead.store import block_aggregates
from acuhead.store.bulk import bulk_insert, secondary_indexes
from acuhead.store.day_units import refresh_day_units
from acuhead.store.db import SQLITE_AUTOCHECKPOINT_PAGES, Database, upgrade
from acuhead.store.models import (
    AdverseEventRow,
    AttackRow,
    AuraSymptomRow,
    BlockAggregateRow,
    CourseRow,
    DayUnitRow,
    DiaryDayRow,
    IntensityReadingRow,
    MedicationDoseRow,
    Patient,
    TreatmentSessionRow,
)

END = dt.date(2026, 6, 30)
# Columns filled from the wall clock, and the ids the database assigns (not the generator).
VOLATILE = {"created_utc"}
DB_IDS = {IntensityReadingRow, AuraSymptomRow, MedicationDoseRow, AdverseEventRow, DiaryDayRow}
MODELS = (
    Patient,
    DiaryDayRow,
    AttackRow,
    IntensityReadingRow,
    AuraSymptomRow,
    MedicationDoseRow,
    CourseRow,
    TreatmentSessionRow,
    AdverseEventRow,
    DayUnitRow,
    BlockAggregateRow,
)


def snapshot(db: Database, model: Any) -> list[tuple[Any, ...]]:
    """A table's rows, without volatile columns, sorted (ids the generator assigns included)."""
    table: Table = model.__table__
    skip = VOLATILE | ({"id"} if model in DB_IDS else set())
    cols = [c for c in table.c if c.name not in skip]
    with db.read() as s:
        rows = [tuple(r) for r in s.execute(select(*cols))]
    return sorted(rows, key=repr)


def test_the_demo_writes_the_same_rows_however_it_is_split(db: Database, tmp_path: Path) -> None:
    # Chunks of 2: three chunks made by worker processes, ids shifted as each is written.
    split = demo.generate(db, patients=5, days=90, seed=3, chunk=2, end=END)
    whole_db = Database(f"sqlite:///{tmp_path / 'whole.sqlite3'}")
    upgrade(whole_db)
    try:
        whole = demo.generate(whole_db, patients=5, days=90, seed=3, chunk=100, end=END)
        assert (split.days, split.attacks) == (whole.days, whole.attacks)
        assert split.attacks > 20
        for model in MODELS:
            assert snapshot(db, model) == snapshot(whole_db, model), model.__tablename__
    finally:
        whole_db.dispose()
    with db.read() as s:  # every child row points at an attack of its own patient
        pairs = s.execute(
            select(MedicationDoseRow.patient_id, AttackRow.patient_id).join(
                AttackRow, AttackRow.id == MedicationDoseRow.attack_id
            )
        ).all()
    assert pairs and all(a == b for a, b in pairs)


def test_bulk_day_units_and_windows_equal_a_recount_of_each_patient(db: Database) -> None:
    demo.generate(db, patients=4, days=150, seed=8, end=END)
    bulk = {m: snapshot(db, m) for m in (Patient, DayUnitRow, BlockAggregateRow)}
    assert len(bulk[BlockAggregateRow]) >= 4 * 5  # baseline and four blocks each at least
    assert any(r[-1] is not None for r in bulk[Patient])  # migraine_diagnosed, from the counts
    with db.read() as s:
        pids = list(s.scalars(select(Patient.id).order_by(Patient.id)))
    with db.write() as s:
        for pid in pids:
            s.get_one(Patient, pid).migraine_diagnosed = None  # recount the whole diary
        for pid in pids:
            refresh_day_units(s, patient_id=pid)  # day units, status and every window
    assert {m: snapshot(db, m) for m in bulk} == bulk
    with db.write() as s:
        block_aggregates.rebuild_all(s)
    assert snapshot(db, BlockAggregateRow) == bulk[BlockAggregateRow]


def indexes(db: Database) -> list[tuple[Any, ...]]:
    """Every index and constraint of the database with its definition, as the database keeps
    them (SQLite keeps a table's constraints in its CREATE TABLE text)."""
    with db.read() as s:
        if db.is_sqlite:
            found = s.execute(text("SELECT type, tbl_name, name, sql FROM sqlite_master"))
        else:
            found = s.execute(
                text(
                    "SELECT 'index', tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = current_schema() UNION ALL "
                    "SELECT contype::text, conrelid::regclass::text, conname, "
                    "pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE connamespace = current_schema()::regnamespace"
                )
            )
        return sorted(tuple(r) for r in found)


def test_a_fresh_build_leaves_every_index_and_key_as_the_migrations_made_them(db: Database) -> None:
    # Into a database with no patient the chunks are loaded with the secondary indexes (and on
    # PostgreSQL the foreign keys) dropped and then made again from their own definitions
    # (store.bulk.indexes_deferred, foreign_keys_deferred).
    before = indexes(db)
    with db.read() as s:
        deferred = secondary_indexes(s, demo._LOADED)
    assert {"ix_diary_days_clinic_day", "ix_day_units_clinic_day_num"} <= {n for n, _ in deferred}
    demo.generate(db, patients=3, days=60, seed=2, end=END)
    assert indexes(db) == before
    if db.is_sqlite:  # the load's connection settings went with its connection
        with db.write() as s:
            conn = s.connection()
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
            assert conn.exec_driver_sql("PRAGMA threads").scalar() == 0
            autocheckpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
            assert autocheckpoint == SQLITE_AUTOCHECKPOINT_PAGES
    demo.generate(db, patients=2, days=60, seed=2, end=END)  # not fresh: chunk by chunk
    assert indexes(db) == before
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 5


def test_a_fresh_build_that_fails_leaves_the_database_as_it_was(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = indexes(db)
    monkeypatch.setattr(demo.os, "sched_getaffinity", lambda _pid: {0})  # no worker processes
    real = demo._insert_chunk
    calls: list[int] = []

    def fail_on_the_second(session: Any, chunk: Any, base: dict[str, int]) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed mid-build")
        real(session, chunk, base)

    monkeypatch.setattr(demo, "_insert_chunk", fail_on_the_second)
    with pytest.raises(RuntimeError, match="killed mid-build"):
        demo.generate(db, patients=4, days=40, seed=2, chunk=2, end=END)
    assert indexes(db) == before
    with db.read() as s:
        for model in (Patient, DiaryDayRow, AttackRow, DayUnitRow):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model.__tablename__
    monkeypatch.setattr(demo, "_insert_chunk", real)
    result = demo.generate(db, patients=4, days=40, seed=2, chunk=2, end=END)  # run again
    assert result.patients == 4 and indexes(db) == before


def test_a_row_without_its_parent_still_fails_a_fresh_build(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The foreign keys dropped for the load (PostgreSQL) check every row when added again.
    before = indexes(db)
    real = demo._insert_chunk

    def with_an_orphan(session: Any, chunk: Any, base: dict[str, int]) -> None:
        real(session, chunk, base)
        columns, rows = chunk.tables["days"]
        orphan = list(rows[0])
        orphan[columns.index("patient_id")] = 999_999
        bulk_insert(session, "diary_days", columns, [tuple(orphan)], binary=False)

    monkeypatch.setattr(demo, "_insert_chunk", with_an_orphan)
    with pytest.raises(IntegrityError):
        demo.generate(db, patients=2, days=40, seed=2, end=END)
    assert indexes(db) == before
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(DiaryDayRow)) == 0
