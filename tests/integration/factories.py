"""Test data builders: a clinic with staff and patients, written through the services."""

from __future__ import annotations

from dataclasses import dataclass

from acuhead.services import accounts, diary
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database

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
