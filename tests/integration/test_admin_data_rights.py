"""Data rights in the web (issue 15): an admin records and withdraws research consent,
downloads a patient's record, erases a patient after typing their external id, and downloads
the research export, through the same services as the CLI, on both engines.

What must hold: admins only (a practitioner gets 403, another clinic's patient 404); consent
recorded on the page is what the research export includes; each download parses in its format;
erasure leaves no row of the patient in any table and one audit row without personal data; a
wrong or empty confirmation erases nothing and says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from acuhead.interop import csv_io
from acuhead.store.db import Database
from acuhead.store.models import AuditEvent, Patient, ResearchConsentRow, User

from .factories import World
from .records import rows_referencing_patient
from .test_erasure import _fill
from .test_pages import SAME, check_markup, page_login


def _data(pid: int) -> str:
    return f"/admin/patients/{pid}/data"


def _export(client: TestClient) -> dict[str, int]:
    """Rows per table of the research export the page downloads (from the zip itself)."""
    r = client.post("/admin/data/research-export", headers=SAME)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(archive.read("manifest.json"))
    rows = {name: info["rows"] for name, info in manifest["tables"].items()}
    patients = pq.read_table(io.BytesIO(archive.read("patients.parquet")))
    assert patients.num_rows == rows["patients"]
    return rows


def test_data_rights_pages_are_for_admins_of_the_clinic_only(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    a, y = world.patient_a, world.patient_y
    gets = ("/admin/data", _data(a), f"/admin/patients/{a}/export/json")
    posts = (
        (f"/admin/patients/{a}/consent", {"scope": "research"}),
        (f"/admin/patients/{a}/consent/withdraw", {"withdraw_scope": "research"}),
        (f"/admin/patients/{a}/erase", {"confirm": "A-1"}),
        ("/admin/data/research-export", {}),
    )
    for url in gets:
        r = c.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), url
    page_login(c, world.patient_a_email)
    for url in gets:
        r = c.get(url, follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (303, "/diary"), url
    c.cookies.clear()
    page_login(c, world.prac_x)
    for url in gets:
        r = c.get(url, follow_redirects=False)
        assert r.status_code == 403 and "Admins only" in r.text, url
    for url, data in posts:
        assert c.post(url, data=data, headers=SAME).status_code == 403, url
    c.cookies.clear()
    page_login(c, world.admin_x)
    for url in gets:
        assert c.get(url).status_code == 200, url
    assert "Data rights" in c.get("/admin").text
    # another clinic's patient: the 404 page for every action, and nothing happens to them
    for url in (_data(y), f"/admin/patients/{y}/export/fhir"):
        assert c.get(url).status_code == 404, url
    for url, data in (
        (f"/admin/patients/{y}/consent", {"scope": "research"}),
        (f"/admin/patients/{y}/consent/withdraw", {"withdraw_scope": "research"}),
        (f"/admin/patients/{y}/erase", {"confirm": "Y-1"}),
    ):
        assert c.post(url, data=data, headers=SAME).status_code == 404, url
    with db.read() as s:
        assert s.get(Patient, a) is not None and s.get(Patient, y) is not None
        assert s.scalars(select(ResearchConsentRow)).first() is None
    # the patient list finds by external id, and never lists another clinic's patients
    page = c.get("/admin/data", params={"q": "a-1"}).text
    assert _data(a) in page and _data(world.patient_b) not in page and _data(y) not in page


def test_consent_recorded_and_withdrawn_on_the_page_decides_the_research_export(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    a = world.patient_a
    page_login(c, world.admin_x)
    page = c.get(_data(a)).text
    check_markup(page)
    assert "Not in the research export" in page
    assert _export(c)["patients"] == 0

    r = c.post(
        f"/admin/patients/{a}/consent",
        data={"scope": "research"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith(_data(a))
    page = c.get(r.headers["location"]).text
    assert "The consent is recorded." in page and "In the research export" in page
    assert _export(c)["patients"] == 1

    # a bad date is a message by its field, and nothing is recorded
    r = c.post(
        f"/admin/patients/{a}/consent",
        data={"scope": "research", "given_on": "yesterday"},
        headers=SAME,
    )
    assert r.status_code == 422 and "Enter a date like 2026-02-02" in r.text
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = c.post(
        f"/admin/patients/{a}/consent",
        data={"scope": "research", "given_on": future},
        headers=SAME,
    )
    assert r.status_code == 422 and "is in the future" in r.text

    r = c.post(
        f"/admin/patients/{a}/consent/withdraw",
        data={"withdraw_scope": "research"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "The withdrawal is recorded." in page and "Not in the research export" in page
    assert _export(c)["patients"] == 0
    # nothing left to withdraw: a message, no change
    r = c.post(
        f"/admin/patients/{a}/consent/withdraw", data={"withdraw_scope": "research"}, headers=SAME
    )
    assert r.status_code == 422 and "no open consent" in r.text

    with db.read() as s:
        admin_id = s.scalars(select(User.id).where(User.email == world.admin_x)).one()
        actions = {
            (e.action, e.entity)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.user_id == admin_id))
        }
    assert {
        ("create", "research_consent"),
        ("withdraw", "research_consent"),
        ("research_export", "patient"),
    } <= actions


def test_record_downloads_parse_in_their_formats(
    app_client: TestClient, world: World, db: Database
) -> None:
    _fill(db, world, world.patient_a)
    c = app_client
    page_login(c, world.admin_x)
    base = f"/admin/patients/{world.patient_a}/export"
    page = c.get(_data(world.patient_a)).text
    for fmt in ("json", "fhir", "csv-days", "csv-attacks"):
        assert f'href="{base}/{fmt}"' in page

    r = c.get(f"{base}/json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = json.loads(r.text)
    assert doc["patient"]["external_id"] == "A-1" and len(doc["attacks"]) == 4

    r = c.get(f"{base}/fhir")
    bundle = json.loads(r.text)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    assert r.headers["content-type"].startswith("application/fhir+json")

    r = c.get(f"{base}/csv-days")
    assert r.headers["content-type"].startswith("text/csv")
    assert tuple(next(csv.reader(io.StringIO(r.text)))) == csv_io.DAY_COLUMNS
    r = c.get(f"{base}/csv-attacks")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert tuple(rows[0]) == csv_io.ATTACK_COLUMNS and len(rows) == 5

    assert c.get(f"{base}/xml").status_code == 404
    with db.read() as s:
        exports = {
            e.entity
            for e in s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "export", AuditEvent.patient_id == world.patient_a
                )
            )
        }
    assert {"diary", "fhir"} <= exports


@pytest.mark.parametrize("typed", ["", "B-1", "a-1", "A-"])
def test_a_wrong_confirmation_erases_nothing_and_says_so(
    app_client: TestClient, world: World, db: Database, typed: str
) -> None:
    _fill(db, world, world.patient_a)
    before = rows_referencing_patient(db, world.patient_a)
    c = app_client
    page_login(c, world.admin_x)
    r = c.post(f"/admin/patients/{world.patient_a}/erase", data={"confirm": typed}, headers=SAME)
    assert r.status_code == 422
    assert "Nothing was erased." in r.text
    check_markup(r.text)
    after = rows_referencing_patient(db, world.patient_a)
    # the page shown again reads the consents, which is audited; nothing else changed
    assert {**after, "audit_events": 0} == {**before, "audit_events": 0}
    assert after["audit_events"] >= before["audit_events"]
    with db.read() as s:
        assert s.get(Patient, world.patient_a) is not None
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "erase")).first() is None


def test_erasure_from_the_page_leaves_no_row_and_an_audit_row_without_personal_data(
    app_client: TestClient,
    world: World,
    db: Database,
    login: Callable[[str], dict[str, str]],
) -> None:
    a = world.patient_a
    _fill(db, world, a)
    _fill(db, world, world.patient_b)
    other = rows_referencing_patient(db, world.patient_b)
    before = rows_referencing_patient(db, a)
    assert before["attacks"] == 4 and before["research_consents"] == 1
    with db.read() as s:
        user_a = s.scalars(select(Patient.user_id).where(Patient.id == a)).one()
    c = app_client
    page_login(c, world.admin_x)
    r = c.post(
        f"/admin/patients/{a}/erase",
        data={"confirm": " A-1 "},
        headers=SAME,
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/admin/data?done=erased")
    assert "every row of their record were erased" in c.get(r.headers["location"]).text

    left = rows_referencing_patient(db, a)
    assert left == dict.fromkeys(left, 0), left
    assert rows_referencing_patient(db, world.patient_b) == other
    with db.read() as s:
        assert s.get(Patient, a) is None and s.get(User, user_a) is None
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "erase")).all()
        admin_id = s.scalars(select(User.id).where(User.email == world.admin_x)).one()
        texts = [
            str(v) for e in s.scalars(select(AuditEvent)) for v in (e.action, e.entity, e.entity_id)
        ]
    assert (event.entity, event.entity_id, event.patient_id) == ("patient", str(a), None)
    assert event.user_id == admin_id
    # no audit row names the erased patient's external id, name or e-mail
    assert not [t for t in texts if "A-1" in t or "Patient A" in t or world.patient_a_email in t]
    assert c.get(_data(a)).status_code == 404


def test_a_cross_site_erase_or_consent_is_refused(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    page_login(c, world.admin_x)
    evil = {"Origin": "http://evil.test"}
    a = world.patient_a
    r = c.post(f"/admin/patients/{a}/erase", data={"confirm": "A-1"}, headers=evil)
    assert r.status_code == 403
    r = c.post(f"/admin/patients/{a}/consent", data={"scope": "research"}, headers=evil)
    assert r.status_code == 403
    assert c.post("/admin/data/research-export", headers=evil).status_code == 403
    with db.read() as s:
        assert s.get(Patient, a) is not None
        assert s.scalars(select(ResearchConsentRow)).first() is None
