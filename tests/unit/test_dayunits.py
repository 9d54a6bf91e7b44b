"""Diary-day units under the configurable policies (CLINICAL.md 1.x).

Each table case is one calendar day with one entry, checked under one policy, with the rule it
exercises named in ``source``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from acuhead.domain.classify import classify_diary
from acuhead.domain.dayunits import (
    ICHD3_4H,
    ICHD3_CHRONIC_MIGRAINE,
    VD_AREND_2023,
    DayUnitsPolicy,
    day_units,
    policy_by_name,
)
from acuhead.domain.diary import (
    Attack,
    AuraSymptom,
    AuraType,
    Diary,
    DiaryDay,
    Effect,
    MedClass,
    MedicationDose,
    Nausea,
    PatientFacts,
    Quality,
    Side,
)
from acuhead.errors import ValidationError

DAY = dt.date(2024, 3, 1)
START = dt.datetime(2024, 3, 1, 8, 0)
PATIENT = PatientFacts(birth_date=dt.date(1980, 1, 1))


def after(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def migraine(minutes: int = 360, **changes: Any) -> Attack:
    base: dict[str, Any] = {
        "start": START,
        "end": after(minutes),
        "side": Side.LEFT,
        "quality": (Quality.PULSATING,),
        "peak_intensity": 7,
        "aggravated_by_activity": True,
        "nausea": Nausea.MODERATE,
        "vomiting": False,
        "photophobia": True,
        "phonophobia": True,
    }
    return Attack(**{**base, **changes})


def tth(minutes: int = 360, **changes: Any) -> Attack:
    base: dict[str, Any] = {
        "start": START,
        "end": after(minutes),
        "side": Side.BOTH,
        "quality": (Quality.PRESSING,),
        "peak_intensity": 3,
        "aggravated_by_activity": False,
        "nausea": Nausea.NONE,
        "vomiting": False,
        "photophobia": False,
        "phonophobia": False,
    }
    return Attack(**{**base, **changes})


def dose(med_class: MedClass, effect: Effect | None = Effect.GOOD) -> tuple[MedicationDose]:
    return (MedicationDose(name=med_class.value, med_class=med_class, effect=effect),)


VISUAL_AURA = AuraSymptom(
    type=AuraType.VISUAL,
    duration_min=20,
    gradual_spread=True,
    unilateral=True,
    positive=True,
    headache_within_60_min=False,
)
AURA_ONLY = Attack(start=START, end=after(20), peak_intensity=0, aura=(VISUAL_AURA,))
NO_TRIPTAN_RULE = replace(VD_AREND_2023, name="no-triptan", count_triptan_days=False)
NO_AURA_RULE = replace(VD_AREND_2023, name="no-aura", count_aura_only_days=False)
NO_PROBABLE = replace(VD_AREND_2023, name="no-probable", count_probable=False)


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    expect: dict[str, bool | None]
    attacks: tuple[Attack, ...] = ()
    days: tuple[DiaryDay, ...] = ()
    policy: DayUnitsPolicy = VD_AREND_2023
    uncertain: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    has_migraine: bool | None = None


CASES = [
    Case(
        "migraine-features-29min",
        "van der Arend 2023 rule 1 (>=30 min)",
        {"migraine_day": False, "headache_day": False, "recorded": True},
        (migraine(29),),
    ),
    Case(
        "migraine-features-30min",
        "van der Arend 2023 rule 1 (>=30 min)",
        {"migraine_day": True, "headache_day": True},
        (migraine(30),),
    ),
    Case(
        "4h-policy-3h59",
        "ICHD-3 1.1 B as migraine-day minimum",
        {"migraine_day": False, "headache_day": True},
        (migraine(239),),
        policy=ICHD3_4H,
    ),
    Case(
        "4h-policy-4h00",
        "ICHD-3 1.1 B as migraine-day minimum",
        {"migraine_day": True},
        (migraine(240),),
        policy=ICHD3_4H,
    ),
    Case(
        "triptan-short-headache",
        "van der Arend 2023 rule 3 (triptan whatever its effect)",
        {
            "migraine_day": True,
            "triptan_day": True,
            "migraine_specific_medication_day": True,
            "acute_medication_day": True,
        },
        (tth(20, medications=dose(MedClass.TRIPTAN, Effect.NONE)),),
    ),
    Case(
        "triptan-rule-off",
        "DayUnitsPolicy.count_triptan_days",
        {"migraine_day": False, "triptan_day": True},
        (tth(20, medications=dose(MedClass.TRIPTAN)),),
        policy=NO_TRIPTAN_RULE,
    ),
    Case(
        "gepant-is-migraine-specific-not-triptan",
        "van der Arend 2023 rule 3 (by extension gepant/ditan)",
        {"migraine_day": True, "triptan_day": False, "migraine_specific_medication_day": True},
        (tth(20, medications=dose(MedClass.GEPANT)),),
    ),
    Case(
        "ergot-is-migraine-specific",
        "van der Arend 2023 rule 3",
        {"migraine_day": True, "triptan_day": False, "migraine_specific_medication_day": True},
        (tth(20, medications=dose(MedClass.ERGOT)),),
    ),
    Case(
        "paracetamol-is-acute-not-specific",
        "CLINICAL.md 1.x acute medication day",
        {
            "migraine_day": False,
            "acute_medication_day": True,
            "migraine_specific_medication_day": False,
        },
        (tth(medications=dose(MedClass.PARACETAMOL)),),
    ),
    Case(
        "aura-only-counts",
        "van der Arend 2023 rule 2 (aura 5-60 min)",
        {"migraine_day": True, "headache_day": False},
        (AURA_ONLY,),
    ),
    Case(
        "aura-only-rule-off",
        "DayUnitsPolicy.count_aura_only_days / ICHD-3 1.3 C2",
        {"migraine_day": False},
        (AURA_ONLY,),
        policy=NO_AURA_RULE,
    ),
    Case(
        "aura-3-min-is-not-typical-5-60",
        "ICHD-3 1.2 C3 (5-60 min); vdArend2023 rule 2; issue 12 item 7",
        {"migraine_day": False},
        (replace(AURA_ONLY, aura=(replace(VISUAL_AURA, duration_min=3),)),),
        uncertain=False,
    ),
    Case(
        "negative-aura-90-min-is-not-typical",
        "ICHD-3 1.2 C3 (5-60 min): a 90-min aura is flagged for TIA review, not counted",
        {"migraine_day": False},
        (
            replace(
                AURA_ONLY,
                end=after(90),
                aura=(replace(VISUAL_AURA, duration_min=90, positive=False),),
            ),
        ),
        uncertain=False,
    ),
    Case(
        "aura-60-min-counts",
        "ICHD-3 1.2 C3 upper bound (60 min)",
        {"migraine_day": True},
        (replace(AURA_ONLY, aura=(replace(VISUAL_AURA, duration_min=60),)),),
    ),
    Case(
        "aura-5-min-sensory-counts",
        "ICHD-3 1.2 C3 lower bound (5 min); 1.2.1 typical aura includes sensory",
        {"migraine_day": True},
        (replace(AURA_ONLY, aura=(replace(VISUAL_AURA, type=AuraType.SENSORY, duration_min=5),)),),
    ),
    Case(
        "motor-aura-is-not-typical",
        "ICHD-3 1.2.1 B (typical aura: no motor, brainstem or retinal symptoms)",
        {"migraine_day": False},
        (replace(AURA_ONLY, aura=(replace(VISUAL_AURA, type=AuraType.MOTOR),)),),
    ),
    Case(
        "one-symptom-over-60-min-spoils-the-aura",
        "ICHD-3 1.2 C3 (each symptom 5-60 min)",
        {"migraine_day": False},
        (
            replace(
                AURA_ONLY,
                aura=(VISUAL_AURA, replace(VISUAL_AURA, type=AuraType.SENSORY, duration_min=75)),
            ),
        ),
    ),
    Case(
        "aura-length-unknown-is-uncertain",
        "ICHD-3 1.2 C3 cannot be judged without the length",
        {"migraine_day": None},
        (replace(AURA_ONLY, aura=(replace(VISUAL_AURA, duration_min=None),)),),
        uncertain=True,
    ),
    Case(
        "probable-migraine-counts-in-a-migraine-patient",
        "ICHD-3 1.5 counting rule (CLINICAL.md 1.0): patient with migraine",
        {"migraine_day": True},
        (migraine(nausea=Nausea.NONE, phonophobia=False),),
        has_migraine=True,
    ),
    Case(
        "probable-migraine-is-no-migraine-day-without-a-diagnosis",
        "ICHD-3 1.5 counting rule (CLINICAL.md 1.0): only in a patient who has migraine",
        {"migraine_day": False, "headache_day": True},
        (migraine(nausea=Nausea.NONE, phonophobia=False),),
        has_migraine=False,
        uncertain=False,
    ),
    Case(
        "probable-migraine-diary-decides-without-a-diagnosis",
        "ICHD-3 1.5 counting rule: one attack is no migraine diagnosis (1.1 A needs 5)",
        {"migraine_day": False},
        (migraine(nausea=Nausea.NONE, phonophobia=False),),
    ),
    Case(
        "probable-rule-off",
        "DayUnitsPolicy.count_probable",
        {"migraine_day": False, "headache_day": True},
        (migraine(nausea=Nausea.NONE, phonophobia=False),),
        policy=NO_PROBABLE,
        has_migraine=True,
    ),
    Case(
        "tension-type-headache-day",
        "CLINICAL.md 1.x headache day",
        {"migraine_day": False, "headache_day": True, "moderate_severe_day": False},
        (tth(),),
    ),
    Case(
        "treated-20min-headache-day",
        "CLINICAL.md 1.x headache day (any treated headache) [R]",
        {"headache_day": True},
        (tth(20, medications=dose(MedClass.NSAID)),),
    ),
    Case(
        "untreated-20min-not-headache-day",
        "CLINICAL.md 1.x headache day (>=30 min) [R]",
        {"headache_day": False, "recorded": True},
        (tth(20),),
    ),
    Case(
        "peak-3-mild",
        "CLINICAL.md 1.x moderate/severe day; NRS 4 cut-off [R]",
        {"moderate_severe_day": False},
        (tth(peak_intensity=3),),
    ),
    Case(
        "peak-4-moderate",
        "CLINICAL.md 1.x moderate/severe day; NRS 4 cut-off [R]",
        {"moderate_severe_day": True},
        (tth(peak_intensity=4),),
    ),
    Case(
        "ichd-triptan-without-relief",
        "ICHD-3 1.3 C3 (relieved by a triptan or ergot)",
        {"migraine_day": False},
        (tth(20, medications=dose(MedClass.TRIPTAN, Effect.NONE)),),
        policy=ICHD3_CHRONIC_MIGRAINE,
        uncertain=False,
    ),
    Case(
        "ichd-triptan-relieved",
        "ICHD-3 1.3 C3",
        {"migraine_day": True},
        (tth(20, medications=dose(MedClass.TRIPTAN, Effect.PARTIAL)),),
        policy=ICHD3_CHRONIC_MIGRAINE,
    ),
    Case(
        "ichd-triptan-effect-unrecorded",
        "ICHD-3 1.3 C3",
        {"migraine_day": None},
        (tth(20, medications=dose(MedClass.TRIPTAN, None)),),
        policy=ICHD3_CHRONIC_MIGRAINE,
        uncertain=True,
    ),
    Case(
        "ichd-gepant-not-in-1.3-c3",
        "ICHD-3 1.3 C3 (triptan or ergot only)",
        {"migraine_day": False, "migraine_specific_medication_day": True},
        (tth(20, medications=dose(MedClass.GEPANT)),),
        policy=ICHD3_CHRONIC_MIGRAINE,
    ),
    Case(
        "headache-marked-without-attack",
        "CLINICAL.md 0.4 / DESIGN.md diary day",
        {"recorded": True, "headache_day": True, "migraine_day": None},
        days=(DiaryDay(date=DAY, headache=True),),
        uncertain=True,
    ),
    Case(
        "unknown-duration-is-uncertain-not-assumed",
        "issue 12 item 8: vdArend2023 rule 1 needs >=30 min; an unknown length is not assumed",
        {"migraine_day": None, "headache_day": True},
        (migraine(end=None),),
        uncertain=True,
    ),
    Case(
        "unrecorded-features-are-uncertain",
        "issue 12 item 8: ICHD-3 1.1 D unknown (nausea, photophobia, phonophobia not recorded)",
        {"migraine_day": None, "headache_day": True},
        (migraine(nausea=None, vomiting=None, photophobia=None, phonophobia=None),),
        uncertain=True,
    ),
    Case(
        "unknown-duration-with-a-triptan-is-known",
        "van der Arend 2023 rule 3: the triptan decides whatever the length",
        {"migraine_day": True},
        (migraine(end=None, medications=dose(MedClass.TRIPTAN)),),
        uncertain=False,
    ),
    Case(
        "recorded-headache-free",
        "DESIGN.md diary day (explicit headache-free entry)",
        {"recorded": True, "headache_day": False, "migraine_day": False},
        days=(DiaryDay(date=DAY, headache=False),),
        uncertain=False,
    ),
    Case(
        "no-entry-is-missing",
        "CLINICAL.md 0.4 (missing, not headache-free)",
        {"recorded": False, "headache_day": False},
        days=(DiaryDay(date=DAY + dt.timedelta(days=1), headache=False),),
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_day_units(case: Case) -> None:
    diary = Diary(patient=PATIENT, days=case.days, attacks=case.attacks)
    (unit,) = day_units(diary, DAY, DAY, case.policy, has_migraine=case.has_migraine)
    shown = unit.as_dict()
    for key, expected in case.expect.items():
        assert shown[key] is expected, f"{key}: {case.source}"
    if case.uncertain is not None:
        assert unit.migraine_day_uncertain is case.uncertain
        # An uncertain day says why (issue 12 item 8); a known one gives no reason.
        assert bool(shown["migraine_day_uncertain_reason"]) is case.uncertain


def _on(day: int, attack: Attack) -> Attack:
    shift = dt.timedelta(days=day)
    return replace(attack, start=attack.start + shift, end=(attack.end or START) + shift)


def test_probable_migraine_counts_once_the_diary_holds_a_migraine_diagnosis() -> None:
    """ICHD-3 1.5 counting rule: with 5 attacks meeting 1.1 (1.1 A) earlier in the diary the
    patient has migraine, and a probable-migraine attack is a migraine day; with 4 it is not."""
    probable = _on(10, migraine(nausea=Nausea.NONE, phonophobia=False))
    day = DAY + dt.timedelta(days=10)
    for earlier, expected in ((5, True), (4, False)):
        attacks = (*(_on(k, migraine()) for k in range(earlier)), probable)
        diary = Diary(patient=PATIENT, attacks=attacks)
        (unit,) = day_units(diary, day, day)
        assert unit.migraine_day is expected, earlier


def test_attack_over_midnight_counts_on_both_days() -> None:
    """DESIGN.md glossary: an attack over midnight counts on each day it touches."""
    late = dt.datetime(2024, 3, 1, 22, 0)
    attack = migraine(start=late, end=late + dt.timedelta(hours=5))
    units = day_units(Diary(patient=PATIENT, attacks=(attack,)), DAY, DAY + dt.timedelta(days=2))
    assert [u.migraine_day for u in units] == [True, True, False]
    assert [u.headache_day for u in units] == [True, True, False]
    assert [u.recorded for u in units] == [True, True, False]


def test_attack_ending_at_midnight_stays_on_its_day() -> None:
    late = dt.datetime(2024, 3, 1, 19, 0)
    attack = migraine(start=late, end=dt.datetime(2024, 3, 2, 0, 0))
    units = day_units(Diary(patient=PATIENT, attacks=(attack,)), DAY, DAY + dt.timedelta(days=1))
    assert [u.headache_day for u in units] == [True, False]


def test_dose_counts_on_the_day_it_was_taken() -> None:
    late = dt.datetime(2024, 3, 1, 22, 0)
    taken = MedicationDose(
        name="sumatriptan",
        med_class=MedClass.TRIPTAN,
        taken_at=dt.datetime(2024, 3, 2, 1, 0),
        effect=Effect.GOOD,
    )
    attack = tth(start=late, end=late + dt.timedelta(hours=4), medications=(taken,))
    first, second = day_units(Diary(patient=PATIENT, attacks=(attack,)), DAY, DAY + dt.timedelta(1))
    assert not first.triptan_day and second.triptan_day
    assert second.medication_classes == frozenset({MedClass.TRIPTAN})


def test_days_are_the_patients_local_dates() -> None:
    """DESIGN.md: times in UTC, diary days are local dates. 23:30 UTC is 00:30 in Amsterdam."""
    patient = PatientFacts(birth_date=dt.date(1980, 1, 1), timezone="Europe/Amsterdam")
    at = dt.datetime(2024, 3, 1, 23, 30, tzinfo=dt.UTC)
    attack = migraine(start=at, end=at + dt.timedelta(hours=5))
    first, second = day_units(Diary(patient=patient, attacks=(attack,)), DAY, DAY + dt.timedelta(1))
    assert not first.recorded
    assert second.migraine_day


def test_unknown_time_zone_is_a_validation_error() -> None:
    patient = PatientFacts(birth_date=None, timezone="Mars/Olympus")
    at = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        day_units(Diary(patient=patient, attacks=(migraine(start=at, end=None),)), DAY, DAY)


def test_end_before_start_is_rejected() -> None:
    with pytest.raises(ValidationError):
        day_units(Diary(patient=PATIENT), DAY, DAY - dt.timedelta(days=1))


def test_policies_are_named() -> None:
    assert VD_AREND_2023.name == "vdArend2023"
    assert VD_AREND_2023.min_duration_minutes == 30
    assert policy_by_name("vdArend2023") is VD_AREND_2023
    with pytest.raises(ValidationError):
        policy_by_name("nope")


def test_classify_diary_output_shape() -> None:
    """`acuhead classify`: exact keys, JSON-serialisable, missing days marked."""
    diary = Diary(
        patient=PATIENT,
        attacks=(migraine(), tth(start=dt.datetime(2024, 3, 3, 9, 0), end=None)),
        days=(DiaryDay(date=DAY, headache=True),),
    )
    out = classify_diary(diary)
    json.dumps(out)
    assert set(out) == {"attacks", "diagnoses", "days"}
    attacks = out["attacks"]
    assert isinstance(attacks, list)
    assert set(attacks[0]) == {"index", "code", "label", "criteria", "reasons", "missing"}
    assert [a["index"] for a in attacks] == [0, 1]
    days = out["days"]
    assert isinstance(days, list)
    assert set(days[0]) == {
        "date",
        "recorded",
        "migraine_day",
        "migraine_day_uncertain_reason",
        "headache_day",
        "moderate_severe_day",
        "acute_medication_day",
        "migraine_specific_medication_day",
        "triptan_day",
    }
    assert [(d["date"], d["recorded"]) for d in days] == [
        ("2024-03-01", True),
        ("2024-03-02", False),
        ("2024-03-03", True),
    ]
    for diagnosis in out["diagnoses"]:  # type: ignore[attr-defined]
        assert set(diagnosis) == {"code", "label", "status", "evidence"}


def test_uncertain_days_name_what_is_missing() -> None:
    """Issue 12 item 8: the read-out gives null with the reason instead of false."""
    diary = Diary(
        patient=PATIENT,
        attacks=(migraine(end=None),),
        days=(DiaryDay(date=DAY + dt.timedelta(days=1), headache=True),),
    )
    first, second = (u.as_dict() for u in day_units(diary, DAY, DAY + dt.timedelta(days=1)))
    assert first["migraine_day"] is None
    assert first["migraine_day_uncertain_reason"] == "attack duration not recorded"
    assert second["migraine_day"] is None
    assert second["migraine_day_uncertain_reason"] == "headache marked without attack details"


def test_classify_diary_runs_to_today() -> None:
    diary = Diary(patient=PATIENT, attacks=(migraine(),))
    out = classify_diary(diary, today=DAY + dt.timedelta(days=3))
    days = out["days"]
    assert isinstance(days, list)
    assert len(days) == 4
    assert [d["recorded"] for d in days] == [True, False, False, False]


def test_classify_empty_diary() -> None:
    assert classify_diary(Diary(patient=PATIENT)) == {"attacks": [], "diagnoses": [], "days": []}


def test_classify_diary_locates_bad_attacks() -> None:
    diary = Diary(patient=PATIENT, attacks=(migraine(), migraine(minutes=-10)))
    with pytest.raises(ValidationError) as info:
        classify_diary(diary)
    assert info.value.errors[0].path == "attacks[1].end"
