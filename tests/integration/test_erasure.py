"""Erasure of a patient on both engines: no row left behind, others untouched, audit kept
without health data, admins only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.services import invitations, research
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import (
    AssessmentRow,
    AttackRow,
    AuditEvent,
    AuraSymptomRow,
    AuthSession,
    Base,
    CourseRow,
    IntensityReadingRow,
    Invitation,
    LoginAttempt,
    Patient,
    PrescriptionRow,
    RedFlagAlertRow,
    User,
)

from .factories import World
from .records import load_rich, rows_referencing_patient


def _count(db: Database, model: type[Base]) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _fill(db: Database, world: World, pid: int) -> None:
    """Everything a record can hold, beyond the diary and sessions ``load_rich`` writes."""
    load_rich(db, world.clinic_x, patient_id=pid)
    actor = Actor.system(world.clinic_x)
    with db.write() as s:
        research.record_consent(s, actor=actor, patient_id=pid, given_on=dt.date(2025, 1, 1))
        login_id = s.scalars(select(Patient.user_id).where(Patient.id == pid)).one()
        if login_id is not None:  # a password-reset link not used yet
            invitations.issue_link(
                s, actor=actor, user_id=login_id, purpose=invitations.Purpose.RESET
            )
        attack = s.scalars(select(AttackRow.id).where(AttackRow.patient_id == pid)).first()
        s.add(
            RedFlagAlertRow(
                clinic_id=world.clinic_x, patient_id=pid, source="attack", attack_id=attack,
                findings=[{"code": "pattern_change"}],
            )
        )  # fmt: skip
        a = AssessmentRow(clinic_id=world.clinic_x, patient_id=pid, tongue="red", pulse="wiry")
        s.add(a)
        s.flush()
        s.add(PrescriptionRow(clinic_id=world.clinic_x, patient_id=pid, assessment_id=a.id))
        s.add(
            CourseRow(
                clinic_id=world.clinic_x, patient_id=pid, planned_sessions=10,
                start_date=dt.date(2025, 3, 1),
            )
        )  # fmt: skip


@pytest.fixture
def filled(
    db: Database, world: World, app_client: TestClient, login: Callable[[str], dict[str, str]]
) -> dict[str, int]:
    _fill(db, world, world.patient_a)
    _fill(db, world, world.patient_b)
    # a live login session and a throttled failed login for patient A's account
    login(world.patient_a_email)
    app_client.post("/api/v1/auth/login", json={"email": world.patient_a_email, "password": "x"})
    return rows_referencing_patient(db, world.patient_b)


def test_admin_erases_a_patient_and_no_row_references_them_on_either_engine(
    db: Database,
    world: World,
    app_client: TestClient,
    login: Callable[[str], dict[str, str]],
    filled: dict[str, int],
) -> None:
    a = world.patient_a
    before = rows_referencing_patient(db, a)
    assert before["attacks"] == 4 and before["research_consents"] == 1
    assert before["treatment_sessions"] == 2 and before["questionnaires"] == 5
    assert before["audit_events"] > 0
    assert _count(db, AuthSession) >= 1 and _count(db, LoginAttempt) == 1
    assert _count(db, Invitation) == 2  # one pending link per patient login
    readings, auras = _count(db, IntensityReadingRow), _count(db, AuraSymptomRow)
    patient_token = login(world.patient_a_email)
    with db.read() as s:
        user_a = s.scalars(select(Patient.user_id).where(Patient.id == a)).one()

    admin = login(world.admin_x)
    r = app_client.delete(f"/api/v1/patients/{a}", headers=admin)
    assert r.status_code == 204, r.text

    left = rows_referencing_patient(db, a)
    assert left == dict.fromkeys(left, 0), left
    assert "day_units" not in left or left["day_units"] == 0
    # rows that hang off the patient's attacks (no patient_id column of their own)
    assert _count(db, IntensityReadingRow) == readings // 2
    assert _count(db, AuraSymptomRow) == auras // 2
    # patient B is untouched
    assert rows_referencing_patient(db, world.patient_b) == filled
    # the login account, its sessions and its failed-login rows are gone
    with db.read() as s:
        assert s.get(User, user_a) is None
        assert s.scalar(select(func.count()).where(AuthSession.user_id == user_a)) == 0
        assert s.scalar(select(func.count()).where(Invitation.user_id == user_a)) == 0
    assert _count(db, Invitation) == 1  # patient B's link stays
    assert _count(db, LoginAttempt) == 0
    assert app_client.get("/api/v1/auth/me", headers=patient_token).status_code == 401
    # one audit row says who erased which id, and nothing else about the patient
    with db.read() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "erase")).all()
        admin_id = s.scalars(select(User.id).where(User.email == world.admin_x)).one()
    assert (event.entity, event.entity_id, event.patient_id) == ("patient", str(a), None)
    assert event.user_id == admin_id
    assert app_client.get(f"/api/v1/patients/{a}", headers=admin).status_code == 404


@pytest.mark.parametrize("who", ["prac_x", "patient_a_email", "prac_y"])
def test_only_an_admin_of_the_clinic_may_erase(
    db: Database,
    world: World,
    app_client: TestClient,
    login: Callable[[str], dict[str, str]],
    who: str,
) -> None:
    r = app_client.delete(f"/api/v1/patients/{world.patient_a}", headers=login(getattr(world, who)))
    # Another clinic's practitioner cannot even learn that the patient exists.
    assert r.status_code == (404 if who == "prac_y" else 403)
    with db.read() as s:
        assert s.get(Patient, world.patient_a) is not None


def test_an_admin_of_another_clinic_gets_404(db: Database, world: World) -> None:
    from acuhead.errors import NotFound
    from acuhead.services import erasure

    with db.write() as s, pytest.raises(NotFound):
        erasure.erase_patient(s, actor=Actor.system(world.clinic_y), patient_id=world.patient_a)
    with db.read() as s:
        assert s.get(Patient, world.patient_a) is not None


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_erase_needs_yes(cli: CliRunner, db: Database, world: World, tmp_path: Path) -> None:
    _fill(db, world, world.patient_b)
    r = cli.invoke(app, ["erase", "B-1", "--clinic", str(world.clinic_x)])
    assert r.exit_code == 2 and "--yes" in r.output
    assert rows_referencing_patient(db, world.patient_b)["attacks"] == 4
    r = cli.invoke(app, ["erase", "B-1", "--clinic", str(world.clinic_x), "--yes"])
    assert r.exit_code == 0, r.output
    left = rows_referencing_patient(db, world.patient_b)
    assert sum(left.values()) == 0, left
    with db.read() as s:
        assert s.scalar(select(func.count()).where(User.email == world.patient_b_email)) == 0
