"""CSV export and import of days and attacks on both engines: spreadsheet quirks, located
errors, all-or-nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.errors import ValidationError
from acuhead.services import accounts, diary, interop
from acuhead.services.actors import Actor
from acuhead.store.db import Database

from .records import clinic_health_rows, load_rich, rows_referencing_patient


def _clinic_with_patient(db: Database, tz: str = "Europe/Berlin") -> tuple[int, int]:
    with db.write() as s:
        cid = accounts.create_clinic(s, name="C").id
        pid = diary.create_patient(s, actor=Actor.system(cid), external_id="csv-1", timezone=tz).id
    return cid, pid


def _import(db: Database, cid: int, pid: int, data: bytes | str) -> dict[str, int]:
    with db.write() as s:
        _patient, counts = interop.import_csv(s, actor=Actor.system(cid), patient_id=pid, data=data)
        return counts


def _export(db: Database, cid: int, pid: int) -> tuple[str, str]:
    with db.write() as s:
        return interop.export_csv(s, actor=Actor.system(cid), patient_id=pid)


SPREADSHEET_DAYS = (
    "\ufeffdate;headache;stress;sleep_hours;neck_tension;menstruating;triggers;notes\r\n"
    '2025-03-02;Yes;7;7,5;6;no;stress|poor sleep;"bad day; long meeting"\r\n'
    ";;;;;;;\r\n"
    "2025-03-03;no;2;8;;;;\r\n"
).encode()

SPREADSHEET_ATTACKS = (
    "\ufeffstart;end;peak_intensity;side;locations;nausea;photophobia;medications\r\n"
    "2025-03-02 06:30;2025-03-02 19:00;7;Left;temporal|orbital;moderate;yes;"
    "name=sumatriptan,class=triptan,taken_at=2025-03-02T07:15,dose=50 mg\r\n"
).encode()


def test_a_spreadsheet_csv_with_bom_semicolons_and_crlf_imports(db: Database) -> None:
    cid, pid = _clinic_with_patient(db)
    assert _import(db, cid, pid, SPREADSHEET_DAYS)["days"] == 2
    assert _import(db, cid, pid, SPREADSHEET_ATTACKS)["attacks"] == 1
    with db.write() as s:
        d = diary.load_diary(s, actor=Actor.system(cid), patient_id=pid)
    first = d.days[0]
    assert (first.headache, first.stress, first.sleep_hours) == (True, 7, 7.5)
    assert first.triggers == ("stress", "poor sleep")
    assert first.notes == "bad day; long meeting"
    (attack,) = d.attacks
    assert attack.peak_intensity == 7 and attack.side is not None and attack.side.value == "left"
    assert [m.name for m in attack.medications] == ["sumatriptan"]
    assert attack.medications[0].dose == "50 mg"


def test_a_bad_cell_is_named_by_line_and_column_and_nothing_is_imported(db: Database) -> None:
    cid, pid = _clinic_with_patient(db)
    before = clinic_health_rows(db, cid)
    text = (
        "date,headache,stress,sleep_hours\r\n"
        "2025-03-01,yes,3,7\r\n"
        "2025-03-02,no,4,8\r\n"
        "2025-03-03,maybe,2,7\r\n"
        "2025-03-04,yes,12,7\r\n"
        "2025-03-02,yes,1,6\r\n"
    )
    with pytest.raises(ValidationError) as caught:
        _import(db, cid, pid, text)
    assert [str(e) for e in caught.value.errors] == [
        "line 4, column headache: must be yes or no; got 'maybe'",
        "line 5, column stress: must be at most 10; got 12",
    ]
    # once the values are right, the rules across rows speak (the document's second pass)
    fixed = text.replace("maybe", "no").replace(",12,", ",2,")
    with pytest.raises(ValidationError) as caught:
        _import(db, cid, pid, fixed)
    assert [str(e) for e in caught.value.errors] == [
        "line 6, column date: 2025-03-02 repeats line 3"
    ]
    assert clinic_health_rows(db, cid) == before


def test_attack_errors_point_into_nested_cells(db: Database) -> None:
    cid, pid = _clinic_with_patient(db)
    text = (
        "start,end,peak_intensity,aura,medications\n"
        "2025-03-02T06:30,2025-03-02T07:00,7,,\n"
        '2025-03-04T06:30,,3,"type=visual,duration_min=9000","name=x,class=magic"\n'
        "yesterday,,3,,\n"
    )
    with pytest.raises(ValidationError) as caught:
        _import(db, cid, pid, text)
    got = [str(e) for e in caught.value.errors]
    assert got[0].startswith("line 3, column aura (item 1, duration_min): must be at most")
    assert got[1].startswith("line 3, column medications (item 1, class): must be one of")
    assert got[2].startswith("line 4, column start: must be a date-time like")
    assert len(got) == 3
    with pytest.raises(ValidationError) as caught:
        _import(db, cid, pid, "start,end\n2025-03-02T06:30,2025-03-02T05:00\n")
    assert [str(e) for e in caught.value.errors] == [
        "line 2, column end: 2025-03-02T05:00 is before start"
    ]
    assert rows_referencing_patient(db, pid)["attacks"] == 0


def test_unknown_columns_and_non_diary_files_are_refused(db: Database) -> None:
    cid, pid = _clinic_with_patient(db)
    with pytest.raises(ValidationError, match="line 1, column mood: is not a days column"):
        _import(db, cid, pid, "date,headache,mood\n2025-03-01,yes,sad\n")
    with pytest.raises(ValidationError, match="not a diary CSV"):
        _import(db, cid, pid, "name,email\nx,y\n")
    with pytest.raises(ValidationError, match="empty"):
        _import(db, cid, pid, b"")


def test_csv_export_import_export_is_stable(db: Database) -> None:
    with db.write() as s:
        x = accounts.create_clinic(s, name="X").id
    source = load_rich(db, x)
    days, attacks = _export(db, x, source)
    assert days.startswith("date,headache,stress,sleep_hours") and "\r\n" in days
    assert "name=sumatriptan,class=triptan" in attacks
    with db.write() as s:
        target = diary.create_patient(
            s, actor=Actor.system(x), external_id="copy", timezone="Europe/Berlin"
        ).id
    assert _import(db, x, target, days)["days"] == 4
    assert _import(db, x, target, attacks)["attacks"] == 4
    assert _export(db, x, target) == (days, attacks)


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_writes_two_csv_files_and_imports_them_with_patient(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    _cid, pid = _clinic_with_patient(db)
    f = tmp_path / "days.csv"
    f.write_bytes(SPREADSHEET_DAYS)
    r = cli.invoke(app, ["import", str(f)])
    assert r.exit_code == 2 and "needs the patient" in r.output
    r = cli.invoke(app, ["import", str(f), "--patient", "csv-1"])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["export", "csv-1", "--format", "csv"])
    assert r.exit_code == 2 and "--out" in r.output
    out = tmp_path / "out"
    r = cli.invoke(app, ["export", "csv-1", "--format", "csv", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "days.csv").read_text().splitlines()[1].startswith("2025-03-02,yes,7,7.5")
    assert (out / "attacks.csv").read_text().startswith("start,end")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,headache\n2025-03-09,perhaps\n")
    r = cli.invoke(app, ["import", str(bad), "--patient", str(pid)])
    assert r.exit_code == 2
    assert "line 2, column headache" in r.output
    assert rows_referencing_patient(db, pid)["diary_days"] == 2
