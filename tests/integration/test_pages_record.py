"""Issue 15, record editing: birth date, sex, time zone, contact details and the safety profile
change from the clinic page, each change audited and carrying its version (428 without, 409 if
the record changed); a change to the safety facts re-runs the safety gate at once
(``services.gate.readiness``): setting "pregnant" blocks the prescription builder with the
pregnancy reason (SNNOOP10 P6, CLINICAL.md 2 item 11). Both engines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from acuhead.domain import redflags
from acuhead.store.db import Database
from acuhead.store.models import AuditEvent, Patient, PatientContactRow

from .factories import World, screen
from .test_pages import SAME, check_markup, page_login

PREGNANCY = redflags.flag("P6_pregnancy_puerperium").label


def record_url(world: World) -> str:
    return f"/clinic/patients/{world.patient_a}/record"


def form(version: int | None, **over: Any) -> dict[str, Any]:
    f: dict[str, Any] = {
        "display_name": "Anna A",
        "birth_date": "1985-04-02",
        "sex": "female",
        "timezone": "Europe/Berlin",
        "phone": "+49 30 1234567",
        "email": "anna@example.test",
        "address": "Hauptstr. 1\n10115 Berlin",
        "safety": ["needle_phobia"],
    }
    if version is not None:
        f["version"] = str(version)
    f.update(over)
    return f


def version_of(db: Database, world: World) -> int:
    with db.read() as s:
        p = s.get(Patient, world.patient_a)
        assert p is not None
        return p.version


def test_record_edit_saves_every_fact_audited_with_its_version(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    page_login(c, world.prac_x)
    html = c.get(record_url(world)).text
    check_markup(html)
    v = version_of(db, world)
    assert f'name="version" value="{v}"' in html
    for label in ("Pregnant", "Takes an anticoagulant", "Bleeding disorder", "Needle phobia",
                  "Pacemaker or other implanted device", "Thin build (low BMI)"):  # fmt: skip
        assert label in html, label

    assert c.post(record_url(world), data=form(None), headers=SAME).status_code == 428
    bad = c.post(record_url(world), data=form(v, timezone="Mars/Olympus", email="nope"),
                 headers=SAME)  # fmt: skip
    assert bad.status_code == 422
    check_markup(bad.text)
    assert 'id="timezone-error"' in bad.text and 'value="Mars/Olympus"' in bad.text
    r = c.post(record_url(world), data=form(v), headers=SAME, follow_redirects=False)
    assert r.status_code == 303, r.text
    stale = c.post(record_url(world), data=form(v, phone="+49 30 999"), headers=SAME)
    assert stale.status_code == 409 and 'value="+49 30 999"' in stale.text  # kept, not lost
    with db.read() as s:
        p = s.get(Patient, world.patient_a)
        assert p is not None
        assert (p.birth_date, p.sex, p.timezone, p.display_name) == (
            dt.date(1985, 4, 2), "female", "Europe/Berlin", "Anna A",
        )  # fmt: skip
        assert p.safety["needle_phobia"] is True and p.safety["pregnant"] is False
        assert p.version == v + 1
        contact = s.get(PatientContactRow, p.id)
        assert contact is not None and contact.email == "anna@example.test"
        assert contact.address == "Hauptstr. 1\n10115 Berlin"
        audited = set(
            s.scalars(
                select(AuditEvent.entity).where(
                    AuditEvent.patient_id == p.id, AuditEvent.action == "update"
                )
            )
        )
        assert {"patient", "patient_contact", "safety_profile"} <= audited
    page = c.get(r.headers["location"]).text
    assert "The record is saved" in page and "born 02 Apr 1985" in page


def test_setting_pregnant_re_runs_the_gate_and_blocks_the_builder(
    app_client: TestClient, world: World, db: Database
) -> None:
    screen(db, world.patient_a)
    c = app_client
    page_login(c, world.prac_x)
    builder = f"/clinic/patients/{world.patient_a}/prescription"
    assert "Planning is blocked" not in c.get(builder).text  # ready before the change
    v = version_of(db, world)
    r = c.post(record_url(world), data=form(v, safety=["pregnant"]), headers=SAME,
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text  # right after saving: the gate's new answer
    readiness = page.split('id="readiness"')[1].split("</section>")[0]
    assert "Planning is blocked" in readiness and PREGNANCY in readiness
    html = c.get(builder).text
    assert "Planning is blocked" in html and PREGNANCY in html
    assert 'value="build"' not in html
    # Taking it back off makes the patient ready again, at once.
    v = version_of(db, world)
    c.post(record_url(world), data=form(v, safety=[]), headers=SAME)
    assert "Planning is blocked" not in c.get(builder).text


def test_record_edit_is_this_clinic_s_staff_only(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    page_login(c, world.prac_y)
    assert c.get(record_url(world)).status_code == 404
    v = version_of(db, world)
    assert c.post(record_url(world), data=form(v), headers=SAME).status_code == 404
    c.cookies.clear()
    page_login(c, world.patient_a_email)
    r = c.post(record_url(world), data=form(v), headers=SAME, follow_redirects=False)
    assert r.status_code in {303, 403}
    assert version_of(db, world) == v
