"""Red-flag alerts (SNNOOP10): opened at intake or by a diary entry, closed by a practitioner,
and the completed intake screens; and the self-harm alerts a questionnaire's safety item opens
(:func:`record_concern`), kept in the same table with ``kind`` "self_harm".

Whether a patient may be planned for is decided in one place, ``services.gate`` (rule:
``domain.readiness``): an open red-flag alert blocks, and so does the lack of a current screen.
acuhead never diagnoses a secondary headache: it says the patient needs medical review and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.domain import questionnaires, redflags
from acuhead.domain.diary import Attack
from acuhead.errors import Conflict, FieldError, NotFound, ValidationError
from acuhead.services.actors import Actor, load_patient, require_staff
from acuhead.store.audit import audit
from acuhead.store.db import lock_for_update, lock_patient
from acuhead.store.mapping import attack_from_row, patient_facts
from acuhead.store.models import (
    ALERT_RED_FLAG,
    ALERT_SELF_HARM,
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
                RedFlagAlertRow.patient_id == patient_id,
                RedFlagAlertRow.resolution_kind.is_(None),
                RedFlagAlertRow.kind == ALERT_RED_FLAG,
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
    """Short reasons for each open red-flag finding (for the prescription builder's block
    message; a self-harm alert does not block planning)."""
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
        kind=ALERT_RED_FLAG,
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
    screened_on: dt.date | None = None,
) -> RedFlagAlertRow | None:
    """Screen the intake answers; open an alert when any item applies, and keep the screen
    (dated ``screened_on``, default the patient's today) for the safety gate."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    findings = redflags.screen_intake(
        answers,
        patient=patient_facts(patient),
        first_headache_onset=first_headache_onset,
        notes=notes,
    )
    today = local_today(patient.timezone)
    for path, day in (("first_headache_onset", first_headache_onset), ("screened_on", screened_on)):
        if day is not None and day > today:
            raise ValidationError(FieldError(path, "this date is in the future"))
    audit(session, actor, "screen", "red_flags", patient_id=patient.id)
    alert = _open(session, actor, patient, "intake", findings)
    # Kept as the screen the safety gate looks for (domain/readiness). The answers are stored
    # by catalogue code; the gate counts the screen only when all 15 items were answered
    # (CLINICAL.md 2), which the page and a complete API or document screen do.
    coded = {
        code: bool(v)
        for k, v in answers.items()
        if (code := redflags.normalise_code(k)) is not None
    }
    session.add(
        IntakeScreenRow(
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            screened_on=screened_on or today,
            first_headache_onset=first_headache_onset,
            answers=coded,
            alert_id=alert.id if alert is not None else None,
            screened_by=actor.user_id,
        )
    )
    session.flush()
    return alert


def _same_as_latest(
    session: Session,
    patient_id: int,
    screened_on: dt.date,
    onset: dt.date | None,
    answers: Mapping[str, Any],
) -> bool:
    latest = latest_screen(session, patient_id)
    if latest is None:
        return False
    coded = {
        code: bool(v)
        for k, v in answers.items()
        if (code := redflags.normalise_code(str(k))) is not None
    }
    return (latest.screened_on, latest.first_headache_onset, dict(latest.answers or {})) == (
        screened_on,
        onset,
        coded,
    )


def import_intake_block(
    session: Session, *, actor: Actor, patient: Patient, block: Mapping[str, Any]
) -> None:
    """A diary document's ``red_flags`` block on import: its "yes" answers open an alert
    whoever imports; a staff import with ``screened_on`` also records the screen itself (a
    patient cannot record their own screen). Errors are located under ``red_flags.``."""
    errors: list[FieldError] = []

    def day(key: str) -> dt.date | None:
        raw = block.get(key)
        if raw is None:
            return None
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            errors.append(FieldError(f"red_flags.{key}", "use a date such as 2026-04-30"))
            return None

    answers = block.get("answers") or {}
    if not isinstance(answers, Mapping):
        errors.append(FieldError("red_flags.answers", "expected an object of yes/no answers"))
        answers = {}
    onset, screened_on = day("first_headache_onset"), day("screened_on")
    notes = str(block.get("notes") or "")
    if errors:
        raise ValidationError(errors)
    # The file's screen is already the record's (an exported document imported again, by
    # staff or by the patient): nothing new to record and no alert to open twice.
    if screened_on is not None and _same_as_latest(
        session, patient.id, screened_on, onset, answers
    ):
        return
    try:
        if screened_on is not None and actor.is_staff:
            record_intake_screen(
                session,
                actor=actor,
                patient_id=patient.id,
                answers=answers,
                first_headache_onset=onset,
                notes=notes,
                screened_on=screened_on,
            )
            return
        findings = redflags.screen_intake(
            answers, patient=patient_facts(patient), first_headache_onset=onset, notes=notes
        )
    except ValidationError as exc:
        raise ValidationError(
            [FieldError(f"red_flags.{e.path}", e.message) for e in exc.errors]
        ) from None
    _open(session, actor, patient, "intake", findings)


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


def _concern_key(finding: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(finding.get(k) for k in ("instrument", "item", "completed_on", "answer"))


def record_concern(
    session: Session,
    *,
    actor: Actor,
    patient: Patient,
    concern: questionnaires.SafetyConcern,
) -> RedFlagAlertRow | None:
    """Open a self-harm alert for a stored questionnaire response whose safety item needs a
    clinician (``domain.questionnaires.safety_concern``), on every path that stores one (the
    patient's form, the API, a document import, a form sent again).

    Once per response: an alert of this patient for the same instrument, item, date and
    answer, open or already closed, means the same response was stored again (a retried POST,
    an import run twice, a resubmitted form) and nothing new is opened; a closed one was dealt
    with. A different answer on the same date opens its own alert. The patient's row is
    locked first, so two copies sent at once cannot both open one. The alert keeps the words
    staff read and the facts behind them (instrument, item, date, answer), nothing else."""
    lock_patient(session, patient.id)
    finding: dict[str, Any] = {
        "code": ALERT_SELF_HARM,
        "label": concern.words,
        "instrument": concern.instrument,
        "item": concern.item_key,
        "completed_on": concern.completed_on.isoformat(),
        "answer": concern.answer,
        "answer_label": concern.answer_label,
        "evidence": [],
        "note": "",
    }
    for earlier in session.scalars(
        select(RedFlagAlertRow).where(
            RedFlagAlertRow.patient_id == patient.id, RedFlagAlertRow.kind == ALERT_SELF_HARM
        )
    ):
        if any(_concern_key(f) == _concern_key(finding) for f in earlier.findings or ()):
            return None
    row = RedFlagAlertRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        kind=ALERT_SELF_HARM,
        source="questionnaire",
        findings=[finding],
        opened_utc=utcnow(),
    )
    session.add(row)
    session.flush()
    audit(session, actor, "open", "self_harm_alert", row.id, patient_id=patient.id)
    return row


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
    """Record a referral or a documented clearance (who, when, why); for a self-harm alert,
    "contacted" or "referral" with what was done."""
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    row = session.get(RedFlagAlertRow, alert_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(f"alert {alert_id} not found")
    lock_for_update(session, row)
    if row.resolution_kind is not None:
        raise Conflict("this alert is already resolved")
    user = session.get(User, actor.user_id) if actor.user_id else None
    by = user.name if user else "local operator (CLI)"
    if row.kind == ALERT_SELF_HARM:
        # Contacted or referred, with what was done: domain.questionnaires.
        row.resolution_kind, row.resolution_reason = questionnaires.check_concern_resolution(
            kind, reason
        )
        row.resolved_by, row.resolved_by_name, row.resolved_utc = actor.user_id, by, utcnow()
        row.version += 1
        audit(session, actor, "resolve", "self_harm_alert", row.id, patient_id=patient.id)
        return row
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
