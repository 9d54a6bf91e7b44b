"""Outcomes on both engines: a diary built by hand with known answers.

Patient A (Europe/Berlin), first session 2026-03-02 09:30:

* baseline 2026-02-02..03-01: 26 of 28 days recorded (02-10 and 02-20 missing); migraine
  attacks (08:00-16:00, peak 7) on 02-03, 05, 08, 12, 22, 25 and one over midnight
  02-15 23:00 -> 02-16 06:00 (two migraine days, one attack): 8 migraine days, 7 migraine
  attacks; a tension-type headache 02-18 10:00-13:00 peak 3 (headache day, not migraine);
  ibuprofen on 02-03, sumatriptan on 02-12; the 02-04 entry recorded 02-06 23:30 UTC, after the
  48 h limit (02-04 ends at 23:00 UTC in CET), every other entry on the evening itself;
  stress 6, sleep 6.5 h, neck 5 every day;
* block 0 (03-02..03-29): 28 days, migraine on 03-05, 12, 19, 26;
* block 1 (03-30..04-26): only 03-30..04-08 recorded (10 days, low compliance), migraine 04-02;
* block 2 (04-27..05-24, weeks 9-12): 25 days (05-01, 05-08, 05-15 missing), migraine on
  04-28, 05-05, 05-12; stress 4, sleep 7.5 h, neck 3.

Patient B (UTC): 28/28 baseline days with 4 migraine days, 28/28 in block 2 with 1.
Patient C: a diary but no session (not treated). Patient Y: treated, in the other clinic.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from acuhead import demo
from acuhead.analytics import cohort as cohort_module
from acuhead.analytics.cohort import Scope, cohort_blocks
from acuhead.analytics.sql import day_number
from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.domain.diary import Attack, DiaryDay, Nausea, Quality, Side
from acuhead.domain.triggers import Verdict
from acuhead.interop import document
from acuhead.services import clinical, diary, imports, outcomes
from acuhead.services.actors import Actor
from acuhead.store import block_aggregates
from acuhead.store.day_units import COLUMNS, refresh_day_units
from acuhead.store.db import Database
from acuhead.store.models import (
    AdverseEventRow,
    AuditEvent,
    DayUnitRow,
    DiaryDayRow,
    Patient,
    TreatmentSessionRow,
    User,
)

from .factories import World

D = dt.date
Login = Callable[[str], dict[str, str]]
T975 = {1: 12.706204736174698, 3: 3.182446305284263}  # Student t 0.975 quantiles (tables)
Z975 = 1.959963984540054


def migraine(day: str, start: str = "08:00", end_day: str | None = None, end: str = "16:00",
             **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "start": f"{day}T{start}:00",
        "end": f"{end_day or day}T{end}:00",
        "peak_intensity": 7,
        "side": "left",
        "locations": ["temporal"],
        "quality": ["pulsating"],
        "aggravated_by_activity": True,
        "nausea": "moderate",
        "vomiting": False,
        "photophobia": True,
        "phonophobia": True,
        **extra,
    }


def dates(first: D, last: D, skip: tuple[D, ...] = ()) -> list[D]:
    out, d = [], first
    while d <= last:
        if d not in skip:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def entry(d: D, attack_days: set[D], stress: int, sleep: float, neck: int) -> dict[str, Any]:
    return {
        "date": d.isoformat(),
        "headache": d in attack_days,
        "stress": stress,
        "sleep_hours": sleep,
        "neck_tension": neck,
    }


def doc_a() -> dict[str, Any]:
    attacks = [
        migraine(
            "2026-02-03",
            medications=[
                {"name": "ibuprofen", "class": "nsaid", "taken_at": "2026-02-03T09:00:00"}
            ],
        ),
        migraine("2026-02-05"),
        migraine("2026-02-08"),
        migraine(
            "2026-02-12",
            medications=[
                {"name": "sumatriptan", "class": "triptan", "taken_at": "2026-02-12T09:00:00"}
            ],
        ),
        migraine("2026-02-15", start="23:00", end_day="2026-02-16", end="06:00"),
        {
            "start": "2026-02-18T10:00:00",
            "end": "2026-02-18T13:00:00",
            "peak_intensity": 3,
            "side": "both",
            "locations": ["frontal"],
            "quality": ["pressing"],
            "aggravated_by_activity": False,
            "nausea": "none",
            "vomiting": False,
            "photophobia": False,
            "phonophobia": False,
        },
        migraine("2026-02-22"),
        migraine("2026-02-25"),
        *(migraine(d) for d in ("2026-03-05", "2026-03-12", "2026-03-19", "2026-03-26")),
        migraine("2026-04-02"),
        *(migraine(d) for d in ("2026-04-28", "2026-05-05", "2026-05-12")),
    ]
    attack_days = {D.fromisoformat(a["start"][:10]) for a in attacks} | {D(2026, 2, 16)}
    days = [
        *(
            entry(d, attack_days, 6, 6.5, 5)
            for d in dates(D(2026, 2, 2), D(2026, 3, 1), (D(2026, 2, 10), D(2026, 2, 20)))
        ),
        *(entry(d, attack_days, 5, 7.0, 4) for d in dates(D(2026, 3, 2), D(2026, 3, 29))),
        *(entry(d, attack_days, 5, 7.0, 4) for d in dates(D(2026, 3, 30), D(2026, 4, 8))),
        *(
            entry(d, attack_days, 4, 7.5, 3)
            for d in dates(
                D(2026, 4, 27), D(2026, 5, 24), (D(2026, 5, 1), D(2026, 5, 8), D(2026, 5, 15))
            )
        ),
    ]
    return {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "A-1", "timezone": "Europe/Berlin"},
        "days": days,
        "attacks": attacks,
    }


def doc_b() -> dict[str, Any]:
    attacks = [migraine(d) for d in ("2026-02-04", "2026-02-11", "2026-02-18", "2026-02-25")]
    attacks.append(migraine("2026-05-06"))
    attack_days = {D.fromisoformat(a["start"][:10]) for a in attacks}
    days = [
        entry(d, attack_days, 3, 7.0, 2)
        for d in [*dates(D(2026, 2, 2), D(2026, 3, 1)), *dates(D(2026, 4, 27), D(2026, 5, 24))]
    ]
    return {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "B-1", "timezone": "UTC"},
        "days": days,
        "attacks": attacks,
    }


def add_session(
    s: Session, patient_id: int, start: dt.datetime, before: int | None, after: int | None
) -> int:
    patient = s.get(Patient, patient_id)
    assert patient is not None
    row = TreatmentSessionRow(
        clinic_id=patient.clinic_id,
        patient_id=patient_id,
        start_local=start,
        start_utc=start,
        pain_before=before,
        pain_after=after,
        record={},
    )
    s.add(row)
    s.flush()
    # As store.care_records.write_session_row does: the anchor may have moved (issue 17).
    block_aggregates.rebuild_patient(s, patient_id)
    return row.id


def on_time_entries(s: Session, patient_id: int, late: dict[D, dt.datetime]) -> None:
    """Entries recorded the same evening (20:00 UTC), except those in ``late``."""
    for row in s.scalars(select(DiaryDayRow).where(DiaryDayRow.patient_id == patient_id)):
        row.recorded_utc = late.get(row.day, dt.datetime.combine(row.day, dt.time(20, 0)))
    refresh_day_units(s, patient_id=patient_id)


@pytest.fixture
def cohort(db: Database, world: World) -> World:
    sx, sy = Actor.system(world.clinic_x), Actor.system(world.clinic_y)
    with db.write() as s:
        prac = s.scalars(select(User.id).where(User.email == world.prac_x)).one()
        for pid, doc in ((world.patient_a, doc_a()), (world.patient_b, doc_b())):
            imports.import_document(s, actor=sx, doc=document.parse(doc), patient_id=pid)
        s.execute(update(Patient).where(Patient.id == world.patient_a).values(practitioner_id=prac))
        on_time_entries(s, world.patient_a, {D(2026, 2, 4): dt.datetime(2026, 2, 6, 23, 30)})
        on_time_entries(s, world.patient_b, {})
        sessions = [
            add_session(s, world.patient_a, dt.datetime(2026, 3, 2, 9, 30), 6, 3),
            add_session(s, world.patient_a, dt.datetime(2026, 3, 9, 9, 30), 5, 4),
            add_session(s, world.patient_a, dt.datetime(2026, 3, 16, 9, 30), 4, 4),
            add_session(s, world.patient_a, dt.datetime(2026, 4, 20, 9, 30), 7, 2),
        ]
        s.add(
            AdverseEventRow(
                clinic_id=world.clinic_x,
                patient_id=world.patient_a,
                session_id=sessions[1],
                type="haematoma",
                severity="mild",
                serious=False,
            )
        )
        add_session(s, world.patient_b, dt.datetime(2026, 3, 2, 14, 0), None, None)
        add_session(s, world.patient_y, dt.datetime(2026, 3, 2, 14, 0), 5, 1)
        c = diary.create_patient(s, actor=sx, external_id="C-1").id
        diary.upsert_day(s, actor=sx, patient_id=c, day=DiaryDay(D(2026, 3, 3), headache=False))
        diary.upsert_day(
            s, actor=sy, patient_id=world.patient_y, day=DiaryDay(D(2026, 3, 3), headache=True)
        )
        clinical.record_questionnaire(
            s, actor=sx, patient_id=world.patient_a, instrument="hit6",
            completed_on=D(2026, 2, 20), answers={"total": 64},
        )  # fmt: skip
        clinical.record_questionnaire(
            s, actor=sx, patient_id=world.patient_a, instrument="hit6",
            completed_on=D(2026, 5, 20), answers={"total": 56},
        )  # fmt: skip
        clinical.record_questionnaire(
            s, actor=sx, patient_id=world.patient_a, instrument="pgic",
            completed_on=D(2026, 5, 20), answers={"items": [2]},
        )  # fmt: skip
    return world


def outcome_of(db: Database, world: World, pid: int, **config: Any) -> dict[str, Any]:
    """The outcomes' JSON (the typed result as the API and the CLI write it)."""
    from acuhead.domain.outcomes import OutcomeConfig

    with db.write() as s:
        return outcomes.patient_outcomes(
            s, actor=Actor.system(world.clinic_x), patient_id=pid, config=OutcomeConfig(**config)
        ).to_json()


def test_day_number_is_whole_days_since_1970_on_both_engines(db: Database) -> None:
    values = [
        dt.date(1970, 1, 1),
        dt.date(1969, 12, 31),
        dt.date(2026, 3, 2),
        dt.datetime(2026, 3, 2, 23, 59, 59),
        dt.datetime(1969, 12, 31, 12, 0),
        dt.datetime(2024, 2, 29, 0, 0, 1),
    ]
    with db.read() as s:
        got = [s.scalar(select(day_number(literal(v)))) for v in values]
    expected = [
        ((v.date() if isinstance(v, dt.datetime) else v) - dt.date(1970, 1, 1)).days for v in values
    ]
    assert got == expected == [0, -1, 20514, 20514, -1, 19782]


def test_day_units_hold_the_midnight_attack_on_both_days_and_the_late_entry(
    db: Database, cohort: World
) -> None:
    with db.read() as s:
        rows = {
            r.day: r
            for r in s.scalars(select(DayUnitRow).where(DayUnitRow.patient_id == cohort.patient_a))
        }
    feb15, feb16 = rows[D(2026, 2, 15)], rows[D(2026, 2, 16)]
    assert feb15.migraine and feb16.migraine
    assert (feb15.attacks_started, feb16.attacks_started) == (1, 0)
    assert (feb15.headache_minutes, feb16.headache_minutes) == (60, 360)
    assert D(2026, 2, 10) not in rows and D(2026, 2, 20) not in rows  # missing, not zero
    assert rows[D(2026, 2, 18)].headache and not rows[D(2026, 2, 18)].migraine
    assert [d for d, r in rows.items() if r.late] == [D(2026, 2, 4)]
    assert rows[D(2026, 2, 12)].triptan and rows[D(2026, 2, 12)].migraine_specific_med
    assert rows[D(2026, 2, 3)].acute_med and not rows[D(2026, 2, 3)].migraine_specific_med
    assert rows[D(2026, 2, 4)].day_num == (D(2026, 2, 4) - D(1970, 1, 1)).days
    assert rows[D(2026, 2, 2)].stress == 6 and rows[D(2026, 2, 2)].sleep_hours == 6.5


def test_patient_outcome_gives_the_known_answers(db: Database, cohort: World) -> None:
    out = outcome_of(db, cohort, cohort.patient_a)
    assert out["anchor"] == "2026-03-02"
    base = out["baseline"]
    assert (base["start"], base["end"]) == ("2026-02-02", "2026-03-01")
    assert base["recorded_days"] == 26 and base["compliance"] == 26 / 28
    assert not base["low_compliance"] and base["evaluable"]
    assert base["migraine_days"] == 8
    assert base["headache_days"] == 9
    assert base["moderate_severe_days"] == 8
    assert base["acute_medication_days"] == 2
    assert base["migraine_specific_medication_days"] == 1
    assert base["triptan_days"] == 1
    assert base["attacks"] == 8
    assert base["headache_hours"] == 58.0
    assert base["mean_peak_intensity"] == 6.5
    assert base["late_days"] == 1 and base["late_share"] == 1 / 26
    assert base["migraine_days_per_28"] == pytest.approx(8 * 28 / 26)
    assert base["headache_days_per_28"] == pytest.approx(9 * 28 / 26)
    assert base["stress_mean"] == 6 and base["sleep_hours_mean"] == 6.5

    blocks = out["blocks"]
    assert [b["index"] for b in blocks] == [0, 1, 2]
    assert [(b["start"], b["end"]) for b in blocks] == [
        ("2026-03-02", "2026-03-29"),
        ("2026-03-30", "2026-04-26"),
        ("2026-04-27", "2026-05-24"),
    ]
    assert [b["recorded_days"] for b in blocks] == [28, 10, 25]
    assert [b["migraine_days"] for b in blocks] == [4, 1, 3]
    assert [b["low_compliance"] for b in blocks] == [False, True, False]
    low = blocks[1]
    assert low["compliance"] == 10 / 28 and low["migraine_days_per_28"] is None
    assert low["change"]["migraine_days_per_28"] is None
    assert low["responder"] == {"30": None, "50": None, "75": None, "100": None}

    b2 = blocks[2]
    assert b2["label"] == "weeks 9-12"
    assert b2["migraine_days_per_28"] == pytest.approx(3 * 28 / 25)
    assert b2["headache_hours"] == 24.0 and b2["attacks"] == 3
    change = out["change"]
    assert change["block"] == 2 and change["evaluable"] is True
    assert change["migraine_days_per_28"] == pytest.approx(3 * 28 / 25 - 8 * 28 / 26)
    assert change["migraine_days_percent"] == pytest.approx((3 / 25 - 8 / 26) / (8 / 26) * 100)
    assert change["stress_mean"] == -2 and change["sleep_hours_mean"] == 1.0
    # (8/26 - 3/25) / (8/26) = 61 %: a >= 30 and >= 50 % responder, not >= 75 or 100 %.
    assert out["responder"] == {"30": True, "50": True, "75": False, "100": False}
    assert b2["responder"] == out["responder"]


def test_prorating_low_compliance_only_when_the_policy_allows_it(
    db: Database, cohort: World
) -> None:
    out = outcome_of(db, cohort, cohort.patient_a, prorate_low_compliance=True)
    low = out["blocks"][1]
    assert low["low_compliance"] and low["prorated_low_compliance"] and low["evaluable"]
    assert low["migraine_days_per_28"] == pytest.approx(1 * 28 / 10)
    strict = outcome_of(db, cohort, cohort.patient_a, min_compliance=0.95)
    assert strict["baseline"]["low_compliance"] and strict["responder"]["50"] is None
    assert strict["change"]["evaluable"] is False and "baseline" in strict["change"]["reason"]


def test_questionnaires_sessions_mechanisms_and_triggers(db: Database, cohort: World) -> None:
    out = outcome_of(db, cohort, cohort.patient_a)
    hit6 = out["questionnaires"]["hit6"]
    assert (hit6["first"]["total"], hit6["latest"]["total"], hit6["change"]) == (64, 56, -8)
    assert hit6["first_before_treatment"] is True
    assert out["questionnaires"]["pgic"]["latest"]["band"] == "much_improved"
    assert out["questionnaires"]["midas"]["n"] == 0
    assert out["sessions"] == {"count": 4, "adverse_events": 1, "serious_adverse_events": 0}
    relief = out["session_relief"]
    values = [3, 1, 0, 5]
    mean = sum(values) / 4
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 3)
    assert relief["sessions_with_scores"] == 4 and relief["mean_relief"] == mean
    assert relief["ci_low"] == pytest.approx(mean - T975[3] * sd / 2, abs=1e-9)
    assert relief["ci_high"] == pytest.approx(mean + T975[3] * sd / 2, abs=1e-9)
    mech = out["mechanisms"]
    stress = next(m for m in mech["observable"] if m["measure"] == "stress")
    assert stress["baseline_mean"] == 6 and stress["change_at_primary"] == -2
    assert stress["grade"] == "plausible-limited"
    unmeasured = {m["key"]: m for m in mech["not_measurable"]}
    assert {"endorphins", "qi", "blood_flow", "anti_inflammatory"} <= set(unmeasured)
    assert unmeasured["qi"]["grade"] == "not testable"
    assert all("r" not in m and "mean" not in m for m in mech["not_measurable"])
    triggers = out["triggers"]
    assert triggers["minimum"]["exposed_days"] == 10
    factors = {f["factor"]: f for f in triggers["factors"]}
    assert {"stress_high", "poor_sleep", "menstruation"} <= set(factors)
    assert all(f["verdict"] in {v.value for v in Verdict} for f in factors.values())
    # Stress was never >= 7 in this diary: no exposed days, so no verdict beyond "not enough".
    assert factors["stress_high"]["exposed_days"] == 0
    assert factors["stress_high"]["verdict"] == Verdict.NOT_ENOUGH_DATA.value


def test_untreated_patient_has_no_anchor_and_unknown_endpoints(db: Database, cohort: World) -> None:
    with db.read() as s:
        c = s.scalars(select(Patient.id).where(Patient.external_id == "C-1")).one()
    out = outcome_of(db, cohort, c)
    assert out["anchor"] is None and out["baseline"] is None and out["blocks"] == []
    assert out["responder"] == {"30": None, "50": None, "75": None, "100": None}
    assert out["change"]["reason"] == "no treatment session yet"


def test_per_patient_path_equals_the_clinic_report_path(db: Database, cohort: World) -> None:
    out = outcome_of(db, cohort, cohort.patient_a)
    from acuhead.domain.outcomes import DEFAULT_OUTCOME_CONFIG as cfg

    with db.read() as s:
        clinic = {pb.patient_id: pb for pb in cohort_blocks(s, Scope(cohort.clinic_x))}
    assert set(clinic) == {cohort.patient_a, cohort.patient_b}  # C untreated, Y elsewhere
    pb = clinic[cohort.patient_a]
    assert pb.baseline.as_dict(cfg) == out["baseline"]
    strip = [
        {k: v for k, v in b.items() if k not in ("change", "responder", "responder_basis")}
        for b in out["blocks"]
    ]
    assert [b.as_dict(cfg) for b in pb.blocks] == strip
    with db.write() as s:
        only_a = outcomes.practice_report(
            s,
            actor=Actor.system(cohort.clinic_x),
            practitioner_id=pb.practitioner_id,
        ).to_json()
    assert only_a["patients_treated"] == 1
    assert only_a["migraine_days_change"]["mean"] == out["change"]["migraine_days_per_28"]
    assert only_a["responders"]["50"]["count"] == 1


def test_parallel_window_scan_equals_the_single_scan(
    db: Database, cohort: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The day-unit scan (default windows read block_aggregates: test_block_aggregates.py).
    monkeypatch.setattr(cohort_module, "aggregated_windows", lambda _config: False)
    with db.read() as s:
        single = cohort_blocks(s, Scope(cohort.clinic_x))
    monkeypatch.setattr(cohort_module, "PARALLEL_MIN_PATIENTS", 1)
    parts: list[Any] = []
    reader = cohort_module.concurrent_reader

    def counted(bind: Any) -> Any:
        parts.append(bind)
        return reader(bind)

    monkeypatch.setattr(cohort_module, "concurrent_reader", counted)
    # Inside a write transaction, as the report service runs: the parts must not wait for it.
    with db.write() as s:
        parallel = cohort_blocks(s, Scope(cohort.clinic_x))
    assert [pb.patient_id for pb in single] == [cohort.patient_a, cohort.patient_b]
    assert parallel == single
    # SQLite scans in two parts (one per core); PostgreSQL parallelises one statement itself.
    assert len(parts) == (2 if db.is_sqlite and (os.cpu_count() or 1) > 1 else 0)


def test_practice_report_figures_match_an_independent_calculation(
    db: Database, cohort: World
) -> None:
    with db.write() as s:
        r = outcomes.practice_report(s, actor=Actor.system(cohort.clinic_x)).to_json()
    assert r["patients_treated"] == 2 and r["with_complete_baseline"] == 2
    assert r["evaluable_at_block"] == 2
    changes = [3 * 28 / 25 - 8 * 28 / 26, 1.0 - 4.0]
    mean = sum(changes) / 2
    sd = abs(changes[0] - changes[1]) / math.sqrt(2)
    c = r["migraine_days_change"]
    assert c["n"] == 2 and c["mean"] == pytest.approx(mean)
    assert c["sd"] == pytest.approx(sd)
    assert c["ci_low"] == pytest.approx(mean - T975[1] * sd / math.sqrt(2))
    assert c["ci_high"] == pytest.approx(mean + T975[1] * sd / math.sqrt(2))

    def wilson(k: int, n: int) -> tuple[float, float]:
        p, z2 = k / n, Z975**2
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z975 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return (0.0 if k == 0 else centre - half, 1.0 if k == n else centre + half)

    # A: 61 % fewer migraine days, B: 75 % fewer.
    expected = {"30": 2, "50": 2, "75": 1, "100": 0}
    for key, hits in expected.items():
        got = r["responders"][key]
        assert (got["count"], got["n"]) == (hits, 2), key
        assert (got["ci_low"], got["ci_high"]) == pytest.approx(wilson(hits, 2)), key
    follow = r["follow_up_completeness"]
    assert (follow["count"], follow["n"]) == (2, 2)
    ae = r["adverse_events"]
    assert (ae["sessions"], ae["events"], ae["serious"]) == (5, 1, 0)
    assert ae["sessions_with_event"]["ci_low"] == pytest.approx(wilson(1, 5)[0])
    assert r["session_relief"]["patients"]["n"] == 1  # B's session has no pain scores
    assert r["questionnaires"]["hit6"]["change_first_to_latest"]["mean"] == -8
    assert r["questionnaires"]["pgic"]["much_or_very_much_improved"]["count"] == 1
    trend = {t["index"]: t for t in r["trend"]}
    assert trend[-1]["evaluable_patients"] == 2 and 1 not in trend  # block 1: A low, B none
    assert trend[2]["migraine_days_per_28"] == pytest.approx((3 * 28 / 25 + 1) / 2)
    keys = {b["key"] for b in r["benchmarks"]}
    assert keys == {"cochrane2016_vs_no_acupuncture", "cochrane2016_vs_sham",
                    "xu2020_bmj_weeks_13_16"}  # fmt: skip
    cochrane = next(b for b in r["benchmarks"] if b["key"] == "cochrane2016_vs_sham")
    assert (cochrane["acupuncture"], cochrane["control"], cochrane["marker"]) == (50.0, 41.0, "V")
    assert cochrane["clinic"] == 100.0
    assert any("regression to the mean" in c.lower() for c in r["cohort_vs_trial"])
    assert len(r["by_practitioner"]) == 2  # A's practitioner and "none recorded" (B)
    with db.read() as s:
        audited = s.scalar(
            select(func.count()).where(
                AuditEvent.entity == "practice_report", AuditEvent.clinic_id == cohort.clinic_x
            )
        )
    assert audited == 1


def test_editing_an_attack_through_the_service_refreshes_its_old_and_new_days(
    db: Database, world: World
) -> None:
    actor = Actor.system(world.clinic_x)
    pid = world.patient_b

    def units() -> dict[D, tuple[bool, bool, int]]:
        with db.read() as s:
            return {
                r.day: (r.migraine, r.headache, r.attacks_started)
                for r in s.scalars(select(DayUnitRow).where(DayUnitRow.patient_id == pid))
            }

    attack = Attack(
        start=dt.datetime(2026, 2, 3, 8, 0),
        end=dt.datetime(2026, 2, 3, 16, 0),
        peak_intensity=7,
        side=Side.LEFT,
        quality=(Quality.PULSATING,),
        aggravated_by_activity=True,
        nausea=Nausea.MODERATE,
        photophobia=True,
        phonophobia=True,
    )
    with db.write() as s:
        diary.upsert_day(s, actor=actor, patient_id=pid, day=DiaryDay(D(2026, 2, 3), True))
        row = diary.create_attack(s, actor=actor, patient_id=pid, attack=attack)
        aid, version = row.id, row.version
    assert units() == {D(2026, 2, 3): (True, True, 1)}
    moved = replace(attack, start=dt.datetime(2026, 2, 7, 23), end=dt.datetime(2026, 2, 8, 2))
    with db.write() as s:
        diary.update_attack(
            s, actor=actor, patient_id=pid, attack_id=aid, attack=moved, version=version
        )
    # 02-03 keeps its entry (a headache day with no attack left), 02-07 and 02-08 come in.
    assert units() == {
        D(2026, 2, 3): (False, True, 0),
        D(2026, 2, 7): (True, True, 1),
        D(2026, 2, 8): (True, True, 0),
    }
    with db.write() as s:
        diary.delete_attack(s, actor=actor, patient_id=pid, attack_id=aid)
        diary.delete_day(s, actor=actor, patient_id=pid, day=D(2026, 2, 3))
    assert units() == {}


def test_demo_fills_day_units_exactly_as_the_service_refresh_does(db: Database) -> None:
    # Chunks of 2 make the generator count in a worker process (once: it costs a spawn).
    chunk = 2 if db.is_sqlite else 200
    demo.generate(db, patients=4, days=70, seed=3, chunk=chunk, end=D(2026, 6, 30))
    with db.read() as s:
        pids = list(s.scalars(select(Patient.id).order_by(Patient.id)))

    def snapshot() -> list[tuple[Any, ...]]:
        with db.read() as s:
            rows = s.scalars(select(DayUnitRow).order_by(DayUnitRow.patient_id, DayUnitRow.day))
            return [tuple(getattr(r, c) for c in COLUMNS) for r in rows]

    bulk = snapshot()
    assert len({r[0] for r in bulk}) == 4 and len(bulk) > 200
    assert any(r[COLUMNS.index("late")] for r in bulk)
    with db.write() as s:
        for pid in pids:
            refresh_day_units(s, patient_id=pid)
    assert snapshot() == bulk


# --------------------------------------------------------------------------- API and CLI


def test_api_patient_reads_own_outcomes_and_staff_read_the_report(
    app_client: TestClient, cohort: World, login: Login
) -> None:
    h = login(cohort.patient_a_email)
    r = app_client.get(f"/api/v1/patients/{cohort.patient_a}/outcomes", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["responder"]["50"] is True and r.json()["external_id"] == "A-1"
    other = app_client.get(f"/api/v1/patients/{cohort.patient_b}/outcomes", headers=h)
    assert other.status_code == 404
    assert app_client.get("/api/v1/reports/practice", headers=h).status_code == 403
    staff = login(cohort.prac_x)
    r = app_client.get("/api/v1/reports/practice?block=2", headers=staff)
    assert r.status_code == 200 and r.json()["patients_treated"] == 2
    bad = app_client.get("/api/v1/reports/practice?practitioner_id=999", headers=staff)
    assert bad.status_code == 422
    y = login(cohort.prac_y)
    assert app_client.get("/api/v1/reports/practice", headers=y).json()["patients_treated"] == 1
    assert (
        app_client.get(f"/api/v1/patients/{cohort.patient_a}/outcomes", headers=y).status_code
        == 404
    )


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_outcomes_and_report(cli: CliRunner, cohort: World, tmp_path: Path) -> None:
    clinic = str(cohort.clinic_x)
    r = cli.invoke(app, ["outcomes", "A-1", "--format", "json", "--clinic", clinic])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    required = {"baseline", "blocks", "change", "responder", "questionnaires",
                "session_relief", "mechanisms", "triggers"}  # fmt: skip
    assert required <= set(data)
    block_keys = {"start", "end", "recorded_days", "compliance", "migraine_days",
                  "headache_days", "moderate_severe_days", "acute_medication_days", "attacks",
                  "migraine_days_per_28"}  # fmt: skip
    assert all(block_keys <= set(b) for b in data["blocks"])
    assert set(data["responder"]) == {"30", "50", "75", "100"}
    assert cli.invoke(app, ["outcomes", "nobody", "--clinic", clinic]).exit_code == 3
    r = cli.invoke(app, ["report", "--clinic", clinic, "--format", "json", "--block", "0"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["block"] == {"index": 0, "label": "weeks 1-4"}
    page = tmp_path / "report.html"
    r = cli.invoke(app, ["report", "--clinic", clinic, "--format", "html", "-o", str(page)])
    assert r.exit_code == 0, r.output
    html = page.read_text()
    assert html.startswith("<!doctype html>") and "weeks 9-12" in html
    assert "Cochrane" in html and "<script" not in html
    assert "http://" not in html and "https://" not in html
    assert cli.invoke(app, ["report", "--clinic", clinic, "--format", "pdf"]).exit_code == 2


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_every_outcomes_and_report_key_is_documented_in_the_readme(
    db: Database, cohort: World
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    section = readme.split("## Outcomes JSON", 1)[1].split("\n## ", 1)[0]
    with db.write() as s:
        report = outcomes.practice_report(s, actor=Actor.system(cohort.clinic_x)).to_json()
    keys = _keys(outcome_of(db, cohort, cohort.patient_a)) | _keys(report)
    keys -= set(report["questionnaires"]["pgic"]["latest_by_answer"])  # PGIC answer codes
    missing = sorted(k for k in keys if f"`{k}`" not in section and f'`"{k}"`' not in section)
    assert missing == []
