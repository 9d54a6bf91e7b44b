"""The day list shows the safety gate's full answer for today's patients (issue 15), on both
engines: flags the record itself raises (pregnancy, CLINICAL.md 2 item 11; ICHD-3 8.2
medication overuse, CLINICAL.md 1 "8.2" and 2 item 15) block planning without any open alert,
so "Screen current" beside such a patient would be wrong. And one clinic zone: a clinic that
never set its zone shows the same clinic time on the dashboard and on the patient page."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import event

from acuhead.domain.redflags import CATALOGUE
from acuhead.services import appointments as appts
from acuhead.services import clinics, dashboard, diary, gate, safety
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import Patient, RedFlagAlertRow

from .factories import World, screen
from .test_dashboard_day_list import _book, _prac, _setup
from .test_pages import page_login
from .test_safety_gate import _overuse_diary


def _patient(db: Database, world: World, ext: str, **kw: object) -> int:
    with db.write() as s:
        sx = Actor.system(world.clinic_x)
        return diary.create_patient(s, actor=sx, external_id=ext, **kw).id  # type: ignore[arg-type]


def _today_part(html: str) -> str:
    return html[html.index('id="today"') : html.index('id="alerts"')]


def _item(html: str, pid: int) -> str:
    part = _today_part(html)
    start = part.index(f'href="/clinic/patients/{pid}"')
    end = part.find('<li class="day-item">', start)
    return part[start : end if end != -1 else len(part)]


def test_day_list_shows_flags_the_record_raises(
    app_client: TestClient, db: Database, world: World
) -> None:
    prac, today, _ = _setup(db, world)
    # screened before the pregnancy was recorded: no intake alert, the record raises the flag
    pregnant = _patient(db, world, "preg-day", birth_date=dt.date(1994, 5, 5))
    screen(db, pregnant, onset=dt.date(2010, 1, 1))
    with db.write() as s:
        version = s.get(Patient, pregnant).version  # type: ignore[union-attr]
        diary.update_patient(
            s, actor=Actor.system(world.clinic_x), patient_id=pregnant, version=version,
            changes={"safety": {"pregnant": True}},
        )  # fmt: skip
    overuse = _patient(db, world, "moh-day", birth_date=dt.date(1980, 1, 1))
    screen(db, overuse, onset=dt.date(2000, 1, 1))
    _overuse_diary(db, world, overuse)
    ready = _patient(db, world, "ready-day", birth_date=dt.date(1980, 1, 1))
    screen(db, ready, onset=dt.date(2000, 1, 1))
    for hour, pid in ((9, pregnant), (10, overuse), (11, ready)):
        _book(db, prac, pid, today, hour)
    with db.read() as s:  # the premise: complete screens, no open alert
        open_ = s.query(RedFlagAlertRow).filter(RedFlagAlertRow.resolution_kind.is_(None))
        assert [(a.patient_id, a.source, a.findings) for a in open_] == []
        states = gate.screen_states(s, actor=prac, patient_ids=[pregnant, overuse], today=today)
        assert all(st.status.value == "current" for st in states.values())

    page_login(app_client, world.prac_x)
    html = app_client.get("/clinic").text
    p = _item(html, pregnant)
    assert "Not ready" in p and "Pregnancy or puerperium" in p and "Ready to plan" not in p
    m = _item(html, overuse)
    assert "Not ready" in m and "Painkiller overuse" in m and "8.2" in m
    r = _item(html, ready)
    assert "Ready to plan" in r and "Not ready" not in r
    today_part = _today_part(html)
    assert "P6_" not in today_part and "P10_" not in today_part and ".md" not in today_part


def test_day_list_statements_grow_only_by_the_gate_calls(db: Database, world: World) -> None:
    """The rest of the day list stays a fixed number of statements; each of today's patients
    adds exactly what one ``gate.readiness`` call issues (measured here, not assumed)."""
    prac, today, now = _setup(db, world)
    sx = Actor.system(world.clinic_x)

    def book(n: int, prefix: str, hour: int) -> list[int]:
        ids = []
        with db.write() as s:
            for i in range(n):
                p = diary.create_patient(s, actor=sx, external_id=f"{prefix}-{i}")
                start = dt.datetime.combine(today, dt.time(hour)) + dt.timedelta(minutes=10 * i)
                appts.book(
                    s, actor=prac, patient_id=p.id, practitioner_id=prac.user_id or 0,
                    start=start, duration_min=10,
                )  # fmt: skip
                ids.append(p.id)
        return ids

    def count(fn: object) -> tuple[int, float]:
        seen: list[str] = []

        def on_exec(*args: object) -> None:
            seen.append(str(args[2]))

        with db.read() as s:
            conn = s.connection()
            event.listen(conn, "before_cursor_execute", on_exec)
            t0 = time.perf_counter()
            try:
                fn(s)  # type: ignore[operator]
            finally:
                event.remove(conn, "before_cursor_execute", on_exec)
            return len(seen), time.perf_counter() - t0

    ids = book(3, "few", 7)
    few, _ = count(lambda s: dashboard.day_list(s, actor=prac, now=now))
    per_patient, _ = count(lambda s: gate.readiness(s, actor=prac, patient_id=ids[0]))
    book(12, "many", 9)
    many, seconds = count(lambda s: dashboard.day_list(s, actor=prac, now=now))
    assert many - few == 12 * per_patient, (few, many, per_patient)
    assert many - 15 * per_patient <= 20  # the batched rest of the list, as before
    print(f"day list with 15 appointments: {seconds * 1000:.0f} ms, {many} statements")


def test_a_clinic_without_a_zone_shows_one_clinic_time(
    app_client: TestClient, db: Database, world: World
) -> None:
    """The world's clinic never set its zone (UTC); most of its patients live in Berlin, so
    the day list, the appointments and the patient page all show Berlin time, from the one
    rule in services.clinics.clinic_zone."""
    with db.write() as s:
        sx = Actor.system(world.clinic_x)
        for i in range(3):
            diary.create_patient(s, actor=sx, external_id=f"BER-{i}", timezone="Europe/Berlin")
        assert clinics.clinic_zone(s, world.clinic_x) == "Europe/Berlin"
        assert appts.clinic_zone(s, world.clinic_x) == "Europe/Berlin"
        now = dt.datetime.now(dt.UTC)
        assert (
            appts.clinic_today(s, world.clinic_x, now)
            == now.astimezone(ZoneInfo("Europe/Berlin")).date()
        )
    prac = _prac(db, world.prac_x)
    with db.write() as s:
        safety.record_intake_screen(
            s, actor=prac, patient_id=world.patient_a,
            answers={f.code: f.code == "P6_pregnancy_puerperium" for f in CATALOGUE},
            first_headache_onset=dt.date(2010, 1, 1),
        )  # fmt: skip
        opened = s.query(RedFlagAlertRow).filter_by(patient_id=world.patient_a).one().opened_utc
    page_login(app_client, world.prac_x)
    dash = app_client.get("/clinic").text
    assert "Europe/Berlin".replace("_", " ") in _today_part(dash)
    page = app_client.get(f"/clinic/patients/{world.patient_a}").text
    berlin = opened.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Europe/Berlin"))
    assert berlin.strftime("%H:%M") in page and "Berlin time" in page
