"""A practitioner's appointments as an iCalendar feed at a secret, revocable URL.

Calendar apps cannot log in, so the URL itself is the credential: a random token, of which
only the SHA-256 is stored (as for sessions and invitations; a copy of the database gives no
working URL). Creating a new URL revokes the old one; a revoked or unknown token answers
NotFound (404), so a leaked URL stops working the moment it is revoked.

Privacy first: every event says only "Appointment", with its time and a link into acuhead
(which asks for a login). No patient name or initials, no note, nothing clinical. A feed is
polled and stored by third-party calendar services and synced to phones, and its URL is a
bearer secret that is easily shared or logged; in a small practice even initials beside a
time can identify a person, and that they see an acupuncturist for headaches is health data
(GDPR Art. 9). The practitioner sees who it is in acuhead's own day view.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead import __version__
from acuhead.domain import appointments as rules
from acuhead.errors import Forbidden, NotFound, ValidationError
from acuhead.services.actors import Actor, Role, require_staff
from acuhead.store.audit import audit
from acuhead.store.models import AppointmentRow, CalendarFeedRow, User, utcnow

PAST_DAYS = 30
FUTURE_DAYS = 366
SUMMARY = "Appointment"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class FeedStatus:
    active: bool
    created_utc: dt.datetime | None


def _may_manage(session: Session, actor: Actor, practitioner_id: int) -> User:
    """A practitioner manages their own feed; an admin any feed of the clinic."""
    require_staff(actor)
    user = session.get(User, practitioner_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFound(f"practitioner {practitioner_id} not found")
    if actor.role != Role.ADMIN and actor.user_id != practitioner_id:
        raise Forbidden("only the practitioner or an admin manages this calendar feed")
    return user


def _active(session: Session, practitioner_id: int) -> list[CalendarFeedRow]:
    return list(
        session.scalars(
            select(CalendarFeedRow).where(
                CalendarFeedRow.practitioner_id == practitioner_id,
                CalendarFeedRow.revoked_utc.is_(None),
            )
        )
    )


def status(session: Session, *, actor: Actor, practitioner_id: int) -> FeedStatus:
    _may_manage(session, actor, practitioner_id)
    rows = _active(session, practitioner_id)
    return FeedStatus(bool(rows), max((r.created_utc for r in rows), default=None))


def create(session: Session, *, actor: Actor, practitioner_id: int) -> str:
    """A new secret token for the practitioner's feed (shown once; the old URL stops)."""
    user = _may_manage(session, actor, practitioner_id)
    now = utcnow()
    for row in _active(session, practitioner_id):
        row.revoked_utc = now
    token = secrets.token_urlsafe(32)
    session.add(
        CalendarFeedRow(
            clinic_id=user.clinic_id,
            practitioner_id=user.id,
            token_hash=_hash(token),
            created_utc=now,
        )
    )
    session.flush()
    audit(session, actor, "create", "calendar_feed", user.id)
    return token


def revoke(session: Session, *, actor: Actor, practitioner_id: int) -> int:
    """Revoke every active URL of the practitioner's feed; how many were active."""
    _may_manage(session, actor, practitioner_id)
    rows = _active(session, practitioner_id)
    now = utcnow()
    for row in rows:
        row.revoked_utc = now
    audit(session, actor, "revoke", "calendar_feed", practitioner_id)
    return len(rows)


def render(session: Session, *, token: str, base_url: str, now: dt.datetime | None = None) -> bytes:
    """The feed of the token's practitioner (booked appointments from ``PAST_DAYS`` ago to
    ``FUTURE_DAYS`` ahead), or NotFound for an unknown or revoked token."""
    if not token or len(token) > 200:
        raise NotFound("calendar feed not found")
    feed = session.scalars(
        select(CalendarFeedRow).where(
            CalendarFeedRow.token_hash == _hash(token), CalendarFeedRow.revoked_utc.is_(None)
        )
    ).first()
    if feed is None:
        raise NotFound("calendar feed not found")
    user = session.get(User, feed.practitioner_id)
    if user is None or not user.active:
        raise NotFound("calendar feed not found")
    now = now or dt.datetime.now(dt.UTC)
    lo = (now - dt.timedelta(days=PAST_DAYS)).astimezone(dt.UTC).replace(tzinfo=None)
    hi = (now + dt.timedelta(days=FUTURE_DAYS)).astimezone(dt.UTC).replace(tzinfo=None)
    rows = session.execute(
        select(
            AppointmentRow.id,
            AppointmentRow.start_utc,
            AppointmentRow.end_utc,
            AppointmentRow.timezone,
            AppointmentRow.version,
            AppointmentRow.created_utc,
        )
        .where(
            AppointmentRow.practitioner_id == feed.practitioner_id,
            AppointmentRow.clinic_id == feed.clinic_id,
            AppointmentRow.status == rules.Status.BOOKED.value,
            AppointmentRow.start_utc >= lo,
            AppointmentRow.start_utc < hi,
        )
        .order_by(AppointmentRow.start_utc, AppointmentRow.id)
    ).all()
    cal = Calendar()
    cal.add("prodid", f"-//acuhead//appointments {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "acuhead appointments")
    stamp = now.astimezone(dt.UTC)
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "acuhead"
    for aid, start, end, tz, version, created in rows:
        try:
            zone = rules.zone(tz)
        except ValidationError:  # a zone the system no longer knows: UTC is still correct
            zone = rules.zone("UTC")
        local = start.replace(tzinfo=dt.UTC).astimezone(zone)
        event = Event()
        event.add("uid", f"appointment-{aid}@{host}")
        event.add("dtstamp", stamp)
        event.add("created", created.replace(tzinfo=dt.UTC))
        event.add("dtstart", local)
        event.add("dtend", end.replace(tzinfo=dt.UTC).astimezone(zone))
        event.add("summary", SUMMARY)
        event.add("sequence", version - 1)
        event.add("transp", "OPAQUE")
        event.add(
            "url",
            f"{base_url.rstrip('/')}/clinic/appointments?day={local.date().isoformat()}"
            f"&practitioner={feed.practitioner_id}#appointment-{aid}",
        )
        cal.add_component(event)
    cal.add_missing_timezones()
    audit(
        session,
        Actor(feed.practitioner_id, feed.clinic_id, Role(user.role)),
        "read",
        "calendar_feed",
        feed.practitioner_id,
    )
    return bytes(cal.to_ical())
