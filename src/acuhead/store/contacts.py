"""A patient's contact details (``patient_contacts``): read and write the one row.

Row-level only, like ``store/care_records.py``: the callers check access, the rules
(``domain.contact``) and audit. Shared by the record editing page and the diary document.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from acuhead.domain.contact import CONTACT_FIELDS
from acuhead.store.models import Patient, PatientContactRow


def contact_of(session: Session, patient_id: int) -> dict[str, str] | None:
    """The stored details, every field (None when the clinic keeps none)."""
    row = session.get(PatientContactRow, patient_id)
    if row is None:
        return None
    return {k: getattr(row, k) or "" for k in CONTACT_FIELDS}


def write_contact(session: Session, patient: Patient, values: Mapping[str, str]) -> bool:
    """Set the given fields (checked by the caller), keeping the others; True if any changed."""
    row = session.get(PatientContactRow, patient.id)
    if row is None:
        row = PatientContactRow(
            patient_id=patient.id,
            clinic_id=patient.clinic_id,
            **{k: "" for k in CONTACT_FIELDS},
        )
        session.add(row)
    changed = False
    for key in CONTACT_FIELDS:
        if key in values and getattr(row, key) != values[key]:
            setattr(row, key, values[key])
            changed = True
    return changed
