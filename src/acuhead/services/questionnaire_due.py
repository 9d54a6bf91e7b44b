"""Which questionnaires are due, for one patient or a whole clinic, from the stored schedule.

Why one module: the patient's questionnaire page, the notice on the diary page, the clinic's
list and the e-mail reminders must all agree on what is due, so they all read it here, and the
rule itself is the pure ``domain.schedule``.

Set-based: one SELECT returns, for every patient in scope and every active schedule row of the
patient's clinic, the last completion of that instrument and the first treatment session
(grouped subqueries joined once), however many patients there are; the rule then runs in
Python per patient. Care starts at the first session's local date, or at the patient's
registration (its UTC timestamp read in the patient's time zone) while there is none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select, true
from sqlalchemy.orm import Session

from acuhead.domain.instruments import BY_ID
from acuhead.domain.instruments import InstrumentSpec as Instrument
from acuhead.domain.schedule import DueQuestionnaire, schedule_status
from acuhead.services.actors import Actor, load_patient, require_staff
from acuhead.store.audit import audit
from acuhead.store.models import Patient, QuestionnaireRow, QuestionnaireSchedule
from acuhead.store.models import TreatmentSessionRow as SessionRow

_KNOWN = BY_ID


@dataclass(frozen=True, slots=True)
class PatientDue:
    """One patient's scheduled instruments (``status``: due and upcoming) and who they are."""

    patient_id: int
    clinic_id: int
    external_id: str
    display_name: str
    today: dt.date
    status: list[DueQuestionnaire] = field(default_factory=list)

    @property
    def due(self) -> list[DueQuestionnaire]:
        return [s for s in self.status if s.is_due]

    @property
    def label(self) -> str:
        return self.display_name or self.external_id

    @property
    def most_overdue_days(self) -> int:
        return max((d.overdue_days for d in self.due), default=0)


def _local_date(utc: dt.datetime, tz: ZoneInfo) -> dt.date:
    return utc.replace(tzinfo=dt.UTC).astimezone(tz).date()


def _statement(
    *,
    clinic_id: int | None,
    patient_ids: Iterable[int] | Select[tuple[int]] | None,
    practitioner_id: int | None,
) -> Select[tuple[object, ...]]:
    first = select(
        SessionRow.patient_id.label("patient_id"),
        func.min(SessionRow.start_local).label("first_start"),
    )
    last = select(
        QuestionnaireRow.patient_id.label("patient_id"),
        QuestionnaireRow.instrument.label("instrument"),
        func.max(QuestionnaireRow.completed_on).label("last_done"),
    )
    where = [QuestionnaireSchedule.active == true()]
    if clinic_id is not None:
        first = first.where(SessionRow.clinic_id == clinic_id)
        last = last.where(QuestionnaireRow.clinic_id == clinic_id)
        where.append(Patient.clinic_id == clinic_id)
    if patient_ids is not None:
        ids = patient_ids if isinstance(patient_ids, Select) else list(patient_ids)
        first = first.where(SessionRow.patient_id.in_(ids))
        last = last.where(QuestionnaireRow.patient_id.in_(ids))
        where.append(Patient.id.in_(ids))
    if practitioner_id is not None:
        where.append(Patient.practitioner_id == practitioner_id)
    first_q = first.group_by(SessionRow.patient_id).subquery("first_session")
    last_q = last.group_by(QuestionnaireRow.patient_id, QuestionnaireRow.instrument).subquery(
        "last_done"
    )
    return (
        select(
            Patient.id,
            Patient.clinic_id,
            Patient.external_id,
            Patient.display_name,
            Patient.timezone,
            Patient.created_utc,
            first_q.c.first_start,
            QuestionnaireSchedule.instrument,
            QuestionnaireSchedule.every_days,
            last_q.c.last_done,
        )
        .join(QuestionnaireSchedule, QuestionnaireSchedule.clinic_id == Patient.clinic_id)
        .outerjoin(first_q, first_q.c.patient_id == Patient.id)
        .outerjoin(
            last_q,
            and_(
                last_q.c.patient_id == Patient.id,
                last_q.c.instrument == QuestionnaireSchedule.instrument,
            ),
        )
        .where(*where)
        .order_by(Patient.id)
    )


def compute_due(
    session: Session,
    *,
    clinic_id: int | None = None,
    patient_ids: Iterable[int] | Select[tuple[int]] | None = None,
    practitioner_id: int | None = None,
    now: dt.datetime | None = None,
) -> dict[int, PatientDue]:
    """Schedule status of every patient in scope (all clinics when ``clinic_id`` is None;
    ``patient_ids`` may be a list or a SELECT of ids, kept in SQL).

    No access check: for callers that have made one (the functions below) or act for the
    whole installation (the reminder job). ``now`` is an aware time, default the clock.
    """
    now = now or dt.datetime.now(dt.UTC)
    zones: dict[str, ZoneInfo] = {}
    gathered: dict[int, tuple[PatientDue, dict[Instrument, int], dict[Instrument, dt.date]]] = {}
    starts: dict[int, tuple[dt.date, dt.date | None]] = {}
    for (
        pid,
        cid,
        external_id,
        display_name,
        tzname,
        created_utc,
        first_start,
        instrument,
        every_days,
        last_done,
    ) in session.execute(
        _statement(clinic_id=clinic_id, patient_ids=patient_ids, practitioner_id=practitioner_id)
    ):
        inst = _KNOWN.get(str(instrument))
        if inst is None:
            continue  # a schedule row for an instrument this version does not know
        if pid not in gathered:
            tz = zones.get(tzname) or zones.setdefault(tzname, ZoneInfo(tzname))
            treatment = first_start.date() if first_start is not None else None
            registered = _local_date(created_utc, tz) if created_utc is not None else None
            today = now.astimezone(tz).date()
            care = treatment or registered or today
            starts[pid] = (care, treatment)
            gathered[pid] = (
                PatientDue(pid, cid, external_id, display_name or "", today),
                {},
                {},
            )
        _, schedule, last = gathered[pid]
        schedule[inst] = int(every_days)
        if last_done is not None:
            last[inst] = last_done
    out: dict[int, PatientDue] = {}
    for pid, (patient, schedule, last) in gathered.items():
        care, treatment = starts[pid]
        patient.status.extend(
            schedule_status(
                schedule, last, care_start=care, today=patient.today, treatment_start=treatment
            )
        )
        out[pid] = patient
    return out


def patient_status(
    session: Session, *, actor: Actor, patient_id: int, now: dt.datetime | None = None
) -> list[DueQuestionnaire]:
    """Every instrument the patient's clinic schedules, due ones first, then upcoming."""
    patient = load_patient(session, actor, patient_id)
    found = compute_due(session, clinic_id=patient.clinic_id, patient_ids=[patient.id], now=now)
    audit(session, actor, "read", "questionnaire_due", patient_id=patient.id)
    entry = found.get(patient.id)
    return list(entry.status) if entry is not None else []


def for_patient(
    session: Session, *, actor: Actor, patient_id: int, now: dt.datetime | None = None
) -> list[DueQuestionnaire]:
    """Only the instruments due now (the diary page's notice, the reminder)."""
    return [
        s for s in patient_status(session, actor=actor, patient_id=patient_id, now=now) if s.is_due
    ]


def for_clinic(
    session: Session,
    *,
    actor: Actor,
    mine_only: bool = False,
    now: dt.datetime | None = None,
) -> list[PatientDue]:
    """The clinic's patients with a questionnaire due, the longest overdue first (staff)."""
    require_staff(actor)
    found = compute_due(
        session,
        clinic_id=actor.clinic_id,
        practitioner_id=actor.user_id if mine_only else None,
        now=now,
    )
    audit(session, actor, "read", "questionnaire_due")
    due = [p for p in found.values() if p.due]
    due.sort(key=lambda p: (-p.most_overdue_days, p.external_id))
    return due
