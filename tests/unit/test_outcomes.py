"""Pure outcome arithmetic (domain.outcomes): windows, compliance, responders, day records.

Sources: CLINICAL.md 3 (28-day rates, 80 % compliance [R], >= 30/50/75/100 % responders, weeks
9-12), 0.4 (a missing day is not headache-free), DESIGN.md glossary (attacks over midnight
count on each day; low-compliance windows are flagged, never silently scaled).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from acuhead.domain.diary import (
    Attack,
    Diary,
    DiaryDay,
    MedClass,
    MedicationDose,
    PatientFacts,
)
from acuhead.domain.outcomes import (
    BASELINE,
    BENCHMARKS,
    CHANGE_KEYS,
    EMPTY_COUNTS,
    Block,
    BlockCounts,
    OutcomeConfig,
    block_bounds,
    block_label,
    change_from_baseline,
    day_end_utc,
    day_number,
    day_records,
    diary_extent,
    make_block,
    mean_summary,
    patient_blocks,
    proportion_summary,
    responder,
)
from acuhead.errors import ValidationError

ANCHOR = dt.date(2026, 3, 2)


def counts(recorded: int, migraine: int = 0, **extra: int | float) -> BlockCounts:
    return EMPTY_COUNTS._replace(recorded_days=recorded, migraine_days=migraine, **extra)


def block(index: int, recorded: int, migraine: int) -> Block:
    return make_block(index, ANCHOR, counts(recorded, migraine), OutcomeConfig())


# --------------------------------------------------------------------------- windows


def test_baseline_is_the_28_days_before_the_anchor_and_blocks_follow() -> None:
    cfg = OutcomeConfig()
    assert block_bounds(BASELINE, ANCHOR, cfg) == (dt.date(2026, 2, 2), dt.date(2026, 3, 1))
    assert block_bounds(0, ANCHOR, cfg) == (dt.date(2026, 3, 2), dt.date(2026, 3, 29))
    assert block_bounds(2, ANCHOR, cfg) == (dt.date(2026, 4, 27), dt.date(2026, 5, 24))
    assert block_label(2, cfg) == "weeks 9-12"  # CLINICAL.md 3: the EM primary endpoint window
    assert block_label(3, cfg) == "weeks 13-16"  # Xu 2020 BMJ (CLINICAL.md 5.4)
    assert block_label(1, OutcomeConfig(block_days=30)) == "days 31-60"
    assert block_bounds(BASELINE, ANCHOR, OutcomeConfig(baseline_days=14))[0] == dt.date(
        2026, 2, 16
    )


@pytest.mark.parametrize(
    ("recorded", "days", "low"),
    [
        (23, 28, False),  # 82 % >= 80 %
        (22, 28, True),  # 78.6 % < 80 %
        (20, 25, False),  # exactly 80 %: meets the minimum
        (19, 25, True),
        (0, 28, True),
    ],
)
def test_compliance_threshold_is_at_least_80_percent(recorded: int, days: int, low: bool) -> None:
    cfg = OutcomeConfig(baseline_days=days)
    b = make_block(BASELINE, ANCHOR, counts(recorded, 1), cfg)
    assert b.compliance == recorded / days
    assert b.low_compliance is low
    assert b.evaluable is (not low)


def test_low_compliance_block_has_counts_but_no_rate_unless_policy_prorates() -> None:
    strict = make_block(1, ANCHOR, counts(10, 2), OutcomeConfig())
    assert strict.low_compliance and not strict.evaluable
    assert strict.rate_of("migraine_days") is None
    assert strict.as_dict(OutcomeConfig())["migraine_days"] == 2
    lenient = make_block(1, ANCHOR, counts(10, 2), OutcomeConfig(prorate_low_compliance=True))
    assert lenient.evaluable and lenient.prorated_low_compliance
    assert lenient.rate_of("migraine_days") == pytest.approx(2 * 28 / 10)
    # Even a lenient policy cannot rate a window without a single recorded day.
    empty = make_block(1, ANCHOR, counts(0, 0), OutcomeConfig(prorate_low_compliance=True))
    assert not empty.evaluable and empty.rate_of("migraine_days") is None


def test_rates_are_per_28_recorded_days() -> None:
    b = make_block(
        0,
        ANCHOR,
        counts(25, 3, headache_days=5, headache_minutes=600, peak_sum=21, peak_n=3),
        OutcomeConfig(),
    )
    assert b.rate_of("migraine_days") == pytest.approx(3 * 28 / 25)
    assert b.rate_of("headache_days") == pytest.approx(5 * 28 / 25)
    assert b.rate_of("headache_hours") == pytest.approx(10 * 28 / 25)
    assert b.mean_peak_intensity == 7.0


# --------------------------------------------------------------------------- responders


@pytest.mark.parametrize(
    ("base", "after", "expected"),
    [
        ((28, 4), (28, 2), {"30": True, "50": True, "75": False, "100": False}),  # exactly 50 %
        ((28, 4), (28, 1), {"30": True, "50": True, "75": True, "100": False}),  # exactly 75 %
        ((28, 4), (28, 0), {"30": True, "50": True, "75": True, "100": True}),
        ((28, 4), (28, 5), {"30": False, "50": False, "75": False, "100": False}),  # worse
        # Raw counts say 50 % (10 -> 5) but the block has a missing day: 5/27 x 28 = 5.19,
        # a 48 % fall, so not a 50 % responder. Rates, not counts, decide.
        ((28, 10), (27, 5), {"30": True, "50": False, "75": False, "100": False}),
        ((26, 8), (25, 3), {"30": True, "50": True, "75": False, "100": False}),  # 61 %
    ],
)
def test_responder_thresholds_use_exact_rates(
    base: tuple[int, int], after: tuple[int, int], expected: dict[str, bool]
) -> None:
    b = make_block(BASELINE, ANCHOR, counts(*base), OutcomeConfig(baseline_days=28))
    t = make_block(2, ANCHOR, counts(*after), OutcomeConfig())
    assert responder(b, t) == expected
    # Cross-check against floating-point arithmetic away from the boundary.
    fall = 1 - (after[1] / after[0]) / (base[1] / base[0])
    for key, value in expected.items():
        if abs(fall * 100 - int(key)) > 1e-6:
            assert value == (fall * 100 >= int(key))


def test_responder_is_unknown_without_an_evaluable_baseline_block_or_migraine() -> None:
    none = {"30": None, "50": None, "75": None, "100": None}
    good = make_block(2, ANCHOR, counts(28, 1), OutcomeConfig())
    assert responder(make_block(BASELINE, ANCHOR, counts(28, 0)), good) == none
    assert responder(make_block(BASELINE, ANCHOR, counts(20, 6)), good) == none
    assert responder(make_block(BASELINE, ANCHOR, counts(28, 6)), None) == none
    assert responder(make_block(BASELINE, ANCHOR, counts(28, 6)), block(2, 10, 0)) == none
    assert responder(None, good, (50,)) == {"50": None}


def test_change_from_baseline_per_measure() -> None:
    base = make_block(
        BASELINE, ANCHOR, counts(28, 8, stress_sum=168.0, stress_n=28, peak_sum=14, peak_n=2)
    )
    after = make_block(
        2, ANCHOR, counts(28, 2, stress_sum=112.0, stress_n=28, peak_sum=5, peak_n=1)
    )
    change = change_from_baseline(base, after)
    assert set(change) == set(CHANGE_KEYS)
    assert change["migraine_days_per_28"] == -6.0
    assert change["migraine_days_percent"] == -75.0
    assert change["stress_mean"] == -2.0
    assert change["mean_peak_intensity"] == -2.0
    assert change["sleep_hours_mean"] is None  # never recorded
    assert all(v is None for v in change_from_baseline(None, after).values())
    low = make_block(2, ANCHOR, counts(5, 0))
    assert change_from_baseline(base, low)["migraine_days_per_28"] is None


def test_patient_blocks_fill_gaps_with_empty_blocks() -> None:
    pb = patient_blocks(7, ANCHOR, {BASELINE: counts(28, 4), 2: counts(28, 1)})
    assert [b.index for b in pb.blocks] == [0, 1, 2]
    assert pb.blocks[0].counts.recorded_days == 0 and not pb.blocks[0].evaluable
    assert pb.block(BASELINE) is pb.baseline and pb.block(3) is None
    assert patient_blocks(7, ANCHOR, {}).blocks == ()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline_days": 0},
        {"block_days": 0},
        {"min_compliance": 0.0},
        {"min_compliance": 1.5},
        {"primary_block": -1},
        {"responder_thresholds": (0,)},
        {"responder_thresholds": ()},
        {"level": 1.0},
    ],
)
def test_config_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OutcomeConfig(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- summaries


def test_mean_summary_matches_a_hand_t_interval() -> None:
    values = [-5.0, -3.0, -1.0]
    s = mean_summary(values)
    sd = math.sqrt(((-2) ** 2 + 0 + 2**2) / 2)  # = 2
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2) from tables: 4.303
    assert s.n == 3 and s.mean == -3.0 and s.sd == pytest.approx(2.0)
    assert (s.ci_low, s.ci_high) == pytest.approx((-3 - half, -3 + half))
    assert mean_summary([4.0]).ci_low is None and mean_summary([4.0]).mean == 4.0
    assert mean_summary([]).mean is None


def test_proportion_summary_is_wilson() -> None:
    z = 1.959963984540054
    k, n = 7, 20
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    s = proportion_summary(k, n)
    assert s.rate == 0.35
    assert (s.ci_low, s.ci_high) == pytest.approx((centre - half, centre + half))
    assert proportion_summary(0, 0).rate is None


def test_benchmarks_carry_clinical_md_figures_and_markers() -> None:
    by_key = {b.key: b for b in BENCHMARKS}
    assert by_key["cochrane2016_vs_no_acupuncture"].acupuncture == 41.0
    assert by_key["cochrane2016_vs_no_acupuncture"].control == 17.0
    assert (by_key["cochrane2016_vs_sham"].acupuncture, by_key["cochrane2016_vs_sham"].control) == (
        50.0,
        41.0,
    )
    assert by_key["xu2020_bmj_weeks_13_16"].acupuncture == -3.5
    assert all(b.marker in ("V", "R") for b in BENCHMARKS)
    assert all(b.section.startswith("CLINICAL.md 5.") for b in BENCHMARKS)
    assert by_key["cochrane2016_vs_sham"].status == "verified against the source"
    assert any("[R]" in n for n in by_key["cochrane2016_vs_sham"].notes)


# --------------------------------------------------------------------------- day records


BERLIN = PatientFacts(birth_date=None, timezone="Europe/Berlin")


def migraine(start: dt.datetime, end: dt.datetime | None, **extra: object) -> Attack:
    return Attack(start=start, end=end, peak_intensity=7, **extra)  # type: ignore[arg-type]


def test_attack_over_midnight_counts_minutes_on_each_day_and_starts_once() -> None:
    diary = Diary(
        BERLIN,
        attacks=(migraine(dt.datetime(2026, 2, 15, 22, 0), dt.datetime(2026, 2, 16, 2, 30)),),
    )
    recs = {r.date: r for r in day_records(diary, dt.date(2026, 2, 14), dt.date(2026, 2, 17))}
    assert set(recs) == {dt.date(2026, 2, 15), dt.date(2026, 2, 16)}  # 14th, 17th missing
    assert (
        recs[dt.date(2026, 2, 15)].headache_minutes,
        recs[dt.date(2026, 2, 16)].headache_minutes,
    ) == (
        120,
        150,
    )
    assert [r.attacks_started for r in recs.values()] == [1, 0]
    assert recs[dt.date(2026, 2, 15)].peak_sum == 7 and recs[dt.date(2026, 2, 16)].peak_n == 0


def test_overlapping_attacks_are_not_double_counted_and_unknown_length_adds_nothing() -> None:
    day = dt.date(2026, 2, 3)
    diary = Diary(
        BERLIN,
        attacks=(
            migraine(dt.datetime(2026, 2, 3, 8), dt.datetime(2026, 2, 3, 12)),
            migraine(dt.datetime(2026, 2, 3, 10), dt.datetime(2026, 2, 3, 14)),
            migraine(dt.datetime(2026, 2, 3, 20), None),
        ),
    )
    (rec,) = day_records(diary, day, day)
    assert rec.headache_minutes == 360
    assert (rec.attacks_started, rec.peak_sum, rec.peak_n) == (3, 21, 3)


def test_late_entry_uses_the_end_of_the_local_day_in_utc() -> None:
    # 2026-07-01 ends at 2026-07-02 00:00 CEST = 2026-07-01 22:00 UTC; late after + 48 h.
    assert day_end_utc(dt.date(2026, 7, 1), "Europe/Berlin") == dt.datetime(2026, 7, 1, 22, 0)
    assert day_end_utc(dt.date(2026, 1, 1), "Europe/Berlin") == dt.datetime(2026, 1, 1, 23, 0)
    limit = dt.datetime(2026, 7, 3, 22, 0)
    days = (
        DiaryDay(dt.date(2026, 7, 1), False, stress=3, recorded_at=limit),
        DiaryDay(dt.date(2026, 7, 2), False, recorded_at=limit + dt.timedelta(days=1, minutes=1)),
        DiaryDay(dt.date(2026, 7, 3), False, recorded_at=None),
    )
    recs = day_records(Diary(BERLIN, days=days), dt.date(2026, 7, 1), dt.date(2026, 7, 3))
    assert [r.late for r in recs] == [False, True, False]
    assert recs[0].stress == 3 and recs[1].stress is None


def test_a_day_known_only_from_an_attack_is_judged_by_when_the_attack_was_recorded() -> None:
    attack = migraine(dt.datetime(2026, 7, 1, 8), dt.datetime(2026, 7, 1, 12))
    diary = Diary(BERLIN, attacks=(attack,))
    day = dt.date(2026, 7, 1)
    on_time = day_records(diary, day, day, attack_recorded_utc=[dt.datetime(2026, 7, 1, 13)])
    late = day_records(diary, day, day, attack_recorded_utc=[dt.datetime(2026, 7, 10, 9)])
    unknown = day_records(diary, day, day)
    assert (on_time[0].late, late[0].late, unknown[0].late) == (False, True, False)


def test_diary_extent_reaches_the_last_day_an_attack_or_dose_touches() -> None:
    attack = migraine(
        dt.datetime(2026, 2, 15, 22),
        dt.datetime(2026, 2, 16, 2),
        medications=(
            MedicationDose("ibuprofen", MedClass.NSAID, taken_at=dt.datetime(2026, 2, 17, 7)),
        ),
    )
    diary = Diary(BERLIN, days=(DiaryDay(dt.date(2026, 2, 10), False),), attacks=(attack,))
    assert diary_extent(diary) == (dt.date(2026, 2, 10), dt.date(2026, 2, 17))
    assert diary_extent(Diary(BERLIN)) is None
    assert day_number(dt.date(1970, 1, 1)) == 0 and day_number(dt.date(1969, 12, 31)) == -1


def test_responders_are_computed_on_known_days_and_say_how_many_were_uncertain() -> None:
    """Issue 12 item 8: a day whose migraine status is unknown is in neither the count nor the
    denominator. Baseline 6 migraine days of 20 known (8 uncertain) = 0.30 a day, block 4 of 28
    known = 0.14: a 52 % fall, a 50 % responder. Over recorded days it would read 6/28 against
    4/28, a 33 % fall: the uncertain days would hide the response."""
    from acuhead.domain.outcomes import responder_basis

    config = OutcomeConfig()
    base = make_block(-1, ANCHOR, counts(28, 6, migraine_uncertain_days=8), config)
    target = make_block(2, ANCHOR, counts(28, 4), config)
    assert responder(base, target) == {"30": True, "50": True, "75": False, "100": False}
    basis = responder_basis(base, target)
    assert basis["baseline"] == {"known_days": 20, "uncertain_days": 8}
    assert basis["block"] == {"known_days": 28, "uncertain_days": 0}
    shown = base.as_dict()
    assert (shown["migraine_days"], shown["migraine_days_uncertain"]) == (6, 8)
    assert shown["migraine_known_days"] == 20
    everything_uncertain = make_block(2, ANCHOR, counts(28, 0, migraine_uncertain_days=28), config)
    assert set(responder(base, everything_uncertain).values()) == {None}
