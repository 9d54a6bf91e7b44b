"""A practitioner's day in the browser: the dashboard opens on today's appointments, the
first one leads to the patient, and the search box in the header finds a patient."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from acuhead.services import appointments
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import Clinic, User

from .conftest import Live
from .test_pages_browser import log_in


def _book_today(live: Live) -> None:
    db = Database(live.db_url)
    try:
        with db.write() as s:
            clinic = s.get(Clinic, live.world.clinic_x)
            assert clinic is not None
            clinic.timezone = "Europe/Berlin"
            prac = s.query(User).filter(User.email == live.world.prac_x).one()
            actor = Actor(prac.id, prac.clinic_id, Role(prac.role))
            today = appointments.clinic_today(s, live.world.clinic_x)
            existing = appointments.day(s, actor=actor, day=today)
            if not existing:
                for patient, hour in ((live.world.patient_b, 16), (live.world.patient_a, 7)):
                    appointments.book(
                        s,
                        actor=actor,
                        patient_id=patient,
                        practitioner_id=prac.id,
                        start=dt.datetime.combine(today, dt.time(hour)),
                        duration_min=45,
                    )
    finally:
        db.dispose()


def test_practitioner_opens_todays_first_appointment(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    _book_today(live)
    page.set_viewport_size({"width": 360, "height": 800})
    log_in(page, live.world.prac_x)
    expect(page).to_have_url(re.compile(r"/clinic$"))
    today = page.locator("#today")
    first = today.locator(".day-item").first
    expect(first.locator("time")).to_have_text("07:00")
    expect(first.locator(".day-patient")).to_have_text("A-1")
    expect(today.locator(".day-item")).to_have_count(2)
    # the long lists below are collapsed
    expect(page.locator("details#due")).not_to_have_attribute("open", re.compile(".*"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    first.locator(".day-patient").click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{live.world.patient_a}$"))
    expect(page.locator("h1")).to_contain_text("A-1")


def test_header_search_finds_a_patient(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    log_in(page, live.world.prac_x)
    expect(page).to_have_url(re.compile(r"/clinic$"))
    page.get_by_label("Find a patient (name, external id or birth date)").fill("b-1")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/clinic/search\?q=b-1"))
    expect(page.locator(".search-results li")).to_have_count(1)
    page.locator(".search-results a").first.click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{live.world.patient_b}$"))


def test_appointment_pages_fit_a_phone(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    _book_today(live)
    page.set_viewport_size({"width": 360, "height": 800})
    log_in(page, live.world.prac_x)
    expect(page).to_have_url(re.compile(r"/clinic$"))
    for url in ("/clinic/appointments", "/clinic/appointments?view=week", "/clinic/search?q=1"):
        page.goto(url)
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, url
    page.goto("/clinic/appointments")
    page.get_by_text("Move or cancel").first.click()
    expect(page.get_by_role("button", name="Move").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
