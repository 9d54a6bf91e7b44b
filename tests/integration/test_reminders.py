"""E-mail reminders against a real SMTP server (aiosmtpd on 127.0.0.1), on both engines.

The promises: a reminder arrives with its link and nothing about the patient's health; it is
never sent twice for one reason; nobody who opted out, is deactivated or has no login gets
one; with SMTP off nothing is sent or logged; a rolled-back run sends nothing and its
reminders stay due; one the server refused is retried on the next run.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, func, select, update
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.config import Settings, get_settings
from acuhead.domain.diary import Attack, DiaryDay
from acuhead.services import accounts, clinical, diary, reminders
from acuhead.services.actors import Actor, Role
from acuhead.services.mail import mailer_from_settings
from acuhead.store.db import Database
from acuhead.store.models import Patient, QuestionnaireSchedule, ReminderLog, User

from .factories import PASSWORD, World

BASE = "https://clinic.example"
# The latest noon UTC: a run an hour later stays on the same local day in Berlin and UTC (with
# the wall clock itself, a suite run between 22:00 and 23:00 UTC saw Berlin's "yesterday" move
# under the second run and sent a legitimate new reminder).
_CLOCK = dt.datetime.now(dt.UTC)
NOW = _CLOCK.replace(hour=12, minute=0, second=0, microsecond=0) - dt.timedelta(
    days=1 if _CLOCK.hour < 12 else 0
)
BERLIN = ZoneInfo("Europe/Berlin")
A_YESTERDAY = NOW.astimezone(BERLIN).date() - dt.timedelta(days=1)
B_YESTERDAY = NOW.date() - dt.timedelta(days=1)  # patient B lives in UTC
# What patient A recorded, none of which may appear in an e-mail.
A_NOTES = "Zigzag aura then Sumatriptan"
HEALTH_WORDS = (
    "headache", "migraine", "aura", "zigzag", "sumatriptan", "triptan", "tension", "ichd",
    "hit-6", "hit6", "midas", "pss", "pgic", "severe", "impact", "pain", "stress", "intensity",
    "score", "diagnos", "A-1", "B-1", "Patient A", "Patient B", "Clinic X",
)  # fmt: skip
HEALTH_NUMBERS = ("66", "9", "7")  # HIT-6 total, peak intensity, stress


class Inbox:
    """An SMTP handler keeping what it accepted; it refuses the addresses in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def body_of(mail: EmailMessage) -> str:
    return str(mail.get_content()).replace("\r\n", "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def settings(smtp: tuple[Inbox, int]) -> Settings:
    return Settings(
        env="test",
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        smtp_starttls=False,
        mail_from="Clinic reminders <reminders@clinic.example>",
        base_url=BASE + "/",
    )


@dataclass(frozen=True)
class Cast:
    a: str
    b: str
    opted_out: str
    inactive: str


@pytest.fixture
def cast(db: Database, world: World) -> Cast:
    """Patients A (Berlin) and B (UTC) with logins; C opted out; D's login is deactivated.

    Everyone was registered 40 days ago. Clinic X asks for HIT-6 every 28 days. A answered
    HIT-6 40 days ago (due again) and recorded a headache 3 days ago but nothing yesterday; B
    recorded yesterday and never answered HIT-6 (its baseline is due).
    """
    sx = Actor.system(world.clinic_x)
    with db.write() as s:
        for email, ext, reminders_on, active in (
            ("c@x.test", "C-1", False, True),
            ("d@x.test", "D-1", True, False),
        ):
            user = accounts.create_user(
                s, clinic_id=world.clinic_x, email=email, name=ext, role=Role.PATIENT,
                password=PASSWORD,
            )  # fmt: skip
            user.email_reminders = reminders_on
            user.active = active
            diary.create_patient(s, actor=sx, external_id=ext, user_id=user.id)
        s.execute(update(Patient).values(created_utc=NOW.replace(tzinfo=None) - dt.timedelta(40)))
        s.add(QuestionnaireSchedule(clinic_id=world.clinic_x, instrument="hit6", every_days=28))
        a_day = A_YESTERDAY - dt.timedelta(days=2)
        diary.upsert_day(
            s, actor=sx, patient_id=world.patient_a,
            day=DiaryDay(a_day, headache=True, stress=7, notes=A_NOTES), version=None,
        )  # fmt: skip
        diary.create_attack(
            s, actor=sx, patient_id=world.patient_a,
            attack=Attack(start=dt.datetime.combine(a_day, dt.time(8)), peak_intensity=9),
        )  # fmt: skip
        clinical.record_questionnaire(
            s, actor=sx, patient_id=world.patient_a, instrument="hit6",
            completed_on=A_YESTERDAY - dt.timedelta(days=39), answers={"total": 66},
        )  # fmt: skip
        diary.upsert_day(
            s, actor=sx, patient_id=world.patient_b,
            day=DiaryDay(B_YESTERDAY, headache=False), version=None,
        )  # fmt: skip
    return Cast(world.patient_a_email, world.patient_b_email, "c@x.test", "d@x.test")


def log_rows(db: Database) -> set[tuple[str, str]]:
    with db.read() as s:
        return {(k, r) for k, r in s.execute(select(ReminderLog.kind, ReminderLog.reason))}


def test_reminders_arrive_with_the_link_and_without_health_data(
    db: Database, cast: Cast, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    result = reminders.send_reminders(db, settings=settings, now=NOW)
    assert (result.diary, result.questionnaire, result.emails, result.sent, result.failed) == (
        1, 2, 2, 2, 0,
    )  # fmt: skip
    assert sorted(m["To"] for m in inbox.messages) == [cast.a, cast.b]

    (to_a,) = inbox.to(cast.a)
    assert to_a["Subject"] == "Reminder: your diary and a questionnaire"
    assert to_a["From"] == "Clinic reminders <reminders@clinic.example>"
    body = body_of(to_a)
    assert f"{BASE}/diary?date={A_YESTERDAY.isoformat()}\n" in body
    assert f"{BASE}/diary/questionnaires\n" in body
    assert f"{BASE}/diary/settings\n" in body
    (to_b,) = inbox.to(cast.b)
    assert to_b["Subject"] == "Reminder: a questionnaire is waiting"
    assert "/diary?date=" not in body_of(to_b)  # B kept yesterday's diary

    for mail in inbox.messages:
        text = str(mail["Subject"]) + "\n" + body_of(mail)
        for word in HEALTH_WORDS:
            assert word.lower() not in text.lower(), (mail["To"], word)
        for number in HEALTH_NUMBERS:
            assert not re.search(rf"\b{number}\b", text), (mail["To"], number)
        assert A_NOTES.lower() not in text.lower()

    hit6_due = (A_YESTERDAY - dt.timedelta(days=39) + dt.timedelta(days=28)).isoformat()
    b_baseline = (NOW - dt.timedelta(days=40)).date().isoformat()
    assert log_rows(db) == {
        ("diary", f"diary:{A_YESTERDAY.isoformat()}"),
        ("questionnaire", f"hit6:{hit6_due}"),
        ("questionnaire", f"hit6:{b_baseline}"),
    }


def test_a_reminder_is_never_sent_twice_for_the_same_reason(
    db: Database, cast: Cast, settings: Settings, smtp: tuple[Inbox, int], monkeypatch: Any
) -> None:
    inbox = smtp[0]
    with db.read() as s:
        stale = reminders.find_reminders(s, now=NOW)  # what a second, racing run would see
    assert len(stale) == 3
    assert reminders.send_reminders(db, settings=settings, now=NOW).sent == 2
    again = reminders.send_reminders(db, settings=settings, now=NOW + dt.timedelta(hours=1))
    assert (again.emails, again.sent) == (0, 0)
    assert len(inbox.messages) == 2

    # A run that found the same reminders before the first one committed: the unique log row
    # (ON CONFLICT DO NOTHING ... RETURNING) leaves it nothing to send.
    monkeypatch.setattr(reminders, "find_reminders", lambda session, now=None: stale)
    with db.write() as s:
        outbox = reminders.queue_reminders(s, base_url=BASE, now=NOW)
    assert outbox.mails == [] and outbox.counts["emails"] == 0
    assert len(inbox.messages) == 2 and len(log_rows(db)) == 3


def test_nobody_opted_out_and_nothing_at_all_with_smtp_off(
    db: Database, cast: Cast, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    off = settings.model_copy(update={"smtp_host": ""})
    assert mailer_from_settings(off) is None
    result = reminders.send_reminders(db, settings=off, now=NOW)
    assert (result.enabled, result.emails, result.sent) == (False, 0, 0)
    assert inbox.messages == [] and log_rows(db) == set()

    dry = reminders.send_reminders(db, settings=settings, now=NOW, dry_run=True)
    assert (dry.diary, dry.questionnaire, dry.emails, dry.sent) == (1, 2, 2, 0)
    assert inbox.messages == [] and log_rows(db) == set()

    reminders.send_reminders(db, settings=settings, now=NOW)
    recipients = {m["To"] for m in inbox.messages}
    assert cast.opted_out not in recipients and cast.inactive not in recipients
    assert recipients == {cast.a, cast.b}

    # A switches reminders off: the next day brings them nothing.
    with db.write() as s:
        user = s.scalar(select(User).where(User.email == cast.a))
        assert user is not None
        actor = accounts.actor_for(s, user)
        reminders.set_email_reminders(s, actor=actor, enabled=False)
        assert reminders.email_reminders_enabled(s, actor=actor) is False
    tomorrow = reminders.send_reminders(db, settings=settings, now=NOW + dt.timedelta(days=1))
    assert cast.a not in {m["To"] for m in inbox.messages[2:]}
    assert tomorrow.sent == len(inbox.messages) - 2


def test_a_rolled_back_run_sends_nothing_and_its_reminders_stay_due(
    db: Database, cast: Cast, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    mailer = mailer_from_settings(settings)
    assert mailer is not None
    with pytest.raises(RuntimeError, match="after the reminders were logged"), db.write() as s:
        outbox = reminders.queue_reminders(s, base_url=BASE, now=NOW)
        assert len(outbox.mails) == 2
        assert outbox.deliver(mailer).sent == 0  # still inside the transaction: held back
        raise RuntimeError("something failed after the reminders were logged")
    assert outbox.deliver(mailer).sent == 0
    assert inbox.messages == [] and log_rows(db) == set()

    result = reminders.send_reminders(db, settings=settings, now=NOW)
    assert result.sent == 2 and len(inbox.messages) == 2


def test_a_refused_reminder_is_given_back_for_the_next_run(
    db: Database, cast: Cast, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    inbox.refuse.add(cast.b)
    first = reminders.send_reminders(db, settings=settings, now=NOW)
    assert (first.emails, first.sent, first.failed) == (2, 1, 1)
    assert [m["To"] for m in inbox.messages] == [cast.a]
    assert len(log_rows(db)) == 2  # B's row was given back
    inbox.refuse.clear()
    second = reminders.send_reminders(db, settings=settings, now=NOW)
    assert (second.emails, second.sent, second.failed) == (1, 1, 0)
    assert [m["To"] for m in inbox.messages] == [cast.a, cast.b]

    dead = settings.model_copy(update={"smtp_port": free_port()})  # nobody listens there
    with db.write() as s:
        s.execute(update(Patient).values(created_utc=NOW.replace(tzinfo=None)))
    later = reminders.send_reminders(db, settings=dead, now=NOW + dt.timedelta(days=1))
    assert later.emails > 0 and later.sent == 0 and later.failed == later.emails
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ReminderLog)) == 3


def test_cli_prints_counts_and_never_addresses(
    db: Database, cast: Cast, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    # The command reads the wall clock; the cast is laid out around NOW (the latest noon UTC),
    # so the command is run at NOW too: between 00:00 and 12:00 UTC the wall clock's
    # "yesterday" for patient B is a day later than the cast's, and B was reminded as well.
    monkeypatch.setattr(reminders, "_aware", lambda now: NOW if now is None else now)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["reminders", "send"])
        assert r.exit_code == 0 and "reminders are off" in r.output and inbox.messages == []
        monkeypatch.setenv("ACUHEAD_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ACUHEAD_SMTP_PORT", str(port))
        monkeypatch.setenv("ACUHEAD_SMTP_STARTTLS", "false")
        get_settings.cache_clear()
        r = runner.invoke(app, ["reminders", "send", "--dry-run"])
        assert r.exit_code == 0, r.output
        assert "would send 2 e-mail(s): diary=1 questionnaire=2 appointment=0 failed=0" in r.output
        assert inbox.messages == []
        r = runner.invoke(app, ["reminders", "send"])
        assert r.exit_code == 0, r.output
        assert "sent 2 e-mail(s): diary=1 questionnaire=2 appointment=0 failed=0" in r.output
        assert "@" not in r.output and len(inbox.messages) == 2
        assert "http://127.0.0.1:8000/diary/questionnaires" in body_of(inbox.messages[0])
    finally:
        get_settings.cache_clear()


def test_finding_reminders_takes_the_same_few_queries_for_any_number_of_patients(
    db: Database, cast: Cast, world: World
) -> None:
    def selects() -> tuple[int, int]:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            with db.read() as s:
                found = reminders.find_reminders(s, now=NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return sum(1 for q in seen if q.lstrip().upper().startswith("SELECT")), len(found)

    few, found_few = selects()
    with db.write() as s:
        sx = Actor.system(world.clinic_x)
        for n in range(30):
            user = accounts.create_user(
                s, clinic_id=world.clinic_x, email=f"p{n}@x.test", name=f"P{n}",
                role=Role.PATIENT, password=None,
            )  # fmt: skip
            diary.create_patient(s, actor=sx, external_id=f"P-{n}", user_id=user.id)
        s.execute(update(Patient).values(created_utc=NOW.replace(tzinfo=None) - dt.timedelta(40)))
    many, found_many = selects()
    assert found_few == 3 and found_many == 3 + 30 * 2  # each new patient: diary + baseline
    assert many == few <= 6  # eligible, diary days, attacks, due, appointments, sent log
