"""Proposed mechanisms of acupuncture for headache, graded, plus a clinic-level association check.

Two things live here:

1. :data:`MECHANISMS` - the eight mechanism claims commonly made to patients, each with the
   evidence grade from CLINICAL.md section 8, a summary in our own words and the citations that
   section names. The product shows them as *proposed* mechanisms, never as facts, next to the
   clinical context (:data:`CLINICAL_CONTEXT`): acupuncture beats usual care clearly and sham
   needling only modestly (Vickers et al. 2012 and 2018 IPD meta-analyses; Linde et al. Cochrane
   2016), so much of any observed benefit is non-specific (expectation, ritual, attention).

2. :func:`observable_mechanism_change` - for the few candidate mediators a clinic can actually
   observe in the diary (stress, neck tension, sleep), the correlation across patients between the
   change in that measure and the change in headache days, with a Fisher-z interval. It is labelled
   "association, not cause": a correlation of change scores cannot show mediation (no control
   group, shared regression to the mean, and both can follow a third factor such as the
   non-specific effects of being cared for).

3. :func:`within_patient_association` - the same question inside one patient's diary: across
   the 28-day blocks after the first session, does a measure's change from baseline go with the
   change in headache days? Spearman's rho with its interval, worded by the caller as an
   association. It is computed here, once, so the outcomes JSON (API, CLI) and the
   practitioner's outcome panel give the same figure.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from acuhead.domain.diary import Diary
from acuhead.domain.stats import pearson, spearman

__all__ = [
    "ASSOCIATION_LABEL",
    "CLINICAL_CONTEXT",
    "MECHANISMS",
    "MIN_ASSOCIATION_BLOCKS",
    "MIN_PATIENTS",
    "BlockAssociation",
    "BlockVerdict",
    "EvidenceGrade",
    "Mechanism",
    "ObservableMeasure",
    "block_association",
    "get_mechanism",
    "observable_mechanism_change",
    "window_mean_measure",
    "within_patient_association",
]


class EvidenceGrade(StrEnum):
    """CLINICAL.md 8 grades. ``plausible-limited``: mechanistic data in animals or small human
    studies, not shown to mediate the clinical benefit in headache."""

    ESTABLISHED = "established"
    PLAUSIBLE_LIMITED = "plausible-limited"
    SPECULATIVE = "speculative"
    NOT_TESTABLE = "not testable"


@dataclass(frozen=True, slots=True)
class Mechanism:
    key: str
    claim: str  # the claim as patients usually meet it
    grade: EvidenceGrade
    summary: str  # our own one-paragraph reading of the evidence
    citations: tuple[str, ...]
    grade_note: str = ""  # nuance the single grade cannot carry

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "claim": self.claim,
            "grade": str(self.grade),
            "grade_note": self.grade_note,
            "summary": self.summary,
            "citations": list(self.citations),
        }


CLINICAL_CONTEXT = (
    "Acupuncture reduces headache frequency compared with usual care; the additional benefit "
    "over sham needling is small (about 0.15 SD for chronic headache). The mechanisms below are "
    "proposed explanations, graded by how well they are supported."
)

_VICKERS_2012 = (
    "Vickers AJ et al. Acupuncture for chronic pain: individual patient data meta-analysis. "
    "Arch Intern Med 2012 (29 trials, 17,922 patients)."
)
_VICKERS_2018 = (
    "Vickers AJ et al. (Acupuncture Trialists' Collaboration). J Pain 2018;19(5):455-474. "
    "doi:10.1016/j.jpain.2017.11.005"
)
_MELCHART_2005 = (
    "Melchart D et al. 2005, ART-TTH randomised trial (acupuncture vs minimal needling)."
)
_CHEN_2022 = (
    "Chen Y et al. Neuroimaging of acupuncture in migraine, review. Front Neurosci 2022. "
    "doi:10.3389/fnins.2022.1022455"
)

MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism(
        key="endorphins",
        claim="Relieves pain by releasing endorphins (the body's own opioids).",
        grade=EvidenceGrade.PLAUSIBLE_LIMITED,
        grade_note="Established in animals; limited human data; none in headache patients.",
        summary=(
            "In rats, the pain relief from electroacupuncture disappears when opioid receptors in "
            "the spinal cord are blocked, so an opioid pathway is real in animals. In people, one "
            "PET study in fibromyalgia saw more mu-opioid receptor binding after traditional "
            "acupuncture than after sham. Nobody has shown this in headache patients, and placebo "
            "pain relief uses the same opioid system, so the finding cannot by itself separate "
            "needling from expectation."
        ),
        citations=(
            "Wang Y, ... Han JS. Exp Neurol 2005;192:156 (intrathecal opioid antagonists block "
            "electroacupuncture analgesia in rats).",
            "Harris RE et al. NeuroImage 2009;47:1077. PMC2757074 ([11C]carfentanil PET, "
            "fibromyalgia).",
        ),
    ),
    Mechanism(
        key="muscle_tension",
        claim="Relaxes tense muscles of the neck, shoulders and scalp.",
        grade=EvidenceGrade.PLAUSIBLE_LIMITED,
        summary=(
            "Tension-type headache improves with acupuncture, and the points used most are local "
            "neck and head points, which fits the idea. But real acupuncture did about as well as "
            "minimal needling in the ART-TTH trial, and no trial has shown that lower muscle "
            "tension (by EMG or tenderness) is what carries the improvement."
        ),
        citations=(_MELCHART_2005, "Lu 2021 (points most used in TTH trials)."),
    ),
    Mechanism(
        key="nervous_system",
        claim="Regulates the nervous system.",
        grade=EvidenceGrade.PLAUSIBLE_LIMITED,
        summary=(
            "Brain-imaging studies in migraine without aura report that connectivity between pain-"
            "control regions (periaqueductal grey and rostral anterior cingulate) is low before "
            "treatment and rises afterwards in step with improvement. The studies are small, one "
            "is uncontrolled, and they show change alongside improvement rather than change that "
            "causes it or that is specific to real needling."
        ),
        citations=(
            "Li Z et al. Sci Rep 2016;6:20298. PMC4738255 (PAG-rACC connectivity, "
            "verum/sham/waitlist).",
            "Li K et al. J Headache Pain 2015 (frontoparietal network, 12 patients, uncontrolled).",
            _CHEN_2022,
        ),
    ),
    Mechanism(
        key="neurotransmitters",
        claim="Regulates neurotransmitters such as serotonin and dopamine.",
        grade=EvidenceGrade.SPECULATIVE,
        grade_note="Speculative to plausible-limited; the lower grade is shown.",
        summary=(
            "Most of the data are from animals; reviews mention the serotonin and endocannabinoid "
            "systems. The one human study found compared blood serotonin after acupuncture and "
            "after venlafaxine in 54 people with no sham group. No human dopamine data were found."
        ),
        citations=(
            _CHEN_2022,
            "Biçer M et al. Turk J Phys Med Rehab 2017;63:59 (serum serotonin, n=54, no sham).",
        ),
    ),
    Mechanism(
        key="anti_inflammatory",
        claim="Has anti-inflammatory effects.",
        grade=EvidenceGrade.PLAUSIBLE_LIMITED,
        grade_note="Animal evidence; human CGRP evidence is sparse.",
        summary=(
            "In mice, gentle electroacupuncture at ST36 switches on a vagus-adrenal anti-"
            "inflammatory reflex through a defined group of sensory neurons. In rat models of "
            "migraine, electroacupuncture at GB20 lowered CGRP along the trigeminal pain pathway "
            "and reduced skin hypersensitivity, and GB20 with GB34 lowered several blood "
            "neuropeptides. These are animal findings; evidence that the same happens in people "
            "with headache is thin."
        ),
        citations=(
            "Liu S ... Ma Q. Nature 2021;598:641 (vagal-adrenal axis via PROKR2 neurons, mice).",
            "Zhao LP et al. Neural Regen Res 2017;12:804 (GB20, CGRP, rat dural stimulation).",
            "Evid Based Complement Alternat Med 2019:9512875 (GB20+GB34, plasma neuropeptides, "
            "rats).",
            "Sun 2023, J Pain Res (meta-analysis of 21 animal studies).",
        ),
    ),
    Mechanism(
        key="blood_flow",
        claim="Improves blood flow to the head.",
        grade=EvidenceGrade.SPECULATIVE,
        summary=(
            "One small trial of 35 people measured brain blood-flow regulation by transcranial "
            "Doppler and saw a difference between real and placebo acupuncture. Migraine is now "
            "understood as a disorder of the trigeminal and brain systems, not mainly of blood "
            "flow, so even a real flow change would not explain the benefit."
        ),
        citations=(
            "Small RCT, n=35, transcranial Doppler (acutrials.ocom.edu item 9754; authorship "
            "reported as Bäcker et al., not yet checked).",
        ),
    ),
    Mechanism(
        key="qi",
        claim="Balances the flow of qi.",
        grade=EvidenceGrade.NOT_TESTABLE,
        grade_note="Not testable as stated; only predictions derived from it can be tested.",
        summary=(
            "Qi has no physiological definition that could be measured, so the claim cannot be "
            "tested directly. What can be tested are its predictions: in a large migraine trial, "
            "points specific to the affected channel did no better than non-specific points or "
            "points on another channel, and in tension-type headache real acupuncture did about "
            "as well as minimal needling."
        ),
        citations=(
            "Li Y et al. CMAJ 2012;184(4):401 (point specificity, 480 patients).",
            _MELCHART_2005,
        ),
    ),
    Mechanism(
        key="stress",
        claim="Reduces stress.",
        grade=EvidenceGrade.PLAUSIBLE_LIMITED,
        grade_note="Mostly a non-specific effect of the treatment setting.",
        summary=(
            "Patients given sham or minimal needling also improve a lot, which fits relaxation and "
            "expectation playing a large part. That makes stress relief plausible, but as an "
            "effect of the whole treatment experience rather than of needling itself. No study "
            "was found that tested stress as the route by which headache improves."
        ),
        citations=(_MELCHART_2005, _VICKERS_2018, _VICKERS_2012),
    ),
)

_BY_KEY = {m.key: m for m in MECHANISMS}


def get_mechanism(key: str) -> Mechanism:
    """Look a mechanism up by key; ``KeyError`` names the known keys."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown mechanism {key!r}; known: {', '.join(_BY_KEY)}") from None


# --------------------------------------------------------------------------- observable change

ASSOCIATION_LABEL = "association, not cause"
MIN_PATIENTS = 10


class ObservableMeasure(StrEnum):
    """Diary measures a clinic observes that correspond to a proposed mechanism."""

    STRESS = "stress"  # DiaryDay.stress, 0-10
    NECK_TENSION = "neck_tension"  # DiaryDay.neck_tension, 0-10
    SLEEP = "sleep_hours"  # DiaryDay.sleep_hours


# Which mechanism entry a measure speaks to; sleep has no entry of its own in CLINICAL.md 8.
_MEASURE_MECHANISM: dict[ObservableMeasure, str | None] = {
    ObservableMeasure.STRESS: "stress",
    ObservableMeasure.NECK_TENSION: "muscle_tension",
    ObservableMeasure.SLEEP: None,
}

_CAVEATS = (
    "A correlation of change scores across patients cannot show that the measure carries the "
    "treatment effect (no control group, no time order within the window).",
    "Both changes regress toward the mean, and both can follow a third factor such as the "
    "non-specific effects of treatment (expectation, attention, relaxation).",
)


def window_mean_measure(
    diary: Diary, measure: ObservableMeasure | str, start: dt.date, end: dt.date
) -> float | None:
    """Mean of a diary measure over recorded days in ``start..end`` inclusive, or None.

    Missing days and days without that measure are skipped, not read as zero.
    """
    m = ObservableMeasure(measure)
    values: list[float] = []
    for day in diary.days:
        if start <= day.date <= end:
            v = getattr(day, m.value)
            if v is not None:
                values.append(float(v))
    return statistics.fmean(values) if values else None


Pair = tuple[float | None, float | None]


def observable_mechanism_change(
    baseline_values: Sequence[Pair],
    block_values: Sequence[Pair],
    *,
    measure: ObservableMeasure | str = ObservableMeasure.STRESS,
    level: float = 0.95,
    min_patients: int = MIN_PATIENTS,
) -> dict[str, Any]:
    """Across patients, correlate the change in a diary measure with the change in headache days.

    ``baseline_values[i]`` and ``block_values[i]`` are patient i's ``(measure, headache_days)``
    in the baseline window and in a later block (e.g. mean stress and headache days per 28 days,
    see :func:`window_mean_measure`). A patient with any value missing is left out and counted.

    Returns a JSON-friendly dict with the Pearson r of (change in measure, change in headache
    days), its Fisher-z interval and p-value, Spearman's rho as a robustness check, the means of
    both changes, the graded mechanism the measure speaks to, and the label "association, not
    cause". Below ``min_patients`` complete patients (default 10: with fewer, a 95 % interval for
    r spans most of -1..1) or when a change is the same for everyone, ``r`` is None and
    ``verdict`` says why.

    Both changes are block minus baseline, so a positive r means patients whose measure fell
    more also tended to lose more headache days: consistent with the measure being a route of
    benefit, not proof of it. (For sleep hours, where more is better, expect a negative r.)
    """
    m = ObservableMeasure(measure)
    if len(baseline_values) != len(block_values):
        raise ValueError("baseline_values and block_values must be per patient, same length")
    if not 0.0 < level < 1.0:
        raise ValueError("level must be strictly between 0 and 1")
    dx: list[float] = []
    dy: list[float] = []
    excluded = 0
    for (m0, h0), (m1, h1) in zip(baseline_values, block_values, strict=True):
        if (
            m0 is None
            or h0 is None
            or m1 is None
            or h1 is None
            or not (
                math.isfinite(m0) and math.isfinite(h0) and math.isfinite(m1) and math.isfinite(h1)
            )
        ):
            excluded += 1
            continue
        dx.append(m1 - m0)
        dy.append(h1 - h0)

    mech_key = _MEASURE_MECHANISM[m]
    mech = _BY_KEY[mech_key] if mech_key else None
    out: dict[str, Any] = {
        "measure": m.value,
        "label": ASSOCIATION_LABEL,
        "n": len(dx),
        "n_excluded": excluded,
        "mean_change_measure": statistics.fmean(dx) if dx else None,
        "mean_change_headache_days": statistics.fmean(dy) if dy else None,
        "r": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "spearman_rho": None,
        "level": level,
        "mechanism": mech.key if mech else None,
        "mechanism_claim": mech.claim if mech else None,  # what a page shows (issue 15)
        "mechanism_grade": str(mech.grade) if mech else None,
        "verdict": "",
        "notes": list(_CAVEATS),
    }
    if len(dx) < max(4, min_patients):
        out["verdict"] = (
            f"not enough data: {len(dx)} patients with complete values "
            f"(need {max(4, min_patients)})"
        )
        return out
    if len(set(dx)) < 2 or len(set(dy)) < 2:
        out["verdict"] = "not enough data: one of the changes is the same for every patient"
        return out
    r = pearson(dx, dy, level=level)
    rho = spearman(dx, dy, level=level)
    out.update(
        r=r.r,
        ci_low=r.low,
        ci_high=r.high,
        p_value=r.p_value,
        spearman_rho=rho.r,
    )
    if r.low > 0.0:
        out["verdict"] = "positive association (" + ASSOCIATION_LABEL + ")"
    elif r.high < 0.0:
        out["verdict"] = "negative association (" + ASSOCIATION_LABEL + ")"
    else:
        out["verdict"] = "no clear association"
    return out


# --------------------------------------------------------------------------- within one patient

# Fewest post-baseline blocks with both figures before an association is given: with fewer, a
# 95 % interval for a rank correlation spans almost all of -1..1 and says nothing.
MIN_ASSOCIATION_BLOCKS = 5


class BlockVerdict(StrEnum):
    """What :func:`within_patient_association` could say. The first three give no coefficient;
    the last three read the interval, not the point estimate."""

    NO_BASELINE = "no baseline"  # the baseline lacks the measure or a headache-day rate
    TOO_FEW_BLOCKS = "too few blocks"
    NO_VARIATION = "no variation"  # one of the two changes is the same in every block
    SAME_DIRECTION = "same direction"  # the whole interval is above 0
    OPPOSITE_DIRECTION = "opposite direction"  # the whole interval is below 0
    NO_CLEAR_ASSOCIATION = "no clear association"


@dataclass(frozen=True, slots=True)
class BlockAssociation:
    """Spearman's rho of (change in a measure, change in headache days per 28) over one
    patient's blocks. ``rho``/``ci_low``/``ci_high`` are None when no coefficient was computed;
    ``n_blocks`` counts the post-baseline blocks that had both figures."""

    verdict: BlockVerdict
    n_blocks: int
    level: float
    min_blocks: int
    rho: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": "spearman",
            "n_blocks": self.n_blocks,
            "min_blocks": self.min_blocks,
            "rho": self.rho,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
            "verdict": str(self.verdict),
        }


def within_patient_association(
    baseline: Pair,
    blocks: Sequence[Pair],
    *,
    level: float = 0.95,
    min_blocks: int = MIN_ASSOCIATION_BLOCKS,
) -> BlockAssociation:
    """How one patient's change in a diary measure went with their change in headache days.

    ``baseline`` and each of ``blocks`` are ``(measure mean, headache days per 28)`` of a
    window (None when the window has no such figure, e.g. a low-compliance block has no rate);
    blocks missing either figure are left out. Both changes are block minus baseline, and their
    rank correlation gets the Fisher-z interval with the Fieller-Hartley-Pearson variance
    (:func:`acuhead.domain.stats.spearman`). Rank, not Pearson: with five to a dozen block
    means, one unusual block would otherwise carry the coefficient.

    The blocks of one diary are neither independent nor controlled, so the interval is
    approximate and a coefficient is an association only: the measure may follow the headaches,
    or both may follow expectation, season or other treatment.
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be strictly between 0 and 1")
    if min_blocks < 4:
        raise ValueError("min_blocks must be at least 4 (the interval needs n - 3 > 0)")
    complete = [(m, h) for m, h in blocks if m is not None and h is not None]
    n = len(complete)
    m0, h0 = baseline
    if m0 is None or h0 is None:
        return BlockAssociation(BlockVerdict.NO_BASELINE, n, level, min_blocks)
    if n < min_blocks:
        return BlockAssociation(BlockVerdict.TOO_FEW_BLOCKS, n, level, min_blocks)
    dx = [float(m) - float(m0) for m, _ in complete]
    dy = [float(h) - float(h0) for _, h in complete]
    if len(set(dx)) < 2 or len(set(dy)) < 2:
        return BlockAssociation(BlockVerdict.NO_VARIATION, n, level, min_blocks)
    rho = spearman(dx, dy, level=level)
    if rho.low > 0:
        verdict = BlockVerdict.SAME_DIRECTION
    elif rho.high < 0:
        verdict = BlockVerdict.OPPOSITE_DIRECTION
    else:
        verdict = BlockVerdict.NO_CLEAR_ASSOCIATION
    return BlockAssociation(verdict, n, level, min_blocks, rho.r, rho.low, rho.high)


def block_association(
    by_block: Sequence[Mapping[str, Any]],
    *,
    level: float = 0.95,
    min_blocks: int = MIN_ASSOCIATION_BLOCKS,
) -> BlockAssociation:
    """:func:`within_patient_association` of the ``by_block`` rows the outcomes JSON gives for
    a measure (``index`` -1 the baseline, ``mean``, ``headache_days_per_28``), so the JSON's
    summary and the outcome panel read the very same figures."""
    base = next((b for b in by_block if int(b["index"]) < 0), None)
    return within_patient_association(
        (base.get("mean"), base.get("headache_days_per_28")) if base else (None, None),
        [(b.get("mean"), b.get("headache_days_per_28")) for b in by_block if int(b["index"]) >= 0],
        level=level,
        min_blocks=min_blocks,
    )
