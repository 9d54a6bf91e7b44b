"""The audit trail: who touched which record, written beside the change it records.

Ids and verbs only, never health data. A write transaction's audit row commits with its change;
a read-only session's is deferred (``Database.read``). Every use case in ``services`` calls
:func:`audit`; it lives here, below them, because it is a row written to the store.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from acuhead.store.db import DEFERRED_INSERTS, DeferredInserts
from acuhead.store.models import AuditEvent, Clinic, Patient, User, utcnow

AUDIT_TABLE = cast(Table, AuditEvent.__table__)


class Acting(Protocol):
    """Who acts, as the audit row names them (``services.actors.Actor`` is one)."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def clinic_id(self) -> int: ...


def audit(
    session: Session,
    actor: Acting,
    action: str,
    entity: str,
    entity_id: object = None,
    *,
    patient_id: int | None = None,
) -> None:
    """Record who touched which record; ids and verbs only, never health data.

    In a write transaction the row is part of it: the change and its audit commit together or
    not at all. A read-only session (``Database.read``) never commits, so its audit row is
    handed to the database's :class:`~acuhead.store.db.DeferredInserts` and written within a
    fraction of a second, batched with others (see there for what a crash can lose).
    """
    row: dict[str, Any] = {
        "clinic_id": actor.clinic_id,
        "user_id": actor.user_id,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "patient_id": patient_id,
        "at_utc": utcnow(),
    }
    deferred: DeferredInserts | None = session.info.get(DEFERRED_INSERTS)
    if deferred is not None:
        deferred.add(AUDIT_TABLE, row)
    else:
        # A plain INSERT in the caller's transaction, now: the ORM's unit of work for one
        # object costs several times more, on every change.
        session.connection().execute(_INSERT_AUDIT, row)


_INSERT_AUDIT = insert(AUDIT_TABLE)


def _unlink_vanished(session: Session, rows: list[dict[str, Any]]) -> None:
    """A deferred audit row may be written after its patient was erased (or its user or clinic
    deleted): drop the link, as erasure does for the rows it finds, rather than fail the batch."""
    for key, model in (("patient_id", Patient), ("user_id", User), ("clinic_id", Clinic)):
        ids = {r[key] for r in rows if r[key] is not None}
        if not ids:
            continue
        found = set(session.scalars(select(model.id).where(model.id.in_(ids))))
        for r in rows:
            if r[key] is not None and r[key] not in found:
                r[key] = None


DeferredInserts.register(AUDIT_TABLE.name, _unlink_vanished)
