"""Patients and their diary: days, attacks (with readings, aura, medication), regimens.

Every function takes the acting user and checks tenant and role before touching a row, and
writes an audit event in the same transaction as the change (or the read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from acuhead.domain import instruments
from acuhead.domain.diary import (
    Attack,
    Diary,
    DiaryDay,
    IntensityReading,
    MedClass,
    Regimen,
    SafetyProfile,
    Sex,
)
from acuhead.errors import Conflict, FieldError, NotFound, ValidationError, VersionRequired
from acuhead.interop.document import to_document
from acuhead.services import care_documents, safety
from acuhead.services.actors import Actor, Role, load_patient, require_staff
from acuhead.store import day_units as units
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
    AssessmentRow,
    AttackRow,
    AuraSymptomRow,
    DiaryDayRow,
    IntensityReadingRow,
    MedicationDoseRow,
    Patient,
    PatientAppSettings,
    QuestionnaireRow,
    RedFlagAlertRow,
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


def export_document(session: Session, *, actor: Actor, patient_id: int) -> dict[str, Any]:
    patient = load_patient(session, actor, patient_id)
    diary = load_diary(session, actor=actor, patient_id=patient.id)
    audit(session, actor, "export", "diary", patient_id=patient.id)
    extras = care_documents.export_care(session, patient=patient)  # sessions, course (issue 4)
    extras.update(export_extras(session, patient))  # questionnaires, assessment (issue 13 item 9)
    doc = to_document(
        external_id=patient.external_id, diary=diary, name=patient.display_name, extras=extras
    )
    # The contact details the clinic keeps belong to the data subject's copy too.
    contact = contact_of(session, patient.id)
    if contact is not None:
        doc["patient"]["contact"] = contact
    return doc


# ---- the patient app's quick path (issue 14) -------------------------------------------------

# An attack with no end is "ongoing" for this long after it began: untreated migraine lasts
# 4-72 h (CLINICAL.md 1.1, ICHD-3 1.1 B). One left open longer is an incomplete record, shown
# in the diary for details, not as the attack the patient is in now.
ONGOING_HOURS = 72
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = dt.timedelta(minutes=10)


def local_moment(instant: dt.datetime | None, tz: str) -> dt.datetime:
    """``instant`` (aware; None for now) as the patient's naive wall-clock time, keeping the
    ``fold`` of a repeated autumn hour so elapsed time stays right."""
    now = dt.datetime.now(dt.UTC)
    moment = now if instant is None else instant
    if moment.tzinfo is None:
        raise ValidationError(FieldError("started", "needs a time zone offset"))
    if moment > now + CLOCK_SKEW:
        raise ValidationError(FieldError("started", "is in the future"))
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def start_attack_now(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    started: dt.datetime | None = None,
    intensity: int | None = None,
) -> AttackRow:
    """ "Migraine now": an attack that began at ``started`` (the tap, possibly made offline and
    sent later; None: now), with no end and no features. Nothing is invented: without
    ``intensity`` there is no pain rating, and the day's migraine status stays uncertain
    until the details come (CLINICAL.md 0.4: what is not recorded is unknown, not "no").
    With it, the rating is a reading at the tap, not a "worst" value."""
    patient = load_patient(session, actor, patient_id)
    start = local_moment(started, patient.timezone)
    readings = () if intensity is None else (IntensityReading(start, _score(intensity)),)
    row = create_attack(
        session, actor=actor, patient_id=patient.id, attack=Attack(start=start, readings=readings)
    )
    # A day entered as "no headache" earlier that day is not one any more: the diary never
    # holds an attack on a day it says was free (the day form refuses the same).
    day = session.scalars(_DAY_ROW_LOCKED, {"pid": patient.id, "day": start.date()}).first()
    if day is not None and day.headache is False:
        day.headache = True
        day.version += 1
        day.recorded_utc = utcnow()
        session.flush()
        audit(session, actor, "update", "diary_day", day.id, patient_id=patient.id)
        units.refresh_around(session, patient_id=patient.id, day=day.day, entry=day)
    return row


def _score(value: int) -> int:
    if not 0 <= value <= 10:
        raise ValidationError(FieldError("intensity", "must be between 0 and 10"))
    return value


def ongoing_attack(
    session: Session, *, actor: Actor, patient_id: int, now: dt.datetime | None = None
) -> AttackRow | None:
    """The latest attack without an end or a length that began within ``ONGOING_HOURS``."""
    patient = load_patient(session, actor, patient_id)
    local_now = local_moment(now, patient.timezone)
    return session.scalars(
        select(AttackRow)
        .where(
            AttackRow.patient_id == patient.id,
            AttackRow.end_local.is_(None),
            AttackRow.duration_min.is_(None),
            AttackRow.start_local >= local_now - dt.timedelta(hours=ONGOING_HOURS),
            AttackRow.start_local <= local_now + CLOCK_SKEW,
        )
        .order_by(AttackRow.start_local.desc(), AttackRow.id.desc())
        .limit(1)
    ).first()


def revise_attack(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    attack_id: int,
    version: int | None,
    change: Callable[[Attack, str], Attack],
) -> AttackRow:
    """Apply ``change(attack, zone)`` to a stored attack, at the version the client read (428
    without, 409 if it changed since), through :func:`update_attack` (day units and the
    safety screen follow)."""
    row = _attack_row(session, actor, patient_id, attack_id)
    if version is None:
        raise VersionRequired(f"send the version of the attack you read (now {row.version})")
    patient = load_patient(session, actor, patient_id)
    lock_patient(session, patient.id)
    lock_for_update(session, row)
    if row.version != version:
        raise Conflict(f"attack changed since version {version} (now {row.version})")
    current = attack_from_row(row, tz=patient.timezone)
    return update_attack(
        session,
        actor=actor,
        patient_id=patient_id,
        attack_id=attack_id,
        attack=change(current, patient.timezone),
        version=version,
    )


def usual_medications(
    session: Session, *, actor: Actor, patient_id: int, limit: int = 4
) -> list[tuple[str, MedClass]]:
    """The acute medicines this patient took most often (name and class), most frequent first:
    offered first when they log a dose during an attack."""
    patient = load_patient(session, actor, patient_id)
    used = func.count(MedicationDoseRow.id)
    rows = session.execute(
        select(MedicationDoseRow.name, MedicationDoseRow.med_class, used)
        .where(MedicationDoseRow.patient_id == patient.id)
        .group_by(MedicationDoseRow.name, MedicationDoseRow.med_class)
        .order_by(used.desc(), MedicationDoseRow.name)
        .limit(limit)
    ).all()
    return [(r.name, MedClass(r.med_class)) for r in rows]


def reminder_minute(session: Session, *, actor: Actor, patient_id: int) -> tuple[int | None, int]:
    """The patient's chosen reminder time (minutes after local midnight, None: default) and
    the version of that choice (0 before any)."""
    patient = load_patient(session, actor, patient_id)
    row = session.scalars(
        select(PatientAppSettings).where(PatientAppSettings.patient_id == patient.id)
    ).first()
    return (None, 0) if row is None else (row.reminder_minute, row.version)


def set_reminder_minute(
    session: Session, *, actor: Actor, patient_id: int, minute: int | None, version: int | None
) -> int:
    """Choose when the e-mail diary reminder may come (``services.reminders``); returns the
    new version. ``version``: the one read (0 before any choice); 409 if it changed."""
    patient = load_patient(session, actor, patient_id)
    if minute is not None and not 0 <= minute < 24 * 60:
        raise ValidationError(FieldError("reminder_time", "must be a time of day"))
    lock_patient(session, patient.id)
    row = session.scalars(
        select(PatientAppSettings)
        .where(PatientAppSettings.patient_id == patient.id)
        .with_for_update()
    ).first()
    current = 0 if row is None else row.version
    if version is None:
        raise VersionRequired(f"send the version of the settings you read (now {current})")
    if version != current:
        raise Conflict(f"the settings changed since version {version} (now {current})")
    if row is None:
        row = PatientAppSettings(clinic_id=patient.clinic_id, patient_id=patient.id, version=0)
        session.add(row)
    row.reminder_minute = minute
    row.version = current + 1
    session.flush()
    audit(session, actor, "update", "patient_app_settings", row.id, patient_id=patient.id)
    return row.version


# ---- what a diary document carries beyond the diary (issue 13 item 9) ------------------------


def practitioner_signs(row: AssessmentRow) -> list[str]:
    return [str(s["sign"]) for s in row.signs or [] if s.get("source") != "diary"]


def latest_assessment(session: Session, patient_id: int) -> AssessmentRow | None:
    return session.scalars(
        select(AssessmentRow)
        .where(AssessmentRow.patient_id == patient_id)
        .order_by(AssessmentRow.created_utc.desc(), AssessmentRow.id.desc())
    ).first()


def export_extras(session: Session, patient: Patient) -> dict[str, Any]:
    """The document's ``questionnaires`` (what was answered, to be scored again on import),
    ``assessment`` (the latest one's findings) and ``red_flags`` (the latest intake screen)
    blocks; an empty block is left out."""
    out: dict[str, Any] = {}
    rows = session.scalars(
        select(QuestionnaireRow)
        .where(QuestionnaireRow.patient_id == patient.id)
        .order_by(QuestionnaireRow.completed_on, QuestionnaireRow.id)
    )
    entries = []
    for r in rows:
        entry: dict[str, Any] = {
            "instrument": r.instrument,
            "completed_on": r.completed_on.isoformat(),
        }
        items, recorded = instruments.get(r.instrument).split(r.answers or {})
        if r.total_entered:
            entry["total"] = int(r.total)
        else:
            entry["items"] = items or []
        entry.update(recorded)
        entries.append(entry)
    if entries:
        out["questionnaires"] = entries
    latest = latest_assessment(session, patient.id)
    if latest is not None:
        block: dict[str, Any] = {
            "locations": list(latest.locations or []),
            "signs": practitioner_signs(latest),
            "tongue": latest.tongue or "",
            "pulse": latest.pulse or "",
        }
        if latest.confirmed_pattern:
            block["confirmed_pattern"] = latest.confirmed_pattern
        out["assessment"] = block
    # The latest SNNOOP10 intake screen (CLINICAL.md 2), so an import records it again.
    # Clearances are never written: an import refuses them, so the new record reviews again.
    screen = safety.latest_screen(session, patient.id)
    if screen is not None:
        onset = screen.first_headache_onset
        out["red_flags"] = {
            "screened_on": screen.screened_on.isoformat(),
            "answers": {k: bool(v) for k, v in (screen.answers or {}).items()},
            "first_headache_onset": onset.isoformat() if onset else None,
        }
        # The screen's notes live with the alert its "yes" answers opened (if any).
        alert = session.get(RedFlagAlertRow, screen.alert_id) if screen.alert_id else None
        notes = next(
            (str(f["note"]) for f in (alert.findings if alert else []) if f.get("note")), ""
        )
        if notes:
            out["red_flags"]["notes"] = notes
    return out


def attack_rows_to_domain(rows: Sequence[AttackRow]) -> list[Attack]:
    return [attack_from_row(r) for r in rows]
