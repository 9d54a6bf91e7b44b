"""The practice report's trend (issue 17): per window index, the mean migraine, headache and
acute-medication days per 28 recorded days and the mean stress and neck tension among the
evaluable patients are exact: each is the true mean of the patients' rates, rounded once.

The sums behind them are whole numbers (each rate times ``trend_scale``, which every window
length divides), so the database can add them in any order and the stored and scanned paths
agree to the last bit; float sums had to be added in patient order to agree, and then carried
the rounding of every addition. Sleep hours (any number 0-24) are summed as whole billionths of
an hour: each patient's mean rounded half up to 1e-9 h, then the mean of those exactly.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from acuhead.analytics.cohort import (
    SLEEP_UNITS,
    TrendWindow,
    sleep_units,
    trend_scale,
    trend_sums,
)
from acuhead.analytics.report import trend
from acuhead.domain.outcomes import DEFAULT_OUTCOME_CONFIG, PER_DAYS, OutcomeConfig


def _windows(rng: random.Random, n: int, longest: int) -> list[TrendWindow]:
    out: list[TrendWindow] = []
    for _ in range(n):
        index = rng.choice([-1, 0, 1, 2])
        recorded = rng.randint(1, longest)
        s_n, n_n, sl_n = (rng.randint(0, recorded) for _ in range(3))
        out.append(
            (
                index,
                recorded,
                rng.randint(0, recorded),
                rng.randint(0, recorded),
                rng.randint(0, recorded),
                sum(rng.randint(0, 10) for _ in range(s_n)),
                s_n,
                sum(rng.randint(0, 10) for _ in range(n_n)),
                n_n,
                sum(rng.choice([5.0, 6.1, 7.3, 8.25]) for _ in range(sl_n)),
                sl_n,
            )
        )
    return out


def _exact_mean(terms: list[Fraction]) -> float:
    return float(sum(terms, Fraction(0)) / len(terms))


def test_the_default_scale_is_divided_by_every_window_length() -> None:
    scale = trend_scale(DEFAULT_OUTCOME_CONFIG)
    assert scale == math.lcm(*range(1, 29)) == 80_313_433_200
    assert all(scale % days == 0 for days in range(1, 29))
    # A patient adds at most 10 x scale (a mean stress of 10): 64 bits hold 11 million.
    assert 10 * scale * 11_000_000 < 2**63


@pytest.mark.parametrize(
    "config",
    [DEFAULT_OUTCOME_CONFIG, OutcomeConfig(baseline_days=42, block_days=30)],
    ids=["default 28-day windows", "42-day baseline, 30-day blocks"],
)
def test_trend_means_are_the_exact_means_rounded_once(config: OutcomeConfig) -> None:
    rng = random.Random(17)
    longest = max(config.baseline_days, config.block_days)
    windows = _windows(rng, 3000, longest)
    rows = {row.index: row for row in trend(trend_sums(windows, trend_scale(config)), config)}
    for index in {w[0] for w in windows}:
        mine = [w for w in windows if w[0] == index]
        row = rows[index]
        assert row.evaluable_patients == len(mine)
        for k, name in ((2, "migraine_days"), (3, "headache_days"), (4, "acute_medication_days")):
            exact = _exact_mean([Fraction(PER_DAYS * w[k], w[1]) for w in mine])
            assert getattr(row, f"{name}_per_28") == exact, (index, name)
        for k, name in ((5, "stress"), (7, "neck_tension")):
            terms = [Fraction(w[k], w[k + 1]) for w in mine if w[k + 1]]
            assert getattr(row, f"{name}_mean") == (_exact_mean(terms) if terms else None)
        sleep = [Fraction(sleep_units(w[9], w[10]), SLEEP_UNITS) for w in mine if w[10]]
        assert row.sleep_hours_mean == (_exact_mean(sleep) if sleep else None)
        if sleep:  # within a billionth of an hour of the mean of the float means
            floats = [w[9] / w[10] for w in mine if w[10]]
            assert abs(row.sleep_hours_mean - sum(floats) / len(floats)) < 1e-9


@pytest.mark.parametrize(
    ("total", "n", "units"),
    [
        (7.5, 1, 7_500_000_000),
        (0.0, 3, 0),
        (22.0, 3, 7_333_333_333),  # 7.3333333333: rounds down
        (20.0, 3, 6_666_666_667),  # 6.6666666667: rounds up
        (24.0 * 28, 28, 24_000_000_000),  # the most a window can hold
    ],
)
def test_a_patients_sleep_mean_in_billionths_of_an_hour(total: float, n: int, units: int) -> None:
    assert sleep_units(total, n) == units


def test_the_sums_do_not_depend_on_the_order_of_the_patients() -> None:
    rng = random.Random(5)
    windows = _windows(rng, 2000, 28)
    scale = trend_scale(DEFAULT_OUTCOME_CONFIG)
    forward = trend_sums(windows, scale)
    backward = trend_sums(list(reversed(windows)), scale)
    assert forward == backward  # whole numbers: equal in any order, sleep included


def test_a_sum_of_float_rates_would_not_be_exact() -> None:
    """Why the sums are whole numbers: added as floats, the same rates give a mean that is not
    the exact one for some cohorts (found in this seeded search)."""
    rng = random.Random(3)
    scale = trend_scale(DEFAULT_OUTCOME_CONFIG)
    misses = 0
    for _ in range(200):
        windows = [w for w in _windows(rng, 50, 28) if w[0] == 0]
        if not windows:
            continue
        float_mean = sum(w[2] * (PER_DAYS / w[1]) for w in windows) / len(windows)
        exact = _exact_mean([Fraction(PER_DAYS * w[2], w[1]) for w in windows])
        (row,) = trend({0: trend_sums(windows, scale)[0]}, DEFAULT_OUTCOME_CONFIG)
        assert row.migraine_days_per_28 == exact
        misses += float_mean != exact
    assert misses > 0
