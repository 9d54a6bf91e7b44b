"""The ``acuhead`` command on both engines: clinics, import (all-or-nothing), export, demo."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from acuhead import demo
from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.store.db import Database, upgrade
from acuhead.store.models import AttackRow, DiaryDayRow, Patient

# A copy of ../shared/examples/diary-document.json, so the suite needs nothing outside the repo.
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "diary-document.json"

DOC: dict[str, Any] = {
    "format": "acuhead.diary/1",
    "patient": {
        "external_id": "cli-001",
        "birth_date": "1986-09-14",
        "sex": "female",
        "timezone": "Europe/Berlin",
    },
    "days": [
        {"date": "2026-02-02", "headache": True, "stress": 7},
        {"date": "2026-02-03", "headache": False},
    ],
    "attacks": [
        {
            "start": "2026-02-02T06:30:00",
            "end": "2026-02-02T19:00:00",
            "peak_intensity": 7,
            "medications": [{"name": "sumatriptan", "class": "triptan"}],
        },
        {"start": "2026-02-03T23:00:00", "end": "2026-02-04T03:00:00", "peak_intensity": 4},
    ],
}


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_clinics_create_and_list_as_json(cli: CliRunner) -> None:
    r = cli.invoke(app, ["clinics", "create", "North Clinic"])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["clinics", "list", "--format", "json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout) == [{"id": 1, "name": "North Clinic"}]


def test_import_then_export_round_trips_the_diary(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    cli.invoke(app, ["clinics", "create", "C"])
    f = tmp_path / "diary.json"
    f.write_text(json.dumps(DOC))
    r = cli.invoke(app, ["import", str(f)])
    assert r.exit_code == 0, r.output
    assert _count(db, AttackRow) == 2 and _count(db, DiaryDayRow) == 2
    r = cli.invoke(app, ["export", "cli-001", "--format", "json"])
    assert r.exit_code == 0, r.output
    exported = json.loads(r.stdout)
    assert exported["patient"]["timezone"] == "Europe/Berlin"
    assert [a["start"] for a in exported["attacks"]] == [a["start"] for a in DOC["attacks"]]
    assert exported["attacks"][0]["medications"][0]["class"] == "triptan"
    assert [d["date"] for d in exported["days"]] == ["2026-02-02", "2026-02-03"]
    # Importing the export again changes nothing (idempotent merge).
    f.write_text(r.stdout)
    assert cli.invoke(app, ["import", str(f)]).exit_code == 0
    assert _count(db, AttackRow) == 2 and _count(db, Patient) == 1


def test_import_with_one_bad_value_imports_nothing_and_names_the_path(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    cli.invoke(app, ["clinics", "create", "C"])
    bad = copy.deepcopy(DOC)
    bad["attacks"][1]["peak_intensity"] = 11
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    r = cli.invoke(app, ["import", str(f)])
    assert r.exit_code == 2
    assert "attacks[1].peak_intensity" in r.output
    assert _count(db, Patient) == 0 and _count(db, AttackRow) == 0 and _count(db, DiaryDayRow) == 0


def test_import_reports_a_json_syntax_error_with_its_line(cli: CliRunner, tmp_path: Path) -> None:
    cli.invoke(app, ["clinics", "create", "C"])
    f = tmp_path / "broken.json"
    f.write_text('{\n  "format": "acuhead.diary/1",\n  "patient": \n}')
    r = cli.invoke(app, ["import", str(f)])
    assert r.exit_code == 2 and "line 4" in r.output


def test_import_needs_a_clinic_when_there_are_several(cli: CliRunner, tmp_path: Path) -> None:
    cli.invoke(app, ["clinics", "create", "A"])
    cli.invoke(app, ["clinics", "create", "B"])
    f = tmp_path / "d.json"
    f.write_text(json.dumps(DOC))
    r = cli.invoke(app, ["import", str(f)])
    assert r.exit_code == 2 and "--clinic" in r.output
    assert cli.invoke(app, ["import", str(f), "--clinic", "2"]).exit_code == 0


def test_the_shared_example_document_imports(cli: CliRunner, db: Database) -> None:
    cli.invoke(app, ["clinics", "create", "C"])
    r = cli.invoke(app, ["import", str(EXAMPLE)])
    assert r.exit_code == 0, r.output
    assert _count(db, AttackRow) == 2


def test_export_of_an_unknown_patient_says_not_found(cli: CliRunner) -> None:
    cli.invoke(app, ["clinics", "create", "C"])
    r = cli.invoke(app, ["export", "nobody", "--format", "json"])
    assert r.exit_code == 3 and "not found" in r.output


def test_demo_is_deterministic_for_a_seed(cli: CliRunner, db: Database, tmp_path: Path) -> None:
    r = cli.invoke(app, ["demo", "--patients", "3", "--days", "60", "--seed", "7"])
    assert r.exit_code == 0, r.output
    with db.read() as s:
        first = [
            (a.start_local, a.peak_intensity)
            for a in s.scalars(select(AttackRow).order_by(AttackRow.id))
        ]
        days = _count(db, DiaryDayRow)
    assert first and days > 100
    assert _count(db, Patient) == 3
    other = Database(f"sqlite:///{tmp_path / 'again.sqlite3'}")
    upgrade(other)
    demo.generate(other, patients=3, days=60, seed=7)
    with other.read() as s:
        again = [
            (a.start_local, a.peak_intensity)
            for a in s.scalars(select(AttackRow).order_by(AttackRow.id))
        ]
    other.dispose()
    assert again == first
    # The patient login sees a diary.
    with db.read() as s:
        assert s.scalar(select(func.count()).where(Patient.user_id.is_not(None))) == 1


def test_demo_patients_export_and_import_again_into_an_empty_database(
    cli: CliRunner, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Demo diaries obey the document's own rules (e.g. readings inside their attack), so a
    clinic trying acuhead out can move a demo patient through export and import."""
    r = cli.invoke(app, ["demo", "--patients", "4", "--days", "90", "--seed", "3"])
    assert r.exit_code == 0, r.output
    with db.read() as s:
        ids = list(s.scalars(select(Patient.external_id).order_by(Patient.id)))
        attacks = _count(db, AttackRow)
    assert attacks > 0
    other = tmp_path / "other.sqlite3"
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", f"sqlite:///{other}")
    get_settings.cache_clear()
    upgrade(Database(f"sqlite:///{other}"))
    assert cli.invoke(app, ["clinics", "create", "Other"]).exit_code == 0
    for external_id in ids:
        monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
        get_settings.cache_clear()
        r = cli.invoke(app, ["export", external_id, "--format", "json"])
        assert r.exit_code == 0, r.output
        f = tmp_path / f"{external_id}.json"
        f.write_text(r.stdout)
        monkeypatch.setenv("ACUHEAD_DATABASE_URL", f"sqlite:///{other}")
        get_settings.cache_clear()
        r = cli.invoke(app, ["import", str(f)])
        assert r.exit_code == 0, f"{external_id}: {r.output}"
    copy_db = Database(f"sqlite:///{other}")
    assert _count(copy_db, AttackRow) == attacks
    copy_db.dispose()
