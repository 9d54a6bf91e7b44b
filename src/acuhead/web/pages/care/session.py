"""The treatment-session page (STRICTA): prefilled from a plan or the last session, so the
method is not retyped at every visit, and saved through ``services.care``.

When the form cannot be read, the domain's checks still run on what could be read, so the
practitioner sees every problem at once instead of one round trip per field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acuhead.domain.sessions import DepthUnit, Style, validate_session
from acuhead.domain.tcm.points import normalise_code
from acuhead.errors import Conflict, NotFound, ValidationError, VersionRequired
from acuhead.services import care
from acuhead.store.models import Patient, PrescriptionRow, TreatmentSessionRow
from acuhead.web.deps import WriteSession
from acuhead.web.pages.base import (
    FormState,
    PageUser,
    PostedForm,
    SameOrigin,
    StaffUser,
    not_found,
    render,
    see_other,
)
from acuhead.web.pages.care.body_map import map_context
from acuhead.web.pages.care.common import care_patient, open_block, safety_flags
from acuhead.web.pages.care.session_form import (
    AE_ROWS,
    AE_TYPES,
    CO_KINDS,
    INDIVIDUALISATION,
    RESPONSES,
    SESSION_MULTI,
    SEVERITIES,
    SIDES,
    STYLE_LABELS,
    STYLES,
    apply_session_errors,
    edit_values,
    read_session,
    session_values,
)

router = APIRouter()


def _prefill(
    session: Session,
    user: PageUser,
    patient: Patient,
    source: str,
    plans: Sequence[PrescriptionRow],
) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """The form values, the prefill and a notice. Without a ``source``: the newest of the last
    ready prescription and the last session, since either may carry today's method."""
    actor = user.actor
    if not source:
        ready = next((p for p in plans if p.ready), None)
        rows, total = care.list_treatment_sessions(
            session, actor=actor, patient_id=patient.id, limit=1
        )
        last = None
        if total:
            rows, _ = care.list_treatment_sessions(
                session, actor=actor, patient_id=patient.id, limit=1, offset=total - 1
            )
            last = rows[0] if rows else None
        if ready is not None and (last is None or last.created_utc < ready.created_utc):
            source = f"prescription:{ready.id}"
        elif last is not None:
            source = "previous"
        else:
            return {}, None, ""
    try:
        got = care.prefill_session(session, actor=actor, patient_id=patient.id, source=source)
    except NotFound:
        return {}, None, "There is nothing to fill in from: the form starts empty."
    except ValidationError:
        return {}, None, "Unknown source for the prefill: the form starts empty."
    return session_values(got["session"]), got, ""


def _session_page(
    request: Request,
    user: PageUser,
    session: Session,
    patient: Patient,
    form: FormState,
    *,
    prefill: Mapping[str, Any] | None = None,
    plans: Sequence[PrescriptionRow] | None = None,
    notice: str = "",
    status_code: int = 200,
    editing: TreatmentSessionRow | None = None,
) -> Response:
    actor = user.actor
    courses = care.list_courses(session, actor=actor, patient_id=patient.id)
    if plans is None:
        plans = care.list_prescriptions(session, actor=actor, patient_id=patient.id)
    codes = [str(c) for c in form.values.get("point", [])]
    ctx: dict[str, Any] = {
        "patient": patient,
        "form": form,
        "prefill": prefill,
        "notice": notice,
        "blocked": open_block(session, patient),
        "safety_flags": safety_flags(patient),
        "ready_plans": [p.id for p in plans if p.ready][:5],
        "courses": [
            (str(c.id), f"{c.planned_sessions} sessions from {c.start_date:%d %b %Y}")
            for c in courses
        ],
        "styles": [(v, STYLE_LABELS.get(v, label)) for v, label in STYLES],
        "individualisation": INDIVIDUALISATION,
        "responses": RESPONSES,
        "co_kinds": CO_KINDS,
        "ae_types": AE_TYPES,
        "severities": SEVERITIES,
        "sides": SIDES,
        "ae_rows": range(AE_ROWS),
        "editing": editing,
        **map_context(codes, codes),
    }
    return render(request, "care/session.html", ctx, status_code=status_code, user=user)


@router.get("/clinic/patients/{patient_id}/sessions/new")
def session_page(
    request: Request,
    patient_id: int,
    user: StaffUser,
    session: WriteSession,
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    params = request.query_params
    plans = care.list_prescriptions(session, actor=user.actor, patient_id=patient.id)
    values, got, notice = _prefill(session, user, patient, params.get("from", "")[:40], plans)
    if params.get("selection"):  # the points chosen on the prescription builder's body map
        kept = []
        for raw in params.getlist("point")[:100]:
            try:
                kept.append(normalise_code(raw))
            except ValidationError:
                continue
        values["point"] = list(dict.fromkeys(kept))
    now = dt.datetime.now(ZoneInfo(patient.timezone))
    values.setdefault("style", Style.TCM.value)
    values.setdefault("depth_unit", DepthUnit.CUN.value)
    if not values.get("practitioner"):
        values["practitioner"] = user.name
    values.update({"start_date": now.date().isoformat(), "start_time": now.strftime("%H:%M")})
    if got is not None and got.get("prescription_id") is not None:
        if got.get("ready") is False:
            notice = (
                f"Prescription #{got['prescription_id']} is not ready (a safety finding needs "
                "confirmation or blocks it): this session will not be linked to it."
            )
        else:
            values["prescription_id"] = str(got["prescription_id"])
            values["link_prescription"] = "yes"
    if got is not None and got.get("course_id") is not None:
        values["course_id"] = str(got["course_id"])
    form = FormState(values=values)
    for key in SESSION_MULTI:
        form.values.setdefault(key, [])
    return _session_page(
        request, user, session, patient, form, prefill=got, plans=plans, notice=notice
    )


@router.post("/clinic/patients/{patient_id}/sessions/new", dependencies=[SameOrigin])
def session_submit(
    request: Request, patient_id: int, user: StaffUser, posted: PostedForm, session: WriteSession
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    form = FormState.from_form(posted, multi=SESSION_MULTI)
    given = read_session(form)
    if form.ok:
        try:
            with session.begin_nested():
                care.create_treatment_session(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    data=given.data,
                    course_id=given.course_id,
                    prescription_id=given.prescription_id,
                )
        except ValidationError as exc:
            apply_session_errors(form, exc.errors, given)
        except Conflict as exc:
            form.add("_form", str(exc))
        else:
            return see_other(f"/clinic/patients/{patient.id}?session=saved#timeline")
    else:
        # Show the domain's findings on the fields that could be read, all at once.
        try:
            validate_session(given.data)
        except ValidationError as exc:
            apply_session_errors(form, exc.errors, given)
    return _session_page(request, user, session, patient, form, status_code=422)


# ---- correcting a session ----------------------------------------------------------------------


def _edit_target(
    request: Request, user: PageUser, session: Session, patient_id: int, session_id: int
) -> tuple[Patient, TreatmentSessionRow] | Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    try:
        row = care.get_treatment_session(
            session, actor=user.actor, patient_id=patient.id, session_id=session_id
        )
    except NotFound:
        return not_found(request, user, "session")
    return patient, row


@router.get("/clinic/patients/{patient_id}/sessions/{session_id}/edit")
def session_edit_page(
    request: Request, patient_id: int, session_id: int, user: StaffUser, session: WriteSession
) -> Response:
    """The full form filled with the session as stored, carrying the version it shows."""
    got = _edit_target(request, user, session, patient_id, session_id)
    if isinstance(got, Response):
        return got
    patient, row = got
    values = edit_values(row.record or {}, row.start_local)
    values["version"] = str(row.version)
    if row.course_id is not None:
        values["course_id"] = str(row.course_id)
    if row.prescription_id is not None:
        values["prescription_id"] = str(row.prescription_id)
        values["link_prescription"] = "yes"
    form = FormState(values=values)
    for key in SESSION_MULTI:
        form.values.setdefault(key, [])
    return _session_page(
        request, user, session, patient, form, editing=row, notice=_too_many_events(row)
    )


def _too_many_events(row: TreatmentSessionRow) -> str:
    """The form has AE_ROWS event rows: a session with more (recorded through the API or an
    import) cannot be corrected here without dropping some, so the page says so and refuses."""
    n = len((row.record or {}).get("adverse_events") or [])
    if n <= AE_ROWS:
        return ""
    return (
        f"This session has {n} adverse events and the form shows {AE_ROWS}: correct it through "
        "the API (PUT /api/v1/patients/…/sessions/…) so that none is lost."
    )


@router.post("/clinic/patients/{patient_id}/sessions/{session_id}/edit", dependencies=[SameOrigin])
def session_edit_submit(
    request: Request,
    patient_id: int,
    session_id: int,
    user: StaffUser,
    posted: PostedForm,
    session: WriteSession,
) -> Response:
    """Save a correction through ``care.update_treatment_session`` (audited, the replaced
    record kept); a correction saved meanwhile by someone else is not overwritten (409)."""
    got = _edit_target(request, user, session, patient_id, session_id)
    if isinstance(got, Response):
        return got
    patient, row = got
    form = FormState.from_form(posted, multi=SESSION_MULTI)
    given = read_session(form)
    raw_version = str(form.get("version"))
    version = int(raw_version) if raw_version.isdigit() and len(raw_version) < 10 else None
    status = 422
    if too_many := _too_many_events(row):
        form.add("_form", too_many)
    if form.ok:
        try:
            with session.begin_nested():
                care.update_treatment_session(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    session_id=row.id,
                    version=version,
                    data=given.data,
                    course_id=given.course_id,
                    prescription_id=given.prescription_id,
                )
        except ValidationError as exc:
            apply_session_errors(form, exc.errors, given)
        except VersionRequired:
            form.add("_form", "This form is missing the version it was based on: reload the page.")
            status = 428
        except Conflict as exc:
            if "changed since" in str(exc):
                form.add(
                    "_form",
                    "Someone saved a change to this session after you opened it. Your changes "
                    "are still in the form: open the session again in a new tab to compare.",
                )
                status = 409
            else:
                form.add("_form", str(exc))
        else:
            return see_other(f"/clinic/patients/{patient.id}/sessions?saved=edit#session-{row.id}")
    else:
        try:
            validate_session(given.data)
        except ValidationError as exc:
            apply_session_errors(form, exc.errors, given)
    return _session_page(
        request, user, session, patient, form, status_code=status, editing=row, notice=too_many
    )
