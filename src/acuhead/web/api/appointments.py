"""Appointments over HTTP: the day or week list, book, move, cancel, link the session.

``start`` is an ISO 8601 time with an offset, or without one: then it is the clinic's
wall-clock time (a time the spring change skips answers 422 with the reason). Errors map as
everywhere (web/app.py): bad input 422 with the field and reason, an overlap 422 on ``start``
naming the slot it clashes with, another clinic's appointment 404, a change without a version
428, with a stale one 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from acuhead.domain.appointments import MAX_DURATION, MAX_NOTE, MIN_DURATION
from acuhead.services import appointments as svc
from acuhead.web.deps import CurrentActor, WriteSession
from acuhead.web.schemas import Strict

router = APIRouter(tags=["appointments"])

MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
DbId = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
Minutes = Annotated[int, Field(ge=MIN_DURATION, le=MAX_DURATION, strict=True)]


class AppointmentIn(Strict):
    patient_id: DbId
    practitioner_id: DbId | None = Field(None, description="default: the caller")
    start: dt.datetime
    duration_min: Minutes = 45
    note: Annotated[str, Field(max_length=MAX_NOTE)] = ""


class AppointmentMove(Strict):
    version: DbId | None = Field(None, description="the version read; required (428 without)")
    start: dt.datetime
    duration_min: Minutes | None = None
    practitioner_id: DbId | None = None


class VersionIn(Strict):
    version: DbId | None = Field(None, description="the version read; required (428 without)")


class SessionLinkIn(VersionIn):
    session_id: DbId


class AppointmentOut(BaseModel):
    id: int
    patient_id: int
    practitioner_id: int
    start: str
    end: str
    duration_min: int
    timezone: str
    note: str
    status: str
    session_id: int | None
    version: int


VERSION_REQUIRED: dict[int | str, dict[str, Any]] = {
    428: {"description": "no version sent: send the version of the appointment you read"}
}


def _out(session: Any, actor: Any, appointment_id: int) -> dict[str, Any]:
    return svc.get(session, actor=actor, appointment_id=appointment_id).as_dict()


@router.get("/appointments", response_model=list[AppointmentOut])
def list_appointments(
    actor: CurrentActor,
    session: WriteSession,
    day: Annotated[dt.date | None, Query(description="clinic-local date; default today")] = None,
    days: Annotated[int, Query(ge=1, le=31)] = 1,
    practitioner_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[dict[str, Any]]:
    """The clinic's booked appointments on ``days`` clinic days from ``day`` (staff)."""
    start = day or svc.clinic_today(session, actor.clinic_id)
    return [
        a.as_dict()
        for a in svc.between(
            session, actor=actor, start_day=start, days=days, practitioner_id=practitioner_id
        )
    ]


@router.post("/appointments", response_model=AppointmentOut, status_code=201)
def book_appointment(
    body: AppointmentIn, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    row = svc.book(
        session,
        actor=actor,
        patient_id=body.patient_id,
        practitioner_id=body.practitioner_id or actor.user_id or 0,
        start=body.start,
        duration_min=body.duration_min,
        note=body.note,
    )
    return _out(session, actor, row.id)


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut)
def get_appointment(
    appointment_id: Id, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    return _out(session, actor, appointment_id)


@router.patch(
    "/appointments/{appointment_id}", response_model=AppointmentOut, responses=VERSION_REQUIRED
)
def move_appointment(
    appointment_id: Id, body: AppointmentMove, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    """Move (and optionally resize or hand over) a booked slot; send the version read."""
    row = svc.move(
        session,
        actor=actor,
        appointment_id=appointment_id,
        version=body.version,
        start=body.start,
        duration_min=body.duration_min,
        practitioner_id=body.practitioner_id,
    )
    return _out(session, actor, row.id)


@router.post(
    "/appointments/{appointment_id}/cancel",
    response_model=AppointmentOut,
    responses=VERSION_REQUIRED,
)
def cancel_appointment(
    appointment_id: Id, body: VersionIn, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    row = svc.cancel(session, actor=actor, appointment_id=appointment_id, version=body.version)
    return _out(session, actor, row.id)


@router.put(
    "/appointments/{appointment_id}/session",
    response_model=AppointmentOut,
    responses=VERSION_REQUIRED,
)
def link_session(
    appointment_id: Id, body: SessionLinkIn, actor: CurrentActor, session: WriteSession
) -> dict[str, Any]:
    """Link the treatment session recorded from this appointment (same patient)."""
    row = svc.link_session(
        session,
        actor=actor,
        appointment_id=appointment_id,
        version=body.version,
        session_id=body.session_id,
    )
    return _out(session, actor, row.id)


@router.get("/patients/{patient_id}/appointments", response_model=list[AppointmentOut])
def patient_appointments(
    patient_id: Id, actor: CurrentActor, session: WriteSession
) -> list[dict[str, Any]]:
    """One patient's appointments (staff of the clinic, or the patient themselves)."""
    return [a.as_dict() for a in svc.for_patient(session, actor=actor, patient_id=patient_id)]
