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
    EvidenceGrade,
    ObservableMeasure,
    get_mechanism,
    observable_mechanism_change,
    window_mean_measure,
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
