"""``acuhead demo`` gives the dashboard a day to show (``make run`` showed an empty day list):
the demo clinic keeps Central European time, and every demo practitioner has appointments
today and on the next days, booked through the appointment service, never overlapping, and
the same for the same seed. Both engines."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from acuhead import demo
from acuhead.services import appointments as appts
from acuhead.services import dashboard
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database, upgrade
from acuhead.store.models import Clinic, Patient, User

from .test_pages import page_login

BERLIN = "Europe/Berlin"
DEMO_PRACTITIONER = "practitioner@demo.acuhead.test"


def _actor(db: Database, email: str) -> Actor:
    with db.read() as s:
        u = s.scalars(select(User).where(User.email == email)).one()
        return Actor(u.id, u.clinic_id, Role(u.role))


def _booked(db: Database, actor: Actor, first: dt.date) -> list[appts.AppointmentView]:
    with db.write() as s:
        return appts.between(s, actor=actor, start_day=first, days=demo.BOOKED_DAYS)


def test_todays_day_list_of_the_demo_practitioner_has_appointments(db: Database) -> None:
    demo.generate(db, patients=24, days=60, seed=5)
    prac = _actor(db, DEMO_PRACTITIONER)
    with db.read() as s:
        clinic = s.get(Clinic, prac.clinic_id)
        assert clinic is not None and clinic.timezone == BERLIN
    with db.write() as s:
        day = dashboard.day_list(s, actor=prac, practitioner_id=prac.user_id)
    assert day.timezone == BERLIN
    assert day.day == dt.datetime.now(ZoneInfo(BERLIN)).date()
    items = [i.appointment for i in day.items]
    assert len(items) >= 3, items
    zone = ZoneInfo(BERLIN)
    for a in items:
        assert a.practitioner_id == prac.user_id and a.timezone == BERLIN
        # clinic time: the offset is Berlin's on that day, and inside the opening hours
        assert a.start.utcoffset() == a.start.replace(tzinfo=None).replace(tzinfo=zone).utcoffset()
        assert a.local_day == day.day
        assert dt.time(8) <= a.start.time() and a.end.time() <= dt.time(18)
    for before, after in itertools.pairwise(items):
        assert before.end <= after.start, (before, after)


def test_every_demo_practitioner_has_days_booked_without_overlaps(db: Database) -> None:
    demo.generate(db, patients=24, days=60, seed=5)
    admin = _actor(db, "admin@demo.acuhead.test")
    with db.read() as s:
        today = appts.clinic_today(s, admin.clinic_id)
        staff = set(
            s.scalars(
                select(User.id).where(
                    User.clinic_id == admin.clinic_id, User.role == Role.PRACTITIONER.value
                )
            )
        )
    booked = _booked(db, admin, today)
    assert {a.practitioner_id for a in booked if a.local_day == today} == staff
    assert len({a.local_day for a in booked}) >= 4  # today and the next days
    by_practitioner: dict[int, list[appts.AppointmentView]] = {}
    for a in booked:
        by_practitioner.setdefault(a.practitioner_id, []).append(a)
    for slots in by_practitioner.values():
        slots.sort(key=lambda a: a.start)
        for before, after in itertools.pairwise(slots):
            assert before.end <= after.start, (before, after)
    # a patient comes at most once a day (two practitioners never hold one patient at once)
    visits = [(a.patient_id, a.local_day) for a in booked]
    assert len(visits) == len(set(visits))
    # a second run adds patients, not a second set of appointments on the same days
    demo.generate(db, patients=1, days=60, seed=6)
    assert len(_booked(db, admin, today)) == len(booked)


def test_the_booked_days_are_the_same_for_the_same_seed(db: Database, tmp_path: Path) -> None:
    end = dt.date(2026, 5, 31)  # a Sunday: the first day is still a full day

    def booked(database: Database) -> list[tuple[str, str, str, int]]:
        demo.generate(database, patients=5, days=60, seed=9, end=end)
        admin = _actor(database, "admin@demo.acuhead.test")
        with database.read() as s:
            who = {pid: ext for pid, ext in s.execute(select(Patient.id, Patient.external_id))}
            staff = {uid: email for uid, email in s.execute(select(User.id, User.email))}
        return [
            (who[a.patient_id], staff[a.practitioner_id], a.start.isoformat(), a.duration_min)
            for a in _booked(database, admin, end)
        ]

    first = booked(db)
    other = Database(f"sqlite:///{tmp_path / 'again.sqlite3'}")
    upgrade(other)
    again = booked(other)
    other.dispose()
    assert first and again == first
    assert {dt.date.fromisoformat(start[:10]) for _, _, start, _ in first} >= {end}


def test_the_dashboard_page_lists_todays_demo_appointments(
    db: Database, app_client: TestClient
) -> None:
    demo.generate(db, patients=4, days=60, seed=5)
    prac = _actor(db, DEMO_PRACTITIONER)
    with db.write() as s:
        day = dashboard.day_list(s, actor=prac, practitioner_id=prac.user_id)
    page_login(app_client, DEMO_PRACTITIONER, demo.DEMO_PASSWORDS[DEMO_PRACTITIONER][1])
    html = app_client.get("/clinic").text
    assert day.items
    for item in day.items:
        assert item.appointment.external_id in html
        assert item.appointment.start.strftime("%H:%M") in html
