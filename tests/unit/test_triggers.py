"""Trigger analysis on hand-built and simulated diaries.

The simulations use seeded ``random.Random`` so they are deterministic; the thresholds asserted
on them are set from the sampling error of the number of simulated patients (explained beside
each assertion), not tuned to the seeds.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from collections import Counter

import pytest

from acuhead.domain.diary import Attack, Diary, DiaryDay, PatientFacts
from acuhead.domain.triggers import (
    MIN_ATTACK_WINDOWS,
    MIN_EXPOSED_DAYS,
    MIN_UNEXPOSED_DAYS,
    NOTE_ATTACK_REPORTED,
    NOTE_DEPENDENCE,
    FactorKind,
    TriggerConfig,
    TriggerResult,
    Verdict,
    analyse_triggers,
)
from acuhead.errors import ValidationError

START = dt.date(2025, 1, 1)
PATIENT = PatientFacts(birth_date=dt.date(1985, 5, 5))


def day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def attack_on(i: int, hour: int = 9, minutes: int = 300, triggers: tuple[str, ...] = ()) -> Attack:
    return Attack(
        start=dt.datetime.combine(day(i), dt.time(hour)),
        duration_min=minutes,
        triggers=triggers,
    )


def by_factor(results: list[TriggerResult]) -> dict[str, TriggerResult]:
    return {r.factor: r for r in results}


# ----------------------------------------------------------------------------- simulation


def simulate_sleep_effect(
    rng: random.Random,
    *,
    n_days: int = 300,
    base: float = 0.08,
    after_poor_sleep: float = 0.35,
    p_poor: float = 0.2,
) -> Diary:
    """Attack starts with probability ``base``, or ``after_poor_sleep`` on the day after a day
    with poor sleep (< 6 h). Stress, menstruation and a listed trigger carry no effect."""
    days: list[DiaryDay] = []
    attacks: list[Attack] = []
    phase = rng.randrange(28)
    poor_yesterday = False
    for i in range(n_days):
        poor = rng.random() < p_poor
        attack = rng.random() < (after_poor_sleep if poor_yesterday else base)
        if attack:
            attacks.append(attack_on(i, hour=rng.randrange(24)))
        days.append(
            DiaryDay(
                date=day(i),
                headache=attack,
                stress=rng.randrange(11),
                sleep_hours=rng.uniform(4.0, 5.9) if poor else rng.uniform(6.0, 9.0),
                menstruating=(i + phase) % 28 < 5,
                triggers=("alcohol",) if rng.random() < 0.1 else (),
            )
        )
        poor_yesterday = poor
    return Diary(patient=PATIENT, days=tuple(days), attacks=tuple(attacks))


def simulate_null_with_spells(rng: random.Random, n_days: int = 300) -> Diary:
    """No factor affects attacks, but everything is serially dependent, as in real diaries:
    attacks cluster (0.30 the day after an attack, else 0.06), stress drifts as a random walk,
    menstruation comes in 5-day spells. This is the hard case for a day-level test."""
    days: list[DiaryDay] = []
    attacks: list[Attack] = []
    phase = rng.randrange(28)
    stress = rng.randrange(11)
    had_attack = False
    for i in range(n_days):
        had_attack = rng.random() < (0.30 if had_attack else 0.06)
        if had_attack:
            attacks.append(attack_on(i, hour=rng.randrange(24)))
        stress = min(10, max(0, stress + rng.choice((-1, 0, 1))))
        days.append(
            DiaryDay(
                date=day(i),
                headache=had_attack,
                stress=stress,
                sleep_hours=rng.uniform(4.0, 9.0),
                menstruating=(i + phase) % 28 < 5,
            )
        )
    return Diary(patient=PATIENT, days=tuple(days), attacks=tuple(attacks))


def test_planted_poor_sleep_effect_is_found() -> None:
    result = by_factor(analyse_triggers(simulate_sleep_effect(random.Random(2025))))
    sleep = result["poor_sleep"]
    assert sleep.verdict is Verdict.ASSOCIATED
    assert sleep.odds_ratio is not None and sleep.odds_ratio > 2
    assert sleep.ci_low is not None and sleep.ci_low > 1
    assert sleep.exposed_days + sleep.unexposed_days + sleep.days_outcome_unknown == 300
    assert sleep.days_outcome_unknown == 1  # only the last day: its window runs past the end


def test_planted_effect_power_over_many_patients() -> None:
    # Simulation of the same design over 1000 patients finds the effect ~95 % of the time.
    # Asking for >= 16 of 20 leaves room for chance (P(X < 16 | 20, 0.95) ~ 0.3 %), while a
    # broken analysis (power near the 2.5 % false-positive rate) could not pass.
    found = sum(
        by_factor(analyse_triggers(simulate_sleep_effect(random.Random(seed))))[
            "poor_sleep"
        ].verdict
        is Verdict.ASSOCIATED
        for seed in range(100, 120)
    )
    assert found >= 16


@functools.lru_cache(maxsize=4)  # the corrected run is shared by two tests
def _null_rates(config: TriggerConfig, n_patients: int = 200) -> Counter[tuple[str, Verdict]]:
    counts: Counter[tuple[str, Verdict]] = Counter()
    for seed in range(n_patients):
        diary = simulate_null_with_spells(random.Random(10_000 + seed))
        for r in analyse_triggers(diary, config=config):
            counts[(r.factor, r.verdict)] += 1
    return counts


def test_no_effect_false_positive_rate_is_controlled() -> None:
    """200 simulated patients with no true effect, serially dependent data.

    "associated" needs the 95 % interval's lower bound above 1: a one-sided error of 2.5 %
    nominal; any association in either direction is 5 % nominal. With 200 patients the binomial
    SD of a 5 % rate is 1.5 points, so the brief's bound of 10 % (two-sided) is > 3 SD above
    nominal; for "associated" alone 6 % is ~3 SD above its 2.5 %. Both would fail for the plain
    Woolf interval on this data (it reaches ~15 % two-sided for drifting stress), which is what
    the serial-dependence correction is for.
    """
    n = 200
    counts = _null_rates(TriggerConfig(), n)
    for factor in ("stress_high", "poor_sleep", "menstruation"):
        associated = counts[(factor, Verdict.ASSOCIATED)] / n
        either = associated + counts[(factor, Verdict.INVERSELY_ASSOCIATED)] / n
        assert associated <= 0.06, (factor, associated)
        assert either <= 0.10, (factor, either)


def test_dependence_correction_matters_on_dependent_data() -> None:
    # Same null patients without the correction: drifting stress is flagged far more often.
    n = 200
    plain = _null_rates(TriggerConfig(correct_for_dependence=False), n)
    corrected = _null_rates(TriggerConfig(), n)

    def flagged(c: Counter[tuple[str, Verdict]]) -> int:
        return (
            c[("stress_high", Verdict.ASSOCIATED)]
            + c[("stress_high", Verdict.INVERSELY_ASSOCIATED)]
        )

    assert flagged(plain) > flagged(corrected)


# ----------------------------------------------------------------------------- hand-built diaries


def test_missing_days_are_neither_exposed_nor_unexposed() -> None:
    """Ten days, poor sleep = sleep < 6 h, hazard window d..d+1. By hand:

    d0 poor,  attack d0              -> exposed,   attack in window
    d1 ok,    d2 missing, no attack  -> outcome unknown (window has a missing day)
    d2 MISSING                       -> not counted at all
    d3 poor,  d3-d4 no attack        -> exposed,   no attack
    d4 ok,    d4-d5 no attack        -> unexposed, no attack (d5 is recorded, sleep blank)
    d5 sleep not recorded            -> not counted
    d6 poor,  attack d7              -> exposed,   attack
    d7 ok,    attack d7              -> unexposed, attack
    d8 ok,    d8-d9 no attack        -> unexposed, no attack
    d9 ok,    d10 outside the period -> outcome unknown
    Table: a=2 b=1 / c=1 d=2; 3 exposed, 3 unexposed, 2 unknown.
    """
    sleep = {0: 5.0, 1: 8.0, 3: 5.5, 4: 7.0, 5: None, 6: 4.0, 7: 8.0, 8: 7.5, 9: 7.0}
    days = tuple(
        DiaryDay(date=day(i), headache=i in (0, 7), sleep_hours=h) for i, h in sleep.items()
    )
    diary = Diary(patient=PATIENT, days=days, attacks=(attack_on(0), attack_on(7)))
    loose = TriggerConfig(
        min_exposed_days=1, min_unexposed_days=1, min_attack_windows=1, min_attack_free_windows=1
    )
    r = by_factor(analyse_triggers(diary, config=loose))["poor_sleep"]
    assert (r.exposed_days, r.unexposed_days) == (3, 3)
    assert (r.exposed_attack_windows, r.unexposed_attack_windows) == (2, 1)
    assert r.days_outcome_unknown == 2
    # OR = (2*2)/(1*1) = 4, no zero cell so no Haldane correction
    assert r.odds_ratio == pytest.approx(4.0)
    assert not r.corrected
    # Menstruation was never recorded: no days at all, so nothing to say.
    m = by_factor(analyse_triggers(diary, config=loose))["menstruation"]
    assert (m.exposed_days, m.unexposed_days) == (0, 0)
    assert m.verdict is Verdict.NOT_ENOUGH_DATA
    assert m.odds_ratio is None


def test_attack_on_a_day_without_diary_entry_still_counts_as_an_attack_start() -> None:
    days = (
        DiaryDay(date=day(0), headache=False, sleep_hours=5.0),
        DiaryDay(date=day(2), headache=False, sleep_hours=8.0),
    )
    diary = Diary(patient=PATIENT, days=days, attacks=(attack_on(1),))
    loose = TriggerConfig(min_exposed_days=1, min_unexposed_days=1)
    r = by_factor(analyse_triggers(diary, config=loose))["poor_sleep"]
    assert r.exposed_attack_windows == 1  # d0's window contains the attack on d1
    assert r.exposed_days == 1


def test_only_attack_starts_count_not_attacks_running_over_midnight() -> None:
    days = tuple(DiaryDay(date=day(i), headache=i in (3, 4), sleep_hours=8.0) for i in range(6))
    # 22:00 on d3 until 06:00 on d4: one attack, starting on d3.
    diary = Diary(patient=PATIENT, days=days, attacks=(attack_on(3, hour=22, minutes=480),))
    loose = TriggerConfig(min_exposed_days=1, min_unexposed_days=1)
    r = by_factor(analyse_triggers(diary, config=loose))["poor_sleep"]
    # Windows d2 (d2-d3) and d3 (d3-d4) hold the start; d4 (d4-d5) does not.
    assert r.unexposed_attack_windows == 2
    assert r.unexposed_days == 5


def test_not_enough_data_below_the_minimums() -> None:
    assert (MIN_EXPOSED_DAYS, MIN_UNEXPOSED_DAYS, MIN_ATTACK_WINDOWS) == (10, 20, 5)
    # 40 days, stress high on 9 days only (one below the minimum), plenty of attacks.
    days = tuple(
        DiaryDay(date=day(i), headache=False, stress=8 if i % 4 == 0 and i < 36 else 2)
        for i in range(40)
    )
    attacks = tuple(attack_on(i) for i in range(0, 40, 3))
    r = by_factor(analyse_triggers(Diary(patient=PATIENT, days=days, attacks=attacks)))[
        "stress_high"
    ]
    assert r.exposed_days == 9
    assert r.verdict is Verdict.NOT_ENOUGH_DATA
    assert "9 exposed days (need 10)" in r.reason
    # The OR is still reported for transparency, just not judged.
    assert r.odds_ratio is not None

    # Enough exposed days but too few attacks: 2 attack starts -> at most 4 windows.
    few = Diary(patient=PATIENT, days=days, attacks=(attack_on(5), attack_on(20)))
    r2 = by_factor(analyse_triggers(few))["stress_high"]
    assert r2.verdict is Verdict.NOT_ENOUGH_DATA
    assert "followed by an attack (need 5)" in r2.reason


def test_listed_triggers_are_normalised_and_named_only_on_attacks_is_not_judged() -> None:
    rng = random.Random(7)
    days = []
    attacks = []
    for i in range(120):
        attack = rng.random() < 0.2
        if attack:
            attacks.append(attack_on(i, triggers=("Chocolate",)))
        days.append(
            DiaryDay(
                date=day(i),
                headache=attack,
                triggers=(" Red  wine ",) if i % 5 == 0 else (("red wine",) if i % 7 == 0 else ()),
            )
        )
    results = by_factor(
        analyse_triggers(Diary(patient=PATIENT, days=tuple(days), attacks=tuple(attacks)))
    )
    assert "trigger:red wine" in results
    wine = results["trigger:red wine"]
    assert wine.kind is FactorKind.LISTED
    assert wine.exposed_days == len([i for i in range(119) if i % 5 == 0 or i % 7 == 0])
    assert wine.attack_reported_days == 0

    choc = results["trigger:chocolate"]
    # Named only on attack records: every exposed day has an attack by construction.
    assert choc.attack_reported_days == choc.exposed_days > MIN_EXPOSED_DAYS
    assert choc.exposed_attack_windows == choc.exposed_days
    assert choc.verdict is Verdict.NOT_ENOUGH_DATA
    assert "headache-free days" in choc.reason
    assert NOTE_ATTACK_REPORTED in choc.notes


def test_thresholds_are_configurable() -> None:
    days = (
        DiaryDay(date=day(0), headache=False, stress=7, sleep_hours=6.0),
        DiaryDay(date=day(1), headache=False, stress=7, sleep_hours=6.0),
    )
    diary = Diary(patient=PATIENT, days=days)
    default = by_factor(analyse_triggers(diary))
    assert default["stress_high"].exposed_days == 1  # 7 >= 7 (d1 has no next day)
    assert default["poor_sleep"].exposed_days == 0  # 6.0 is not < 6
    custom = by_factor(
        analyse_triggers(diary, config=TriggerConfig(stress_threshold=8, sleep_threshold_hours=6.5))
    )
    assert custom["stress_high"].exposed_days == 0
    assert custom["poor_sleep"].exposed_days == 1
    assert custom["stress_high"].label == "stress >= 8/10"


def test_start_and_end_bound_the_period() -> None:
    diary = simulate_sleep_effect(random.Random(3), n_days=100)
    r = by_factor(analyse_triggers(diary, start=day(10), end=day(39)))["poor_sleep"]
    assert r.exposed_days + r.unexposed_days + r.days_outcome_unknown == 30
    with pytest.raises(ValidationError):
        analyse_triggers(diary, start=day(10), end=day(5))


def test_empty_diary_reports_the_builtin_factors_as_not_enough_data() -> None:
    results = analyse_triggers(Diary(patient=PATIENT))
    assert [r.factor for r in results] == ["stress_high", "poor_sleep", "menstruation"]
    assert all(r.verdict is Verdict.NOT_ENOUGH_DATA for r in results)


def test_config_is_validated() -> None:
    with pytest.raises(ValidationError) as err:
        TriggerConfig(stress_threshold=11, window_days=0)
    paths = {e.path for e in err.value.errors}
    assert paths == {"stress_threshold", "window_days"}


def test_result_is_json_friendly_and_never_claims_causation() -> None:
    results = analyse_triggers(simulate_sleep_effect(random.Random(2025)))
    payload = json.loads(json.dumps([r.as_dict() for r in results]))
    sleep = next(p for p in payload if p["factor"] == "poor_sleep")
    assert sleep["verdict"] == "associated"
    assert sleep["variance_inflation"] >= 1.0
    assert NOTE_DEPENDENCE in sleep["notes"]
    for r in results:
        assert "cause" not in r.verdict
        assert "cause" not in r.reason.lower()
