"""Editing a patient's record from the clinic: birth date, sex, time zone, contact details and
the safety profile, in one audited change that carries the version it was based on.

Why one use case: a practitioner corrects the record on one page, and the safety facts on it
(pregnancy, anticoagulants, a pacemaker ...) decide what the prescription builder may plan
(CLINICAL.md 7.3; SNNOOP10 P6 for pregnancy, CLINICAL.md 2). So the change is written and the
safety gate (``services.gate.readiness``, the one rule) is asked again in the same transaction:
the caller gets the new answer with the saved record, never a readiness computed on its own.
The patient's own fields go through ``diary.update_patient`` (version check, 428/409, audit);
contact details live in ``patient_contacts`` and bump the patient's version with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from acuhead.domain.readiness import Readiness
from acuhead.errors import FieldError, ValidationError
from acuhead.services import diary as patients
from acuhead.services import gate
from acuhead.services.actors import Actor, load_patient, require_staff
from acuhead.store.audit import audit
from acuhead.store.models import Patient, PatientContactRow

CONTACT_FIELDS = ("phone", "email", "address")
_LIMITS = {"phone": 40, "email": 254, "address": 1000}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()/.-]{5,40}$")


@dataclass(frozen=True, slots=True)
class RecordSaved:
    patient: Patient
    readiness: Readiness  # the safety gate's answer on the saved record
    safety_changed: bool


def contact_details(session: Session, *, actor: Actor, patient_id: int) -> dict[str, str]:
    """The patient's contact details (empty strings when none are kept); staff only."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    row = session.get(PatientContactRow, patient.id)
    audit(session, actor, "read", "patient_contact", patient.id, patient_id=patient.id)
    return {k: (getattr(row, k) if row is not None else "") or "" for k in CONTACT_FIELDS}


def _check_contact(values: Mapping[str, str], errors: list[FieldError]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in CONTACT_FIELDS:
        text = str(values.get(key, "")).strip()
        if len(text) > _LIMITS[key]:
            errors.append(FieldError(f"contact.{key}", f"at most {_LIMITS[key]} characters"))
        elif key == "email" and text and not _EMAIL.match(text):
            errors.append(FieldError("contact.email", "is not an e-mail address"))
        elif key == "phone" and text and not _PHONE.match(text):
            errors.append(FieldError("contact.phone", "use digits, spaces and + ( ) - / ."))
        out[key] = text
    return out


def update_record(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    version: int | None,
    changes: Mapping[str, Any],
    contact_details: Mapping[str, str] | None = None,
) -> RecordSaved:
    """Save the changed fields (``birth_date``, ``sex``, ``timezone``, ``display_name``,
    ``safety``) and contact details, then ask the safety gate again.

    Refused without ``version`` (428) or when the record changed since (409), by
    ``diary.update_patient``; each part changed gets its own audit row (ids and verbs only).
    """
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    # Every problem at once: the contact details and the zone before the patient's own checks.
    errors: list[FieldError] = []
    new_contact = _check_contact(contact_details, errors) if contact_details is not None else None
    if changes.get("timezone") is not None:
        try:
            ZoneInfo(str(changes["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(FieldError("timezone", f"unknown time zone {changes['timezone']!r}"))
    if errors:
        raise ValidationError(errors)
    before_safety = dict(patient.safety or {})
    patient = patients.update_patient(
        session, actor=actor, patient_id=patient.id, version=version, changes=dict(changes)
    )
    if new_contact is not None:
        row = session.get(PatientContactRow, patient.id)
        if row is None:
            row = PatientContactRow(patient_id=patient.id, clinic_id=patient.clinic_id)
            session.add(row)
        if any(getattr(row, k) != v for k, v in new_contact.items()):
            for key, value in new_contact.items():
                setattr(row, key, value)
            audit(session, actor, "update", "patient_contact", patient.id, patient_id=patient.id)
    session.flush()
    safety_changed = dict(patient.safety or {}) != before_safety
    if safety_changed:
        audit(session, actor, "update", "safety_profile", patient.id, patient_id=patient.id)
    result = gate.readiness(session, actor=actor, patient_id=patient.id)
    return RecordSaved(patient, result, safety_changed)
