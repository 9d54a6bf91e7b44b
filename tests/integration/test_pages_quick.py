"""The patient app's quick path (issue 14): "migraine now", the ongoing attack finished later,
medicine in two taps, editing, delete with undo, and no invented pain rating. Both engines."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from acuhead.domain.diary import Attack, MedClass, MedicationDose
from acuhead.services import diary
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import AttackRow, DayUnitRow

from .factories import World
from .test_pages import SAME, berlin_today, check_markup, page_login

JSON = {**SAME, "Accept": "application/json"}
KEY = "5f0e2a1c-6b3d-4e8f-9a7b-1c2d3e4f5a6b"
BERLIN = ZoneInfo("Europe/Berlin")


def _attacks(db: Database, world: World) -> list[Attack]:
    with db.read() as s:
        d = diary.load_diary(s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a)
    return list(d.attacks)


def _berlin_now() -> dt.datetime:
    return dt.datetime.now(BERLIN).replace(tzinfo=None)


def _now(c: TestClient, key: str = KEY, **extra: str) -> dict[str, object]:
    r = c.post("/diary/attacks/now", data={"idempotency_key": key, **extra}, headers=JSON)
    assert r.status_code == 201, r.text
    answer: dict[str, object] = r.json()
    return answer


def test_migraine_now_is_one_tap_with_no_end_and_no_invented_rating(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_a_email)
    page = c.get("/diary")
    assert 'action="/diary/attacks/now"' in page.text and "Migraine now" in page.text
    r = c.post(
        "/diary/attacks/now", data={"idempotency_key": KEY}, headers=SAME, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/diary"
    (a,) = _attacks(db, world)
    assert a.end is None and a.duration_min is None
    assert a.peak is None and a.readings == () and a.locations == ()
    assert abs((_berlin_now() - a.start).total_seconds()) < 120  # now, on the patient's clock
    # The day is recorded but its migraine status is uncertain, not "no" and not invented.
    with db.read() as s:
        unit = s.scalars(
            select(DayUnitRow).where(
                DayUnitRow.patient_id == world.patient_a, DayUnitRow.day == a.start.date()
            )
        ).one()
    assert unit.migraine_uncertain is True
    # The first screen now shows only the attack: no long form.
    page = c.get("/diary")
    check_markup(page.text)
    assert "It ended" in page.text and "How bad is it now?" in page.text
    assert 'id="day-form"' not in page.text and "attack-mode" in page.text
    assert 'id="day-form"' in c.get("/diary?full=1").text
    # The same tap sent again (a double tap, a resent form) is not a second attack.
    again = c.post(
        "/diary/attacks/now", data={"idempotency_key": KEY}, headers=SAME, follow_redirects=False
    )
    assert again.status_code == 303
    assert len(_attacks(db, world)) == 1


def test_a_tap_made_offline_keeps_its_own_time_and_rating(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_a_email)
    tapped = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    answer = _now(c, started=tapped.isoformat().replace("+00:00", "Z"), intensity="6")
    (a,) = _attacks(db, world)
    assert a.start == tapped.astimezone(BERLIN).replace(
        tzinfo=None, microsecond=a.start.microsecond
    )
    assert [r.intensity for r in a.readings] == [6] and a.end is None
    assert answer["version"] == 1 and answer["peak"] == 6
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    r = c.post(
        "/diary/attacks/now",
        data={"idempotency_key": "k-future-1", "started": future},
        headers=JSON,
    )
    assert r.status_code == 422 and "future" in r.text
    bad = c.post(
        "/diary/attacks/now", data={"idempotency_key": KEY, "intensity": "7"}, headers=JSON
    )
    assert bad.status_code == 422 and "different request" in bad.text


def test_the_ongoing_attack_is_rated_treated_and_ended_with_versions(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_a_email)
    _now(c, started=(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat())
    r = c.post(
        f"/diary/attacks/{KEY}/reading", data={"intensity": "7", "version": "1"}, headers=JSON
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["peak"] == 7
    med = {"med_name": "sumatriptan 50", "med_class": "triptan", "version": "2"}
    r = c.post(f"/diary/attacks/{KEY}/medication", data=med, headers=JSON)
    assert r.status_code == 200, r.text
    # Without the version: 428; with an old one: 409, and nothing changes.
    no_version = c.post(f"/diary/attacks/{KEY}/end", data={}, headers=JSON)
    assert no_version.status_code == 428
    stale = c.post(f"/diary/attacks/{KEY}/end", data={"version": "2"}, headers=JSON)
    assert stale.status_code == 409 and "now 3" in stale.json()["detail"]
    assert _attacks(db, world)[0].end is None
    done = c.post(
        f"/diary/attacks/{KEY}/end",
        data={"version": "3", "idempotency_key": "end-key-0001"},
        headers=JSON,
    )
    assert done.status_code == 200 and done.json()["ended"] is True
    replay = c.post(
        f"/diary/attacks/{KEY}/end",
        data={"version": "3", "idempotency_key": "end-key-0001"},
        headers=JSON,
    )
    assert replay.status_code == 200 and replay.json() == done.json()
    (a,) = _attacks(db, world)
    assert a.end is not None and a.end > a.start and a.peak == 7
    assert a.medications[0].med_class == MedClass.TRIPTAN and a.treated is True
    # Ended: the first screen offers "Migraine now" again, and the medicine is "usual" now.
    page = c.get("/diary").text
    assert 'id="ongoing"' in page and re.search(r'id="ongoing"[^>]*hidden', page)
    _now(c, key="second-attack-0001")
    page = c.get("/diary").text
    assert 'name="med_name" value="sumatriptan 50"' in page


def test_a_key_not_yet_recorded_answers_404_so_the_queue_keeps_it(
    app_client: TestClient, world: World
) -> None:
    page_login(app_client, world.patient_a_email)
    r = app_client.post("/diary/attacks/never-sent-key/end", data={"version": "1"}, headers=JSON)
    assert r.status_code == 404


def test_the_day_form_fast_path_records_no_pain_rating_it_was_not_given(
    app_client: TestClient, db: Database, world: World
) -> None:
    """Issue 14: "Yes" then Save recorded "worst 5/10" that nobody chose."""
    c = app_client
    page_login(c, world.patient_a_email)
    page = c.get("/diary").text
    assert not re.search(r'name="intensity" value="5"[^>]*checked', page)
    r = c.post(
        f"/diary/{berlin_today()}",
        data={"headache": "yes", "start_time": "08:00"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    (a,) = _attacks(db, world)
    assert a.peak is None


def test_an_attack_is_edited_at_its_version_and_a_conflict_shows_both(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_a_email)
    day = berlin_today() - dt.timedelta(days=1)
    with db.write() as s:
        row = diary.create_attack(
            s,
            actor=Actor.system(world.clinic_x),
            patient_id=world.patient_a,
            attack=Attack(
                start=dt.datetime.combine(day, dt.time(9)),
                medications=(MedicationDose("ibuprofen 400", MedClass.NSAID),),
            ),
        )
        attack_id = row.id
    page = c.get(f"/diary/attacks/{attack_id}/edit")
    assert page.status_code == 200
    check_markup(page.text)
    form = {
        "version": "1",
        "attack_date": day.isoformat(),
        "start_time": "08:30",
        "end_time": "13:00",
        "intensity": "8",
        "loc": ["temporal"],
        "side": "left",
        "quality": ["pulsating"],
        "nausea": "moderate",
        "photophobia": "on",
        "med_class": "nsaid",
        "med_name": "ibuprofen 400",
    }
    r = c.post(f"/diary/attacks/{attack_id}/edit", data=form, headers=SAME, follow_redirects=False)
    assert r.status_code == 303, r.text
    (a,) = _attacks(db, world)
    assert (a.start.hour, a.start.minute) == (8, 30) and a.end is not None and a.end.hour == 13
    assert a.peak == 8 and a.photophobia is True and a.side is not None
    # Sent again from the old page (version 1): 409, the stored answer is shown, nothing lost.
    r = c.post(f"/diary/attacks/{attack_id}/edit", data={**form, "intensity": "3"}, headers=SAME)
    assert r.status_code == 409
    assert "Stored now" in r.text and "worst 8/10" in r.text
    assert 'value="2"' in r.text  # saving again replaces it knowingly
    assert _attacks(db, world)[0].peak == 8


def test_delete_asks_first_and_can_be_undone(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_a_email)
    _now(c, intensity="4")
    with db.read() as s:
        attack_id = s.scalars(select(AttackRow.id)).one()
    confirm = c.get(f"/diary/attacks/{attack_id}/delete")
    assert confirm.status_code == 200 and "Delete this headache?" in confirm.text
    assert len(_attacks(db, world)) == 1  # asking deletes nothing
    r = c.post(f"/diary/attacks/{attack_id}/delete", headers=SAME)
    assert r.status_code == 200 and "was deleted" in r.text
    assert _attacks(db, world) == []
    undo = re.search(r'name="attack" value="([^"]+)"', r.text)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', r.text)
    assert undo and key
    import html

    data = {"attack": html.unescape(undo.group(1)), "idempotency_key": key.group(1)}
    back = c.post("/diary/attacks/restore", data=data, headers=SAME, follow_redirects=False)
    assert back.status_code == 303
    (a,) = _attacks(db, world)
    assert [r.intensity for r in a.readings] == [4] and a.end is None


def test_another_patients_attack_is_404_on_every_quick_route(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_b_email)
    _now(c)
    with db.read() as s:
        b_attack = s.scalars(select(AttackRow.id)).one()
    c.cookies.clear()
    page_login(c, world.patient_a_email)
    for path in ("end", "reading", "medication"):
        r = c.post(f"/diary/attacks/{b_attack}/{path}", data={"version": "1"}, headers=JSON)
        assert r.status_code == 404, path
    # B's key means nothing for A either.
    assert (
        c.post(f"/diary/attacks/{KEY}/end", data={"version": "1"}, headers=JSON).status_code == 404
    )
    assert c.get(f"/diary/attacks/{b_attack}/edit").status_code == 404
    assert c.post(f"/diary/attacks/{b_attack}/delete", headers=SAME).status_code == 404


def test_any_past_day_can_be_filled_in_and_a_late_entry_is_marked(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_a_email)
    old = berlin_today() - dt.timedelta(days=40)
    page = c.get(f"/diary?date={old}")
    assert page.status_code == 200 and 'id="late-hint"' in page.text
    check_markup(page.text)
    r = c.post(
        f"/diary/{old}",
        data={"headache": "yes", "start_time": "10:00", "end_time": "12:00", "intensity": "4"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303 and f"date={old}" in r.headers["location"]
    page = c.get(f"/diary?date={old}").text
    assert 'id="late-mark"' in page and "worst 4/10" in page
    with db.read() as s:
        unit = s.scalars(
            select(DayUnitRow).where(
                DayUnitRow.patient_id == world.patient_a, DayUnitRow.day == old
            )
        ).one()
    assert unit.late is True
    # Corrected later at its version, still the same day.
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    r = c.post(
        f"/diary/{old}",
        data={"headache": "yes", "version": version.group(1), "notes": "corrected"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303
    # Yesterday, within two days, is not late.
    assert 'id="late-hint"' not in c.get(f"/diary?date={berlin_today()}").text


def test_migraine_now_on_a_day_entered_as_free_makes_it_a_headache_day(
    app_client: TestClient, db: Database, world: World
) -> None:
    from acuhead.domain.diary import DiaryDay

    with db.write() as s:
        diary.upsert_day(
            s,
            actor=Actor.system(world.clinic_x),
            patient_id=world.patient_a,
            day=DiaryDay(date=berlin_today(), headache=False, stress=2),
        )
    page_login(app_client, world.patient_a_email)
    _now(app_client)
    with db.read() as s:
        day = diary.get_day(
            s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a, day=berlin_today()
        )
        assert day.headache is True and day.version == 2 and day.stress == 2


def test_a_pain_reading_can_be_removed_on_the_edit_page(
    app_client: TestClient, db: Database, world: World
) -> None:
    c = app_client
    page_login(c, world.patient_a_email)
    _now(c, intensity="4", started=(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat())
    r = c.post(
        f"/diary/attacks/{KEY}/reading", data={"intensity": "8", "version": "1"}, headers=JSON
    )
    assert r.status_code == 200
    attack_id = r.json()["attack_id"]
    page = c.get(f"/diary/attacks/{attack_id}/edit").text
    check_markup(page)
    assert "Remove" in page and "8/10" in page
    start = re.search(r'name="start_time" value="([^"]*)"', page)
    day = re.search(r'name="attack_date" value="([^"]*)"', page)
    assert start is not None and day is not None
    form = {
        "version": "2",
        "attack_date": day.group(1),
        "start_time": start.group(1),
        "intensity": "",
        "drop_reading": ["1"],
    }
    r = c.post(f"/diary/attacks/{attack_id}/edit", data=form, headers=SAME, follow_redirects=False)
    assert r.status_code == 303, r.text
    (a,) = _attacks(db, world)
    assert [x.intensity for x in a.readings] == [4] and a.peak == 4
