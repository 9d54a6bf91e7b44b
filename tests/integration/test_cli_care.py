"""``acuhead points`` and ``acuhead prescribe`` (no database), and the diary document's sessions
and course through ``acuhead import``/``export`` on both engines."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.domain.redflags import CATALOGUE
from acuhead.store.db import Database
from acuhead.store.models import AdverseEventRow, CourseRow, Patient, TreatmentSessionRow

# A copy of ../shared/examples/diary-document.json, so the suite needs nothing outside the repo.
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "diary-document.json"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _example(*, screened: bool = True) -> dict[str, Any]:
    """The example document; ``screened`` adds a complete SNNOOP10 intake screen made today
    (all 15 items "no"), without which the safety gate plans for nobody (CLINICAL.md 2)."""
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text("utf-8"))
    if screened:
        doc["red_flags"] = {
            "screened_on": dt.date.today().isoformat(),
            "answers": {f.code: False for f in CATALOGUE},
            "first_headache_onset": "2004-05-01",
        }
    return doc


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "doc.json") -> str:
    f = tmp_path / name
    f.write_text(json.dumps(doc), "utf-8")
    return str(f)


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# ---- points ---------------------------------------------------------------------------------


def test_points_json_finds_a_code_and_a_legacy_alias(runner: CliRunner) -> None:
    r = runner.invoke(app, ["points", "gb20", "--format", "json"])
    assert r.exit_code == 0, r.output
    found = json.loads(r.stdout)
    assert [p["code"] for p in found] == ["GB20"]
    gb20 = found[0]
    assert gb20["pinyin"] == "Fengchi" and gb20["channel"] == "GB"
    assert "medulla" in gb20["cautions"]
    r = runner.invoke(app, ["points", "lv3", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [(p["code"], p["channel"]) for p in json.loads(r.stdout)] == [("LR3", "LR")]


def test_points_table_and_filters(runner: CliRunner) -> None:
    r = runner.invoke(app, ["points", "fengchi"])
    assert r.exit_code == 0, r.output
    assert "GB20" in r.stdout and "Fengchi" in r.stdout
    r = runner.invoke(app, ["points", "--channel", "GV", "--region", "head", "--format", "json"])
    found = json.loads(r.stdout)
    assert "GV20" in [p["code"] for p in found]
    assert {(p["channel"], p["region"]) for p in found} == {("GV", "head")}
    r = runner.invoke(app, ["points", "--channel", "ZZ"])
    assert r.exit_code == 2 and "channel" in r.output


# ---- prescribe ------------------------------------------------------------------------------


def test_prescribe_the_example_explains_every_point(runner: CliRunner, tmp_path: Path) -> None:
    r = runner.invoke(app, ["prescribe", _write(tmp_path, _example())])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["points"]
    for p in out["points"]:
        assert set(p) >= {"code", "side", "group", "reason", "cautions"}
        assert p["reason"].strip(), p["code"]
        assert p["group"] in {"local", "distal", "pattern", "protocol", "template"}
    codes = {p["code"] for p in out["points"]}
    assert {"EX-HN5", "GB8", "TE5", "GB40", "LR3"} <= codes  # temporal + liver-yang rising
    assert out["working_pattern"] == "liver_yang_rising"
    top = out["patterns"][0]
    assert top["pattern"] == "liver_yang_rising" and top["score"] > out["patterns"][1]["score"]
    assert {s["sign"] for s in top["signs"]} >= {"irritability", "wiry pulse"}
    assert len(out["patterns"]) == 11
    assert out["stimulation"]["method"] == "manual"
    assert out["safety"] and all(
        set(f) >= {"code", "rule", "action"} and f["action"] in {"blocked", "confirm", "info"}
        for f in out["safety"]
    )
    assert "medulla:GB20" in {f["code"] for f in out["safety"]}


def test_prescribe_applies_the_patient_safety_rules(runner: CliRunner, tmp_path: Path) -> None:
    doc = _example()
    doc["patient"]["safety"] = {"pregnant": True}
    # Pregnancy is SNNOOP10 P6 (CLINICAL.md 2 item 11): planning needs a documented review.
    r = runner.invoke(app, ["prescribe", _write(tmp_path, doc), "--headache-kind", "tension-type"])
    assert r.exit_code == 6 and "P6" in r.output
    doc["red_flags"]["cleared"] = [
        {"code": "pregnant", "kind": "clearance", "reason": "obstetrician agrees"}
    ]
    r = runner.invoke(app, ["prescribe", _write(tmp_path, doc), "--headache-kind", "tension-type"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    confirm = {f["code"] for f in out["safety"] if f["action"] == "confirm"}
    assert "pregnancy:LI4" in confirm
    assert out["ready"] is False
    doc = _example()
    doc["patient"]["safety"] = {"pacemaker": True}
    doc["assessment"]["electro"] = True
    out = json.loads(runner.invoke(app, ["prescribe", _write(tmp_path, doc)]).stdout)
    assert [(f["code"], f["action"]) for f in out["safety"] if f["action"] == "blocked"] == [
        ("electro_pacemaker", "blocked")
    ]


def test_prescribe_stops_with_an_open_red_flag(runner: CliRunner, tmp_path: Path) -> None:
    doc = _example()
    doc["attacks"][1]["warning_signs"] = ["thunderclap"]
    r = runner.invoke(app, ["prescribe", _write(tmp_path, doc)])
    assert r.exit_code == 6
    assert "needs medical review" in r.output and "thunderclap" in r.output
    assert r.stdout.strip() == ""
    doc = _example()
    doc["red_flags"]["answers"]["fever"] = True
    r = runner.invoke(app, ["prescribe", _write(tmp_path, doc, "intake.json")])
    assert r.exit_code == 6 and "S:" in r.output


def test_prescribe_a_document_without_a_birth_date_needs_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    """CLINICAL.md 2 item 5: onset after 65 cannot be checked without the age, so a complete
    screen with the onset date still waits for the birth date (exit 6, naming it)."""
    doc = _example()
    doc["patient"].pop("birth_date", None)
    r = runner.invoke(app, ["prescribe", _write(tmp_path, doc)])
    assert r.exit_code == 6, r.output
    assert "birth date" in " ".join(r.output.split()) and r.stdout.strip() == ""


def test_prescribe_names_the_bad_path(runner: CliRunner, tmp_path: Path) -> None:
    doc = _example()
    doc["assessment"]["locations"] = ["temporal", "elbow"]
    r = runner.invoke(app, ["prescribe", _write(tmp_path, doc)])
    assert r.exit_code == 2 and "assessment.locations[1]" in r.output
    doc = _example()
    doc["attacks"][0]["peak_intensity"] = 11
    r = runner.invoke(app, ["prescribe", _write(tmp_path, doc, "bad.json")])
    assert r.exit_code == 2 and "attacks[0].peak_intensity" in r.output


# ---- sessions in the diary document (both engines) ----------------------------------------


SESSION_2: dict[str, Any] = {
    "start": "2026-03-05T16:30:00+00:00",
    "style": "tcm",
    "rationale": "Li/Lu CTTH core set",
    "individualisation": "fixed",
    "points": [{"code": "gb20", "side": "both"}, {"code": "Du20"}],
    "response_sought": "deqi",
    "response_obtained": ["none"],
    "stimulation": {"method": "electro", "frequency_hz": 2, "intensity_ma": 1.0},
    "retention_min": 30,
    "needle": {"diameter_mm": 0.3, "length_mm": 25},
    "co_interventions": ["moxibustion"],
    "setting": "home visit",
    "pain_before": 6,
    "pain_after": 6,
    "adverse_events": [{"type": "pneumothorax", "severity": "severe", "hospitalised": True}],
}


def _care_doc() -> dict[str, Any]:
    doc = _example()
    doc["sessions"].append(copy.deepcopy(SESSION_2))
    doc["course"] = {"planned_sessions": 10, "sessions_per_week": 2, "start": "2026-03-01"}
    return doc


def test_sessions_and_course_round_trip_through_import_and_export(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    assert cli.invoke(app, ["clinics", "create", "C"]).exit_code == 0
    r = cli.invoke(app, ["import", _write(tmp_path, _care_doc())])
    assert r.exit_code == 0, r.output
    counts = json.loads(r.stdout)
    assert counts["sessions"] == 2 and counts["courses"] == 1
    assert _count(db, TreatmentSessionRow) == 2 and _count(db, CourseRow) == 1
    with db.read() as s:
        events = [(e.type, e.serious) for e in s.scalars(select(AdverseEventRow))]
    assert events == [("pneumothorax", True)]

    r = cli.invoke(app, ["export", "example-001", "--format", "json"])
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)
    assert first["course"] == {
        "planned_sessions": 10,
        "sessions_per_week": 2,
        "start": "2026-03-01",
    }
    s1, s2 = first["sessions"]
    assert s1["start"] == "2026-03-02T10:00:00" and s1["retention_min"] == 25
    assert s1["response_obtained"] == ["deqi"] and s1["pain_before"] == 4
    assert s1["points"][1] == {"code": "EX-HN5", "side": "left"}
    assert s2["start"] == "2026-03-05T17:30:00"  # UTC offset -> Europe/Berlin wall-clock time
    assert s2["points"] == [{"code": "GB20", "side": "both"}, {"code": "GV20"}]
    assert s2["stimulation"] == {"method": "electro", "frequency_hz": [2], "intensity_ma": 1.0}
    assert s2["needle"]["diameter_mm"] == 0.3 and s2["co_interventions"][0]["type"] == "moxibustion"
    assert s2["adverse_events"][0]["serious"] is True and s2["setting"] == "home visit"

    # Importing the export again changes nothing, and exports the same document.
    r = cli.invoke(app, ["import", _write(tmp_path, first, "again.json")])
    assert r.exit_code == 0, r.output
    assert _count(db, TreatmentSessionRow) == 2 and _count(db, AdverseEventRow) == 1
    second = json.loads(cli.invoke(app, ["export", "example-001", "--format", "json"]).stdout)
    assert second == first


def test_a_bad_session_value_imports_nothing_and_names_its_path(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    assert cli.invoke(app, ["clinics", "create", "C"]).exit_code == 0
    doc = _care_doc()
    doc["sessions"][1]["retention_min"] = 500
    doc["sessions"][1]["stimulation"]["frequency_hz"] = 400
    doc["sessions"][0]["pain_after"] = 11
    doc["course"]["session_duration_min"] = 45
    r = cli.invoke(app, ["import", _write(tmp_path, doc)])
    assert r.exit_code == 2
    for path in (
        "sessions[1].retention_min",
        "sessions[1].stimulation.frequency_hz",
        "sessions[0].pain_after",
        "course.session_duration_min",
    ):
        assert path in r.output, path
    assert _count(db, Patient) == 0 and _count(db, TreatmentSessionRow) == 0
    missing = _care_doc()
    del missing["sessions"][0]["start"]
    r = cli.invoke(app, ["import", _write(tmp_path, missing, "nostart.json")])
    assert r.exit_code == 2 and "sessions[0].start" in r.output
    assert _count(db, Patient) == 0
