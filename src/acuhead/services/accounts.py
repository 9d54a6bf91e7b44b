"""Clinics, users, passwords and server-side sessions.

Passwords are hashed with argon2id. A login for an unknown e-mail still verifies against a
dummy hash so response time does not tell which accounts exist. Failed logins are counted per
hashed e-mail within a window; past the limit, logins are refused until the window passes.
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

from acuhead.errors import AcuheadError, Conflict, FieldError, NotFound, ValidationError
from acuhead.services.actors import Actor, Role, audit, require_admin
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


def login(
    session: Session,
    *,
    email: str,
    password: str,
    session_hours: int,
    max_failures: int,
    window_seconds: int,
) -> LoginResult:
    key = login_key(email)
    now = utcnow()
    since = now - dt.timedelta(seconds=window_seconds)
    failures = session.scalar(
        select(func.count()).where(LoginAttempt.key_hash == key, LoginAttempt.at_utc >= since)
    )
    if (failures or 0) >= max_failures:
        oldest = session.scalar(
            select(func.min(LoginAttempt.at_utc)).where(
                LoginAttempt.key_hash == key, LoginAttempt.at_utc >= since
            )
        )
        wait = window_seconds - int((now - (oldest or now)).total_seconds())
        raise LoginThrottled(max(wait, 1))
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    ok = False
    try:
        ok = _hasher.verify((user.password_hash if user else None) or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.active or not user.password_hash:
        # The caller records the failure in its own transaction (this one rolls back).
        raise LoginRefused("wrong e-mail or password")
    session.execute(delete(LoginAttempt).where(LoginAttempt.key_hash == key))
    token = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(hours=session_hours)
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
