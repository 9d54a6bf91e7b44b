"""Patients and their diary: days, attacks, medications, regimens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from acuhead.domain.diary import DiaryDay, Regimen, SafetyProfile
from acuhead.interop.document import attack_to_dict, parse_attack
from acuhead.services import diary as svc
from acuhead.services.actors import load_patient
from acuhead.store.mapping import attack_from_row
from acuhead.store.models import AttackRow, DiaryDayRow, Patient, RegimenRow
from acuhead.web.deps import CurrentActor, WriteSession
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

Limit = Annotated[int, Query(ge=1, le=svc.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0)]
Start = Annotated[dt.date | None, Query(description="first local date (inclusive)")]
End = Annotated[dt.date | None, Query(description="last local date (inclusive)")]


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
def list_patients(
    actor: CurrentActor,
    session: WriteSession,
    limit: Limit = 50,
    offset: Offset = 0,
    q: str = Query("", max_length=100),
) -> Page[PatientOut]:
    rows, total = svc.list_patients(session, actor=actor, limit=limit, offset=offset, query=q)
    return Page(items=[patient_out(p) for p in rows], total=total, limit=limit, offset=offset)


@router.post("/patients", response_model=PatientOut, status_code=201)
def create_patient(body: PatientIn, actor: CurrentActor, session: WriteSession) -> PatientOut:
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


@router.get("/patients/{patient_id}", response_model=PatientOut)
def get_patient(patient_id: int, actor: CurrentActor, session: WriteSession) -> PatientOut:
    return patient_out(svc.get_patient(session, actor=actor, patient_id=patient_id))


@router.patch("/patients/{patient_id}", response_model=PatientOut)
def patch_patient(
    patient_id: int, body: PatientPatch, actor: CurrentActor, session: WriteSession
) -> PatientOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    p = svc.update_patient(
        session, actor=actor, patient_id=patient_id, version=body.version, changes=changes
    )
    return patient_out(p)


@router.get("/patients/{patient_id}/days", response_model=Page[DayOut])
def list_days(
    patient_id: int,
    actor: CurrentActor,
    session: WriteSession,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DayOut]:
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


@router.get("/patients/{patient_id}/days/{day}", response_model=DayOut)
def get_day(patient_id: int, day: dt.date, actor: CurrentActor, session: WriteSession) -> DayOut:
    return day_out(svc.get_day(session, actor=actor, patient_id=patient_id, day=day))


@router.put("/patients/{patient_id}/days/{day}", response_model=DayOut)
def put_day(
    patient_id: int, day: dt.date, body: DayIn, actor: CurrentActor, session: WriteSession
) -> DayOut:
    """Record or correct one day. Send ``version`` when correcting, to detect a clash."""
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
    row = svc.upsert_day(
        session, actor=actor, patient_id=patient_id, day=entry, version=body.version
    )
    return day_out(row)


@router.delete("/patients/{patient_id}/days/{day}", status_code=204)
def delete_day(
    patient_id: int, day: dt.date, actor: CurrentActor, session: WriteSession
) -> Response:
    svc.delete_day(session, actor=actor, patient_id=patient_id, day=day)
    return Response(status_code=204)


@router.get("/patients/{patient_id}/attacks", response_model=Page[AttackOut])
def list_attacks(
    patient_id: int,
    actor: CurrentActor,
    session: WriteSession,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AttackOut]:
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


@router.post("/patients/{patient_id}/attacks", response_model=AttackOut, status_code=201)
def create_attack(
    patient_id: int, body: AttackIn, actor: CurrentActor, session: WriteSession
) -> AttackOut:
    patient = load_patient(session, actor, patient_id)
    attack = parse_attack(body.as_document(), timezone=patient.timezone)
    return attack_out(svc.create_attack(session, actor=actor, patient_id=patient_id, attack=attack))


@router.get("/patients/{patient_id}/attacks/{attack_id}", response_model=AttackOut)
def get_attack(
    patient_id: int, attack_id: int, actor: CurrentActor, session: WriteSession
) -> AttackOut:
    return attack_out(
        svc.get_attack(session, actor=actor, patient_id=patient_id, attack_id=attack_id)
    )


@router.put("/patients/{patient_id}/attacks/{attack_id}", response_model=AttackOut)
def put_attack(
    patient_id: int, attack_id: int, body: AttackUpdate, actor: CurrentActor, session: WriteSession
) -> AttackOut:
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
    return attack_out(row)


@router.delete("/patients/{patient_id}/attacks/{attack_id}", status_code=204)
def delete_attack(
    patient_id: int, attack_id: int, actor: CurrentActor, session: WriteSession
) -> Response:
    svc.delete_attack(session, actor=actor, patient_id=patient_id, attack_id=attack_id)
    return Response(status_code=204)


@router.get("/patients/{patient_id}/medications", response_model=Page[MedicationOut])
def list_medications(
    patient_id: int,
    actor: CurrentActor,
    session: WriteSession,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[MedicationOut]:
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
def list_regimens(patient_id: int, actor: CurrentActor, session: WriteSession) -> list[RegimenOut]:
    return [regimen_out(r) for r in svc.list_regimens(session, actor=actor, patient_id=patient_id)]


@router.post("/patients/{patient_id}/regimens", response_model=RegimenOut, status_code=201)
def create_regimen(
    patient_id: int, body: RegimenIn, actor: CurrentActor, session: WriteSession
) -> RegimenOut:
    reg = Regimen(body.name, body.kind, body.start, body.stop, body.dose)
    return regimen_out(svc.create_regimen(session, actor=actor, patient_id=patient_id, regimen=reg))


@router.delete("/patients/{patient_id}/regimens/{regimen_id}", status_code=204)
def delete_regimen(
    patient_id: int, regimen_id: int, actor: CurrentActor, session: WriteSession
) -> Response:
    svc.delete_regimen(session, actor=actor, patient_id=patient_id, regimen_id=regimen_id)
    return Response(status_code=204)
