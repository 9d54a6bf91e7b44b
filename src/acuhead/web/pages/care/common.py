"""What the three care pages share, so each shows the same refusal, warnings and choices.

An admin account is refused with a 403 page rather than sent elsewhere, because clinical records
are written by practitioners (``care.require_practitioner``). The open red-flag alerts and the
patient's safety flags are shown above the prescription and the session forms, where the services
would otherwise refuse or ask for a confirmation only after the practitioner has filled them in.
The headache locations carry the channels and points the rules attach to them, so the assessment
and the prescription builder describe a location the same way. The patient is looked up with the
clinic pages' own helper (``clinic.patient_or_none``): another clinic's patient answers 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acuhead.domain.diary import SAFETY_LABELS, SafetyProfile
from acuhead.domain.readiness import Readiness
from acuhead.domain.tcm.channels import CHANNEL_LABELS, DISTAL_RULES, LOCATION_RULES
from acuhead.services import gate, safety
from acuhead.services.actors import Role
from acuhead.store.models import Patient
from acuhead.web.pages.base import PageUser, not_found, render
from acuhead.web.pages.clinic import patient_or_none
from acuhead.web.pages.diary_form import LOCATIONS


def refusal(request: Request, user: PageUser, patient_id: int) -> Response | None:
    """Clinical records are written by practitioners: an admin account is told so (403)."""
    if user.actor.role == Role.PRACTITIONER:
        return None
    return render(
        request,
        "care/forbidden.html",
        {"patient_id": patient_id},
        status_code=403,
        user=user,
    )


def care_patient(
    request: Request, user: PageUser, session: Session, patient_id: int
) -> Patient | Response:
    """The patient of a care page, or the page to answer instead: 403 for a non-practitioner,
    404 for a patient this user may not see (as for an id that does not exist)."""
    if (refused := refusal(request, user, patient_id)) is not None:
        return refused
    patient = patient_or_none(session, user, patient_id)
    return patient if patient is not None else not_found(request, user, "patient")


def planning_gate(session: Session, user: PageUser, patient: Patient) -> Readiness:
    """The safety gate's answer for this patient (services.gate: the one rule every planning
    path uses): a current intake screen, no open red flag, no uncleared flag in the record."""
    return gate.readiness(session, actor=user.actor, patient_id=patient.id)


def open_block(session: Session, patient: Patient) -> list[str]:
    """The reasons of the open red-flag alerts (empty when planning is allowed)."""
    return safety.open_reasons(session, patient_id=patient.id)


def safety_flags(patient: Patient) -> list[str]:
    flags = patient.safety or {}
    return [
        SAFETY_LABELS[name]
        for name in SafetyProfile.__dataclass_fields__
        if flags.get(name) and name in SAFETY_LABELS
    ]


def int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def _location_choices() -> list[dict[str, Any]]:
    out = []
    for value, label in LOCATIONS:
        rule = next(r for loc, r in LOCATION_RULES.items() if loc.value == value)
        distal = [p for ch in rule.channels for p in DISTAL_RULES[ch].points]
        out.append(
            {
                "value": value,
                "label": label,
                "channels": ", ".join(CHANNEL_LABELS[ch] for ch in rule.channels),
                "local": ", ".join(rule.local_points),
                "distal": ", ".join(distal),
            }
        )
    return out


LOCATION_CHOICES = _location_choices()
