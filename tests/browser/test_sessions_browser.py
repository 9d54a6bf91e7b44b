"""Issue 15 in a real browser (Debian Chromium, headless): a practitioner records a quick
session and finds it, with its note, in the session history; on a 360 px phone, data tables
become one card per row and the admin's user actions are on screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from acuhead.services import diary
from acuhead.services.actors import Actor
from acuhead.store.db import Database

from .conftest import Live
from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def own_patient(live: Live, external_id: str) -> int:
    """A patient of this test's own, so the sessions it records change no other test's page."""
    db = Database(live.db_url)
    try:
        with db.write() as s:
            actor = Actor.system(live.world.clinic_x)
            return diary.create_patient(
                s, actor=actor, external_id=external_id, timezone="Europe/Berlin"
            ).id
    finally:
        db.dispose()


def test_a_practitioner_records_a_quick_session_and_finds_its_note(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    patient = own_patient(live, "QS-1")
    log_in(page, "prac@x.test")
    expect(page).to_have_url(re.compile(r"/clinic$"))
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"/clinic/patients/{patient}")
    page.get_by_role("link", name="Quick session").click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{patient}/sessions/quick$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    expect(page.get_by_role("link", name="Full STRICTA form")).to_be_visible()
    page.get_by_label("Points").fill("GB20, LI4, Taichong")
    page.get_by_label("Pain before (0-10)").select_option("6")
    page.get_by_label("Pain after (0-10)").select_option("2")
    page.get_by_label("Note").fill("Neck easier since last week; asked about sleep.")
    # The event's details are asked only after "yes".
    expect(page.get_by_label("What happened")).to_be_hidden()
    page.get_by_label("Yes", exact=True).check()
    expect(page.get_by_label("What happened")).to_be_visible()
    page.get_by_label("No", exact=True).check()
    expect(page.get_by_label("What happened")).to_be_hidden()
    page.get_by_role("button", name="Save the session").click()

    expect(page).to_have_url(re.compile(rf"/clinic/patients/{patient}/sessions\?saved=quick"))
    latest = page.locator(".session-history article").first
    expect(latest).to_contain_text("Neck easier since last week; asked about sleep.")
    expect(latest).to_contain_text("GB20 Fengchi")
    expect(latest).to_contain_text("LR3 Taichong")
    expect(latest).to_contain_text("6 before, 2 after")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The patient page's timeline shows the note too, and links to the history.
    page.goto(f"/clinic/patients/{patient}")
    expect(page.locator("#timeline")).to_contain_text("Neck easier since last week")


def test_tables_stack_and_the_admin_s_user_actions_are_reachable_on_a_phone(
    page: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    log_in(page, "admin@x.test")
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/admin/users")
    table = page.locator("table.data").first
    expect(table).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    # Each cell carries its column's heading as its label once the row is a card.
    expect(table.locator('td[data-label="E-mail"]').first).to_be_visible()
    assert table.locator("thead").bounding_box()["height"] <= 1
    buttons = table.locator("button")
    assert buttons.count() >= 1
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    # A wide table elsewhere (the outcome windows on the patient page) stacks too.
    page.context.clear_cookies()
    log_in(page, "prac@x.test")
    page.goto(f"/clinic/patients/{live.world.patient_a}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
