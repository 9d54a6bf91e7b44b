"""The dashboard as a day list, on both engines: today's appointments first in clinic time,
each with the gate's screen answer or open alerts, migraine days against baseline,
questionnaires due and the diary gap; a bounded number of statements however many patients."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from acuhead.domain.readiness import ScreenStatus
from acuhead.services import appointments as appts
from acuhead.services import dashboard, diary, gate
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import (
    Clinic,
    DayUnitRow,
    DiaryDayRow,
    Patient,
    QuestionnaireSchedule,
    TreatmentSessionRow,
    User,
)

from .factories import World, screen
from .test_pages import page_login

UTC = dt.UTC
BERLIN = "Europe/Berlin"


def _prac(db: Database, email: str) -> Actor:
    with db.read() as s:
        u = s.scalars(select(User).where(User.email == email)).one()
        return Actor(u.id, u.clinic_id, Role(u.role))


def _setup(db: Database, world: World) -> tuple[Actor, dt.date, dt.datetime]:
    with db.write() as s:
        clinic = s.get(Clinic, world.clinic_x)
        assert clinic is not None
        clinic.timezone = BERLIN
    prac = _prac(db, world.prac_x)
    now = dt.datetime.now(UTC)
    with db.read() as s:
        today = appts.clinic_today(s, world.clinic_x, now)
    return prac, today, now


def _book(db: Database, prac: Actor, patient: int, today: dt.date, hour: int) -> None:
    with db.write() as s:
        appts.book(
            s,
            actor=prac,
            patient_id=patient,
            practitioner_id=prac.user_id or 0,
            start=dt.datetime.combine(today, dt.time(hour)),
            duration_min=30,
        )


def _day_unit(s: object, clinic: int, patient: int, day: dt.date, migraine: bool) -> None:
    s.add(  # type: ignore[attr-defined]
        DayUnitRow(
            patient_id=patient,
            day=day,
            clinic_id=clinic,
            day_num=(day - dt.date(1970, 1, 1)).days,
            recorded=True,
            migraine=migraine,
            headache=migraine,
            moderate_severe=False,
            acute_med=False,
            migraine_specific_med=False,
            triptan=False,
            attacks_started=0,
            peak_sum=0,
            peak_n=0,
            headache_minutes=0,
            late=False,
        )
    )


def test_day_list_figures(db: Database, world: World) -> None:
    prac, today, now = _setup(db, world)
    _book(db, prac, world.patient_b, today, 11)
    _book(db, prac, world.patient_a, today, 9)
    _book(db, prac, world.patient_a, today + dt.timedelta(days=1), 9)  # tomorrow: not listed
    screen(db, world.patient_a)
    first_session = today - dt.timedelta(days=30)
    with db.write() as s:
        s.add(
            TreatmentSessionRow(
                clinic_id=world.clinic_x,
                patient_id=world.patient_a,
                start_utc=dt.datetime.combine(first_session, dt.time(9)),
                start_local=dt.datetime.combine(first_session, dt.time(10)),
                record={},
            )
        )
        # baseline: 28 days before the first session, 6 migraine days of 20 recorded
        for i in range(1, 21):
            _day_unit(
                s, world.clinic_x, world.patient_a, first_session - dt.timedelta(days=i), i <= 6
            )
        # last 28 days: 2 migraine days of 10 recorded (the first session day onwards)
        for i in range(10):
            _day_unit(s, world.clinic_x, world.patient_a, today - dt.timedelta(days=i), i in (1, 4))
        # outside both windows
        _day_unit(s, world.clinic_x, world.patient_a, first_session - dt.timedelta(days=40), True)
        s.add(
            DiaryDayRow(
                clinic_id=world.clinic_x,
                patient_id=world.patient_a,
                day=today - dt.timedelta(days=3),
                headache=False,
            )
        )
        s.add(QuestionnaireSchedule(clinic_id=world.clinic_x, instrument="hit6", every_days=28))
        pc = diary.create_patient(s, actor=Actor.system(world.clinic_x), external_id="C-1").id
    _book(db, prac, pc, today, 14)
    screen(db, world.patient_b, **{"P1_pattern_change": True})  # a "yes" opens an alert
    with db.read() as s:
        found = dashboard.day_list(s, actor=prac, now=now)
    assert [i.appointment.patient_id for i in found.items] == [world.patient_a, world.patient_b, pc]
    a = found.items[0].patient
    assert a.screen_status == "current" and not a.screen_needed
    assert (a.migraine_days_28, a.recorded_days_28) == (2, 10)
    assert (a.baseline_migraine_days, a.baseline_recorded_days) == (6, 20)
    assert a.days_since_entry == 3
    assert a.questionnaires_due == ["HIT-6"]
    assert a.open_alerts == 0
    b = found.items[1].patient
    assert b.open_alerts == 1
    c = found.items[2].patient
    assert c.screen_needed and c.screen_status == "missing" and c.open_alerts == 0
    assert c.baseline_migraine_days is None and c.last_entry is None


def test_day_list_statements_do_not_grow_with_patients(db: Database, world: World) -> None:
    prac, today, now = _setup(db, world)
    sx = Actor.system(world.clinic_x)

    # patients booked back to back (10 minutes each)
    def book_many(n: int, prefix: str, hour: int) -> None:
        with db.write() as s:
            for i in range(n):
                p = diary.create_patient(s, actor=sx, external_id=f"{prefix}-{i}")
                s.add(
                    DiaryDayRow(
                        clinic_id=world.clinic_x, patient_id=p.id, day=today, headache=False
                    )
                )
                start = dt.datetime.combine(today, dt.time(hour)) + dt.timedelta(minutes=10 * i)
                appts.book(
                    s,
                    actor=prac,
                    patient_id=p.id,
                    practitioner_id=prac.user_id or 0,
                    start=start,
                    duration_min=10,
                )

    seen_many: list[str] = []

    def statements() -> tuple[int, int]:
        seen: list[str] = []

        def on_exec(*args: object) -> None:
            seen.append(str(args[2]))

        with db.read() as s:
            # this session's connection only: deferred audit rows of earlier requests are
            # written by another thread meanwhile
            conn = s.connection()
            event.listen(conn, "before_cursor_execute", on_exec)
            try:
                listed = dashboard.day_list(s, actor=prac, now=now)
            finally:
                event.remove(conn, "before_cursor_execute", on_exec)
        seen_many[:] = seen
        return len(listed.items), len(seen)

    def gate_statements() -> int:
        """What one ``gate.readiness`` issues: the day list asks the gate once per patient
        of the day (its full answer needs the diary), everything else is batched."""
        seen: list[str] = []
        with db.read() as s:
            conn = s.connection()
            first = s.scalars(select(Patient.id).where(Patient.external_id == "few-0")).one()
            event.listen(conn, "before_cursor_execute", lambda *a: seen.append(str(a[2])))
            gate.readiness(s, actor=prac, patient_id=first)
        return len(seen)

    book_many(3, "few", 7)
    few_items, few = statements()
    per_patient = gate_statements()
    book_many(27, "many", 9)
    many_items, many = statements()
    assert (few_items, many_items) == (3, 30)
    assert many - few == 27 * per_patient, (few, many, per_patient, seen_many)
    assert many - 30 * per_patient <= 20  # the batched rest: the bound it had before


def test_dashboard_page_puts_today_first(
    app_client: TestClient, db: Database, world: World
) -> None:
    prac, today, _ = _setup(db, world)
    _book(db, prac, world.patient_a, today, 9)
    with db.write() as s:
        s.add(QuestionnaireSchedule(clinic_id=world.clinic_x, instrument="hit6", every_days=28))
        sx = Actor.system(world.clinic_x)
        for i in range(45):
            diary.create_patient(s, actor=sx, external_id=f"Z-{i:02d}")
    page_login(app_client, world.prac_x)
    r = app_client.get("/clinic")
    assert r.status_code == 200
    html = r.text
    assert html.index('id="today"') < html.index('id="alerts"') < html.index('id="due"')
    assert "09:00" in html and "A-1" in html and "Screen needed" in html
    today_part = html[html.index('id="today"') : html.index('id="alerts"')]
    assert ".md" not in today_part and not re.search(r"[A-Z]\d+_[a-z_]+", today_part)
    # the long list is collapsed and paged: 20 of the 47 due patients on the first page
    due = html[html.index('id="due"') : html.index('id="adverse-events"')]
    assert "<details" in html[html.index('id="due"') - 40 : html.index('id="due"')]
    assert due.count("/clinic/patients/") == 20
    assert "Page 1 of 3" in due
    second = app_client.get("/clinic?due_page=3").text
    part = second[second.index('id="due"') : second.index('id="adverse-events"')]
    assert part.count("/clinic/patients/") == 7
    for odd in ("0", "99", "abc", "-1"):  # a hand-edited link is a page, never an error
        assert app_client.get(f"/clinic?due_page={odd}").status_code == 200


def test_every_screen_state_has_words_for_the_day_list() -> None:
    assert set(dashboard.SCREEN_WORDS) == {s.value for s in ScreenStatus}
    assert all(".md" not in w and "_" not in w for w in dashboard.SCREEN_WORDS.values())
