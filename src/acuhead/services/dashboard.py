"""The practitioner's clinic dashboard: who needs attention first.

One read for the whole clinic, in three lists:

* patients ordered by urgency: an open self-harm alert first (a questionnaire's safety item,
  such as the depression questionnaire's item on thoughts of self-harm: contact the patient
  today; oldest first), then an open red-flag alert (oldest alert first; planning is blocked
  meanwhile), then an overdue diary (nothing recorded on the last ``overdue_days`` local days,
  today included), then the rest;
* the clinic's recent attacks (the last ``recent_days`` days), newest first.

Staff only; rows are always filtered by the actor's clinic. The read is audited (verb and
entity only, never health data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from acuhead.analytics.sql import day_number
from acuhead.domain.outcomes import DEFAULT_OUTCOME_CONFIG
from acuhead.domain.readiness import Readiness
from acuhead.services import appointments, gate, questionnaire_due
from acuhead.services.actors import Actor, require_staff
from acuhead.services.diary import local_today
from acuhead.store.audit import audit
from acuhead.store.models import (
    ALERT_SELF_HARM,
    AttackRow,
    DayUnitRow,
    DiaryDayRow,
    Patient,
    RedFlagAlertRow,
    TreatmentSessionRow,
    User,
)

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
    self_harm: tuple[str, ...] = ()  # the words of each open self-harm alert, oldest first

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
    self_harm = open_self_harm(session, clinic)
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
                self_harm=tuple(w for _, w in self_harm.get(patient.id, ())),
            )
        )

    def urgency(s: PatientStatus) -> tuple[int, dt.datetime, int, str]:
        if s.self_harm:  # contact today: before the red flags, which block planning meanwhile
            return (0, self_harm[s.patient_id][0][0], 0, s.external_id)
        if s.open_alerts:
            return (1, s.oldest_open_alert_utc or dt.datetime.min, 0, s.external_id)
        if s.overdue:
            # Longest silence first; never-recorded patients after those with a gap.
            gap = s.days_since_entry
            return (2, dt.datetime.min, -(gap if gap is not None else -1), s.external_id)
        return (3, dt.datetime.min, 0, s.external_id)

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


def open_self_harm(
    session: Session, clinic: int, patient_ids: list[int] | None = None
) -> dict[int, list[tuple[dt.datetime, str]]]:
    """Each patient's open self-harm alerts (when opened, the words staff read), oldest first,
    in one query over the clinic (or these of its patients). They are few: one per response
    with a safety item answered above its lowest."""
    stmt = select(
        RedFlagAlertRow.patient_id, RedFlagAlertRow.opened_utc, RedFlagAlertRow.findings
    ).where(
        RedFlagAlertRow.clinic_id == clinic,
        RedFlagAlertRow.kind == ALERT_SELF_HARM,
        RedFlagAlertRow.resolution_kind.is_(None),
    )
    if patient_ids is not None:
        stmt = stmt.where(RedFlagAlertRow.patient_id.in_(patient_ids))
    out: dict[int, list[tuple[dt.datetime, str]]] = {}
    for pid, opened, findings in session.execute(
        stmt.order_by(RedFlagAlertRow.opened_utc, RedFlagAlertRow.id)
    ):
        words = "; ".join(str(f.get("label", "")) for f in findings or ())
        out.setdefault(pid, []).append((opened, words))
    return out


# ---- the day list (issue 15): today's appointments first ------------------------------------

QUESTIONNAIRES_PAGE = 20
SCREEN_WORDS = {
    "current": "Screen current",
    "missing": "Screen needed",
    "incomplete": "Screen needed: not every question asked",
    "expired": "Screen needed: out of date",
    "onset_date_needed": "Screen needed: date of the first headache",
    "birth_date_needed": "Screen needed: birth date",
}


@dataclass(frozen=True, slots=True)
class DayPatient:
    """What a practitioner wants beside each of today's patients, before opening the record.

    ``ready`` and ``gate_reasons``: the safety gate's full answer (``services.gate.readiness``,
    one call per patient of the day: flags the record itself raises, such as pregnancy or
    ICHD-3 8.2 medication overuse, need the diary and block planning without any alert, so the
    practitioner must see them before treating); ``screen``: the gate's screen answer
    (``services.gate.screen_states``); ``open_alerts``: open alerts of either kind;
    ``self_harm``: the words of each open self-harm alert (first on the line). Migraine days
    count ``day_units`` (the outcome engine's stored day units, CLINICAL.md 1.x) over the last
    28 days and over the baseline (the 28 days before the first session, DESIGN.md glossary
    "Window"), each with how many of its days were recorded, since a missing day is not a
    headache-free one (CLINICAL.md 0.4).
    """

    open_alerts: int
    screen_status: str
    screen_reason: str
    migraine_days_28: int
    recorded_days_28: int
    baseline_migraine_days: int | None
    baseline_recorded_days: int | None
    questionnaires_due: list[str]
    last_entry: dt.date | None
    today: dt.date
    ready: bool = False
    gate_reasons: tuple[str, ...] = ()
    self_harm: tuple[str, ...] = ()

    @property
    def screen_needed(self) -> bool:
        return self.screen_status != "current"

    @property
    def screen_words(self) -> str:
        """The gate's screen answer in a practitioner's words (no codes, no document names)."""
        return SCREEN_WORDS.get(self.screen_status, "Screen needed")

    @property
    def days_since_entry(self) -> int | None:
        return None if self.last_entry is None else (self.today - self.last_entry).days


def gate_words(answer: Readiness) -> tuple[str, ...]:
    """Each reason the gate blocks planning, in a practitioner's words: the screen's state as
    on the rest of the day list, each flag by its SNNOOP10 letter and label with the record's
    evidence (e.g. the ICHD-3 8.2 diagnosis), never a catalogue code."""
    out: list[str] = []
    for b in answer.blocking:
        if b.source == "screen":
            out.append(SCREEN_WORDS.get(answer.screen.status.value, "Screen needed"))
        elif b.source == "alert":
            out.append(f"{b.label} (open alert)")
        else:
            out.append(f"{b.label} ({'; '.join(b.evidence)})" if b.evidence else b.label)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DayItem:
    appointment: Any  # services.appointments.AppointmentView
    patient: DayPatient


@dataclass(frozen=True, slots=True)
class DayList:
    day: dt.date
    timezone: str
    items: list[DayItem]


def day_list(
    session: Session,
    *,
    actor: Actor,
    practitioner_id: int | None = None,
    now: dt.datetime | None = None,
) -> DayList:
    """Today's booked appointments (clinic day, clinic zone), earliest first, each with its
    patient's summary. Every figure is one grouped query over the day's patient ids, except
    the gate's full answer: one ``gate.readiness`` per patient of the day (a practitioner's
    day is 8-20 patients), because only it sees the flags the record raises (DayPatient)."""
    require_staff(actor)
    now = now or dt.datetime.now(dt.UTC)
    tz = appointments.clinic_zone(session, actor.clinic_id)
    today = appointments.clinic_today(session, actor.clinic_id, now)
    booked = appointments.day(session, actor=actor, day=today, practitioner_id=practitioner_id)
    ids = sorted({a.patient_id for a in booked})
    summaries = patient_summaries(session, actor=actor, patient_ids=ids, today=today, now=now)
    screens = gate.screen_states(session, actor=actor, patient_ids=ids, today=today)
    answers = {pid: gate.readiness(session, actor=actor, patient_id=pid) for pid in ids}
    due = questionnaire_due.compute_due(
        session, clinic_id=actor.clinic_id, patient_ids=ids, now=now
    )
    items = []
    for a in booked:
        s = summaries[a.patient_id]
        state = screens.get(a.patient_id)
        entry = due.get(a.patient_id)
        answer = answers[a.patient_id]
        items.append(
            DayItem(
                a,
                DayPatient(
                    open_alerts=s["open_alerts"],
                    screen_status=state.status.value if state else "missing",
                    screen_reason=state.reason if state else "",
                    migraine_days_28=s["migraine_28"],
                    recorded_days_28=s["recorded_28"],
                    baseline_migraine_days=s["baseline_migraine"],
                    baseline_recorded_days=s["baseline_recorded"],
                    questionnaires_due=[d.instrument.label for d in entry.due] if entry else [],
                    last_entry=s["last_entry"],
                    today=today,
                    ready=answer.ready,
                    gate_reasons=gate_words(answer),
                    self_harm=s["self_harm"],
                ),
            )
        )
    audit(session, actor, "read", "day_list")
    return DayList(today, tz, items)


def patient_summaries(
    session: Session,
    *,
    actor: Actor,
    patient_ids: list[int],
    today: dt.date,
    now: dt.datetime | None = None,
) -> dict[int, dict[str, Any]]:
    """Open alerts (and the words of the self-harm ones), migraine days (last 28 days and
    baseline) and the last diary entry of each patient, in six grouped queries (staff; other
    clinics' ids find nothing)."""
    require_staff(actor)
    out: dict[int, dict[str, Any]] = {
        pid: {
            "open_alerts": 0,
            "migraine_28": 0,
            "recorded_28": 0,
            "baseline_migraine": None,
            "baseline_recorded": None,
            "last_entry": None,
            "self_harm": (),
        }
        for pid in patient_ids
    }
    if not patient_ids:
        return out
    clinic = actor.clinic_id
    for pid, n in session.execute(
        select(RedFlagAlertRow.patient_id, func.count())
        .where(
            RedFlagAlertRow.clinic_id == clinic,
            RedFlagAlertRow.patient_id.in_(patient_ids),
            RedFlagAlertRow.resolution_kind.is_(None),
        )
        .group_by(RedFlagAlertRow.patient_id)
    ):
        out[pid]["open_alerts"] = int(n)
    for pid, found in open_self_harm(session, clinic, patient_ids).items():
        out[pid]["self_harm"] = tuple(w for _, w in found)
    window = 28  # the outcome blocks' length (DESIGN.md glossary "Window")
    migraine = func.sum(case((DayUnitRow.migraine, 1), else_=0))
    for pid, m, n in session.execute(
        select(DayUnitRow.patient_id, migraine, func.count())
        .where(
            DayUnitRow.clinic_id == clinic,
            DayUnitRow.patient_id.in_(patient_ids),
            DayUnitRow.day > today - dt.timedelta(days=window),
            DayUnitRow.day <= today,
            DayUnitRow.recorded,
        )
        .group_by(DayUnitRow.patient_id)
    ):
        out[pid]["migraine_28"], out[pid]["recorded_28"] = int(m or 0), int(n)
    baseline_days = DEFAULT_OUTCOME_CONFIG.baseline_days
    anchor = (
        select(
            TreatmentSessionRow.patient_id.label("pid"),
            day_number(func.min(TreatmentSessionRow.start_local)).label("anchor"),
        )
        .where(
            TreatmentSessionRow.clinic_id == clinic,
            TreatmentSessionRow.patient_id.in_(patient_ids),
        )
        .group_by(TreatmentSessionRow.patient_id)
        .subquery()
    )
    baseline = select(
        anchor.c.pid,
        func.coalesce(func.sum(case((DayUnitRow.migraine, 1), else_=0)), 0),
        func.count(DayUnitRow.patient_id),
    ).select_from(
        anchor.outerjoin(
            DayUnitRow,
            and_(
                DayUnitRow.patient_id == anchor.c.pid,
                DayUnitRow.day_num >= anchor.c.anchor - baseline_days,
                DayUnitRow.day_num < anchor.c.anchor,
                DayUnitRow.recorded,
            ),
        )
    )
    for pid, m, n in session.execute(baseline.group_by(anchor.c.pid)):
        out[pid]["baseline_migraine"], out[pid]["baseline_recorded"] = int(m), int(n)
    last: dict[int, dt.date] = {}
    for pid, d in session.execute(
        select(DiaryDayRow.patient_id, func.max(DiaryDayRow.day))
        .where(DiaryDayRow.clinic_id == clinic, DiaryDayRow.patient_id.in_(patient_ids))
        .group_by(DiaryDayRow.patient_id)
    ):
        last[pid] = d
    for pid, started in session.execute(
        select(AttackRow.patient_id, func.max(AttackRow.start_local))
        .where(AttackRow.clinic_id == clinic, AttackRow.patient_id.in_(patient_ids))
        .group_by(AttackRow.patient_id)
    ):
        if started is not None and (pid not in last or started.date() > last[pid]):
            last[pid] = started.date()
    for pid, d in last.items():
        out[pid]["last_entry"] = d
    return out
