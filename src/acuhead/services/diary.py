"""Patients and their diary: days, attacks (with readings, aura, medication), regimens.

Every function takes the acting user and checks tenant and role before touching a row, and
writes an audit event in the same transaction as the change (or the read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from acuhead.domain.diary import Attack, Diary, DiaryDay, Regimen, SafetyProfile, Sex
from acuhead.errors import Conflict, FieldError, NotFound, ValidationError, VersionRequired
from acuhead.interop.document import DiaryDocument, to_document
from acuhead.services import care_documents, safety
from acuhead.services import day_units as units
from acuhead.services.actors import Actor, Role, load_patient, require_staff
from acuhead.store.audit import audit
from acuhead.store.contacts import contact_of
from acuhead.store.db import lock_for_update, lock_patient
from acuhead.store.mapping import (
    ATTACK_COLUMNS,
    AURA_COLUMNS,
    DAY_COLUMNS,
    MEDICATION_COLUMNS,
    READING_COLUMNS,
    attack_from_parts,
    attack_from_row,
    day_from_row,
    fill_attack_row,
    fill_day_row,
    patient_facts,
    regimen_from_row,
)
from acuhead.store.models import (
    AttackRow,
    AuraSymptomRow,
    DiaryDayRow,
    IntensityReadingRow,
    MedicationDoseRow,
    Patient,
    RegimenRow,
    User,
    utcnow,
)
from acuhead.store.paging import MAX_PAGE, page_of


def local_today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def check_not_future(day: dt.date, tz: str, path: str) -> None:
    """Diary entries may be made for today+1 in the patient's zone at most (clock skew)."""
    if day > local_today(tz) + dt.timedelta(days=1):
        raise ValidationError(FieldError(path, f"{day} is in the future for this patient"))


def _check_tz(tz: str) -> str:
    try:
        return ZoneInfo(tz).key
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(FieldError("timezone", f"unknown time zone {tz!r}")) from None


def _check_practitioner(session: Session, clinic_id: int, practitioner_id: int | None) -> None:
    if practitioner_id is None:
        return
    user = session.get(User, practitioner_id)
    if user is None or user.clinic_id != clinic_id or user.role != Role.PRACTITIONER:
        raise ValidationError(
            FieldError("practitioner_id", f"no practitioner {practitioner_id} in this clinic")
        )


def create_patient(
    session: Session,
    *,
    actor: Actor,
    external_id: str,
    display_name: str = "",
    birth_date: dt.date | None = None,
    sex: Sex = Sex.UNKNOWN,
    timezone: str = "UTC",
    practitioner_id: int | None = None,
    safety: SafetyProfile | None = None,
    user_id: int | None = None,
) -> Patient:
    require_staff(actor)
    tz = _check_tz(timezone)
    if not external_id.strip():
        raise ValidationError(FieldError("external_id", "must not be empty"))
    if birth_date is not None and birth_date > local_today(tz):
        raise ValidationError(FieldError("birth_date", "is in the future"))
    _check_practitioner(session, actor.clinic_id, practitioner_id)
    exists = session.scalars(
        select(Patient.id).where(
            Patient.clinic_id == actor.clinic_id, Patient.external_id == external_id
        )
    ).first()
    if exists is not None:
        raise Conflict(f"a patient with external id {external_id!r} already exists")
    patient = Patient(
        clinic_id=actor.clinic_id,
        external_id=external_id.strip(),
        display_name=display_name.strip(),
        birth_date=birth_date,
        sex=sex.value,
        timezone=tz,
        practitioner_id=practitioner_id,
        user_id=user_id,
        safety=_safety_dict(safety or SafetyProfile()),
    )
    session.add(patient)
    session.flush()
    audit(session, actor, "create", "patient", patient.id, patient_id=patient.id)
    return patient


def _safety_dict(s: SafetyProfile) -> dict[str, Any]:
    return {k: getattr(s, k) for k in SafetyProfile.__dataclass_fields__}


def update_patient(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    version: int | None,
    changes: dict[str, Any],
) -> Patient:
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    if version is None:
        raise VersionRequired(
            f"send the version of the patient record you read (now {patient.version})"
        )
    lock_for_update(session, patient)
    if patient.version != version:
        raise Conflict(f"patient changed since version {version} (now {patient.version})")
    if "timezone" in changes:
        changes["timezone"] = _check_tz(changes["timezone"])
    if "practitioner_id" in changes:
        _check_practitioner(session, actor.clinic_id, changes["practitioner_id"])
    if "safety" in changes and changes["safety"] is not None:
        changes["safety"] = _safety_dict(SafetyProfile(**changes["safety"]))
    if "sex" in changes and changes["sex"] is not None:
        changes["sex"] = Sex(changes["sex"]).value
    for key, value in changes.items():
        setattr(patient, key, value)
    patient.version += 1
    audit(session, actor, "update", "patient", patient.id, patient_id=patient.id)
    return patient


def get_patient(session: Session, *, actor: Actor, patient_id: int) -> Patient:
    patient = load_patient(session, actor, patient_id)
    audit(session, actor, "read", "patient", patient.id, patient_id=patient.id)
    return patient


def list_patients(
    session: Session, *, actor: Actor, limit: int = 50, offset: int = 0, query: str = ""
) -> tuple[list[Patient], int]:
    if actor.role == Role.PATIENT:
        if actor.patient_id is None:
            return [], 0
        return [get_patient(session, actor=actor, patient_id=actor.patient_id)], 1
    stmt = select(Patient).where(Patient.clinic_id == actor.clinic_id)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            func.lower(Patient.external_id).like(like) | func.lower(Patient.display_name).like(like)
        )
    rows, total = page_of(session, stmt, Patient.id, limit=limit, offset=offset)
    audit(session, actor, "read", "patient_list")
    return rows, total


# ---- diary days ---------------------------------------------------------------------------


def upsert_day(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    day: DiaryDay,
    version: int | None = None,
    asked_at: dt.datetime | None = None,
) -> DiaryDayRow:
    """Create or replace the entry for one local date; ``version`` guards concurrent edits.

    ``version``: the version of the entry the client read. A client that read none sends no
    version and gives ``asked_at``, when its request arrived (UTC): it means to create the
    entry, so an existing one is never replaced blindly. If it was recorded after
    ``asked_at``, another request created or changed it at the same time (409); if it was
    already there, the client must send its version (428). In-process callers that pass
    neither (tests, tools) replace the entry.
    """
    patient = load_patient(session, actor, patient_id)
    check_not_future(day.date, patient.timezone, "date")
    # The patient first, then the day: concurrent writers of this diary queue here, and the
    # one that waited reads what the other committed (see lock_patient). Not one statement:
    # a statement that waited for a lock still sees the other tables as they were when it
    # began, so the day read beside the patient's lock could be the one just replaced.
    lock_patient(session, patient.id)
    row = session.scalars(_DAY_ROW_LOCKED, {"pid": patient.id, "day": day.date}).first()
    if row is not None and version is None and asked_at is not None:
        if row.recorded_utc >= asked_at:
            raise Conflict(
                f"the entry for {day.date} was recorded by another request at the same time "
                f"(now version {row.version}); read it, then send its version to change it"
            )
        raise VersionRequired(
            f"an entry for {day.date} already exists (version {row.version}); send its "
            "version to change it"
        )
    if row is None:
        row = DiaryDayRow(clinic_id=patient.clinic_id, patient_id=patient.id, version=1)
        fill_day_row(row, day)
        session.add(row)
        action = "create"
    else:
        if version is not None and row.version != version:
            raise Conflict(f"this day changed since version {version} (now {row.version})")
        fill_day_row(row, day)
        row.version += 1
        row.recorded_utc = utcnow()
        action = "update"
    session.flush()
    audit(session, actor, action, "diary_day", row.id, patient_id=patient.id)
    units.refresh_around(session, patient_id=patient.id, day=day.date, entry=row)
    return row


# One diary day by patient and date; built once so its compiled SQL is reused (hot path).
_DAY_ROW = select(DiaryDayRow).where(
    DiaryDayRow.patient_id == bindparam("pid"), DiaryDayRow.day == bindparam("day")
)


_DAY_ROW_LOCKED = _DAY_ROW.with_for_update().execution_options(populate_existing=True)


def get_day(session: Session, *, actor: Actor, patient_id: int, day: dt.date) -> DiaryDayRow:
    patient = load_patient(session, actor, patient_id)
    row = session.scalars(_DAY_ROW, {"pid": patient.id, "day": day}).first()
    if row is None:
        raise NotFound(f"no diary entry for {day}")
    audit(session, actor, "read", "diary_day", row.id, patient_id=patient.id)
    return row


def delete_day(session: Session, *, actor: Actor, patient_id: int, day: dt.date) -> None:
    lock_patient(session, load_patient(session, actor, patient_id).id)
    row = get_day(session, actor=actor, patient_id=patient_id, day=day)
    session.delete(row)
    audit(session, actor, "delete", "diary_day", row.id, patient_id=patient_id)
    units.refresh_around(session, patient_id=patient_id, day=day)


def list_days(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[DiaryDayRow], int]:
    patient = load_patient(session, actor, patient_id)
    window = {
        "pid": patient.id,
        "lo": start or dt.date.min,
        "hi": end or dt.date.max,
    }
    page = {**window, "limit": min(limit, MAX_PAGE), "offset": offset}
    found = session.execute(_PAGE_OF_DAYS, page).all()  # autoflushes pending changes first
    rows = [r[0] for r in found]
    if found:
        total = int(found[0][1])
    else:  # past the end (or nothing): only a count says how many there are
        total = (session.connection().scalar(_COUNT_DAYS, window) or 0) if offset else 0
    audit(session, actor, "read", "diary_days", patient_id=patient.id)
    return rows, total


# The diary list is the most frequent read: both statements are built once (bound values
# only), so SQLAlchemy reuses their compiled SQL without rebuilding a cache key each time, and
# the page carries the total (a window count, taken before LIMIT): one query, one round trip.
_IN_WINDOW = (
    DiaryDayRow.patient_id == bindparam("pid"),
    DiaryDayRow.day >= bindparam("lo"),
    DiaryDayRow.day <= bindparam("hi"),
)
_COUNT_DAYS = select(func.count(DiaryDayRow.id)).where(*_IN_WINDOW)
_PAGE_OF_DAYS = (
    select(DiaryDayRow, func.count().over().label("total"))
    .where(*_IN_WINDOW)
    .order_by(DiaryDayRow.day)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


# ---- attacks ------------------------------------------------------------------------------


def create_attack(session: Session, *, actor: Actor, patient_id: int, attack: Attack) -> AttackRow:
    patient = load_patient(session, actor, patient_id)
    check_not_future(attack.start.date(), patient.timezone, "start")
    lock_patient(session, patient.id)  # before any row: see lock_patient
    row = AttackRow(clinic_id=patient.clinic_id, patient_id=patient.id, version=1)
    fill_attack_row(row, attack, tz=patient.timezone)
    session.add(row)
    session.flush()
    audit(session, actor, "create", "attack", row.id, patient_id=patient.id)
    units.refresh_attack(session, row, created=True)
    safety.screen_attack_row(session, actor=actor, patient=patient, row=row, attack=attack)
    return row


def _attack_row(session: Session, actor: Actor, patient_id: int, attack_id: int) -> AttackRow:
    patient = load_patient(session, actor, patient_id)
    row = session.get(AttackRow, attack_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(f"attack {attack_id} not found")
    return row


def get_attack(session: Session, *, actor: Actor, patient_id: int, attack_id: int) -> AttackRow:
    row = _attack_row(session, actor, patient_id, attack_id)
    audit(session, actor, "read", "attack", row.id, patient_id=patient_id)
    return row


def update_attack(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    attack_id: int,
    attack: Attack,
    version: int | None,
) -> AttackRow:
    row = _attack_row(session, actor, patient_id, attack_id)
    if version is None:
        raise VersionRequired(f"send the version of the attack you read (now {row.version})")
    lock_patient(session, row.patient_id)
    lock_for_update(session, row)
    if row.version != version:
        raise Conflict(f"attack changed since version {version} (now {row.version})")
    patient = load_patient(session, actor, patient_id)
    check_not_future(attack.start.date(), patient.timezone, "start")
    fill_attack_row(row, attack, tz=patient.timezone)
    row.version += 1
    units.refresh_attack(session, row)
    audit(session, actor, "update", "attack", row.id, patient_id=patient_id)
    safety.screen_attack_row(session, actor=actor, patient=patient, row=row, attack=attack)
    return row


def delete_attack(session: Session, *, actor: Actor, patient_id: int, attack_id: int) -> None:
    row = _attack_row(session, actor, patient_id, attack_id)
    lock_patient(session, row.patient_id)
    session.delete(row)
    units.refresh_attack(session, row)
    audit(session, actor, "delete", "attack", attack_id, patient_id=patient_id)


def list_attacks(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AttackRow], int]:
    patient = load_patient(session, actor, patient_id)
    stmt = select(AttackRow).where(AttackRow.patient_id == patient.id)
    if start:
        stmt = stmt.where(AttackRow.start_local >= dt.datetime.combine(start, dt.time()))
    if end:
        stmt = stmt.where(
            AttackRow.start_local < dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        )
    order = (AttackRow.start_local, AttackRow.id)
    rows, total = page_of(session, stmt, *order, limit=limit, offset=offset)
    audit(session, actor, "read", "attacks", patient_id=patient.id)
    return rows, total


def list_medications(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[MedicationDoseRow], int]:
    patient = load_patient(session, actor, patient_id)
    stmt = select(MedicationDoseRow).where(MedicationDoseRow.patient_id == patient.id)
    if start:
        stmt = stmt.where(MedicationDoseRow.taken_day >= start)
    if end:
        stmt = stmt.where(MedicationDoseRow.taken_day <= end)
    order = (MedicationDoseRow.taken_day, MedicationDoseRow.id)
    rows, total = page_of(session, stmt, *order, limit=limit, offset=offset)
    audit(session, actor, "read", "medications", patient_id=patient.id)
    return rows, total


# ---- regimens -----------------------------------------------------------------------------


def create_regimen(
    session: Session, *, actor: Actor, patient_id: int, regimen: Regimen
) -> RegimenRow:
    require_staff(actor) if actor.role != Role.PATIENT else None
    patient = load_patient(session, actor, patient_id)
    if regimen.stop is not None and regimen.stop < regimen.start:
        raise ValidationError(FieldError("stop", "is before start"))
    row = RegimenRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        name=regimen.name,
        kind=regimen.kind.value,
        start=regimen.start,
        stop=regimen.stop,
        dose=regimen.dose,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "regimen", row.id, patient_id=patient.id)
    return row


def list_regimens(session: Session, *, actor: Actor, patient_id: int) -> list[RegimenRow]:
    patient = load_patient(session, actor, patient_id)
    audit(session, actor, "read", "regimens", patient_id=patient.id)
    return list(
        session.scalars(
            select(RegimenRow).where(RegimenRow.patient_id == patient.id).order_by(RegimenRow.start)
        )
    )


def delete_regimen(session: Session, *, actor: Actor, patient_id: int, regimen_id: int) -> None:
    patient = load_patient(session, actor, patient_id)
    row = session.get(RegimenRow, regimen_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(f"regimen {regimen_id} not found")
    session.delete(row)
    audit(session, actor, "delete", "regimen", regimen_id, patient_id=patient.id)


# ---- whole diary --------------------------------------------------------------------------


def load_diary(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Diary:
    """The patient's diary as the clinical engine reads it."""
    patient = load_patient(session, actor, patient_id)
    # Plain rows of the columns the domain reads, one query per table (children joined to
    # their attacks), not ORM objects: a three-year diary is thousands of rows, and building
    # and tracking an ORM object for each was most of a patient page's time
    # (benchmarks/page_render.py).
    day_filter = [DiaryDayRow.patient_id == patient.id]
    attack_filter = [AttackRow.patient_id == patient.id]
    if start:
        day_filter.append(DiaryDayRow.day >= start)
        # An attack that began the day before may run into the window.
        attack_filter.append(
            AttackRow.start_local >= dt.datetime.combine(start - dt.timedelta(days=3), dt.time())
        )
    if end:
        day_filter.append(DiaryDayRow.day <= end)
        attack_filter.append(
            AttackRow.start_local < dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        )
    days = session.execute(select(*DAY_COLUMNS).where(*day_filter).order_by(DiaryDayRow.day)).all()
    attacks = session.execute(
        select(*ATTACK_COLUMNS).where(*attack_filter).order_by(AttackRow.start_local, AttackRow.id)
    ).all()
    children: list[dict[int, list[Row[Any]]]] = []
    for columns, model, order in (
        (READING_COLUMNS, IntensityReadingRow, IntensityReadingRow.at_local),
        (AURA_COLUMNS, AuraSymptomRow, AuraSymptomRow.id),
        (MEDICATION_COLUMNS, MedicationDoseRow, MedicationDoseRow.id),
    ):
        by_attack: dict[int, list[Row[Any]]] = {}
        if attacks:
            stmt = (
                select(*columns)
                .join(AttackRow, AttackRow.id == model.attack_id)
                .where(*attack_filter)
                .order_by(model.attack_id, order, model.id)
            )
            for row in session.execute(stmt):
                by_attack.setdefault(row.attack_id, []).append(row)
        children.append(by_attack)
    readings, aura, meds = children
    none: list[Row[Any]] = []
    regimens = select(RegimenRow).where(RegimenRow.patient_id == patient.id)
    audit(session, actor, "read", "diary", patient_id=patient.id)
    return Diary(
        patient=patient_facts(patient),
        days=tuple(day_from_row(r) for r in days),
        attacks=tuple(
            attack_from_parts(
                r,
                readings.get(r.id, none),
                aura.get(r.id, none),
                meds.get(r.id, none),
                tz=patient.timezone,
            )
            for r in attacks
        ),
        regimens=tuple(regimen_from_row(r) for r in session.scalars(regimens)),
    )


def slice_diary(diary: Diary, start: dt.date | None, end: dt.date | None) -> Diary:
    """The part of an already loaded diary that :func:`load_diary` returns for ``start`` ..
    ``end`` (the same rules), so a page that needs the whole diary and a window of it reads
    the rows once."""
    days = diary.days
    attacks = diary.attacks
    if start:
        first = dt.datetime.combine(start - dt.timedelta(days=3), dt.time())
        days = tuple(d for d in days if d.date >= start)
        attacks = tuple(a for a in attacks if a.start >= first)
    if end:
        stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        days = tuple(d for d in days if d.date <= end)
        attacks = tuple(a for a in attacks if a.start < stop)
    return replace(diary, days=days, attacks=attacks)


def import_document(
    session: Session,
    *,
    actor: Actor,
    doc: DiaryDocument,
    patient_id: int | None = None,
) -> tuple[Patient, dict[str, int]]:
    """Merge a parsed document into a patient's diary, inside the caller's transaction
    (``services.imports``: what a document leaves out keeps its stored value)."""
    from acuhead.services import imports

    return imports.write_import(
        session, actor=actor, prepared=imports.PreparedImport.of(doc), patient_id=patient_id
    )


def export_document(session: Session, *, actor: Actor, patient_id: int) -> dict[str, Any]:
    patient = load_patient(session, actor, patient_id)
    diary = load_diary(session, actor=actor, patient_id=patient.id)
    audit(session, actor, "export", "diary", patient_id=patient.id)
    extras = care_documents.export_care(session, patient=patient)  # sessions, course (issue 4)
    from acuhead.services import imports  # questionnaires, assessment (issue 13 item 9)

    extras.update(imports.export_extras(session, patient))
    doc = to_document(
        external_id=patient.external_id, diary=diary, name=patient.display_name, extras=extras
    )
    # The contact details the clinic keeps belong to the data subject's copy too.
    contact = contact_of(session, patient.id)
    if contact is not None:
        doc["patient"]["contact"] = contact
    return doc


def attack_rows_to_domain(rows: Sequence[AttackRow]) -> list[Attack]:
    return [attack_from_row(r) for r in rows]
