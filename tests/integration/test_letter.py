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
from acuhead.store.models import Patient


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
    row = f"Baseline {base['start']} to {base['end']} {base['recorded_days']}/28"
    assert row in " ".join(text.split()), text[:600]
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
