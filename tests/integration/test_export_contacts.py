"""A patient's document (the data-subject export, acuhead.diary/1) carries the contact details
the clinic keeps (``patient_contacts``) in its ``patient`` block, and an import restores them:
all or nothing, an unknown or malformed field refused with its path. Both engines."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from acuhead.errors import ValidationError
from acuhead.services import diary, imports
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import Patient, PatientContactRow

from .factories import World

CONTACT = {"phone": "+49 30 1234567", "email": "anna@example.test", "address": "Hauptstr. 1"}


def _contact(db: Database, patient_id: int) -> dict[str, str] | None:
    with db.read() as s:
        row = s.get(PatientContactRow, patient_id)
        return None if row is None else {k: getattr(row, k) for k in CONTACT}


def _export(db: Database, actor: Actor, patient_id: int) -> dict[str, Any]:
    with db.write() as s:
        return diary.export_document(s, actor=actor, patient_id=patient_id)


def _import(db: Database, actor: Actor, doc: dict[str, Any], pid: int | None = None) -> int:
    with db.write() as s:
        _, patient, _ = imports.import_text(s, actor=actor, data=json.dumps(doc), patient_id=pid)
        return patient.id


def test_contact_details_travel_in_the_patient_block_and_come_back(
    db: Database, world: World
) -> None:
    x, y = Actor.system(world.clinic_x), Actor.system(world.clinic_y)
    assert "contact" not in _export(db, x, world.patient_a)["patient"]  # none kept: none sent
    with db.write() as s:
        s.add(PatientContactRow(patient_id=world.patient_a, clinic_id=world.clinic_x, **CONTACT))
    doc = _export(db, x, world.patient_a)
    assert doc["patient"]["contact"] == CONTACT

    copied = _import(db, y, doc)  # another clinic: a new patient with the same details
    assert _contact(db, copied) == CONTACT
    assert _export(db, y, copied)["patient"]["contact"] == CONTACT

    changed = {**doc, "patient": {**doc["patient"], "contact": {"phone": "030 999"}}}
    _import(db, x, changed, world.patient_a)  # a field the file leaves out keeps its value
    assert _contact(db, world.patient_a) == {**CONTACT, "phone": "030 999"}
    no_block = {**doc, "patient": {k: v for k, v in doc["patient"].items() if k != "contact"}}
    _import(db, x, no_block, world.patient_a)
    assert _contact(db, world.patient_a) == {**CONTACT, "phone": "030 999"}


@pytest.mark.parametrize(
    ("contact", "path"),
    [
        ({"fax": "123"}, "patient.contact.fax"),
        ({"email": "not an address"}, "patient.contact.email"),
        ({"phone": "call me"}, "patient.contact.phone"),
        ({"address": "x" * 1001}, "patient.contact.address"),
    ],
)
def test_a_bad_contact_block_is_refused_and_nothing_is_written(
    db: Database, world: World, contact: dict[str, str], path: str
) -> None:
    x, y = Actor.system(world.clinic_x), Actor.system(world.clinic_y)
    doc = _export(db, x, world.patient_a)
    doc["patient"]["contact"] = contact
    with pytest.raises(ValidationError) as refused:
        _import(db, y, doc)
    assert path in {e.path for e in refused.value.errors}
    with db.read() as s:
        assert s.scalar(select(func.count()).where(Patient.clinic_id == world.clinic_y)) == 1
        assert s.scalar(select(func.count()).select_from(PatientContactRow)) == 0
