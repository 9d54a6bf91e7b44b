"""The safety gate on treatment planning: one service answers "ready to plan?".

The rule is pure (``acuhead.domain.readiness.decide``); this module feeds it from the record:
the latest completed SNNOOP10 intake screen, every red-flag alert, the safety profile and the
diary (its ICHD-3 8.2 diagnoses, intensity readings and headache days). Every planning path calls
:func:`ensure_planning_allowed`: the prescription builder page and the care API
(``services.care.create_prescription`` / ``confirm_prescription``), the planning-check endpoint
and ``acuhead prescribe --patient``. A refusal is SafetyBlock (HTTP 409, CLI exit 6) naming each
reason. A flag the record raises is cleared with a reason by :func:`clear_record_flag`, which
keeps the same audit trail as resolving an intake alert (docs/safety-gate.md).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.config import get_settings
from acuhead.domain import readiness as gate
from acuhead.domain import redflags
from acuhead.domain.classify import diary_span
from acuhead.domain.diagnosis import diagnose
from acuhead.errors import FieldError, SafetyBlock, ValidationError
from acuhead.services.actors import Actor, load_patient, require_staff
from acuhead.services.diary import load_diary, local_today
from acuhead.services.safety import alert_value, finding_dicts, latest_screen
from acuhead.store.audit import audit
from acuhead.store.mapping import patient_facts
from acuhead.store.models import (
    ALERT_RED_FLAG,
    IntakeScreenRow,
    Patient,
    RedFlagAlertRow,
    User,
    utcnow,
)


def readiness(
    session: Session, *, actor: Actor, patient_id: int, today: dt.date | None = None
) -> gate.Readiness:
    """Is this patient ready for a treatment plan? The one rule (domain/readiness.decide) fed
    from the record: the latest screen, every alert, the safety profile and the diary (its
    ICHD-3 8.2 diagnoses, intensity readings and headache days)."""
    patient = load_patient(session, actor, patient_id)
    facts = patient_facts(patient)
    day = today or local_today(patient.timezone)
    row = latest_screen(session, patient.id)
    screen = (
        gate.IntakeScreen(
            row.screened_on, row.first_headache_onset, frozenset((row.answers or {}).keys())
        )
        if row
        else None
    )
    diary = load_diary(session, actor=actor, patient_id=patient.id)
    span = diary_span(diary, day)
    diagnoses = diagnose(diary, span[0], span[1], today=day) if span else []
    derived = gate.record_flags(
        patient=facts, diary=diary, diagnoses=diagnoses, screen=screen, today=day
    )
    alerts = [
        gate.KnownAlert(r.id, alert_value(r))
        for r in session.scalars(
            select(RedFlagAlertRow)
            # SNNOOP10 alerts only: a questionnaire's self-harm alert is no secondary-headache
            # flag and does not block planning (it heads the dashboard instead).
            .where(RedFlagAlertRow.patient_id == patient.id, RedFlagAlertRow.kind == ALERT_RED_FLAG)
            .order_by(RedFlagAlertRow.id)
        )
    ]
    return gate.decide(
        today=day,
        patient=facts,
        screen=screen,
        alerts=alerts,
        derived=derived,
        valid_months=get_settings().screen_valid_months,
    )


def ensure_planning_allowed(
    session: Session, *, actor: Actor, patient_id: int, today: dt.date | None = None
) -> gate.Readiness:
    """Raise SafetyBlock naming every reason unless the patient is ready to plan."""
    result = readiness(session, actor=actor, patient_id=patient_id, today=today)
    if not result.ready:
        raise SafetyBlock(result.message(), reasons=[b.as_dict() for b in result.blocking])
    return result


def clear_record_flag(
    session: Session, *, actor: Actor, patient_id: int, code: str, kind: str, reason: str
) -> RedFlagAlertRow:
    """Record a referral or clearance (who, when, why) for a flag the record itself raises
    (source "record" in :func:`readiness`), so it has the same audit trail as an intake alert:
    an alert with the record's evidence, resolved at once. Refused (422) for a code that the
    record does not raise now, or one an open alert already carries (resolve that alert)."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    current = readiness(session, actor=actor, patient_id=patient.id)
    blocking = next((b for b in current.blocking if b.code == code and b.source == "record"), None)
    if blocking is None:
        raise ValidationError(
            FieldError("code", f"{code!r} is not a flag the record raises now; nothing to clear")
        )
    finding = redflags.RedFlagFinding(code, blocking.evidence)
    now = utcnow()
    opened = redflags.RedFlagAlert((finding,), now)
    user = session.get(User, actor.user_id) if actor.user_id else None
    by = user.name if user else "local operator (CLI)"
    resolved = redflags.resolve(opened, kind=kind, by=by, at=now, reason=reason)
    assert resolved.resolution is not None
    row = RedFlagAlertRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        source="record",
        findings=finding_dicts([finding]),
        opened_utc=now,
        resolution_kind=resolved.resolution.kind.value,
        resolved_by=actor.user_id,
        resolved_by_name=by,
        resolved_utc=now,
        resolution_reason=resolved.resolution.reason,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "resolve", "red_flag_alert", row.id, patient_id=patient.id)
    return row


def screen_states(
    session: Session,
    *,
    actor: Actor,
    patient_ids: list[int],
    today: dt.date,
) -> dict[int, gate.ScreenState]:
    """The gate's screen answer (``domain.readiness.screen_state``: missing, incomplete,
    expired, birth date or onset needed, current) for many patients in two queries, for lists
    such as the dashboard's day list. Only the screen part of :func:`readiness`: flags the
    record raises (pregnancy, overuse, thunderclap ...) need each patient's whole diary, so a
    list shows open alerts beside this and the patient page shows the full answer."""
    require_staff(actor)
    if not patient_ids:
        return {}
    patients = {
        p.id: p
        for p in session.scalars(
            select(Patient).where(Patient.id.in_(patient_ids), Patient.clinic_id == actor.clinic_id)
        )
    }
    latest: dict[int, IntakeScreenRow] = {}
    for row in session.scalars(
        select(IntakeScreenRow)
        .where(IntakeScreenRow.patient_id.in_(list(patients)))
        .order_by(IntakeScreenRow.screened_on, IntakeScreenRow.id)
    ):
        latest[row.patient_id] = row  # ordered: the last one seen is the latest
    months = get_settings().screen_valid_months
    out: dict[int, gate.ScreenState] = {}
    for pid, patient in patients.items():
        found = latest.get(pid)
        screen = (
            gate.IntakeScreen(
                found.screened_on,
                found.first_headache_onset,
                frozenset((found.answers or {}).keys()),
            )
            if found
            else None
        )
        out[pid] = gate.screen_state(
            screen, patient=patient_facts(patient), today=today, valid_months=months
        )
    return out
