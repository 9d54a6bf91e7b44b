"""The shortcuts a large import takes give exactly the results of the long way (issue 13 item 5).

* `classify_attack` answers from `classify_features`, remembered per decision class (the
  features with the length and age taken down to the threshold below them): every result,
  reasons included, equals the classifier run afresh (`classify_uncached`), also when the class
  was first met on another attack that differs in what does not decide the answer (dates,
  triggers, drug names, the locations that are not orbital or temporal, the exact length ...).
* `in_patient_zone` builds readings and doses directly: equal to the `dataclasses.replace`
  version it replaced (kept below as the reference).
* `day_units`, `outcomes.day_records` and `outcomes.diary_extent` take each attack's times
  and dates on the patient's clock worked out once (`dayunits.attack_dates`, without copying
  the attack onto that clock): equal to working them out on the copy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acuhead.domain.dayunits import VD_AREND_2023, attack_dates, day_units
from acuhead.domain.diary import (
    Attack,
    AuraSymptom,
    AuraType,
    Diary,
    DiaryDay,
    Effect,
    IntensityReading,
    Location,
    MedClass,
    MedicationDose,
    Nausea,
    PatientFacts,
    Quality,
    Side,
)
from acuhead.domain.ichd3 import (
    MINUTE_CLASSES,
    _decide,
    attack_features,
    classify_attack,
    classify_uncached,
    decision_class,
    diary_in_patient_zone,
    in_patient_zone,
    local_datetime,
)
from acuhead.domain.outcomes import day_records, diary_extent

BASE = dt.datetime(2024, 3, 28, 20, 0)  # Europe/Berlin moves its clocks on 2024-03-31
tri = st.none() | st.booleans()
zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])
patients = st.builds(
    PatientFacts,
    birth_date=st.sampled_from([None, dt.date(1980, 6, 1), dt.date(2008, 3, 30)]),
    timezone=zones,
)
moments = st.builds(
    lambda minutes, aware: (BASE + dt.timedelta(minutes=minutes)).replace(
        tzinfo=dt.UTC if aware else None
    ),
    st.integers(0, 6 * 24 * 60),
    st.booleans(),
)
aura_symptoms = st.builds(
    AuraSymptom,
    type=st.sampled_from(AuraType),
    onset=st.none() | st.sampled_from([BASE, BASE + dt.timedelta(minutes=15)]),
    duration_min=st.none() | st.integers(1, 90),
    gradual_spread=tri,
    unilateral=tri,
    positive=tri,
    headache_within_60_min=tri,
)
doses = st.builds(
    MedicationDose,
    name=st.sampled_from(["ibuprofen", "sumatriptan"]),
    med_class=st.sampled_from(MedClass),
    taken_at=st.none() | moments,
    dose=st.none() | st.just("400 mg"),
    effect=st.none() | st.sampled_from(Effect),
)


@st.composite
def attacks(draw: st.DrawFn) -> Attack:
    start = draw(moments)
    end = draw(st.none() | st.integers(0, 4000))
    return Attack(
        start=start,
        end=None if end is None else start + dt.timedelta(minutes=end),
        duration_min=draw(st.none() | st.integers(5, 5000)),
        peak_intensity=draw(st.none() | st.integers(0, 10)),
        readings=tuple(
            IntensityReading(start + dt.timedelta(minutes=m), i)
            for m, i in draw(
                st.lists(st.tuples(st.integers(0, 60), st.integers(0, 10)), max_size=2)
            )
        ),
        side=draw(st.none() | st.sampled_from(Side)),
        quality=tuple(draw(st.lists(st.sampled_from(Quality), unique=True, max_size=2))),
        locations=tuple(draw(st.lists(st.sampled_from(Location), unique=True, max_size=2))),
        aggravated_by_activity=draw(tri),
        nausea=draw(st.none() | st.sampled_from(Nausea)),
        vomiting=draw(tri),
        photophobia=draw(tri),
        phonophobia=draw(tri),
        osmophobia=draw(tri),
        aura=tuple(draw(st.lists(aura_symptoms, max_size=2))),
        cranial_autonomic=draw(st.sampled_from([(), ("lacrimation",)])),
        restlessness=draw(tri),
        triggers=draw(st.sampled_from([(), ("stress",)])),
        medications=tuple(draw(st.lists(doses, max_size=2))),
        treated=draw(tri),
    )


def _unlike_in_what_does_not_decide(attack: Attack) -> Attack:
    """The same attack in all that decides its class, different in the rest."""
    others = [x for x in attack.locations if x not in (Location.ORBITAL, Location.TEMPORAL)]
    decisive = [x for x in attack.locations if x in (Location.ORBITAL, Location.TEMPORAL)]
    if others:
        others = [Location.NECK if others[0] is not Location.NECK else Location.VERTEX]
    return dataclasses.replace(
        attack,
        locations=tuple(decisive[:1] + others) if decisive or others else (),
        osmophobia=not attack.osmophobia,
        triggers=(*attack.triggers, "weather"),
        warning_signs=("fever",),
        medications=tuple(
            dataclasses.replace(m, name=m.name + " forte", dose="1 tablet")
            for m in attack.medications
        ),
    )


@settings(deadline=None, max_examples=150)
@given(attacks(), patients)
def test_a_remembered_result_is_the_result_computed_afresh(
    attack: Attack, patient: PatientFacts
) -> None:
    features = attack_features(attack, patient)
    if features.minutes is not None and features.minutes < 0:
        return  # refused (ValidationError) either way, never remembered
    fresh = classify_uncached(features)
    assert classify_attack(attack, patient) == fresh
    assert classify_attack(attack, patient) == fresh  # the second answer is the remembered one
    twin = _unlike_in_what_does_not_decide(attack)
    assert attack_features(twin, patient) == features
    assert classify_attack(twin, patient) == classify_uncached(attack_features(twin, patient))


def test_the_answer_is_shared_within_a_decision_class() -> None:
    """Attacks of one decision class (here 5 h and 5 h 01 min, both past 1.1 B's 4 h) are
    answered once; each result still gives its own reasons (its own length)."""
    patient = PatientFacts(birth_date=None, timezone="Europe/Berlin")
    a = Attack(start=BASE, duration_min=300, peak_intensity=7, side=Side.LEFT)
    b = dataclasses.replace(a, start=BASE + dt.timedelta(days=3), duration_min=301)
    _decide.cache_clear()
    first = classify_attack(a, patient)
    second = classify_attack(b, patient)
    assert _decide.cache_info().hits == 1
    assert _decide.cache_info().misses == 1
    assert second.criteria is first.criteria  # the shared answer
    assert "lasted 5 h 00 min" in " ".join(first.reasons)
    assert "lasted 5 h 01 min" in " ".join(second.reasons)
    assert first == classify_uncached(attack_features(a, patient))
    assert second == classify_uncached(attack_features(b, patient))
    assert first != second  # the reasons differ


@pytest.mark.parametrize("threshold", MINUTE_CLASSES)
def test_decision_classes_start_at_the_thresholds(threshold: int) -> None:
    """A minute either side of each class boundary: the representative keeps the length's
    answer (the class boundaries are the criteria's thresholds, `ichd3.MINUTE_CLASSES`)."""
    births = (None, dt.date(2000, 1, 1), dt.date(2010, 1, 1))  # unknown, adult, under 18
    for birth, minutes in itertools.product(births, (threshold - 1, threshold, threshold + 1)):
        if minutes < 0:
            continue
        patient = PatientFacts(birth_date=birth, timezone="UTC")
        attack = Attack(start=BASE, duration_min=minutes, peak_intensity=5, side=Side.BOTH)
        features = attack_features(attack, patient)
        representative = decision_class(features)
        assert representative is not None
        assert representative.minutes is not None and representative.minutes <= minutes
        want = classify_uncached(features)
        got = classify_uncached(representative)
        assert (got.code, got.criteria, got.missing, got.checks, got.features) == (
            want.code,
            want.criteria,
            want.missing,
            want.checks,
            want.features,
        )


def test_features_that_decide_are_not_shared() -> None:
    """Same except for the age on the start date (ICHD-3 1.1 note 3: 2-72 h under 18)."""
    patient = PatientFacts(birth_date=dt.date(2006, 3, 30), timezone="UTC")
    young = Attack(start=dt.datetime(2024, 3, 29, 8), duration_min=150, peak_intensity=7)
    adult = dataclasses.replace(young, start=dt.datetime(2024, 3, 30, 8))
    assert classify_attack(young, patient).criteria["B"] is True
    assert classify_attack(adult, patient).criteria["B"] is not True


def _in_patient_zone_reference(attack: Attack, patient: PatientFacts) -> Attack:
    """`in_patient_zone` as it was before the direct construction (issue 13 item 5)."""

    def local(moment: dt.datetime | None) -> dt.datetime | None:
        return None if moment is None else local_datetime(moment, patient)

    return dataclasses.replace(
        attack,
        start=local_datetime(attack.start, patient),
        end=local(attack.end),
        readings=tuple(
            dataclasses.replace(r, at=local_datetime(r.at, patient)) for r in attack.readings
        ),
        aura=tuple(dataclasses.replace(s, onset=local(s.onset)) for s in attack.aura),
        medications=tuple(
            dataclasses.replace(m, taken_at=local(m.taken_at)) for m in attack.medications
        ),
    )


@settings(deadline=None, max_examples=100)
@given(attacks(), patients)
def test_in_patient_zone_equals_the_reference(attack: Attack, patient: PatientFacts) -> None:
    got = in_patient_zone(attack, patient)
    want = _in_patient_zone_reference(attack, patient)
    assert got == want
    # Same clock objects too (equality of aware datetimes ignores the zone).
    assert [x.tzinfo for x in (got.start, *(r.at for r in got.readings))] == [
        x.tzinfo for x in (want.start, *(r.at for r in want.readings))
    ]


@settings(deadline=None, max_examples=150)
@given(
    st.lists(attacks(), max_size=6),
    patients,
    st.lists(st.integers(0, 8), max_size=3, unique=True),
    tri,
)
def test_dates_worked_out_once_give_the_same_days(
    found: list[Attack], patient: PatientFacts, day_offsets: list[int], has_migraine: bool | None
) -> None:
    days = tuple(
        DiaryDay(date=BASE.date() + dt.timedelta(days=d), headache=True) for d in day_offsets
    )
    diary = Diary(patient=patient, days=days, attacks=tuple(found))
    placed = diary_in_patient_zone(diary)
    dates = [attack_dates(a, patient) for a in diary.attacks]
    # Worked out from the attack as written or from its copy on the patient's clock: the same.
    assert dates == [attack_dates(a, patient) for a in placed.attacks]
    for found_on_clock, where in zip(placed.attacks, dates, strict=True):
        assert where.days == found_on_clock.local_dates()
        assert (where.start, where.end) == (found_on_clock.start, found_on_clock.effective_end)
        assert where.minutes == found_on_clock.minutes
    extent = diary_extent(diary)
    assert diary_extent(diary, dates) == extent
    if extent is None:
        return
    start, end = extent[0] + dt.timedelta(days=1), extent[1]  # a window, not only the whole
    if end < start:
        start = end
    want = day_units(diary, start, end, VD_AREND_2023, has_migraine=has_migraine)
    for given_diary in (diary, placed):
        assert day_units(given_diary, start, end, has_migraine=has_migraine, dates=dates) == want
    recorded = [BASE] * len(found)
    want_records = day_records(
        placed, start, end, has_migraine=has_migraine, attack_recorded_utc=recorded
    )
    assert (
        day_records(
            diary, start, end, has_migraine=has_migraine, attack_recorded_utc=recorded, dates=dates
        )
        == want_records
    )
