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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from acuhead.domain.contact import CONTACT_FIELDS as CONTACT_FIELDS  # the page's form fields
from acuhead.domain.contact import check_contact
from acuhead.domain.readiness import Readiness
from acuhead.errors import FieldError, ValidationError
from acuhead.services import diary as patients
from acuhead.services import gate
from acuhead.services.actors import Actor, load_patient, require_staff
from acuhead.store.audit import audit
from acuhead.store.contacts import contact_of, write_contact
from acuhead.store.models import Patient


@dataclass(frozen=True, slots=True)
class RecordSaved:
    patient: Patient
    readiness: Readiness  # the safety gate's answer on the saved record
    safety_changed: bool


def contact_details(session: Session, *, actor: Actor, patient_id: int) -> dict[str, str]:
    """The patient's contact details (empty strings when none are kept); staff only."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    stored = contact_of(session, patient.id)
    audit(session, actor, "read", "patient_contact", patient.id, patient_id=patient.id)
    return stored or {k: "" for k in CONTACT_FIELDS}


def _check_contact(values: Mapping[str, str], errors: list[FieldError]) -> dict[str, str]:
    """Every field (the page's form sends all three; one left empty is cleared)."""
    return check_contact({k: values.get(k, "") for k in CONTACT_FIELDS}, errors)


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
    if new_contact is not None and write_contact(session, patient, new_contact):
        audit(session, actor, "update", "patient_contact", patient.id, patient_id=patient.id)
    session.flush()
    safety_changed = dict(patient.safety or {}) != before_safety
    if safety_changed:
        audit(session, actor, "update", "safety_profile", patient.id, patient_id=patient.id)
    result = gate.readiness(session, actor=actor, patient_id=patient.id)
    return RecordSaved(patient, result, safety_changed)
