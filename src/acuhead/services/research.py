"""Research consent and the de-identified research export (``interop.research``).

Only patients with an active consent whose scope names ``research`` are exported: given on or
before the export date and not withdrawn by then. Consent is recorded by staff; a patient may
withdraw their own. Every exported patient gets an audit row (ids only).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.domain.classify import classify_diary
from acuhead.domain.diary import CURATED_TRIGGERS, Diary
from acuhead.errors import FieldError, NotFound, ValidationError
from acuhead.interop import research
from acuhead.services import diary as diary_svc
from acuhead.services.actors import Actor, load_patient, require_admin, require_staff
from acuhead.store.audit import audit
from acuhead.store.models import (
    Patient,
    QuestionnaireRow,
    ResearchConsentRow,
    TreatmentSessionRow,
)

_CURATED = frozenset(CURATED_TRIGGERS)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def record_consent(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    scope: str = "research",
    given_on: dt.date | None = None,
) -> ResearchConsentRow:
    require_staff(actor)
    patient = load_patient(session, actor, patient_id)
    scope = " ".join(scope.split())
    if not scope or len(scope) > 200:
        raise ValidationError(FieldError("scope", "must be 1-200 characters, e.g. 'research'"))
    given = given_on or _today()
    if given > _today() + dt.timedelta(days=1):
        raise ValidationError(FieldError("given_on", f"{given} is in the future"))
    row = ResearchConsentRow(
        clinic_id=patient.clinic_id, patient_id=patient.id, given_on=given, scope=scope
    )
    session.add(row)
    session.flush()
    audit(session, actor, "create", "research_consent", row.id, patient_id=patient.id)
    return row


def withdraw_consent(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    scope: str = "research",
    on: dt.date | None = None,
) -> list[ResearchConsentRow]:
    """Withdraw every open consent covering ``scope``; staff, or the patient themself."""
    patient = load_patient(session, actor, patient_id)
    when = on or _today()
    rows = [
        r
        for r in session.scalars(
            select(ResearchConsentRow).where(
                ResearchConsentRow.patient_id == patient.id,
                ResearchConsentRow.withdrawn_on.is_(None),
            )
        )
        if research.consent_covers(r.scope, scope)
    ]
    if not rows:
        raise NotFound(f"no open consent covering {scope!r}")
    for r in rows:
        if when < r.given_on:
            raise ValidationError(FieldError("on", f"{when} is before the consent of {r.given_on}"))
        r.withdrawn_on = when
        audit(session, actor, "withdraw", "research_consent", r.id, patient_id=patient.id)
    session.flush()
    return rows


def list_consents(session: Session, *, actor: Actor, patient_id: int) -> list[ResearchConsentRow]:
    patient = load_patient(session, actor, patient_id)
    audit(session, actor, "read", "research_consents", patient_id=patient.id)
    return list(
        session.scalars(
            select(ResearchConsentRow)
            .where(ResearchConsentRow.patient_id == patient.id)
            .order_by(ResearchConsentRow.given_on, ResearchConsentRow.id)
        )
    )


def consenting_patients(session: Session, *, clinic_id: int, on: dt.date) -> list[int]:
    """Ids of the clinic's patients with a research consent active on ``on``."""
    rows = session.scalars(
        select(ResearchConsentRow).where(
            ResearchConsentRow.clinic_id == clinic_id, ResearchConsentRow.given_on <= on
        )
    )
    return sorted(
        {
            r.patient_id
            for r in rows
            if (r.withdrawn_on is None or r.withdrawn_on > on) and research.consent_covers(r.scope)
        }
    )


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def research_export(
    session: Session,
    *,
    actor: Actor,
    out_dir: Path,
    secret_key: str,
    today: dt.date | None = None,
) -> dict[str, int]:
    """Write the clinic's de-identified tables to ``out_dir``; returns rows per table."""
    require_admin(actor)
    on = today or _today()
    key = research.clinic_key(secret_key, actor.clinic_id)
    site = research.site_code(secret_key, actor.clinic_id)
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in research.schemas()}
    ids = consenting_patients(session, clinic_id=actor.clinic_id, on=on)
    for pid in ids:
        patient = load_patient(session, actor, pid)
        diary = diary_svc.load_diary(session, actor=actor, patient_id=pid)
        _patient_rows(session, tables, patient, diary, key=key, site=site, today=on)
        audit(session, actor, "research_export", "patient", patient_id=pid)
    counts = research.write_tables(out_dir, tables, site=site)
    return counts


def _patient_rows(
    session: Session,
    tables: dict[str, list[dict[str, Any]]],
    patient: Patient,
    diary: Diary,
    *,
    key: bytes,
    site: str,
    today: dt.date,
) -> None:
    pseudo = research.pseudonym(key, patient.id)
    shift = dt.timedelta(days=research.shift_days(key, patient.id))

    def day(d: dt.date | None) -> dt.date | None:
        return d + shift if d is not None else None

    def moment(t: dt.datetime | None) -> dt.datetime | None:
        return t + shift if t is not None else None

    first = min(
        [d.date for d in diary.days] + [a.start.date() for a in diary.attacks], default=today
    )
    tables["patients"].append(
        {
            "patient": pseudo,
            "site": site,
            "sex": patient.sex,
            "age_band": research.age_band(_age(patient.birth_date, first)),
        }
    )
    codes: dict[int, str] = {}
    units: dict[str, dict[str, Any]] = {}
    try:
        result = classify_diary(diary, today=today)
    except ValidationError:
        result = {"attacks": [], "diagnoses": [], "days": []}
    for a in result["attacks"]:  # type: ignore[attr-defined]
        codes[int(a["index"])] = str(a["code"])
    for u in result["days"]:  # type: ignore[attr-defined]
        units[str(u["date"])] = u
    for dx in result["diagnoses"]:  # type: ignore[attr-defined]
        tables["diagnoses"].append(
            {"patient": pseudo, "code": str(dx["code"]), "status": str(dx["status"])}
        )
    for d in sorted(diary.days, key=lambda d: d.date):
        u = units.get(d.date.isoformat(), {})
        tables["days"].append(
            {
                "patient": pseudo,
                "date": day(d.date),
                "headache": d.headache,
                "stress": d.stress,
                "sleep_hours": d.sleep_hours,
                "neck_tension": d.neck_tension,
                "menstruating": d.menstruating,
                "triggers": [t for t in d.triggers if t in _CURATED],
                "migraine_day": u.get("migraine_day"),
                "headache_day": u.get("headache_day"),
                "acute_medication_day": u.get("acute_medication_day"),
            }
        )
    for n, a in enumerate(diary.attacks):
        tables["attacks"].append(
            {
                "patient": pseudo,
                "attack": n,
                "start": moment(a.start),
                "end": moment(a.end),
                "duration_min": a.minutes,
                "peak_intensity": a.peak,
                "ichd3_code": codes.get(n),
                "side": a.side.value if a.side else None,
                "locations": [x.value for x in a.locations],
                "quality": [x.value for x in a.quality],
                "aggravated_by_activity": a.aggravated_by_activity,
                "nausea": a.nausea.value if a.nausea else None,
                "vomiting": a.vomiting,
                "photophobia": a.photophobia,
                "phonophobia": a.phonophobia,
                "osmophobia": a.osmophobia,
                "aura_types": [s.type.value for s in a.aura],
                "restlessness": a.restlessness,
                "treated": a.treated,
                "triggers": [t for t in a.triggers if t in _CURATED],
            }
        )
        for m in a.medications:
            tables["medications"].append(
                {
                    "patient": pseudo,
                    "attack": n,
                    "taken": moment(m.taken_at),
                    "class": m.med_class.value,
                    "effect": m.effect.value if m.effect else None,
                }
            )
    for r in diary.regimens:
        tables["regimens"].append(
            {"patient": pseudo, "kind": r.kind.value, "start": day(r.start), "stop": day(r.stop)}
        )
    sessions = session.scalars(
        select(TreatmentSessionRow)
        .where(TreatmentSessionRow.patient_id == patient.id)
        .order_by(TreatmentSessionRow.start_local, TreatmentSessionRow.id)
    )
    for n, row in enumerate(sessions):
        rec = row.record or {}
        stim = rec.get("stimulation") or {}
        events = rec.get("adverse_events") or []
        tables["sessions"].append(
            {
                "patient": pseudo,
                "session": n,
                "start": moment(row.start_local),
                "style": rec.get("style"),
                "points": [str(p.get("code")) for p in rec.get("points") or []],
                "needle_count": rec.get("needle_count"),
                "retention_min": rec.get("retention_min"),
                "stimulation": stim.get("method"),
                "frequency_hz": [float(f) for f in stim.get("frequency_hz") or []],
                "pain_before": row.pain_before,
                "pain_after": row.pain_after,
                "adverse_events": len(events),
            }
        )
        for e in events:
            tables["adverse_events"].append(
                {
                    "patient": pseudo,
                    "session": n,
                    "type": e.get("type"),
                    "severity": e.get("severity"),
                    "serious": e.get("serious"),
                    "hospitalised": e.get("hospitalised"),
                }
            )
    for q in session.scalars(
        select(QuestionnaireRow)
        .where(QuestionnaireRow.patient_id == patient.id)
        .order_by(QuestionnaireRow.completed_on, QuestionnaireRow.id)
    ):
        tables["questionnaires"].append(
            {
                "patient": pseudo,
                "instrument": q.instrument,
                "completed_on": day(q.completed_on),
                "total": q.total,
                "band": q.band,
            }
        )
