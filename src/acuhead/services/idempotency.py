"""Idempotency keys: a diary write that a client sends again is applied once.

The patient app queues entries made without a connection and sends each until it hears an
answer; an answer lost on the way back means the same write arrives twice. The client names
each write with a key of its own (``Idempotency-Key`` header, or a form field on pages). The
first request with a key writes and stores the answer beside the key, in the same
transaction; a later request with that key and the same body gets the stored answer and
writes nothing; one with a different body is refused (422), because answering it with the
first write's result would silently drop what it asked for.

Two requests with one key at the same moment: the patient's row lock (``lock_patient``,
PostgreSQL) or the single writer (SQLite) makes the second wait for the first to commit, so
it finds the key; the unique key on (patient, key) is the last guard (a lost insert race is
retried by ``Database.transact`` and then finds the key too).

Keys are kept ``ACUHEAD_IDEMPOTENCY_DAYS`` (30 by default): each new key deletes the expired
ones, a bounded batch at a time, so the table holds about one period's writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from acuhead.config import get_settings
from acuhead.errors import FieldError, ValidationError
from acuhead.services.actors import Actor, load_patient
from acuhead.store.db import lock_patient
from acuhead.store.models import IdempotencyKeyRow, utcnow

# A client's key: a UUID in practice; any short token of safe characters is accepted.
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
HEADER = "Idempotency-Key"


def check_key(raw: str | None, field: str = HEADER) -> str | None:
    """The key as sent (None when there is none), or 422 naming ``field``."""
    if raw is None or raw == "":
        return None
    if not _KEY.match(raw):
        raise ValidationError(
            FieldError(field, "must be 8 to 100 letters, digits or - _ . : (a UUID will do)")
        )
    return raw


def fingerprint(operation: str, body: Any) -> str:
    """SHA-256 of what the request asks for: the operation (method, route, its ids) and the
    body, in one canonical JSON text, so the same request always gives the same value."""
    text = json.dumps([operation, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


_FIND = select(IdempotencyKeyRow).where(
    IdempotencyKeyRow.patient_id == bindparam("pid"), IdempotencyKeyRow.key == bindparam("key")
)


def once(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    key: str | None,
    operation: str,
    body: Any,
    status_code: int,
    work: Callable[[], dict[str, Any]],
    keep_days: int | None = None,
) -> tuple[dict[str, Any], bool]:
    """``work()`` (which returns the JSON answer) once per (patient, ``key``).

    Returns the answer and whether it is a replay. Without a key ``work`` simply runs. Must be
    called inside the caller's write transaction, before anything of the diary is read.
    ``keep_days`` (default: the setting) is how long stored keys are kept."""
    if key is None:
        return work(), False
    patient = load_patient(session, actor, patient_id)
    lock_patient(session, patient.id)  # a second request with this key waits here
    mark = fingerprint(operation, body)
    found = session.scalars(_FIND, {"pid": patient.id, "key": key}).first()
    if found is not None:
        if found.fingerprint != mark:
            raise ValidationError(
                FieldError(
                    HEADER,
                    "this key was already used for a different request; "
                    "send a new key for a new entry",
                )
            )
        return dict(found.response), True
    answer = work()
    keep = keep_days if keep_days is not None else get_settings().idempotency_days
    prune(session, patient_id=patient.id, before=utcnow() - dt.timedelta(days=keep))
    session.add(
        IdempotencyKeyRow(
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            key=key,
            fingerprint=mark,
            status_code=status_code,
            response=answer,
        )
    )
    session.flush()
    return answer, False


# Expired keys of other patients deleted per new key: more than one, so the table shrinks back
# to about one period's keys even for patients who stopped writing, and few enough that a
# write never waits on a large delete (as login attempts, services/accounts.py).
PRUNE_BATCH = 100


def prune(session: Session, *, patient_id: int, before: dt.datetime) -> None:
    """Delete keys stored before ``before``: all of this patient's (their row lock is held)
    and up to :data:`PRUNE_BATCH` of anyone's, oldest first, skipping rows another write is
    deleting at the moment (``SKIP LOCKED`` on PostgreSQL), so two writes never wait on
    each other here. Without this every key stayed stored for ever."""
    session.execute(
        delete(IdempotencyKeyRow).where(
            IdempotencyKeyRow.patient_id == patient_id, IdempotencyKeyRow.created_utc < before
        )
    )
    expired = (
        select(IdempotencyKeyRow.id)
        .where(IdempotencyKeyRow.created_utc < before)
        .order_by(IdempotencyKeyRow.created_utc, IdempotencyKeyRow.id)
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(IdempotencyKeyRow)
        .where(IdempotencyKeyRow.id.in_(expired.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
