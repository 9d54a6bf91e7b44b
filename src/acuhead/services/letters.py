"""The physician letter: gathers the read-out, outcomes and care records, renders a PDF.

Who may make one: staff of the patient's clinic, or the patient for their own record
(``load_patient`` answers NotFound otherwise). The sender is the clinic and the practitioner:
the one writing, else the patient's own practitioner. Recipient and question are short free
text typed when the letter is made; they are not stored, and the audit row keeps neither.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.errors import FieldError, ValidationError
from acuhead.reports.letter import letter_html, medication_summary, render_pdf
from acuhead.services import clinical, outcomes
from acuhead.services.actors import Actor, Role, load_patient
from acuhead.services.diary import load_diary, local_today
from acuhead.store.audit import audit
from acuhead.store.models import AdverseEventRow, Clinic, TreatmentSessionRow, User

RECIPIENT_MAX = 150
QUESTION_MAX = 400


def clean_request(recipient: str | None, question: str | None) -> tuple[str, str]:
    """Recipient and question as one line each (whitespace folded), checked for length, so a
    long paste cannot push the letter onto a second page."""
    errors = []
    out = []
    for name, value, limit in (
        ("recipient", recipient, RECIPIENT_MAX),
        ("question", question, QUESTION_MAX),
    ):
        text = " ".join((value or "").split())
        if len(text) > limit:
            errors.append(FieldError(name, f"must be at most {limit} characters; got {len(text)}"))
        out.append(text)
    if errors:
        raise ValidationError(errors)
    return out[0], out[1]


def _practitioner(session: Session, actor: Actor, practitioner_id: int | None) -> str:
    """The practitioner who signs: the one writing the letter, else the patient's own."""
    uid = actor.user_id if actor.role == Role.PRACTITIONER else practitioner_id
    user = session.get(User, uid) if uid is not None else None
    if user is None or user.clinic_id != actor.clinic_id or user.role != Role.PRACTITIONER:
        return ""
    return user.name


def physician_letter_html(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    recipient: str | None = None,
    question: str | None = None,
) -> str:
    recipient_text, question_text = clean_request(recipient, question)
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
    # The whole diary, read once: the trigger analysis of the outcomes, the read-out and the
    # medication summary all need it, and each would otherwise read every row again.
    diary = load_diary(session, actor=actor, patient_id=patient.id)
    html = letter_html(
        patient={
            "external_id": patient.external_id,
            "display_name": patient.display_name,
            "birth_date": patient.birth_date,
        },
        clinic=clinic.name if clinic else "",
        practitioner=_practitioner(session, actor, patient.practitioner_id),
        recipient=recipient_text,
        question=question_text,
        outcomes=outcomes.patient_outcomes(
            session, actor=actor, patient_id=patient.id, diary=diary
        ),
        readout=clinical.readout(session, actor=actor, patient_id=patient.id, diary=diary),
        medication=medication_summary(diary, today),
        sessions=sessions,
        adverse_events=events,
        today=today,
    )
    audit(session, actor, "letter", "physician_letter", patient_id=patient.id)
    return html


def physician_letter_pdf(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    recipient: str | None = None,
    question: str | None = None,
) -> bytes:
    return render_pdf(
        physician_letter_html(
            session, actor=actor, patient_id=patient_id, recipient=recipient, question=question
        )
    )
