"""Export and import of one patient's record as FHIR R4, CSV and the diary document.

The conversions live in ``interop`` (pure); here the record is loaded and stored, with the same
access checks and audit rows as every other use case. Imports are all-or-nothing: everything is
validated before the first write, and the caller's transaction rolls back on any error.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from acuhead.domain.diary import Diary
from acuhead.errors import FieldError, ValidationError
from acuhead.interop import csv_io, fhir
from acuhead.interop.document import to_document
from acuhead.services import clinical, diary, imports
from acuhead.services.actors import Actor, load_patient, require_staff
from acuhead.store.audit import audit
from acuhead.store.mapping import patient_facts
from acuhead.store.models import Patient

FORMATS = ("json", "fhir", "csv-days", "csv-attacks")


def questionnaire_dicts(session: Session, *, actor: Actor, patient_id: int) -> list[dict[str, Any]]:
    rows = clinical.list_questionnaires(session, actor=actor, patient_id=patient_id)
    return [
        {
            "instrument": r.instrument,
            "completed_on": r.completed_on.isoformat(),
            "answers": dict(r.answers or {}),
            "total": r.total,
            "band": r.band,
            "band_label": clinical.band_label(r),
        }
        for r in rows
    ]


def export_fhir(session: Session, *, actor: Actor, patient_id: int) -> dict[str, Any]:
    """The patient's record as a FHIR R4 collection Bundle (see ``interop.fhir``)."""
    patient = load_patient(session, actor, patient_id)
    doc = diary.export_document(session, actor=actor, patient_id=patient.id)
    readout = clinical.readout(session, actor=actor, patient_id=patient.id)
    bundle = fhir.to_bundle(
        doc,
        questionnaires=questionnaire_dicts(session, actor=actor, patient_id=patient.id),
        diagnoses=readout["diagnoses"],
        day_units=readout["days"],
    )
    audit(session, actor, "export", "fhir", patient_id=patient.id)
    return bundle


def import_fhir(
    session: Session, *, actor: Actor, bundle: Any, patient_id: int | None = None
) -> tuple[Patient, dict[str, int]]:
    """Import a Bundle: the diary and sessions through the diary document, then questionnaires.

    A questionnaire replaces stored ones of the same instrument and date.
    """
    require_staff(actor)
    if not (isinstance(bundle, dict) and bundle.get("resourceType") == "Bundle"):
        fhir.from_bundle(bundle)  # raises the located FHIR problems
    _fmt, patient, counts = imports.import_text(
        session, actor=actor, data=json.dumps(bundle), source="bundle", patient_id=patient_id
    )
    return patient, counts


def _patient_block(patient: Patient) -> dict[str, Any]:
    """The document's ``patient`` block for a stored patient (CSV rows carry none)."""
    empty = Diary(patient=patient_facts(patient), days=(), attacks=(), regimens=())
    block: dict[str, Any] = to_document(
        external_id=patient.external_id, diary=empty, name=patient.display_name
    )["patient"]
    return block


def export_csv(session: Session, *, actor: Actor, patient_id: int) -> tuple[str, str]:
    """(days CSV, attacks CSV) of the patient's diary (columns in docs/diary-document.md, "CSV")."""
    doc = diary.export_document(session, actor=actor, patient_id=patient_id)
    return csv_io.days_to_csv(doc["days"]), csv_io.attacks_to_csv(doc["attacks"])


def import_csv(
    session: Session, *, actor: Actor, patient_id: int, data: bytes | str
) -> tuple[Patient, dict[str, int]]:
    """Merge a days or an attacks CSV into the patient's diary (kind read from the header)."""
    require_staff(actor)
    load_patient(session, actor, patient_id)
    text = csv_io.decode(data)
    if text.lstrip().startswith(("{", "[")):
        raise ValidationError(FieldError("line 1", "not a diary CSV"))
    _fmt, patient, counts = imports.import_text(
        session, actor=actor, data=text, source="csv", patient_id=patient_id
    )
    return patient, counts


def import_text(
    session: Session,
    *,
    actor: Actor,
    data: bytes | str,
    source: str = "file",
    patient_id: int | None = None,
) -> tuple[str, Patient, dict[str, int]]:
    """Import a diary document, a FHIR Bundle (``resourceType`` "Bundle") or, with a patient, a
    CSV file in the caller's transaction; returns the format found, the patient and the counts.
    (``imports.import_file`` validates before the write transaction.)"""
    return imports.import_text(
        session, actor=actor, data=data, source=source, patient_id=patient_id
    )


def export_as(session: Session, *, actor: Actor, patient_id: int, fmt: str) -> tuple[str, str, str]:
    """(body, media type, file name) of one export format for a download."""
    patient = load_patient(session, actor, patient_id)
    stem = f"acuhead-patient-{patient.id}"
    if fmt == "json":
        doc = diary.export_document(session, actor=actor, patient_id=patient.id)
        return _json(doc), "application/json", f"{stem}.json"
    if fmt == "fhir":
        bundle = export_fhir(session, actor=actor, patient_id=patient.id)
        return _json(bundle), "application/fhir+json", f"{stem}.fhir.json"
    if fmt in ("csv-days", "csv-attacks"):
        days, attacks = export_csv(session, actor=actor, patient_id=patient.id)
        body = days if fmt == "csv-days" else attacks
        return body, "text/csv; charset=utf-8", f"{stem}-{fmt.removeprefix('csv-')}.csv"
    raise ValidationError(
        FieldError("format", f"must be one of: {', '.join(FORMATS)}; got {fmt!r}")
    )


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
