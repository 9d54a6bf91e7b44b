"""The physician letter form: whom the letter is for and what the clinic asks, then the PDF.

Staff of the patient's clinic only (a patient downloads their own letter through the API);
another clinic's patient answers the 404 page. The recipient and the question travel in the
POST body, never in a URL, and are not stored: the letter is made from them and downloaded.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from acuhead.errors import NotFound, ValidationError
from acuhead.reports.letter import DEFAULT_QUESTION, DEFAULT_RECIPIENT
from acuhead.services import diary, letters
from acuhead.services.actors import load_patient
from acuhead.store.models import Patient
from acuhead.web.deps import WriteSession
from acuhead.web.pages.base import (
    FormState,
    PageUser,
    PostedForm,
    SameOrigin,
    StaffUser,
    not_found,
    render,
)

router = APIRouter()


def _form_page(
    request: Request, user: PageUser, patient: Patient, form: FormState, status_code: int = 200
) -> Response:
    ctx = {
        "patient": patient,
        "form": form,
        "default_recipient": DEFAULT_RECIPIENT,
        "default_question": DEFAULT_QUESTION,
        "recipient_max": letters.RECIPIENT_MAX,
        "question_max": letters.QUESTION_MAX,
    }
    return render(request, "clinic/letter.html", ctx, status_code=status_code, user=user)


@router.get("/clinic/patients/{patient_id}/letter")
def letter_form(
    request: Request, patient_id: int, user: StaffUser, session: WriteSession
) -> Response:
    try:
        patient = diary.get_patient(session, actor=user.actor, patient_id=patient_id)  # audited
    except NotFound:
        return not_found(request, user, "patient")
    return _form_page(request, user, patient, FormState())


@router.post("/clinic/patients/{patient_id}/letter", dependencies=[SameOrigin])
def letter_make(
    request: Request, patient_id: int, user: StaffUser, posted: PostedForm, session: WriteSession
) -> Response:
    form = FormState.from_form(posted)
    try:
        patient = load_patient(session, user.actor, patient_id)
    except NotFound:
        return not_found(request, user, "patient")
    try:
        pdf = letters.physician_letter_pdf(
            session,
            actor=user.actor,
            patient_id=patient.id,
            recipient=str(form.get("recipient")),
            question=str(form.get("question")),
        )
    except ValidationError as exc:
        for e in exc.errors:
            form.add(e.path or "_form", f"{e.path.capitalize()} {e.message}.")
        return _form_page(request, user, patient, form, status_code=422)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="headache-summary-{patient.id}.pdf"',
            "Cache-Control": "no-store",
        },
    )
