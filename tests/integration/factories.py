"""Test data builders: a clinic with staff and patients, written through the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from acuhead.domain.redflags import CATALOGUE
from acuhead.services import accounts, diary, gate, safety
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import Patient

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class World:
    """Two clinics X and Y; X has an admin, a practitioner and patients A and B with logins."""

    clinic_x: int
    clinic_y: int
    admin_x: str
    prac_x: str
    prac_y: str
    patient_a_email: str
    patient_b_email: str
    patient_a: int
    patient_b: int
    patient_y: int


def make_world(db: Database) -> World:
    with db.write() as s:
        x = accounts.create_clinic(s, name="Clinic X").id
        y = accounts.create_clinic(s, name="Clinic Y").id
        accounts.create_user(
            s, clinic_id=x, email="admin@x.test", name="Admin X", role=Role.ADMIN, password=PASSWORD
        )
        accounts.create_user(
            s,
            clinic_id=x,
            email="prac@x.test",
            name="Prac X",
            role=Role.PRACTITIONER,
            password=PASSWORD,
        )
        accounts.create_user(
            s,
            clinic_id=y,
            email="prac@y.test",
            name="Prac Y",
            role=Role.PRACTITIONER,
            password=PASSWORD,
        )
        ua = accounts.create_user(
            s, clinic_id=x, email="a@x.test", name="Patient A", role=Role.PATIENT, password=PASSWORD
        )
        ub = accounts.create_user(
            s, clinic_id=x, email="b@x.test", name="Patient B", role=Role.PATIENT, password=PASSWORD
        )
        sx, sy = Actor.system(x), Actor.system(y)
        pa = diary.create_patient(
            s, actor=sx, external_id="A-1", timezone="Europe/Berlin", user_id=ua.id
        ).id
        pb = diary.create_patient(s, actor=sx, external_id="B-1", user_id=ub.id).id
        py = diary.create_patient(s, actor=sy, external_id="Y-1").id
    return World(
        x, y, "admin@x.test", "prac@x.test", "prac@y.test", "a@x.test", "b@x.test", pa, pb, py
    )


ADULT_BIRTH_DATE = dt.date(1985, 4, 2)


def screen(
    db: Database,
    patient_id: int,
    *,
    onset: dt.date | None = None,
    birth_date: dt.date | None = ADULT_BIRTH_DATE,
    **yes: bool,
) -> None:
    """Record a complete SNNOOP10 intake screen (all 15 items asked, "no" unless named in
    ``yes``) for the patient, as the clinic's operator: the safety gate plans for nobody
    without one (docs/safety-gate.md, CLINICAL.md 2).

    A screen needs the patient's age (SNNOOP10 O, onset after 65, CLINICAL.md 2 item 5), so a
    patient without a birth date is given ``birth_date`` (an adult unless told otherwise; pass
    None to leave it unknown). A birth date already recorded is kept."""
    with db.write() as s:
        patient = s.get(Patient, patient_id)
        assert patient is not None
        if patient.birth_date is None and birth_date is not None:
            diary.update_patient(
                s,
                actor=Actor.system(patient.clinic_id),
                patient_id=patient_id,
                version=patient.version,
                changes={"birth_date": birth_date},
            )
        answers = {f.code: yes.get(f.code, False) for f in CATALOGUE}
        safety.record_intake_screen(
            s,
            actor=Actor.system(patient.clinic_id),
            patient_id=patient_id,
            answers=answers,
            first_headache_onset=onset,
        )


def clear_flags(db: Database, patient_id: int, reason: str) -> int:
    """Record a documented clearance, with ``reason``, for everything that blocks planning
    besides the screen: each open alert and each flag the record raises (pregnancy, medication
    overuse ...). Returns how many were cleared."""
    with db.write() as s:
        patient = s.get(Patient, patient_id)
        assert patient is not None
        actor = Actor.system(patient.clinic_id)
        result = gate.readiness(s, actor=actor, patient_id=patient_id)
        done: set[object] = set()
        for b in result.blocking:
            if b.source == "alert" and b.alert_id not in done:
                assert b.alert_id is not None
                safety.resolve_alert(
                    s, actor=actor, patient_id=patient_id, alert_id=b.alert_id,
                    kind="clearance", reason=reason,
                )  # fmt: skip
                done.add(b.alert_id)
            elif b.source == "record":
                gate.clear_record_flag(
                    s, actor=actor, patient_id=patient_id, code=b.code, kind="clearance",
                    reason=reason,
                )  # fmt: skip
                done.add(b.code)
        return len(done)
