"""Erasure of a patient (the right to be forgotten): every row of the record, in one transaction.

Which rows: found from the schema rather than a hand-kept list, so a table added later is
covered without touching this module. A row belongs to the patient when it has a
``patient_id`` equal to theirs, or a non-nullable (or ``ON DELETE CASCADE``) foreign key to a
row that does (intensity readings and aura symptoms hang off attacks that way). Nullable
``SET NULL`` references to the patient's rows are cleared instead. The patient's own login
account goes too, with its sessions and throttling rows.

The audit trail is kept, but unlinked: earlier audit rows lose their ``patient_id``, and the
erasure itself is recorded as ``erase patient <id>`` by the acting admin, which keeps no health
data (only the internal number of a row that no longer exists).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select, update
from sqlalchemy.orm import Session

from acuhead.services.accounts import login_key
from acuhead.services.actors import Actor, Role, load_patient, require_admin
from acuhead.store.audit import audit
from acuhead.store.models import AuditEvent, Base, LoginAttempt, Patient, User

_AUDIT = "audit_events"


def _count(result: Any) -> int:
    """Rows a DELETE removed (a CursorResult's rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _owned(table: Table, pid: int) -> ColumnElement[bool] | None:
    """A condition selecting the rows of ``table`` that belong to the patient, if any can."""
    conditions: list[ColumnElement[bool]] = []
    if "patient_id" in table.c:
        conditions.append(table.c.patient_id == pid)
    for fk in table.foreign_keys:
        parent = fk.column.table
        if parent.name == "patients" and fk.parent.name != "patient_id":
            conditions.append(fk.parent == pid)
        elif parent.name != "patients" and "patient_id" in parent.c:
            if fk.parent.nullable and (fk.ondelete or "").upper() != "CASCADE":
                continue  # a reference to clear, not a row to delete
            conditions.append(fk.parent.in_(select(fk.column).where(parent.c.patient_id == pid)))
    if not conditions:
        return None
    cond = conditions[0]
    for c in conditions[1:]:
        cond = cond | c
    return cond


def erase_patient(session: Session, *, actor: Actor, patient_id: int) -> dict[str, int]:
    """Delete the patient and every row of their record; returns rows removed per table."""
    require_admin(actor)
    patient = load_patient(session, actor, patient_id)
    pid, user_id = patient.id, patient.user_id
    session.flush()
    session.expunge(patient)
    counts: dict[str, int] = {}
    tables = list(reversed(Base.metadata.sorted_tables))  # children before parents
    # 1. clear nullable SET NULL references to the patient's rows held by other rows
    for table in tables:
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent.name == "patients" or "patient_id" not in parent.c:
                continue
            if fk.parent.nullable and (fk.ondelete or "").upper() != "CASCADE":
                session.execute(
                    update(table)
                    .where(fk.parent.in_(select(fk.column).where(parent.c.patient_id == pid)))
                    .values({fk.parent.name: None})
                )
    # 2. delete the record, children first
    for table in tables:
        if table.name == _AUDIT or table.name == "patients":
            continue
        cond = _owned(table, pid)
        if cond is None:
            continue
        n = _count(session.execute(delete(table).where(cond)))
        if n:
            counts[table.name] = n
    session.execute(update(AuditEvent).where(AuditEvent.patient_id == pid).values(patient_id=None))
    counts["patients"] = _count(session.execute(delete(Patient).where(Patient.id == pid)))
    # 3. the patient's own login account (never a staff account)
    user = session.get(User, user_id) if user_id is not None else None
    if user is not None and user.role == Role.PATIENT and user.clinic_id == actor.clinic_id:
        session.execute(delete(LoginAttempt).where(LoginAttempt.key_hash == login_key(user.email)))
        for table in tables:
            for fk in table.foreign_keys:
                if fk.column.table.name != "users" or table.name == "users":
                    continue
                if (fk.ondelete or "").upper() == "CASCADE" or not fk.parent.nullable:
                    n = _count(session.execute(delete(table).where(fk.parent == user.id)))
                    if n:
                        counts[table.name] = counts.get(table.name, 0) + n
                else:
                    session.execute(
                        update(table).where(fk.parent == user.id).values({fk.parent.name: None})
                    )
        session.expunge(user)
        session.execute(delete(User).where(User.id == user_id))
        counts["users"] = 1
    audit(session, actor, "erase", "patient", pid)
    session.flush()
    return counts
