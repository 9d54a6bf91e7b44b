"""One patient's outcomes: the cohort queries filtered to that patient, as typed results.

The block figures come from :func:`acuhead.analytics.cohort.cohort_blocks` with a one-patient
:class:`~acuhead.analytics.cohort.Scope`, the very query the practice report runs for a clinic,
so a patient's page and the clinic report cannot disagree (tested on both engines). The result
types are in :mod:`acuhead.analytics.results`; their JSON is documented in README.md, section
"Outcomes JSON" (a test compares the two).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from acuhead.analytics.cohort import (
    QuestionnaireEnds,
    Scope,
    adverse_events,
    cohort_blocks,
    questionnaire_ends,
    session_relief_values,
)
from acuhead.analytics.results import (
    Association,
    BlockWindow,
    Change,
    ConfigResult,
    MeasureBlock,
    NotMeasurable,
    ObservableMechanism,
    PatientMechanisms,
    PatientOutcome,
    PrimaryChange,
    QuestionnaireLatest,
    Questionnaires,
    QuestionnaireTrend,
    ResponderBasis,
    Score,
    SessionCounts,
    SessionRelief,
    Window,
)
from acuhead.domain.dayunits import VD_AREND_2023
from acuhead.domain.instruments import REGISTRY
from acuhead.domain.mechanisms import (
    ASSOCIATION_LABEL,
    CLINICAL_CONTEXT,
    MECHANISMS,
    block_association,
    get_mechanism,
)
from acuhead.domain.outcomes import (
    DEFAULT_OUTCOME_CONFIG,
    MECHANISM_MEASURES,
    Block,
    OutcomeConfig,
    PatientBlocks,
    block_label,
    change_from_baseline,
    mean_summary,
    responder,
    responder_basis,
)

# Which graded mechanism (CLINICAL.md 8) a diary measure speaks to; sleep has no entry there.
MEASURE_MECHANISM: dict[str, str | None] = {
    "stress": "stress",
    "neck_tension": "muscle_tension",
    "sleep_hours": None,
}
OBSERVABLE_KEYS = frozenset(k for k in MEASURE_MECHANISM.values() if k)

SESSION_RELIEF_NOTE = (
    "Immediate change in pain from before to after a session (0-10). It says how a session "
    "felt, not whether headaches became less frequent; expectation and rest contribute."
)
PATIENT_MECHANISM_NOTE = (
    "Stress, neck tension and sleep are shown beside headache days so trends can be seen "
    "together. In one patient, measures moving together are not evidence that one causes the "
    "other; the clinic report gives the association across patients, with its uncertainty."
)
QUESTIONNAIRE_NOTE = (
    "First and latest score of each instrument; higher is worse for "
    + ", ".join(s.label for s in REGISTRY if not s.since_treatment)
    + ". "
    + ", ".join(s.label for s in REGISTRY if s.since_treatment)
    + " asks about change since treatment began, so it has no baseline: the latest answer is "
    "shown."
)  # CLINICAL.md 3, 4


def not_measurable_mechanisms() -> list[NotMeasurable]:
    """The proposed mechanisms no clinic can measure: their evidence grade, never a number
    (CLINICAL.md 8)."""
    return [
        NotMeasurable(
            key=m.key,
            claim=m.claim,
            grade=str(m.grade),
            grade_note=m.grade_note,
            citations=list(m.citations),
        )
        for m in MECHANISMS
        if m.key not in OBSERVABLE_KEYS
    ]


def measure_mechanism(measure: str) -> tuple[str | None, str | None]:
    """The graded mechanism a diary measure speaks to and its grade (None, None for none)."""
    key = MEASURE_MECHANISM[measure]
    if key is None:
        return None, None
    m = get_mechanism(key)
    return m.key, str(m.grade)


def block_result(pb: PatientBlocks, block: Block, config: OutcomeConfig) -> BlockWindow:
    return BlockWindow(
        **dict(Window.of(block, config)),
        change=Change.model_validate(change_from_baseline(pb.baseline, block)),
        responder=responder(pb.baseline, block, config.responder_thresholds),
        responder_basis=ResponderBasis.model_validate(responder_basis(pb.baseline, block)),
    )


def primary_change(pb: PatientBlocks | None, config: OutcomeConfig) -> PrimaryChange:
    """Change from baseline at the primary block (default weeks 9-12), with why if unknown."""
    index = config.primary_block
    label = block_label(index, config)
    target = pb.block(index) if pb is not None else None
    if pb is None or target is None:
        why = "no treatment session yet" if pb is None else "no diary data in this block yet"
        return PrimaryChange(
            block=index,
            label=label,
            **change_from_baseline(None, None),
            evaluable=False,
            reason=why,
        )
    reasons = []
    if not pb.baseline.evaluable:
        reasons.append("baseline not evaluable (diary compliance under the minimum)")
    if not target.evaluable:
        reasons.append("block not evaluable (diary compliance under the minimum)")
    return PrimaryChange(
        block=index,
        label=label,
        **change_from_baseline(pb.baseline, target),
        evaluable=not reasons,
        reason="; ".join(reasons),
    )


def questionnaire_result(ends: list[QuestionnaireEnds], anchor: dt.date | None) -> Questionnaires:
    by_instrument = {e.instrument: e for e in ends}
    entries: dict[str, QuestionnaireTrend | QuestionnaireLatest] = {}
    for inst in REGISTRY:
        e = by_instrument.get(inst.id)
        latest = Score(date=e.latest_on, total=e.latest_total, band=e.latest_band) if e else None
        if inst.since_treatment:
            entries[inst.id] = QuestionnaireLatest(
                label=inst.label, n=e.n if e else 0, latest=latest
            )
        else:
            entries[inst.id] = QuestionnaireTrend(
                label=inst.label,
                n=e.n if e else 0,
                first=Score(date=e.first_on, total=e.first_total, band=e.first_band) if e else None,
                latest=latest,
                change=e.latest_total - e.first_total if e and e.n >= 2 else None,
                first_before_treatment=(
                    e.first_on <= anchor if e is not None and anchor is not None else None
                ),
            )
    return Questionnaires(note=QUESTIONNAIRE_NOTE, **entries)


def session_relief_result(values: list[int], level: float) -> SessionRelief:
    summary = mean_summary([float(v) for v in values], level)
    return SessionRelief(
        sessions_with_scores=summary.n,
        mean_relief=summary.mean,
        sd=summary.sd,
        ci_low=summary.ci_low,
        ci_high=summary.ci_high,
        level=level,
        note=SESSION_RELIEF_NOTE,
    )


def patient_mechanisms(pb: PatientBlocks | None, config: OutcomeConfig) -> PatientMechanisms:
    observable = []
    for name in MECHANISM_MEASURES:
        by_block: list[MeasureBlock] = []
        base = now = None
        if pb is not None:
            target = pb.block(config.primary_block)
            base = pb.baseline.mean_of(name)
            now = target.mean_of(name) if target is not None else None
            by_block = [
                MeasureBlock(
                    index=b.index,
                    mean=b.mean_of(name),
                    days=getattr(b.counts, f"{name}_n"),
                    headache_days_per_28=b.rate_of("headache_days"),
                )
                for b in (pb.baseline, *pb.blocks)
            ]
        mechanism, grade = measure_mechanism(name)
        # Summarised from the very by_block figures above (domain.mechanisms), so a reader of
        # the JSON and the outcome panel see one coefficient.
        association = block_association([b.model_dump() for b in by_block], level=config.level)
        observable.append(
            ObservableMechanism(
                measure=name,
                mechanism=mechanism,
                grade=grade,
                baseline_mean=base,
                by_block=by_block,
                change_at_primary=None if base is None or now is None else now - base,
                association=Association.of(association),
            )
        )
    return PatientMechanisms(
        label=ASSOCIATION_LABEL,
        context=CLINICAL_CONTEXT,
        note=PATIENT_MECHANISM_NOTE,
        observable=observable,
        not_measurable=not_measurable_mechanisms(),
    )


def patient_outcome(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
) -> PatientOutcome:
    """Everything but triggers (which need the diary itself; see services.outcomes)."""
    scope = Scope(clinic_id, patient_id=patient_id)
    found = cohort_blocks(session, scope, config)
    pb = found[0] if found else None
    safety = adverse_events(session, scope)
    relief = [v for _, v in session_relief_values(session, scope)]
    target = pb.block(config.primary_block) if pb is not None else None
    return PatientOutcome(
        patient_id=patient_id,
        policy=VD_AREND_2023.name,
        config=ConfigResult.of(config),
        anchor=pb.anchor if pb is not None else None,
        sessions=SessionCounts(
            count=safety.sessions,
            adverse_events=safety.events,
            serious_adverse_events=safety.serious,
        ),
        baseline=Window.of(pb.baseline, config) if pb is not None else None,
        blocks=[block_result(pb, b, config) for b in pb.blocks] if pb is not None else [],
        change=primary_change(pb, config),
        responder=responder(
            pb.baseline if pb is not None else None, target, config.responder_thresholds
        ),
        responder_basis=ResponderBasis.model_validate(
            responder_basis(pb.baseline if pb is not None else None, target)
        ),
        questionnaires=questionnaire_result(
            questionnaire_ends(session, scope), pb.anchor if pb is not None else None
        ),
        session_relief=session_relief_result(relief, config.level),
        mechanisms=patient_mechanisms(pb, config),
    )
