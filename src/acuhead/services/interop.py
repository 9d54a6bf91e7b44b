"""Export and import of one patient's record as FHIR R4, CSV and the diary document.

The conversions live in ``interop`` (pure); here the record is loaded and stored, with the same
access checks and audit rows as every other use case. Imports are all-or-nothing: everything is
validated before the first write, and the caller's transaction rolls back on any error.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.orm import Session

from acuhead.domain.diary import Diary
from acuhead.errors import FieldError, ValidationError
from acuhead.interop import csv_io, fhir
from acuhead.interop.document import load_text, parse, to_document
from acuhead.services import clinical, diary
from acuhead.services.actors import Actor, audit, load_patient, require_staff
from acuhead.store.mapping import patient_facts
from acuhead.store.models import Patient, QuestionnaireRow

FORMATS = ("json", "fhir", "csv-days", "csv-attacks")


def questionnaire_dicts(session: Session, *, actor: Actor, patient_id: int) -> list[dict[str, Any]]:
    rows = clinical.list_questionnaires(session, actor=actor, patient_id=patient_id)
    return [
        {
            "instrument": r.instrument,
            "completed_on": r.completed_on.isoformat(),
            "items": list(r.items) if r.items else None,
            "extra": dict(r.extra or {}),
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
    found = fhir.from_bundle(bundle)
    tz = ZoneInfo(found.document.diary.patient.timezone)
    latest = dt.datetime.now(tz).date() + dt.timedelta(days=1)
    late = [
        FieldError(f"{q.where}.authored", f"{q.completed_on} is in the future")
        for q in found.questionnaires
        if q.completed_on > latest
    ]
    if late:
        raise ValidationError(late)
    patient, counts = diary.import_document(
        session, actor=actor, doc=found.document, patient_id=patient_id
    )
    pairs = {(q.instrument, q.completed_on) for q in found.questionnaires}
    for instrument, completed_on in sorted(pairs):
        session.execute(
            delete(QuestionnaireRow).where(
                QuestionnaireRow.patient_id == patient.id,
                QuestionnaireRow.instrument == instrument,
                QuestionnaireRow.completed_on == completed_on,
            )
        )
    for q in found.questionnaires:
        s = q.score
        session.add(
            QuestionnaireRow(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                instrument=s.instrument.value,
                completed_on=q.completed_on,
                recall_period=s.recall_period,
                items=list(s.items) if s.items else None,
                extra={k: v for k, v in (("a", s.midas_a), ("b", s.midas_b)) if v is not None},
                total=s.total,
                band=s.band,
                total_entered=s.total_entered,
            )
        )
    session.flush()
    counts["questionnaires"] = len(found.questionnaires)
    audit(session, actor, "import", "fhir", patient_id=patient.id)
    return patient, counts


def _patient_block(patient: Patient) -> dict[str, Any]:
    """The document's ``patient`` block for a stored patient (CSV rows carry none)."""
    empty = Diary(patient=patient_facts(patient), days=(), attacks=(), regimens=())
    block: dict[str, Any] = to_document(
        external_id=patient.external_id, diary=empty, name=patient.display_name
    )["patient"]
    return block


def export_csv(session: Session, *, actor: Actor, patient_id: int) -> tuple[str, str]:
    """(days CSV, attacks CSV) of the patient's diary (columns in README.md, "CSV")."""
    doc = diary.export_document(session, actor=actor, patient_id=patient_id)
    return csv_io.days_to_csv(doc["days"]), csv_io.attacks_to_csv(doc["attacks"])


def import_csv(
    session: Session, *, actor: Actor, patient_id: int, data: bytes | str
) -> tuple[Patient, dict[str, int]]:
    """Merge a days or an attacks CSV into the patient's diary (kind read from the header)."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    found = csv_io.parse(data, patient=_patient_block(patient))
    patient, counts = diary.import_document(
        session, actor=actor, doc=found.document, patient_id=patient.id
    )
    audit(session, actor, "import", f"csv_{found.kind}", patient_id=patient.id)
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
    CSV file; returns the format found, the patient and the counts."""
    require_staff(actor)
    if patient_id is not None:
        load_patient(session, actor, patient_id)  # 404 before any parsing
    text = csv_io.decode(data)
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        if patient_id is None:
            raise ValidationError(
                FieldError("patient", "a CSV import needs the patient it belongs to")
            )
        patient, counts = import_csv(session, actor=actor, patient_id=patient_id, data=text)
        return "csv", patient, counts
    raw = load_text(text, source=source)
    if isinstance(raw, dict) and raw.get("resourceType") == "Bundle":
        patient, counts = import_fhir(session, actor=actor, bundle=raw, patient_id=patient_id)
        return "fhir", patient, counts
    doc = parse(raw)
    patient, counts = diary.import_document(session, actor=actor, doc=doc, patient_id=patient_id)
    return "json", patient, counts


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
