"""Appointment reminder e-mails through the reminder job and a real SMTP server (aiosmtpd),
on both engines: the date and time in the clinic's zone, nothing about the patient's health
or the appointment's note, once per appointment (again when it is moved), none when
cancelled, opted out or too far ahead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from acuhead.config import Settings
from acuhead.services import appointments as appts
from acuhead.services import reminders
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import Clinic, Patient, User

from .factories import World
from .test_reminders import BASE, HEALTH_WORDS, Inbox, body_of, free_port


@pytest.fixture
def smtp_inbox() -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    inbox.port = port  # type: ignore[attr-defined]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def mail_settings(smtp_inbox: Inbox) -> Settings:
    controller_port: int = smtp_inbox.port  # type: ignore[attr-defined]
    return Settings(
        env="test",
        smtp_host="127.0.0.1",
        smtp_port=controller_port,
        smtp_starttls=False,
        mail_from="Clinic reminders <reminders@clinic.example>",
        base_url=BASE + "/",
    )


# 08:00 UTC on Saturday 24 Oct 2026; the autumn change is the next night (Europe/Berlin)
NOW = dt.datetime(2026, 10, 24, 8, 0, tzinfo=dt.UTC)
NOTE = "pregnant, week 12; aura with numbness"


def _setup(db: Database, world: World) -> Actor:
    with db.write() as s:
        clinic = s.get(Clinic, world.clinic_x)
        assert clinic is not None
        clinic.timezone = "Europe/Berlin"
        # registered long ago and diary up to date is not this test's concern: no diary
        # reminders are wanted, so yesterday is recorded-free but registration is "today"
        s.execute(update(Patient).values(created_utc=NOW.replace(tzinfo=None)))
        u = s.scalars(select(User).where(User.email == world.prac_x)).one()
        return Actor(u.id, u.clinic_id, Role(u.role))


def _book(db: Database, prac: Actor, patient: int, start: dt.datetime) -> int:
    with db.write() as s:
        return appts.book(
            s,
            actor=prac,
            patient_id=patient,
            practitioner_id=prac.user_id or 0,
            start=start,
            duration_min=45,
            note=NOTE,
        ).id


def test_appointment_reminder_mail(
    db: Database,
    world: World,
    mail_settings: Settings,
    smtp_inbox: Inbox,
) -> None:
    inbox = smtp_inbox
    settings = mail_settings
    prac = _setup(db, world)
    # Sunday 25 Oct 09:00 CET (after the change) = 08:00 UTC, within 36 hours
    soon = _book(db, prac, world.patient_a, dt.datetime(2026, 10, 25, 8, 0, tzinfo=dt.UTC))
    # B: one in 3 days (too far ahead) and one cancelled tomorrow
    _book(db, prac, world.patient_b, dt.datetime(2026, 10, 27, 8, 0, tzinfo=dt.UTC))
    gone = _book(db, prac, world.patient_b, dt.datetime(2026, 10, 25, 10, 0, tzinfo=dt.UTC))
    with db.write() as s:
        appts.cancel(s, actor=prac, appointment_id=gone, version=1)

    result = reminders.send_reminders(db, settings=settings, now=NOW)
    assert (result.appointment, result.sent, result.failed) == (1, 1, 0)
    [mail] = inbox.to(world.patient_a_email)
    assert mail["Subject"] == "Reminder: your appointment"
    body = body_of(mail)
    assert (
        "You have an appointment on Sunday 25 October 2026 at 09:00 (Europe/Berlin time)." in body
    )
    assert "https://clinic.example/login" in body
    lowered = body.lower()
    for word in (*HEALTH_WORDS, "pregnant", "numbness", "Prac X", "acupunct"):
        assert word.lower() not in lowered, word
    assert not inbox.to(world.patient_b_email)

    # never twice for the same appointment and time
    again = reminders.send_reminders(db, settings=settings, now=NOW + dt.timedelta(hours=2))
    assert (again.appointment, again.sent) == (0, 0)

    # moved: reminded again, with the new time
    with db.write() as s:
        appts.move(
            s,
            actor=prac,
            appointment_id=soon,
            version=1,
            start=dt.datetime(2026, 10, 25, 13, 30, tzinfo=dt.UTC),
        )
    moved = reminders.send_reminders(db, settings=settings, now=NOW + dt.timedelta(hours=3))
    assert moved.appointment == 1
    latest = inbox.to(world.patient_a_email)[-1]
    assert "at 14:30 (Europe/Berlin time)" in body_of(latest)


def test_opted_out_patients_get_no_appointment_reminder(
    db: Database,
    world: World,
    mail_settings: Settings,
    smtp_inbox: Inbox,
) -> None:
    prac = _setup(db, world)
    with db.write() as s:
        s.execute(
            update(User).where(User.email == world.patient_a_email).values(email_reminders=False)
        )
    _book(db, prac, world.patient_a, dt.datetime(2026, 10, 25, 8, 0, tzinfo=dt.UTC))
    dry = reminders.send_reminders(db, settings=mail_settings, now=NOW, dry_run=True)
    assert dry.appointment == 0
    assert reminders.send_reminders(db, settings=mail_settings, now=NOW).sent == 0
    assert smtp_inbox.messages == []
