"""Accounts run by a clinic admin: one-time links to set a password, staff and patient logins,
deactivation.

Nobody types another person's password. An admin creates the account and passes on a link
(an invitation, or a reset for a forgotten password); the person opening it chooses their own
password. The link carries a random token of 256 bits; only its SHA-256 is stored, so a copy
of the database cannot be turned into working links, and the token never goes into a log or
an audit row. A new link for a user retires that user's earlier unused ones, and so does
deactivating the account, so at most one link per person works at any time.

A link that cannot be used says why (unknown, already used, expired) and never whose it was.

When the clinic has mail configured, the admin may also have the link e-mailed to the account's
address (:func:`send_link`). Callers send it only once the transaction that made the link has
committed (an e-mail must never announce a link that was rolled back), and the message says no
more than a reminder does (``services/reminders.py``): that an account at the clinic is waiting
for a password, the link and until when it works. No name, role, clinic name or anything
about the person's health: an address may be read by others, and "your account at the
headache clinic" is itself health information.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from acuhead.errors import AcuheadError, FieldError, NotFound, ValidationError
from acuhead.services import diary
from acuhead.services.accounts import (
    MIN_PASSWORD,
    actor_for,
    create_user,
    hash_password,
    revoke_user_sessions,
)
from acuhead.services.actors import Actor, Role, find_patient, require_admin, require_staff
from acuhead.services.mail import Mail, Mailer
from acuhead.store.audit import audit
from acuhead.store.models import Clinic, Invitation, Patient, User, utcnow

LINK_DAYS = 7  # how long a link works; long enough for a patient to open it after the visit
MAX_PASSWORD = 1000  # bounds the hashing work one request can ask for
TOKEN_BYTES = 32
STAFF_ROLES = (Role.ADMIN, Role.PRACTITIONER)


class Purpose(StrEnum):
    INVITE = "invite"  # a new account: the person sets their first password
    RESET = "reset"  # an existing account: the person chooses a new password


class LinkUnusable(AcuheadError):
    """Base of the three reasons a link does not work; the message is safe to show anyone."""

    reason = "unusable"


class LinkUnknown(LinkUnusable):
    reason = "unknown"

    def __init__(self) -> None:
        super().__init__("this link is not valid; check that it was copied completely")


class LinkUsed(LinkUnusable):
    reason = "used"

    def __init__(self) -> None:
        super().__init__("this link has already been used")


class LinkExpired(LinkUnusable):
    reason = "expired"

    def __init__(self) -> None:
        super().__init__("this link has expired or was replaced by a newer one")


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A link just made. ``token`` exists only here: show it once, never store or log it."""

    token: str
    invitation_id: int
    user_id: int
    purpose: Purpose
    expires_utc: dt.datetime

    def path(self) -> str:
        return f"/invite/{self.token}"


@dataclass(frozen=True, slots=True)
class OpenLink:
    """A usable link, as the public page needs it."""

    invitation: Invitation
    user: User
    clinic_name: str


@dataclass(frozen=True, slots=True)
class PendingLink:
    invitation_id: int
    user_id: int
    name: str
    email: str
    role: str
    purpose: str
    created_utc: dt.datetime
    expires_utc: dt.datetime
    patient_id: int | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user_of_clinic(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFound(f"user {user_id} not found")
    return user


def account(session: Session, *, actor: Actor, user_id: int) -> User:
    """An account of the admin's clinic (NotFound for any other)."""
    require_admin(actor)
    return _user_of_clinic(session, actor, user_id)


def _retire_links(session: Session, user_id: int, now: dt.datetime) -> int:
    """Make the user's unused links unusable (they then read as expired)."""
    result = session.execute(
        update(Invitation)
        .where(
            Invitation.user_id == user_id,
            Invitation.used_utc.is_(None),
            Invitation.expires_utc > now,
        )
        .values(expires_utc=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def issue_link(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    purpose: Purpose = Purpose.INVITE,
    now: dt.datetime | None = None,
) -> IssuedLink:
    """A new one-time link for a user of the admin's clinic; earlier unused ones stop working.

    A deactivated account that already had a password gets no reset link: redeeming it would
    quietly reactivate the account, which should be a visible decision (reactivate first)."""
    require_admin(actor)
    user = _user_of_clinic(session, actor, user_id)
    if not user.active and user.password_hash is not None:
        raise ValidationError(
            FieldError("user_id", "this account is deactivated; reactivate it first")
        )
    now = now or utcnow()
    _retire_links(session, user.id, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = now + dt.timedelta(days=LINK_DAYS)
    row = Invitation(
        clinic_id=user.clinic_id,
        user_id=user.id,
        token_hash=token_hash(token),
        purpose=purpose.value,
        created_by=actor.user_id,
        created_utc=now,
        expires_utc=expires,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "invite" if purpose == Purpose.INVITE else "reset_link", "user", user.id)
    return IssuedLink(token, row.id, user.id, purpose, expires)


def link_mail(link: IssuedLink, *, to: str, base_url: str) -> Mail:
    """The e-mail carrying a link: fixed words, the link and its expiry, nothing personal."""
    url = base_url.rstrip("/") + link.path()
    until = f"{link.expires_utc:%d %b %Y %H:%M} UTC"
    if link.purpose == Purpose.RESET:
        subject = "A link to choose a new password"
        opening = "A new password was asked for your account at the clinic."
    else:
        subject = "Your new account: choose a password"
        opening = "An account has been set up for you at the clinic."
    body = [
        "Hello,",
        "",
        opening,
        "Choose your password with this link:",
        url,
        "",
        f"The link works once, until {until}.",
        "If it has expired, ask the clinic for a new one.",
        "",
        "If you did not expect this message, you can ignore it.",
        "This message was sent automatically; replies are not read.",
    ]
    return Mail(to=to, subject=subject, body="\n".join(body) + "\n")


def send_link(mailer: Mailer, link: IssuedLink, *, to: str, base_url: str) -> bool:
    """E-mail a link already committed; whether the server accepted it. Blocking (SMTP): a
    refusal or an unreachable server answers False (counted by the mailer, never logged with
    the address), so the caller still shows the link to pass on by hand."""
    result = mailer.send([link_mail(link, to=to, base_url=base_url)])
    return result.sent == 1 and not result.failed


def open_link(
    session: Session, *, token: str, now: dt.datetime | None = None, lock: bool = False
) -> OpenLink:
    """The link's invitation and user, or why it cannot be used (LinkUnusable). ``lock``
    holds the row until commit, so two submissions of one link cannot both succeed."""
    if not token or len(token) > 200:
        raise LinkUnknown()
    stmt = select(Invitation).where(Invitation.token_hash == token_hash(token))
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise LinkUnknown()
    user = session.get(User, row.user_id)
    if user is None or user.clinic_id != row.clinic_id:
        raise LinkUnknown()
    if row.used_utc is not None:
        raise LinkUsed()
    if row.expires_utc <= (now or utcnow()):
        raise LinkExpired()
    clinic = session.get(Clinic, row.clinic_id)
    return OpenLink(row, user, clinic.name if clinic else "")


def check_new_password(password: str, confirm: str, *, email: str = "") -> list[FieldError]:
    """The password rules, as field errors (the same minimum length as accounts)."""
    errors: list[FieldError] = []
    if len(password) < MIN_PASSWORD:
        errors.append(FieldError("password", f"must have at least {MIN_PASSWORD} characters"))
    elif len(password) > MAX_PASSWORD:
        errors.append(FieldError("password", f"must have at most {MAX_PASSWORD} characters"))
    elif password.strip().lower() == email.strip().lower():
        errors.append(FieldError("password", "must not be your e-mail address"))
    if not errors and confirm != password:
        errors.append(FieldError("confirm", "does not match the password"))
    return errors


def hash_new_password(password: str, confirm: str) -> str | None:
    """The argon2 hash of a new password, computed before the transaction that stores it.

    argon2 is slow on purpose (tens of milliseconds of CPU and memory): a write transaction
    that waited on it would hold SQLite's one writer, or a row lock on PostgreSQL, the whole
    time. Only a password that passes the rules needing no account (length, confirmation) is
    hashed; None otherwise, and :func:`redeem_link` then says why.
    """
    if check_new_password(password, confirm):
        return None
    return hash_password(password)


def redeem_link(
    session: Session,
    *,
    token: str,
    password: str,
    confirm: str,
    password_hash: str | None = None,
    now: dt.datetime | None = None,
) -> User:
    """Set the password, mark the link used, activate the account and end its old sessions.

    ``password_hash`` is :func:`hash_new_password` of ``password``, computed by the caller
    before this transaction opened; without it the password is hashed here (the CLI and
    tests, where nothing else waits on the transaction).
    """
    now = now or utcnow()
    found = open_link(session, token=token, now=now, lock=True)
    user, row = found.user, found.invitation
    errors = check_new_password(password, confirm, email=user.email)
    if errors:
        raise ValidationError(errors)
    user.password_hash = password_hash or hash_password(password)
    user.active = True
    row.used_utc = now
    session.flush()
    _retire_links(session, user.id, now)
    revoke_user_sessions(session, user_id=user.id)
    audit(session, actor_for(session, user), "redeem", "invitation", row.id)
    return user


def revoke_link(session: Session, *, actor: Actor, invitation_id: int) -> None:
    require_admin(actor)
    row = session.get(Invitation, invitation_id)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFound(f"invitation {invitation_id} not found")
    now = utcnow()
    if row.used_utc is None and row.expires_utc > now:
        row.expires_utc = now
    audit(session, actor, "revoke", "invitation", row.id)


def pending_links(
    session: Session,
    *,
    actor: Actor,
    roles: tuple[Role, ...] | None = None,
    now: dt.datetime | None = None,
) -> list[PendingLink]:
    """Unused, unexpired links of the clinic, soonest to expire first."""
    require_admin(actor)
    now = now or utcnow()
    stmt = (
        select(Invitation, User, Patient.id)
        .join(User, User.id == Invitation.user_id)
        .outerjoin(Patient, Patient.user_id == User.id)
        .where(
            Invitation.clinic_id == actor.clinic_id,
            User.clinic_id == actor.clinic_id,
            Invitation.used_utc.is_(None),
            Invitation.expires_utc > now,
        )
        .order_by(Invitation.expires_utc, Invitation.id)
    )
    if roles is not None:
        stmt = stmt.where(User.role.in_([r.value for r in roles]))
    return [
        PendingLink(
            inv.id,
            user.id,
            user.name,
            user.email,
            user.role,
            inv.purpose,
            inv.created_utc,
            inv.expires_utc,
            pid,
        )
        for inv, user, pid in session.execute(stmt)
    ]


# ---- accounts ------------------------------------------------------------------------------


def _check_new_email(session: Session, email: str, path: str = "email") -> list[FieldError]:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        return [FieldError(path, "must be an e-mail address")]
    if session.scalars(select(User.id).where(User.email == email)).first() is not None:
        return [FieldError(path, "another account already uses this e-mail address")]
    return []


def create_staff(
    session: Session, *, actor: Actor, email: str, name: str, role: Role
) -> tuple[User, IssuedLink]:
    """A practitioner or admin account without a password, and the link to set one.

    The account stays inactive until the link is used, so "active" in the user list means
    "can log in"."""
    require_admin(actor)
    errors = _check_new_email(session, email)
    if role not in STAFF_ROLES:
        errors.append(FieldError("role", "must be practitioner or admin"))
    if len(name.strip()) > 200:
        errors.append(FieldError("name", "must have at most 200 characters"))
    if errors:
        raise ValidationError(errors)
    user = create_user(
        session,
        clinic_id=actor.clinic_id,
        email=email,
        name=name,
        role=role,
        password=None,
        actor=actor,
    )
    user.active = False
    return user, issue_link(session, actor=actor, user_id=user.id)


def invite_new_patient(
    session: Session,
    *,
    actor: Actor,
    external_id: str,
    email: str,
    display_name: str = "",
    timezone: str = "UTC",
    practitioner_id: int | None = None,
) -> tuple[Patient, IssuedLink]:
    """A patient record with a patient login, and the link for the patient to set a password."""
    require_admin(actor)
    errors = _check_new_email(session, email)
    external_id = external_id.strip()
    if not external_id:
        errors.append(FieldError("external_id", "must not be empty"))
    elif len(external_id) > 100:
        errors.append(FieldError("external_id", "must have at most 100 characters"))
    elif session.scalars(
        select(Patient.id).where(
            Patient.clinic_id == actor.clinic_id, Patient.external_id == external_id
        )
    ).first():
        errors.append(FieldError("external_id", "another patient already has this id"))
    if len(display_name.strip()) > 200:
        errors.append(FieldError("display_name", "must have at most 200 characters"))
    # The record's own checks, run first so every mistake is reported at once.
    for check in (
        lambda: diary._check_tz(timezone),
        lambda: diary._check_practitioner(session, actor.clinic_id, practitioner_id),
    ):
        try:
            check()
        except ValidationError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    patient = diary.create_patient(
        session,
        actor=actor,
        external_id=external_id,
        display_name=display_name,
        timezone=timezone,
        practitioner_id=practitioner_id,
    )
    user = _patient_login(session, actor, patient, email)
    return patient, issue_link(session, actor=actor, user_id=user.id)


def invite_existing_patient(
    session: Session, *, actor: Actor, patient_ref: str, email: str
) -> tuple[Patient, IssuedLink]:
    """A login for a patient record that has none yet (by id or external id)."""
    require_admin(actor)
    ref = patient_ref.strip()
    if not ref:
        raise ValidationError(FieldError("patient", "enter the patient's id or external id"))
    try:
        patient = find_patient(session, actor, ref)
    except NotFound:
        raise ValidationError(FieldError("patient", "no such patient in this clinic")) from None
    errors = _check_new_email(session, email)
    if patient.user_id is not None:
        errors.insert(0, FieldError("patient", "this patient already has a login"))
    if errors:
        raise ValidationError(errors)
    user = _patient_login(session, actor, patient, email)
    return patient, issue_link(session, actor=actor, user_id=user.id)


def _patient_login(session: Session, actor: Actor, patient: Patient, email: str) -> User:
    user = create_user(
        session,
        clinic_id=actor.clinic_id,
        email=email,
        name=patient.display_name or patient.external_id,
        role=Role.PATIENT,
        password=None,
        actor=actor,
    )
    user.active = False
    patient.user_id = user.id
    session.flush()
    audit(session, actor, "link_login", "patient", patient.id, patient_id=patient.id)
    return user


def set_active(session: Session, *, actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate (ends every session and retires pending links) or reactivate an account."""
    require_admin(actor)
    user = _user_of_clinic(session, actor, user_id)
    if not active and user.id == actor.user_id:
        raise ValidationError(FieldError("user_id", "you cannot deactivate your own account"))
    changed = user.active != active
    user.active = active
    session.flush()
    if not active:
        # Also for an account that is already inactive: this is how an admin withdraws an
        # invitation nobody has used yet.
        revoke_user_sessions(session, user_id=user.id)
        changed = _retire_links(session, user.id, utcnow()) > 0 or changed
    if changed:
        audit(session, actor, "reactivate" if active else "deactivate", "user", user.id)
    return user


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    email: str
    role: str
    active: bool
    has_password: bool
    pending_until: dt.datetime | None


def list_users(
    session: Session, *, actor: Actor, roles: tuple[Role, ...] | None = None, limit: int = 500
) -> tuple[list[UserRow], int]:
    """The clinic's accounts (admins, then practitioners, then patients; by name), and how
    many match in all (a large clinic's patient list is cut at ``limit``)."""
    require_admin(actor)
    cond = [User.clinic_id == actor.clinic_id]
    if roles is not None:
        cond.append(User.role.in_([r.value for r in roles]))
    total = int(session.scalar(select(func.count()).select_from(User).where(*cond)) or 0)
    rank = case(
        (User.role == Role.ADMIN.value, 0), (User.role == Role.PRACTITIONER.value, 1), else_=2
    )
    users = list(
        session.scalars(
            select(User).where(*cond).order_by(rank, func.lower(User.name), User.id).limit(limit)
        )
    )
    now = utcnow()
    pending: dict[int, dt.datetime] = {}
    if users:
        for user_id, expires in session.execute(
            select(Invitation.user_id, Invitation.expires_utc).where(
                Invitation.user_id.in_([u.id for u in users]),
                Invitation.used_utc.is_(None),
                Invitation.expires_utc > now,
            )
        ).tuples():
            pending[user_id] = max(expires, pending.get(user_id, expires))
    rows = [
        UserRow(
            u.id,
            u.name,
            u.email,
            u.role,
            bool(u.active),
            u.password_hash is not None,
            pending.get(u.id),
        )
        for u in users
    ]
    return rows, total


def common_timezones(session: Session, *, actor: Actor, limit: int = 12) -> list[str]:
    """The time zones the clinic's patients live in, most common first (form suggestions)."""
    require_staff(actor)
    rows = session.execute(
        select(Patient.timezone, func.count())
        .where(Patient.clinic_id == actor.clinic_id)
        .group_by(Patient.timezone)
        .order_by(func.count().desc(), Patient.timezone)
        .limit(limit)
    ).tuples()
    return [str(tz) for tz, _ in rows]


def usual_timezone(session: Session, *, actor: Actor) -> str:
    """The clinic's most common patient time zone: the likely one for a new patient."""
    zones = common_timezones(session, actor=actor, limit=1)
    return zones[0] if zones else "UTC"


def patient_records(session: Session, *, actor: Actor) -> int:
    """How many patient records the clinic holds (with or without a login)."""
    require_admin(actor)
    stmt = select(func.count()).select_from(Patient).where(Patient.clinic_id == actor.clinic_id)
    return int(session.scalar(stmt) or 0)
