"""Appointment pages on both engines: book in clinic time, a clash shown beside the time with
what was typed kept, move and cancel with the version, week view, tenant isolation."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from acuhead.store.db import Database
from acuhead.store.models import AppointmentRow, Clinic

from .factories import World
from .test_pages import SAME, page_login


def _berlin(db: Database, clinic_id: int) -> None:
    with db.write() as s:
        clinic = s.get(Clinic, clinic_id)
        assert clinic is not None
        clinic.timezone = "Europe/Berlin"


def _book(client: TestClient, **fields: str) -> object:
    data = {"patient": "A-1", "date": "2026-10-25", "time": "09:00", "duration": "45"}
    data.update(fields)
    return client.post("/clinic/appointments", data=data, headers=SAME, follow_redirects=False)


def test_book_clash_move_cancel(app_client: TestClient, world: World, db: Database) -> None:
    _berlin(db, world.clinic_x)
    page_login(app_client, world.prac_x)
    r = _book(app_client, note="bring the MRI report")
    assert r.status_code == 303, r.text
    day = app_client.get(r.headers["location"])
    assert day.status_code == 200
    assert "The appointment is booked." in day.text
    assert "<title>Appointments · acuhead</title>" in day.text
    assert day.text.count('id="feed"') == 1 and day.text.index("<header") < day.text.index(
        'id="feed"'
    )
    assert "09:00" in day.text and "09:45" in day.text and "bring the MRI report" in day.text
    with db.read() as s:
        row = s.query(AppointmentRow).one()
        # 09:00 CET on the autumn change day is 08:00 UTC
        assert row.start_utc.isoformat() == "2026-10-25T08:00:00"

    clash = _book(app_client, patient="B-1", time="09:30")
    assert clash.status_code == 422
    assert (
        "overlaps the practitioner&#39;s appointment on 25.10.2026 from 09:00 to 09:45"
        in clash.text
    )
    assert 'value="B-1"' in clash.text and 'value="09:30"' in clash.text

    gap = _book(app_client, patient="B-1", date="2026-03-29", time="02:30")
    assert gap.status_code == 422 and "the clocks go forward" in gap.text
    unknown = _book(app_client, patient="Y-1")
    assert unknown.status_code == 422 and "no patient of this clinic" in unknown.text

    aid = row.id
    moved = app_client.post(
        f"/clinic/appointments/{aid}/move",
        data={"version": "1", "date": "2026-10-25", "time": "11:00", "duration": "60"},
        headers=SAME,
        follow_redirects=False,
    )
    assert moved.status_code == 303
    stale = app_client.post(
        f"/clinic/appointments/{aid}/cancel",
        data={"version": "1"},
        headers=SAME,
        follow_redirects=False,
    )
    assert stale.status_code == 422 and "changed this appointment meanwhile" in stale.text
    week = app_client.get("/clinic/appointments?day=2026-10-21&view=week")
    assert week.status_code == 200 and "11:00" in week.text and "Sun 25 Oct" in week.text
    done = app_client.post(
        f"/clinic/appointments/{aid}/cancel",
        data={"version": "2"},
        headers=SAME,
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = app_client.get(done.headers["location"])
    assert "cancelled" in after.text
    assert not re.search(r"[A-Z]\d+_[a-z_]+", after.text)


def test_other_clinic_and_patients_cannot_use_the_pages(
    app_client: TestClient, world: World, db: Database
) -> None:
    page_login(app_client, world.prac_x)
    assert _book(app_client).status_code == 303
    with db.read() as s:
        aid = s.query(AppointmentRow).one().id
    app_client.cookies.clear()
    page_login(app_client, world.prac_y)
    listed = app_client.get("/clinic/appointments?day=2026-10-25")
    assert listed.status_code == 200 and "A-1" not in listed.text
    r = app_client.post(f"/clinic/appointments/{aid}/cancel", data={"version": "1"}, headers=SAME)
    assert r.status_code == 404
    app_client.cookies.clear()
    page_login(app_client, world.patient_a_email)
    r = app_client.get("/clinic/appointments", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/diary"


def test_admin_sets_the_clinic_zone(app_client: TestClient, world: World, db: Database) -> None:
    page_login(app_client, world.prac_x)
    r = app_client.post(
        "/clinic/appointments/zone", data={"timezone": "Europe/Berlin"}, headers=SAME
    )
    assert r.status_code == 404  # practitioners do not change the clinic's settings
    app_client.cookies.clear()
    page_login(app_client, world.admin_x)
    bad = app_client.post(
        "/clinic/appointments/zone", data={"timezone": "Mars/Olympus"}, headers=SAME
    )
    assert bad.status_code == 422 and "unknown time zone" in bad.text
    ok = app_client.post(
        "/clinic/appointments/zone", data={"timezone": "Europe/Berlin"}, headers=SAME
    )
    assert ok.status_code == 200 and "time zone is saved" in ok.text
    with db.read() as s:
        clinic = s.get(Clinic, world.clinic_x)
        assert clinic is not None and clinic.timezone == "Europe/Berlin"


def test_day_view_links_the_session_recorded_that_day(
    app_client: TestClient, world: World, db: Database
) -> None:
    import datetime as dt

    from acuhead.store.models import TreatmentSessionRow

    _berlin(db, world.clinic_x)
    page_login(app_client, world.prac_x)
    assert _book(app_client, date="2026-05-04", time="10:00").status_code == 303
    day = app_client.get("/clinic/appointments?day=2026-05-04")
    assert f'href="/clinic/patients/{world.patient_a}/sessions/new">Record the session' in day.text
    with db.write() as s:
        made = []
        for when in (dt.datetime(2026, 5, 4, 8, 5), dt.datetime(2026, 5, 5, 8, 5)):
            row = TreatmentSessionRow(
                clinic_id=world.clinic_x,
                patient_id=world.patient_a,
                start_utc=when,
                start_local=when + dt.timedelta(hours=2),
                record={},
            )
            s.add(row)
            s.flush()
            made.append(row.id)
    day = app_client.get("/clinic/appointments?day=2026-05-04")
    assert "Link the session recorded at 10:05" in day.text  # the same day only
    assert day.text.count("Link the session recorded") == 1
    with db.read() as s:
        aid = s.query(AppointmentRow).one().id
    r = app_client.post(
        f"/clinic/appointments/{aid}/link",
        data={"version": "1", "session_id": str(made[0])},
        headers=SAME,
    )
    assert r.status_code == 200 and "The session is linked" in r.text
    assert "session recorded" in r.text and "Link the session" not in r.text
    with db.read() as s:
        assert s.query(AppointmentRow).one().session_id == made[0]
