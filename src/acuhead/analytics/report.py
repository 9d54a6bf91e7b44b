"""The practice report: a clinic's (or one practitioner's) treated patients, computed the way
preventive-treatment trials compute their endpoints, beside published benchmarks.

Figures (issue 5; CLINICAL.md 3 and 5):

* patients treated (at least one session) and those with a complete baseline (compliance at
  least the minimum, 80 % by default [R]);
* mean change in monthly migraine days (per 28 days) at the primary block (weeks 9-12 by
  default) with a t interval (stats.mean_ci), over patients whose baseline and block are both
  evaluable (complete cases);
* >= 30/50/75/100 % responders with Wilson intervals, complete cases, and again counting
  patients without an evaluable block as non-responders (a conservative bound);
* adverse events per session and the share of sessions with one (Wilson), serious events;
* follow-up completeness: share of treated patients with an evaluable primary block;
* session relief, questionnaire change, observable mechanisms (association only), trend by
  block, a breakdown by practitioner, the benchmarks and why a clinic cohort is not a trial.

With the default windows the per-patient numbers are read from ``block_aggregates``
(:func:`acuhead.analytics.cohort.stored_cohort`: each patient's baseline and primary block, and
:func:`~acuhead.analytics.cohort.stored_trend_sums`), which is kept equal to the day-unit scan;
other windows come from :func:`acuhead.analytics.cohort.cohort_blocks`, the code the per-patient
outcome uses. Both feed the same figures, bit for bit (tests/integration/test_report_paths.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy.orm import Session

from acuhead.analytics.cohort import (
    SLEEP_UNITS,
    Endpoints,
    Progress,
    Scope,
    TrendSums,
    adverse_events,
    aggregated_windows,
    cohort_blocks,
    practitioner_names,
    questionnaire_ends,
    session_relief_by_patient,
    stored_cohort,
    stored_trend_sums,
    trend_scale,
    trend_sums,
    trend_windows,
)
from acuhead.analytics.outcomes import (
    SESSION_RELIEF_NOTE,
    measure_mechanism,
    not_measurable_mechanisms,
)
from acuhead.analytics.results import (
    AdverseEventSummary,
    BenchmarkBeside,
    BlockRef,
    ChangeSummary,
    ClinicMechanisms,
    ClinicObservable,
    ConfigResult,
    Headline,
    MeanSummary,
    PgicSummary,
    PracticeReport,
    PractitionerSummary,
    ProportionSummary,
    QuestionnaireChange,
    QuestionnaireSummaries,
    ReliefSummary,
    ResponderRate,
    TrendRow,
)
from acuhead.domain.dayunits import VD_AREND_2023
from acuhead.domain.instruments import REGISTRY
from acuhead.domain.mechanisms import ASSOCIATION_LABEL, CLINICAL_CONTEXT
from acuhead.domain.mechanisms import observable_mechanism_change as association
from acuhead.domain.outcomes import (
    BENCHMARKS,
    COHORT_CAVEATS,
    DEFAULT_OUTCOME_CONFIG,
    MECHANISM_MEASURES,
    PER_DAYS,
    BlockCounts,
    OutcomeConfig,
    block_label,
    mean_summary,
    proportion_summary,
    responder,
)
from acuhead.gcpause import cycle_collection_paused

# Progress steps, in order (the CLI sizes its bar with this).
REPORT_STEPS: tuple[str, ...] = (
    "anchors",
    "windows",
    "endpoints",
    "sessions",
    "questionnaires",
    "mechanisms",
)


class PatientEndpoints(NamedTuple):
    """What one patient adds to a headline, worked out once: the clinic's headline and each
    practitioner's are then sums over the same tuples (each patient's responder status was
    computed once per headline before, a sixth of a registry-scale report: issue 17)."""

    complete_baseline: bool
    evaluable_block: bool
    eligible: bool  # evaluable baseline with at least one migraine day
    rates: tuple[float, float] | None  # baseline and block migraine rates, when both exist
    responses: tuple[bool | None, ...]  # per responder threshold, in config order


def patient_endpoints(pb: Endpoints, config: OutcomeConfig) -> PatientEndpoints:
    base, target = pb.baseline, pb.target
    b = base.migraine_rate
    t = target.migraine_rate if target is not None else None
    return PatientEndpoints(
        bool(base.counts.recorded_days) and not base.low_compliance,
        target is not None and target.evaluable,
        b is not None and b > 0,
        (b, t) if b is not None and t is not None else None,
        tuple(responder(base, target, config.responder_thresholds).values()),
    )


def summarise(cohort: Sequence[PatientEndpoints], config: OutcomeConfig) -> Headline:
    """Headline endpoints of a set of patients at ``config.primary_block`` (each patient's
    ``target``), from :func:`patient_endpoints`."""
    keys = [str(t) for t in config.responder_thresholds]
    hits = [0] * len(keys)
    known = [0] * len(keys)
    changes: list[float] = []
    base_rates: list[float] = []
    block_rates: list[float] = []
    for pe in cohort:
        if pe.rates is not None:
            b, t = pe.rates
            changes.append(t - b)
            base_rates.append(b)
            block_rates.append(t)
        for k, value in enumerate(pe.responses):
            if value is not None:
                known[k] += 1
                hits[k] += int(value)
    complete_baseline = sum(pe.complete_baseline for pe in cohort)
    evaluable_block = sum(pe.evaluable_block for pe in cohort)
    eligible = sum(pe.eligible for pe in cohort)
    level = config.level
    change = ChangeSummary(
        **dict(_mean(changes, level)),
        baseline_mean=mean_summary(base_rates, level).mean,
        block_mean=mean_summary(block_rates, level).mean,
    )
    return Headline(
        patients_treated=len(cohort),
        with_complete_baseline=complete_baseline,
        evaluable_at_block=len(changes),
        follow_up_completeness=_proportion(evaluable_block, len(cohort), level),
        migraine_days_change=change,
        responders={
            key: ResponderRate(
                **dict(_proportion(hits[k], known[k], level)),
                missing_as_non_responder=_proportion(hits[k], eligible, level),
            )
            for k, key in enumerate(keys)
        },
    )


def _proportion(count: int, n: int, level: float) -> ProportionSummary:
    return ProportionSummary.of(proportion_summary(count, n, level))


def _mean(values: Sequence[float], level: float) -> MeanSummary:
    return MeanSummary.of(mean_summary(values, level))


def trend(acc: TrendSums, config: OutcomeConfig) -> list[TrendRow]:
    """Per window index: evaluable patients and mean rates / measure means among them, from
    the sums of :func:`~acuhead.analytics.cohort.trend_sums` (rates per 28 recorded days as
    :meth:`Block.rate` gives them). The scaled sums are exact integers, so each mean is the
    exact one rounded once (integer true division rounds correctly)."""
    rates = ("migraine_days", "headache_days", "acute_medication_days")
    scale = trend_scale(config)
    out = []
    for index in sorted(acc):
        row = acc[index]
        n = int(row[0])
        figures: dict[str, float | None] = {}
        for k, name in enumerate(rates, start=1):
            figures[f"{name}_per_28"] = PER_DAYS * int(row[k]) / (scale * n)
        for k, name in enumerate(MECHANISM_MEASURES):
            total, count = row[4 + 2 * k], int(row[5 + 2 * k])
            # Sleep hours are summed in billionths of an hour: cohort.TrendSums.
            unit = SLEEP_UNITS if name == "sleep_hours" else scale
            figures[f"{name}_mean"] = total / (unit * count) if count else None
        out.append(
            TrendRow.model_validate(
                {"index": index, "label": block_label(index, config), "evaluable_patients": n}
                | figures
            )
        )
    return out


def clinic_mechanisms(cohort: Sequence[Endpoints], config: OutcomeConfig) -> ClinicMechanisms:
    """For stress, neck tension and sleep: does the change from baseline to the primary block
    go with the change in headache days across patients (domain.mechanisms; association, not
    cause)? The mechanisms no clinic can measure are listed with their grade only."""
    observable = []
    # Each patient's two windows and headache rates once for the three measures; a measure's
    # mean read from the stored counts by position (``Block.mean_of``'s same division).
    windows = [
        (
            pb.baseline.counts,
            pb.baseline.headache_rate,
            pb.target.counts if pb.target is not None else None,
            pb.target.headache_rate if pb.target is not None else None,
        )
        for pb in cohort
    ]
    fields = BlockCounts._fields
    for name in MECHANISM_MEASURES:
        at_sum, at_n = fields.index(f"{name}_sum"), fields.index(f"{name}_n")
        before: list[tuple[float | None, float | None]] = []
        after: list[tuple[float | None, float | None]] = []
        for base, base_rate, target, target_rate in windows:
            n = base[at_n]
            before.append((base[at_sum] / n if n else None, base_rate))
            if target is None:
                after.append((None, None))
            else:
                n = target[at_n]
                after.append((target[at_sum] / n if n else None, target_rate))
        result = association(before, after, measure=name, level=config.level)
        mechanism, grade = measure_mechanism(name)
        result.update(mechanism=mechanism, grade=grade)
        observable.append(ClinicObservable.model_validate(result))
    return ClinicMechanisms(
        label=ASSOCIATION_LABEL,
        context=CLINICAL_CONTEXT,
        block=config.primary_block,
        observable=observable,
        not_measurable=not_measurable_mechanisms(),
    )


def questionnaire_summary(
    session: Session, scope: Scope, treated: set[int], level: float
) -> QuestionnaireSummaries:
    changes: dict[str, list[float]] = defaultdict(list)
    answers: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    since_treatment = {s.id for s in REGISTRY if s.since_treatment}
    for e in questionnaire_ends(session, scope):
        if e.patient_id not in treated:
            continue
        if e.instrument in since_treatment:  # no baseline: the latest answer counts
            answers[e.instrument][e.latest_band] += 1
        elif e.n >= 2:
            changes[e.instrument].append(e.latest_total - e.first_total)
    out: dict[str, QuestionnaireChange | PgicSummary] = {}
    for inst in REGISTRY:
        if not inst.since_treatment:
            out[inst.id] = QuestionnaireChange(
                label=inst.label,
                change_first_to_latest=_mean(changes.get(inst.id, []), level),
            )
            continue
        given = answers[inst.id]
        answered = sum(given.values())
        improved = sum(n for band, n in given.items() if band in inst.improved_bands)
        out[inst.id] = PgicSummary(
            label=inst.label,
            latest_by_answer=dict(sorted(given.items())),
            much_or_very_much_improved=_proportion(improved, answered, level),
        )
    return QuestionnaireSummaries(**out)


def session_relief_summary(
    by_patient: dict[int, tuple[int, float]], treated: set[int], level: float
) -> ReliefSummary:
    """Mean over patients of each patient's mean relief (sessions cluster within patients, so
    the patient is the unit for the interval), plus the pooled per-session mean."""
    means = [total / n for pid, (n, total) in by_patient.items() if pid in treated and n]
    sessions = sum(n for pid, (n, _) in by_patient.items() if pid in treated)
    pooled = sum(t for pid, (_, t) in by_patient.items() if pid in treated)
    return ReliefSummary(
        patients=_mean(means, level),
        sessions_with_scores=sessions,
        pooled_mean_relief=pooled / sessions if sessions else None,
        note=SESSION_RELIEF_NOTE,
    )


def benchmarks_beside(headline: Headline, config: OutcomeConfig) -> list[BenchmarkBeside]:
    out = []
    for b in BENCHMARKS:
        clinic: float | None
        if b.measure == "responder_50":
            found = headline.responders.get("50")
            rate = found.rate if found is not None else None
            clinic = None if rate is None else rate * 100
            unit = "% >= 50 % responders (complete cases)"
        else:
            clinic = headline.migraine_days_change.mean
            unit = "mean change in migraine days per 28 days"
        out.append(
            BenchmarkBeside(
                **b.as_dict(),
                clinic=clinic,
                clinic_unit=unit,
                clinic_block=block_label(config.primary_block, config),
            )
        )
    return out


def practice_report(
    session: Session,
    *,
    clinic_id: int,
    practitioner_id: int | None = None,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
    progress: Progress | None = None,
) -> PracticeReport:
    """The report as a typed result (its JSON: README "Outcomes JSON").

    Built with Python's cyclic collector paused (``gcpause``): the report makes tens of
    thousands of short-lived rows and values per 10,000 patients and no reference cycles, and
    the collector's walks over them were a quarter of its time at registry scale (0.39-0.50 s
    against 0.30-0.38 s on PostgreSQL at 10,000 x 365, issue 17)."""
    with cycle_collection_paused():
        return _practice_report(session, clinic_id, practitioner_id, config, progress)


def _practice_report(
    session: Session,
    clinic_id: int,
    practitioner_id: int | None,
    config: OutcomeConfig,
    progress: Progress | None,
) -> PracticeReport:
    def step(name: str) -> None:
        if progress:
            progress(name)

    scope = Scope(clinic_id, practitioner_id=practitioner_id)
    sums: TrendSums
    relief_by_patient: dict[int, tuple[int, float]] | None = None
    sessions: int | None = None
    if aggregated_windows(config):
        # Two stored rows per patient for the endpoints, with the sessions grouped once; the
        # trend's sums over the stored rows.
        cohort, relief_by_patient, sessions = stored_cohort(session, scope, config)
        step("anchors")
        sums = stored_trend_sums(session, scope, config)
        step("windows")
    else:
        scanned = cohort_blocks(session, scope, config, progress=progress)
        cohort = [Endpoints.of(pb, config) for pb in scanned]
        sums = trend_sums(trend_windows(scanned), trend_scale(config))
        del scanned
    treated = {pb.patient_id for pb in cohort}
    per_patient = [patient_endpoints(pb, config) for pb in cohort]
    headline = summarise(per_patient, config)
    by_practitioner = []
    if practitioner_id is None:
        names = practitioner_names(session, clinic_id)
        groups: dict[int | None, list[PatientEndpoints]] = defaultdict(list)
        for pb, pe in zip(cohort, per_patient, strict=True):
            groups[pb.practitioner_id].append(pe)
        for prac, members in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
            s = summarise(members, config)
            by_practitioner.append(
                PractitionerSummary(
                    practitioner_id=prac,
                    name=names.get(prac, "") if prac is not None else "(none recorded)",
                    patients_treated=s.patients_treated,
                    evaluable_at_block=s.evaluable_at_block,
                    migraine_days_change=s.migraine_days_change,
                    responders_50=s.responders.get("50"),
                    follow_up_completeness=s.follow_up_completeness,
                )
            )
    step("endpoints")
    safety = adverse_events(session, scope, sessions)
    if relief_by_patient is None:
        relief_by_patient = session_relief_by_patient(session, scope)
    relief = session_relief_summary(relief_by_patient, treated, config.level)
    step("sessions")
    questionnaires = questionnaire_summary(session, scope, treated, config.level)
    step("questionnaires")
    mechanisms = clinic_mechanisms(cohort, config)
    trends = trend(sums, config)
    step("mechanisms")
    return PracticeReport(
        clinic_id=clinic_id,
        practitioner_id=practitioner_id,
        generated_utc=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        policy=VD_AREND_2023.name,
        config=ConfigResult.of(config),
        block=BlockRef(index=config.primary_block, label=block_label(config.primary_block, config)),
        **dict(headline),
        adverse_events=AdverseEventSummary(
            sessions=safety.sessions,
            events=safety.events,
            serious=safety.serious,
            events_per_session=safety.events / safety.sessions if safety.sessions else None,
            sessions_with_event=_proportion(
                safety.sessions_with_event, safety.sessions, config.level
            ),
        ),
        session_relief=relief,
        questionnaires=questionnaires,
        trend=trends,
        mechanisms=mechanisms,
        by_practitioner=by_practitioner,
        benchmarks=benchmarks_beside(headline, config),
        cohort_vs_trial=list(COHORT_CAVEATS),
    )
