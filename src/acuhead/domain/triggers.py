"""Per-patient trigger analysis: is an attack more likely to start soon after a factor is present?

Design (and why):

* **Unit of analysis: a diary day d.** A factor is *exposed* on d when it is present that day and
  *unexposed* when it was recorded as absent. A day on which the factor was not recorded at all is
  neither (DESIGN.md glossary; CLINICAL.md 0.4: a missing day is not a headache-free day - the same
  holds for a missing factor).
* **Outcome: the hazard window.** An attack *starting* on d or d+1 (``window_days`` = 2 by
  default). Triggers such as poor sleep or alcohol typically act within hours to a day, and the
  patient's "day" boundary is arbitrary, so the window takes the next day too. Only attack
  *starts* count: an attack running over midnight is one event, not a new one on the next day.
  If no attack starts in the window and a window day has no diary record, the outcome is unknown
  and the day is left out (counted in ``days_outcome_unknown``).
* **Comparison: odds ratio** of the 2x2 table exposed/unexposed x attack-in-window yes/no, with
  Woolf's 95 % interval and Haldane's 0.5 correction for zero cells (:mod:`acuhead.domain.stats`).
* **Serial dependence.** Days are not independent: factors come in spells and the two-day windows
  overlap. The log-OR variance is multiplied by Bartlett's factor 1 + 2 * sum_k rho_E(k) rho_W(k)
  over lags 1..``max_lag_days`` (default 7; exposure and window-outcome autocorrelations; never
  below 1), reported as ``variance_inflation``. Why: on simulated diaries with no true effect but
  realistic dependence (clustered attacks, 5-day menstruation spells, stress drifting day to
  day), the plain Woolf interval called 7-9 % of these factors "associated" (nominal 2.5 %) and
  13-15 % associated either way (nominal 5 %); with the correction, <= 3 % and <= 5 %
  (tests/unit/test_triggers.py).
* **Verdicts** (never "causes"):

  - ``not enough data`` when fewer than ``min_exposed_days`` (default **10**) exposed days, fewer
    than ``min_unexposed_days`` (default **20**) unexposed days, fewer than
    ``min_attack_windows`` (default **5**) windows with an attack start, or fewer than
    ``min_attack_free_windows`` (default **5**) windows without one. Five per outcome column is
    the usual rule of thumb below which the log-odds-ratio normal approximation is poor; ten
    exposed days is about the least for which a within-patient comparison can say anything
    (a factor seen on one or two days gives an interval from ~0 to infinity anyway). A listed
    trigger that was only ever named on attack records is also "not enough data" (see below).
  - ``associated`` only when the lower bound of the interval is above 1;
  - ``inversely associated`` when the upper bound is below 1 (attacks less often after it);
  - ``no clear association`` otherwise. This is *not* evidence of no effect: with a few dozen
    attacks the interval is wide.

Factors: high stress (``stress >= stress_threshold``, default 7 on 0-10), poor sleep
(``sleep_hours < sleep_threshold_hours``, default 6 h), menstruation (the ``menstruating`` flag),
and every trigger string named on ``DiaryDay.triggers`` or ``Attack.triggers`` (normalised to
stripped lower case). For listed triggers, a day counts as *recorded* when it has a diary entry or
an attack starts on it; a named trigger on an attack is placed on the attack's start day.

Caveats carried in every result's ``notes`` (why the result is "association" at most):

* consecutive days are not independent; the correction above is approximate (it estimates
  autocorrelations from the same, short diary);
* several factors are tested per patient: about 1 in 20 factors with no real effect will show an
  interval excluding 1 by chance;
* reverse causation and confounding are possible (a headache can ruin sleep; stress and poor
  sleep travel together);
* a trigger named on an attack record is reported *because* an attack happened (no one is asked on
  attack-free days), which inflates its odds ratio. USERS.md: factors must be recorded on
  headache-free days too, or no trigger analysis is honest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from acuhead.domain.diary import Diary, DiaryDay
from acuhead.domain.stats import autocorrelation_inflation, odds_ratio
from acuhead.errors import FieldError, ValidationError

__all__ = [
    "DEFAULT_TRIGGER_CONFIG",
    "MIN_ATTACK_FREE_WINDOWS",
    "MIN_ATTACK_WINDOWS",
    "MIN_EXPOSED_DAYS",
    "MIN_UNEXPOSED_DAYS",
    "NOTE_ASSOCIATION",
    "NOTE_ATTACK_REPORTED",
    "NOTE_DEPENDENCE",
    "NOTE_MULTIPLE",
    "FactorKind",
    "TriggerConfig",
    "TriggerResult",
    "Verdict",
    "analyse_triggers",
]

MIN_EXPOSED_DAYS = 10
MIN_UNEXPOSED_DAYS = 20
MIN_ATTACK_WINDOWS = 5
MIN_ATTACK_FREE_WINDOWS = 5

NOTE_DEPENDENCE = (
    "Consecutive days are not independent (attacks cluster, factors come in spells, and each "
    "attack start falls in two overlapping windows). The interval is widened for this by an "
    "approximate correction for serial dependence, but remains approximate."
)
NOTE_ASSOCIATION = (
    "An association in one patient's diary is not proof that the factor causes attacks: "
    "reverse causation and confounding (e.g. stress with poor sleep) are possible."
)
NOTE_MULTIPLE = (
    "Several factors are tested at once: about 1 in 20 factors with no real effect will show an "
    "interval that excludes 1 by chance."
)
NOTE_ATTACK_REPORTED = (
    "Some exposed days come only from triggers named on attack records; these are reported "
    "because an attack happened, which inflates the odds ratio."
)


class Verdict(StrEnum):
    NOT_ENOUGH_DATA = "not enough data"
    ASSOCIATED = "associated"
    INVERSELY_ASSOCIATED = "inversely associated"
    NO_CLEAR_ASSOCIATION = "no clear association"


class FactorKind(StrEnum):
    MEASURE = "measure"  # derived from a recorded number by a threshold
    FLAG = "flag"  # a yes/no field of the diary day
    LISTED = "listed"  # a trigger string the patient named


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """Thresholds for the factors and for when a verdict may be given.

    The stress and sleep cut-offs are product choices, not published criteria: they are
    configurable so a clinic can align them with its own diary wording.
    """

    stress_threshold: int = 7  # stress >= this on the 0-10 scale counts as high
    sleep_threshold_hours: float = 6.0  # sleep_hours < this counts as poor sleep
    window_days: int = 2  # hazard window: day d .. d + window_days - 1
    min_exposed_days: int = MIN_EXPOSED_DAYS
    min_unexposed_days: int = MIN_UNEXPOSED_DAYS
    min_attack_windows: int = MIN_ATTACK_WINDOWS
    min_attack_free_windows: int = MIN_ATTACK_FREE_WINDOWS
    level: float = 0.95
    # Widen the interval for day-to-day dependence (Bartlett); lags 1..max_lag_days are summed.
    correct_for_dependence: bool = True
    max_lag_days: int = 7

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if not 0 <= self.stress_threshold <= 10:
            errors.append(FieldError("stress_threshold", "must be between 0 and 10"))
        if not 0.0 < self.sleep_threshold_hours <= 24.0:
            errors.append(FieldError("sleep_threshold_hours", "must be in (0, 24]"))
        if not 1 <= self.window_days <= 7:
            errors.append(FieldError("window_days", "must be between 1 and 7"))
        for name in (
            "min_exposed_days",
            "min_unexposed_days",
            "min_attack_windows",
            "min_attack_free_windows",
        ):
            if getattr(self, name) < 1:
                errors.append(FieldError(name, "must be at least 1"))
        if not 1 <= self.max_lag_days <= 60:
            errors.append(FieldError("max_lag_days", "must be between 1 and 60"))
        if not 0.0 < self.level < 1.0:
            errors.append(FieldError("level", "must be strictly between 0 and 1"))
        if errors:
            raise ValidationError(errors)


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """The 2x2 comparison for one factor and what may be said about it."""

    factor: str  # stable key: "stress_high", "poor_sleep", "menstruation", "trigger:<name>"
    label: str  # human wording, e.g. "stress >= 7/10"
    kind: FactorKind
    exposed_days: int
    unexposed_days: int
    exposed_attack_windows: int  # exposed days with an attack starting in the window
    unexposed_attack_windows: int
    days_outcome_unknown: int  # factor recorded, but the window has a missing day and no attack
    attack_reported_days: int  # exposed days known only from triggers named on an attack
    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    corrected: bool  # Haldane 0.5 added to every cell
    variance_inflation: float  # >= 1; multiplies the log-OR variance for serial dependence
    verdict: Verdict
    reason: str  # why this verdict, in plain words
    notes: tuple[str, ...]
    level: float = 0.95

    @property
    def exposed_risk(self) -> float | None:
        """Share of exposed days followed by an attack start in the window."""
        return self.exposed_attack_windows / self.exposed_days if self.exposed_days else None

    @property
    def unexposed_risk(self) -> float | None:
        if not self.unexposed_days:
            return None
        return self.unexposed_attack_windows / self.unexposed_days

    def as_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "label": self.label,
            "kind": str(self.kind),
            "exposed_days": self.exposed_days,
            "unexposed_days": self.unexposed_days,
            "exposed_attack_windows": self.exposed_attack_windows,
            "unexposed_attack_windows": self.unexposed_attack_windows,
            "exposed_risk": self.exposed_risk,
            "unexposed_risk": self.unexposed_risk,
            "days_outcome_unknown": self.days_outcome_unknown,
            "attack_reported_days": self.attack_reported_days,
            "odds_ratio": self.odds_ratio,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "level": self.level,
            "corrected": self.corrected,
            "variance_inflation": self.variance_inflation,
            "verdict": str(self.verdict),
            "reason": self.reason,
            "notes": list(self.notes),
        }


DEFAULT_TRIGGER_CONFIG = TriggerConfig()

# Tri-state exposure of one day: True exposed, False unexposed, None not recorded.
_Exposure = Callable[[dt.date], bool | None]


def _normalise(trigger: str) -> str:
    return " ".join(trigger.strip().lower().split())


def analyse_triggers(
    diary: Diary,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    config: TriggerConfig = DEFAULT_TRIGGER_CONFIG,
) -> list[TriggerResult]:
    """Compare attack-start odds in the hazard window after days with vs without each factor.

    ``start``/``end`` (inclusive) bound the analysis period and default to the first and last
    day that has a diary entry or an attack start. Both the exposure day and every day of its
    hazard window must lie inside the period; a window running past ``end`` counts as having a
    missing day.

    Returns the three built-in factors (always, so the caller can say "stress was never
    recorded") followed by every listed trigger named in the period, alphabetically.
    Verdict rules and the minimum counts are in the module docstring: by default at least
    10 exposed days, 20 unexposed days, 5 windows with and 5 without an attack start.
    """
    cfg = config
    days: dict[dt.date, DiaryDay] = {d.date: d for d in diary.days}
    attack_starts: set[dt.date] = set()
    attack_triggers: dict[dt.date, set[str]] = {}
    for attack in diary.attacks:
        s = attack.start.date()
        attack_starts.add(s)
        named = {_normalise(t) for t in attack.triggers if t.strip()}
        if named:
            attack_triggers.setdefault(s, set()).update(named)

    observed = set(days) | attack_starts
    if not observed:
        return [
            _result(key, label, kind, [], cfg, 0, 0)
            for key, label, kind, _ in _builtin_factors(days, cfg)
        ]
    first = start if start is not None else min(observed)
    last = end if end is not None else max(observed)
    if last < first:
        raise ValidationError(FieldError("end", "must not be before start"))

    period = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def window(d: dt.date) -> bool | None:
        """True if an attack starts in the window, False if none did and every day is
        recorded, None if unknown."""
        complete = True
        for k in range(cfg.window_days):
            w = d + dt.timedelta(days=k)
            if w > last:
                complete = False
                continue
            if w in attack_starts:
                return True
            if w not in observed:
                complete = False
        return False if complete else None

    outcomes = {d: window(d) for d in period}

    results: list[TriggerResult] = []
    for key, label, kind, exposure in _builtin_factors(days, cfg):
        rows, unknown = _tabulate(period, exposure, outcomes)
        results.append(_result(key, label, kind, rows, cfg, unknown, 0))

    named_in_period: set[str] = set()
    for d in period:
        if d in days:
            named_in_period.update(_normalise(t) for t in days[d].triggers if t.strip())
        named_in_period.update(attack_triggers.get(d, ()))

    for name in sorted(named_in_period):

        def listed(d: dt.date, name: str = name) -> bool | None:
            if d not in observed:
                return None
            on_day = d in days and any(_normalise(t) == name for t in days[d].triggers)
            return on_day or name in attack_triggers.get(d, ())

        def from_attack_only(d: dt.date, name: str = name) -> bool:
            on_day = d in days and any(_normalise(t) == name for t in days[d].triggers)
            return not on_day and name in attack_triggers.get(d, ())

        rows, unknown = _tabulate(period, listed, outcomes)
        attack_only = sum(1 for d, exposed, _ in rows if exposed and from_attack_only(d))
        results.append(
            _result(
                f"trigger:{name}",
                f"trigger named: {name}",
                FactorKind.LISTED,
                rows,
                cfg,
                unknown,
                attack_only,
            )
        )
    return results


def _builtin_factors(
    days: dict[dt.date, DiaryDay], cfg: TriggerConfig
) -> Iterable[tuple[str, str, FactorKind, _Exposure]]:
    def stress(d: dt.date) -> bool | None:
        day = days.get(d)
        if day is None or day.stress is None:
            return None
        return day.stress >= cfg.stress_threshold

    def sleep(d: dt.date) -> bool | None:
        day = days.get(d)
        if day is None or day.sleep_hours is None:
            return None
        return day.sleep_hours < cfg.sleep_threshold_hours

    def menstruation(d: dt.date) -> bool | None:
        day = days.get(d)
        return None if day is None else day.menstruating

    yield "stress_high", f"stress >= {cfg.stress_threshold}/10", FactorKind.MEASURE, stress
    yield (
        "poor_sleep",
        f"sleep < {cfg.sleep_threshold_hours:g} h",
        FactorKind.MEASURE,
        sleep,
    )
    yield "menstruation", "menstruating", FactorKind.FLAG, menstruation


def _tabulate(
    period: list[dt.date],
    exposure: _Exposure,
    outcomes: dict[dt.date, bool | None],
) -> tuple[list[tuple[dt.date, bool, bool]], int]:
    """Rows (day, exposed, attack in window) for days with known exposure and outcome."""
    rows: list[tuple[dt.date, bool, bool]] = []
    unknown = 0
    for d in period:
        exposed = exposure(d)
        if exposed is None:
            continue
        outcome = outcomes[d]
        if outcome is None:
            unknown += 1
            continue
        rows.append((d, exposed, outcome))
    return rows, unknown


def _dependence_inflation(rows: list[tuple[dt.date, bool, bool]], max_lag: int) -> float:
    """Bartlett variance inflation from the day-by-day exposure and outcome series.

    Why: with a factor that comes in spells (menstruation: ~5 days in a row) and hazard windows
    that overlap (an attack start on d+1 marks both d and d+1), the plain Woolf interval is too
    narrow (see the module docstring for the simulated error rates with and without it).
    """
    by_day = {d: (e, o) for d, e, o in rows}
    first, last = min(by_day), max(by_day)
    xs: list[float | None] = []
    ys: list[float | None] = []
    for i in range((last - first).days + 1):
        row = by_day.get(first + dt.timedelta(days=i))
        xs.append(None if row is None else float(row[0]))
        ys.append(None if row is None else float(row[1]))
    return autocorrelation_inflation(xs, ys, max_lag=max_lag)


def _result(
    key: str,
    label: str,
    kind: FactorKind,
    rows: list[tuple[dt.date, bool, bool]],
    cfg: TriggerConfig,
    unknown: int,
    attack_only: int,
) -> TriggerResult:
    a = sum(1 for _, e, o in rows if e and o)
    b = sum(1 for _, e, o in rows if e and not o)
    c = sum(1 for _, e, o in rows if not e and o)
    d = sum(1 for _, e, o in rows if not e and not o)
    exposed, unexposed = a + b, c + d
    notes = [NOTE_DEPENDENCE, NOTE_ASSOCIATION, NOTE_MULTIPLE]
    if attack_only:
        notes.append(NOTE_ATTACK_REPORTED)

    shortfalls: list[str] = []
    if exposed < cfg.min_exposed_days:
        shortfalls.append(f"{exposed} exposed days (need {cfg.min_exposed_days})")
    if unexposed < cfg.min_unexposed_days:
        shortfalls.append(f"{unexposed} unexposed days (need {cfg.min_unexposed_days})")
    if a + c < cfg.min_attack_windows:
        shortfalls.append(f"{a + c} days followed by an attack (need {cfg.min_attack_windows})")
    if b + d < cfg.min_attack_free_windows:
        shortfalls.append(
            f"{b + d} days not followed by an attack (need {cfg.min_attack_free_windows})"
        )
    if exposed and attack_only == exposed:
        shortfalls.append(
            "named only on attack records; it must also be recorded on headache-free days"
        )

    est = low = high = p = None
    corrected = False
    inflation = 1.0
    if exposed and unexposed and (a + c) and (b + d):
        if cfg.correct_for_dependence:
            inflation = _dependence_inflation(rows, cfg.max_lag_days)
        ratio = odds_ratio(a, b, c, d, level=cfg.level, variance_inflation=inflation)
        est, low, high, p, corrected = (
            ratio.estimate,
            ratio.low,
            ratio.high,
            ratio.p_value,
            ratio.corrected,
        )

    if shortfalls or low is None or high is None:
        # (low is None only with an empty margin, which the minimums already report.)
        verdict = Verdict.NOT_ENOUGH_DATA
        reason = "Not enough data: " + "; ".join(shortfalls) + "."
    else:
        pct = f"{cfg.level * 100:g} %"
        if low > 1.0:
            verdict = Verdict.ASSOCIATED
            reason = (
                f"Attacks started more often within {cfg.window_days} days after this factor "
                f"({pct} interval of the odds ratio lies above 1)."
            )
        elif high < 1.0:
            verdict = Verdict.INVERSELY_ASSOCIATED
            reason = (
                f"Attacks started less often within {cfg.window_days} days after this factor "
                f"({pct} interval of the odds ratio lies below 1)."
            )
        else:
            verdict = Verdict.NO_CLEAR_ASSOCIATION
            reason = (
                f"The {pct} interval of the odds ratio includes 1: no clear association in "
                "this diary (which is not proof of no effect)."
            )

    return TriggerResult(
        factor=key,
        label=label,
        kind=kind,
        exposed_days=exposed,
        unexposed_days=unexposed,
        exposed_attack_windows=a,
        unexposed_attack_windows=c,
        days_outcome_unknown=unknown,
        attack_reported_days=attack_only,
        odds_ratio=est,
        ci_low=low,
        ci_high=high,
        p_value=p,
        corrected=corrected,
        variance_inflation=inflation,
        verdict=verdict,
        reason=reason,
        notes=tuple(notes),
        level=cfg.level,
    )
