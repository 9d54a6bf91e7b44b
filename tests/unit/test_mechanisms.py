"""Mechanism grades as data (CLINICAL.md 8) and the change-score association helper."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import statistics

import pytest

from acuhead.domain.diary import Diary, DiaryDay, PatientFacts
from acuhead.domain.mechanisms import (
    ASSOCIATION_LABEL,
    CLINICAL_CONTEXT,
    MECHANISMS,
    BlockVerdict,
    EvidenceGrade,
    ObservableMeasure,
    block_association,
    get_mechanism,
    observable_mechanism_change,
    window_mean_measure,
    within_patient_association,
)

# The grade each claim carries in CLINICAL.md section 8 (neurotransmitters is "speculative to
# plausible-limited" there; the product shows the lower grade and says so in grade_note).
EXPECTED_GRADES = {
    "endorphins": EvidenceGrade.PLAUSIBLE_LIMITED,
    "muscle_tension": EvidenceGrade.PLAUSIBLE_LIMITED,
    "nervous_system": EvidenceGrade.PLAUSIBLE_LIMITED,
    "neurotransmitters": EvidenceGrade.SPECULATIVE,
    "anti_inflammatory": EvidenceGrade.PLAUSIBLE_LIMITED,
    "blood_flow": EvidenceGrade.SPECULATIVE,
    "qi": EvidenceGrade.NOT_TESTABLE,
    "stress": EvidenceGrade.PLAUSIBLE_LIMITED,
}


def test_eight_mechanisms_with_the_clinical_grades() -> None:
    assert len(MECHANISMS) == 8
    assert {m.key: m.grade for m in MECHANISMS} == EXPECTED_GRADES
    assert "plausible" in get_mechanism("neurotransmitters").grade_note.lower()
    # No claim is graded established: none has been shown to mediate the headache benefit.
    assert all(m.grade is not EvidenceGrade.ESTABLISHED for m in MECHANISMS)


def test_each_entry_has_summary_and_citation() -> None:
    for m in MECHANISMS:
        assert len(m.summary) > 150, m.key
        assert m.citations and all(c.strip() for c in m.citations), m.key
        assert m.claim


def test_grade_values_are_the_documented_strings() -> None:
    assert {g.value for g in EvidenceGrade} == {
        "established",
        "plausible-limited",
        "speculative",
        "not testable",
    }


def test_lookup_and_json() -> None:
    assert get_mechanism("qi").grade is EvidenceGrade.NOT_TESTABLE
    with pytest.raises(KeyError, match="known"):
        get_mechanism("meridian energy")
    payload = json.loads(json.dumps([m.as_dict() for m in MECHANISMS]))
    assert payload[0]["grade"] == "plausible-limited"
    assert "sham" in CLINICAL_CONTEXT


def _pairs(
    rng: random.Random, n: int, slope: float
) -> tuple[list[tuple[float | None, float | None]], list[tuple[float | None, float | None]]]:
    """Per patient: baseline (stress, headache days) and block values where the fall in
    headache days follows the fall in stress with the given slope, plus noise."""
    base: list[tuple[float | None, float | None]] = []
    block: list[tuple[float | None, float | None]] = []
    for _ in range(n):
        s0 = rng.uniform(3, 8)
        h0 = rng.uniform(4, 14)
        ds = rng.gauss(-1.0, 1.0)
        dh = slope * ds + rng.gauss(-1.5, 1.0)
        base.append((s0, h0))
        block.append((s0 + ds, h0 + dh))
    return base, block


def test_planted_association_is_found_and_labelled_not_cause() -> None:
    base, block = _pairs(random.Random(11), 40, slope=1.5)
    out = observable_mechanism_change(base, block, measure="stress")
    assert out["label"] == ASSOCIATION_LABEL == "association, not cause"
    assert out["n"] == 40 and out["n_excluded"] == 0
    dx = [
        b[0] - a[0]
        for a, b in zip(base, block, strict=True)
        if a[0] is not None and b[0] is not None
    ]
    dy = [
        b[1] - a[1]
        for a, b in zip(base, block, strict=True)
        if a[1] is not None and b[1] is not None
    ]
    # Independent check with the standard library, and the Fisher-z interval by hand.
    r = statistics.correlation(dx, dy)
    assert out["r"] == pytest.approx(r)
    half = 1.959963984540054 / math.sqrt(40 - 3)
    assert out["ci_low"] == pytest.approx(math.tanh(math.atanh(r) - half))
    assert out["ci_high"] == pytest.approx(math.tanh(math.atanh(r) + half))
    assert out["ci_low"] > 0
    assert out["verdict"] == "positive association (association, not cause)"
    assert out["mechanism"] == "stress"
    assert out["mechanism_grade"] == "plausible-limited"
    assert out["mean_change_measure"] == pytest.approx(statistics.fmean(dx))
    json.dumps(out)


def test_no_association_when_changes_are_unrelated() -> None:
    base, block = _pairs(random.Random(12), 40, slope=0.0)
    out = observable_mechanism_change(base, block, measure=ObservableMeasure.NECK_TENSION)
    assert out["ci_low"] < 0 < out["ci_high"]
    assert out["verdict"] == "no clear association"
    assert out["mechanism"] == "muscle_tension"


def test_missing_values_are_excluded_and_small_samples_not_judged() -> None:
    base, block = _pairs(random.Random(13), 12, slope=1.0)
    base[0] = (None, base[0][1])
    block[1] = (block[1][0], None)
    block[2] = (float("nan"), block[2][1])
    out = observable_mechanism_change(base, block, measure="sleep_hours")
    assert out["n"] == 9 and out["n_excluded"] == 3
    assert out["r"] is None
    assert out["verdict"].startswith("not enough data")
    assert out["mechanism"] is None  # sleep has no graded mechanism entry of its own
    with pytest.raises(ValueError):
        observable_mechanism_change(base, block[:-1])
    with pytest.raises(ValueError):
        observable_mechanism_change(base, block, measure="blood pressure")


def test_constant_change_is_not_enough_data() -> None:
    base = [(5.0, 10.0)] * 12
    block = [(4.0, 10.0 - i) for i in range(12)]  # stress change identical for all
    out = observable_mechanism_change(base, block)
    assert out["r"] is None
    assert "same for every patient" in out["verdict"]


def test_window_mean_measure_skips_missing_values() -> None:
    start = dt.date(2025, 3, 1)
    days = (
        DiaryDay(date=start, headache=False, stress=4),
        DiaryDay(date=start + dt.timedelta(days=1), headache=True, stress=None),
        DiaryDay(date=start + dt.timedelta(days=2), headache=False, stress=8),
        DiaryDay(date=start + dt.timedelta(days=40), headache=False, stress=10),
    )
    diary = Diary(patient=PatientFacts(birth_date=None), days=days)
    end = start + dt.timedelta(days=27)
    assert window_mean_measure(diary, "stress", start, end) == 6.0
    assert window_mean_measure(diary, ObservableMeasure.SLEEP, start, end) is None


# --------------------------------------------------------------------------- within one patient
#
# Hand calculations for within_patient_association (Spearman's rho of the changes from baseline,
# interval tanh(atanh(rho) +/- 1.959964 * sqrt(1.06 / (n - 3)))).


def test_within_patient_rho_and_interval_match_a_hand_calculation() -> None:
    # Baseline: stress 6.0, 12 headache days per 28. Changes in five blocks:
    #   stress    -0.5 -1.0 -2.0 -1.5 -3.0  -> ranks 5 4 2 3 1
    #   headache  -1   -3   -2   -5   -4    -> ranks 5 3 4 1 2
    # d = 0 1 -2 2 -1, sum d^2 = 10, rho = 1 - 6 * 10 / (5 * 24) = 0.5 (no ties).
    # z = atanh(0.5) = 0.549306, se = sqrt(1.06 / 2) = 0.728011, z +/- 1.959964 * se
    # = -0.877569 .. 1.976181, tanh -> -0.705199 .. 0.962306.
    result = within_patient_association(
        (6.0, 12.0), [(5.5, 11.0), (5.0, 9.0), (4.0, 10.0), (4.5, 7.0), (3.0, 8.0)]
    )
    assert result.n_blocks == 5
    assert result.rho == pytest.approx(0.5, abs=1e-12)
    assert result.ci_low == pytest.approx(-0.705199, abs=1e-6)
    assert result.ci_high == pytest.approx(0.962306, abs=1e-6)
    assert result.verdict is BlockVerdict.NO_CLEAR_ASSOCIATION  # the interval spans 0
    assert result.as_dict() == {
        "method": "spearman",
        "n_blocks": 5,
        "min_blocks": 5,
        "rho": result.rho,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "level": 0.95,
        "verdict": "no clear association",
    }


def test_within_patient_ties_take_average_ranks_and_the_interval_decides_the_direction() -> None:
    # Changes (baseline 0, 0 so the block values are the changes):
    #   measure   -1 -2 -2 -3 -4 -5  -> ranks 6 4.5 4.5 3 2 1 (a tie shares 4 and 5)
    #   headache  -1 -2 -3 -4 -6 -5  -> ranks 6 5   4   3 1 2
    # Deviations from the mean rank 3.5: Sxy = 16, Sxx = 17, Syy = 17.5,
    # rho = 16 / sqrt(17 * 17.5) = 0.927634; se = sqrt(1.06 / 3), interval 0.443127 .. 0.992722.
    measure = [-1.0, -2.0, -2.0, -3.0, -4.0, -5.0]
    headache = [-1.0, -2.0, -3.0, -4.0, -6.0, -5.0]
    same = within_patient_association((0.0, 0.0), list(zip(measure, headache, strict=True)))
    assert same.rho == pytest.approx(0.927634, abs=1e-6)
    assert (same.ci_low, same.ci_high) == pytest.approx((0.443127, 0.992722), abs=1e-6)
    assert same.verdict is BlockVerdict.SAME_DIRECTION  # the whole interval above 0
    flipped = [(m, -h) for m, h in zip(measure, headache, strict=True)]
    opposite = within_patient_association((0.0, 0.0), flipped)
    assert opposite.rho == pytest.approx(-0.927634, abs=1e-6)
    assert (opposite.ci_low, opposite.ci_high) == pytest.approx((-0.992722, -0.443127), abs=1e-6)
    assert opposite.verdict is BlockVerdict.OPPOSITE_DIRECTION


def test_within_patient_gives_no_coefficient_without_baseline_blocks_or_variation() -> None:
    five = [(5.0, 10.0), (4.0, 9.0), (3.0, 8.0), (2.0, 7.0), (1.0, 6.0)]
    no_base = within_patient_association((None, 12.0), five)
    assert no_base.verdict is BlockVerdict.NO_BASELINE and no_base.rho is None
    # A block without a rate (low compliance) is left out, not read as zero.
    gaps = within_patient_association((6.0, 12.0), [*five[:4], (0.5, None)])
    assert gaps.verdict is BlockVerdict.TOO_FEW_BLOCKS and gaps.n_blocks == 4
    assert gaps.rho is None and gaps.ci_low is None and gaps.ci_high is None
    flat = within_patient_association((6.0, 12.0), [(5.0, h) for _, h in five])
    assert flat.verdict is BlockVerdict.NO_VARIATION and flat.rho is None
    with pytest.raises(ValueError, match="min_blocks"):
        within_patient_association((6.0, 12.0), five, min_blocks=3)


def test_block_association_reads_the_by_block_rows_of_the_outcomes_json() -> None:
    rows = [
        {"index": -1, "mean": 6.0, "days": 28, "headache_days_per_28": 12.0},
        *(
            {"index": i, "mean": m, "days": 28, "headache_days_per_28": h}
            for i, (m, h) in enumerate(
                [(5.5, 11.0), (5.0, 9.0), (4.0, 10.0), (4.5, 7.0), (3.0, 8.0)]
            )
        ),
    ]
    # Order does not matter: the baseline is found by its index.
    result = block_association(list(reversed(rows)))
    assert result.rho == pytest.approx(0.5, abs=1e-12) and result.n_blocks == 5
    assert block_association(rows[1:]).verdict is BlockVerdict.NO_BASELINE
