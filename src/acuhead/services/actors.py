"""Who is acting, and what they may see. Tenant and role checks live here, once.

A row in another clinic, or another patient's row seen by a patient, answers NotFound rather
than Forbidden so that ids cannot be probed for existence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, bindparam, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from acuhead.errors import Forbidden, NotFound
from acuhead.store.models import Patient


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


def _may_see(actor: Actor, patient_id: int, clinic_id: int | None) -> bool:
    """Staff see their clinic's patients; a patient only themselves."""
    if clinic_id is None or clinic_id != actor.clinic_id:
        return False
    return actor.role != Role.PATIENT or actor.patient_id == patient_id


def load_patient(session: Session, actor: Actor, patient_id: int) -> Patient:
    """The patient if the actor may see them, else NotFound."""
    # As Session.get: a patient this session already holds costs no query (a request checks
    # access, then its service loads the patient again).
    patient = session.identity_map.get(identity_key(Patient, patient_id))
    state = inspect(patient) if isinstance(patient, Patient) else None
    if state is None or state.expired or state.deleted or state.was_deleted:
        patient = session.scalars(_PATIENT, {"pid": patient_id}).first()
        hold(session, patient)
    if patient is None or not _may_see(actor, patient.id, patient.clinic_id):
        raise NotFound(f"patient {patient_id} not found")
    return patient


_HELD_PATIENTS = "acuhead.held_patients"


def hold(session: Session, patient: Patient | None) -> None:
    """Keep ``patient`` for the session's life. The identity map holds objects weakly: a caller
    that only checked access drops its reference, and the patient would be gone (and queried
    again) before the service asks for it."""
    if patient is not None:
        session.info.setdefault(_HELD_PATIENTS, []).append(patient)


# Built once (bound id only): ``Session.get`` builds its statement and computes its cache key
# anew on every call, and every request under /patients/{id} loads the patient.
_PATIENT = select(Patient).where(Patient.id == bindparam("pid"))
_PATIENT_CLINIC = select(cast(Table, Patient.__table__).c.clinic_id).where(
    cast(Table, Patient.__table__).c.id == bindparam("pid")
)


def check_patient(session: Session, actor: Actor, patient_id: int) -> None:
    """:func:`load_patient`'s decision without loading the patient (every request under
    /patients/{id} makes it before its body is read): NotFound unless the actor may see them."""
    clinic_id = session.connection().scalar(_PATIENT_CLINIC, {"pid": patient_id})
    if not _may_see(actor, patient_id, clinic_id):
        raise NotFound(f"patient {patient_id} not found")


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
