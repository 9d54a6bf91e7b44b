"""The practitioner's clinic dashboard: who needs attention first.

One read for the whole clinic, in three lists:

* patients ordered by urgency: an open red-flag alert first (oldest alert first), then an overdue
  diary (nothing recorded on the last ``overdue_days`` local days, today included), then the rest;
* the clinic's recent attacks (the last ``recent_days`` days), newest first.

Staff only; rows are always filtered by the actor's clinic. The read is audited (verb and
entity only, never health data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acuhead.services.actors import Actor, require_staff
from acuhead.services.diary import local_today
from acuhead.store.audit import audit
from acuhead.store.models import AttackRow, DiaryDayRow, Patient, RedFlagAlertRow, User

OVERDUE_DAYS = 3
RECENT_DAYS = 7
MAX_PATIENTS = 500
MAX_RECENT_ATTACKS = 30


@dataclass(frozen=True, slots=True)
class PatientStatus:
    patient_id: int
    external_id: str
    display_name: str
    practitioner_name: str
    open_alerts: int
    oldest_open_alert_utc: dt.datetime | None
    last_entry: dt.date | None  # last local date with a diary day or an attack start
    local_today: dt.date
    overdue: bool

    @property
    def label(self) -> str:
        return self.display_name or self.external_id

    @property
    def days_since_entry(self) -> int | None:
        if self.last_entry is None:
            return None
        return (self.local_today - self.last_entry).days


@dataclass(frozen=True, slots=True)
class RecentAttack:
    attack_id: int
    patient_id: int
    patient_label: str
    start_local: dt.datetime
    peak_intensity: int | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    patients: list[PatientStatus]
    recent_attacks: list[RecentAttack]
    total_patients: int
    overdue_days: int
    recent_days: int

    @property
    def with_alerts(self) -> list[PatientStatus]:
        return [p for p in self.patients if p.open_alerts]

    @property
    def overdue(self) -> list[PatientStatus]:
        return [p for p in self.patients if p.overdue and not p.open_alerts]


def clinic_dashboard(
    session: Session,
    *,
    actor: Actor,
    overdue_days: int = OVERDUE_DAYS,
    recent_days: int = RECENT_DAYS,
    mine_only: bool = False,
) -> Dashboard:
    """The dashboard lists for the actor's clinic (``mine_only``: the actor's own patients)."""
    require_staff(actor)
    clinic = actor.clinic_id
    stmt = (
        select(Patient, User.name)
        .outerjoin(User, User.id == Patient.practitioner_id)
        .where(Patient.clinic_id == clinic)
    )
    if mine_only:
        stmt = stmt.where(Patient.practitioner_id == actor.user_id)
    rows = session.execute(stmt.order_by(Patient.id).limit(MAX_PATIENTS)).all()
    total = len(rows)
    alerts = {
        pid: (n, oldest)
        for pid, n, oldest in session.execute(
            select(
                RedFlagAlertRow.patient_id,
                func.count(),
                func.min(RedFlagAlertRow.opened_utc),
            )
            .where(
                RedFlagAlertRow.clinic_id == clinic,
                RedFlagAlertRow.resolution_kind.is_(None),
            )
            .group_by(RedFlagAlertRow.patient_id)
        )
    }
    last_day: dict[int, dt.date] = {
        pid: value
        for pid, value in session.execute(
            select(DiaryDayRow.patient_id, func.max(DiaryDayRow.day))
            .where(DiaryDayRow.clinic_id == clinic)
            .group_by(DiaryDayRow.patient_id)
        )
    }
    last_attack: dict[int, dt.datetime] = {
        pid: value
        for pid, value in session.execute(
            select(AttackRow.patient_id, func.max(AttackRow.start_local))
            .where(AttackRow.clinic_id == clinic)
            .group_by(AttackRow.patient_id)
        )
    }
    statuses: list[PatientStatus] = []
    today_by_tz: dict[str, dt.date] = {}
    for patient, prac_name in rows:
        today = today_by_tz.get(patient.timezone)
        if today is None:
            today = today_by_tz[patient.timezone] = local_today(patient.timezone)
        candidates: list[dt.date] = []
        if (d := last_day.get(patient.id)) is not None:
            candidates.append(d)
        if (a := last_attack.get(patient.id)) is not None:
            candidates.append(a.date())
        last = max(candidates) if candidates else None
        overdue = last is None or last <= today - dt.timedelta(days=overdue_days)
        n_alerts, oldest = alerts.get(patient.id, (0, None))
        statuses.append(
            PatientStatus(
                patient_id=patient.id,
                external_id=patient.external_id,
                display_name=patient.display_name or "",
                practitioner_name=prac_name or "",
                open_alerts=int(n_alerts),
                oldest_open_alert_utc=oldest,
                last_entry=last,
                local_today=today,
                overdue=overdue,
            )
        )

    def urgency(s: PatientStatus) -> tuple[int, dt.datetime, int, str]:
        if s.open_alerts:
            return (0, s.oldest_open_alert_utc or dt.datetime.min, 0, s.external_id)
        if s.overdue:
            # Longest silence first; never-recorded patients after those with a gap.
            gap = s.days_since_entry
            return (1, dt.datetime.min, -(gap if gap is not None else -1), s.external_id)
        return (2, dt.datetime.min, 0, s.external_id)

    statuses.sort(key=urgency)

    labels = {s.patient_id: s.label for s in statuses}
    since = dt.datetime.combine(
        max(today_by_tz.values(), default=dt.date.today()) - dt.timedelta(days=recent_days),
        dt.time(),
    )
    recent_stmt = select(
        AttackRow.id, AttackRow.patient_id, AttackRow.start_local, AttackRow.peak_intensity
    ).where(AttackRow.clinic_id == clinic, AttackRow.start_local >= since)
    if mine_only:
        recent_stmt = recent_stmt.where(AttackRow.patient_id.in_(list(labels)))
    recent = [
        RecentAttack(aid, pid, labels.get(pid, f"patient {pid}"), start, peak)
        for aid, pid, start, peak in session.execute(
            recent_stmt.order_by(AttackRow.start_local.desc(), AttackRow.id.desc()).limit(
                MAX_RECENT_ATTACKS
            )
        )
    ]
    audit(session, actor, "read", "dashboard")
    return Dashboard(
        patients=statuses,
        recent_attacks=recent,
        total_patients=total,
        overdue_days=overdue_days,
        recent_days=recent_days,
    )
