"""Acupuncture care use cases: points, TCM assessments, prescriptions, templates, courses,
treatment sessions (STRICTA) and adverse events.

Every function takes the acting user, checks tenant and role, and writes an audit row for each
read or change of a patient's record in the same transaction (ids and verbs only, never health
data). Who may do what:

* point catalogue: any logged-in user (no patient data);
* assessments, prescriptions, confirmations, courses, sessions: written by the clinic's
  practitioners (or the local CLI operator); read by staff and by the patient themself;
* templates: read by staff, written by practitioners; they belong to the clinic;
* the clinic's adverse-event list: staff.

Clinical rules applied here (the rules themselves live in the pure domain):

* the safety gate runs before a prescription is built or a finding confirmed:
  ``gate.ensure_planning_allowed`` refuses without a current SNNOOP10 screen, with an open
  red-flag alert, or with a flag the record shows (SNNOOP10, Do et al., Neurology 2019;
  CLINICAL.md 2 and 7.3; domain/readiness.py);
* a prescription is ``ready`` only when nothing is blocked and every ``confirm`` finding was
  confirmed, e.g. traditionally forbidden points in pregnancy (Betts & Budd, Acupunct Med 2011;
  CLINICAL.md 7.3) or electro-stimulation with a pacemaker (blocked); a session can be linked
  only to a ready prescription;
* sessions are STRICTA records (MacPherson et al., PLoS Med 2010; CLINICAL.md 6) and serious
  adverse events must be flagged (pneumothorax, severe, hospitalised; CLINICAL.md 7.3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acuhead.domain.diary import Side
from acuhead.domain.sessions import (
    SessionRecord,
    session_from_prescription,
    session_from_previous,
    validate_course,
    validate_session,
)
from acuhead.domain.tcm.channels import parse_location
from acuhead.domain.tcm.patterns import DerivedSign, PatternAssessment, assess, parse_pattern
from acuhead.domain.tcm.points import Point, lookup, search
from acuhead.domain.tcm.prescribe import (
    PrescriptionTemplate,
    TemplatePoint,
    apply_confirmations,
    build_prescription,
    from_template,
    is_ready,
    make_template,
    prescription_as_dict,
    template_from_prescription,
)
from acuhead.domain.tcm.restore import (
    assessment_as_dict,
    prescription_from_dict,
    scores_as_list,
    scores_from_list,
)
from acuhead.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ValidationError,
    VersionRequired,
)
from acuhead.interop.care import session_start
from acuhead.services import gate
from acuhead.services.actors import Actor, Role, load_patient, require_staff
from acuhead.services.diary import check_not_future, load_diary
from acuhead.store.audit import audit
from acuhead.store.care_records import (
    keep_version,
    session_record,
    write_session_row,
)
from acuhead.store.db import lock_for_update
from acuhead.store.mapping import patient_facts
from acuhead.store.models import (
    AdverseEventRow,
    AssessmentRow,
    CourseRow,
    Patient,
    PrescriptionRow,
    PrescriptionTemplateRow,
    SessionVersionRow,
    TreatmentSessionRow,
    utcnow,
)
from acuhead.store.paging import page_of, page_of_rows

# ---- access -----------------------------------------------------------------------------------


def require_practitioner(actor: Actor) -> None:
    """Clinical records are written by practitioners, or by the trusted local CLI operator."""
    if actor.role == Role.PRACTITIONER:
        return
    if actor.role == Role.ADMIN and actor.user_id is None:
        return
    raise Forbidden("this needs a practitioner account")


def _practitioner_id(actor: Actor) -> int | None:
    return actor.user_id if actor.role == Role.PRACTITIONER else None


# ---- point catalogue ----------------------------------------------------------------------


def point_dict(p: Point) -> dict[str, Any]:
    """A catalogue point as JSON (API and ``acuhead points --format json``)."""
    return {
        "code": p.code,
        "pinyin": p.pinyin,
        "hanzi": p.hanzi,
        "channel": p.channel,
        "region": p.region,
        "location": p.location,
        "depth": p.depth,
        "angle": p.angle,
        "cautions": [c.value for c in p.cautions],
        "headache_use": p.headache_use,
        "aliases": list(p.aliases),
    }


def search_points(
    *, query: str = "", channel: str | None = None, region: str | None = None
) -> list[Point]:
    """Search by code, legacy code, alias, name, channel or region (no patient data)."""
    return search(query, channel=channel or None, region=region or None)


def get_point(code: str) -> Point:
    """One point by any accepted spelling; an unknown code is NotFound, an ambiguous name 422."""
    try:
        return lookup(code)
    except ValidationError as exc:
        if any(e.message.startswith("unknown point") for e in exc.errors):
            raise NotFound(f"no point {code!r} in the catalogue") from None
        raise


# ---- assessments --------------------------------------------------------------------------


def assessment_value(row: AssessmentRow) -> PatternAssessment:
    """The stored assessment as it was scored (signs split into recorded and diary-derived)."""
    recorded = tuple(str(s["sign"]) for s in row.signs if s.get("source") != "diary")
    derived = tuple(
        DerivedSign(str(s["sign"]), str(s.get("basis", "")))
        for s in row.signs
        if s.get("source") == "diary"
    )
    return PatternAssessment(
        scores=scores_from_list(row.scores),
        derived_signs=derived,
        confirmed_pattern=parse_pattern(row.confirmed_pattern) if row.confirmed_pattern else None,
        signs=recorded,
        tongue=row.tongue or "",
        pulse=row.pulse or "",
    )


def assessment_dict(row: AssessmentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "practitioner_id": row.practitioner_id,
        "created_utc": row.created_utc,
        "locations": list(row.locations or []),
        **assessment_as_dict(assessment_value(row)),
    }


def _parse_locations(locations: Sequence[str]) -> list[str]:
    errors: list[FieldError] = []
    out: list[str] = []
    for i, text in enumerate(locations):
        try:
            out.append(parse_location(text, f"locations[{i}]").value)
        except ValidationError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    return list(dict.fromkeys(out))


def create_assessment(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    locations: Sequence[str] = (),
    signs: Sequence[str] = (),
    tongue: str = "",
    pulse: str = "",
    confirmed_pattern: str | None = None,
    use_diary: bool = True,
) -> AssessmentRow:
    """Score the eleven patterns from the practitioner's findings plus the patient's diary.

    The diary feeds the signs (``patterns.derive_signs``: e.g. stress-triggered temporal
    throbbing attacks, mean neck tension); each derived sign is kept with its basis so the
    practitioner sees why it was added (CLINICAL.md 7.2, tradition).
    """
    require_practitioner(actor)
    patient = load_patient(session, actor, patient_id)
    locs = _parse_locations(locations)
    pattern = parse_pattern(confirmed_pattern, "confirmed_pattern") if confirmed_pattern else None
    diary = load_diary(session, actor=actor, patient_id=patient.id) if use_diary else None
    value = assess(signs, tongue.strip(), pulse.strip(), diary=diary, confirmed_pattern=pattern)
    row = AssessmentRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        practitioner_id=_practitioner_id(actor),
        locations=locs,
        signs=[{"sign": s, "source": "practitioner"} for s in value.signs]
        + [{"sign": d.sign, "source": "diary", "basis": d.basis} for d in value.derived_signs],
        tongue=value.tongue,
        pulse=value.pulse,
        scores=scores_as_list(value.scores),
        confirmed_pattern=pattern.value if pattern else None,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "assessment", row.id, patient_id=patient.id)
    return row


def _assessment_row(
    session: Session, actor: Actor, patient: Patient, assessment_id: int
) -> AssessmentRow:
    row = session.get(AssessmentRow, assessment_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(f"assessment {assessment_id} not found")
    return row


def get_assessment(
    session: Session, *, actor: Actor, patient_id: int, assessment_id: int
) -> AssessmentRow:
    patient = load_patient(session, actor, patient_id)
    row = _assessment_row(session, actor, patient, assessment_id)
    audit(session, actor, "read", "assessment", row.id, patient_id=patient.id)
    return row


def list_assessments(session: Session, *, actor: Actor, patient_id: int) -> list[AssessmentRow]:
    patient = load_patient(session, actor, patient_id)
    audit(session, actor, "read", "assessments", patient_id=patient.id)
    return list(
        session.scalars(
            select(AssessmentRow)
            .where(AssessmentRow.patient_id == patient.id)
            .order_by(AssessmentRow.created_utc.desc(), AssessmentRow.id.desc())
        )
    )


def confirm_assessment(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    assessment_id: int,
    confirmed_pattern: str | None,
) -> AssessmentRow:
    """The practitioner confirms or overrides the ranking (None clears the decision)."""
    require_practitioner(actor)
    patient = load_patient(session, actor, patient_id)
    row = _assessment_row(session, actor, patient, assessment_id)
    pattern = parse_pattern(confirmed_pattern, "confirmed_pattern") if confirmed_pattern else None
    row.confirmed_pattern = pattern.value if pattern else None
    audit(session, actor, "update", "assessment", row.id, patient_id=patient.id)
    return row


# ---- templates ----------------------------------------------------------------------------


def template_value(row: PrescriptionTemplateRow) -> PrescriptionTemplate:
    return PrescriptionTemplate(
        name=row.name,
        points=tuple(
            TemplatePoint(p["code"], Side(p["side"]) if p.get("side") else None) for p in row.points
        ),
        note=row.notes or "",
    )


def template_dict(row: PrescriptionTemplateRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "points": [dict(p) for p in row.points],
        "notes": row.notes or "",
        "created_by": row.created_by,
        "created_utc": row.created_utc,
        "version": row.version,
    }


def _template_points(t: PrescriptionTemplate) -> list[dict[str, Any]]:
    return [{"code": p.code, "side": p.side.value if p.side else None} for p in t.points]


def _template_row(session: Session, actor: Actor, template_id: int) -> PrescriptionTemplateRow:
    row = session.get(PrescriptionTemplateRow, template_id)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFound(f"template {template_id} not found")
    return row


def _check_template_name(
    session: Session, actor: Actor, name: str, exclude_id: int | None = None
) -> None:
    stmt = select(PrescriptionTemplateRow.id).where(
        PrescriptionTemplateRow.clinic_id == actor.clinic_id,
        PrescriptionTemplateRow.name == name,
    )
    found = session.scalars(stmt).first()
    if found is not None and found != exclude_id:
        raise Conflict(f"a template named {name!r} already exists in this clinic")


def list_templates(session: Session, *, actor: Actor) -> list[PrescriptionTemplateRow]:
    require_staff(actor)
    return list(
        session.scalars(
            select(PrescriptionTemplateRow)
            .where(PrescriptionTemplateRow.clinic_id == actor.clinic_id)
            .order_by(PrescriptionTemplateRow.name)
        )
    )


def get_template(session: Session, *, actor: Actor, template_id: int) -> PrescriptionTemplateRow:
    require_staff(actor)
    return _template_row(session, actor, template_id)


def create_template(
    session: Session,
    *,
    actor: Actor,
    name: str,
    points: Sequence[tuple[str, str | None]] = (),
    notes: str = "",
    prescription_id: int | None = None,
) -> PrescriptionTemplateRow:
    """Save a clinic template from a point list, or from a saved prescription's points."""
    require_practitioner(actor)
    if prescription_id is not None:
        if points:
            raise ValidationError(FieldError("points", "give points or prescription_id, not both"))
        prow = session.get(PrescriptionRow, prescription_id)
        if prow is None or prow.clinic_id != actor.clinic_id:
            raise NotFound(f"prescription {prescription_id} not found")
        load_patient(session, actor, prow.patient_id)
        audit(session, actor, "read", "prescription", prow.id, patient_id=prow.patient_id)
        template = template_from_prescription(prescription_from_dict(prow.body), name)
    else:
        if not points:
            raise ValidationError(FieldError("points", "give points or prescription_id"))
        template = make_template(name, points)
    _check_template_name(session, actor, template.name)
    row = PrescriptionTemplateRow(
        clinic_id=actor.clinic_id,
        name=template.name,
        points=_template_points(template),
        notes=notes.strip(),
        created_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "prescription_template", row.id)
    return row


def update_template(
    session: Session,
    *,
    actor: Actor,
    template_id: int,
    name: str,
    points: Sequence[tuple[str, str | None]],
    version: int | None,
    notes: str = "",
) -> PrescriptionTemplateRow:
    """Replace a clinic template's name, points and notes.

    ``version`` is the one the practitioner read: without it the change is refused (428), and
    a template changed meanwhile by a colleague is refused (409) and left as it is, so one
    practitioner's edit never silently overwrites another's.
    """
    require_practitioner(actor)
    row = _template_row(session, actor, template_id)
    if version is None:
        raise VersionRequired(f"send the version of the template you read (now {row.version})")
    lock_for_update(session, row)
    if row.version != version:
        raise Conflict(f"template changed since version {version} (now {row.version})")
    template = make_template(name, points)
    _check_template_name(session, actor, template.name, exclude_id=row.id)
    row.name = template.name
    row.points = _template_points(template)
    row.notes = notes.strip()
    row.version += 1
    audit(session, actor, "update", "prescription_template", row.id)
    return row


def delete_template(session: Session, *, actor: Actor, template_id: int) -> None:
    require_practitioner(actor)
    row = _template_row(session, actor, template_id)
    session.delete(row)
    audit(session, actor, "delete", "prescription_template", template_id)


# ---- prescriptions ------------------------------------------------------------------------


def prescription_dict(row: PrescriptionRow) -> dict[str, Any]:
    return {
        **row.body,
        "id": row.id,
        "patient_id": row.patient_id,
        "assessment_id": row.assessment_id,
        "practitioner_id": row.practitioner_id,
        "created_utc": row.created_utc,
        "version": row.version,
        "ready": row.ready,
        "confirmed": list(row.confirmed or []),
    }


def create_prescription(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    assessment_id: int | None = None,
    template_id: int | None = None,
    locations: Sequence[str] | None = None,
    headache_kind: str | None = None,
    electro: bool = False,
    protocol: str | None = None,
) -> PrescriptionRow:
    """Build and save a plan: from the assessment, the headache kind and the diary, or from a
    clinic template. The red-flag gate runs first; the patient's safety profile drives the
    checks (CLINICAL.md 7.3). The saved plan is ``ready`` only once its findings are confirmed.

    ``locations`` default to the assessment's, then to the diary's frequent attack locations.
    ``headache_kind`` ("migraine", "tension-type" or an ICHD-3 code) picks the trial protocol;
    None leaves the protocol group out unless ``protocol`` names one.
    """
    require_practitioner(actor)
    patient = load_patient(session, actor, patient_id)
    # Gate first: SNNOOP10 triage comes before any point suggestion (CLINICAL.md 2, 7.3).
    gate.ensure_planning_allowed(session, actor=actor, patient_id=patient.id)
    facts = patient_facts(patient)
    arow = None
    assessment = None
    if assessment_id is not None:
        arow = _assessment_row(session, actor, patient, assessment_id)
        assessment = assessment_value(arow)
    if template_id is not None:
        if locations or protocol or headache_kind:
            raise ValidationError(
                FieldError(
                    "template_id",
                    "a plan from a template takes no locations, protocol or headache_kind",
                )
            )
        trow = _template_row(session, actor, template_id)
        plan = from_template(
            template_value(trow),
            safety=facts.safety,
            electro=electro,
            assessment=assessment,
        )
    else:
        locs = _parse_locations(locations or (arow.locations if arow is not None else []))
        diary = load_diary(session, actor=actor, patient_id=patient.id)
        plan = build_prescription(
            assessment,
            headache_kind=headache_kind,
            locations=locs,
            diary=diary,
            safety=facts.safety,
            electro=electro,
            protocol=protocol,
        )
    body = prescription_as_dict(plan)
    row = PrescriptionRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        assessment_id=arow.id if arow is not None else None,
        practitioner_id=_practitioner_id(actor),
        body=body,
        confirmed=[],
        ready=is_ready(plan),
        version=1,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "prescription", row.id, patient_id=patient.id)
    return row


def _prescription_row(session: Session, patient: Patient, prescription_id: int) -> PrescriptionRow:
    row = session.get(PrescriptionRow, prescription_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(f"prescription {prescription_id} not found")
    return row


def get_prescription(
    session: Session, *, actor: Actor, patient_id: int, prescription_id: int
) -> PrescriptionRow:
    patient = load_patient(session, actor, patient_id)
    row = _prescription_row(session, patient, prescription_id)
    audit(session, actor, "read", "prescription", row.id, patient_id=patient.id)
    return row


def list_prescriptions(session: Session, *, actor: Actor, patient_id: int) -> list[PrescriptionRow]:
    patient = load_patient(session, actor, patient_id)
    audit(session, actor, "read", "prescriptions", patient_id=patient.id)
    return list(
        session.scalars(
            select(PrescriptionRow)
            .where(PrescriptionRow.patient_id == patient.id)
            .order_by(PrescriptionRow.created_utc.desc(), PrescriptionRow.id.desc())
        )
    )


def confirm_prescription(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    prescription_id: int,
    version: int,
    confirmed_codes: Sequence[str],
) -> PrescriptionRow:
    """Record the practitioner's explicit confirmation of ``confirm`` findings.

    Codes are finding codes ("pregnancy:LI4") or point codes ("LI4"); a code that matches no
    confirmable finding is refused (422), and a ``blocked`` finding cannot be confirmed away.
    Who confirmed what, and when, is kept in ``confirmed``. Confirming is planning, so an open
    red flag blocks it too.
    """
    require_practitioner(actor)
    patient = load_patient(session, actor, patient_id)
    row = _prescription_row(session, patient, prescription_id)
    lock_for_update(session, row)
    if row.version != version:
        raise Conflict(f"prescription changed since version {version} (now {row.version})")
    if not confirmed_codes:
        raise ValidationError(FieldError("confirmed_codes", "name at least one finding"))
    gate.ensure_planning_allowed(session, actor=actor, patient_id=patient.id)
    before = prescription_from_dict(row.body)
    after = apply_confirmations(before, confirmed_codes)
    was = {f.code for f in before.safety if f.confirmed}
    at = utcnow().isoformat(timespec="seconds")
    newly = [
        {"code": f.code, "by": actor.user_id, "at": at}
        for f in after.safety
        if f.confirmed and f.code not in was
    ]
    row.body = prescription_as_dict(after)
    row.ready = is_ready(after)
    row.confirmed = [*(row.confirmed or []), *newly]
    row.version += 1
    audit(session, actor, "confirm", "prescription", row.id, patient_id=patient.id)
    return row


# ---- courses ------------------------------------------------------------------------------


def course_dict(row: CourseRow, delivered: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "planned_sessions": row.planned_sessions,
        "sessions_per_week": row.sessions_per_week,
        "start": row.start_date,
        "notes": row.notes or "",
        "delivered_sessions": delivered,
        "created_utc": row.created_utc,
    }


def create_course(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    planned_sessions: Any,
    sessions_per_week: Any,
    start: Any,
    notes: str = "",
) -> CourseRow:
    """A treatment course: planned sessions and frequency (STRICTA 3a/3b)."""
    require_practitioner(actor)
    patient = load_patient(session, actor, patient_id)
    course = validate_course(
        {
            "planned_sessions": planned_sessions,
            "sessions_per_week": sessions_per_week,
            "start": start.isoformat() if isinstance(start, dt.date) else start,
        }
    )
    row = CourseRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        planned_sessions=course.planned_sessions,
        sessions_per_week=course.sessions_per_week,
        start_date=course.start,
        notes=notes.strip(),
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "course", row.id, patient_id=patient.id)
    return row


def delivered_sessions(session: Session, course_ids: Sequence[int]) -> dict[int, int]:
    if not course_ids:
        return {}
    rows = session.execute(
        select(TreatmentSessionRow.course_id, func.count())
        .where(TreatmentSessionRow.course_id.in_(course_ids))
        .group_by(TreatmentSessionRow.course_id)
    )
    return {int(cid): int(n) for cid, n in rows if cid is not None}


def list_courses(session: Session, *, actor: Actor, patient_id: int) -> list[CourseRow]:
    patient = load_patient(session, actor, patient_id)
    audit(session, actor, "read", "courses", patient_id=patient.id)
    return list(
        session.scalars(
            select(CourseRow)
            .where(CourseRow.patient_id == patient.id)
            .order_by(CourseRow.start_date, CourseRow.id)
        )
    )


# ---- treatment sessions -------------------------------------------------------------------


def treatment_session_dict(row: TreatmentSessionRow) -> dict[str, Any]:
    return {
        **row.record,
        "start": row.start_local.isoformat(),
        "id": row.id,
        "patient_id": row.patient_id,
        "course_id": row.course_id,
        "prescription_id": row.prescription_id,
        "practitioner_id": row.practitioner_id,
        "start_utc": row.start_utc,
        "version": row.version,
    }


def _links(
    session: Session,
    patient: Patient,
    course_id: int | None,
    prescription_id: int | None,
) -> None:
    """A session may belong to a course of the same patient and follow a *ready* prescription."""
    if course_id is not None:
        course = session.get(CourseRow, course_id)
        if course is None or course.patient_id != patient.id:
            raise ValidationError(
                FieldError("course_id", f"no course {course_id} for this patient")
            )
    if prescription_id is not None:
        pres = session.get(PrescriptionRow, prescription_id)
        if pres is None or pres.patient_id != patient.id:
            raise ValidationError(
                FieldError("prescription_id", f"no prescription {prescription_id} for this patient")
            )
        if not pres.ready:
            raise Conflict(
                f"prescription {prescription_id} is not ready: its safety findings need "
                "confirmation, or a finding blocks it"
            )


def _session_record_in(patient: Patient, data: Mapping[str, Any]) -> SessionRecord:
    """Validate a session mapping (all problems at once) and put its start in local time."""
    record = validate_session(data)
    if record.start is None:
        raise ValidationError(FieldError("start", "is required (the date-time of the session)"))
    start = session_start(record.start, ZoneInfo(patient.timezone))
    check_not_future(start.date(), patient.timezone, "start")
    return replace(record, start=start)


def create_treatment_session(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    data: Mapping[str, Any],
    course_id: int | None = None,
    prescription_id: int | None = None,
) -> TreatmentSessionRow:
    """Record one session as STRICTA asks (validate_session reports every bad path at once)."""
    require_practitioner(actor)
    patient = load_patient(session, actor, patient_id)
    record = _session_record_in(patient, data)
    _links(session, patient, course_id, prescription_id)
    row = write_session_row(
        session,
        patient=patient,
        record=record,
        practitioner_id=_practitioner_id(actor),
        course_id=course_id,
        prescription_id=prescription_id,
    )
    audit(session, actor, "create", "treatment_session", row.id, patient_id=patient.id)
    return row


def _treatment_row(session: Session, patient: Patient, session_id: int) -> TreatmentSessionRow:
    row = session.get(TreatmentSessionRow, session_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(f"session {session_id} not found")
    return row


def update_treatment_session(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    session_id: int,
    version: int | None,
    data: Mapping[str, Any],
    course_id: int | None = None,
    prescription_id: int | None = None,
) -> TreatmentSessionRow:
    """Correct a session (e.g. add an adverse event noticed later).

    ``version`` is the one the practitioner read: without it the change is refused (428), and
    a session changed meanwhile is refused (409), so one correction never silently overwrites
    another. The record as it was is kept in ``session_versions`` before it is replaced: a
    clinical record is corrected, never rewritten without trace.
    """
    require_practitioner(actor)
    patient = load_patient(session, actor, patient_id)
    row = _treatment_row(session, patient, session_id)
    if version is None:
        raise VersionRequired(f"send the version of the session you read (now {row.version})")
    lock_for_update(session, row)
    if row.version != version:
        raise Conflict(f"session changed since version {version} (now {row.version})")
    record = _session_record_in(patient, data)
    if prescription_id != row.prescription_id:
        _links(session, patient, None, prescription_id)
    _links(session, patient, course_id, None)
    keep_version(session, row, changed_by=actor.user_id)
    write_session_row(
        session,
        patient=patient,
        record=record,
        practitioner_id=row.practitioner_id,
        course_id=course_id,
        prescription_id=prescription_id,
        row=row,
    )
    audit(session, actor, "update", "treatment_session", row.id, patient_id=patient.id)
    return row


def get_treatment_session(
    session: Session, *, actor: Actor, patient_id: int, session_id: int
) -> TreatmentSessionRow:
    patient = load_patient(session, actor, patient_id)
    row = _treatment_row(session, patient, session_id)
    audit(session, actor, "read", "treatment_session", row.id, patient_id=patient.id)
    return row


def list_session_versions(
    session: Session, *, actor: Actor, patient_id: int, session_ids: Sequence[int] | None = None
) -> dict[int, list[SessionVersionRow]]:
    """The earlier versions of the patient's sessions (newest first), by session id."""
    patient = load_patient(session, actor, patient_id)
    stmt = select(SessionVersionRow).where(SessionVersionRow.patient_id == patient.id)
    if session_ids is not None:
        stmt = stmt.where(SessionVersionRow.session_id.in_(list(session_ids)))
    out: dict[int, list[SessionVersionRow]] = {}
    for v in session.scalars(stmt.order_by(SessionVersionRow.version.desc())):
        out.setdefault(v.session_id, []).append(v)
    audit(session, actor, "read", "session_versions", patient_id=patient.id)
    return out


def list_treatment_sessions(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    limit: int = 100,
    offset: int = 0,
    latest_first: bool = False,
) -> tuple[list[TreatmentSessionRow], int]:
    """The patient's sessions, oldest first (``latest_first``: the history's order, so its
    first page is the most recent sessions)."""
    patient = load_patient(session, actor, patient_id)
    stmt = select(TreatmentSessionRow).where(TreatmentSessionRow.patient_id == patient.id)
    order = (
        (TreatmentSessionRow.start_local.desc(), TreatmentSessionRow.id.desc())
        if latest_first
        else (TreatmentSessionRow.start_local, TreatmentSessionRow.id)
    )
    rows, total = page_of(session, stmt, *order, limit=limit, offset=offset)
    audit(session, actor, "read", "treatment_sessions", patient_id=patient.id)
    return rows, total


def prefill_session(
    session: Session, *, actor: Actor, patient_id: int, source: str
) -> dict[str, Any]:
    """A session form filled from a prescription (``prescription:ID``) or the last session
    (``previous``), so the method is not retyped (USERS.md). Nothing is saved."""
    require_practitioner(actor)
    patient = load_patient(session, actor, patient_id)
    kind, _, ref = source.partition(":")
    if kind == "previous" and not ref:
        last = session.scalars(
            select(TreatmentSessionRow)
            .where(TreatmentSessionRow.patient_id == patient.id)
            .order_by(TreatmentSessionRow.start_local.desc(), TreatmentSessionRow.id.desc())
        ).first()
        if last is None:
            raise NotFound("this patient has no earlier session")
        audit(session, actor, "read", "treatment_session", last.id, patient_id=patient.id)
        return {
            "from": "previous",
            "session_id": last.id,
            "course_id": last.course_id,
            "prescription_id": last.prescription_id,
            "ready": None,
            "session": session_from_previous(session_record(last)),
        }
    if kind == "prescription" and ref.isdigit():
        pres = _prescription_row(session, patient, int(ref))
        audit(session, actor, "read", "prescription", pres.id, patient_id=patient.id)
        return {
            "from": f"prescription:{pres.id}",
            "session_id": None,
            "course_id": None,
            "prescription_id": pres.id,
            "ready": pres.ready,
            "session": session_from_prescription(prescription_from_dict(pres.body)),
        }
    raise ValidationError(
        FieldError("from", f"expected 'previous' or 'prescription:ID'; got {source!r}")
    )


# ---- adverse events -----------------------------------------------------------------------


def list_adverse_events(
    session: Session,
    *,
    actor: Actor,
    serious: bool | None = None,
    since: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The clinic's adverse events, most recent session first (for the dashboard).

    Serious events (pneumothorax, severe, hospitalisation: CLINICAL.md 7.3) carry
    ``serious: true``; ``serious=True`` lists only those. Each patient whose event is shown gets
    an audit row.
    """
    require_staff(actor)
    stmt = (
        select(AdverseEventRow, TreatmentSessionRow.start_local)
        .join(TreatmentSessionRow, TreatmentSessionRow.id == AdverseEventRow.session_id)
        .where(AdverseEventRow.clinic_id == actor.clinic_id)
    )
    if serious is not None:
        stmt = stmt.where(AdverseEventRow.serious.is_(serious))
    if since is not None:
        stmt = stmt.where(TreatmentSessionRow.start_local >= dt.datetime.combine(since, dt.time()))
    order = (TreatmentSessionRow.start_local.desc(), AdverseEventRow.id.desc())
    rows, total = page_of_rows(session, stmt, *order, limit=limit, offset=offset)
    out = [
        {
            "id": ev.id,
            "patient_id": ev.patient_id,
            "session_id": ev.session_id,
            "session_start": start,
            "type": ev.type,
            "severity": ev.severity,
            "serious": ev.serious,
            "action_taken": ev.action_taken or "",
            "created_utc": ev.created_utc,
        }
        for ev, start in rows
    ]
    for pid in dict.fromkeys(item["patient_id"] for item in out):
        audit(session, actor, "read", "adverse_events", patient_id=pid)
    return out, total
