"""E-mail reminders: yesterday's diary, questionnaires that are due, and appointments.

Why this shape (DESIGN.md, job-server's "side effects only after commit"):

* **Who is reminded** is found set-based, for every clinic at once: patients with an active
  login that has an e-mail address and ``email_reminders`` on; a diary reminder when neither a
  diary day nor an attack is recorded for *yesterday* in the patient's own time zone (and the
  patient was registered by then); a questionnaire reminder for each instrument
  ``questionnaire_due`` says is due. A fixed handful of queries, however many patients.
* **Never twice**: each reminder is a ``ReminderLog`` row, unique per user, kind and reason
  (``diary:2026-11-26``, ``<instrument>:2026-11-30``). Rows are inserted with ON CONFLICT DO NOTHING
  ... RETURNING, so of two runs at the same moment only one gets a row back, and only reminders
  whose row this transaction inserted are mailed.
* **Only after the commit**: ``queue_reminders`` returns an ``Outbox`` that watches its
  transaction; ``Outbox.deliver`` sends nothing unless that transaction committed, so a rolled
  back run sends nothing and its reminders stay due. A reminder the SMTP server did not accept
  is given back (its row deleted) for the next run.
* **No health data in a message**: the text is fixed: "please fill in your diary" and/or "a
  questionnaire is waiting", a link, and how to switch reminders off. No name, diagnosis,
  intensity, score, instrument name or clinic wording. Logs carry counts, never addresses.
* **Appointments** (issue 15): a patient with a login is reminded once of each booked
  appointment that starts within the next ``APPOINTMENT_AHEAD`` hours, with its date and time
  in the clinic's zone and nothing else: no practitioner, no note, no reason for the visit.
  The reason key holds the start, so a moved appointment is reminded again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, event, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from acuhead.config import Settings
from acuhead.errors import NotFound
from acuhead.services import questionnaire_due
from acuhead.services.actors import Actor, Role
from acuhead.services.mail import Mail, Mailer, SendResult, mailer_from_settings
from acuhead.store.audit import audit
from acuhead.store.db import Database
from acuhead.store.models import (
    AppointmentRow,
    AttackRow,
    DiaryDayRow,
    Patient,
    PatientAppSettings,
    ReminderLog,
    User,
    utcnow,
)

DIARY = "diary"
QUESTIONNAIRE = "questionnaire"
APPOINTMENT = "appointment"
# A daily job reminds of every appointment in the next 36 hours: run in the morning, that is
# today's later ones and all of tomorrow's (each only once).
APPOINTMENT_AHEAD = dt.timedelta(hours=36)
INSERT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reason to remind one user; ``reason`` carries a date and at most an instrument code."""

    user_id: int
    clinic_id: int
    email: str
    kind: str  # diary | questionnaire | appointment
    reason: str
    day: dt.date  # the diary day asked for, the questionnaire's due date, the appointment's day
    at: dt.datetime | None = None  # an appointment's start, aware, in the clinic's zone

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.user_id, self.kind, self.reason)


def _eligible() -> Select[Any]:
    """Patients whose login may get reminders (one row per patient).

    The login's clinic is compared in Python (``find_reminders``): as a join condition it led
    SQLite to probe patients by clinic for every user, quadratic in the size of a clinic.
    """
    return (
        select(
            Patient.id,
            Patient.clinic_id,
            Patient.timezone,
            Patient.created_utc,
            User.id,
            User.email,
            User.clinic_id,
            PatientAppSettings.reminder_minute,
        )
        .join(User, User.id == Patient.user_id)
        .outerjoin(PatientAppSettings, PatientAppSettings.patient_id == Patient.id)
        .where(
            User.active == true(),
            User.email_reminders == true(),
            User.role == Role.PATIENT.value,
            User.email.like("%@%"),
        )
    )


def _aware(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)


def find_reminders(session: Session, *, now: dt.datetime | None = None) -> list[Reminder]:
    """Every reminder due now that has not been sent before, across all clinics."""
    now = _aware(now)
    rows = session.execute(_eligible()).all()
    if not rows:
        return []
    zones: dict[str, ZoneInfo] = {}
    yesterday: dict[int, dt.date] = {}
    people: dict[int, tuple[int, int, str]] = {}  # patient -> (clinic, user, e-mail)
    for pid, cid, tzname, created_utc, uid, email, user_clinic, minute in rows:
        if user_clinic != cid:
            continue  # a login of another clinic linked by mistake: never mailed from here
        tz = zones.get(tzname) or zones.setdefault(tzname, ZoneInfo(tzname))
        local = now.astimezone(tz)
        day = local.date() - dt.timedelta(days=1)
        if minute is not None:
            # A time the patient chose (patient app, issue 14): from then on, about today.
            people[pid] = (cid, uid, email)
            if local.hour * 60 + local.minute < minute:
                continue
            day = local.date()
        registered = (
            created_utc.replace(tzinfo=dt.UTC).astimezone(tz).date() if created_utc else day
        )
        people[pid] = (cid, uid, email)
        if registered <= day:
            yesterday[pid] = day

    found: list[Reminder] = []
    if yesterday:
        days = sorted(set(yesterday.values()))  # one or two dates: time zones span < 2 days
        eligible_ids = _eligible().with_only_columns(Patient.id)
        recorded: set[tuple[int, dt.date]] = set(
            (pid, day)
            for pid, day in session.execute(
                select(DiaryDayRow.patient_id, DiaryDayRow.day).where(
                    DiaryDayRow.day.in_(days), DiaryDayRow.patient_id.in_(eligible_ids)
                )
            )
        )
        for pid, start in session.execute(
            select(AttackRow.patient_id, AttackRow.start_local).where(
                AttackRow.start_local >= dt.datetime.combine(days[0], dt.time()),
                AttackRow.start_local
                < dt.datetime.combine(days[-1], dt.time()) + dt.timedelta(days=1),
                AttackRow.patient_id.in_(eligible_ids),
            )
        ):
            recorded.add((pid, start.date()))
        for pid, day in yesterday.items():
            if (pid, day) not in recorded:
                cid, uid, email = people[pid]
                found.append(Reminder(uid, cid, email, DIARY, f"diary:{day.isoformat()}", day))

    due = questionnaire_due.compute_due(
        session, patient_ids=_eligible().with_only_columns(Patient.id), now=now
    )
    for pid, status in due.items():
        if pid not in people:
            continue
        cid, uid, email = people[pid]
        for item in status.due:
            reason = f"{item.instrument.value}:{item.due_on.isoformat()}"
            found.append(Reminder(uid, cid, email, QUESTIONNAIRE, reason, item.due_on))

    found.extend(_appointment_reminders(session, people, now))
    if not found:
        return []
    reasons = sorted({r.reason for r in found})
    sent = {
        (uid, kind, reason)
        for uid, kind, reason in session.execute(
            select(ReminderLog.user_id, ReminderLog.kind, ReminderLog.reason).where(
                ReminderLog.reason.in_(reasons)
            )
        )
    }
    return [r for r in found if r.key not in sent]


def _appointment_reminders(
    session: Session, people: dict[int, tuple[int, int, str]], now: dt.datetime
) -> list[Reminder]:
    """Booked appointments of reminded patients starting within ``APPOINTMENT_AHEAD``."""
    if not people:
        return []
    lo = now.astimezone(dt.UTC).replace(tzinfo=None)
    hi = (now + APPOINTMENT_AHEAD).astimezone(dt.UTC).replace(tzinfo=None)
    out = []
    for aid, pid, start, tzname in session.execute(
        select(
            AppointmentRow.id,
            AppointmentRow.patient_id,
            AppointmentRow.start_utc,
            AppointmentRow.timezone,
        ).where(
            AppointmentRow.status == "booked",
            AppointmentRow.start_utc > lo,
            AppointmentRow.start_utc <= hi,
            AppointmentRow.patient_id.in_(_eligible().with_only_columns(Patient.id)),
        )
    ):
        if pid not in people:
            continue
        cid, uid, email = people[pid]
        local = start.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tzname))
        reason = f"appointment:{aid}:{start.isoformat(timespec='minutes')}"
        out.append(Reminder(uid, cid, email, APPOINTMENT, reason, local.date(), local))
    return out


# --- messages ----------------------------------------------------------------------------------


def compose(reminders: Sequence[Reminder], *, base_url: str) -> Mail:
    """One e-mail for one user's reminders: fixed words and links, nothing about their health."""
    base = base_url.rstrip("/")
    diary_days = sorted({r.day for r in reminders if r.kind == DIARY})
    questionnaires = sum(1 for r in reminders if r.kind == QUESTIONNAIRE)
    visits = sorted(r.at for r in reminders if r.kind == APPOINTMENT and r.at is not None)
    parts: list[str] = ["Hello,", ""]
    for at in visits:
        zone = str(at.tzinfo).replace("_", " ")
        parts += [
            f"You have an appointment on {at:%A %d %B %Y} at {at:%H:%M} ({zone} time).",
            "If you cannot come, please let the clinic know.",
            f"{base}/login",
            "",
        ]
    if diary_days:
        parts += [
            "Please fill in your diary for yesterday:",
            f"{base}/diary?date={diary_days[-1].isoformat()}",
            "",
        ]
    if questionnaires:
        parts += [
            "A questionnaire is waiting for you:"
            if questionnaires == 1
            else f"{questionnaires} questionnaires are waiting for you:",
            f"{base}/diary/questionnaires",
            "",
        ]
    parts += [
        "You can switch these reminders off here:",
        f"{base}/diary/settings",
        "",
        "This message was sent automatically; replies are not read.",
    ]
    if visits and not diary_days and not questionnaires:
        subject = "Reminder: your appointment"
    elif visits:
        subject = "Reminders from your clinic"
    elif diary_days and questionnaires:
        subject = "Reminder: your diary and a questionnaire"
    elif diary_days:
        subject = "Reminder: your diary"
    else:
        subject = "Reminder: a questionnaire is waiting"
    return Mail(to=reminders[0].email, subject=subject, body="\n".join(parts) + "\n")


# --- the transaction and the outbox ------------------------------------------------------------


@dataclass
class Outbox:
    """The e-mails of one transaction, released only once that transaction has committed."""

    mails: list[Mail] = field(default_factory=list)
    reminders: list[list[Reminder]] = field(default_factory=list)  # per mail
    committed: bool = False
    discarded: bool = False
    failed: list[list[Reminder]] = field(default_factory=list)  # after deliver: not accepted

    def watch(self, session: Session) -> None:
        def _committed(_session: Session) -> None:
            if not self.discarded:
                self.committed = True

        def _rolled_back(_session: Session, _previous: Any = None) -> None:
            if not self.committed:
                self.discarded = True

        event.listen(session, "after_commit", _committed, once=True)
        event.listen(session, "after_rollback", _rolled_back, once=True)

    @property
    def counts(self) -> dict[str, int]:
        flat = [r for group in self.reminders for r in group]
        return {
            DIARY: sum(1 for r in flat if r.kind == DIARY),
            QUESTIONNAIRE: sum(1 for r in flat if r.kind == QUESTIONNAIRE),
            APPOINTMENT: sum(1 for r in flat if r.kind == APPOINTMENT),
            "emails": len(self.mails),
        }

    def deliver(self, mailer: Mailer) -> SendResult:
        """Send, if and only if the transaction committed; at most once."""
        if not self.committed or self.discarded or not self.mails:
            return SendResult(0, ())
        mails, self.mails = self.mails, []
        result = mailer.send(mails)
        self.failed = [self.reminders[n] for n in result.failed]
        return result


def _insert_logs(session: Session, reminders: Sequence[Reminder], when: dt.datetime) -> set[Any]:
    """Insert log rows, skipping any that exist; the keys this statement really inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted: set[Any] = set()
    for start in range(0, len(reminders), INSERT_CHUNK):
        chunk = reminders[start : start + INSERT_CHUNK]
        stmt = (
            insert(ReminderLog)
            .values(
                [
                    {
                        "clinic_id": r.clinic_id,
                        "user_id": r.user_id,
                        "kind": r.kind,
                        "reason": r.reason,
                        "sent_utc": when,
                    }
                    for r in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["user_id", "kind", "reason"])
            .returning(ReminderLog.user_id, ReminderLog.kind, ReminderLog.reason)
        )
        inserted.update(tuple(row) for row in session.execute(stmt))
    return inserted


def queue_reminders(session: Session, *, base_url: str, now: dt.datetime | None = None) -> Outbox:
    """Log every due reminder in this transaction and return the e-mails to send after it.

    The caller commits (or not) and then calls ``Outbox.deliver``.
    """
    outbox = Outbox()
    outbox.watch(session)
    found = find_reminders(session, now=now)
    if not found:
        return outbox
    unique = list({r.key: r for r in found}.values())
    inserted = _insert_logs(session, unique, utcnow())
    mine = [r for r in unique if r.key in inserted]
    by_user: dict[int, list[Reminder]] = defaultdict(list)
    for r in mine:
        by_user[r.user_id].append(r)
    for group in by_user.values():
        outbox.reminders.append(group)
        outbox.mails.append(compose(group, base_url=base_url))
    for clinic_id in sorted({r.clinic_id for r in mine}):
        audit(session, Actor.system(clinic_id), "remind", "reminders")
    return outbox


def give_back(session: Session, failed: Sequence[Sequence[Reminder]]) -> int:
    """Delete the log rows of reminders that were not delivered, so the next run retries."""
    n = 0
    for group in failed:
        for r in group:
            session.execute(
                delete(ReminderLog).where(
                    ReminderLog.user_id == r.user_id,
                    ReminderLog.kind == r.kind,
                    ReminderLog.reason == r.reason,
                )
            )
            n += 1
    return n


@dataclass(frozen=True, slots=True)
class RunResult:
    enabled: bool  # SMTP configured
    dry_run: bool
    diary: int  # diary reminders (one per patient and day)
    questionnaire: int  # questionnaire reminders (one per patient, instrument and due date)
    emails: int  # e-mails prepared (one per patient and run)
    sent: int
    failed: int
    appointment: int = 0  # appointment reminders (one per appointment and start time)


def send_reminders(
    db: Database,
    *,
    settings: Settings,
    mailer: Mailer | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> RunResult:
    """The reminder job (``acuhead reminders send``): one transaction, then the e-mails.

    Works on the database rather than a session because it owns the transaction boundary
    the e-mails must wait for. With SMTP off (``smtp_host`` empty) nothing is logged or sent;
    ``dry_run`` counts what would be sent and writes nothing.
    """
    mailer = mailer or mailer_from_settings(settings)
    enabled = mailer is not None
    if dry_run or mailer is None:
        if not dry_run:
            return RunResult(False, False, 0, 0, 0, 0, 0)
        with db.read() as session:
            found = find_reminders(session, now=now)
        users = {r.user_id for r in found}
        return RunResult(
            enabled,
            True,
            sum(1 for r in found if r.kind == DIARY),
            sum(1 for r in found if r.kind == QUESTIONNAIRE),
            len(users),
            0,
            0,
            sum(1 for r in found if r.kind == APPOINTMENT),
        )
    with db.write() as session:
        outbox = queue_reminders(session, base_url=settings.base_url, now=now)
    counts = outbox.counts
    result = outbox.deliver(mailer)
    if outbox.failed:
        with db.write() as session:
            give_back(session, outbox.failed)
    return RunResult(
        True,
        False,
        counts[DIARY],
        counts[QUESTIONNAIRE],
        counts["emails"],
        result.sent,
        len(result.failed),
        counts[APPOINTMENT],
    )


# --- the patient's own setting -----------------------------------------------------------------


def _own_user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFound("user not found")
    return user


def email_reminders_enabled(session: Session, *, actor: Actor) -> bool:
    """Whether the acting user gets reminder e-mails (a setting of the login, not the record)."""
    return bool(_own_user(session, actor).email_reminders)


def set_email_reminders(session: Session, *, actor: Actor, enabled: bool) -> None:
    """Switch the acting user's reminder e-mails on or off (only their own)."""
    user = _own_user(session, actor)
    if user.email_reminders != enabled:
        user.email_reminders = enabled
        audit(session, actor, "update", "reminder_setting", user.id)
