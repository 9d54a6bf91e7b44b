"""Typed results of the outcome analyses: what analytics and services hand to the pages, the
letter, the HTML report, the API and the CLI.

Why types rather than dicts: a reader (the outcome panel, the letter) that got a dict read string
keys back and could silently drift from the writer; with a model, a renamed field is a type
error, and the JSON Schema of the model is the contract README "Outcomes JSON" documents
(a test holds the two together). JSON is written once, at the edge, by :meth:`Result.to_json`
(the CLI) or by FastAPI from the same model (the API): the very keys and values the API gave
before these types existed.

Pydantic models (frozen): they give the JSON Schema and JSON encoding for free. The figures
themselves are computed in :mod:`acuhead.domain.outcomes`, :mod:`acuhead.domain.mechanisms` and
:mod:`acuhead.domain.triggers`; these classes only carry them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from acuhead.domain.mechanisms import BlockAssociation, BlockVerdict
from acuhead.domain.outcomes import Block, MeanStats, OutcomeConfig, ProportionStats
from acuhead.domain.triggers import FactorKind, TriggerResult, Verdict


class Result(BaseModel):
    """Base of every typed result: immutable, and no key the model does not name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this result (dates as ISO strings), as the API answers it."""
        return self.model_dump(mode="json")


# --------------------------------------------------------------------------- shared pieces


class ConfigResult(Result):
    """The :class:`~acuhead.domain.outcomes.OutcomeConfig` the figures were computed with."""

    baseline_days: int
    block_days: int
    min_compliance: float
    prorate_low_compliance: bool
    primary_block: int
    responder_thresholds: list[int]
    level: float

    @classmethod
    def of(cls, config: OutcomeConfig) -> ConfigResult:
        return cls.model_validate(config.as_dict())


class MeanSummary(Result):
    """n, mean, SD and the t interval (``domain.outcomes.mean_summary``)."""

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    level: float

    @classmethod
    def of(cls, stats: MeanStats) -> MeanSummary:
        return cls.model_validate(stats, from_attributes=True)


class ProportionSummary(Result):
    """count of n with the Wilson interval (``domain.outcomes.proportion_summary``)."""

    n: int
    count: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    level: float

    @classmethod
    def of(cls, stats: ProportionStats) -> ProportionSummary:
        return cls.model_validate(stats, from_attributes=True)


# --------------------------------------------------------------------------- windows


class Change(Result):
    """Block minus baseline (``domain.outcomes.change_from_baseline``; None where unknown)."""

    migraine_days_per_28: float | None
    headache_days_per_28: float | None
    moderate_severe_days_per_28: float | None
    acute_medication_days_per_28: float | None
    migraine_specific_medication_days_per_28: float | None
    triptan_days_per_28: float | None
    attacks_per_28: float | None
    headache_hours_per_28: float | None
    migraine_days_percent: float | None
    mean_peak_intensity: float | None
    stress_mean: float | None
    neck_tension_mean: float | None
    sleep_hours_mean: float | None


class KnownDays(Result):
    known_days: int
    uncertain_days: int


class ResponderBasis(Result):
    """What the responder flags were computed on (``domain.outcomes.responder_basis``)."""

    baseline: KnownDays | None
    block: KnownDays | None
    note: str


class Window(Result):
    """The baseline or one 28-day block of one patient (``domain.outcomes.Block``)."""

    index: int  # -1 the baseline
    label: str
    start: dt.date
    end: dt.date
    days: int
    recorded_days: int
    compliance: float
    low_compliance: bool
    evaluable: bool
    prorated_low_compliance: bool
    late_days: int
    late_share: float | None
    migraine_days: int
    headache_days: int
    moderate_severe_days: int
    acute_medication_days: int
    migraine_specific_medication_days: int
    triptan_days: int
    attacks: int
    migraine_days_uncertain: int
    migraine_known_days: int
    headache_hours: float
    mean_peak_intensity: float | None
    migraine_days_per_28: float | None
    headache_days_per_28: float | None
    moderate_severe_days_per_28: float | None
    acute_medication_days_per_28: float | None
    migraine_specific_medication_days_per_28: float | None
    triptan_days_per_28: float | None
    attacks_per_28: float | None
    headache_hours_per_28: float | None
    stress_mean: float | None
    stress_days: int
    neck_tension_mean: float | None
    neck_tension_days: int
    sleep_hours_mean: float | None
    sleep_hours_days: int

    @classmethod
    def of(cls, block: Block, config: OutcomeConfig) -> Window:
        return cls.model_validate(block.as_dict(config))

    def rate(self, measure: str) -> float | None:
        """The rate per 28 days of a counted measure (``migraine_days`` ...), by name."""
        value: float | None = getattr(self, f"{measure}_per_28")
        return value


class BlockWindow(Window):
    """A block after the anchor, with its change from baseline and responder status."""

    change: Change
    responder: dict[str, bool | None]
    responder_basis: ResponderBasis


class PrimaryChange(Result):
    """The change at the primary block (default weeks 9-12), with why when not evaluable."""

    block: int
    label: str
    migraine_days_per_28: float | None
    headache_days_per_28: float | None
    moderate_severe_days_per_28: float | None
    acute_medication_days_per_28: float | None
    migraine_specific_medication_days_per_28: float | None
    triptan_days_per_28: float | None
    attacks_per_28: float | None
    headache_hours_per_28: float | None
    migraine_days_percent: float | None
    mean_peak_intensity: float | None
    stress_mean: float | None
    neck_tension_mean: float | None
    sleep_hours_mean: float | None
    evaluable: bool
    reason: str

    def rate(self, measure: str) -> float | None:
        value: float | None = getattr(self, f"{measure}_per_28")
        return value


class SessionCounts(Result):
    count: int
    adverse_events: int
    serious_adverse_events: int


# --------------------------------------------------------------------------- questionnaires


class Score(Result):
    date: dt.date
    total: int | float
    band: str | None


class QuestionnaireTrend(Result):
    """An instrument scored against its first answer (HIT-6, MIDAS, PSS-10 ...)."""

    label: str
    n: int
    first: Score | None
    latest: Score | None
    change: int | float | None
    first_before_treatment: bool | None


class QuestionnaireLatest(Result):
    """An instrument that asks about change itself (PGIC): no baseline, the latest answer."""

    label: str
    n: int
    latest: Score | None


class Questionnaires(Result):
    """``note`` and one entry per instrument, keyed by the instrument's id (the JSON object
    carries them side by side, as before; the instrument list is the domain's)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    __pydantic_extra__: dict[str, QuestionnaireTrend | QuestionnaireLatest]

    note: str

    @property
    def instruments(self) -> dict[str, QuestionnaireTrend | QuestionnaireLatest]:
        return dict(self.__pydantic_extra__ or {})


# --------------------------------------------------------------------------- sessions


class SessionRelief(Result):
    """Pain before minus after per session (0-10), with its t interval."""

    sessions_with_scores: int
    mean_relief: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    level: float
    note: str


# --------------------------------------------------------------------------- mechanisms


class NotMeasurable(Result):
    """A proposed mechanism no clinic can measure: its evidence grade, never a number."""

    key: str
    claim: str
    grade: str
    grade_note: str
    citations: list[str]


class MeasureBlock(Result):
    index: int
    mean: float | None
    days: int
    headache_days_per_28: float | None


class Association(Result):
    """Within one patient, Spearman's rho of a measure's change with the change in headache
    days across blocks (``domain.mechanisms.BlockAssociation``)."""

    method: Literal["spearman"]
    n_blocks: int
    min_blocks: int
    rho: float | None
    ci_low: float | None
    ci_high: float | None
    level: float
    verdict: BlockVerdict

    @classmethod
    def of(cls, found: BlockAssociation) -> Association:
        return cls.model_validate(found.as_dict())


class ObservableMechanism(Result):
    measure: str
    mechanism: str | None
    grade: str | None
    baseline_mean: float | None
    by_block: list[MeasureBlock]
    change_at_primary: float | None
    association: Association


class PatientMechanisms(Result):
    label: str
    context: str
    note: str
    observable: list[ObservableMechanism]
    not_measurable: list[NotMeasurable]


# --------------------------------------------------------------------------- triggers


class TriggerMinimum(Result):
    exposed_days: int
    unexposed_days: int
    attack_windows: int
    attack_free_windows: int


class TriggerFactor(Result):
    """One factor's odds ratio of an attack soon after (``domain.triggers.TriggerResult``)."""

    factor: str
    label: str
    kind: FactorKind
    exposed_days: int
    unexposed_days: int
    exposed_attack_windows: int
    unexposed_attack_windows: int
    exposed_risk: float | None
    unexposed_risk: float | None
    days_outcome_unknown: int
    attack_reported_days: int
    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    level: float
    corrected: bool
    variance_inflation: float
    verdict: Verdict
    reason: str
    notes: list[str]

    @classmethod
    def of(cls, found: TriggerResult) -> TriggerFactor:
        return cls.model_validate(found.as_dict())


class Triggers(Result):
    window_days: int
    minimum: TriggerMinimum
    note: str
    factors: list[TriggerFactor]


# --------------------------------------------------------------------------- one patient


class PatientOutcome(Result):
    """One patient's outcomes before the service adds who they are and their triggers."""

    patient_id: int
    policy: str
    config: ConfigResult
    anchor: dt.date | None
    sessions: SessionCounts
    baseline: Window | None
    blocks: list[BlockWindow]
    change: PrimaryChange
    responder: dict[str, bool | None]
    responder_basis: ResponderBasis
    questionnaires: Questionnaires
    session_relief: SessionRelief
    mechanisms: PatientMechanisms

    def block(self, index: int) -> Window | None:
        """The baseline (-1) or a block by index, or None when there is none."""
        if index < 0:
            return self.baseline
        return next((b for b in self.blocks if b.index == index), None)


class PatientOutcomes(PatientOutcome):
    """README "Outcomes JSON", per patient: ``acuhead outcomes`` and
    ``GET /api/v1/patients/{id}/outcomes``: the outcome with who the patient is and the
    triggers the service computes from the whole diary."""

    external_id: str
    triggers: Triggers

    @classmethod
    def of(cls, external_id: str, outcome: PatientOutcome, triggers: Triggers) -> PatientOutcomes:
        fields = {name: getattr(outcome, name) for name in PatientOutcome.model_fields}
        return cls(external_id=external_id, triggers=triggers, **fields)


# --------------------------------------------------------------------------- practice report


class ChangeSummary(MeanSummary):
    """Mean change in monthly migraine days with the means it is the difference of (the same
    complete cases on both sides)."""

    baseline_mean: float | None
    block_mean: float | None


class ResponderRate(ProportionSummary):
    """Responders among complete cases, and counting the missing as non-responders."""

    missing_as_non_responder: ProportionSummary


class Headline(Result):
    """The headline endpoints of a set of patients at the primary block."""

    patients_treated: int
    with_complete_baseline: int
    evaluable_at_block: int
    follow_up_completeness: ProportionSummary
    migraine_days_change: ChangeSummary
    responders: dict[str, ResponderRate]


class BlockRef(Result):
    index: int
    label: str


class AdverseEventSummary(Result):
    sessions: int
    events: int
    serious: int
    events_per_session: float | None
    sessions_with_event: ProportionSummary


class ReliefSummary(Result):
    """Mean over patients of each patient's mean relief, and the pooled per-session mean."""

    patients: MeanSummary
    sessions_with_scores: int
    pooled_mean_relief: float | None
    note: str


class QuestionnaireChange(Result):
    label: str
    change_first_to_latest: MeanSummary


class PgicSummary(Result):
    label: str
    latest_by_answer: dict[str, int]
    much_or_very_much_improved: ProportionSummary


class QuestionnaireSummaries(Result):
    """One entry per instrument, keyed by the instrument's id (the domain's list)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    __pydantic_extra__: dict[str, QuestionnaireChange | PgicSummary]

    def items(self) -> list[tuple[str, QuestionnaireChange | PgicSummary]]:
        return list((self.__pydantic_extra__ or {}).items())

    def get(self, key: str) -> QuestionnaireChange | PgicSummary | None:
        return (self.__pydantic_extra__ or {}).get(key)


class TrendRow(Result):
    """One window across patients: how many were evaluable and their mean figures."""

    index: int
    label: str
    evaluable_patients: int
    migraine_days_per_28: float
    headache_days_per_28: float
    acute_medication_days_per_28: float
    stress_mean: float | None
    neck_tension_mean: float | None
    sleep_hours_mean: float | None


class ClinicObservable(Result):
    """Across patients, a diary measure's change against the change in headache days
    (``domain.mechanisms.observable_mechanism_change``) with the mechanism it speaks to."""

    measure: str
    label: str
    n: int
    n_excluded: int
    mean_change_measure: float | None
    mean_change_headache_days: float | None
    r: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    spearman_rho: float | None
    level: float
    mechanism: str | None
    mechanism_claim: str | None  # the mechanism in words, for pages
    mechanism_grade: str | None
    verdict: str
    notes: list[str]
    grade: str | None


class ClinicMechanisms(Result):
    label: str
    context: str
    block: int
    observable: list[ClinicObservable]
    not_measurable: list[NotMeasurable]


class PractitionerSummary(Result):
    practitioner_id: int | None
    name: str
    patients_treated: int
    evaluable_at_block: int
    migraine_days_change: ChangeSummary
    responders_50: ResponderRate | None
    follow_up_completeness: ProportionSummary


class BenchmarkBeside(Result):
    """A published figure (``domain.outcomes.Benchmark``) beside the clinic's own."""

    key: str
    measure: str
    comparison: str
    acupuncture: float
    control: float | None
    unit: str
    window: str
    marker: str
    status: str
    citation: str
    source_section: str
    notes: list[str]
    clinic: float | None
    clinic_unit: str
    clinic_block: str


class PracticeReport(Headline):
    """README "Outcomes JSON", practice report: ``acuhead report`` and
    ``GET /api/v1/reports/practice``."""

    clinic_id: int
    practitioner_id: int | None
    generated_utc: str
    policy: str
    config: ConfigResult
    block: BlockRef
    adverse_events: AdverseEventSummary
    session_relief: ReliefSummary
    questionnaires: QuestionnaireSummaries
    trend: list[TrendRow]
    mechanisms: ClinicMechanisms
    by_practitioner: list[PractitionerSummary]
    benchmarks: list[BenchmarkBeside]
    cohort_vs_trial: list[str]
