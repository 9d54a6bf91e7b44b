"""A patient's whole record out and in (diary document, FHIR R4, CSV), research consent, and
erasure by a clinic admin."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from acuhead.interop.document import NestingTooDeep
from acuhead.interop.research import consent_covers
from acuhead.services import erasure, imports, interop, research
from acuhead.store.models import ResearchConsentRow
from acuhead.web.deps import CurrentActor, DbDep, WriteSession
from acuhead.web.schemas import Strict

router = APIRouter(tags=["records"])

ExportFormat = Literal["json", "fhir", "csv-days", "csv-attacks"]


async def raw_body(request: Request) -> bytes:
    """The whole body, read before any transaction opens. Its size is limited while it streams
    in (`web.limits`, ACUHEAD_MAX_IMPORT_BYTES): a larger body never reaches this point."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


class ImportOut(BaseModel):
    format: str
    patient_id: int
    counts: dict[str, int]


class ConsentIn(Strict):
    scope: str = Field(default="research", min_length=1, max_length=200)
    given_on: dt.date | None = None


class WithdrawIn(Strict):
    scope: str = Field(default="research", min_length=1, max_length=200)
    on: dt.date | None = None


class ConsentOut(BaseModel):
    id: int
    scope: str
    given_on: dt.date
    withdrawn_on: dt.date | None
    research: bool  # the scope covers research and it is not withdrawn


def consent_out(r: ResearchConsentRow) -> ConsentOut:
    return ConsentOut(
        id=r.id,
        scope=r.scope,
        given_on=r.given_on,
        withdrawn_on=r.withdrawn_on,
        research=r.withdrawn_on is None and consent_covers(r.scope),
    )


_DOWNLOADS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The record as a file download",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/fhir+json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/patients/{patient_id}/export", response_class=Response, responses=_DOWNLOADS)
def export_record(
    patient_id: int,
    actor: CurrentActor,
    session: WriteSession,
    fmt: Annotated[
        ExportFormat,
        Query(
            alias="format",
            description="json (diary document), fhir (R4 Bundle), csv-days or csv-attacks",
        ),
    ] = "json",
) -> Response:
    """Download a patient's whole record: a patient their own, staff their clinic's patients."""
    body, media_type, name = interop.export_as(session, actor=actor, patient_id=patient_id, fmt=fmt)
    return Response(
        content=body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "/patients/{patient_id}/import",
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/fhir+json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def import_record(patient_id: int, actor: CurrentActor, db: DbDep, body: RawBody) -> ImportOut:
    """Merge a diary document, a FHIR Bundle or a days/attacks CSV into the patient's record
    (staff). All or nothing: any problem answers 422 naming each field and imports nothing.
    A field the file leaves out keeps its stored value."""
    # Validated before the write transaction, so other writers wait only for the write.
    try:
        fmt, pid, _external_id, counts = imports.import_file(
            db, actor=actor, data=body, source="request body", patient_id=patient_id
        )
    except NestingTooDeep as exc:
        raise HTTPException(400, str(exc)) from None
    return ImportOut(format=fmt, patient_id=pid, counts=counts)


@router.delete("/patients/{patient_id}", status_code=204, response_class=Response)
def erase_patient(patient_id: int, actor: CurrentActor, session: WriteSession) -> Response:
    """Erase a patient and every row of their record (clinic admin only). Irreversible; the
    audit trail keeps only that this id was erased, by whom and when."""
    erasure.erase_patient(session, actor=actor, patient_id=patient_id)
    return Response(status_code=204)


@router.get("/patients/{patient_id}/consents", response_model=list[ConsentOut])
def list_consents(patient_id: int, actor: CurrentActor, session: WriteSession) -> list[ConsentOut]:
    """Research consents of a patient (the patient, or staff of the clinic)."""
    return [
        consent_out(r) for r in research.list_consents(session, actor=actor, patient_id=patient_id)
    ]


@router.post("/patients/{patient_id}/consents", response_model=ConsentOut, status_code=201)
def record_consent(
    patient_id: int, body: ConsentIn, actor: CurrentActor, session: WriteSession
) -> ConsentOut:
    """Record a consent the patient gave (staff)."""
    row = research.record_consent(
        session, actor=actor, patient_id=patient_id, scope=body.scope, given_on=body.given_on
    )
    return consent_out(row)


@router.post("/patients/{patient_id}/consents/withdraw", response_model=list[ConsentOut])
def withdraw_consent(
    patient_id: int, body: WithdrawIn, actor: CurrentActor, session: WriteSession
) -> list[ConsentOut]:
    """Withdraw open consents covering a scope (the patient themself, or staff)."""
    rows = research.withdraw_consent(
        session, actor=actor, patient_id=patient_id, scope=body.scope, on=body.on
    )
    return [consent_out(r) for r in rows]
