"""The acupuncture-care pages in a real browser (Debian Chromium, headless): the body map ticks
the checkbox list, which stays the control that is saved."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import Live
from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def test_a_practitioner_records_a_session_from_the_body_map(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    patient = live.world.patient_a
    log_in(page, "prac@x.test")
    expect(page).to_have_url(re.compile(r"/clinic$"))
    page.goto(f"/clinic/patients/{patient}")
    page.get_by_role("link", name="Record a session").click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{patient}/sessions/new$"))
    page.set_viewport_size({"width": 360, "height": 800})  # the narrowest phone we support
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll

    gb20, li4, lr3 = (
        page.get_by_label("GB20 Fengchi"),
        page.get_by_label("LI4 Hegu"),
        page.get_by_label("LR3 Taichong"),
    )
    expect(gb20).not_to_be_checked()
    # A tap on a drawn point ticks its box; every drawing of that point follows.
    page.locator('[data-point="GB20"]').first.click()
    page.locator('[data-point="LI4"]').first.click()
    page.locator('[data-point="LR3"]').first.click()
    expect(gb20).to_be_checked()
    expect(li4).to_be_checked()
    expect(lr3).to_be_checked()
    expect(page.locator('[data-point="GB20"].on')).to_have_count(3)  # side view + both sides
    page.locator('[data-point="LR3"]').first.click()  # and a second tap unticks it
    expect(lr3).not_to_be_checked()
    expect(page.locator('[data-point="LR3"]')).not_to_have_class(re.compile(r"\bon\b"))
    # The list works on its own, and the drawing shows what it says.
    page.get_by_label("TE5 Waiguan").check()
    expect(page.locator('[data-point="TE5"]')).to_have_class(re.compile(r"\bon\b"))
    expect(page.locator("[data-point-count]")).to_have_text("3")

    page.get_by_label("Side for GB20").select_option("left")
    page.get_by_label("Depth for GB20").fill("0.8")
    page.get_by_label("Pain before the session (0-10)").select_option("6")
    page.get_by_label("Pain after the session (0-10)").select_option("2")
    page.get_by_role("button", name="Save the session").click()

    expect(page).to_have_url(re.compile(rf"/clinic/patients/{patient}\?session=saved"))
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("GB20, LI4, TE5")
    expect(timeline).to_contain_text("6 → 2")

    # The next session starts from this one: the same points, ticked and drawn.
    page.goto(f"/clinic/patients/{patient}/sessions/new")
    expect(page.get_by_text("Filled in from the last session")).to_be_visible()
    expect(gb20).to_be_checked()
    expect(page.get_by_label("Side for GB20")).to_have_value("left")
    expect(page.locator('[data-point="LI4"]')).to_have_class(re.compile(r"\bon\b"))
    expect(lr3).not_to_be_checked()
