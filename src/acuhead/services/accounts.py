"""Clinics, users, passwords and server-side sessions.

Passwords are hashed with argon2id. A login for an unknown e-mail still verifies against a
dummy hash so response time does not tell which accounts exist. Login attempts are counted per
hashed e-mail within a window, each recorded before its password is checked; past the limit,
logins are refused unchecked until the window passes, and a successful login clears the count.
Each recorded attempt also deletes attempts the window has left, so the table stays small.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from acuhead.config import Settings
from acuhead.errors import AcuheadError, Conflict, FieldError, NotFound, ValidationError
from acuhead.services.actors import Actor, Role, require_admin
from acuhead.store.audit import audit
from acuhead.store.db import Database
from acuhead.store.models import AuthSession, Clinic, LoginAttempt, Patient, User, utcnow

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))
MIN_PASSWORD = 10


class LoginRefused(AcuheadError):
    """Wrong e-mail or password (deliberately not saying which)."""


class LoginThrottled(AcuheadError):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {retry_after} s")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_clinic(session: Session, *, name: str) -> Clinic:
    name = name.strip()
    if not name:
        raise ValidationError(FieldError("name", "clinic name must not be empty"))
    clinic = Clinic(name=name)
    session.add(clinic)
    session.flush()
    return clinic


def list_clinics(session: Session) -> list[Clinic]:
    return list(session.scalars(select(Clinic).order_by(Clinic.id)))


def create_user(
    session: Session,
    *,
    clinic_id: int,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    actor: Actor | None = None,
) -> User:
    if actor is not None:
        require_admin(actor)
        if actor.clinic_id != clinic_id:
            raise NotFound("clinic not found")
    email = email.strip().lower()
    errors = []
    if "@" not in email or len(email) > 320:
        errors.append(FieldError("email", "must be an e-mail address"))
    if password is not None and len(password) < MIN_PASSWORD:
        errors.append(FieldError("password", f"must have at least {MIN_PASSWORD} characters"))
    if session.get(Clinic, clinic_id) is None:
        errors.append(FieldError("clinic_id", f"clinic {clinic_id} does not exist"))
    if errors:
        raise ValidationError(errors)
    if session.scalars(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict("a user with this e-mail already exists")
    user = User(
        clinic_id=clinic_id,
        email=email,
        name=name.strip() or email,
        role=role.value,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    if actor is not None:
        audit(session, actor, "create", "user", user.id)
    return user


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    user: User
    actor: Actor
    expires_utc: dt.datetime


def actor_for(session: Session, user: User) -> Actor:
    patient_id = None
    if user.role == Role.PATIENT:
        patient_id = session.scalars(select(Patient.id).where(Patient.user_id == user.id)).first()
    return Actor(user.id, user.clinic_id, Role(user.role), patient_id)


def login_key(email: str) -> str:
    return _sha("login:" + email.strip().lower())


def log_in(db: Database, settings: Settings, *, email: str, password: str) -> LoginResult:
    """The login of every edge (the page form and the API): :func:`login` with the clinic's
    throttle (``login_max_failures`` per ``login_window_seconds``) and session length, so
    the rule is stated once, here, whichever door an attempt comes through."""
    return login(
        db,
        email=email,
        password=password,
        session_hours=settings.session_hours,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
    )


def login(
    db: Database,
    *,
    email: str,
    password: str,
    session_hours: int,
    max_failures: int,
    window_seconds: int,
) -> LoginResult:
    """Check a password and open a session: the one way every login form and route logs in.

    At most ``max_failures`` passwords are checked per account (hashed e-mail) per
    ``window_seconds``, however many requests arrive at once: each attempt is first recorded,
    in a transaction of its own that counts the attempts in the window and adds this one
    atomically, and commits before argon2 runs. An attempt over the limit is refused without
    a check. A correct password clears the account's attempts; a wrong one leaves its
    attempt counted. No transaction is open while the hash is checked.
    """
    key = login_key(email)
    address = email.strip().lower()
    with db.write() as session:
        record_failed_login(session, key, max_failures=max_failures, window_seconds=window_seconds)
        found = session.execute(
            select(User.id, User.password_hash, User.active).where(User.email == address)
        ).first()
    stored = found.password_hash if found is not None else None
    ok = False
    try:
        ok = _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or found is None or not found.active or not stored:
        raise LoginRefused("wrong e-mail or password")
    with db.write() as session:
        user = session.get(User, found.id)
        # The account as checked: not deactivated and its password not changed meanwhile.
        if user is None or not user.active or user.password_hash != stored:
            raise LoginRefused("wrong e-mail or password")
        session.execute(delete(LoginAttempt).where(LoginAttempt.key_hash == key))
        return start_session(session, user, session_hours=session_hours)


def record_failed_login(
    session: Session,
    key: str,
    *,
    max_failures: int,
    window_seconds: int,
    now: dt.datetime | None = None,
) -> None:
    """Record a failed login of the account ``key`` (:func:`login_key`), or raise
    LoginThrottled when the account has had ``max_failures`` in the last ``window_seconds``.
    The one place the login throttle is written; the refused attempt is not recorded.

    Every attempt counts as failed until its password proves right: :func:`login` records it
    before checking, and a correct password clears the account's attempts. Recording only
    after a wrong answer would let a burst of parallel guesses all be checked.

    The count and the insert must not interleave with another request's: SQLite admits one
    writer at a time (``BEGIN IMMEDIATE``), and on PostgreSQL a transaction-scoped advisory
    lock on the key serialises them (an unknown e-mail has no row to lock).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_lock_id(key))))
    now = now or utcnow()
    since = now - dt.timedelta(seconds=window_seconds)
    in_window = (LoginAttempt.key_hash == key, LoginAttempt.at_utc >= since)
    count, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.at_utc)).where(*in_window)
    ).one()
    if (count or 0) >= max_failures:
        wait = window_seconds - int((now - (oldest or now)).total_seconds())
        raise LoginThrottled(max(wait, 1))
    _prune_attempts(session, key, since)
    session.add(LoginAttempt(key_hash=key, at_utc=now))


# Expired attempts of other accounts deleted per recorded attempt: more than one, so the table
# shrinks back to about one window's attempts however many accounts were tried once and never
# again, and few enough that a login never waits on a large delete.
PRUNE_BATCH = 100


def _prune_attempts(session: Session, key: str, since: dt.datetime) -> None:
    """Delete attempts the throttle window has left: all of this account's (it holds the key's
    lock, and there are at most a few), and up to :data:`PRUNE_BATCH` of any account's.

    Without this, every failed login stayed stored for ever (issue 13). The other accounts'
    rows are taken oldest first and, on PostgreSQL, only those no other login is deleting at
    the moment (``SKIP LOCKED``), so two logins pruning at once neither wait on nor deadlock
    each other; SQLite has one writer at a time anyway.
    """
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.key_hash == key, LoginAttempt.at_utc < since)
    )
    expired = (
        select(LoginAttempt.id)
        .where(LoginAttempt.at_utc < since)
        .order_by(LoginAttempt.id)
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(LoginAttempt)
        .where(LoginAttempt.id.in_(expired.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


def _lock_id(key: str) -> int:
    """A signed 64-bit advisory-lock id from the hashed key (``pg_advisory_xact_lock``)."""
    return int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)


def start_session(session: Session, user: User, *, session_hours: int) -> LoginResult:
    """A new session for ``user``, whose password was just checked (or just set, by the holder
    of an invitation link), in the caller's transaction."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(hours=session_hours)
    session.add(
        AuthSession(
            token_hash=_sha(token), user_id=user.id, clinic_id=user.clinic_id, expires_utc=expires
        )
    )
    actor = actor_for(session, user)
    audit(session, actor, "login", "user", user.id)
    return LoginResult(token=token, user=user, actor=actor, expires_utc=expires)


@dataclass(frozen=True, slots=True)
class SessionHolder:
    """Who holds a live session token: the actor, and the name and e-mail pages greet."""

    actor: Actor
    name: str
    email: str


_AUTH = cast(Table, AuthSession.__table__)
_USERS = cast(Table, User.__table__)
_PATIENTS = cast(Table, Patient.__table__)

# Every request runs this, so it is one statement of plain columns, built once (SQLAlchemy
# reuses its compiled SQL): the session, its user, and for a patient account the patient
# record it belongs to (as ``actor_for``: the lowest id), in one round trip. Loading the two
# rows as ORM objects and the patient id by a second query cost a quarter of a diary
# request's CPU (benchmarks/load.py).
_OWN_PATIENT = (
    select(_PATIENTS.c.id)
    .where(_PATIENTS.c.user_id == _USERS.c.id)
    .order_by(_PATIENTS.c.id)
    .limit(1)
    .correlate(_USERS)
    .scalar_subquery()
)
_SESSION_HOLDER = (
    select(
        _AUTH.c.revoked_utc,
        _AUTH.c.expires_utc,
        _USERS.c.id,
        _USERS.c.clinic_id,
        _USERS.c.role,
        _USERS.c.active,
        _USERS.c.name,
        _USERS.c.email,
        _OWN_PATIENT,
    )
    .select_from(_AUTH.join(_USERS, _USERS.c.id == _AUTH.c.user_id))
    .where(_AUTH.c.token_hash == bindparam("token_hash"))
)


# The same, with the patient a request names loaded beside it (or None if there is no such
# id): a route under /patients/{id} needs both, and one round trip fewer per request is what
# the diary routes gain most from under load. The row is only loaded here; whether this user
# may see it is decided by ``load_patient`` afterwards, as for any other patient.
_SESSION_HOLDER_AND_PATIENT = (
    select(Patient, *_SESSION_HOLDER.selected_columns)
    .select_from(_AUTH.join(_USERS, _USERS.c.id == _AUTH.c.user_id))
    .outerjoin(Patient, Patient.id == bindparam("pid"))
    .where(_AUTH.c.token_hash == bindparam("token_hash"))
)


def actor_from_token(session: Session, token: str) -> SessionHolder | None:
    """The holder of a live session token; None when it is unknown, revoked or expired, or its
    user was deactivated."""
    row = session.connection().execute(_SESSION_HOLDER, {"token_hash": _sha(token)}).first()
    return None if row is None else _holder(row)


def holder_and_patient(
    session: Session, token: str, patient_id: int
) -> tuple[SessionHolder | None, Patient | None]:
    """:func:`actor_from_token` and the patient with ``patient_id`` (unchecked: pass it to
    ``load_patient``), in one statement."""
    params = {"token_hash": _sha(token), "pid": patient_id}
    row = session.execute(_SESSION_HOLDER_AND_PATIENT, params).first()
    if row is None:
        return None, None
    return _holder(row[1:]), row[0]


def _holder(row: Sequence[Any]) -> SessionHolder | None:
    revoked, expires, user_id, clinic_id, role_name, active, name, email, own_patient = row
    if revoked is not None or expires <= utcnow() or not active:
        return None
    role = Role(role_name)
    patient_id = own_patient if role == Role.PATIENT else None
    return SessionHolder(Actor(user_id, clinic_id, role, patient_id), name, email)


def logout(session: Session, *, token: str) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.token_hash == _sha(token), AuthSession.revoked_utc.is_(None))
        .values(revoked_utc=utcnow())
    )


def revoke_user_sessions(session: Session, *, user_id: int) -> int:
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_utc.is_(None))
        .values(revoked_utc=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_users(session: Session, *, actor: Actor) -> list[User]:
    require_admin(actor)
    return list(
        session.scalars(select(User).where(User.clinic_id == actor.clinic_id).order_by(User.id))
    )
