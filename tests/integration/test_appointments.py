"""Appointments on both engines: booking, overlap refusal, move with version, cancel, the day
and week lists in the clinic's zone across DST, access, and two concurrent bookings."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select

from acuhead.errors import Conflict, Forbidden, NotFound, ValidationError, VersionRequired
from acuhead.services import appointments as appts
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import AppointmentRow, Clinic, TreatmentSessionRow, User

from .factories import World

UTC = dt.UTC
BERLIN = "Europe/Berlin"


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=UTC)


def staff(db: Database, email: str) -> Actor:
    with db.read() as s:
        u = s.scalars(select(User).where(User.email == email)).one()
        return Actor(u.id, u.clinic_id, Role(u.role))


def berlin_clinic(db: Database, clinic_id: int) -> None:
    with db.write() as s:
        clinic = s.get(Clinic, clinic_id)
        assert clinic is not None
        clinic.timezone = BERLIN


@pytest.fixture
def prac(db: Database, world: World) -> Actor:
    berlin_clinic(db, world.clinic_x)
    return staff(db, world.prac_x)


def book(db: Database, actor: Actor, patient: int, start: dt.datetime, minutes: int = 60) -> int:
    with db.write() as s:
        row = appts.book(
            s,
            actor=actor,
            patient_id=patient,
            practitioner_id=actor.user_id or 0,
            start=start,
            duration_min=minutes,
            note="first visit",
        )
        return row.id


def test_book_and_read_back_in_clinic_time(db: Database, world: World, prac: Actor) -> None:
    aid = book(db, prac, world.patient_a, at(2026, 5, 4, 7, 30))
    with db.read() as s:
        view = appts.get(s, actor=prac, appointment_id=aid)
    assert view.start.isoformat() == "2026-05-04T09:30:00+02:00"
    assert view.end.isoformat() == "2026-05-04T10:30:00+02:00"
    assert (view.status, view.version, view.timezone) == ("booked", 1, BERLIN)


def test_overlap_for_one_practitioner_is_refused_naming_the_slot(
    db: Database, world: World, prac: Actor
) -> None:
    book(db, prac, world.patient_a, at(2026, 5, 4, 8))
    with pytest.raises(ValidationError) as err:
        book(db, prac, world.patient_b, at(2026, 5, 4, 8, 30), 30)
    assert err.value.errors[0].path == "start"
    assert "04.05.2026 from 10:00 to 11:00" in err.value.errors[0].message
    # back to back is fine, and another practitioner may see a patient at the same time
    book(db, prac, world.patient_b, at(2026, 5, 4, 9), 30)
    admin = staff(db, world.admin_x)
    book(db, admin, world.patient_b, at(2026, 5, 4, 8, 30), 30)
    with db.read() as s:
        n = len(s.scalars(select(AppointmentRow)).all())
    assert n == 3


def test_move_needs_the_current_version(db: Database, world: World, prac: Actor) -> None:
    aid = book(db, prac, world.patient_a, at(2026, 5, 4, 8))
    other = book(db, prac, world.patient_b, at(2026, 5, 4, 12))
    with db.write() as s, pytest.raises(VersionRequired):
        appts.move(s, actor=prac, appointment_id=aid, version=None, start=at(2026, 5, 4, 10))
    with db.write() as s:
        row = appts.move(s, actor=prac, appointment_id=aid, version=1, start=at(2026, 5, 4, 10))
        assert row.version == 2
    with db.write() as s, pytest.raises(Conflict):
        appts.move(s, actor=prac, appointment_id=aid, version=1, start=at(2026, 5, 4, 11))
    with db.write() as s, pytest.raises(ValidationError, match="14:00 to 15:00"):
        appts.move(s, actor=prac, appointment_id=aid, version=2, start=at(2026, 5, 4, 11, 30))
    # moving within its own old time is no clash with itself
    with db.write() as s:
        appts.move(s, actor=prac, appointment_id=aid, version=2, start=at(2026, 5, 4, 10, 15))
    with db.write() as s:
        appts.cancel(s, actor=prac, appointment_id=other, version=1)
    with db.write() as s:  # the cancelled slot is free again
        appts.move(s, actor=prac, appointment_id=aid, version=3, start=at(2026, 5, 4, 11, 30))


def test_cancel_frees_the_slot_and_keeps_the_row(db: Database, world: World, prac: Actor) -> None:
    aid = book(db, prac, world.patient_a, at(2026, 5, 4, 8))
    with db.write() as s, pytest.raises(VersionRequired):
        appts.cancel(s, actor=prac, appointment_id=aid, version=None)
    with db.write() as s:
        appts.cancel(s, actor=prac, appointment_id=aid, version=1)
    book(db, prac, world.patient_b, at(2026, 5, 4, 8))
    with db.read() as s:
        listed = appts.day(s, actor=prac, day=dt.date(2026, 5, 4), include_cancelled=True)
    assert [a.status for a in listed] == ["cancelled", "booked"]


@pytest.mark.parametrize(
    ("day", "inside", "outside"),
    [
        # spring change: the day runs 23:00 UTC (28th) .. 22:00 UTC (29th)
        (dt.date(2026, 3, 29), [at(2026, 3, 28, 23), at(2026, 3, 29, 21)], [at(2026, 3, 29, 22)]),
        # autumn change: 22:00 UTC (24th) .. 23:00 UTC (25th), 25 hours
        (
            dt.date(2026, 10, 25),
            [at(2026, 10, 24, 22), at(2026, 10, 25, 22)],
            [at(2026, 10, 24, 21), at(2026, 10, 25, 23)],
        ),
    ],
)
def test_day_list_is_the_clinic_day_across_dst(
    db: Database,
    world: World,
    prac: Actor,
    day: dt.date,
    inside: list[dt.datetime],
    outside: list[dt.datetime],
) -> None:
    for start in [*inside, *outside]:
        book(db, prac, world.patient_a, start, 30)
    with db.read() as s:
        listed = appts.day(s, actor=prac, day=day, practitioner_id=prac.user_id)
        week = appts.week(s, actor=prac, day=day, practitioner_id=prac.user_id)
    assert [a.start.astimezone(UTC) for a in listed] == inside
    assert all(a.local_day == day for a in listed)
    assert [a.id for a in week[day]] == [a.id for a in listed]
    assert list(week) == [day - dt.timedelta(days=6 - i) for i in range(7)]  # a Sunday


def test_access(db: Database, world: World, prac: Actor) -> None:
    aid = book(db, prac, world.patient_a, at(2026, 5, 4, 8))
    other = staff(db, world.prac_y)
    with db.read() as s, pytest.raises(NotFound):
        appts.get(s, actor=other, appointment_id=aid)
    with db.write() as s, pytest.raises(NotFound):
        appts.cancel(s, actor=other, appointment_id=aid, version=1)
    with db.write() as s, pytest.raises(NotFound):  # another clinic's patient
        appts.book(
            s,
            actor=prac,
            patient_id=world.patient_y,
            practitioner_id=prac.user_id or 0,
            start=at(2026, 5, 4, 12),
            duration_min=30,
        )
    with db.write() as s, pytest.raises(ValidationError, match="practitioner"):
        appts.book(
            s,
            actor=prac,
            patient_id=world.patient_a,
            practitioner_id=other.user_id or 0,
            start=at(2026, 5, 4, 12),
            duration_min=30,
        )
    pa = Actor(None, world.clinic_x, Role.PATIENT, patient_id=world.patient_a)
    pb = Actor(None, world.clinic_x, Role.PATIENT, patient_id=world.patient_b)
    with db.read() as s:
        assert appts.get(s, actor=pa, appointment_id=aid).id == aid
        assert [a.id for a in appts.for_patient(s, actor=pa, patient_id=world.patient_a)] == [aid]
        with pytest.raises(NotFound):
            appts.get(s, actor=pb, appointment_id=aid)
        with pytest.raises(NotFound):
            appts.for_patient(s, actor=pb, patient_id=world.patient_a)
        with pytest.raises(Forbidden):
            appts.day(s, actor=pa, day=dt.date(2026, 5, 4))
    with db.write() as s, pytest.raises(Forbidden):
        appts.cancel(s, actor=pa, appointment_id=aid, version=1)


def test_link_the_session_made_from_it(db: Database, world: World, prac: Actor) -> None:
    aid = book(db, prac, world.patient_a, at(2026, 5, 4, 8))
    with db.write() as s:
        made = []
        for patient in (world.patient_a, world.patient_b):
            row = TreatmentSessionRow(
                clinic_id=world.clinic_x,
                patient_id=patient,
                practitioner_id=prac.user_id,
                start_utc=dt.datetime(2026, 5, 4, 8),
                start_local=dt.datetime(2026, 5, 4, 10),
                record={},
            )
            s.add(row)
            s.flush()
            made.append(row.id)
    with db.write() as s, pytest.raises(ValidationError, match="another patient"):
        appts.link_session(s, actor=prac, appointment_id=aid, version=1, session_id=made[1])
    with db.write() as s:
        linked = appts.link_session(
            s, actor=prac, appointment_id=aid, version=1, session_id=made[0]
        )
        assert (linked.session_id, linked.version) == (made[0], 2)
    with db.read() as s:
        assert appts.get(s, actor=prac, appointment_id=aid).session_id == made[0]


def test_two_concurrent_overlapping_bookings_never_both_succeed(
    db: Database, world: World, prac: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both transactions read the practitioner's slots and wait for each other before they
    insert: without the per-practitioner lock (or SQLite's single writer) both find the slot
    free and both insert. With it, the second waits at the lock, so the first passes the
    barrier alone (it times out), commits, and the second then sees the clash."""
    barrier = threading.Barrier(2, timeout=2)
    original = appts._booked_slots

    def slow_read(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return found

    monkeypatch.setattr(appts, "_booked_slots", slow_read)
    outcomes: list[str] = []

    def attempt(patient: int, start: dt.datetime) -> None:
        try:
            book(db, prac, patient, start)
            outcomes.append("booked")
        except ValidationError:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=attempt, args=(world.patient_a, at(2026, 5, 4, 8))),
        threading.Thread(target=attempt, args=(world.patient_b, at(2026, 5, 4, 8, 30))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["booked", "refused"]
    with db.read() as s:
        assert len(s.scalars(select(AppointmentRow)).all()) == 1


def test_erasure_leaves_no_appointment(db: Database, world: World, prac: Actor) -> None:
    from acuhead.services import erasure

    book(db, prac, world.patient_a, at(2026, 5, 4, 8))
    keep = book(db, prac, world.patient_b, at(2026, 5, 4, 9))
    admin = staff(db, world.admin_x)
    with db.write() as s:
        erasure.erase_patient(s, actor=admin, patient_id=world.patient_a)
    with db.read() as s:
        assert [r.id for r in s.scalars(select(AppointmentRow))] == [keep]


def test_a_new_clinic_zone_applies_to_appointments_to_come(
    db: Database, world: World, prac: Actor
) -> None:
    now = dt.datetime.now(UTC).replace(second=0, microsecond=0)
    past = book(db, prac, world.patient_a, now - dt.timedelta(days=2))
    future = book(db, prac, world.patient_a, now + dt.timedelta(days=2))
    admin = staff(db, world.admin_x)
    with db.write() as s:
        appts.set_clinic_zone(s, actor=admin, timezone="Europe/Lisbon")
    with db.read() as s:
        old = appts.get(s, actor=prac, appointment_id=past)
        new = appts.get(s, actor=prac, appointment_id=future)
    assert (old.timezone, new.timezone) == (BERLIN, "Europe/Lisbon")
    assert new.start.astimezone(UTC) == now + dt.timedelta(days=2)  # the same instant
    with db.write() as s, pytest.raises(Forbidden):
        appts.set_clinic_zone(s, actor=prac, timezone="UTC")
