"""The care blocks of the diary document (``sessions``, ``course``): import and export.

The use-case half of care records: parse and check the document's blocks, write them through
``store.care_records`` and audit the import. Shared by the document import
(``services.imports``) and export (``services.diary``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from acuhead.errors import ValidationError
from acuhead.interop.care import care_to_document, parse_care, versions_to_document
from acuhead.services.actors import Actor, Role
from acuhead.store import care_records
from acuhead.store.audit import audit
from acuhead.store.models import Patient


def import_care(
    session: Session, *, actor: Actor, patient: Patient, extras: Mapping[str, Any]
) -> dict[str, int]:
    """Merge a document's ``sessions`` and ``course`` into the patient's record.

    A session at a stored one's local start corrects it, keeping the stored record as an
    earlier version (``care_records.merge_care``); the course is matched by its start date.
    Sessions on or after the document's course start are linked to it.
    Raises ValidationError (nothing written by the caller's transaction) on any bad value.
    """
    tz = ZoneInfo(patient.timezone)
    latest = dt.datetime.now(tz).date() + dt.timedelta(days=1)
    blocks, errors = parse_care(extras, timezone=patient.timezone, latest=latest)
    if errors:
        raise ValidationError(errors)
    merged = care_records.merge_care(
        session,
        patient=patient,
        sessions=blocks.sessions,
        course=blocks.course,
        practitioner_id=actor.user_id if actor.role == Role.PRACTITIONER else None,
        changed_by=actor.user_id,
    )
    if merged.course_id is not None:
        audit(session, actor, "import", "course", merged.course_id, patient_id=patient.id)
    if merged.sessions:
        audit(session, actor, "import", "treatment_sessions", patient_id=patient.id)
    restored = care_records.restore_versions(session, patient=patient, versions=blocks.versions)
    if restored:
        audit(session, actor, "import", "session_versions", patient_id=patient.id)
    return {
        "sessions": merged.sessions,
        "courses": int(merged.course_id is not None),
        "session_versions": restored,
    }


def export_care(session: Session, *, patient: Patient) -> dict[str, Any]:
    """The ``sessions`` and ``course`` blocks for the patient's document (the latest course),
    and ``session_versions``: the earlier versions of corrected sessions belong to the
    patient's record as much as the sessions do (a data-subject export carries them)."""
    records, course = care_records.care_of(session, patient=patient)
    out = care_to_document(records, course)
    versions = care_records.earlier_versions(session, patient=patient)
    if versions:
        out["session_versions"] = versions_to_document(versions)
    return out
