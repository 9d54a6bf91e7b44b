"""Red-flag alerts (SNNOOP10): opened at intake or by a diary entry, closed by a practitioner,
and the completed intake screens.

Whether a patient may be planned for is decided in one place, ``services.gate`` (rule:
``domain.readiness``): an open alert blocks, and so does the lack of a current screen.
acuhead never diagnoses a secondary headache: it says the patient needs medical review and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.domain import redflags
from acuhead.domain.diary import Attack
from acuhead.errors import Conflict, FieldError, NotFound, ValidationError
from acuhead.services.actors import Actor, audit, load_patient, require_staff
from acuhead.store.db import lock_for_update
from acuhead.store.mapping import attack_from_row, patient_facts
from acuhead.store.models import (
    AttackRow,
    IntakeScreenRow,
    Patient,
    RedFlagAlertRow,
    User,
    utcnow,
)


def finding_dicts(findings: list[redflags.RedFlagFinding]) -> list[dict[str, object]]:
    return [
        {
            "code": f.code,
            "letter": f.flag.letter,
            "label": f.flag.label,
            "why": f.flag.why,
            "evidence": list(f.evidence),
            "note": f.note,
        }
        for f in findings
    ]


def alert_value(row: RedFlagAlertRow) -> redflags.RedFlagAlert:
    findings = tuple(
        redflags.RedFlagFinding(f["code"], tuple(f.get("evidence", ())), f.get("note", ""))
        for f in row.findings
    )
    resolution = None
    if row.resolution_kind is not None and row.resolved_utc is not None:
        resolution = redflags.Resolution(
            redflags.ResolutionKind(row.resolution_kind),
            row.resolved_by_name or "?",
            row.resolved_utc,
            row.resolution_reason or "",
        )
    return redflags.RedFlagAlert(findings, row.opened_utc, resolution)


def _open_rows(session: Session, patient_id: int) -> list[RedFlagAlertRow]:
    return list(
        session.scalars(
            select(RedFlagAlertRow)
            .where(
                RedFlagAlertRow.patient_id == patient_id, RedFlagAlertRow.resolution_kind.is_(None)
            )
            .order_by(RedFlagAlertRow.id)
        )
    )


def latest_screen(session: Session, patient_id: int) -> IntakeScreenRow | None:
    """The patient's most recent completed intake screen."""
    return session.scalars(
        select(IntakeScreenRow)
        .where(IntakeScreenRow.patient_id == patient_id)
        .order_by(IntakeScreenRow.screened_on.desc(), IntakeScreenRow.id.desc())
        .limit(1)
    ).first()


def open_reasons(session: Session, *, patient_id: int) -> list[str]:
    """Short reasons for each open finding (for the prescription builder's block message)."""
    reasons = []
    for row in _open_rows(session, patient_id):
        for f in row.findings:
            reasons.append(f"{f['letter']}: {f['label']} ({'; '.join(f.get('evidence', []))})")
    return reasons


def local_today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def _open(
    session: Session,
    actor: Actor,
    patient: Patient,
    source: str,
    findings: list[redflags.RedFlagFinding],
    attack_id: int | None = None,
) -> RedFlagAlertRow | None:
    if not findings:
        return None
    row = RedFlagAlertRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        source=source,
        attack_id=attack_id,
        findings=finding_dicts(findings),
        opened_utc=utcnow(),
    )
    session.add(row)
    session.flush()
    audit(session, actor, "open", "red_flag_alert", row.id, patient_id=patient.id)
    return row


def record_intake_screen(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    answers: Mapping[str, bool],
    first_headache_onset: dt.date | None = None,
    notes: str = "",
) -> RedFlagAlertRow | None:
    """Screen the intake answers; open an alert when any item applies."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    findings = redflags.screen_intake(
        answers,
        patient=patient_facts(patient),
        first_headache_onset=first_headache_onset,
        notes=notes,
    )
    if first_headache_onset is not None and first_headache_onset > local_today(patient.timezone):
        raise ValidationError(FieldError("first_headache_onset", "this date is in the future"))
    audit(session, actor, "screen", "red_flags", patient_id=patient.id)
    alert = _open(session, actor, patient, "intake", findings)
    # Kept as the completed screen the safety gate looks for (domain/readiness). The answers
    # are stored by catalogue code; a form that left items out still counts as a screen, but
    # the page and API forms ask all 15 (CLINICAL.md 2).
    coded = {
        code: bool(v)
        for k, v in answers.items()
        if (code := redflags.normalise_code(k)) is not None
    }
    session.add(
        IntakeScreenRow(
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            screened_on=local_today(patient.timezone),
            first_headache_onset=first_headache_onset,
            answers=coded,
            alert_id=alert.id if alert is not None else None,
            screened_by=actor.user_id,
        )
    )
    session.flush()
    return alert


def screen_attack_row(
    session: Session, *, actor: Actor, patient: Patient, row: AttackRow, attack: Attack
) -> RedFlagAlertRow | None:
    """Screen a newly written diary attack; earlier attacks are loaded only for aura rules."""
    if not attack.warning_signs and not attack.aura:
        return None
    history: list[Attack] = []
    if attack.aura:
        earlier = session.scalars(
            select(AttackRow).where(
                AttackRow.patient_id == patient.id,
                AttackRow.start_local < attack.start,
                AttackRow.id != row.id,
            )
        )
        history = [attack_from_row(r) for r in earlier]
    findings = redflags.screen_attack(attack, patient_facts(patient), history=history)
    return _open(session, actor, patient, "attack", findings, attack_id=row.id)


def list_alerts(
    session: Session, *, actor: Actor, patient_id: int, only_open: bool = False
) -> list[RedFlagAlertRow]:
    patient = load_patient(session, actor, patient_id)
    stmt = select(RedFlagAlertRow).where(RedFlagAlertRow.patient_id == patient.id)
    if only_open:
        stmt = stmt.where(RedFlagAlertRow.resolution_kind.is_(None))
    audit(session, actor, "read", "red_flag_alerts", patient_id=patient.id)
    return list(session.scalars(stmt.order_by(RedFlagAlertRow.id)))


def resolve_alert(
    session: Session, *, actor: Actor, patient_id: int, alert_id: int, kind: str, reason: str
) -> RedFlagAlertRow:
    """Record a referral or a documented clearance (who, when, why)."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    row = session.get(RedFlagAlertRow, alert_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(f"alert {alert_id} not found")
    lock_for_update(session, row)
    if row.resolution_kind is not None:
        raise Conflict("this red-flag alert is already resolved")
    user = session.get(User, actor.user_id) if actor.user_id else None
    by = user.name if user else "local operator (CLI)"
    resolved = redflags.resolve(alert_value(row), kind=kind, by=by, at=utcnow(), reason=reason)
    assert resolved.resolution is not None
    row.resolution_kind = resolved.resolution.kind.value
    row.resolved_by = actor.user_id
    row.resolved_by_name = by
    row.resolved_utc = resolved.resolution.at
    row.resolution_reason = resolved.resolution.reason
    row.version += 1
    audit(session, actor, "resolve", "red_flag_alert", row.id, patient_id=patient.id)
    return row
