"""Statistics checked against printed tables and hand calculations written out in the tests.

Expected numbers are either from standard printed tables (Student t) or computed by hand from the
textbook formula, step by step, in the test itself, so a wrong implementation cannot also be the
source of its own expected value.
"""

from __future__ import annotations

import math
import random
import statistics

import pytest

from acuhead.domain.stats import (
    autocorrelation,
    autocorrelation_inflation,
    mean_ci,
    normal_quantile,
    odds_ratio,
    pearson,
    rank,
    regularized_incomplete_beta,
    spearman,
    t_cdf,
    t_quantile,
    two_sided_normal_p,
    wilson_interval,
)

Z975 = 1.959963984540054  # standard normal 0.975 quantile, from tables to 15 digits

# ----------------------------------------------------------------------------- Student t


@pytest.mark.parametrize(
    ("df", "table"),
    [
        (1, 12.706),
        (2, 4.303),
        (3, 3.182),
        (4, 2.776),
        (5, 2.571),
        (10, 2.228),
        (20, 2.086),
        (30, 2.042),
        (60, 2.000),
        (120, 1.980),
        (math.inf, 1.960),
    ],
)
def test_t_quantile_matches_printed_table_975(df: float, table: float) -> None:
    # Printed tables round to 3 decimals, so agreement within half a unit of the last digit.
    assert abs(t_quantile(0.975, df) - table) <= 0.0005 + 1e-12


@pytest.mark.parametrize(
    ("p", "df", "table"),
    [
        (0.95, 1, 6.314),
        (0.95, 5, 2.015),
        (0.95, 10, 1.812),
        (0.99, 5, 3.365),
        (0.995, 3, 5.841),
        (0.995, 10, 3.169),
        (0.9, 20, 1.325),
        (0.999, 4, 7.173),
    ],
)
def test_t_quantile_other_levels_from_table(p: float, df: float, table: float) -> None:
    assert abs(t_quantile(p, df) - table) <= 0.0005 + 1e-12


@pytest.mark.parametrize(
    ("df", "precise"),
    [
        # More digits of the same quantiles (widely tabulated), to check the 1e-4 requirement.
        (1, 12.706204736),
        (2, 4.302652730),
        (5, 2.570581836),
        (10, 2.228138852),
        (30, 2.042272456),
    ],
)
def test_t_quantile_precise_to_1e6(df: float, precise: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(precise, abs=1e-6)


def test_t_quantile_general_path_agrees_with_closed_forms() -> None:
    # df = 1 and 2 take closed forms; df just above them goes through the incomplete beta, so
    # the two independent routes must agree.
    for p in (0.6, 0.9, 0.975, 0.999):
        cauchy = math.tan(math.pi * (p - 0.5))
        assert t_quantile(p, 1 + 1e-9) == pytest.approx(cauchy, rel=1e-6)
        u = 2 * p - 1
        df2 = u * math.sqrt(2 / (1 - u * u))
        assert t_quantile(p, 2 + 1e-9) == pytest.approx(df2, rel=1e-6)


def test_t_quantile_symmetry_roundtrip_and_limits() -> None:
    for df in (1.0, 2.5, 7.0, 33.3, 1000.0):
        for p in (0.001, 0.1, 0.3, 0.5, 0.8, 0.99):
            q = t_quantile(p, df)
            assert t_cdf(q, df) == pytest.approx(p, abs=1e-9)
            assert t_quantile(1 - p, df) == pytest.approx(-q, abs=1e-9)
    assert t_quantile(0.975, 1e6) == pytest.approx(Z975, abs=1e-5)
    assert t_cdf(0.0, 4) == 0.5
    assert t_cdf(math.inf, 4) == 1.0
    with pytest.raises(ValueError):
        t_quantile(1.0, 5)
    with pytest.raises(ValueError):
        t_quantile(0.5, 0)


def test_regularized_incomplete_beta_known_identities() -> None:
    for x in (0.1, 0.37, 0.9):
        assert regularized_incomplete_beta(x, 1, 1) == pytest.approx(x)  # uniform
        assert regularized_incomplete_beta(x, 3, 1) == pytest.approx(x**3)
        assert regularized_incomplete_beta(x, 1, 4) == pytest.approx(1 - (1 - x) ** 4)
    assert regularized_incomplete_beta(0.5, 7.5, 7.5) == pytest.approx(0.5)
    assert regularized_incomplete_beta(0.0, 2, 3) == 0.0
    assert regularized_incomplete_beta(1.0, 2, 3) == 1.0


def test_normal_helpers() -> None:
    assert normal_quantile(0.975) == pytest.approx(Z975, abs=1e-12)
    assert two_sided_normal_p(Z975) == pytest.approx(0.05, abs=1e-12)
    assert two_sided_normal_p(0.0) == 1.0


# ----------------------------------------------------------------------------- Wilson


def test_wilson_41_of_100_by_hand() -> None:
    n, x, z = 100, 41, Z975
    p = x / n
    # Wilson (1927): centre and half-width of the score interval, written out by hand.
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    ci = wilson_interval(x, n)
    assert ci.estimate == 0.41
    assert ci.low == pytest.approx(centre - half, abs=1e-12)
    assert ci.high == pytest.approx(centre + half, abs=1e-12)
    # And the rounded numbers one gets on a calculator: 0.3187 to 0.5080.
    assert ci.low == pytest.approx(0.3187, abs=5e-5)
    assert ci.high == pytest.approx(0.5080, abs=5e-5)


def test_wilson_edges() -> None:
    zero = wilson_interval(0, 10)
    assert zero.low == 0.0
    # With x = 0 the upper bound is z^2 / (n + z^2).
    assert zero.high == pytest.approx(Z975**2 / (10 + Z975**2), abs=1e-12)
    full = wilson_interval(10, 10)
    assert full.high == 1.0
    assert full.low == pytest.approx(10 / (10 + Z975**2), abs=1e-12)
    with pytest.raises(ValueError):
        wilson_interval(3, 0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, level=1.0)


def test_wilson_level_changes_width() -> None:
    w90 = wilson_interval(41, 100, level=0.90)
    w99 = wilson_interval(41, 100, level=0.99)
    assert w99.high - w99.low > w90.high - w90.low


# ----------------------------------------------------------------------------- mean


def test_mean_ci_by_hand() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    # mean 2.5, sample sd sqrt(5/3) = 1.2910, t(0.975, 3) = 3.182 (table), half = t * sd / 2
    sd = math.sqrt(((1.5**2) * 2 + (0.5**2) * 2) / 3)
    half = 3.182446305 * sd / 2
    ci = mean_ci(values)
    assert ci.estimate == 2.5
    assert ci.low == pytest.approx(2.5 - half, abs=1e-8)
    assert ci.high == pytest.approx(2.5 + half, abs=1e-8)
    assert ci.low == pytest.approx(0.4457, abs=1e-4)
    with pytest.raises(ValueError):
        mean_ci([1.0])


@pytest.mark.parametrize(
    "values",
    [
        [1e9 + k for k in (0.1, 0.2, 0.3, 0.4)],  # large offset: a one-pass sum loses it all
        [7.0] * 50,  # no spread at all
        [28 * m / r for m in range(0, 9) for r in range(20, 29)],  # monthly rates
        [-3.5, 0.0, 1e-12, 2.25, 14.0],
    ],
    ids=["large offset", "constant", "monthly rates", "mixed signs"],
)
def test_mean_ci_spread_agrees_with_the_exact_standard_deviation(values: list[float]) -> None:
    """The fsum two-pass spread matches ``statistics.stdev`` (exact rational arithmetic) to a
    few units in the last place, constant samples included (spread exactly 0)."""
    ci = mean_ci(values)
    mean = statistics.fmean(values)
    half = t_quantile(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    assert ci.estimate == mean
    assert ci.low == pytest.approx(mean - half, rel=1e-14, abs=1e-300)
    assert ci.high == pytest.approx(mean + half, rel=1e-14, abs=1e-300)
    if abs(mean) < 1e3:  # the edges' difference keeps the spread's digits
        assert (ci.high - ci.low) / 2 == pytest.approx(half, rel=1e-12, abs=1e-300)


# ----------------------------------------------------------------------------- odds ratio


def test_odds_ratio_woolf_by_hand() -> None:
    # a=10 b=20 / c=5 d=40: OR = 10*40 / (20*5) = 4
    # SE(log OR) = sqrt(1/10 + 1/20 + 1/5 + 1/40) = sqrt(0.375) = 0.61237
    # CI = exp(ln 4 -/+ 1.96 * 0.61237) = 1.2045 .. 13.2835
    r = odds_ratio(10, 20, 5, 40)
    assert r.estimate == pytest.approx(4.0)
    assert r.log_se == pytest.approx(math.sqrt(0.375))
    assert r.low == pytest.approx(1.2045, abs=1e-4)
    assert r.high == pytest.approx(13.2835, abs=1e-4)
    assert not r.corrected
    # Wald z = ln 4 / 0.61237 = 2.2638 -> two-sided p = 0.0236
    assert r.p_value == pytest.approx(0.0236, abs=1e-4)


def test_odds_ratio_haldane_when_a_cell_is_zero() -> None:
    # Cells 0, 10, 5, 15 -> 0.5, 10.5, 5.5, 15.5
    # OR = 0.5*15.5 / (10.5*5.5) = 7.75 / 57.75 = 0.134199
    # SE = sqrt(2 + 1/10.5 + 1/5.5 + 1/15.5) = sqrt(2.341572) = 1.530220
    r = odds_ratio(0, 10, 5, 15)
    assert r.corrected
    assert r.estimate == pytest.approx(7.75 / 57.75)
    assert r.log_se == pytest.approx(1.530220, abs=1e-6)
    assert r.low == pytest.approx(math.exp(math.log(7.75 / 57.75) - Z975 * 1.530220), rel=1e-5)
    assert math.isfinite(r.high)


def test_odds_ratio_variance_inflation_widens_only() -> None:
    plain = odds_ratio(10, 20, 5, 40)
    wide = odds_ratio(10, 20, 5, 40, variance_inflation=4.0)
    assert wide.estimate == plain.estimate
    assert wide.log_se == pytest.approx(2 * plain.log_se)
    assert wide.low < plain.low and wide.high > plain.high
    assert wide.p_value > plain.p_value
    with pytest.raises(ValueError):
        odds_ratio(10, 20, 5, 40, variance_inflation=0.5)


def test_odds_ratio_empty_margin_is_undefined() -> None:
    with pytest.raises(ValueError):
        odds_ratio(0, 0, 5, 40)  # no exposed rows
    with pytest.raises(ValueError):
        odds_ratio(0, 20, 0, 40)  # no events at all
    with pytest.raises(ValueError):
        odds_ratio(-1, 20, 5, 40)


# ----------------------------------------------------------------------------- correlation


def test_pearson_with_fisher_z_by_hand() -> None:
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    y = [2.0, 1.0, 4.0, 3.0, 5.0]
    # Sxy = 8, Sxx = Syy = 10 -> r = 0.8
    # z = atanh(0.8) = 1.098612; SE = 1/sqrt(5-3) = 0.707107
    # CI = tanh(1.098612 -/+ 1.959964*0.707107) = tanh(-0.287292), tanh(2.484516)
    c = pearson(x, y)
    assert c.r == pytest.approx(0.8)
    assert c.r == pytest.approx(statistics.correlation(x, y))
    assert c.low == pytest.approx(math.tanh(-0.287292), abs=1e-5)
    assert c.high == pytest.approx(math.tanh(2.484516), abs=1e-5)
    # t = 0.8 * sqrt(3 / 0.36) = 2.3094 on 3 df -> two-sided p = 0.1041
    assert c.p_value == pytest.approx(0.1041, abs=1e-4)


def test_pearson_degenerate_inputs() -> None:
    with pytest.raises(ValueError):
        pearson([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])  # n < 4
    with pytest.raises(ValueError):
        pearson([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0])  # constant
    with pytest.raises(ValueError):
        pearson([1.0, 2.0], [1.0])
    perfect = pearson([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0])
    assert perfect.r == 1.0 and perfect.low == 1.0 and perfect.p_value == 0.0


def test_rank_averages_ties() -> None:
    assert rank([10.0, 20.0, 20.0, 5.0]) == [2.0, 3.5, 3.5, 1.0]
    assert rank([3.0, 3.0, 3.0]) == [2.0, 2.0, 2.0]
    assert rank([]) == []
    assert rank([0.0, -0.0, 1.0]) == [1.5, 1.5, 3.0]  # -0.0 == 0.0: one tie


def test_rank_agrees_with_ranks_by_counting() -> None:
    """Rank of v = (values below v) + (values tied with v + 1) / 2, on many tied samples."""
    rng = random.Random(11)
    for _ in range(200):
        values = [float(rng.randint(-3, 3)) for _ in range(rng.randint(1, 40))]
        expected = [
            sum(u < v for u in values) + (sum(u == v for u in values) + 1) / 2 for v in values
        ]
        assert rank(values) == expected


def test_spearman_is_rank_based() -> None:
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    y = [v**3 for v in x]  # monotone but not linear
    s = spearman(x, y)
    assert s.r == pytest.approx(1.0)
    assert s.method == "spearman"
    y2 = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0]
    s2 = spearman(x, y2)
    # 1 - 6 * sum(d^2) / (n (n^2 - 1)) with d^2 summing to 4: 1 - 24/210
    assert s2.r == pytest.approx(1 - 24 / 210)
    # x and y2 are already ranks, so Pearson gives the same r; Spearman's Fieller SE
    # sqrt(1.06 / (n - 3)) makes its interval a little wider than Pearson's sqrt(1 / (n - 3)).
    p2 = pearson(x, y2)
    assert p2.r == pytest.approx(s2.r)
    assert s2.high - s2.low > p2.high - p2.low


# ----------------------------------------------------------------------------- serial dependence


def test_autocorrelation_by_hand() -> None:
    alternating: list[float | None] = [0.0, 1.0] * 10
    assert autocorrelation(alternating, 1) == pytest.approx(-1.0)
    assert autocorrelation(alternating, 2) == pytest.approx(1.0)
    gappy: list[float | None] = [1.0, None, 1.0, 0.0, 0.0, 1.0]
    # mean 0.6, c0 = (3*0.16 + 2*0.36)/5 = 0.24; lag-1 pairs with both observed:
    # (1,0) (0,0) (0,1) -> products (0.4*-0.6) (0.36) (-0.6*0.4) = -0.12 / 3 pairs = -0.04
    assert autocorrelation(gappy, 1) == pytest.approx(-0.04 / 0.24)
    assert autocorrelation([1.0, 1.0, 1.0], 1) is None


def test_autocorrelation_inflation() -> None:
    a: list[float | None] = [0.0, 1.0] * 10
    # rho_a(1) = -1, squared = 1: 1 + 2*1 = 3 with one lag; lags 1 and 2: 1 + 2*(1 + 1) = 5
    assert autocorrelation_inflation(a, a, max_lag=1) == pytest.approx(3.0)
    assert autocorrelation_inflation(a, a, max_lag=2) == pytest.approx(5.0)
    # Opposite-signed autocorrelations would shrink the variance: clamped to 1 (never narrower).
    spells: list[float | None] = [1.0, 1.0, 0.0, 0.0] * 5
    assert autocorrelation_inflation(a, spells, max_lag=1) == 1.0
    const: list[float | None] = [1.0] * 20
    assert autocorrelation_inflation(const, a, max_lag=3) == 1.0
