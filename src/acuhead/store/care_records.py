"""Treatment sessions, their adverse events and courses in the store.

Shared by the care use cases (``services.care``) and the diary document's import and export
(``services.care_documents``), so a session is written the same way whichever edge it came
from. Access checks, audit and parsing stay with the callers: this module reads and writes rows.

A session row keeps the whole STRICTA record (``session_as_dict``) in ``record`` and, beside it,
the columns the outcome analytics read: start (UTC and the patient's local time), pain before and
after. Each adverse event is also a row (type, severity, serious, action taken) so a clinic's
serious events can be listed without reading every record (CLINICAL.md 6 extras, 7.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from acuhead.domain.sessions import (
    EarlierVersion,
    SessionRecord,
    TreatmentCourse,
    session_as_dict,
    validate_session,
)
from acuhead.errors import FieldError, ValidationError
from acuhead.store.block_aggregates import rebuild_patient
from acuhead.store.db import lock_patient
from acuhead.store.mapping import to_utc
from acuhead.store.models import (
    AdverseEventRow,
    CourseRow,
    Patient,
    SessionVersionRow,
    TreatmentSessionRow,
    utcnow,
)


def session_record(row: TreatmentSessionRow) -> SessionRecord:
    """The stored STRICTA record as a value (it was validated when written)."""
    return validate_session(row.record)


def course_value(row: CourseRow) -> TreatmentCourse:
    return TreatmentCourse(
        planned_sessions=row.planned_sessions,
        sessions_per_week=row.sessions_per_week or 0.0,
        start=row.start_date,
    )


def write_session_row(
    session: Session,
    *,
    patient: Patient,
    record: SessionRecord,
    practitioner_id: int | None,
    course_id: int | None = None,
    prescription_id: int | None = None,
    row: TreatmentSessionRow | None = None,
) -> TreatmentSessionRow:
    """Create (or overwrite) a session row and replace its adverse-event rows.

    ``record.start`` must already be the patient's local wall-clock time (naive).
    """
    if record.start is None:  # pragma: no cover - callers check and locate the error
        raise ValidationError(FieldError("start", "is required"))
    # The session may move the outcome anchor, and the windows are then summed again from the
    # day units: queue behind a diary write of this patient still in its transaction, as diary
    # writers do, or its day is summed under no anchor by one and left out by the other.
    lock_patient(session, patient.id)
    if row is None:
        row = TreatmentSessionRow(clinic_id=patient.clinic_id, patient_id=patient.id, version=1)
        session.add(row)
    else:
        row.version += 1
    row.course_id = course_id
    row.prescription_id = prescription_id
    row.practitioner_id = practitioner_id
    row.start_local = record.start
    row.start_utc = to_utc(record.start, patient.timezone)
    row.pain_before = record.pain_before
    row.pain_after = record.pain_after
    row.record = session_as_dict(record)
    session.flush()
    session.execute(delete(AdverseEventRow).where(AdverseEventRow.session_id == row.id))
    for event in record.adverse_events:
        session.add(
            AdverseEventRow(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                session_id=row.id,
                type=event.type.value,
                severity=event.severity.value,
                serious=event.serious,
                action_taken=event.action_taken,
            )
        )
    session.flush()
    # The first session is the outcome anchor: the patient's windows may have moved (issue 17).
    rebuild_patient(session, patient.id)
    return row


def keep_version(session: Session, row: TreatmentSessionRow, *, changed_by: int | None) -> None:
    """Keep the session as it is now in ``session_versions`` before a correction replaces it
    (an edit or an import): a clinical record is corrected, never rewritten without trace."""
    session.add(
        SessionVersionRow(
            clinic_id=row.clinic_id,
            patient_id=row.patient_id,
            session_id=row.id,
            version=row.version,
            start_local=row.start_local,
            course_id=row.course_id,
            prescription_id=row.prescription_id,
            record=dict(row.record or {}),
            changed_by=changed_by,
        )
    )


def latest_course(session: Session, patient_id: int) -> CourseRow | None:
    return session.scalars(
        select(CourseRow)
        .where(CourseRow.patient_id == patient_id)
        .order_by(CourseRow.start_date.desc(), CourseRow.id.desc())
    ).first()


@dataclass(frozen=True, slots=True)
class CareMerged:
    """What :func:`merge_care` wrote: the course row (if the document had a course) and how
    many sessions."""

    course_id: int | None
    sessions: int


def merge_care(
    session: Session,
    *,
    patient: Patient,
    sessions: Sequence[SessionRecord],
    course: TreatmentCourse | None,
    practitioner_id: int | None,
    changed_by: int | None = None,
) -> CareMerged:
    """Merge parsed sessions and a course into the patient's record.

    A session at a stored session's local start (its identity, as for attacks) corrects that
    session the way an edit does (``services.care.update_treatment_session``): a different
    record keeps the stored one as its next earlier version and takes its place; the same
    record changes nothing. The stored history, practitioner and prescription link stay, so
    an import never loses what the record held (issue 13). The course is matched by its start
    date; sessions on or after the course start are linked to it.
    """
    course_row: CourseRow | None = None
    if course is not None:
        course_row = session.scalars(
            select(CourseRow).where(
                CourseRow.patient_id == patient.id, CourseRow.start_date == course.start
            )
        ).first()
        if course_row is None:
            course_row = CourseRow(clinic_id=patient.clinic_id, patient_id=patient.id)
            session.add(course_row)
        course_row.planned_sessions = course.planned_sessions
        course_row.sessions_per_week = course.sessions_per_week
        course_row.start_date = course.start
        session.flush()
    starts = [s.start for s in sessions if s.start is not None]
    stored = (
        {
            row.start_local: row
            for row in session.scalars(
                select(TreatmentSessionRow).where(
                    TreatmentSessionRow.patient_id == patient.id,
                    TreatmentSessionRow.start_local.in_(starts),
                )
            )
        }
        if starts
        else {}
    )
    for record in sessions:
        assert record.start is not None  # parse_care refuses a session without a start
        linked = (
            course_row.id
            if course_row is not None and record.start.date() >= course_row.start_date
            else None
        )
        row = stored.get(record.start)
        if row is None:
            write_session_row(
                session,
                patient=patient,
                record=record,
                practitioner_id=practitioner_id,
                course_id=linked,
            )
            continue
        if course_row is None:
            linked = row.course_id  # a file without a course leaves the link as it is
        if session_as_dict(record) == row.record:
            row.course_id = linked
            continue
        keep_version(session, row, changed_by=changed_by)
        write_session_row(
            session,
            patient=patient,
            record=record,
            practitioner_id=practitioner_id if practitioner_id is not None else row.practitioner_id,
            course_id=linked,
            prescription_id=row.prescription_id,
            row=row,
        )
    session.flush()
    return CareMerged(course_row.id if course_row is not None else None, len(sessions))


def care_of(
    session: Session, *, patient: Patient
) -> tuple[list[SessionRecord], TreatmentCourse | None]:
    """The patient's sessions (in order, at their local start) and latest course."""
    rows = session.scalars(
        select(TreatmentSessionRow)
        .where(TreatmentSessionRow.patient_id == patient.id)
        .order_by(TreatmentSessionRow.start_local, TreatmentSessionRow.id)
    )
    records = [replace(session_record(r), start=r.start_local) for r in rows]
    course = latest_course(session, patient.id)
    return records, course_value(course) if course is not None else None


def earlier_versions(session: Session, *, patient: Patient) -> list[EarlierVersion]:
    """The kept versions of the patient's corrected sessions, each named by its session's
    current start (the session's identity in a document)."""
    rows = session.execute(
        select(TreatmentSessionRow.start_local, SessionVersionRow)
        .join(SessionVersionRow, SessionVersionRow.session_id == TreatmentSessionRow.id)
        .where(TreatmentSessionRow.patient_id == patient.id)
        .order_by(TreatmentSessionRow.start_local, SessionVersionRow.version)
    )
    return [
        EarlierVersion(
            start=start,
            version=v.version,
            changed_utc=v.changed_utc,
            record=replace(validate_session(v.record), start=v.start_local),
        )
        for start, v in rows
    ]


def restore_versions(
    session: Session, *, patient: Patient, versions: Sequence[EarlierVersion]
) -> int:
    """Keep ``versions`` (a document's ``session_versions``, in document order) for the
    patient's sessions at their ``start`` (just merged by :func:`merge_care`), and number each
    session after its last earlier version, as a correction does. A version the session
    already keeps with the same record is not written twice (a file exported from this record
    comes back unchanged); one that contradicts a kept version is refused with its path, and
    the caller's transaction writes nothing. Returns how many versions were added."""
    if not versions:
        return 0
    starts = {v.start for v in versions}
    rows = {
        r.start_local: r
        for r in session.scalars(
            select(TreatmentSessionRow).where(
                TreatmentSessionRow.patient_id == patient.id,
                TreatmentSessionRow.start_local.in_(starts),
            )
        )
    }
    kept = {
        (v.session_id, v.version): v
        for v in session.scalars(
            select(SessionVersionRow).where(
                SessionVersionRow.session_id.in_([r.id for r in rows.values()])
            )
        )
    }
    added = 0
    errors: list[FieldError] = []
    for i, v in enumerate(versions):
        row = rows[v.start]  # the document's own session (checked when it was parsed)
        assert v.record.start is not None  # parse_care refuses a session without a start
        record = session_as_dict(v.record)
        same = kept.get((row.id, v.version))
        if same is not None:
            if same.record != record or same.start_local != v.record.start:
                errors.append(
                    FieldError(
                        f"session_versions[{i}].session",
                        f"the session at {v.start.isoformat()} already keeps a different "
                        f"version {v.version}; export the record to see its history",
                    )
                )
            continue
        session.add(
            SessionVersionRow(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                session_id=row.id,
                version=v.version,
                start_local=v.record.start,
                record=record,
                changed_utc=v.changed_utc or utcnow(),
            )
        )
        row.version = max(row.version, v.version + 1)
        added += 1
    if errors:
        raise ValidationError(errors)
    session.flush()
    return added
