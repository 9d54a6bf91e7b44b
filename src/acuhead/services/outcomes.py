"""Outcome use cases: one patient's trial-grade outcomes, and the practice report.

Access: a patient reads only their own outcomes, staff those of their clinic (``load_patient``
answers NotFound otherwise); the practice report is for staff only. Every read writes an audit
row (who, what, when; never the figures).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from acuhead.analytics.cohort import Progress
from acuhead.analytics.outcomes import patient_outcome
from acuhead.analytics.report import practice_report as build_report
from acuhead.analytics.results import (
    PatientOutcomes,
    PracticeReport,
    TriggerFactor,
    TriggerMinimum,
    Triggers,
)
from acuhead.domain.diary import Diary
from acuhead.domain.outcomes import DEFAULT_OUTCOME_CONFIG, OutcomeConfig
from acuhead.domain.triggers import (
    DEFAULT_TRIGGER_CONFIG,
    NOTE_ASSOCIATION,
    TriggerConfig,
    analyse_triggers,
)
from acuhead.errors import FieldError, ValidationError
from acuhead.services.actors import Actor, Role, load_patient, require_staff
from acuhead.services.diary import load_diary
from acuhead.store.audit import audit
from acuhead.store.models import User


def patient_triggers(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    config: TriggerConfig,
    diary: Diary | None = None,
) -> Triggers:
    """Per-patient trigger analysis over the whole diary (domain.triggers): the odds of an
    attack starting on the day or the next after a factor, only with enough days. ``diary``:
    the whole diary when the caller has loaded it already."""
    if diary is None:
        diary = load_diary(session, actor=actor, patient_id=patient_id)
    return Triggers(
        window_days=config.window_days,
        minimum=TriggerMinimum(
            exposed_days=config.min_exposed_days,
            unexposed_days=config.min_unexposed_days,
            attack_windows=config.min_attack_windows,
            attack_free_windows=config.min_attack_free_windows,
        ),
        note=NOTE_ASSOCIATION,
        factors=[TriggerFactor.of(r) for r in analyse_triggers(diary, config=config)],
    )


def patient_outcomes(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
    trigger_config: TriggerConfig = DEFAULT_TRIGGER_CONFIG,
    diary: Diary | None = None,
) -> PatientOutcomes:
    """One patient's outcomes (README "Outcomes JSON" is their JSON). ``diary``: the
    patient's whole diary (``load_diary`` without dates) when the caller holds it already."""
    patient = load_patient(session, actor, patient_id)
    outcome = patient_outcome(
        session, clinic_id=patient.clinic_id, patient_id=patient.id, config=config
    )
    triggers = patient_triggers(
        session, actor=actor, patient_id=patient.id, config=trigger_config, diary=diary
    )
    audit(session, actor, "read", "outcomes", patient_id=patient.id)
    return PatientOutcomes.of(patient.external_id, outcome, triggers)


def practice_report(
    session: Session,
    *,
    actor: Actor,
    practitioner_id: int | None = None,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
    progress: Progress | None = None,
) -> PracticeReport:
    """The clinic's practice report, or one practitioner's patients (staff only)."""
    require_staff(actor)
    if practitioner_id is not None:
        user = session.get(User, practitioner_id)
        if user is None or user.clinic_id != actor.clinic_id or user.role != Role.PRACTITIONER:
            raise ValidationError(
                FieldError("practitioner_id", f"no practitioner {practitioner_id} in this clinic")
            )
    report = build_report(
        session,
        clinic_id=actor.clinic_id,
        practitioner_id=practitioner_id,
        config=config,
        progress=progress,
    )
    audit(session, actor, "read", "practice_report", practitioner_id)
    return report
