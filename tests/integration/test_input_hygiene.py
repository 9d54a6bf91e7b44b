"""Input hygiene (issue 13 items 8, 10 and 12): deep nesting, CSV formula injection, strict
types and plausible dates, on both engines."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.errors import ValidationError
from acuhead.interop import csv_io, document
from acuhead.services import diary, interop
from acuhead.services.actors import Actor
from acuhead.store.db import Database

from .factories import World

Login = Callable[[str], dict[str, str]]
API = "/api/v1"
DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


# ---- item 8: deep nesting ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT, '{"format":' + DEEP_ARRAY + "}"])
def test_json_nested_1000_deep_is_refused_with_400_on_the_import_route(
    app_client: TestClient, world: World, login: Login, body: str
) -> None:
    """Issue 13 item 8: the parser's RecursionError answered 500."""
    h = login("prac@x.test")
    r = app_client.post(f"{API}/patients/{world.patient_a}/import", content=body, headers=h)
    assert r.status_code == 400, r.text
    assert "nests more than 64 levels" in r.json()["detail"]


def test_json_nested_1000_deep_is_refused_with_400_on_json_api_routes(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = {**login("prac@x.test"), "Content-Type": "application/json"}
    p = f"{API}/patients/{world.patient_a}"
    for method, url in (
        ("POST", f"{API}/auth/login"),
        ("POST", f"{API}/patients"),
        ("PATCH", p),
        ("PUT", f"{p}/days/2025-01-01"),
        ("POST", f"{p}/attacks"),
        ("POST", f"{p}/sessions"),
        ("POST", f"{p}/questionnaires"),
    ):
        for body in (DEEP_ARRAY, DEEP_OBJECT):
            r = app_client.request(method, url, content=body, headers=h)
            assert r.status_code == 400, (method, url, r.status_code, r.text[:200])


def test_a_deep_file_is_refused_by_the_cli_import(db: Database, tmp_path: Path) -> None:
    from acuhead.services import accounts

    with db.write() as s:
        accounts.create_clinic(s, name="C")
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP_OBJECT)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["import", str(deep)], env={"ACUHEAD_DATABASE_URL": db.url}
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "nests more than 64 levels" in " ".join(result.output.split())


def test_nesting_depth_ignores_brackets_inside_strings() -> None:
    text = json.dumps({"a": ["[[[[{{{{", {"b": '\\"[['}], "c": "]]]]"})
    assert document.nesting_depth(text) == 3
    assert document.nesting_depth("[" * 1000 + "]" * 1000) == document.MAX_DEPTH + 1


# ---- item 10: CSV formula injection (OWASP) ---------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULAS = ['=HYPERLINK("http://x.test","click")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("note", [*FORMULAS, "'quoted already", "plain note"])
def test_csv_text_cells_are_neutralised_on_export_and_read_back_on_import(
    db: Database, note: str
) -> None:
    """Issue 13 item 10: cells beginning = + - @ were exported unchanged (OWASP CSV injection:
    prefix such a text cell with a single quote)."""
    from acuhead.services import accounts

    trigger = note.strip()  # list items are trimmed on import
    with db.write() as s:
        cid = accounts.create_clinic(s, name="C").id
        actor = Actor.system(cid)
        pid = diary.create_patient(s, actor=actor, external_id="csv").id
        day = diary.DiaryDay(
            date=dt.date(2025, 3, 1), headache=True, notes=note, triggers=(trigger,)
        )
        diary.upsert_day(s, actor=actor, patient_id=pid, day=day)
    with db.write() as s:
        days_csv, _ = interop.export_csv(s, actor=actor, patient_id=pid)
    row = next(csv.reader(io.StringIO(days_csv.split("\r\n", 1)[1], newline="")))
    assert not [c for c in row if c[:1] in FORMULA_START], row
    if note[:1] in FORMULA_START or note.startswith("'"):
        assert f"'{note}" in row
    with db.write() as s:
        interop.import_csv(s, actor=actor, patient_id=pid, data=days_csv)
        (stored,) = diary.load_diary(s, actor=actor, patient_id=pid).days
    assert (stored.notes, stored.triggers) == (note, (trigger,))


def test_every_text_column_of_the_attacks_csv_is_neutralised() -> None:
    attack = {
        "start": "2025-03-01T10:00:00",
        "peak_intensity": 3,
        "triggers": ["=cmd"],
        "warning_signs": ["@x"],
        "cranial_autonomic": ["-y"],
        "medications": [{"name": "+z", "class": "nsaid"}],
        "aura": [{"type": "visual", "symptom": "=s"}],
    }
    text = csv_io.attacks_to_csv([attack])
    row = next(csv.reader([text.split("\r\n")[1]]))
    assert not [c for c in row if c[:1] in FORMULA_START], row
    assert "'@x" in row and "'-y" in row
    assert row[3:5] == ["", "3"]  # numbers are never prefixed


# ---- item 12: strict types and plausible dates ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"headache": "yes"}, "headache"),
        ({"headache": 1}, "headache"),
        ({"headache": True, "stress": True}, "stress"),
        ({"headache": True, "stress": "4"}, "stress"),
        ({"headache": True, "version": "1"}, "version"),
        ({"headache": True, "sleep_hours": "7"}, "sleep_hours"),
        ({"headache": True, "menstruating": "no"}, "menstruating"),
    ],
)
def test_the_diary_day_takes_no_coerced_values(
    app_client: TestClient, world: World, login: Login, body: dict[str, Any], field: str
) -> None:
    """Issue 13 item 12: "yes" and 1 were taken as true, true as 1, "1" as 1."""
    h = login(world.patient_a_email)
    r = app_client.put(f"{API}/patients/{world.patient_a}/days/2025-03-01", json=body, headers=h)
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["detail"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2025-03-01T10:00", "photophobia": "yes"}, "photophobia"),
        ({"start": "2025-03-01T10:00", "peak_intensity": True}, "peak_intensity"),
        ({"start": "2025-03-01T10:00", "duration_min": "30"}, "duration_min"),
        ({"start": "9999-12-31T10:00"}, "start"),
        ({"start": "1899-12-31T10:00"}, "start"),
    ],
)
def test_an_attack_takes_no_coerced_values_nor_implausible_dates(
    app_client: TestClient, world: World, login: Login, body: dict[str, Any], field: str
) -> None:
    h = login(world.patient_a_email)
    r = app_client.post(f"{API}/patients/{world.patient_a}/attacks", json=body, headers=h)
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["detail"]}, r.json()


def test_dates_are_plausible_in_the_api(app_client: TestClient, world: World, login: Login) -> None:
    h = login("prac@x.test")
    p = f"{API}/patients/{world.patient_a}"
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    ahead = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    cases = [
        ("POST", f"{API}/patients", {"external_id": "n", "birth_date": future}, "birth_date"),
        ("POST", f"{API}/patients", {"external_id": "n", "birth_date": "1850-01-01"}, "birth_date"),
        ("POST", f"{p}/regimens", {"name": "x", "kind": "drug", "start": "0001-01-01"}, "start"),
        ("POST", f"{p}/regimens", {"name": "x", "kind": "drug", "start": ahead}, "start"),
        ("POST", f"{p}/regimens",
         {"name": "x", "kind": "drug", "start": "2025-01-01", "stop": "9999-12-31"}, "stop"),
        ("POST", f"{p}/courses",
         {"planned_sessions": 6, "sessions_per_week": 1, "start": "1800-01-01"}, "start"),
        ("POST", f"{p}/courses",
         {"planned_sessions": 6, "sessions_per_week": 1, "start": ahead}, "start"),
        ("POST", f"{p}/courses",
         {"planned_sessions": "6", "sessions_per_week": 1, "start": "2025-01-01"},
         "planned_sessions"),
        ("POST", f"{p}/red-flags/intake",
         {"answers": {"fever": False}, "first_headache_onset": "9999-12-31"},
         "first_headache_onset"),
        ("POST", f"{p}/red-flags/intake", {"answers": {"fever": "no"}}, "answers.fever"),
        ("POST", f"{p}/sessions", {"start": "9999-12-31T10:00", "points": [{"code": "GV20"}]},
         "start"),
    ]  # fmt: skip
    for method, url, body, field in cases:
        r = app_client.request(method, url, json=body, headers=h)
        assert r.status_code == 422, (url, body, r.status_code, r.text)
        assert field in {e["field"] for e in r.json()["detail"]}, (url, body, r.json())


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"patient": {"external_id": "d", "birth_date": "1850-01-01"}}, "patient.birth_date"),
        ({"patient": {"external_id": "d", "birth_date": "2999-01-01"}}, "patient.birth_date"),
        ({"attacks": [{"start": "0001-01-01T00:00:00+05:00"}]}, "attacks[0].start"),
        ({"attacks": [{"start": "2026-13-45T99:99"}]}, "attacks[0].start"),
        ({"attacks": [{"start": "1850-01-01T10:00"}]}, "attacks[0].start"),
        ({"days": [{"date": "1850-01-01", "headache": True}]}, "days[0].date"),
        ({"days": [{"date": "2025-01-01", "headache": "yes"}]}, "days[0].headache"),
        ({"days": [{"date": "2025-01-01", "headache": 1}]}, "days[0].headache"),
        ({"days": [{"date": "2025-01-01", "headache": True, "stress": True}]}, "days[0].stress"),
        ({"regimens": [{"name": "x", "kind": "drug", "start": "0001-01-01"}]},
         "regimens[0].start"),
        ({"regimens": [{"name": "x", "kind": "drug", "start": "2999-01-01"}]},
         "regimens[0].start"),
        ({"course": {"planned_sessions": 6, "sessions_per_week": 1, "start": "1800-01-01"}},
         "course.start"),
        ({"sessions": [{"start": "9999-01-01T10:00:00", "points": [{"code": "GV20"}]}]},
         "sessions[0].start"),
    ],
)  # fmt: skip
def test_the_document_is_strict_and_its_dates_plausible(patch: dict[str, Any], path: str) -> None:
    doc: dict[str, Any] = {"format": "acuhead.diary/1", "patient": {"external_id": "d"}}
    doc.update(patch)
    with pytest.raises(ValidationError) as exc:
        document.parse(doc)
    assert path in {e.path for e in exc.value.errors}, exc.value.errors
