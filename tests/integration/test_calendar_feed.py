"""The practitioner's iCalendar feed on both engines: it parses with the icalendar library,
times are right in the clinic's zone (across the spring change), it carries no health data,
and it stops (404) after revocation or when a new URL replaces it."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from acuhead.errors import Forbidden, NotFound
from acuhead.services import appointments as appts
from acuhead.services import calendar_feed, diary
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import CalendarFeedRow, Clinic, User

from .factories import World
from .test_pages import SAME, page_login

BERLIN = "Europe/Berlin"
NOW = dt.datetime(2027, 3, 20, 12, 0, tzinfo=dt.UTC)


def _actor(db: Database, email: str) -> Actor:
    with db.read() as s:
        u = s.scalars(select(User).where(User.email == email)).one()
        return Actor(u.id, u.clinic_id, Role(u.role))


@pytest.fixture
def prac(db: Database, world: World) -> Actor:
    with db.write() as s:
        clinic = s.get(Clinic, world.clinic_x)
        assert clinic is not None
        clinic.timezone = BERLIN
        diary.update_patient(
            s,
            actor=Actor.system(world.clinic_x),
            patient_id=world.patient_a,
            version=1,
            changes={"display_name": "Anna Kowalski"},
        )
    return _actor(db, world.prac_x)


def _book(db: Database, prac: Actor, patient: int, day: dt.date, hour: int, note: str) -> int:
    with db.write() as s:
        return appts.book(
            s,
            actor=prac,
            patient_id=patient,
            practitioner_id=prac.user_id or 0,
            start=dt.datetime.combine(day, dt.time(hour)),
            duration_min=45,
            note=note,
        ).id


def test_feed_parses_with_clinic_times_and_no_health_data(
    db: Database, world: World, prac: Actor
) -> None:
    # 2027-03-28 is the spring change in Europe/Berlin: 09:00 is CEST (07:00 UTC)
    before = _book(db, prac, world.patient_a, dt.date(2027, 3, 27), 9, "migraine with aura")
    after = _book(db, prac, world.patient_b, dt.date(2027, 3, 28), 9, "pregnant, week 12")
    cancelled = _book(db, prac, world.patient_b, dt.date(2027, 3, 29), 9, "")
    with db.write() as s:
        appts.cancel(s, actor=prac, appointment_id=cancelled, version=1)
        token = calendar_feed.create(s, actor=prac, practitioner_id=prac.user_id or 0)
    with db.read() as s:
        body = calendar_feed.render(s, token=token, base_url="https://clinic.example", now=NOW)
    cal = icalendar.Calendar.from_ical(body)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 2
    starts = [e.decoded("dtstart") for e in events]
    assert [s.astimezone(dt.UTC) for s in starts] == [
        dt.datetime(2027, 3, 27, 8, 0, tzinfo=dt.UTC),  # 09:00 CET
        dt.datetime(2027, 3, 28, 7, 0, tzinfo=dt.UTC),  # 09:00 CEST
    ]
    assert all(str(e["dtstart"].params["TZID"]) == BERLIN for e in events)
    assert all((s.hour, s.minute) == (9, 0) for s in starts)
    assert [e.decoded("dtend") - e.decoded("dtstart") for e in events] == [
        dt.timedelta(minutes=45)
    ] * 2
    assert {str(e["summary"]) for e in events} == {"Appointment"}
    assert {str(e["uid"]) for e in events} == {
        f"appointment-{before}@clinic.example",
        f"appointment-{after}@clinic.example",
    }
    assert cal.walk("VTIMEZONE"), "the clinic zone is described in the feed"
    text = body.decode()
    for secret in ("aura", "pregnant", "Anna", "Kowalski", "A-1", "B-1", "migraine", "AK"):
        assert secret not in text, secret
    assert not re.search(r"^(DESCRIPTION|ATTENDEE|LOCATION|CATEGORIES)", text, re.M)


def test_revoke_and_replace_stop_the_old_url(db: Database, world: World, prac: Actor) -> None:
    with db.write() as s:
        first = calendar_feed.create(s, actor=prac, practitioner_id=prac.user_id or 0)
    with db.write() as s:
        second = calendar_feed.create(s, actor=prac, practitioner_id=prac.user_id or 0)
    with db.read() as s:
        calendar_feed.render(s, token=second, base_url="http://x", now=NOW)
        with pytest.raises(NotFound):
            calendar_feed.render(s, token=first, base_url="http://x", now=NOW)
        stored = s.scalars(select(CalendarFeedRow.token_hash)).all()
    assert first not in stored and second not in stored  # hashed only
    with db.write() as s:
        assert calendar_feed.revoke(s, actor=prac, practitioner_id=prac.user_id or 0) == 1
    with db.read() as s, pytest.raises(NotFound):
        calendar_feed.render(s, token=second, base_url="http://x", now=NOW)


def test_who_may_manage_a_feed(db: Database, world: World, prac: Actor) -> None:
    admin = _actor(db, world.admin_x)
    other = _actor(db, world.prac_y)
    with db.write() as s, pytest.raises(Forbidden):
        calendar_feed.create(s, actor=prac, practitioner_id=admin.user_id or 0)
    with db.write() as s, pytest.raises(NotFound):
        calendar_feed.create(s, actor=other, practitioner_id=prac.user_id or 0)
    with db.write() as s:
        assert calendar_feed.create(s, actor=admin, practitioner_id=prac.user_id or 0)


def test_feed_url_over_http(
    app_client: TestClient, db: Database, world: World, prac: Actor
) -> None:
    with db.read() as s:
        day = appts.clinic_today(s, world.clinic_x) + dt.timedelta(days=1)
    _book(db, prac, world.patient_a, day, 10, "note")
    page_login(app_client, world.prac_x)
    r = app_client.post("/clinic/appointments/feed", data={}, headers=SAME)
    assert r.status_code == 200
    url = re.search(r'value="(http[^"]+/calendar/[^"]+\.ics)"', r.text)
    assert url is not None
    path = url.group(1).split("://", 1)[1].split("/", 1)[1]
    app_client.cookies.clear()  # calendar apps have no login
    feed = app_client.get("/" + path)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    events = list(icalendar.Calendar.from_ical(feed.content).walk("VEVENT"))
    assert [e.decoded("dtstart").strftime("%H:%M") for e in events] == ["10:00"]
    page_login(app_client, world.prac_x)
    revoked = app_client.post("/clinic/appointments/feed/revoke", data={}, headers=SAME)
    assert revoked.status_code == 200 and "revoked" in revoked.text
    app_client.cookies.clear()
    assert app_client.get("/" + path).status_code == 404
    assert app_client.get("/calendar/not-a-token.ics").status_code == 404
