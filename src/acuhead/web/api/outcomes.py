"""Outcomes over HTTP: one patient's trial-grade outcomes and the clinic's practice report.

A patient may read their own outcomes; staff read those of their clinic's patients; the
practice report is for staff only (403 for a patient). JSON keys: README "Outcomes JSON";
the answer is the typed result itself (analytics.results), so OpenAPI shows its schema.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from acuhead.analytics.results import PatientOutcomes, PracticeReport
from acuhead.domain.outcomes import OutcomeConfig
from acuhead.services import outcomes as svc
from acuhead.web.deps import CurrentActor, WriteSession

router = APIRouter(tags=["outcomes"])

Block = Annotated[int, Query(ge=0, le=120, description="primary 28-day block (2 = weeks 9-12)")]
MinCompliance = Annotated[
    float, Query(gt=0, le=1, description="diary compliance a window needs (default 0.8)")
]
Prorate = Annotated[
    bool, Query(description="give rates for windows under the minimum compliance too")
]


def _config(block: int, min_compliance: float, prorate: bool) -> OutcomeConfig:
    return OutcomeConfig(
        primary_block=block, min_compliance=min_compliance, prorate_low_compliance=prorate
    )


@router.get("/patients/{patient_id}/outcomes")
def patient_outcomes(
    patient_id: int,
    actor: CurrentActor,
    session: WriteSession,
    block: Block = 2,
    min_compliance: MinCompliance = 0.8,
    prorate_low_compliance: Prorate = False,
) -> PatientOutcomes:
    """Baseline and 28-day blocks, change, responders, questionnaires, session relief,
    observable mechanisms and triggers."""
    return svc.patient_outcomes(
        session,
        actor=actor,
        patient_id=patient_id,
        config=_config(block, min_compliance, prorate_low_compliance),
    )


@router.get("/reports/practice")
def practice_report(
    actor: CurrentActor,
    session: WriteSession,
    practitioner_id: Annotated[int | None, Query(description="only this practitioner")] = None,
    block: Block = 2,
    min_compliance: MinCompliance = 0.8,
    prorate_low_compliance: Prorate = False,
) -> PracticeReport:
    """The clinic's practice report (staff only), optionally for one practitioner's patients."""
    return svc.practice_report(
        session,
        actor=actor,
        practitioner_id=practitioner_id,
        config=_config(block, min_compliance, prorate_low_compliance),
    )
