"""The pages in a real browser (Debian Chromium, headless) against a live server."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from acuhead.domain.mechanisms import MECHANISMS
from acuhead.services.diary import local_today

from .conftest import Live
from .support import World

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"


def log_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_patient_records_an_attack_with_the_head_picker(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    world: World = live.world
    log_in(page, world.patient_a_email)
    expect(page).to_have_url(re.compile(r"/diary$"))
    today = local_today("Europe/Berlin")

    attack = page.locator("#attack-section")
    expect(attack).to_be_hidden()  # shown only after "yes"
    page.get_by_label("Yes").check()
    expect(attack).to_be_visible()

    page.locator("#intensity-7").check()
    # With an end: an attack without one is "going on now" and opens the diary in attack mode.
    page.get_by_label("Started at").fill("00:05")
    page.get_by_label("Ended at").fill("00:50")
    # The drawing toggles the checkboxes, which remain the accessible control.
    page.locator('[data-region="temporal"]').click()
    page.locator('[data-region="orbital"]').click()
    expect(page.get_by_label("Temples / sides")).to_be_checked()
    expect(page.get_by_label("Around the eye")).to_be_checked()
    expect(page.locator('[data-region="temporal"]')).to_have_class(re.compile(r"\bon\b"))
    page.locator('[data-region="orbital"]').click()  # and untoggles
    expect(page.get_by_label("Around the eye")).not_to_be_checked()

    page.get_by_label("Left", exact=True).check()
    page.get_by_label("Throbbing, pulsing").check()
    page.get_by_label("Light bothered me").check()
    page.get_by_label("Noise bothered me").check()
    page.get_by_label("Feeling sick (nausea)").select_option("moderate")
    page.get_by_label("Kind of medicine").select_option("nsaid")
    page.get_by_label("Name and dose").fill("ibuprofen 400 mg")
    page.locator("label.chip", has_text="poor sleep").click()
    page.get_by_role("button", name=re.compile("^Save")).click()

    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    expect(page.locator(".attack-list")).to_contain_text("worst 7/10")
    expect(page.locator(".attack-list")).to_contain_text("temporal")

    page.get_by_role("link", name="My headaches").click()
    cell = page.locator(f'.cal-day[data-date="{today.isoformat()}"]')
    expect(cell).to_have_class(re.compile(r"\bcal-headache\b"))
    expect(cell).to_have_class(re.compile(r"\bcal-severe\b"))  # worst 7/10
    # The recorded headache-free days are not "missing", the unrecorded days are.
    free = page.locator(f'.cal-day[data-date="{(today - dt.timedelta(days=4)).isoformat()}"]')
    expect(free).to_have_class(re.compile(r"\bcal-free\b"))
    missing = page.locator(f'.cal-day[data-date="{(today - dt.timedelta(days=1)).isoformat()}"]')
    expect(missing).to_have_class(re.compile(r"\bcal-missing\b"))
    block = page.locator(f'.chart-block[data-block-end="{today.isoformat()}"]')
    expect(block).to_have_attribute("data-headache-days", "1")


def test_form_error_keeps_what_was_typed(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    log_in(page, live.world.patient_a_email)
    day = local_today("Europe/Berlin") - dt.timedelta(days=2)
    # The seven-day strip swaps the day in place (htmx) and updates the address.
    page.locator(f'.week a[href="/diary?date={day.isoformat()}"]').click()
    expect(page).to_have_url(re.compile(rf"date={day.isoformat()}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(day.strftime("%d %B"))
    expect(page.locator("#attack-section")).to_be_hidden()
    page.get_by_label("Yes").check()
    page.get_by_label("Started at").fill("09:15")
    page.locator("#intensity-8").check()
    page.locator('[data-region="occipital"]').click()
    page.get_by_label("Name and dose").fill("sumatriptan 50")  # kind of medicine left empty
    page.get_by_label("Notes").fill("long meeting, skipped lunch")
    page.locator("label.chip", has_text="skipped meal").click()
    page.get_by_label("Hours of sleep").fill("6.5")
    page.get_by_role("button", name=re.compile("^Save")).click()

    error = page.locator("#med_class-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Which kind of medicine")
    expect(page.get_by_label("Kind of medicine")).to_have_attribute("aria-invalid", "true")
    # Everything typed is still there.
    expect(page.get_by_label("Yes")).to_be_checked()
    expect(page.get_by_label("Started at")).to_have_value("09:15")
    expect(page.locator("#intensity-8")).to_be_checked()
    expect(page.get_by_label("Back of the head")).to_be_checked()
    expect(page.locator('[data-region="occipital"]')).to_have_class(re.compile(r"\bon\b"))
    expect(page.get_by_label("Name and dose")).to_have_value("sumatriptan 50")
    expect(page.get_by_label("Notes")).to_have_value("long meeting, skipped lunch")
    expect(page.locator('input[name="trigger"][value="skipped meal"]')).to_be_checked()
    expect(page.get_by_label("Hours of sleep")).to_have_value("6.5")
    # Nothing was saved for that day.
    expect(page.locator(".attack-list")).to_have_count(0)


def test_red_flag_alert_blocks_the_prescription_until_cleared(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    log_in(page, "prac@x.test")
    expect(page).to_have_url(re.compile(r"/clinic$"))
    alerts = page.locator("#alerts")
    expect(alerts).to_contain_text("B-1")
    alerts.get_by_role("link", name="B-1").click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{live.world.patient_b}"))

    card = page.locator(".alert-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Sudden or abrupt onset")
    expect(page.locator("#alerts")).to_contain_text("Treatment planning is blocked")

    # The prescription builder is blocked while the alert is open, and leads back to it.
    page.get_by_role("link", name="Prescription").click()
    expect(page.locator("#blocked")).to_contain_text("Planning is blocked")
    expect(page.get_by_role("button", name="Propose and save the plan")).to_have_count(0)
    page.locator("#blocked").get_by_role("link", name="red-flag alerts on the patient page").click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{live.world.patient_b}#alerts"))
    card = page.locator(".alert-card")

    # A reason that is too short is refused, and the choice and text stay.
    card.get_by_label(re.compile("Cleared")).check()
    card.get_by_label(re.compile("Reason")).fill("ok")
    card.get_by_role("button", name="Record decision").click()
    card = page.locator(".alert-card")
    expect(card.locator(".field-error")).to_contain_text("Write why")
    expect(card.get_by_label(re.compile("Cleared"))).to_be_checked()
    expect(card.get_by_label(re.compile("Reason"))).to_have_value("ok")

    card.get_by_label(re.compile("Reason")).fill(
        "Onset over 20 minutes on review; same pattern for years. GP letter on file."
    )
    card.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status").filter(has_text="alert is closed")).to_be_visible()
    expect(page.locator(".alert-card")).to_have_count(0)
    expect(page.locator("#alerts")).to_contain_text("No open alerts")
    page.locator("#alerts summary").click()
    expect(page.locator(".closed-alerts")).to_contain_text("GP letter on file")
    # With the decision recorded, planning is open again.
    page.get_by_role("link", name="Prescription").click()
    expect(page.locator("#blocked")).to_have_count(0)
    expect(page.get_by_role("button", name="Propose and save the plan")).to_be_visible()
    page.go_back()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#alerts")).not_to_contain_text("B-1")


def test_education_page_lists_every_mechanism_with_its_grade(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/about/acupuncture-for-headache")  # public: no login
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acupuncture")
    for m in MECHANISMS:
        article = page.locator(f"#mechanism-{m.key}")
        expect(article).to_be_visible()
        expect(article.locator("[data-grade]")).to_have_text(m.grade.value)
    expect(page.locator("article.mechanism")).to_have_count(len(MECHANISMS))
    expect(page.locator("#trials-heading")).to_be_visible()
