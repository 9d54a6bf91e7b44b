"""The clinical read-out of a stored diary (ICHD-3 classification, diagnoses, day units) and
the questionnaires (every instrument of ``domain.instruments.REGISTRY``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.domain import questionnaires
from acuhead.domain.classify import classify_diary
from acuhead.domain.dayunits import policy_by_name
from acuhead.domain.diary import Diary
from acuhead.errors import FieldError, ValidationError
from acuhead.services import safety
from acuhead.services.actors import Actor, load_patient
from acuhead.services.diary import check_not_future, load_diary, local_today, slice_diary
from acuhead.store import day_units
from acuhead.store.audit import audit
from acuhead.store.models import QuestionnaireRow


def readout(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    policy: str = "vdArend2023",
    diary: Diary | None = None,
) -> dict[str, Any]:
    """Attacks with their ICHD-3 codes and reasons, diagnoses, day units and red-flag alerts.

    ``diary``: this patient's diary as :func:`load_diary` gave it to the same actor, when the
    caller holds it already (a page that also needs the whole diary); it is cut to the window
    here, so the rows are read once."""
    patient = load_patient(session, actor, patient_id)
    if start and end and end < start:
        raise ValidationError(FieldError("end", "is before start"))
    try:
        units = policy_by_name(policy)
    except (KeyError, ValueError, ValidationError):
        raise ValidationError(FieldError("policy", f"unknown day-unit policy {policy!r}")) from None
    whole = diary
    if diary is None:
        diary = load_diary(session, actor=actor, patient_id=patient.id, start=start, end=end)
        if start is None and end is None:
            whole = diary
    else:
        diary = slice_diary(diary, start, end)
    if start is not None:
        # load_diary also returns attacks that began a few days earlier; keep those that run
        # into the window (an attack counts on each day it touches), then trim the day list.
        diary = replace(
            diary, attacks=tuple(a for a in diary.attacks if a.local_dates()[-1] >= start)
        )
    # Probable migraine counts by the whole diary's diagnosis, as in the stored day units.
    result = classify_diary(
        diary,
        policy=units,
        today=end or local_today(patient.timezone),
        has_migraine=day_units.patient_has_migraine(session, patient, whole),
    )
    if start is not None:
        days = cast(list[dict[str, Any]], result["days"])
        result["days"] = [d for d in days if str(d["date"]) >= start.isoformat()]
    result["red_flags"] = [
        {
            "id": r.id,
            "kind": r.kind,
            "source": r.source,
            "opened_utc": r.opened_utc.isoformat(),
            "open": r.resolution_kind is None,
            "findings": r.findings,
            "resolution": None
            if r.resolution_kind is None
            else {
                "kind": r.resolution_kind,
                "by": r.resolved_by_name,
                "at": r.resolved_utc.isoformat() if r.resolved_utc else None,
                "reason": r.resolution_reason,
            },
        }
        for r in safety.list_alerts(session, actor=actor, patient_id=patient.id)
    ]
    result["policy"] = units.name
    audit(session, actor, "read", "classification", patient_id=patient.id)
    return result


def record_questionnaire(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    instrument: str,
    completed_on: dt.date,
    answers: Mapping[str, Any],
) -> QuestionnaireRow:
    """Score and store one questionnaire; invalid answers are refused with the item named. A
    safety item answered above its lowest (or left unanswered) opens the self-harm alert
    (``safety.record_concern``, once per response)."""
    patient = load_patient(session, actor, patient_id)
    check_not_future(completed_on, patient.timezone, "completed_on")
    scored = questionnaires.score(instrument, answers)
    row = QuestionnaireRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        instrument=scored.instrument.id,
        completed_on=completed_on,
        recall_period=scored.recall_period,
        answers=scored.answers,
        total=scored.total,
        band=scored.band,
        total_entered=scored.total_entered,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "questionnaire", row.id, patient_id=patient.id)
    concern = questionnaires.safety_concern(scored.instrument, scored.answers, completed_on)
    if concern is not None:
        safety.record_concern(session, actor=actor, patient=patient, concern=concern)
    return row


def list_questionnaires(
    session: Session, *, actor: Actor, patient_id: int, instrument: str | None = None
) -> list[QuestionnaireRow]:
    patient = load_patient(session, actor, patient_id)
    stmt = select(QuestionnaireRow).where(QuestionnaireRow.patient_id == patient.id)
    if instrument:
        stmt = stmt.where(
            QuestionnaireRow.instrument == questionnaires.parse_instrument(instrument).id
        )
    audit(session, actor, "read", "questionnaires", patient_id=patient.id)
    return list(session.scalars(stmt.order_by(QuestionnaireRow.completed_on, QuestionnaireRow.id)))


def band_label(row: QuestionnaireRow) -> str:
    """The stored band in words, from the instrument's spec (the code when it is unknown)."""
    try:
        spec = questionnaires.parse_instrument(row.instrument)
    except ValidationError:
        return row.band.replace("_", " ")
    return spec.band_label(row.band)


def scored_answers(row: QuestionnaireRow) -> tuple[list[Any] | None, dict[str, Any]]:
    """A stored row's answers split the way the API and documents give them: the scored ones
    in item order (None for a total typed in from paper) and the recorded ones by key."""
    try:
        spec = questionnaires.parse_instrument(row.instrument)
    except ValidationError:
        return None, dict(row.answers or {})
    items, recorded = spec.split(row.answers or {})
    return (items or None), recorded
