"""Appointment use cases: book, move, cancel, link the session, and the day and week lists.

Access (services/actors.py): staff of the clinic book, move and cancel, and see every
practitioner's list; a patient sees only their own appointments (another's answers NotFound,
as every record does). Every change is audited (ids and verbs, never the note).

Two bookings that overlap for one practitioner must not both succeed, whatever the timing.
The overlap test reads the practitioner's other slots and then inserts: under READ COMMITTED
two transactions could both read "free" and both insert. So on PostgreSQL every booking or
move first locks the practitioner's ``users`` row (``SELECT ... FOR NO KEY UPDATE``); the second
booking waits, then reads the first one's committed slot and is refused. SQLite admits one
writer at a time (``BEGIN IMMEDIATE``), which serialises them already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from acuhead.domain import appointments as rules
from acuhead.errors import Conflict, FieldError, NotFound, ValidationError, VersionRequired
from acuhead.services import clinics
from acuhead.services.actors import Actor, Role, load_patient, require_admin, require_staff
from acuhead.store.audit import audit
from acuhead.store.models import (
    AppointmentRow,
    Clinic,
    Patient,
    TreatmentSessionRow,
    User,
)

Status = rules.Status


def _naive_utc(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(utc: dt.datetime) -> dt.datetime:
    return utc.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """One appointment as pages, the API and the feed read it (times aware, clinic zone)."""

    id: int
    patient_id: int
    patient_label: str
    external_id: str
    practitioner_id: int
    practitioner_name: str
    start: dt.datetime
    end: dt.datetime
    duration_min: int
    timezone: str
    note: str
    status: str
    session_id: int | None
    version: int

    @property
    def local_day(self) -> dt.date:
        return self.start.date()

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "practitioner_id": self.practitioner_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "duration_min": self.duration_min,
            "timezone": self.timezone,
            "note": self.note,
            "status": self.status,
            "session_id": self.session_id,
            "version": self.version,
        }


def clinic_zone(session: Session, clinic_id: int) -> str:
    """The clinic's zone: the one rule in ``services.clinics.clinic_zone``."""
    return clinics.clinic_zone(session, clinic_id)


def clinic_today(session: Session, clinic_id: int, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the clinic's zone (``now``: an aware instant, for tests)."""
    tz = clinic_zone(session, clinic_id)
    return rules.local_day(now or dt.datetime.now(dt.UTC), tz)


def _practitioner(session: Session, actor: Actor, practitioner_id: int) -> User:
    """A practitioner or admin of the actor's clinic (the one whose diary the slot is in)."""
    user = session.get(User, practitioner_id)
    if (
        user is None
        or user.clinic_id != actor.clinic_id
        or user.role not in (Role.PRACTITIONER.value, Role.ADMIN.value)
    ):
        raise ValidationError(
            FieldError("practitioner_id", "no practitioner of this clinic has this id")
        )
    if not user.active:
        raise ValidationError(FieldError("practitioner_id", "this account is deactivated"))
    return user


def _lock_practitioners(session: Session, ids: Sequence[int]) -> None:
    """Serialise bookings per practitioner (module docstring); ids in order, so two moves
    between the same two practitioners cannot deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # FOR NO KEY UPDATE: two bookings for one practitioner wait for each other, but rows that
    # merely reference the user (audit rows, sessions: FOR KEY SHARE) are not held up.
    for pid in sorted(set(ids)):
        session.execute(select(User.id).where(User.id == pid).with_for_update(key_share=True))


def _booked_slots(session: Session, practitioner_id: int, around: rules.Slot) -> list[rules.Slot]:
    """The practitioner's booked slots that could overlap ``around`` (a slot lasts at most
    ``MAX_DURATION``, so earlier starts than that cannot reach it)."""
    lo = _naive_utc(around.start) - dt.timedelta(minutes=rules.MAX_DURATION)
    hi = _naive_utc(around.end)
    rows = session.execute(
        select(AppointmentRow.id, AppointmentRow.start_utc, AppointmentRow.duration_min).where(
            AppointmentRow.practitioner_id == practitioner_id,
            AppointmentRow.status == Status.BOOKED.value,
            AppointmentRow.start_utc >= lo,
            AppointmentRow.start_utc < hi,
        )
    )
    return [rules.Slot(_aware(start), minutes, aid) for aid, start, minutes in rows]


def book(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    practitioner_id: int,
    start: dt.datetime,
    duration_min: int,
    note: str = "",
) -> AppointmentRow:
    """Book a slot (``start`` aware, or naive: the clinic's wall-clock time); refused (422,
    naming the clashing slot) if it overlaps another booked appointment of the practitioner."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    tz = clinic_zone(session, actor.clinic_id)
    start = rules.instant_in(start, tz)
    rules.check_duration(duration_min)
    rules.check_note(note)
    _practitioner(session, actor, practitioner_id)
    _lock_practitioners(session, [practitioner_id])
    slot = rules.Slot(start, duration_min)
    rules.refuse_overlap(slot, _booked_slots(session, practitioner_id, slot), tz)
    row = AppointmentRow(
        clinic_id=actor.clinic_id,
        patient_id=patient.id,
        practitioner_id=practitioner_id,
        start_utc=_naive_utc(start),
        end_utc=_naive_utc(slot.end),
        duration_min=duration_min,
        timezone=tz,
        note=note,
        status=Status.BOOKED.value,
        created_by=actor.user_id,
        version=1,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "appointment", row.id, patient_id=patient.id)
    return row


def _row(session: Session, actor: Actor, appointment_id: int) -> AppointmentRow:
    row = session.get(AppointmentRow, appointment_id)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFound(f"appointment {appointment_id} not found")
    if actor.role == Role.PATIENT and actor.patient_id != row.patient_id:
        raise NotFound(f"appointment {appointment_id} not found")
    return row


def _check_version(row: AppointmentRow, version: int | None) -> None:
    if version is None:
        raise VersionRequired(f"send the version of the appointment you read (now {row.version})")
    if version != row.version:
        raise Conflict(
            f"the appointment was changed meanwhile (version {row.version}, you sent {version});"
            " reload it"
        )


def move(
    session: Session,
    *,
    actor: Actor,
    appointment_id: int,
    version: int | None,
    start: dt.datetime,
    duration_min: int | None = None,
    practitioner_id: int | None = None,
) -> AppointmentRow:
    """Move a booked slot (and optionally change its length or practitioner); the version
    read must still be current (428 without, 409 if changed)."""
    require_staff(actor)
    row = _row(session, actor, appointment_id)
    start = rules.instant_in(start, row.timezone)
    minutes = rules.check_duration(duration_min if duration_min is not None else row.duration_min)
    target = practitioner_id if practitioner_id is not None else row.practitioner_id
    if practitioner_id is not None:
        _practitioner(session, actor, practitioner_id)
    _lock_practitioners(session, [target, row.practitioner_id])
    session.refresh(row)  # the version check below reads what was committed before the lock
    _check_version(row, version)
    if row.status != Status.BOOKED.value:
        raise ValidationError(FieldError("status", "a cancelled appointment cannot be moved"))
    slot = rules.Slot(start, minutes, row.id)
    rules.refuse_overlap(slot, _booked_slots(session, target, slot), row.timezone)
    row.start_utc = _naive_utc(start)
    row.end_utc = _naive_utc(slot.end)
    row.duration_min = minutes
    row.practitioner_id = target
    row.version += 1
    session.flush()
    audit(session, actor, "update", "appointment", row.id, patient_id=row.patient_id)
    return row


def cancel(
    session: Session, *, actor: Actor, appointment_id: int, version: int | None
) -> AppointmentRow:
    """Cancel a slot (kept, marked cancelled: the day list and the audit trail still show
    it was booked); its time is free again."""
    require_staff(actor)
    row = _row(session, actor, appointment_id)
    _check_version(row, version)
    if row.status == Status.CANCELLED.value:
        return row
    row.status = Status.CANCELLED.value
    row.version += 1
    session.flush()
    audit(session, actor, "cancel", "appointment", row.id, patient_id=row.patient_id)
    return row


def link_session(
    session: Session, *, actor: Actor, appointment_id: int, version: int | None, session_id: int
) -> AppointmentRow:
    """Link the treatment session recorded from this appointment (same patient only)."""
    require_staff(actor)
    row = _row(session, actor, appointment_id)
    _check_version(row, version)
    treatment = session.get(TreatmentSessionRow, session_id)
    if treatment is None or treatment.clinic_id != actor.clinic_id:
        raise ValidationError(FieldError("session_id", "no session of this clinic has this id"))
    if treatment.patient_id != row.patient_id:
        raise ValidationError(FieldError("session_id", "the session belongs to another patient"))
    row.session_id = treatment.id
    row.version += 1
    session.flush()
    audit(session, actor, "update", "appointment", row.id, patient_id=row.patient_id)
    return row


# ---- reading ------------------------------------------------------------------------------


def _views(session: Session, rows: Sequence[AppointmentRow]) -> list[AppointmentView]:
    """Views with patient and practitioner names, from two batched lookups."""
    pids = {r.patient_id for r in rows}
    uids = {r.practitioner_id for r in rows}
    patients = (
        {
            pid: (ext, name)
            for pid, ext, name in session.execute(
                select(Patient.id, Patient.external_id, Patient.display_name).where(
                    Patient.id.in_(pids)
                )
            )
        }
        if pids
        else {}
    )
    names = (
        dict(session.execute(select(User.id, User.name).where(User.id.in_(uids))).tuples().all())
        if uids
        else {}
    )
    out = []
    for r in rows:
        z = rules.zone(r.timezone)
        ext, display = patients.get(r.patient_id, ("", ""))
        start = _aware(r.start_utc).astimezone(z)
        out.append(
            AppointmentView(
                id=r.id,
                patient_id=r.patient_id,
                patient_label=display or ext,
                external_id=ext,
                practitioner_id=r.practitioner_id,
                practitioner_name=names.get(r.practitioner_id, ""),
                start=start,
                end=_aware(r.end_utc).astimezone(z),
                duration_min=r.duration_min,
                timezone=r.timezone,
                note=r.note,
                status=r.status,
                session_id=r.session_id,
                version=r.version,
            )
        )
    return out


def get(session: Session, *, actor: Actor, appointment_id: int) -> AppointmentView:
    row = _row(session, actor, appointment_id)
    audit(session, actor, "read", "appointment", row.id, patient_id=row.patient_id)
    return _views(session, [row])[0]


def between(
    session: Session,
    *,
    actor: Actor,
    start_day: dt.date,
    days: int,
    practitioner_id: int | None = None,
    include_cancelled: bool = False,
) -> list[AppointmentView]:
    """The clinic's appointments on ``days`` clinic-local days from ``start_day`` (staff),
    earliest first; ``practitioner_id``: only that practitioner's."""
    require_staff(actor)
    rules.check_day(start_day)
    tz = clinic_zone(session, actor.clinic_id)
    lo, _ = rules.day_bounds(start_day, tz)
    _, hi = rules.day_bounds(start_day + dt.timedelta(days=days - 1), tz)
    stmt = select(AppointmentRow).where(
        AppointmentRow.clinic_id == actor.clinic_id,
        AppointmentRow.start_utc >= _naive_utc(lo),
        AppointmentRow.start_utc < _naive_utc(hi),
    )
    if practitioner_id is not None:
        stmt = stmt.where(AppointmentRow.practitioner_id == practitioner_id)
    if not include_cancelled:
        stmt = stmt.where(AppointmentRow.status == Status.BOOKED.value)
    rows = session.scalars(stmt.order_by(AppointmentRow.start_utc, AppointmentRow.id)).all()
    audit(session, actor, "read", "appointments")
    return _views(session, rows)


def day(
    session: Session,
    *,
    actor: Actor,
    day: dt.date,
    practitioner_id: int | None = None,
    include_cancelled: bool = False,
) -> list[AppointmentView]:
    return between(
        session,
        actor=actor,
        start_day=day,
        days=1,
        practitioner_id=practitioner_id,
        include_cancelled=include_cancelled,
    )


def week(
    session: Session, *, actor: Actor, day: dt.date, practitioner_id: int | None = None
) -> dict[dt.date, list[AppointmentView]]:
    """Monday to Sunday around ``day``, each clinic-local day with its appointments."""
    days = rules.week_of(day)
    found = between(
        session, actor=actor, start_day=days[0], days=7, practitioner_id=practitioner_id
    )
    out: dict[dt.date, list[AppointmentView]] = {d: [] for d in days}
    for a in found:
        out.setdefault(a.local_day, []).append(a)
    return out


def for_patient(
    session: Session, *, actor: Actor, patient_id: int, since: dt.datetime | None = None
) -> list[AppointmentView]:
    """One patient's appointments (staff of the clinic, or the patient themselves)."""
    patient = load_patient(session, actor, patient_id)
    stmt = select(AppointmentRow).where(AppointmentRow.patient_id == patient.id)
    if since is not None:
        stmt = stmt.where(AppointmentRow.start_utc >= _naive_utc(since))
    rows = session.scalars(stmt.order_by(AppointmentRow.start_utc)).all()
    audit(session, actor, "read", "appointments", patient_id=patient.id)
    return _views(session, rows)


def practitioners(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    """The clinic's active staff who can hold appointments, by name."""
    require_staff(actor)
    rows = session.execute(
        select(User.id, User.name)
        .where(
            User.clinic_id == actor.clinic_id,
            User.role.in_([Role.PRACTITIONER.value, Role.ADMIN.value]),
            User.active.is_(True),
        )
        .order_by(User.role.desc(), User.name)
    )
    return [(uid, name) for uid, name in rows]


def set_clinic_zone(session: Session, *, actor: Actor, timezone: str) -> None:
    """The clinic's zone for appointments and the day list (admins)."""
    require_admin(actor)
    rules.zone(timezone)
    clinic = session.get(Clinic, actor.clinic_id)
    assert clinic is not None
    clinic.timezone = timezone
    # Appointments are instants: they keep their time; the ones to come are shown, listed
    # and reminded in the new zone (past ones keep the zone they were held in).
    session.execute(
        update(AppointmentRow)
        .where(
            AppointmentRow.clinic_id == clinic.id,
            AppointmentRow.start_utc >= _naive_utc(dt.datetime.now(dt.UTC)),
        )
        .values(timezone=timezone)
    )
    audit(session, actor, "update", "clinic", clinic.id)


def session_candidates(
    session: Session, *, actor: Actor, views: Sequence[AppointmentView]
) -> dict[int, list[tuple[int, dt.datetime]]]:
    """For each booked appointment without a linked session: the sessions recorded for its
    patient on its clinic day that no appointment links yet (id, start in the clinic zone),
    so the day view can offer "link the session recorded at 10:05". One query."""
    require_staff(actor)
    open_ = [v for v in views if v.status == Status.BOOKED.value and v.session_id is None]
    if not open_:
        return {}
    bounds = {v.id: rules.day_bounds(v.local_day, v.timezone) for v in open_}
    lo = min(b[0] for b in bounds.values())
    hi = max(b[1] for b in bounds.values())
    linked = select(AppointmentRow.session_id).where(AppointmentRow.session_id.is_not(None))
    rows = session.execute(
        select(
            TreatmentSessionRow.id, TreatmentSessionRow.patient_id, TreatmentSessionRow.start_utc
        ).where(
            TreatmentSessionRow.clinic_id == actor.clinic_id,
            TreatmentSessionRow.patient_id.in_({v.patient_id for v in open_}),
            TreatmentSessionRow.start_utc >= _naive_utc(lo),
            TreatmentSessionRow.start_utc < _naive_utc(hi),
            TreatmentSessionRow.id.not_in(linked),
        )
    ).all()
    out: dict[int, list[tuple[int, dt.datetime]]] = {}
    for v in open_:
        day_lo, day_hi = bounds[v.id]
        z = rules.zone(v.timezone)
        for sid, pid, start in rows:
            at = _aware(start)
            if pid == v.patient_id and day_lo <= at < day_hi:
                out.setdefault(v.id, []).append((sid, at.astimezone(z)))
    return out
