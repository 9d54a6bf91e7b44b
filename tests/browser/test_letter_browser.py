"""The physician letter in a real browser: the practitioner opens the letter form, names the
recipient and the question, and downloads a PDF whose text (read back with a PDF text
extractor) gives them and the patient's monthly migraine days (issues 6 and 15)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from acuhead import demo
from acuhead.store.db import Database
from acuhead.store.models import Clinic, Patient

from .conftest import Live

pytestmark = pytest.mark.browser


def _demo_patient(db_url: str) -> int:
    """One demo patient (diary, course of sessions) in a clinic of its own on the live server's
    database, so no other browser test's patient changes."""
    db = Database(db_url)
    try:
        demo.generate(db, patients=1, days=150, seed=5, end=dt.date.today())
        with db.read() as s:
            clinic = s.scalars(select(Clinic.id).where(Clinic.name.like("%emo%"))).first()
            pid = s.scalars(select(Patient.id).where(Patient.clinic_id == clinic)).first()
        assert pid is not None
        return int(pid)
    finally:
        db.dispose()


def test_the_letter_downloads_with_the_monthly_migraine_days(
    page: Any, live: Live, tmp_path: Any
) -> None:
    from playwright.sync_api import expect

    pid = _demo_patient(live.db_url)
    email = "practitioner@demo.acuhead.test"
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(demo.DEMO_PASSWORDS[email][1])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/clinic$"))
    page.goto(f"/clinic/patients/{pid}")

    page.get_by_role("link", name="Letter for the physician").click()
    page.get_by_label("To (physician and practice)").fill("Dr Anna Weiss, Praxis Mitte")
    page.get_by_label("Your question").fill("Would a preventive be worth considering?")
    with page.expect_download() as info:
        page.get_by_role("button", name="Make the letter (PDF)").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    path = tmp_path / "letter.pdf"
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).split())

    # The same figures the outcomes API gives, with the browser's own login.
    outcomes = page.request.get(f"/api/v1/patients/{pid}/outcomes").json()
    base = outcomes["baseline"]
    assert "Monthly migraine days" in text
    assert "Dr Anna Weiss, Praxis Mitte" in text
    assert "Would a preventive be worth considering?" in text
    row = f"Baseline {base['start']} to {base['end']} {base['recorded_days']}/28"
    assert row in text, text[:800]
    after = text.split(row, 1)[1].split()
    assert str(base["migraine_days"]) in after[:3]
