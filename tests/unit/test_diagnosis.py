"""Patient-level ICHD-3 diagnosis over a diary: attack counts, days per month over >3 months.

Diaries are built day by day from a plan (date -> attacks that day); every day of the range is
recorded unless a case says it is missing. Window rule under test (see diagnosis.py): whole calendar
months; 4 consecutive qualifying months = definite, 1-3 still running = probable.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest

from acuhead.domain.diagnosis import (
    Bound,
    DiagnosisRules,
    complete_months,
    course,
    diagnose,
)
from acuhead.domain.diary import (
    Attack,
    AuraSymptom,
    AuraType,
    Diary,
    DiaryDay,
    Effect,
    Location,
    MedClass,
    MedicationDose,
    Nausea,
    PatientFacts,
    Quality,
    Side,
)
from acuhead.errors import ValidationError

PATIENT = PatientFacts(birth_date=dt.date(1980, 1, 1))
JAN1 = dt.date(2024, 1, 1)

Plan = Callable[[dt.date], list[Attack]]


def at(day: dt.date, hour: int = 8) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 0)


def migraine(day: dt.date, *meds: MedClass) -> Attack:
    return Attack(
        start=at(day),
        end=at(day) + dt.timedelta(hours=6),
        side=Side.LEFT,
        quality=(Quality.PULSATING,),
        peak_intensity=7,
        aggravated_by_activity=True,
        nausea=Nausea.MODERATE,
        vomiting=False,
        photophobia=True,
        phonophobia=True,
        locations=(Location.FRONTAL,),
        medications=tuple(MedicationDose(m.value, m, effect=Effect.GOOD) for m in meds),
    )


def tth(day: dt.date, *meds: MedClass) -> Attack:
    return Attack(
        start=at(day),
        end=at(day) + dt.timedelta(hours=5),
        side=Side.BOTH,
        quality=(Quality.PRESSING,),
        peak_intensity=3,
        aggravated_by_activity=False,
        nausea=Nausea.NONE,
        vomiting=False,
        photophobia=False,
        phonophobia=False,
        locations=(Location.FRONTAL,),
        medications=tuple(MedicationDose(m.value, m, effect=Effect.PARTIAL) for m in meds),
    )


def aura(day: dt.date, *, headache: bool) -> Attack:
    symptom = AuraSymptom(
        type=AuraType.VISUAL,
        duration_min=20,
        gradual_spread=True,
        unilateral=True,
        positive=True,
        headache_within_60_min=headache,
    )
    return Attack(
        start=at(day),
        end=at(day) + dt.timedelta(hours=2 if headache else 1),
        peak_intensity=4 if headache else 0,
        aura=(symptom,),
    )


def cluster(day: dt.date, hour: int = 2) -> Attack:
    return Attack(
        start=at(day, hour),
        end=at(day, hour) + dt.timedelta(minutes=60),
        side=Side.RIGHT,
        quality=(Quality.STABBING,),
        peak_intensity=9,
        aggravated_by_activity=False,
        nausea=Nausea.NONE,
        vomiting=False,
        photophobia=False,
        phonophobia=False,
        locations=(Location.ORBITAL,),
        cranial_autonomic=("lacrimation", "rhinorrhoea"),
        restlessness=True,
    )


def build(start: dt.date, end: dt.date, plan: Plan, missing: Iterable[dt.date] = ()) -> Diary:
    """A diary recorded on every day from start to end except ``missing``."""
    skip = set(missing)
    days: list[DiaryDay] = []
    attacks: list[Attack] = []
    day = start
    while day <= end:
        if day not in skip:
            todays = plan(day)
            days.append(DiaryDay(date=day, headache=bool(todays)))
            attacks.extend(todays)
        day += dt.timedelta(days=1)
    return Diary(patient=PATIENT, days=tuple(days), attacks=tuple(attacks))


def days_where(start: dt.date, end: dt.date, test: Callable[[dt.date], bool]) -> list[dt.date]:
    span = (end - start).days + 1
    return [d for d in (start + dt.timedelta(days=k) for k in range(span)) if test(d)]


def month_end(months: int) -> dt.date:
    """Last day of the ``months``-th month counted from January 2024."""
    return complete_months(JAN1, dt.date(2025, 12, 31))[months - 1][1]


def monthly(**per_day: Callable[[dt.date], Attack]) -> Plan:
    """Plan by day of month: keys like d1_8=migraine mean days 1..8 of every month."""

    def plan(day: dt.date) -> list[Attack]:
        for key, make in per_day.items():
            first, last = (int(x) for x in key[1:].split("_"))
            if first <= day.day <= last:
                return [make(day)]
        return []

    return plan


def first_days(count: int, make: Callable[[dt.date], Attack]) -> Plan:
    """``count`` attacks on consecutive days from JAN1."""
    return lambda day: [make(day)] if (day - JAN1).days < count else []


def with_meds(make: Callable[..., Attack], *meds: MedClass) -> Callable[[dt.date], Attack]:
    return lambda day: make(day, *meds)


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    diary: Diary
    end: dt.date
    expect: dict[str, str]
    absent: tuple[str, ...] = ()
    today: dt.date | None = None
    rules: DiagnosisRules = field(default_factory=DiagnosisRules)


FOUR = month_end(4)
THREE = month_end(3)
TWELVE = month_end(12)
TEN_DAYS = JAN1 + dt.timedelta(days=9)

chronic_plan = monthly(d1_8=migraine, d9_15=tth)


def moh(plan_meds: dict[str, tuple[MedClass, ...]], headache_days: int = 15) -> Plan:
    """Tension-type headache on days 1..headache_days; medication by day-of-month ranges."""

    def plan(day: dt.date) -> list[Attack]:
        if day.day > headache_days:
            return []
        for key, meds in plan_meds.items():
            first, last = (int(x) for x in key[1:].split("_"))
            if first <= day.day <= last:
                return [tth(day, *meds)]
        return [tth(day)]

    return plan


TRIPTAN, PARACETAMOL, OPIOID = MedClass.TRIPTAN, MedClass.PARACETAMOL, MedClass.OPIOID

CASES = [
    # --- criterion A: numbers of attacks
    Case(
        "4-migraine-attacks",
        "ICHD-3 1.1 A note 1 (fewer than 5: 1.5.1)",
        build(JAN1, TEN_DAYS, first_days(4, migraine)),
        TEN_DAYS,
        {"1.5.1": "probable"},
        ("1.1",),
    ),
    Case(
        "5-migraine-attacks",
        "ICHD-3 1.1 A",
        build(JAN1, TEN_DAYS, first_days(5, migraine)),
        TEN_DAYS,
        {"1.1": "definite"},
        ("1.5.1",),
    ),
    Case(
        "1-aura-attack",
        "ICHD-3 1.2 A / 1.5.2",
        build(JAN1, TEN_DAYS, first_days(1, lambda d: aura(d, headache=True))),
        TEN_DAYS,
        {"1.5.2": "probable"},
        ("1.2.1.1", "1.2"),
    ),
    Case(
        "2-aura-attacks",
        "ICHD-3 1.2 A / 1.2.1.1",
        build(JAN1, TEN_DAYS, first_days(2, lambda d: aura(d, headache=True))),
        TEN_DAYS,
        {"1.2.1.1": "definite"},
        ("1.5.2",),
    ),
    Case(
        "typical-aura-with-and-without-headache",
        "ICHD-3 1.2.1 A (subtypes need two attacks each)",
        build(
            JAN1,
            TEN_DAYS,
            lambda d: [aura(d, headache=d.day == 1)] if d.day <= 2 else [],
        ),
        TEN_DAYS,
        {"1.2.1": "definite"},
        ("1.2.1.1", "1.2.1.2"),
    ),
    Case(
        "4-cluster-attacks",
        "ICHD-3 3.1 A / 3.5.1",
        build(JAN1, TEN_DAYS, first_days(4, cluster)),
        TEN_DAYS,
        {"3.5.1": "probable"},
        ("3.1",),
    ),
    Case(
        "5-cluster-attacks",
        "ICHD-3 3.1 A",
        build(JAN1, TEN_DAYS, first_days(5, cluster)),
        TEN_DAYS,
        {"3.1": "definite"},
        ("3.5.1",),
    ),
    Case(
        "cluster-every-fourth-day",
        "ICHD-3 3.1 D (one every other day to 8 a day)",
        build(JAN1, month_end(1), lambda d: [cluster(d)] if d.day % 4 == 1 else []),
        month_end(1),
        {"3.5.1": "probable"},
        ("3.1",),
    ),
    Case(
        "cluster-every-other-day",
        "ICHD-3 3.1 D",
        build(JAN1, month_end(1), lambda d: [cluster(d)] if d.day % 2 == 1 else []),
        month_end(1),
        {"3.1": "definite"},
    ),
    Case(
        "two-cluster-periods-100-days-apart",
        "ICHD-3 3.1.1 (periods 7 d - 1 y, remission >=3 months)",
        build(
            JAN1,
            month_end(5),
            lambda d: [cluster(d)] if d.day <= 10 and d.month in (1, 5) else [],
        ),
        month_end(5),
        {"3.1.1": "definite"},
    ),
    Case(
        "two-cluster-bouts-2-months-apart",
        "ICHD-3 3.1.1 B (remission under 3 months: one period)",
        build(
            JAN1,
            month_end(3),
            lambda d: [cluster(d)] if d.day <= 10 and d.month in (1, 3) else [],
        ),
        month_end(3),
        {"3.1": "definite"},
        ("3.1.1",),
    ),
    Case(
        "tth-9-episodes",
        "ICHD-3 2.2 A (>=10 episodes) / 2.4",
        build(JAN1, FOUR, lambda d: [tth(d)] if d.day in (3, 13, 23) and d.month < 4 else []),
        FOUR,
        {"2.4": "probable"},
        ("2.2", "2.1"),
    ),
    Case(
        "tth-10-episodes",
        "ICHD-3 2.2 A (>=10 episodes, 1-14 days/month, >3 months)",
        build(
            JAN1,
            FOUR,
            lambda d: [tth(d)] if (d.day in (3, 13, 23) and d.month < 4) or d == FOUR else [],
        ),
        FOUR,
        {"2.2": "definite"},
        ("2.4",),
    ),
    Case(
        "tth-10-episodes-in-3-months",
        "ICHD-3 2.2 A (>3 months)",
        build(
            JAN1,
            THREE,
            lambda d: (
                [tth(d)]
                if (d.day in (3, 9, 13, 23) and d.month < 3) or (d.month == 3 and d.day in (3, 13))
                else []
            ),
        ),
        THREE,
        {"2.2": "probable"},
    ),
    Case(
        "tth-infrequent",
        "ICHD-3 2.1 A (<1 day/month on average)",
        build(JAN1, TWELVE, lambda d: [tth(d)] if d.day == 15 and d.month <= 10 else []),
        TWELVE,
        {"2.1": "definite"},
    ),
    Case(
        "tth-chronic",
        "ICHD-3 2.3 A (>=15 days/month, >3 months)",
        build(JAN1, FOUR, monthly(d1_15=tth)),
        FOUR,
        {"2.3": "definite"},
        ("2.2", "1.3"),
    ),
    Case(
        "tth-frequency-unknown-with-gaps",
        "CLINICAL.md 0.4 (missing day is not headache-free)",
        build(
            JAN1,
            FOUR,
            lambda d: [tth(d)] if (d.day in (3, 13, 23) and d.month < 4) or d == FOUR else [],
            missing=days_where(JAN1, FOUR, lambda d: d.day >= 14 and d.day != 23 and d != FOUR),
        ),
        FOUR,
        {"2": "probable"},
        ("2.1", "2.2"),
    ),
    # --- 1.3 chronic migraine: >=15 headache days with >=8 migraine days, >3 months
    Case(
        "cm-15-headache-8-migraine-days",
        "ICHD-3 1.3 A+C",
        build(JAN1, FOUR, chronic_plan),
        FOUR,
        {"1.3": "definite"},
        ("1.1", "1.5.1", "2", "2.1", "2.2", "2.3", "2.4"),
    ),
    Case(
        "cm-14-headache-days",
        "ICHD-3 1.3 A",
        build(JAN1, FOUR, monthly(d1_8=migraine, d9_14=tth)),
        FOUR,
        {"1.1": "definite"},
        ("1.3",),
    ),
    Case(
        "cm-7-migraine-days",
        "ICHD-3 1.3 C",
        build(JAN1, FOUR, monthly(d1_7=migraine, d8_15=tth)),
        FOUR,
        {"1.1": "definite"},
        ("1.3",),
    ),
    Case(
        "cm-3-months-only",
        "ICHD-3 1.3 A (>3 months)",
        build(JAN1, THREE, chronic_plan),
        THREE,
        {"1.3": "probable", "1.1": "definite"},
    ),
    Case(
        "cm-missing-day-leaves-4th-month-open",
        "CLINICAL.md 0.4 (missing day is not headache-free)",
        build(JAN1, FOUR, chronic_plan, missing=[dt.date(2024, 4, 15)]),
        FOUR,
        {"1.3": "probable"},
    ),
    Case(
        "cm-current-month-incomplete",
        "ICHD-3 1.3 A (>3 months) with today",
        build(JAN1, FOUR, chronic_plan),
        FOUR,
        {"1.3": "probable"},
        today=dt.date(2024, 4, 20),
    ),
    # --- 8.2 medication overuse: >=15 headache days and intake days per class, >3 months
    Case(
        "triptan-9-days",
        "ICHD-3 8.2.2",
        build(JAN1, FOUR, moh({"d1_9": (TRIPTAN,)})),
        FOUR,
        {},
        ("8.2.2", "8.2.6"),
    ),
    Case(
        "triptan-10-days",
        "ICHD-3 8.2.2",
        build(JAN1, FOUR, moh({"d1_10": (TRIPTAN,)})),
        FOUR,
        {"8.2.2": "definite"},
        ("8.2.6",),
    ),
    Case(
        "triptan-10-days-14-headache-days",
        "ICHD-3 8.2 A (>=15 headache days)",
        build(JAN1, FOUR, moh({"d1_10": (TRIPTAN,)}, headache_days=14)),
        FOUR,
        {},
        ("8.2.2",),
    ),
    Case(
        "triptan-10-days-3-months",
        "ICHD-3 8.2 B (>3 months)",
        build(JAN1, THREE, moh({"d1_10": (TRIPTAN,)})),
        THREE,
        {"8.2.2": "probable"},
    ),
    Case(
        "paracetamol-14-days",
        "ICHD-3 8.2.3.1 (>=15 days)",
        build(JAN1, FOUR, moh({"d1_14": (PARACETAMOL,)})),
        FOUR,
        {},
        ("8.2.3", "8.2.3.1", "8.2.6"),
    ),
    Case(
        "paracetamol-15-days",
        "ICHD-3 8.2.3.1 (>=15 days)",
        build(JAN1, FOUR, moh({"d1_15": (PARACETAMOL,)})),
        FOUR,
        {"8.2.3.1": "definite"},
        ("8.2.3", "8.2.6"),
    ),
    Case(
        "nsaid-8-plus-paracetamol-8",
        "ICHD-3 8.2.3 comment (non-opioid analgesics are one class)",
        build(
            JAN1, FOUR, moh({"d1_8": (MedClass.NSAID,), "d9_16": (PARACETAMOL,)}, headache_days=16)
        ),
        FOUR,
        {"8.2.3": "definite"},
        ("8.2.3.1", "8.2.3.2", "8.2.6"),
    ),
    Case(
        "triptan-5-plus-opioid-5",
        "ICHD-3 8.2.6 (>=10 days, no class overused alone)",
        build(JAN1, FOUR, moh({"d1_5": (TRIPTAN,), "d6_10": (OPIOID,)})),
        FOUR,
        {"8.2.6": "definite"},
        ("8.2.2", "8.2.4"),
    ),
    Case(
        "one-class-is-not-multiple-classes",
        "ICHD-3 8.2.6 (multiple drug classes)",
        build(JAN1, FOUR, moh({"d1_14": (PARACETAMOL,)})),
        FOUR,
        {},
        ("8.2.6", "8.2.3"),
    ),
    Case(
        "opioid-10-days",
        "ICHD-3 8.2.4",
        build(JAN1, FOUR, moh({"d1_10": (OPIOID,)})),
        FOUR,
        {"8.2.4": "definite"},
        ("8.2.6",),
    ),
    Case(
        "ergot-10-days",
        "ICHD-3 8.2.1",
        build(JAN1, FOUR, moh({"d1_10": (MedClass.ERGOT,)})),
        FOUR,
        {"8.2.1": "definite"},
    ),
    Case(
        "combination-analgesic-10-days",
        "ICHD-3 8.2.5 (coded alone, not per ingredient)",
        build(JAN1, FOUR, moh({"d1_10": (MedClass.COMBINATION_ANALGESIC,)})),
        FOUR,
        {"8.2.5": "definite"},
        ("8.2.3", "8.2.6"),
    ),
    Case(
        "combination-analgesic-overused-is-not-8.2.6",
        "ICHD-3 8.2.6 ('not individually overused' covers 8.2.1-8.2.5; issue 12 item 9)",
        build(
            JAN1,
            FOUR,
            moh(
                {
                    "d1_10": (MedClass.COMBINATION_ANALGESIC,),
                    "d11_15": (TRIPTAN,),
                    "d16_20": (OPIOID,),
                },
                headache_days=20,
            ),
        ),
        FOUR,
        {"8.2.5": "definite"},
        ("8.2.6", "8.2.2", "8.2.4"),
    ),
    Case(
        "triptan-and-opioid-with-some-combination-analgesic-is-8.2.6",
        "ICHD-3 8.2.6 (>=10 days of several classes, none overused alone, 8.2.5 included)",
        build(
            JAN1,
            FOUR,
            moh(
                {
                    "d1_5": (MedClass.COMBINATION_ANALGESIC,),
                    "d6_10": (TRIPTAN,),
                    "d11_15": (OPIOID,),
                },
                headache_days=15,
            ),
        ),
        FOUR,
        {"8.2.6": "definite"},
        ("8.2.5", "8.2.2", "8.2.4"),
    ),
    Case(
        "chronic-migraine-and-overuse-both-coded",
        "ICHD-3 8.2 (1.3 and 8.2 both coded)",
        build(
            JAN1,
            FOUR,
            monthly(d1_8=with_meds(migraine, TRIPTAN), d9_10=with_meds(tth, TRIPTAN), d11_15=tth),
        ),
        FOUR,
        {"1.3": "definite", "8.2.2": "definite"},
        ("2.3", "2.2"),
    ),
]


def test_the_table_is_sourced() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    assert all(c.source for c in CASES)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_diagnosis(case: Case) -> None:
    found = diagnose(case.diary, JAN1, case.end, today=case.today, rules=case.rules)
    codes = {d.code: d.status for d in found}
    for code, status in case.expect.items():
        assert codes.get(code) == status, f"{case.source}: got {codes}"
    for code in case.absent:
        assert code not in codes, f"{case.source}: got {codes}"


def test_chronic_migraine_evidence_shows_the_months() -> None:
    (dx,) = [d for d in diagnose(build(JAN1, FOUR, chronic_plan), JAN1, FOUR) if d.code == "1.3"]
    assert dx.evidence["qualifying_months"] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert dx.evidence["current"] is True
    assert dx.criteria == {"A": True, "B": True, "C": True}
    months = dx.evidence["months"]
    assert isinstance(months, list)
    assert months[1] == {
        "month": "2024-02",
        "days": 29,
        "recorded_days": 29,
        "headache_days": 15,
        "headache_days_max": 15,
        "migraine_days": 8,
        "migraine_days_max": 8,
        "meets": True,
    }


def test_missing_days_widen_the_bound_instead_of_counting_as_headache_free() -> None:
    diary = build(JAN1, FOUR, chronic_plan, missing=[dt.date(2024, 4, 15), dt.date(2024, 4, 20)])
    (dx,) = [d for d in diagnose(diary, JAN1, FOUR) if d.code == "1.3"]
    months = dx.evidence["months"]
    assert isinstance(months, list)
    april = months[3]
    assert (april["recorded_days"], april["headache_days"], april["headache_days_max"]) == (
        28,
        14,
        16,
    )
    assert april["meets"] is None


def test_poorly_recorded_months_are_flagged() -> None:
    gaps = [dt.date(2024, 2, d) for d in range(16, 30)]
    (dx,) = [
        d
        for d in diagnose(build(JAN1, FOUR, chronic_plan, missing=gaps), JAN1, FOUR)
        if d.code == "1.3"
    ]
    assert dx.evidence["low_coverage_months"] == ["2024-02"]


def test_a_course_that_ended_is_definite_but_not_current() -> None:
    plan = monthly(d1_8=migraine, d9_15=tth)
    diary = build(JAN1, month_end(5), lambda d: plan(d) if d.month <= 4 else [])
    (dx,) = [d for d in diagnose(diary, JAN1, month_end(5)) if d.code == "1.3"]
    assert dx.status == "definite"
    assert dx.evidence["current"] is False


def test_chronic_migraine_without_attack_history_in_the_diary_is_probable() -> None:
    """ICHD-3 1.3 B may be met before the diary began; the diary alone cannot confirm it."""
    diary = build(JAN1, FOUR, monthly(d1_15=with_meds(tth, TRIPTAN)))
    (dx,) = [d for d in diagnose(diary, JAN1, FOUR) if d.code == "1.3"]
    assert dx.status == "probable"
    assert dx.criteria["B"] is None


def test_as_dict_is_the_classify_shape() -> None:
    (dx,) = [d for d in diagnose(build(JAN1, FOUR, chronic_plan), JAN1, FOUR) if d.code == "1.3"]
    shown = dx.as_dict()
    assert set(shown) == {"code", "label", "status", "evidence"}
    evidence = shown["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["criteria"] == {"A": True, "B": True, "C": True}


@pytest.mark.parametrize(
    ("holds", "status", "months"),
    [
        pytest.param([True] * 3, "probable", 3, id="3-months-probable"),
        pytest.param([True] * 4, "definite", 4, id="4-months-definite"),
        pytest.param([True, True, True, None], "probable", 3, id="open-4th-month"),
        pytest.param([True, True, True, False], None, 0, id="3-months-then-stopped"),
        pytest.param([False, True], "probable", 1, id="1-month-running"),
        pytest.param([True] * 4 + [False] + [True], "definite", 4, id="latest-long-run"),
        pytest.param([None, None], None, 0, id="all-undetermined"),
    ],
)
def test_window_rule(holds: list[bool | None], status: str | None, months: int) -> None:
    """ ">3 months" = 4 whole calendar months; 1-3 running months are probable (diagnosis.py)."""
    keys = [f"m{i}" for i in range(len(holds))]
    run = course(keys, holds, definite_months=4)
    assert run.status == status
    assert len(run.months) == months


def test_bounds() -> None:
    assert Bound(15, 15).at_least(15) is True
    assert Bound(14, 14).at_least(15) is False
    assert Bound(14, 16).at_least(15) is None


def test_complete_months_skip_partial_ends() -> None:
    months = complete_months(dt.date(2024, 1, 10), dt.date(2024, 4, 29))
    assert [first.month for first, _ in months] == [2, 3]


def test_diagnose_rejects_a_reversed_range() -> None:
    with pytest.raises(ValidationError):
        diagnose(Diary(patient=PATIENT), FOUR, JAN1)


def test_every_evidence_dict_is_json_serialisable() -> None:
    plan = monthly(
        d1_8=with_meds(migraine, TRIPTAN),
        d9_12=with_meds(tth, MedClass.NSAID),
        d13_15=tth,
        d20_24=cluster,
        d25_26=lambda d: aura(d, headache=True),
    )
    found = diagnose(build(JAN1, month_end(5), plan), JAN1, month_end(5))
    assert {d.code for d in found} >= {"1.3", "1.2.1.1", "3.5.1", "8.2.6"}
    json.dumps([d.as_dict() for d in found])
