"""The physician letter: a real PDF whose text carries the patient's monthly migraine days."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import event, select

from acuhead import demo
from acuhead.services.actors import Actor
from acuhead.services.letters import physician_letter_html
from acuhead.store.db import Database
from acuhead.store.models import MedicationDoseRow, Patient, RedFlagAlertRow

from .factories import World


def test_letter_pdf_states_the_migraine_days_of_each_period(
    db: Database, app_client: TestClient
) -> None:
    demo.generate(db, patients=2, days=150, seed=5, end=dt.date(2026, 5, 31))
    with db.read() as s:
        pid = s.scalars(select(Patient.id).order_by(Patient.id)).first()
    r = app_client.post(
        "/api/v1/auth/login",
        json={
            "email": "practitioner@demo.acuhead.test",
            "password": demo.DEMO_PASSWORDS["practitioner@demo.acuhead.test"][1],
        },
    )
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    app_client.cookies.clear()
    outcomes = app_client.get(f"/api/v1/patients/{pid}/outcomes", headers=h).json()
    r = app_client.get(f"/api/v1/patients/{pid}/letter.pdf", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) == 1  # one page a doctor reads in a minute
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Monthly migraine days" in text
    base = outcomes["baseline"]
    # The diary ends on 31 May, so the blocks since then are listed as not recorded and a long
    # table is set in two columns, which give each period's start only.
    long_table = "Each period runs 28 days from the date given" in " ".join(text.split())
    dates = base["start"] if long_table else f"{base['start']} to {base['end']}"
    row = f"Baseline {dates} {base['recorded_days']}/28"
    assert row in " ".join(text.split()), text[:600]
    assert "not recorded" in text
    assert f"{base['recorded_days']}/28" in text
    # The baseline migraine-day count follows its row.
    after = " ".join(text.split()).split(row, 1)[1].split()
    assert after[0] == str(base["migraine_days"]) or after[2] == str(base["migraine_days"])
    assert "Acupuncture given" in text and "ICHD-3 8.2" in text


def test_letter_of_another_clinics_patient_is_not_found(
    db: Database, app_client: TestClient
) -> None:
    demo.generate(db, patients=1, days=40, seed=5, end=dt.date(2026, 5, 31))
    from acuhead.services import accounts
    from acuhead.services.actors import Role

    with db.write() as s:
        other = accounts.create_clinic(s, name="Other")
        accounts.create_user(
            s,
            clinic_id=other.id,
            email="o@o.test",
            name="O",
            role=Role.PRACTITIONER,
            password="other-clinic-pass",
        )
        pid = s.scalars(select(Patient.id)).first()
    r = app_client.post(
        "/api/v1/auth/login", json={"email": "o@o.test", "password": "other-clinic-pass"}
    )
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    assert app_client.get(f"/api/v1/patients/{pid}/letter.pdf", headers=h).status_code == 404


def test_letter_reads_the_diary_once(db: Database) -> None:
    """The outcomes (trigger analysis) and the read-out both need the whole diary: the letter
    hands them one copy instead of each reading every row again."""
    result = demo.generate(db, patients=1, days=150, seed=5, end=dt.date(2026, 5, 31))
    with db.read() as s:
        pid = s.scalars(select(Patient.id)).one()
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM diary_days" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.write() as s:
            html = physician_letter_html(s, actor=Actor.system(result.clinic_id), patient_id=pid)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert "Monthly migraine days" in html  # the letter was built from that one read
    assert len(reads) == 1, reads


# ---- issue 15: every block, medication, sender/recipient/question, still one page ----------


def _pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), " ".join(" ".join(p.extract_text() for p in reader.pages).split())


def _long_history(db: Database) -> int:
    """A demo patient with over a year of diary up to today (52+ weeks of treatment blocks),
    acute medication of several classes by name in the latest 28 days, a running preventive
    drug, and an open red flag."""
    from acuhead.domain.diary import Attack, MedClass, MedicationDose, Regimen, RegimenKind
    from acuhead.services import diary

    result = demo.generate(db, patients=1, days=52 * 7 + 60, seed=11, end=dt.date.today())
    actor = Actor.system(result.clinic_id)
    with db.write() as s:
        patient = s.scalars(select(Patient).order_by(Patient.id)).first()
        assert patient is not None
        today = diary.local_today(patient.timezone)
        for back, name, cls in (
            (3, "rizatriptan", MedClass.TRIPTAN),
            (5, "naproxen", MedClass.NSAID),
            (7, "metoclopramide", MedClass.ANTIEMETIC),
        ):
            start = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(3, 10), dt.UTC)
            diary.create_attack(
                s, actor=actor, patient_id=patient.id,
                attack=Attack(start=start, duration_min=40, peak_intensity=5,
                              medications=(MedicationDose(name=name, med_class=cls),)),
            )  # fmt: skip
        diary.create_regimen(
            s, actor=actor, patient_id=patient.id,
            regimen=Regimen("propranolol", RegimenKind.DRUG, today - dt.timedelta(days=90),
                            dose="40 mg"),
        )  # fmt: skip
        s.add(
            RedFlagAlertRow(
                clinic_id=patient.clinic_id, patient_id=patient.id, source="intake",
                findings=[{"code": "S_systemic"}, {"code": "P10_painkiller_or_new_drug"}],
            )
        )  # fmt: skip
        s.add(
            RedFlagAlertRow(
                clinic_id=patient.clinic_id, patient_id=patient.id, source="practitioner",
                findings=[{"code": "N_neoplasm"}],
            )
        )  # fmt: skip
        for month in range(1, 6):  # a long record of resolved flags with long reasons
            s.add(
                RedFlagAlertRow(
                    clinic_id=patient.clinic_id, patient_id=patient.id, source="intake",
                    findings=[{"code": "S_systemic"}], resolution_kind="referral",
                    resolved_by_name="Demo practitioner",
                    resolved_utc=dt.datetime(2026, month, 3, 9, 0),
                    resolution_reason="Seen by the GP; bloods normal, no further action. " * 8,
                )
            )  # fmt: skip
        return patient.id


# The longest recipient and question the form takes: they must not push the letter over a page.
RECIPIENT = ("Dr Anna Weiss, Praxis Mitte, Hauptstrasse 12, 10115 Berlin " * 4)[:150].strip()
QUESTION = (
    "Is a preventive indicated, and would you review the acute medication, which the diary shows "
    "on many days? " * 6
)[:400].strip()


def test_letter_pdf_lists_every_block_and_the_medication_on_one_page(
    db: Database, app_client: TestClient
) -> None:
    pid = _long_history(db)
    h = _demo_login(app_client)
    outcomes = app_client.get(f"/api/v1/patients/{pid}/outcomes", headers=h).json()
    r = app_client.post(
        f"/api/v1/patients/{pid}/letter.pdf",
        json={"recipient": RECIPIENT, "question": QUESTION},
        headers=h,
    )
    assert r.status_code == 200, r.text
    pages, text = _pdf_text(r.content)
    assert pages == 1, text  # one page a doctor reads in a minute, even after a year
    assert RECIPIENT in text and QUESTION[:200] in text
    assert "Demo Acupuncture Clinic" in text
    today = dt.date.today()
    anchor = dt.date.fromisoformat(outcomes["anchor"])
    complete = [b for b in range(60) if anchor + dt.timedelta(days=28 * b + 27) <= today]
    assert len(complete) >= 13  # at least 52 weeks of blocks
    assert f"Baseline {outcomes['baseline']['start']}" in text
    for b in complete:
        start = anchor + dt.timedelta(days=28 * b)
        assert f"Weeks {4 * b + 1}-{4 * b + 4} {start.isoformat()} " in text, b
    # the acute medication of the latest 28 days, by name, and the preventive drug
    with db.read() as s:
        names = set(
            s.scalars(
                select(MedicationDoseRow.name).where(
                    MedicationDoseRow.patient_id == pid,
                    MedicationDoseRow.taken_day > today - dt.timedelta(days=28),
                )
            )
        )
    assert {"rizatriptan", "naproxen", "metoclopramide"} <= names, names
    for name in names:
        assert name in text, name
    assert "propranolol" in text and "preventive drug" in text
    assert "ICHD-3 8.2" in text and "threshold" in text
    assert "Systemic symptoms" in text and "Open:" in text and "P10_" not in text
    assert "Past or present cancer" in text and "3 earlier resolved red flag(s)" in text
    assert "HIT-6" in text and "MIDAS" in text


def _demo_login(
    client: TestClient, email: str = "practitioner@demo.acuhead.test"
) -> dict[str, str]:
    r = client.post(
        "/api/v1/auth/login", json={"email": email, "password": demo.DEMO_PASSWORDS[email][1]}
    )
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_letter_request_too_long_is_refused_with_field_and_reason(
    db: Database, app_client: TestClient
) -> None:
    demo.generate(db, patients=1, days=40, seed=5, end=dt.date(2026, 5, 31))
    with db.read() as s:
        pid = s.scalars(select(Patient.id)).first()
    h = _demo_login(app_client)
    r = app_client.post(
        f"/api/v1/patients/{pid}/letter.pdf", json={"recipient": "x" * 151}, headers=h
    )
    assert r.status_code == 422
    assert "recipient" in r.text and "at most 150" in r.text


def test_letter_form_page_makes_the_pdf_for_staff_of_the_clinic_only(
    db: Database, app_client: TestClient, world: World
) -> None:
    from .test_pages import SAME, check_markup, page_login

    c = app_client
    page_login(c, world.prac_x)
    url = f"/clinic/patients/{world.patient_a}/letter"
    r = c.get(url)
    assert r.status_code == 200
    check_markup(r.text)
    assert 'name="recipient"' in r.text and 'name="question"' in r.text
    assert f'href="{url}"' in c.get(f"/clinic/patients/{world.patient_a}").text
    r = c.post(url, data={"recipient": "Dr Lee", "question": "Triptan limit?"}, headers=SAME)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pages, text = _pdf_text(r.content)
    assert pages == 1 and "Dr Lee" in text and "Triptan limit?" in text
    assert "Prac X" in text and "Clinic X" in text  # the sender
    assert "not recorded" in text  # an empty diary is said to be empty, not guessed
    # too long: the form again, with the reason, and what was typed kept
    r = c.post(url, data={"recipient": "y" * 300, "question": "q"}, headers=SAME)
    assert r.status_code == 422 and "at most 150 characters" in r.text and "y" * 300 in r.text
    # another clinic's patient: 404, the same as an id that does not exist
    assert c.get(f"/clinic/patients/{world.patient_y}/letter").status_code == 404
    r = c.post(f"/clinic/patients/{world.patient_y}/letter", data={}, headers=SAME)
    assert r.status_code == 404
    c.cookies.clear()
    # a patient has no staff page, but gets their own letter through the API, not another's
    page_login(c, world.patient_a_email)
    r = c.get(url, follow_redirects=False)
    assert r.status_code == 303
    c.cookies.clear()
    from .factories import PASSWORD

    token = c.post(
        "/api/v1/auth/login", json={"email": world.patient_a_email, "password": PASSWORD}
    ).json()["token"]
    c.cookies.clear()
    h = {"Authorization": f"Bearer {token}"}
    own = c.post(f"/api/v1/patients/{world.patient_a}/letter.pdf", json={}, headers=h)
    assert own.status_code == 200
    other = c.post(f"/api/v1/patients/{world.patient_b}/letter.pdf", json={}, headers=h)
    assert other.status_code == 404


def test_cli_letter_takes_recipient_and_question(
    db: Database, world: World, monkeypatch: Any, tmp_path: Any
) -> None:
    from typer.testing import CliRunner

    from acuhead.cli import app
    from acuhead.config import get_settings

    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "letter.pdf"
        args = ["letter", "A-1", "--out", str(out), "--clinic", str(world.clinic_x)]
        r = CliRunner().invoke(app, [*args, "--recipient", "Dr Lee", "--question", "MOH?"])
        assert r.exit_code == 0, r.output
        pages, text = _pdf_text(out.read_bytes())
        assert pages == 1 and "To: Dr Lee" in text and "Question: MOH?" in text
        r = CliRunner().invoke(app, [*args, "--recipient", "x" * 151])
        assert r.exit_code != 0 and "recipient" in r.output
    finally:
        get_settings.cache_clear()
