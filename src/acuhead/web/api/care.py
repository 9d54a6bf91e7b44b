"""Acupuncture care over HTTP: point catalogue, TCM assessments, prescriptions (red-flag gate,
safety confirmations), clinic templates, courses, STRICTA sessions and adverse events.

Errors map as everywhere (web/app.py): bad input 422 with the field path, another clinic's or
another patient's record 404, a stale version 409, an open red flag 409 with the reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from acuhead.services import care as svc
from acuhead.store.paging import MAX_PAGE
from acuhead.web.care_schemas import (
    AdverseEventOut,
    AdverseEventPage,
    AssessmentConfirmIn,
    AssessmentIn,
    AssessmentOut,
    ConfirmIn,
    CourseIn,
    CourseOut,
    PointOut,
    PrefillOut,
    PrescriptionIn,
    PrescriptionOut,
    SessionIn,
    SessionOut,
    SessionPage,
    SessionUpdate,
    TemplateIn,
    TemplateOut,
    TemplateUpdate,
)
from acuhead.web.deps import CurrentActor, WriteSession

router = APIRouter(tags=["care"])

# Row ids are 32-bit integers on both engines; a larger id cannot exist (and would overflow the
# driver), so the schema says so and such a request answers 422.
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Query(ge=0)]


# ---- points -----------------------------------------------------------------------------------


@router.get("/points", response_model=list[PointOut])
def list_points(
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=100, description="code, alias, name or region")] = "",
    channel: Annotated[str | None, Query(max_length=10)] = None,
    region: Annotated[str | None, Query(max_length=30)] = None,
) -> list[dict[str, Any]]:
    """Search the catalogue (no patient data): "lv3" finds LR3, "fengchi" GB20."""
    return [svc.point_dict(p) for p in svc.search_points(query=q, channel=channel, region=region)]


@router.get("/points/{code}", response_model=PointOut)
def get_point(code: str, actor: CurrentActor) -> dict[str, Any]:
    return svc.point_dict(svc.get_point(code))


# ---- assessments ------------------------------------------------------------------------------


@router.post("/patients/{patient_id}/assessments", response_model=AssessmentOut, status_code=201)
def create_assessment(
    patient_id: Id, body: AssessmentIn, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    row = svc.create_assessment(
        session,
        actor=actor,
        patient_id=patient_id,
        locations=body.locations,
        signs=body.signs,
        tongue=body.tongue,
        pulse=body.pulse,
        confirmed_pattern=body.confirmed_pattern,
        use_diary=body.use_diary,
    )
    return svc.assessment_dict(row)


@router.get("/patients/{patient_id}/assessments", response_model=list[AssessmentOut])
def list_assessments(
    patient_id: Id, actor: CurrentActor, session: WriteSession
) -> list[dict[str, Any]]:
    rows = svc.list_assessments(session, actor=actor, patient_id=patient_id)
    return [svc.assessment_dict(r) for r in rows]


@router.get("/patients/{patient_id}/assessments/{assessment_id}", response_model=AssessmentOut)
def get_assessment(
    patient_id: Id, assessment_id: Id, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    row = svc.get_assessment(
        session, actor=actor, patient_id=patient_id, assessment_id=assessment_id
    )
    return svc.assessment_dict(row)


@router.post(
    "/patients/{patient_id}/assessments/{assessment_id}/confirm", response_model=AssessmentOut
)
def confirm_assessment(
    patient_id: Id,
    assessment_id: Id,
    body: AssessmentConfirmIn,
    actor: CurrentActor,
    session: WriteSession,
) -> dict[str, Any]:
    """Confirm or override the pattern ranking (null clears the decision)."""
    row = svc.confirm_assessment(
        session,
        actor=actor,
        patient_id=patient_id,
        assessment_id=assessment_id,
        confirmed_pattern=body.confirmed_pattern,
    )
    return svc.assessment_dict(row)


# ---- prescriptions ----------------------------------------------------------------------------


@router.post(
    "/patients/{patient_id}/prescriptions", response_model=PrescriptionOut, status_code=201
)
def create_prescription(
    patient_id: Id, body: PrescriptionIn, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    """Propose a plan. 409 with the reasons while a red-flag alert is open for the patient."""
    row = svc.create_prescription(
        session,
        actor=actor,
        patient_id=patient_id,
        assessment_id=body.assessment_id,
        template_id=body.template_id,
        locations=body.locations,
        headache_kind=body.headache_kind,
        electro=body.electro,
        protocol=body.protocol,
    )
    return svc.prescription_dict(row)


@router.get("/patients/{patient_id}/prescriptions", response_model=list[PrescriptionOut])
def list_prescriptions(
    patient_id: Id, actor: CurrentActor, session: WriteSession
) -> list[dict[str, Any]]:
    rows = svc.list_prescriptions(session, actor=actor, patient_id=patient_id)
    return [svc.prescription_dict(r) for r in rows]


@router.get(
    "/patients/{patient_id}/prescriptions/{prescription_id}", response_model=PrescriptionOut
)
def get_prescription(
    patient_id: Id, prescription_id: Id, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    row = svc.get_prescription(
        session, actor=actor, patient_id=patient_id, prescription_id=prescription_id
    )
    return svc.prescription_dict(row)


@router.post(
    "/patients/{patient_id}/prescriptions/{prescription_id}/confirm",
    response_model=PrescriptionOut,
)
def confirm_prescription(
    patient_id: Id,
    prescription_id: Id,
    body: ConfirmIn,
    actor: CurrentActor,
    session: WriteSession,
) -> dict[str, Any]:
    """Confirm ``confirm`` findings by code ("pregnancy:LI4") or point; send the version read."""
    row = svc.confirm_prescription(
        session,
        actor=actor,
        patient_id=patient_id,
        prescription_id=prescription_id,
        version=body.version,
        confirmed_codes=body.confirmed_codes,
    )
    return svc.prescription_dict(row)


# ---- templates --------------------------------------------------------------------------------


@router.get("/prescription-templates", response_model=list[TemplateOut])
def list_templates(actor: CurrentActor, session: WriteSession) -> list[dict[str, Any]]:
    return [svc.template_dict(r) for r in svc.list_templates(session, actor=actor)]


@router.post("/prescription-templates", response_model=TemplateOut, status_code=201)
def create_template(body: TemplateIn, actor: CurrentActor, session: WriteSession) -> dict[str, Any]:
    """Save a clinic template from a point list or from a saved prescription."""
    row = svc.create_template(
        session,
        actor=actor,
        name=body.name,
        points=[(p.code, p.side.value if p.side else None) for p in body.points],
        notes=body.notes,
        prescription_id=body.prescription_id,
    )
    return svc.template_dict(row)


@router.get("/prescription-templates/{template_id}", response_model=TemplateOut)
def get_template(template_id: Id, actor: CurrentActor, session: WriteSession) -> dict[str, Any]:
    return svc.template_dict(svc.get_template(session, actor=actor, template_id=template_id))


@router.put(
    "/prescription-templates/{template_id}",
    response_model=TemplateOut,
    responses={428: {"description": "send the version you read"}},
)
def put_template(
    template_id: Id, body: TemplateUpdate, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    """Replace a template's name, points and notes; send the version read."""
    row = svc.update_template(
        session,
        actor=actor,
        template_id=template_id,
        name=body.name,
        points=[(p.code, p.side.value if p.side else None) for p in body.points],
        version=body.version,
        notes=body.notes,
    )
    return svc.template_dict(row)


@router.delete("/prescription-templates/{template_id}", status_code=204)
def delete_template(template_id: Id, actor: CurrentActor, session: WriteSession) -> Response:
    svc.delete_template(session, actor=actor, template_id=template_id)
    return Response(status_code=204)


# ---- courses ----------------------------------------------------------------------------------


@router.post("/patients/{patient_id}/courses", response_model=CourseOut, status_code=201)
def create_course(
    patient_id: Id, body: CourseIn, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    row = svc.create_course(
        session,
        actor=actor,
        patient_id=patient_id,
        planned_sessions=body.planned_sessions,
        sessions_per_week=body.sessions_per_week,
        start=body.start,
        notes=body.notes,
    )
    return svc.course_dict(row, 0)


@router.get("/patients/{patient_id}/courses", response_model=list[CourseOut])
def list_courses(
    patient_id: Id, actor: CurrentActor, session: WriteSession
) -> list[dict[str, Any]]:
    rows = svc.list_courses(session, actor=actor, patient_id=patient_id)
    delivered = svc.delivered_sessions(session, [r.id for r in rows])
    return [svc.course_dict(r, delivered.get(r.id, 0)) for r in rows]


# ---- sessions ---------------------------------------------------------------------------------


@router.get("/patients/{patient_id}/sessions", response_model=SessionPage)
def list_sessions(
    patient_id: Id,
    actor: CurrentActor,
    session: WriteSession,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    rows, total = svc.list_treatment_sessions(
        session, actor=actor, patient_id=patient_id, limit=limit, offset=offset
    )
    return {
        "items": [svc.treatment_session_dict(r) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.post("/patients/{patient_id}/sessions", response_model=SessionOut, status_code=201)
def create_session(
    patient_id: Id, body: SessionIn, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    """Record a session (STRICTA). Bad values answer 422 with each path, e.g.
    ``stimulation.frequency_hz``; a prescription that is not ready answers 409."""
    row = svc.create_treatment_session(
        session,
        actor=actor,
        patient_id=patient_id,
        data=body.record(),
        course_id=body.course_id,
        prescription_id=body.prescription_id,
    )
    return svc.treatment_session_dict(row)


# Not under /sessions/: a literal segment beside /sessions/{session_id} makes the two paths
# overlap in the OpenAPI document (and in the 405 Allow header computed from it).
@router.get("/patients/{patient_id}/session-prefill", response_model=PrefillOut)
def prefill_session(
    patient_id: Id,
    actor: CurrentActor,
    session: WriteSession,
    source: Annotated[
        str, Query(alias="from", max_length=40, description="previous | prescription:ID")
    ] = "previous",
) -> dict[str, Any]:
    """A session form filled from a prescription or from the previous session (not saved)."""
    return svc.prefill_session(session, actor=actor, patient_id=patient_id, source=source)


@router.get("/patients/{patient_id}/sessions/{session_id}", response_model=SessionOut)
def get_session(
    patient_id: Id, session_id: Id, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    row = svc.get_treatment_session(
        session, actor=actor, patient_id=patient_id, session_id=session_id
    )
    return svc.treatment_session_dict(row)


@router.put(
    "/patients/{patient_id}/sessions/{session_id}",
    response_model=SessionOut,
    responses={428: {"description": "send the version you read"}},
)
def put_session(
    patient_id: Id,
    session_id: Id,
    body: SessionUpdate,
    actor: CurrentActor,
    session: WriteSession,
) -> dict[str, Any]:
    """Correct a session (e.g. an adverse event noticed later); send the version read."""
    row = svc.update_treatment_session(
        session,
        actor=actor,
        patient_id=patient_id,
        session_id=session_id,
        version=body.version,
        data=body.record(),
        course_id=body.course_id,
        prescription_id=body.prescription_id,
    )
    return svc.treatment_session_dict(row)


# ---- adverse events ---------------------------------------------------------------------------


@router.get("/adverse-events", response_model=AdverseEventPage)
def list_adverse_events(
    actor: CurrentActor,
    session: WriteSession,
    serious: bool | None = None,
    since: Annotated[dt.date | None, Query(description="sessions on or after")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The clinic's adverse events, most recent first; ``serious=true`` for serious ones."""
    items, total = svc.list_adverse_events(
        session, actor=actor, serious=serious, since=since, limit=limit, offset=offset
    )
    return {
        "items": [AdverseEventOut.model_validate(i) for i in items],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
