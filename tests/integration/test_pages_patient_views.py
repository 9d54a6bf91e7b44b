"""The patient's own views (issue 14): triggers in plain words, their own letter, and their
preventive medicines. Both engines."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from acuhead.analytics.results import TriggerFactor
from acuhead.domain.diary import Attack, DiaryDay
from acuhead.services import diary
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.web.pages.diary_views import plain

from .factories import World
from .test_pages import SAME, berlin_today, check_markup, page_login


def test_not_enough_data_is_said_in_plain_words(
    app_client: TestClient, db: Database, world: World
) -> None:
    with db.write() as s:
        actor = Actor.system(world.clinic_x)
        day = berlin_today() - dt.timedelta(days=3)
        diary.upsert_day(
            s,
            actor=actor,
            patient_id=world.patient_a,
            day=DiaryDay(date=day, headache=True, stress=8, sleep_hours=5.0),
        )
        diary.create_attack(
            s,
            actor=actor,
            patient_id=world.patient_a,
            attack=Attack(start=dt.datetime.combine(day, dt.time(9)), peak_intensity=5),
        )
    page_login(app_client, world.patient_a_email)
    r = app_client.get("/diary/triggers")
    assert r.status_code == 200
    check_markup(r.text)
    assert "not enough data" in r.text.lower()
    assert "high stress (7 or more out of 10)" in r.text
    assert "stress_high" not in r.text and "&gt;=" not in r.text  # no internal codes


def test_plain_words_for_each_verdict() -> None:
    """The sentence follows the analysis' verdict (domain.triggers.Verdict), never guesses."""
    base = {
        "factor": "poor_sleep",
        "label": "sleep < 6 h",
        "exposed_days": 20,
        "unexposed_days": 60,
        "exposed_risk": 0.5,
        "unexposed_risk": 0.1,
        "reason": "only 3 days with it",
    }
    table = [
        ("associated", "seems to go with attacks", "more often"),
        ("inversely associated", "fewer attacks after it", "less often"),
        ("no clear association", "no clear link", "No clear link"),
        ("not enough data", "not enough data", "only 3 days with it"),
    ]
    for verdict, badge, words in table:
        line = plain(TriggerFactor.model_construct(**base, verdict=verdict))
        assert line.badge == badge and words in line.sentence, verdict
    assert "50 %" in plain(TriggerFactor.model_construct(**base, verdict="associated")).sentence


def test_the_letter_is_the_patients_own(app_client: TestClient, db: Database, world: World) -> None:
    page_login(app_client, world.patient_a_email)
    r = app_client.get("/diary/letter.pdf")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf" and r.content[:5] == b"%PDF-"
    assert "attachment" in r.headers["content-disposition"]
    app_client.cookies.clear()
    page_login(app_client, "prac@x.test")
    assert app_client.get("/diary/letter.pdf", follow_redirects=False).status_code == 303


def test_a_patient_enters_a_preventive_medicine(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_a_email)
    page = c.get("/diary/medicines")
    check_markup(page.text)
    bad = c.post("/diary/medicines", data={"name": "", "start": "2026-01-01"}, headers=SAME)
    assert bad.status_code == 422 and 'id="name-error"' in bad.text
    r = c.post(
        "/diary/medicines",
        data={"name": "propranolol", "dose": "40 mg", "start": "2026-10-01"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303
    with db.read() as s:
        (reg,) = diary.list_regimens(
            s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a
        )
    assert reg.name == "propranolol" and reg.kind == "drug" and reg.stop is None
    assert "propranolol, 40 mg" in c.get("/diary/medicines").text
    wrong = c.post(
        "/diary/medicines",
        data={"name": "x", "start": "2026-10-01", "stop": "2026-09-01"},
        headers=SAME,
    )
    assert wrong.status_code == 422 and 'id="stop-error"' in wrong.text


def test_a_chosen_reminder_time_is_kept_and_used_by_the_reminders(
    app_client: TestClient, db: Database, world: World
) -> None:
    from acuhead.services import reminders

    c = app_client
    page_login(c, world.patient_b_email)  # patient B lives in UTC
    page = c.get("/diary/reminder")
    check_markup(page.text)
    r = c.post(
        "/diary/reminder",
        data={"reminder_time": "20:00", "version": "0"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'value="20:00"' in c.get("/diary/reminder").text
    stale = c.post("/diary/reminder", data={"reminder_time": "07:00", "version": "0"}, headers=SAME)
    assert stale.status_code == 409 and 'value="07:00"' in stale.text
    bad = c.post("/diary/reminder", data={"reminder_time": "25:99", "version": "1"}, headers=SAME)
    assert bad.status_code == 422

    today = dt.datetime.now(dt.UTC).date()
    before = dt.datetime.combine(today, dt.time(19, 59), tzinfo=dt.UTC)
    after = dt.datetime.combine(today, dt.time(20, 1), tzinfo=dt.UTC)
    with db.read() as s:
        early = [r for r in reminders.find_reminders(s, now=before) if r.kind == "diary"]
        late = [r for r in reminders.find_reminders(s, now=after) if r.kind == "diary"]
    b_user = {r.email for r in late}
    assert world.patient_b_email not in {r.email for r in early}
    assert world.patient_b_email in b_user
    (b,) = [r for r in late if r.email == world.patient_b_email]
    assert b.day == today and b.reason == f"diary:{today.isoformat()}"
    # Patient A chose nothing: the usual reminder about yesterday (tests/test_reminders.py);
    # registered today, A has no yesterday to be reminded of at either hour.
    assert world.patient_a_email not in {r.email for r in early + late}
