"""Who is acting, and what they may see. Tenant and role checks live here, once.

A row in another clinic, or another patient's row seen by a patient, answers NotFound rather
than Forbidden so that ids cannot be probed for existence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.errors import Forbidden, NotFound
from acuhead.store.models import AuditEvent, Patient


class Role(StrEnum):
    ADMIN = "admin"
    PRACTITIONER = "practitioner"
    PATIENT = "patient"


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    clinic_id: int
    role: Role
    patient_id: int | None = None  # set when role is patient

    @classmethod
    def system(cls, clinic_id: int) -> Actor:
        """The CLI acting for a clinic (import, demo): a trusted local operator."""
        return cls(user_id=None, clinic_id=clinic_id, role=Role.ADMIN)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.PRACTITIONER)


def require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("this needs a practitioner or admin account")


def require_admin(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden("this needs an admin account")


def load_patient(session: Session, actor: Actor, patient_id: int) -> Patient:
    """The patient if the actor may see them, else NotFound."""
    patient = session.get(Patient, patient_id)
    if patient is None or patient.clinic_id != actor.clinic_id:
        raise NotFound(f"patient {patient_id} not found")
    if actor.role == Role.PATIENT and actor.patient_id != patient.id:
        raise NotFound(f"patient {patient_id} not found")
    return patient


def find_patient(session: Session, actor: Actor, ref: str) -> Patient:
    """Resolve a CLI/API reference that is either a numeric id or an external id."""
    if ref.isdigit():
        row = session.get(Patient, int(ref))
        if row is not None and row.clinic_id == actor.clinic_id:
            return load_patient(session, actor, row.id)
    row = session.scalars(
        select(Patient).where(Patient.clinic_id == actor.clinic_id, Patient.external_id == ref)
    ).first()
    if row is None:
        raise NotFound(f"patient {ref!r} not found")
    return load_patient(session, actor, row.id)


def audit(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object = None,
    *,
    patient_id: int | None = None,
) -> None:
    """Record who touched which record; ids and verbs only, never health data."""
    session.add(
        AuditEvent(
            clinic_id=actor.clinic_id,
            user_id=actor.user_id,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            patient_id=patient_id,
        )
    )
