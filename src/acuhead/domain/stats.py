"""Small statistics for single-clinic numbers, in plain Python (no numpy/scipy).

Why hand-written: the domain layer stays dependency-light (DESIGN.md: the domain is pure and
imports nothing heavy), and each routine here is short enough to check against textbook formulas
and printed tables in the unit tests.

What is here and where each method comes from:

* :func:`wilson_interval` - score interval for a binomial proportion (Wilson EB, J Am Stat Assoc
  1927;22:209-212). Preferred over the Wald interval because it keeps sensible coverage for small
  counts and for proportions near 0 or 1 (Brown, Cai & DasGupta, Stat Sci 2001;16:101-133).
* :func:`t_quantile` / :func:`t_cdf` - Student t distribution. The CDF is written through the
  regularised incomplete beta function, evaluated with its continued fraction (Lentz's method; see
  Abramowitz & Stegun 26.5.8 and 26.7.1), and the quantile by inverting the CDF numerically. This is
  exact to ~1e-10, far inside the 1e-4 the printed tables carry.
* :func:`mean_ci` - mean with a t-based confidence interval.
* :func:`odds_ratio` - 2x2 odds ratio with Woolf's log interval (Woolf B, Ann Hum Genet
  1955;19:251-253) and the Haldane-Anscombe 0.5 correction when any cell is zero (Haldane JBS,
  Ann Hum Genet 1956;20:309-311).
* :func:`autocorrelation_inflation` - how much serial dependence in two day-by-day series
  widens the sampling variance of their association: 1 + 2 * sum_k rho_x(k) rho_y(k) (Bartlett MS,
  J R Stat Soc Suppl 1946;8:27-41; used as an "effective sample size" by Pyper BJ & Peterman RM,
  Can J Fish Aquat Sci 1998;55:2127-2140).
* :func:`pearson` - Pearson correlation with Fisher's z interval (Fisher RA, Metron 1921;1:3-32).
* :func:`spearman` - rank correlation; interval by Fisher z with the Fieller, Hartley & Pearson
  variance 1.06/(n-3) (Biometrika 1957;44:470-481).

All intervals are two-sided; ``level`` is the coverage (0.95 by default). Functions raise
``ValueError`` on input for which the quantity is not defined (n = 0, a constant variable ...),
because a silently returned ``nan`` tends to travel into reports unnoticed.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Correlation",
    "Interval",
    "OddsRatio",
    "autocorrelation",
    "autocorrelation_inflation",
    "mean_ci",
    "normal_quantile",
    "odds_ratio",
    "pearson",
    "rank",
    "regularized_incomplete_beta",
    "spearman",
    "t_cdf",
    "t_quantile",
    "two_sided_normal_p",
    "wilson_interval",
]

_STD_NORMAL = statistics.NormalDist()


# --------------------------------------------------------------------------- result types


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "level": self.level}


@dataclass(frozen=True, slots=True)
class OddsRatio:
    """Odds ratio of a 2x2 table ``[[a, b], [c, d]]`` (rows exposed/unexposed, columns
    event/no event). ``corrected`` says whether 0.5 was added to every cell (Haldane)."""

    estimate: float
    low: float
    high: float
    log_se: float
    p_value: float
    corrected: bool
    level: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "log_se": self.log_se,
            "p_value": self.p_value,
            "corrected": self.corrected,
            "level": self.level,
        }


@dataclass(frozen=True, slots=True)
class Correlation:
    """A correlation coefficient with a Fisher-z interval and a two-sided p-value."""

    r: float
    low: float
    high: float
    n: int
    p_value: float
    method: str = "pearson"
    level: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        return {
            "r": self.r,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "p_value": self.p_value,
            "method": self.method,
            "level": self.level,
        }


# --------------------------------------------------------------------------- helpers


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")


def normal_quantile(p: float) -> float:
    """Inverse standard-normal CDF (stdlib ``statistics.NormalDist``, accurate to ~1e-15)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be strictly between 0 and 1, got {p!r}")
    return _STD_NORMAL.inv_cdf(p)


def two_sided_normal_p(z: float) -> float:
    """Two-sided p-value of a standard-normal test statistic."""
    if math.isinf(z):
        return 0.0
    # erfc keeps precision in the far tail where 1 - cdf would round to 0.
    return math.erfc(abs(z) / math.sqrt(2.0))


# --------------------------------------------------------------------------- incomplete beta / t


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """Continued fraction for I_x(a, b) (A&S 26.5.8), by the modified Lentz algorithm.

    Converges quickly when ``x < (a + 1) / (a + b + 2)``; the caller swaps the arguments
    otherwise.
    """
    tiny = 1e-300
    eps = 1e-15
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 100_000):
        # Even step: coefficient m(b-m)x / ((a+2m-1)(a+2m)).
        num = m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        # Odd step: coefficient -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)).
        num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        step = c * d
        f *= step
        if abs(step - 1.0) < eps:
            return f
    raise ArithmeticError("incomplete beta continued fraction did not converge")  # pragma: no cover


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) = B(x; a, b) / B(a, b) for 0 <= x <= 1 and a, b > 0."""
    if a <= 0.0 or b <= 0.0:
        raise ValueError("a and b must be positive")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1], got {x!r}")
    if x == 0.0 or x == 1.0:
        return x
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a
    # Symmetry I_x(a, b) = 1 - I_{1-x}(b, a) puts the fraction in its fast region.
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(1.0 - x, b, a) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (``math.inf`` = normal).

    Uses P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2) (A&S 26.7.1).
    """
    if df <= 0.0 or math.isnan(df):
        raise ValueError(f"df must be positive, got {df!r}")
    if math.isinf(df):
        return _STD_NORMAL.cdf(t)
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t > 0 else tail


@functools.lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (non-integer df allowed).

    Remembered per (p, df): a practice report asks for the same few (one per summary's n) on
    every load, and each costs some fifty incomplete-beta evaluations (issue 17).

    Inverts :func:`t_cdf` by bracketing and bisection on the upper tail, which is monotone and
    robust for every df; about 200 halvings in log space reach double precision. Checked in the
    tests against printed tables (t_0.975: df 1 = 12.706, 2 = 4.303, 5 = 2.571, 10 = 2.228,
    30 = 2.042, infinity = 1.960).
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be strictly between 0 and 1, got {p!r}")
    if df <= 0.0 or math.isnan(df):
        raise ValueError(f"df must be positive, got {df!r}")
    if math.isinf(df):
        return _STD_NORMAL.inv_cdf(p)
    if p == 0.5:
        return 0.0
    upper = p > 0.5
    tail = 1.0 - p if upper else p  # wanted P(T > q) for q > 0
    if df == 1.0:  # Cauchy: closed form, also a handy cross-check in tests
        q = math.tan(math.pi * (0.5 - tail))
        return q if upper else -q
    if df == 2.0:  # closed form: tail = (1 - q / sqrt(2 + q^2)) / 2
        u = 1.0 - 2.0 * tail
        q = u * math.sqrt(2.0 / (1.0 - u * u))
        return q if upper else -q

    def upper_tail(q: float) -> float:
        return 0.5 * regularized_incomplete_beta(df / (df + q * q), df / 2.0, 0.5)

    lo, hi = 0.0, 1.0
    while upper_tail(hi) > tail:
        lo, hi = hi, hi * 2.0
        if hi > 1e300:  # pragma: no cover - only for absurd p
            break
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if upper_tail(mid) > tail:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    q = 0.5 * (lo + hi)
    return q if upper else -q


# --------------------------------------------------------------------------- estimators


def wilson_interval(successes: int, n: int, *, level: float = 0.95) -> Interval:
    """Wilson score interval for ``successes`` out of ``n`` (Wilson 1927).

    centre = (p + z^2/2n) / (1 + z^2/n); half-width = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n).
    The estimate returned is the plain proportion p = successes / n.
    """
    _check_level(level)
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    z = normal_quantile(0.5 + level / 2.0)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    # At 0 and n the bound equals the proportion exactly; clamp rounding noise.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, level)


def mean_ci(values: Sequence[float], *, level: float = 0.95) -> Interval:
    """Sample mean with the t interval mean +/- t_{(1+level)/2, n-1} * s / sqrt(n).

    Needs at least two values (one value has no spread to estimate). The spread is the
    corrected two-pass sum of squares with exactly rounded sums (``math.fsum``): within a unit
    in the last place or so of ``statistics.stdev``, whose exact rational arithmetic was a
    tenth of a registry-scale practice report (issue 17).
    """
    _check_level(level)
    n = len(values)
    if n < 2:
        raise ValueError("mean_ci needs at least two values")
    mean = statistics.fmean(values)
    deviations = [x - mean for x in values]
    squares = math.fsum(d * d for d in deviations) - math.fsum(deviations) ** 2 / n
    sd = math.sqrt(max(squares, 0.0) / (n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, level)


def odds_ratio(
    a: int, b: int, c: int, d: int, *, level: float = 0.95, variance_inflation: float = 1.0
) -> OddsRatio:
    """Odds ratio (a*d)/(b*c) of the table ``[[a, b], [c, d]]`` with Woolf's interval.

    Rows: exposed (a events, b non-events), unexposed (c events, d non-events).
    log OR +/- z * sqrt(1/a + 1/b + 1/c + 1/d) (Woolf 1955). If any cell is zero, 0.5 is added
    to all four cells first (Haldane 1956), which keeps the estimate finite; ``corrected`` is then
    True. The p-value is the Wald test of log OR = 0 on the same scale.

    A zero row or column total makes the odds ratio meaningless (nothing to compare), so that
    raises ``ValueError`` rather than returning a number produced only by the correction.

    ``variance_inflation`` (>= 1) multiplies the variance of log OR, for rows that are not
    independent (e.g. consecutive diary days; see :func:`autocorrelation_inflation`).
    """
    _check_level(level)
    if not variance_inflation >= 1.0 or math.isinf(variance_inflation):
        raise ValueError("variance_inflation must be a finite number >= 1")
    cells = (a, b, c, d)
    if any(x < 0 for x in cells):
        raise ValueError("cell counts must be non-negative")
    if a + b == 0 or c + d == 0 or a + c == 0 or b + d == 0:
        raise ValueError("odds ratio undefined: a row or column of the table is empty")
    corrected = any(x == 0 for x in cells)
    fa, fb, fc, fd = (x + 0.5 if corrected else float(x) for x in cells)
    log_or = math.log(fa) + math.log(fd) - math.log(fb) - math.log(fc)
    se = math.sqrt((1.0 / fa + 1.0 / fb + 1.0 / fc + 1.0 / fd) * variance_inflation)
    z = normal_quantile(0.5 + level / 2.0)
    return OddsRatio(
        estimate=math.exp(log_or),
        low=math.exp(log_or - z * se),
        high=math.exp(log_or + z * se),
        log_se=se,
        p_value=two_sided_normal_p(log_or / se),
        corrected=corrected,
        level=level,
    )


def _autocorrelations(series: Sequence[float | None], max_lag: int) -> list[float | None]:
    """Autocorrelations at lags 1..max_lag (see :func:`autocorrelation`), sharing one mean."""
    obs = [v for v in series if v is not None]
    if len(obs) < 2:
        return [None] * max_lag
    m = statistics.fmean(obs)
    c0 = math.fsum((v - m) ** 2 for v in obs) / len(obs)
    if c0 == 0.0:
        return [None] * max_lag
    centred = [None if v is None else v - m for v in series]
    out: list[float | None] = []
    for lag in range(1, max_lag + 1):
        products = [
            x * y
            for x, y in zip(centred[:-lag], centred[lag:], strict=True)
            if x is not None and y is not None
        ]
        out.append(math.fsum(products) / len(products) / c0 if products else None)
    return out


def autocorrelation(series: Sequence[float | None], lag: int) -> float | None:
    """Lag-``lag`` autocorrelation of a time series with gaps (``None`` = not observed).

    Mean and variance come from all observed values; the lagged products only from pairs where
    both ends are observed. None when the series is constant or no pair exists.
    """
    if lag < 1:
        raise ValueError("lag must be >= 1")
    return _autocorrelations(series, lag)[-1]


def autocorrelation_inflation(
    x: Sequence[float | None], y: Sequence[float | None], *, max_lag: int
) -> float:
    """Variance inflation for a test of association between two serially dependent series.

    Under no association, the variance of their sample correlation is about
    (1 + 2 * sum_{k=1..max_lag} rho_x(k) rho_y(k)) / n instead of 1 / n (Bartlett 1946). Only
    when *both* series are autocorrelated does the product matter: factors that come in spells
    (menstruation) against attack windows that overlap day to day. ``x`` and ``y`` are aligned
    day by day, ``None`` for unobserved days. The result is never below 1, so the correction
    only ever widens an interval; lags where either autocorrelation is undefined add nothing.
    """
    if len(x) != len(y):
        raise ValueError("x and y must have the same length")
    lags = max(0, min(max_lag, len(x) - 1))
    if lags == 0:
        return 1.0
    total = 0.0
    for rx, ry in zip(_autocorrelations(x, lags), _autocorrelations(y, lags), strict=True):
        if rx is not None and ry is not None:
            total += rx * ry
    return max(1.0, 1.0 + 2.0 * total)


def _pearson_r(x: Sequence[float], y: Sequence[float]) -> float:
    mx = statistics.fmean(x)
    my = statistics.fmean(y)
    sxy = math.fsum((xi - mx) * (yi - my) for xi, yi in zip(x, y, strict=True))
    sxx = math.fsum((xi - mx) ** 2 for xi in x)
    syy = math.fsum((yi - my) ** 2 for yi in y)
    if sxx == 0.0 or syy == 0.0:
        raise ValueError("correlation undefined: one variable is constant")
    r = sxy / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))


def _correlation(r: float, n: int, level: float, se: float, method: str) -> Correlation:
    if abs(r) >= 1.0:
        # Perfect correlation: Fisher z is infinite; the interval collapses onto r.
        return Correlation(r, r, r, n, 0.0, method, level)
    z = math.atanh(r)
    zc = normal_quantile(0.5 + level / 2.0)
    low = math.tanh(z - zc * se)
    high = math.tanh(z + zc * se)
    # p-value from t = r sqrt((n-2)/(1-r^2)) on n-2 df (exact for Pearson under normality).
    t = r * math.sqrt((n - 2) / (1.0 - r * r))
    p = 2.0 * (1.0 - t_cdf(abs(t), n - 2))
    return Correlation(r, low, high, n, max(0.0, min(1.0, p)), method, level)


def pearson(x: Sequence[float], y: Sequence[float], *, level: float = 0.95) -> Correlation:
    """Pearson r with the Fisher-z interval tanh(atanh r +/- z / sqrt(n - 3)).

    Needs n >= 4 (the z interval uses n - 3). The interval assumes roughly bivariate-normal data;
    for skewed clinic data prefer :func:`spearman` or read the interval as approximate.
    """
    _check_level(level)
    if len(x) != len(y):
        raise ValueError("x and y must have the same length")
    n = len(x)
    if n < 4:
        raise ValueError("correlation interval needs at least 4 pairs")
    r = _pearson_r(x, y)
    return _correlation(r, n, level, 1.0 / math.sqrt(n - 3), "pearson")


def rank(values: Sequence[float]) -> list[float]:
    """Ranks 1..n, ties sharing the average of the ranks they span.

    A value's tie group runs from its first to its last place in sorted order; both are read
    off dictionaries built in one pass each (clinic data are mostly ties: a walk comparing
    neighbours was a sixth of a registry-scale report, issue 17)."""
    ordered = sorted(values)
    last = {v: pos for pos, v in enumerate(ordered)}
    first = {v: pos for pos, v in reversed(list(enumerate(ordered)))}
    return [(first[v] + last[v]) / 2.0 + 1.0 for v in values]


def spearman(x: Sequence[float], y: Sequence[float], *, level: float = 0.95) -> Correlation:
    """Spearman's rho (Pearson r of average ranks) with a Fisher-z interval.

    The standard error sqrt(1.06 / (n - 3)) is Fieller, Hartley & Pearson's (1957) adjustment for
    rank correlation; the p-value uses the t approximation on n - 2 df.
    """
    _check_level(level)
    if len(x) != len(y):
        raise ValueError("x and y must have the same length")
    n = len(x)
    if n < 4:
        raise ValueError("correlation interval needs at least 4 pairs")
    r = _pearson_r(rank(x), rank(y))
    return _correlation(r, n, level, math.sqrt(1.06 / (n - 3)), "spearman")
