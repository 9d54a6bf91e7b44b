"""The physician letter: gathers the read-out, outcomes and care records, renders a PDF."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.reports.letter import letter_html, render_pdf
from acuhead.services import clinical, outcomes
from acuhead.services.actors import Actor, load_patient
from acuhead.services.diary import load_diary, local_today
from acuhead.store.audit import audit
from acuhead.store.models import AdverseEventRow, Clinic, TreatmentSessionRow


def physician_letter_html(session: Session, *, actor: Actor, patient_id: int) -> str:
    patient = load_patient(session, actor, patient_id)
    clinic = session.get(Clinic, patient.clinic_id)
    sessions = [
        {**(r.record or {}), "start": r.start_local.isoformat()}
        for r in session.scalars(
            select(TreatmentSessionRow)
            .where(TreatmentSessionRow.patient_id == patient.id)
            .order_by(TreatmentSessionRow.start_local)
        )
    ]
    events = [
        {"type": e.type, "severity": e.severity, "serious": e.serious}
        for e in session.scalars(
            select(AdverseEventRow).where(AdverseEventRow.patient_id == patient.id)
        )
    ]
    today: dt.date = local_today(patient.timezone)
    # The whole diary, read once: the trigger analysis of the outcomes and the read-out both
    # need all of it, and each would otherwise read every row again.
    diary = load_diary(session, actor=actor, patient_id=patient.id)
    html = letter_html(
        patient={
            "external_id": patient.external_id,
            "display_name": patient.display_name,
            "birth_date": patient.birth_date,
        },
        clinic=clinic.name if clinic else "",
        # The letter still reads the outcomes' JSON (its content is being rewritten; it will
        # take the typed result then).
        outcomes=outcomes.patient_outcomes(
            session, actor=actor, patient_id=patient.id, diary=diary
        ).to_json(),
        readout=clinical.readout(session, actor=actor, patient_id=patient.id, diary=diary),
        sessions=sessions,
        adverse_events=events,
        today=today,
    )
    audit(session, actor, "letter", "physician_letter", patient_id=patient.id)
    return html


def physician_letter_pdf(session: Session, *, actor: Actor, patient_id: int) -> bytes:
    return render_pdf(physician_letter_html(session, actor=actor, patient_id=patient_id))
