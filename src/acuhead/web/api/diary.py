"""Patients and their diary: days, attacks, medications, regimens.

Each route runs its whole transaction in one worker-thread hop (``run_read``/``run_write``):
the diary routes carry most of the traffic (benchmarks/load.py). Reads take no write lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.orm import Session

from acuhead.domain.diary import DiaryDay, Regimen, SafetyProfile
from acuhead.interop.document import attack_to_dict, parse_attack
from acuhead.services import diary as svc
from acuhead.services import idempotency
from acuhead.services.actors import Actor, load_patient
from acuhead.store.mapping import attack_from_row
from acuhead.store.models import AttackRow, DiaryDayRow, Patient, RegimenRow, utcnow
from acuhead.store.paging import MAX_PAGE
from acuhead.web.deps import access_in_transaction, run_read, run_write
from acuhead.web.schemas import (
    AttackIn,
    AttackOut,
    AttackUpdate,
    DayIn,
    DayOut,
    MedicationOut,
    Page,
    PatientIn,
    PatientOut,
    PatientPatch,
    RegimenIn,
    RegimenOut,
)

router = APIRouter(tags=["diary"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Query(ge=0)]
Start = Annotated[dt.date | None, Query(description="first local date (inclusive)")]
End = Annotated[dt.date | None, Query(description="last local date (inclusive)")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        max_length=100,
        description="a key of the client's own (a UUID): sent again, the same write is stored "
        "once and the first answer returned; with a different body, 422",
    ),
]


def patient_out(p: Patient) -> PatientOut:
    return PatientOut.model_validate(p, from_attributes=True)


def day_out(r: DiaryDayRow) -> DayOut:
    return DayOut(
        id=r.id,
        date=r.day,
        headache=r.headache,
        stress=r.stress,
        sleep_hours=r.sleep_hours,
        neck_tension=r.neck_tension,
        menstruating=r.menstruating,
        notes=r.notes or "",
        triggers=list(r.triggers or []),
        recorded_utc=r.recorded_utc,
        version=r.version,
    )


def attack_out(r: AttackRow) -> AttackOut:
    attack = attack_from_row(r)
    data: dict[str, Any] = attack_to_dict(attack)
    return AttackOut.model_validate(
        {**data, "id": r.id, "version": r.version, "local_dates": attack.local_dates()}
    )


@router.get("/patients", response_model=Page[PatientOut])
@access_in_transaction
async def list_patients(
    request: Request,
    limit: Limit = 50,
    offset: Offset = 0,
    q: str = Query("", max_length=100),
) -> Page[PatientOut]:
    def work(session: Session, actor: Actor) -> Page[PatientOut]:
        rows, total = svc.list_patients(session, actor=actor, limit=limit, offset=offset, query=q)
        return Page(items=[patient_out(p) for p in rows], total=total, limit=limit, offset=offset)

    return await run_read(request, work)


@router.post("/patients", response_model=PatientOut, status_code=201)
@access_in_transaction
async def create_patient(request: Request, body: PatientIn) -> PatientOut:
    def work(session: Session, actor: Actor) -> PatientOut:
        p = svc.create_patient(
            session,
            actor=actor,
            external_id=body.external_id,
            display_name=body.display_name,
            birth_date=body.birth_date,
            sex=body.sex,
            timezone=body.timezone,
            practitioner_id=body.practitioner_id,
            safety=SafetyProfile(**body.safety.model_dump()),
        )
        return patient_out(p)

    return await run_write(request, work)


@router.get("/patients/{patient_id}", response_model=PatientOut)
@access_in_transaction
async def get_patient(request: Request, patient_id: int) -> PatientOut:
    def work(session: Session, actor: Actor) -> PatientOut:
        return patient_out(svc.get_patient(session, actor=actor, patient_id=patient_id))

    return await run_read(request, work)


_VERSION_REQUIRED: dict[int | str, dict[str, Any]] = {
    428: {"description": "the record exists: send the version you read"}
}


@router.patch("/patients/{patient_id}", response_model=PatientOut, responses=_VERSION_REQUIRED)
@access_in_transaction
async def patch_patient(request: Request, patient_id: int, body: PatientPatch) -> PatientOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})

    def work(session: Session, actor: Actor) -> PatientOut:
        p = svc.update_patient(
            session, actor=actor, patient_id=patient_id, version=body.version, changes=changes
        )
        return patient_out(p)

    return await run_write(request, work)


@router.get("/patients/{patient_id}/days", response_model=Page[DayOut])
@access_in_transaction
async def list_days(
    request: Request,
    patient_id: int,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DayOut]:
    def work(session: Session, actor: Actor) -> Page[DayOut]:
        rows, total = svc.list_days(
            session,
            actor=actor,
            patient_id=patient_id,
            start=start,
            end=end,
            limit=limit,
            offset=offset,
        )
        return Page(items=[day_out(r) for r in rows], total=total, limit=limit, offset=offset)

    return await run_read(request, work)


@router.get("/patients/{patient_id}/days/{day}", response_model=DayOut)
@access_in_transaction
async def get_day(request: Request, patient_id: int, day: dt.date) -> DayOut:
    def work(session: Session, actor: Actor) -> DayOut:
        return day_out(svc.get_day(session, actor=actor, patient_id=patient_id, day=day))

    return await run_read(request, work)


@router.put("/patients/{patient_id}/days/{day}", response_model=DayOut, responses=_VERSION_REQUIRED)
@access_in_transaction
async def put_day(
    request: Request,
    patient_id: int,
    day: dt.date,
    body: DayIn,
    idempotency_key: IdempotencyKey = None,
) -> DayOut:
    """Record or correct one day. Send ``version`` when correcting: over an existing entry, a
    request without it answers 428 (409 if the entry was recorded while it was on its way).
    With ``Idempotency-Key``, a request sent again is answered from the first one."""
    asked_at = utcnow()
    entry = DiaryDay(
        date=day,
        headache=body.headache,
        stress=body.stress,
        sleep_hours=body.sleep_hours,
        neck_tension=body.neck_tension,
        menstruating=body.menstruating,
        notes=body.notes,
        triggers=tuple(body.triggers),
    )

    def work(session: Session, actor: Actor) -> DayOut:
        def write() -> dict[str, Any]:
            row = svc.upsert_day(
                session,
                actor=actor,
                patient_id=patient_id,
                day=entry,
                version=body.version,
                asked_at=asked_at,
            )
            return day_out(row).model_dump(mode="json")

        answer, _ = idempotency.once(
            session,
            actor=actor,
            patient_id=patient_id,
            key=idempotency.check_key(idempotency_key),
            operation=f"PUT day {day.isoformat()}",
            body=body.model_dump(mode="json"),
            status_code=200,
            work=write,
        )
        return DayOut.model_validate(answer)

    return await run_write(request, work)


@router.delete("/patients/{patient_id}/days/{day}", status_code=204)
@access_in_transaction
async def delete_day(request: Request, patient_id: int, day: dt.date) -> Response:
    def work(session: Session, actor: Actor) -> None:
        svc.delete_day(session, actor=actor, patient_id=patient_id, day=day)

    await run_write(request, work)
    return Response(status_code=204)


@router.get("/patients/{patient_id}/attacks", response_model=Page[AttackOut])
@access_in_transaction
async def list_attacks(
    request: Request,
    patient_id: int,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AttackOut]:
    def work(session: Session, actor: Actor) -> Page[AttackOut]:
        rows, total = svc.list_attacks(
            session,
            actor=actor,
            patient_id=patient_id,
            start=start,
            end=end,
            limit=limit,
            offset=offset,
        )
        return Page(items=[attack_out(r) for r in rows], total=total, limit=limit, offset=offset)

    return await run_read(request, work)


@router.post("/patients/{patient_id}/attacks", response_model=AttackOut, status_code=201)
@access_in_transaction
async def create_attack(
    request: Request, patient_id: int, body: AttackIn, idempotency_key: IdempotencyKey = None
) -> AttackOut:
    """Record an attack. With ``Idempotency-Key`` (the patient app's offline queue), a request
    sent again makes no second attack: it gets the first answer."""

    def work(session: Session, actor: Actor) -> AttackOut:
        def write() -> dict[str, Any]:
            patient = load_patient(session, actor, patient_id)
            attack = parse_attack(body.as_document(), timezone=patient.timezone)
            row = svc.create_attack(session, actor=actor, patient_id=patient_id, attack=attack)
            return attack_out(row).model_dump(mode="json", by_alias=True)

        answer, _ = idempotency.once(
            session,
            actor=actor,
            patient_id=patient_id,
            key=idempotency.check_key(idempotency_key),
            operation="POST attack",
            body=body.as_document(),
            status_code=201,
            work=write,
        )
        return AttackOut.model_validate(answer)

    return await run_write(request, work)


@router.get("/patients/{patient_id}/attacks/{attack_id}", response_model=AttackOut)
@access_in_transaction
async def get_attack(request: Request, patient_id: int, attack_id: int) -> AttackOut:
    def work(session: Session, actor: Actor) -> AttackOut:
        row = svc.get_attack(session, actor=actor, patient_id=patient_id, attack_id=attack_id)
        return attack_out(row)

    return await run_read(request, work)


@router.put(
    "/patients/{patient_id}/attacks/{attack_id}",
    response_model=AttackOut,
    responses=_VERSION_REQUIRED,
)
@access_in_transaction
async def put_attack(
    request: Request,
    patient_id: int,
    attack_id: int,
    body: AttackUpdate,
    idempotency_key: IdempotencyKey = None,
) -> AttackOut:
    """Correct an attack (``version`` required: 428 without, 409 if it changed). With
    ``Idempotency-Key``, an edit sent again (its answer was lost) gets the first answer,
    not the 409 its own first arrival would otherwise cause."""

    def work(session: Session, actor: Actor) -> AttackOut:
        def write() -> dict[str, Any]:
            patient = load_patient(session, actor, patient_id)
            attack = parse_attack(body.as_document(), timezone=patient.timezone)
            row = svc.update_attack(
                session,
                actor=actor,
                patient_id=patient_id,
                attack_id=attack_id,
                attack=attack,
                version=body.version,
            )
            return attack_out(row).model_dump(mode="json", by_alias=True)

        answer, _ = idempotency.once(
            session,
            actor=actor,
            patient_id=patient_id,
            key=idempotency.check_key(idempotency_key),
            operation=f"PUT attack {attack_id}",
            body={**body.as_document(), "version": body.version},
            status_code=200,
            work=write,
        )
        return AttackOut.model_validate(answer)

    return await run_write(request, work)


@router.delete("/patients/{patient_id}/attacks/{attack_id}", status_code=204)
@access_in_transaction
async def delete_attack(
    request: Request, patient_id: int, attack_id: int, idempotency_key: IdempotencyKey = None
) -> Response:
    """Delete an attack. With ``Idempotency-Key``, a delete sent again (its answer was lost)
    answers 204 as the first did, not 404 for the attack it already removed."""

    def work(session: Session, actor: Actor) -> None:
        def write() -> dict[str, Any]:
            svc.delete_attack(session, actor=actor, patient_id=patient_id, attack_id=attack_id)
            return {}

        idempotency.once(
            session,
            actor=actor,
            patient_id=patient_id,
            key=idempotency.check_key(idempotency_key),
            operation=f"DELETE attack {attack_id}",
            body=None,
            status_code=204,
            work=write,
        )

    await run_write(request, work)
    return Response(status_code=204)


@router.get("/patients/{patient_id}/medications", response_model=Page[MedicationOut])
@access_in_transaction
async def list_medications(
    request: Request,
    patient_id: int,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[MedicationOut]:
    def work(session: Session, actor: Actor) -> Page[MedicationOut]:
        rows, total = svc.list_medications(
            session,
            actor=actor,
            patient_id=patient_id,
            start=start,
            end=end,
            limit=limit,
            offset=offset,
        )
        items = [MedicationOut.model_validate(r, from_attributes=True) for r in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)

    return await run_read(request, work)


def regimen_out(r: RegimenRow) -> RegimenOut:
    return RegimenOut(
        id=r.id,
        name=r.name,
        kind=r.kind,
        start=r.start,
        stop=r.stop,
        dose=r.dose,
    )


@router.get("/patients/{patient_id}/regimens", response_model=list[RegimenOut])
@access_in_transaction
async def list_regimens(request: Request, patient_id: int) -> list[RegimenOut]:
    def work(session: Session, actor: Actor) -> list[RegimenOut]:
        rows = svc.list_regimens(session, actor=actor, patient_id=patient_id)
        return [regimen_out(r) for r in rows]

    return await run_read(request, work)


@router.post("/patients/{patient_id}/regimens", response_model=RegimenOut, status_code=201)
@access_in_transaction
async def create_regimen(request: Request, patient_id: int, body: RegimenIn) -> RegimenOut:
    reg = Regimen(body.name, body.kind, body.start, body.stop, body.dose)

    def work(session: Session, actor: Actor) -> RegimenOut:
        row = svc.create_regimen(session, actor=actor, patient_id=patient_id, regimen=reg)
        return regimen_out(row)

    return await run_write(request, work)


@router.delete("/patients/{patient_id}/regimens/{regimen_id}", status_code=204)
@access_in_transaction
async def delete_regimen(request: Request, patient_id: int, regimen_id: int) -> Response:
    def work(session: Session, actor: Actor) -> None:
        svc.delete_regimen(session, actor=actor, patient_id=patient_id, regimen_id=regimen_id)

    await run_write(request, work)
    return Response(status_code=204)
