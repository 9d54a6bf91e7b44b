"""Backup and restore round-trip on both engines: every row comes back identical."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text

from acuhead import demo
from acuhead.store import backup
from acuhead.store.db import Database
from acuhead.store.models import AttackRow, Base, DiaryDayRow


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            pk = [c for c in table.primary_key.columns]
            rows = conn.execute(select(table).order_by(*pk)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def test_backup_then_restore_gives_back_every_row(db: Database, tmp_path: Path) -> None:
    demo.generate(db, patients=4, days=70, seed=3, end=dt.date(2026, 6, 30))
    before = snapshot(db)
    assert len(before["diary_days"]) > 200 and len(before["treatment_sessions"]) > 10
    file = backup.backup(db, tmp_path / "acuhead.backup")
    assert file.stat().st_size > 0
    with db.write() as s:
        s.execute(delete(AttackRow))
        s.execute(delete(DiaryDayRow).where(DiaryDayRow.headache.is_(False)))
    assert snapshot(db) != before
    backup.restore(db, file)
    assert snapshot(db) == before
    with db.read() as s:  # the restored database is usable, with sequences intact
        assert s.execute(text("SELECT 1")).scalar() == 1


def test_restore_refuses_a_file_that_is_not_a_backup(db: Database, tmp_path: Path) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(backup.BackupError):
        backup.restore(db, junk)
