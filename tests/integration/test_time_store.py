"""Time rules through the API and the store, on both engines (issue 12 item 5).

The store keeps a local wall-clock column and a UTC column; the database keeps no ``fold``, so
the repeated autumn hour is told apart by the UTC column when attacks are read back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.domain.ichd3 import classify_attack, in_patient_zone
from acuhead.services import diary
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import DayUnitRow

from .factories import World

Login = Callable[[str], dict[str, str]]


def _attack(start: str, end: str) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "peak_intensity": 7,
        "side": "left",
        "quality": ["pulsating"],
        "aggravated_by_activity": True,
        "nausea": "moderate",
        "vomiting": False,
        "photophobia": True,
        "phonophobia": True,
    }


def _headache_minutes(db: Database, patient_id: int, day: dt.date) -> int:
    with db.read() as s:
        row = s.scalars(
            select(DayUnitRow).where(DayUnitRow.patient_id == patient_id, DayUnitRow.day == day)
        ).one()
        return row.headache_minutes


def test_attack_across_the_spring_change_lasts_elapsed_time(
    db: Database, app_client: TestClient, world: World, login: Login
) -> None:
    """Patient A lives in Europe/Berlin: 00:00+01:00 to 04:30+02:00 on 2026-03-29 is 3 h 30 min,
    under ICHD-3 1.1 B's 4 h for an adult (A has no birth date: 2-4 h leaves B open, note 3)."""
    h = login(world.patient_a_email)
    body = _attack("2026-03-29T00:00:00+01:00", "2026-03-29T04:30:00+02:00")
    r = app_client.post(f"/api/v1/patients/{world.patient_a}/attacks", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert _headache_minutes(db, world.patient_a, dt.date(2026, 3, 29)) == 210
    with db.read() as s:
        loaded = diary.load_diary(s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a)
    (attack,) = loaded.attacks
    assert in_patient_zone(attack, loaded.patient).minutes == 210
    result = classify_attack(attack, loaded.patient)
    assert result.criteria["B"] is None and result.code != "1.1"


def test_attack_in_the_repeated_autumn_hour_keeps_its_instants(
    db: Database, app_client: TestClient, world: World, login: Login
) -> None:
    """Berlin's 02:00-03:00 happens twice on 2026-10-25: from the first 02:10 (+02:00) to the
    second 02:50 (+01:00) is 100 min; read by the wall clock it would be 40 min."""
    h = login(world.patient_a_email)
    body = _attack("2026-10-25T02:10:00+02:00", "2026-10-25T02:50:00+01:00")
    r = app_client.post(f"/api/v1/patients/{world.patient_a}/attacks", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert _headache_minutes(db, world.patient_a, dt.date(2026, 10, 25)) == 100
    with db.read() as s:
        loaded = diary.load_diary(s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a)
    (attack,) = loaded.attacks
    assert attack.end is not None and attack.end.fold == 1
    assert classify_attack(attack, loaded.patient).checks["2"]["B"] is True  # 30 min - 7 days


def test_acuhead_classify_reads_elapsed_time_and_shows_uncertain_days(tmp_path: Path) -> None:
    """The CLI read-out (issue 12 items 5 and 8): the spring-change attack lasts 3 h 30 min,
    so it does not meet ICHD-3 1.1 B; a headache day without attack details and an attack
    without an end give migraine_day null with the reason, not false."""
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "T-1", "timezone": "Europe/Berlin", "birth_date": "1980-01-01"},
        "days": [{"date": "2026-03-27", "headache": True}],
        "attacks": [
            _attack("2026-03-29T00:00:00+01:00", "2026-03-29T04:30:00+02:00"),
            {**_attack("2026-03-25T09:00:00", "2026-03-25T10:00:00"), "end": None},
        ],
    }
    path = tmp_path / "diary.json"
    path.write_text(json.dumps(doc), "utf-8")
    result = CliRunner().invoke(app, ["classify", str(path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    (spring,) = [a for a in out["attacks"] if "3 h 30 min" in " ".join(a["reasons"])]
    assert spring["criteria"]["B"] is False and spring["code"] == "1.5.1"
    days = {d["date"]: d for d in out["days"]}
    assert days["2026-03-27"]["migraine_day"] is None
    assert days["2026-03-27"]["migraine_day_uncertain_reason"] == (
        "headache marked without attack details"
    )
    assert days["2026-03-25"]["migraine_day"] is None
    assert "attack duration not recorded" in days["2026-03-25"]["migraine_day_uncertain_reason"]
