"""Data rights in a real browser (issue 15): an admin finds a patient, records a research
consent, downloads the FHIR record, is stopped by a wrong confirmation, and erases the patient
by typing their external id."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from acuhead.services import diary
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import Patient

from .conftest import Live

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"


def _own_patient(live: Live) -> int:
    """A patient of clinic X that only this test uses (other browser tests keep theirs)."""
    db = Database(live.db_url)
    try:
        with db.write() as s:
            return diary.create_patient(
                s, actor=Actor.system(live.world.clinic_x), external_id="ERASE-ME-7"
            ).id
    finally:
        db.dispose()


def test_admin_consents_downloads_and_erases_a_patient(
    page: Any, live: Live, tmp_path: Any
) -> None:
    from playwright.sync_api import expect

    pid = _own_patient(live)
    page.goto("/login")
    page.get_by_label("E-mail").fill(live.world.admin_x)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin")
    page.get_by_role("link", name="Data rights").first.click()
    page.get_by_label("External id or name").fill("erase-me")
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_role("link", name="ERASE-ME-7").click()
    expect(page).to_have_url(re.compile(rf"/admin/patients/{pid}/data$"))

    page.get_by_role("button", name="Record the consent").click()
    expect(page.get_by_text("The consent is recorded.")).to_be_visible()
    expect(page.get_by_text("In the research export")).to_be_visible()

    with page.expect_download() as info:
        page.get_by_role("link", name="FHIR R4 bundle (JSON)").click()
    path = tmp_path / "record.json"
    info.value.save_as(path)
    assert json.loads(path.read_text("utf-8"))["resourceType"] == "Bundle"

    page.get_by_label("to confirm").fill("ERASE-ME")
    page.get_by_role("button", name="Erase the patient").click()
    expect(page.locator("#confirm-error")).to_contain_text("Nothing was erased.")
    page.get_by_label("to confirm").fill("ERASE-ME-7")
    page.get_by_role("button", name="Erase the patient").click()
    expect(page).to_have_url(re.compile(r"/admin/data\?done=erased$"))
    expect(page.get_by_text("every row of their record were erased")).to_be_visible()

    db = Database(live.db_url)
    try:
        with db.read() as s:
            assert s.get(Patient, pid) is None
    finally:
        db.dispose()
