"""Imports merge, carry every section of the document and refuse what they would drop (issue 13
items 3, 5 and 9), on both engines."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text

from acuhead.domain.daycount import attack_dates
from acuhead.domain.diary import PatientFacts
from acuhead.errors import ValidationError
from acuhead.interop.document import parse as parse_document
from acuhead.services import accounts, diary, imports, interop
from acuhead.services.actors import Actor
from acuhead.store import bulk
from acuhead.store.db import Database
from acuhead.store.models import AssessmentRow, AttackRow, Patient, QuestionnaireRow

from .factories import World
from .records import load_rich

SAFETY = {"pregnant": True, "anticoagulant": True, "bleeding_disorder": True, "pacemaker": True}
FULL: dict[str, Any] = {
    "format": "acuhead.diary/1",
    "patient": {
        "external_id": "merge-1",
        "name": "Merle Example",
        "birth_date": "1980-05-06",
        "sex": "female",
        "timezone": "Europe/Berlin",
        "safety": SAFETY,
    },
    "days": [{"date": "2025-03-01", "headache": True}],
}


def _clinic(db: Database) -> int:
    with db.write() as s:
        return accounts.create_clinic(s, name="C").id


def _import(db: Database, cid: int, doc: Any, pid: int | None = None) -> dict[str, int]:
    body = doc if isinstance(doc, str) else json.dumps(doc)
    _fmt, _pid, _ext, counts = imports.import_file(
        db, actor=Actor.system(cid), data=body, patient_id=pid
    )
    return counts


def _patient(db: Database, cid: int, external_id: str = "merge-1") -> Patient:
    with db.read() as s:
        row = s.scalars(
            select(Patient).where(Patient.clinic_id == cid, Patient.external_id == external_id)
        ).one()
        s.expunge(row)
        return row


def _export(db: Database, cid: int, pid: int) -> dict[str, Any]:
    with db.write() as s:
        return diary.export_document(s, actor=Actor.system(cid), patient_id=pid)


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {e.path: e.message for e in exc.value.errors}


# ---- item 3: a field left out keeps its stored value ------------------------------------------


def test_an_import_that_leaves_out_timezone_and_safety_keeps_them(db: Database) -> None:
    """Issue 13 item 3: the omitted zone became UTC and the four safety facts were cleared."""
    cid = _clinic(db)
    _import(db, cid, FULL)
    bare = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "merge-1"},
        "days": [{"date": "2025-03-02", "headache": False}],
    }
    _import(db, cid, bare)
    p = _patient(db, cid)
    assert p.timezone == "Europe/Berlin"
    assert {k: p.safety[k] for k in SAFETY} == SAFETY
    assert (p.birth_date, p.sex, p.display_name) == (dt.date(1980, 5, 6), "female", "Merle Example")


def test_an_empty_safety_block_clears_nothing_and_false_clears_one(db: Database) -> None:
    cid = _clinic(db)
    _import(db, cid, FULL)
    doc = {"format": "acuhead.diary/1", "patient": {"external_id": "merge-1", "safety": {}}}
    _import(db, cid, doc)
    assert {k: _patient(db, cid).safety[k] for k in SAFETY} == SAFETY
    doc["patient"]["safety"] = {"pregnant": False}
    _import(db, cid, doc)
    safety = _patient(db, cid).safety
    assert safety["pregnant"] is False
    assert (safety["anticoagulant"], safety["bleeding_disorder"], safety["pacemaker"]) == (
        True,
        True,
        True,
    )


def test_an_explicit_null_birth_date_clears_it(db: Database) -> None:
    cid = _clinic(db)
    _import(db, cid, FULL)
    _import(db, cid, {"format": "acuhead.diary/1", "patient": {"external_id": "merge-1"}})
    assert _patient(db, cid).birth_date == dt.date(1980, 5, 6)
    doc = {"format": "acuhead.diary/1", "patient": {"external_id": "merge-1", "birth_date": None}}
    _import(db, cid, doc)
    assert _patient(db, cid).birth_date is None


def test_times_with_an_offset_are_read_in_the_stored_zone_when_the_file_names_none(
    db: Database,
) -> None:
    cid = _clinic(db)
    _import(db, cid, FULL)
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "merge-1"},
        "attacks": [{"start": "2025-03-01T09:00:00+00:00", "peak_intensity": 4}],
    }
    _import(db, cid, doc)
    with db.read() as s:
        start = s.scalar(select(AttackRow.start_local))
    assert start == dt.datetime(2025, 3, 1, 10, 0)  # Berlin, UTC+1 in March


def test_a_fhir_patient_without_zone_or_gender_keeps_the_stored_ones(db: Database) -> None:
    cid = _clinic(db)
    _import(db, cid, FULL)
    pid = _patient(db, cid).id
    with db.write() as s:
        bundle = interop.export_fhir(s, actor=Actor.system(cid), patient_id=pid)
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            res.pop("gender", None)
            res["extension"] = [
                x for x in res.get("extension", []) if not x["url"].endswith("timezone")
            ]
    _import(db, cid, bundle)
    p = _patient(db, cid)
    assert (p.timezone, p.sex) == ("Europe/Berlin", "female")


def test_the_import_route_keeps_what_the_body_leaves_out(
    db: Database, world: World, app_client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    h = login("prac@x.test")
    url = f"/api/v1/patients/{world.patient_a}/import"
    doc = copy.deepcopy(FULL)
    doc["patient"]["external_id"] = "A-1"
    r = app_client.post(url, content=json.dumps(doc), headers=h)
    assert r.status_code == 200, r.text
    bare = {"format": "acuhead.diary/1", "patient": {"external_id": "A-1"}, "days": []}
    r = app_client.post(url, content=json.dumps(bare), headers=h)
    assert r.status_code == 200, r.text
    p = app_client.get(f"/api/v1/patients/{world.patient_a}", headers=h).json()
    assert p["timezone"] == "Europe/Berlin"
    assert {k: p["safety"][k] for k in SAFETY} == SAFETY


# ---- item 9: every section round-trips, unknown keys are refused ------------------------------


def test_questionnaires_and_the_assessment_round_trip_through_the_document(db: Database) -> None:
    """Issue 13 item 9: they were accepted with 200 and neither stored nor exported."""
    x, y = _clinic(db), _clinic(db)
    pid = load_rich(db, x)
    with db.write() as s:
        s.add(
            AssessmentRow(
                clinic_id=x,
                patient_id=pid,
                locations=["temporal"],
                signs=[{"sign": "irritability", "source": "practitioner"}],
                tongue="red sides",
                pulse="wiry",
                scores=[],
                confirmed_pattern="liver_yang_rising",
            )
        )
    first = _export(db, x, pid)
    assert [q["instrument"] for q in first["questionnaires"]] == [
        "hit6",
        "hit6",
        "midas",
        "pss10",
        "pgic",
    ]
    assert {"total": 58} in [{k: q[k] for k in q if k == "total"} for q in first["questionnaires"]]
    assert first["assessment"]["confirmed_pattern"] == "liver_yang_rising"
    counts = _import(db, y, first)
    assert (counts["questionnaires"], counts["assessments"]) == (5, 1)
    with db.read() as s:
        new_pid = s.scalars(select(Patient.id).where(Patient.clinic_id == y)).one()
    second = _export(db, y, new_pid)
    assert second["questionnaires"] == first["questionnaires"]
    assert second["assessment"] == first["assessment"]
    # Importing it again replaces the questionnaires and adds no second assessment.
    counts = _import(db, y, second)
    with db.read() as s:
        n_q = s.scalar(select(func.count()).where(QuestionnaireRow.patient_id == new_pid))
        n_a = s.scalar(select(func.count()).where(AssessmentRow.patient_id == new_pid))
    assert (n_q, n_a, counts["assessments"]) == (5, 1, 0)


@pytest.mark.parametrize(
    ("section", "value", "path"),
    [
        ("red_flags", {"open": []}, "red_flags.open"),
        # A clearance in a file is for `acuhead prescribe`; a record keeps who cleared and why.
        ("red_flags", {"cleared": [{"code": "S_systemic", "reason": "seen by GP"}]},
         "red_flags.cleared"),
        ("assessment", {"tongue": "pale", "electro": True}, "assessment.electro"),
        ("questionnaires", [{"instrument": "hit6", "completed_on": "2025-01-01", "x": 1}],
         "questionnaires[0].x"),
        ("assessment", {"tongue": "pale", "smell": "none"}, "assessment.smell"),
        ("sessions", [{"start": "2025-01-01T10:00:00", "colour": "red"}], "sessions[0].colour"),
        ("course", {"planned_sessions": 6, "sessions_per_week": 1, "start": "2025-01-01",
                    "leader": "x"}, "course.leader"),
        ("patient", {"external_id": "e", "hobby": "golf"}, "patient.hobby"),
        ("attacks", [{"start": "2025-01-01T10:00:00", "medications": [
            {"name": "a", "class": "nsaid", "brand": "b"}]}], "attacks[0].medications[0].brand"),
    ],
)  # fmt: skip
def test_an_unknown_key_anywhere_is_refused_with_its_path(
    db: Database, section: str, value: Any, path: str
) -> None:
    cid = _clinic(db)
    doc: dict[str, Any] = {"format": "acuhead.diary/1", "patient": {"external_id": "e"}}
    doc[section] = value
    with pytest.raises(ValidationError) as exc:
        _import(db, cid, doc)
    assert path in _errors(exc), _errors(exc)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 0


def test_a_questionnaire_with_bad_answers_is_refused_with_its_item(db: Database) -> None:
    cid = _clinic(db)
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "e"},
        "questionnaires": [
            {"instrument": "pss10", "completed_on": "2025-01-01", "items": [1, 2, 3]},
            {"instrument": "hit6", "completed_on": "2999-01-01", "total": 50},
        ],
    }
    with pytest.raises(ValidationError) as exc:
        _import(db, cid, doc)
    errors = _errors(exc)
    assert any(p.startswith("questionnaires[0].items") for p in errors), errors
    assert "questionnaires[1].completed_on" in errors


# ---- item 5: large imports in chunks, all or nothing ------------------------------------------


def _attacks(n: int, *, start: dt.datetime = dt.datetime(2015, 1, 1, 6)) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        s = start + dt.timedelta(hours=5 * i)
        taken = (s + dt.timedelta(minutes=20)).isoformat()
        out.append(
            {
                "start": s.isoformat(),
                "end": (s + dt.timedelta(hours=2)).isoformat(),
                "peak_intensity": i % 11,
                "readings": [{"at": taken, "intensity": 4}],
                "medications": [{"name": "ibuprofen", "class": "nsaid", "taken_at": taken}],
            }
        )
    return out


def test_a_multi_chunk_import_stays_under_both_engines_bind_limits(db: Database) -> None:
    """2,600 attacks with a reading and a dose each: about 68,000 bind parameters of attack rows
    and 95,000 more of their children, written in several statements, none past SQLite's 32,766
    (PostgreSQL takes 65,535); then replaced by a second import of the same starts."""
    cid = _clinic(db)
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "bulk"},
        "attacks": _attacks(2600),
    }
    widest = [0]

    def count(_conn: Any, _cur: Any, _stmt: str, params: Any, _ctx: Any, many: bool) -> None:
        n = len(params[0]) if many and params else len(params or ())
        widest[0] = max(widest[0], n)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert _import(db, cid, doc)["attacks"] == 2600
        assert _import(db, cid, doc)["attacks"] == 2600
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert 0 < widest[0] <= bulk.MAX_BIND_PARAMS < 32_766
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AttackRow)) == 2600


def test_a_large_import_with_one_bad_attack_writes_nothing(db: Database) -> None:
    cid = _clinic(db)
    attacks = _attacks(1500)
    attacks[1499]["peak_intensity"] = 11
    doc = {"format": "acuhead.diary/1", "patient": {"external_id": "bulk"}, "attacks": attacks}
    with pytest.raises(ValidationError) as exc:
        _import(db, cid, doc)
    assert list(_errors(exc)) == ["attacks[1499].peak_intensity"]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AttackRow)) == 0
        assert s.scalar(select(func.count()).select_from(Patient)) == 0


def test_more_attacks_than_postgresql_takes_bind_parameters_import(pg_db: Database) -> None:
    """Issue 13 item 5: one statement carried a parameter per attack start, and past 65,535 the
    import answered 500 on PostgreSQL. 66,000 bare attacks (the smallest that failed)."""
    cid = _clinic(pg_db)
    base = dt.datetime(1990, 1, 1)
    attacks = [{"start": (base + dt.timedelta(hours=3 * i)).isoformat()} for i in range(66_000)]
    doc = {"format": "acuhead.diary/1", "patient": {"external_id": "bulk"}, "attacks": attacks}
    widest = [0]

    def count(_conn: Any, _cur: Any, _stmt: str, params: Any, _ctx: Any, many: bool) -> None:
        n = len(params[0]) if many and params else len(params or ())
        widest[0] = max(widest[0], n)

    event.listen(pg_db.engine, "before_cursor_execute", count)
    try:
        assert _import(pg_db, cid, doc)["attacks"] == 66_000
    finally:
        event.remove(pg_db.engine, "before_cursor_execute", count)
    assert widest[0] <= bulk.MAX_BIND_PARAMS
    with pg_db.read() as s:
        assert s.scalar(select(func.count()).select_from(AttackRow)) == 66_000


def test_the_day_units_of_an_import_are_those_of_the_stored_diary(db: Database) -> None:
    """Step 1 counts the day units of the merged diary before the write; they must equal a
    count of the diary as stored, over existing rows too."""
    from acuhead.store import day_units as units
    from acuhead.store.models import DayUnitRow

    cid = _clinic(db)
    _import(db, cid, FULL)  # a day first: the import merges into it
    attacks = _attacks(800)
    for i, a in enumerate(attacks):
        a["quality"] = ["pulsating"] if i % 2 else ["pressing"]
        a["side"] = "left" if i % 3 else "both"
        a["nausea"] = "moderate" if i % 4 == 0 else "none"
        a["photophobia"] = i % 5 == 0
        a["aggravated_by_activity"] = i % 2 == 0
        if i % 7 == 0:
            a["medications"][0]["class"] = "triptan"
    doc = {"format": "acuhead.diary/1", "patient": {"external_id": "merge-1"}, "attacks": attacks}
    _import(db, cid, doc)
    pid = _patient(db, cid).id
    with db.read() as s:
        stored = sorted(
            tuple(getattr(r, c) for c in units.COLUMNS)
            for r in s.scalars(select(DayUnitRow).where(DayUnitRow.patient_id == pid))
        )
        whole = diary.load_diary(s, actor=Actor.system(cid), patient_id=pid)
        recorded = list(
            s.scalars(
                select(AttackRow.recorded_utc)
                .where(AttackRow.patient_id == pid)
                .order_by(AttackRow.start_local, AttackRow.id)
            )
        )
    expected = sorted(
        units.compute_rows(whole, clinic_id=cid, patient_id=pid, attack_recorded_utc=recorded)
    )
    assert len(stored) > 150 and stored == expected
    assert any(r[units.COLUMNS.index("migraine")] for r in stored)


def test_a_file_without_days_or_attacks_keeps_the_day_units(db: Database) -> None:
    from acuhead.store.models import DayUnitRow

    cid = _clinic(db)
    pid = load_rich(db, cid)

    def day_units() -> list[tuple[Any, ...]]:
        with db.read() as s:
            rows = s.scalars(select(DayUnitRow).where(DayUnitRow.patient_id == pid))
            return sorted((r.day, r.migraine, r.headache, r.acute_med) for r in rows)

    before = day_units()
    assert before
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "EXT-7731-ZETA"},
        "questionnaires": [{"instrument": "pgic", "completed_on": "2025-04-20", "items": [3]}],
    }
    assert _import(db, cid, doc)["questionnaires"] == 1
    assert day_units() == before


def test_puerperium_is_imported_and_kept_when_a_later_file_leaves_it_out(db: Database) -> None:
    """SNNOOP10 P6 is pregnancy or puerperium (CLINICAL.md 2 item 11): the safety fact
    ``puerperium`` is imported, and a file without the key keeps the stored value."""
    cid = _clinic(db)
    doc = copy.deepcopy(FULL)
    doc["patient"]["safety"] = {"puerperium": True}
    _import(db, cid, doc)
    assert _patient(db, cid).safety["puerperium"] is True

    def safety_only(facts: dict[str, bool]) -> dict[str, Any]:
        return {"format": "acuhead.diary/1", "patient": {"external_id": "merge-1", "safety": facts}}

    _import(db, cid, safety_only({"pregnant": False}))
    assert _patient(db, cid).safety["puerperium"] is True
    _import(db, cid, safety_only({"puerperium": False}))
    assert _patient(db, cid).safety["puerperium"] is False


def test_export_writes_the_latest_intake_screen_and_import_round_trips_it(db: Database) -> None:
    """The document's ``red_flags`` block carries the latest SNNOOP10 intake screen
    (CLINICAL.md 2: 15 yes/no items; docs/safety-gate.md): export -> import into another
    clinic records the same screen, and its "yes" opens an alert there (a clearance is never
    carried by a file). Importing it again into the same patient adds no second screen."""
    from acuhead.domain.redflags import CATALOGUE
    from acuhead.services import gate, safety
    from acuhead.store.models import IntakeScreenRow, RedFlagAlertRow

    cid, other = _clinic(db), _clinic(db)
    _import(db, cid, FULL)
    pid = _patient(db, cid).id
    answers = {f.code: f.code == "P8_post_traumatic" for f in CATALOGUE}
    with db.write() as s:
        actor = Actor.system(cid)
        safety.record_intake_screen(
            s, actor=actor, patient_id=pid, answers={f.code: False for f in CATALOGUE},
            first_headache_onset=dt.date(1999, 1, 1), screened_on=dt.date(2025, 1, 10),
        )  # fmt: skip
        safety.record_intake_screen(
            s, actor=actor, patient_id=pid, answers=answers,
            first_headache_onset=dt.date(2001, 6, 1), screened_on=dt.date(2025, 3, 4),
            notes="fell off a bike in 2000",
        )  # fmt: skip
    doc = _export(db, cid, pid)
    assert doc["red_flags"] == {
        "screened_on": "2025-03-04",
        "answers": answers,
        "first_headache_onset": "2001-06-01",
        "notes": "fell off a bike in 2000",  # kept with the screen's alert
    }
    _import(db, other, doc)
    moved = _patient(db, other).id
    assert _export(db, other, moved)["red_flags"] == doc["red_flags"]
    with db.read() as s:
        result = gate.readiness(s, actor=Actor.system(other), patient_id=moved)
        assert result.screen.screened_on == dt.date(2025, 3, 4)
        opened = s.scalars(select(RedFlagAlertRow).where(RedFlagAlertRow.patient_id == moved))
        # P8 from the answer; P6 from the imported safety profile (FULL is pregnant, item 11).
        codes = {f["code"] for a in opened for f in a.findings}
        assert codes == {"P8_post_traumatic", "P6_pregnancy_puerperium"}

    def screens() -> int:
        with db.read() as s:
            return int(s.scalar(select(func.count()).select_from(IntakeScreenRow)) or 0)

    before = screens()
    _import(db, cid, doc)
    assert screens() == before


def test_a_patient_never_screened_exports_no_red_flags_block(db: Database) -> None:
    cid = _clinic(db)
    _import(db, cid, FULL)
    assert "red_flags" not in _export(db, cid, _patient(db, cid).id)


def test_rows_are_converted_as_the_column_types_would(db: Database) -> None:
    """Issue 13 item 5: the import converts its rows for the driver itself and serialises each
    distinct list of a JSON column once; every value must still be what the column type gives
    (``[1]`` and ``[True]`` are equal keys but different JSON)."""
    columns = ("start_local", "locations", "triggers", "vomiting", "warning_signs")
    rows = [
        (dt.datetime(2026, 1, 2, 3, 4, 5), ["temporal"], [], True, ["fever"]),
        (dt.datetime(2026, 1, 3), ["temporal"], [1], None, ["fever"]),
        (dt.datetime(2026, 1, 4), ["temporal", "orbital"], [True], False, []),
    ]
    with db.read() as s:
        convert = bulk.converter(s, "attacks", columns)
        dialect = s.get_bind().dialect
        table = imports._table(AttackRow)
        procs = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
        for row in rows:
            expected = tuple(
                p(v) if p is not None and v is not None else v
                for p, v in zip(procs, row, strict=True)
            )
            assert _plain(convert(row)) == _plain(expected)


def _plain(values: tuple[Any, ...]) -> list[Any]:
    """Values to compare: PostgreSQL's driver wraps JSON (``Json``, compared by its object)."""
    return [(type(v).__name__, v.obj) if hasattr(v, "obj") else v for v in values]


VARIED_ATTACKS: list[dict[str, Any]] = [
    {  # every list and flag given, an offset on the start
        "start": "2025-03-30T01:30:00+01:00",
        "end": "2025-03-30T05:00:00",
        "peak_intensity": 7,
        "side": "left",
        "locations": ["temporal", "orbital"],
        "quality": ["pulsating", "pressing"],
        "aggravated_by_activity": True,
        "nausea": "moderate",
        "vomiting": False,
        "photophobia": True,
        "phonophobia": False,
        "osmophobia": True,
        "cranial_autonomic": ["lacrimation", "é ptosis"],
        "restlessness": False,
        "treated": True,
        "triggers": ["stress", "let-down after stress"],
        "warning_signs": ["fever"],
        "medications": [
            {"name": "sumatriptan", "class": "triptan", "taken_at": "2025-03-30T04:00"}
        ],
    },
    {  # the same lists again, in another order: another JSON text
        "start": "2025-10-26T02:30:00",
        "end": "2025-10-26T04:00:00",
        "locations": ["orbital", "temporal"],
        "quality": ["pulsating", "pressing"],
        "triggers": ["stress", "let-down after stress"],
        "readings": [{"at": "2025-10-26T03:00", "intensity": 6}],
    },
    {"date": "2025-05-01", "duration_min": 240, "nausea": "none"},  # no times: no end in UTC
    {"start": "2025-06-01T23:10:00Z", "readings": [{"at": "2025-06-02T01:20", "intensity": 4}]},
    {"start": "2025-07-01T08:00:00", "locations": ["temporal"], "aura": [{"type": "visual"}]},
]


def test_copy_rows_store_what_the_column_types_would(pg_db: Database) -> None:
    """Issue 13 item 5: on PostgreSQL the attack rows are built in their final form in one
    pass (JSON text once per distinct tuple of members, UTC instants from the day-unit step);
    the stored rows are those the column types' own steps give, JSON text byte for byte."""
    cid = _clinic(pg_db)
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "rows-1", "timezone": "Europe/Berlin"},
        "attacks": VARIED_ATTACKS,
    }
    _import(pg_db, cid, doc)
    parsed = parse_document(doc).diary.attacks
    json_cols = set(imports._JSON_LISTS)
    read = ", ".join(f"{c}::text" if c in json_cols else c for c in imports.ATTACK_FIELDS)
    with pg_db.read() as s:
        stored = s.execute(text(f"SELECT {read} FROM attacks ORDER BY start_local")).all()
        now = stored[0][imports.ATTACK_FIELDS.index("recorded_utc")]
        convert = bulk.converter(s, "attacks", imports.ATTACK_FIELDS)
        to_text = bulk.json_text_columns("attacks", imports.ATTACK_FIELDS)
        assert to_text is not None
        expected = sorted(
            (to_text(convert(imports._attack_values(a, "Europe/Berlin", now))) for a in parsed),
            key=lambda r: r[2],
        )
    assert len(stored) == len(VARIED_ATTACKS)
    for got, want in zip(stored, expected, strict=True):
        assert tuple(got) == want


def test_copy_rows_refuse_a_flag_that_is_not_a_bool() -> None:
    """The last line behind the document's schema: a flag such as "yes" or 1 never reaches
    COPY (whose text form reads "yes" as true)."""
    parsed = parse_document(
        {
            "format": "acuhead.diary/1",
            "patient": {"external_id": "rows-2", "timezone": "UTC"},
            "attacks": VARIED_ATTACKS[:2],
        }
    ).diary.attacks
    placed = [attack_dates(a, PatientFacts(birth_date=None)) for a in parsed]
    now = dt.datetime(2026, 1, 1)
    assert len(imports._copy_attack_rows(parsed, placed, now)) == 2
    for bad in ("yes", 1):
        worse = [parsed[0], replace(parsed[1], vomiting=bad)]
        with pytest.raises(TypeError, match="Not a boolean value"):
            imports._copy_attack_rows(worse, placed, now)


def test_copy_rows_write_a_list_of_non_strings_each_time() -> None:
    """``(1,)`` and ``(True,)`` are equal keys: only tuples of strings share a JSON text."""
    a = parse_document(
        {
            "format": "acuhead.diary/1",
            "patient": {"external_id": "rows-3", "timezone": "UTC"},
            "attacks": [{"start": "2025-01-01T10:00"}],
        }
    ).diary.attacks[0]
    odd = [replace(a, triggers=cast(Any, (1,))), replace(a, triggers=cast(Any, (True,)))]
    placed = [attack_dates(x, PatientFacts(birth_date=None)) for x in odd]
    rows = imports._copy_attack_rows(odd, placed, dt.datetime(2026, 1, 1))
    at = imports.ATTACK_FIELDS.index("triggers")
    assert [r[at] for r in rows] == ["[1]", "[true]"]


def test_binary_copy_stores_what_text_copy_stored(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 5: COPY in binary form (values written in C, not parsed as text by the
    server) stores every bulk table's rows as the text form did: attacks, readings, aura,
    doses and day units (a whole number of sleep hours into a float column too)."""
    cid = _clinic(pg_db)
    days = [
        {"date": "2025-03-01", "headache": True, "sleep_hours": 7, "stress": 3},
        {"date": "2025-03-02", "headache": False, "sleep_hours": 6.5, "menstruating": True},
    ]
    for ext, binary in (("text-1", False), ("binary-1", True)):
        monkeypatch.setattr(bulk, "BINARY_COPY", binary)
        doc = {
            "format": "acuhead.diary/1",
            "patient": {"external_id": ext, "timezone": "Europe/Berlin"},
            "days": days,
            "attacks": VARIED_ATTACKS,
        }
        _import(pg_db, cid, doc)
    pids = {p.external_id: p.id for p in (_patient(pg_db, cid, e) for e in ("text-1", "binary-1"))}
    leave_out = {"id", "patient_id", "attack_id", "recorded_utc"}
    by_patient = {
        "attacks": "patient_id = :pid",
        "intensity_readings": "attack_id IN (SELECT id FROM attacks WHERE patient_id = :pid)",
        "aura_symptoms": "attack_id IN (SELECT id FROM attacks WHERE patient_id = :pid)",
        "medication_doses": "patient_id = :pid",
        "day_units": "patient_id = :pid",
    }
    with pg_db.read() as s:
        for table, where in by_patient.items():
            cols = [c.name for c in imports._table(imports._MODELS[table]).c]
            keep = ", ".join(
                f"{c}::text" if c in imports._JSON_LISTS else c for c in cols if c not in leave_out
            )
            found = [
                sorted(
                    map(
                        tuple,
                        s.execute(text(f"SELECT {keep} FROM {table} WHERE {where}"), {"pid": p}),
                    )
                )
                for p in (pids["text-1"], pids["binary-1"])
            ]
            assert found[0] == found[1] and found[0], table
        sleep = s.execute(
            text("SELECT sleep_hours FROM day_units WHERE patient_id = :p AND day = '2025-03-01'"),
            {"p": pids["binary-1"]},
        ).scalar_one()
    assert sleep == 7.0
