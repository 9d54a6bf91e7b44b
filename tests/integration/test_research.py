"""The de-identified research export on both engines: consent, allow-list, pseudonyms, shifted
dates, banded ages, and no identifying or free text in any cell."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.errors import Forbidden
from acuhead.interop import research as rx
from acuhead.services import accounts, research
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database

from .factories import PASSWORD, World
from .records import NOTE, RICH, SYMPTOM, load_rich

SECRET = "research-test-secret-0123456789-abcdef"
BIRTH = dt.date(1986, 9, 14)
FORBIDDEN = [
    "Ottilie",
    "Quenstedt",
    "ottilie@patients.test",
    "EXT-7731-ZETA",
    "EXT-NO-CONSENT",
    "EXT-WITHDRAWN",
    "EXT-REGISTRY",
    "1986-09-14",
    NOTE,
    "Zebulon",
    SYMPTOM,
    "sumatriptan",
    "50 mg",
    "pressure for two minutes",
    "resolved the same day",
    "licensed acupuncturist",
    "Liver yang rising",
    "Linde 2016",
    "dense-disperse",
    "stainless steel",
    "GV20, 5 min",
]


def _cells(value: Any) -> Iterator[Any]:
    if isinstance(value, list | tuple):
        for v in value:
            yield from _cells(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _cells(v)
    else:
        yield value


def leaks(values: Any) -> list[str]:
    """Every forbidden string or the birth date found among the values (any nesting)."""
    found = []
    for cell in _cells(values):
        if isinstance(cell, dt.date) and not isinstance(cell, dt.datetime) and cell == BIRTH:
            found.append(f"birth date {cell}")
        text = str(cell).lower()
        found += [f for f in FORBIDDEN if f.lower() in text]
    return found


def read_all(out: Path) -> dict[str, list[dict[str, Any]]]:
    return {p.stem: pq.read_table(p).to_pylist() for p in sorted(out.glob("*.parquet"))}


@pytest.fixture
def clinic(db: Database) -> dict[str, int]:
    """Clinic X with four patients: consenting, not asked, withdrawn, registry-only."""
    with db.write() as s:
        x = accounts.create_clinic(s, name="X").id
        user = accounts.create_user(
            s,
            clinic_id=x,
            email="ottilie@patients.test",
            name="Ottilie Quenstedt",
            role=Role.PATIENT,
            password=PASSWORD,
        )
        uid = user.id
    ids = {
        "yes": load_rich(db, x),
        "none": load_rich(db, x, external_id="EXT-NO-CONSENT"),
        "withdrawn": load_rich(db, x, external_id="EXT-WITHDRAWN"),
        "registry": load_rich(db, x, external_id="EXT-REGISTRY"),
    }
    actor = Actor.system(x)
    with db.write() as s:
        from acuhead.store.models import Patient

        row = s.get(Patient, ids["yes"])
        assert row is not None
        row.user_id = uid
        day = dt.date(2025, 1, 1)
        research.record_consent(s, actor=actor, patient_id=ids["yes"], scope="research",
                                given_on=day)  # fmt: skip
        research.record_consent(s, actor=actor, patient_id=ids["withdrawn"],
                                scope="research, registry", given_on=day)  # fmt: skip
        research.withdraw_consent(
            s, actor=actor, patient_id=ids["withdrawn"], on=dt.date(2025, 6, 1)
        )
        research.record_consent(s, actor=actor, patient_id=ids["registry"], scope="registry",
                                given_on=day)  # fmt: skip
    return {"clinic": x, **ids}


def _export(db: Database, clinic_id: int, out: Path, **kw: Any) -> dict[str, int]:
    with db.write() as s:
        return research.research_export(
            s, actor=Actor.system(clinic_id), out_dir=out, secret_key=SECRET, **kw
        )


def test_the_scan_finds_what_it_looks_for() -> None:
    # the control for the leak test below: the raw record is full of what must not leave
    hits = leaks([RICH, "ottilie@patients.test", BIRTH])
    assert {"Ottilie", "EXT-7731-ZETA", NOTE, SYMPTOM, "birth date 1986-09-14"} <= set(hits)


def test_no_name_email_birth_date_external_id_or_free_text_survives(
    db: Database, clinic: dict[str, int], tmp_path: Path
) -> None:
    out = tmp_path / "research"
    counts = _export(db, clinic["clinic"], out)
    tables = read_all(out)
    assert set(tables) == set(rx.schemas())
    assert counts["patients"] == 1 and counts["attacks"] == 4 and counts["days"] == 4
    for name, rows in tables.items():
        for row in rows:
            assert leaks(row) == [], (name, row)
    assert leaks((out / "manifest.json").read_text()) == []
    # only allow-listed columns were written
    for p in out.glob("*.parquet"):
        assert pq.read_schema(p).names == rx.schemas()[p.stem].names


def test_pseudonyms_shifted_dates_and_age_bands(
    db: Database, clinic: dict[str, int], tmp_path: Path
) -> None:
    _export(db, clinic["clinic"], tmp_path / "a")
    _export(db, clinic["clinic"], tmp_path / "b")
    a, b = read_all(tmp_path / "a"), read_all(tmp_path / "b")
    assert a == b  # keyed, so the same on every export
    (patient,) = a["patients"]
    key = rx.clinic_key(SECRET, clinic["clinic"])
    assert patient["patient"] == rx.pseudonym(key, clinic["yes"])
    assert len(patient["patient"]) == 32 and str(clinic["yes"]) != patient["patient"]
    assert patient["age_band"] == "30-39"  # 38 on the first diary day, 2025-03-02
    assert patient["sex"] == "female"
    assert {r["patient"] for t in a.values() for r in t} == {patient["patient"]}

    true_days = [dt.date(2025, 3, 2), dt.date(2025, 3, 3), dt.date(2025, 3, 4),
                 dt.date(2025, 3, 30)]  # fmt: skip
    shifts = {(row["date"] - d).days for row, d in zip(a["days"], true_days, strict=True)}
    assert len(shifts) == 1
    (shift,) = shifts
    assert shift != 0 and shift % 7 == 0 and abs(shift) <= 7 * rx.MAX_SHIFT_WEEKS
    first = a["attacks"][0]
    assert first["start"] == dt.datetime(2025, 3, 2, 6, 30) + dt.timedelta(days=shift)
    assert first["end"] - first["start"] == dt.timedelta(hours=12, minutes=30)
    assert a["sessions"][0]["start"] == dt.datetime(2025, 3, 10, 10) + dt.timedelta(days=shift)
    assert a["days"][0]["triggers"] == ["stress", "poor sleep"]  # free-text trigger dropped
    assert a["sessions"][0]["points"] == ["GB20", "EX-HN5", "GV20", "LR3"]
    assert [e["type"] for e in a["adverse_events"]] == ["haematoma", "fainting"]
    assert {q["instrument"] for q in a["questionnaires"]} == {"hit6", "midas", "pss10", "pgic"}


def test_only_active_research_consents_are_exported(
    db: Database, clinic: dict[str, int], tmp_path: Path
) -> None:
    with db.read() as s:
        on_day = research.consenting_patients(
            s, clinic_id=clinic["clinic"], on=dt.date(2025, 5, 31)
        )
        later = research.consenting_patients(s, clinic_id=clinic["clinic"], on=dt.date(2025, 6, 1))
        before = research.consenting_patients(
            s, clinic_id=clinic["clinic"], on=dt.date(2024, 12, 31)
        )
    assert on_day == sorted([clinic["yes"], clinic["withdrawn"]])
    assert later == [clinic["yes"]]
    assert before == []
    assert _export(db, clinic["clinic"], tmp_path, today=dt.date(2024, 12, 31))["patients"] == 0


def test_research_export_needs_an_admin(
    db: Database, clinic: dict[str, int], tmp_path: Path
) -> None:
    prac = Actor(user_id=None, clinic_id=clinic["clinic"], role=Role.PRACTITIONER)
    with db.write() as s, pytest.raises(Forbidden):
        research.research_export(s, actor=prac, out_dir=tmp_path, secret_key=SECRET)


def test_a_patient_withdraws_their_consent_over_http(
    db: Database, world: World, app_client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    url = f"/api/v1/patients/{world.patient_a}/consents"
    prac = login(world.prac_x)
    r = app_client.post(url, json={"scope": "research", "given_on": "2025-01-01"}, headers=prac)
    assert r.status_code == 201, r.text
    assert r.json()["research"] is True
    patient = login(world.patient_a_email)
    assert app_client.post(url, json={"scope": "research"}, headers=patient).status_code == 403
    assert app_client.get(url, headers=login(world.patient_b_email)).status_code == 404
    r = app_client.post(f"{url}/withdraw", json={"scope": "research"}, headers=patient)
    assert r.status_code == 200, r.text
    (row,) = r.json()
    assert row["withdrawn_on"] is not None and row["research"] is False
    with db.read() as s:
        assert research.consenting_patients(s, clinic_id=world.clinic_x, on=dt.date.today()) == []
    r = app_client.post(f"{url}/withdraw", json={"scope": "research"}, headers=patient)
    assert r.status_code == 404


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    monkeypatch.setenv("ACUHEAD_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_consent_and_research_export(cli: CliRunner, db: Database, tmp_path: Path) -> None:
    with db.write() as s:
        x = accounts.create_clinic(s, name="X").id
    pid = load_rich(db, x)
    r = cli.invoke(app, ["consent", "EXT-7731-ZETA", "--scope", "research", "--on", "2025-01-01"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    r = cli.invoke(app, ["research-export", "--clinic", str(x), "--out", str(out)])
    assert r.exit_code == 0, r.output
    (patient,) = read_all(out)["patients"]
    assert patient["patient"] == rx.pseudonym(rx.clinic_key(SECRET, x), pid)
    r = cli.invoke(app, ["consent", "EXT-7731-ZETA", "--withdraw"])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["research-export", "--out", str(out)])
    assert r.exit_code == 0 and read_all(out)["patients"] == []
