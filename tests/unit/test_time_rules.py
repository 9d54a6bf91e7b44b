"""Time rules (issue 12 item 5; docs/clinical-rules.md).

Instants are aware datetimes, every duration is elapsed (absolute, UTC) time, and days are the
patient's local dates. Python subtracts two datetimes that share one tzinfo by their wall clocks,
so a duration across a daylight-saving change was an hour off and flipped ICHD-3 1.1 B against
1.5.1, the 2.x B range and headache hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acuhead.domain.dayunits import VD_AREND_2023, day_units
from acuhead.domain.diary import (
    Attack,
    Diary,
    MedClass,
    MedicationDose,
    Nausea,
    PatientFacts,
    Quality,
    Side,
)
from acuhead.domain.ichd3 import classify_attack, diary_in_patient_zone, in_patient_zone
from acuhead.domain.outcomes import day_records

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


def plus(hours: int, minutes: int = 0) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=hours, minutes=minutes))


def patient(zone: str) -> PatientFacts:
    return PatientFacts(birth_date=dt.date(1980, 1, 1), timezone=zone)


def migraine_features(start: dt.datetime, end: dt.datetime | None, **changes: object) -> Attack:
    """An attack with every 1.1 C and D feature: only its length decides 1.1 B."""
    attack = Attack(
        start=start,
        end=end,
        side=Side.LEFT,
        quality=(Quality.PULSATING,),
        peak_intensity=7,
        aggravated_by_activity=True,
        nausea=Nausea.MODERATE,
        vomiting=False,
        photophobia=True,
        phonophobia=True,
    )
    return replace(attack, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    id: str
    start: dt.datetime
    end: dt.datetime
    zone: str
    minutes: int
    code: str
    source: str


CASES = [
    Case(
        "berlin-spring-offsets",
        dt.datetime(2026, 3, 29, 0, 0, tzinfo=plus(1)),
        dt.datetime(2026, 3, 29, 4, 30, tzinfo=plus(2)),
        "Europe/Berlin",
        210,
        "1.5.1",
        "issue 12 item 5: 3 h 30 min elapsed, under ICHD-3 1.1 B's 4 h: probable (1.5.1)",
    ),
    Case(
        "berlin-spring-zone",
        dt.datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN),
        dt.datetime(2026, 3, 29, 4, 30, tzinfo=BERLIN),
        "Europe/Berlin",
        210,
        "1.5.1",
        "same instants written in the zone itself: the shared tzinfo must not give 4 h 30",
    ),
    Case(
        "berlin-spring-naive-local",
        dt.datetime(2026, 3, 29, 0, 0),
        dt.datetime(2026, 3, 29, 4, 30),
        "Europe/Berlin",
        210,
        "1.5.1",
        "naive times are the patient's wall clock: placed in Europe/Berlin first",
    ),
    Case(
        "berlin-autumn-zone",
        dt.datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN),
        dt.datetime(2026, 10, 25, 3, 30, tzinfo=BERLIN),
        "Europe/Berlin",
        270,
        "1.1",
        "autumn: 00:00+02:00 to 03:30+01:00 is 4 h 30 min, meets ICHD-3 1.1 B (wall clock: 3 h 30)",
    ),
    Case(
        "new-york-autumn-repeated-hour",
        dt.datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK),
        dt.datetime(2026, 11, 1, 1, 20, fold=1, tzinfo=NEW_YORK),
        "America/New_York",
        50,
        "unclassifiable",
        "the second 01:20 (fold=1, PEP 495) is 50 min after the first 01:30, not before it",
    ),
    Case(
        "utc-patient-berlin-attack",
        dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 2, 30, tzinfo=UTC),
        "Europe/Berlin",
        210,
        "1.5.1",
        "the same attack written in UTC",
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_durations_are_elapsed_time(case: Case) -> None:
    facts = patient(case.zone)
    attack = migraine_features(case.start, case.end)
    assert in_patient_zone(attack, facts).minutes == case.minutes, case.source
    result = classify_attack(attack, facts)
    if case.code != "unclassifiable":
        assert result.code == case.code, case.source


def test_berlin_spring_change_lasts_three_and_a_half_hours() -> None:
    """Issue 12 item 5, as written in the issue."""
    attack = migraine_features(
        dt.datetime.fromisoformat("2026-03-29T00:00+01:00"),
        dt.datetime.fromisoformat("2026-03-29T04:30+02:00"),
    )
    assert attack.minutes == 210
    result = classify_attack(attack, patient("Europe/Berlin"))
    assert result.criteria["B"] is False  # ICHD-3 1.1 B: 4-72 h
    assert result.code == "1.5.1"


def test_duration_only_attack_ends_in_elapsed_time() -> None:
    """A start and a recorded length: the end is the start plus elapsed minutes, so a 4 h 30 min
    attack from local midnight on the spring change ends at 05:30 local (03:30 UTC)."""
    start = dt.datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    attack = Attack(start=start, duration_min=270)
    end = attack.effective_end
    assert end is not None
    assert end.astimezone(UTC) == dt.datetime(2026, 3, 29, 3, 30, tzinfo=UTC)
    assert end.replace(tzinfo=None) == dt.datetime(2026, 3, 29, 5, 30)


def test_headache_minutes_are_elapsed_on_change_days() -> None:
    """Headache hours: a whole local day of headache on the spring change day is 23 h, on the
    autumn change day 25 h (the local day's own length)."""
    facts = patient("Europe/Berlin")
    for day, hours in ((dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25)):
        start = dt.datetime.combine(day, dt.time(), tzinfo=BERLIN)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=BERLIN)
        diary = Diary(patient=facts, attacks=(migraine_features(start, end),))
        (record,) = day_records(diary, day, day)
        assert record.headache_minutes == hours * 60


def test_days_are_local_dates_in_the_patients_zone() -> None:
    """22:30 UTC on 28 March is 23:30 in Berlin (winter time) and 00:30 on 29 March after a
    2-hour attack: both Berlin dates count, neither UTC date after the 29th."""
    facts = patient("Europe/Berlin")
    attack = migraine_features(
        dt.datetime(2026, 3, 28, 22, 30, tzinfo=UTC), dt.datetime(2026, 3, 29, 4, 30, tzinfo=UTC)
    )
    assert in_patient_zone(attack, facts).local_dates() == [
        dt.date(2026, 3, 28),
        dt.date(2026, 3, 29),
    ]


# --- property: the zone an attack is written in changes nothing ---------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
# Instants near the spring and autumn changes of Europe/Berlin and America/New_York (UTC).
CHANGES = [
    dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Berlin spring
    dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Berlin autumn
    dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # New York spring
    dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York autumn
]

instants = st.sampled_from(CHANGES).flatmap(
    lambda change: st.integers(-12 * 60, 12 * 60).map(lambda m: change + dt.timedelta(minutes=m))
) | st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(UTC)
)


@st.composite
def written_attacks(draw: st.DrawFn) -> tuple[Attack, Attack, str]:
    """One attack written in UTC and the same attack written in another zone."""
    start = draw(instants).replace(second=0, microsecond=0)
    length = draw(st.integers(1, 80 * 60))
    end = start + dt.timedelta(minutes=length)
    with_dose = draw(st.booleans())
    side = draw(st.none() | st.sampled_from(Side))
    peak = draw(st.none() | st.integers(1, 10))
    nausea = draw(st.none() | st.sampled_from(Nausea))
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))

    def written(tz: dt.tzinfo) -> Attack:
        doses = (
            (MedicationDose("drug", MedClass.TRIPTAN, taken_at=start.astimezone(tz)),)
            if with_dose
            else ()
        )
        return migraine_features(
            start.astimezone(tz),
            end.astimezone(tz),
            side=side,
            peak_intensity=peak,
            nausea=nausea,
            medications=doses,
        )

    return written(UTC), written(zone), draw(st.sampled_from(ZONES))


@settings(deadline=None, max_examples=300)
@given(written_attacks())
def test_the_zone_an_attack_is_written_in_changes_nothing(
    case: tuple[Attack, Attack, str],
) -> None:
    in_utc, in_zone, patient_zone = case
    facts = patient(patient_zone)
    assert in_utc.minutes == in_zone.minutes
    assert in_patient_zone(in_utc, facts).minutes == in_patient_zone(in_zone, facts).minutes
    assert in_utc.minutes == int((in_utc.end - in_utc.start).total_seconds() // 60)  # type: ignore[operator]
    a, b = classify_attack(in_utc, facts), classify_attack(in_zone, facts)
    assert (a.code, a.status, a.criteria, a.missing) == (b.code, b.status, b.criteria, b.missing)
    days = in_patient_zone(in_utc, facts).local_dates()
    assert days == in_patient_zone(in_zone, facts).local_dates()
    first, last = days[0], days[-1]
    units_a = day_units(Diary(facts, attacks=(in_utc,)), first, last, VD_AREND_2023)
    units_b = day_units(Diary(facts, attacks=(in_zone,)), first, last, VD_AREND_2023)
    assert units_a == units_b
    rec_a = day_records(Diary(facts, attacks=(in_utc,)), first, last)
    rec_b = day_records(Diary(facts, attacks=(in_zone,)), first, last)
    assert rec_a == rec_b
    assert sum(r.headache_minutes for r in rec_a) == in_utc.minutes


@settings(deadline=None, max_examples=200)
@given(written_attacks())
def test_naive_local_times_mean_the_same_instants(case: tuple[Attack, Attack, str]) -> None:
    """The store and the document parser hand the engine naive local times (with ``fold`` for a
    repeated hour): the same attack as the patient's naive wall clock has the same duration."""
    in_utc, _in_zone, patient_zone = case
    facts = patient(patient_zone)
    zone = ZoneInfo(patient_zone)
    assert in_utc.end is not None
    naive = replace(
        in_utc,
        start=in_utc.start.astimezone(zone).replace(tzinfo=None),
        end=in_utc.end.astimezone(zone).replace(tzinfo=None),
        medications=tuple(
            replace(m, taken_at=m.taken_at.astimezone(zone).replace(tzinfo=None))
            for m in in_utc.medications
            if m.taken_at is not None
        ),
    )
    assert in_patient_zone(naive, facts).minutes == in_utc.minutes
    a, b = classify_attack(in_utc, facts), classify_attack(naive, facts)
    assert (a.code, a.criteria) == (b.code, b.criteria)


@settings(deadline=None, max_examples=200)
@given(written_attacks())
def test_a_diary_placed_on_the_patients_clock_once_gives_the_same_results(
    case: tuple[Attack, Attack, str],
) -> None:
    """Issue 13 item 5: an import places its diary on the patient's clock once
    (`diary_in_patient_zone`) instead of in every step; every result stays the same, and an
    attack already on that clock is not copied again."""
    in_utc, in_zone, patient_zone = case
    facts = patient(patient_zone)
    zone = ZoneInfo(patient_zone)
    naive = replace(in_utc, start=in_utc.start.astimezone(zone).replace(tzinfo=None), end=None)
    diary = Diary(facts, attacks=(in_utc, in_zone, naive))
    placed = diary_in_patient_zone(diary)
    for written, local in zip(diary.attacks, placed.attacks, strict=True):
        assert local == in_patient_zone(written, facts)
        assert in_patient_zone(local, facts) is local
        assert classify_attack(local, facts) == classify_attack(written, facts)
    days = [d for a in placed.attacks for d in a.local_dates()]
    first, last = min(days), max(days)
    assert day_units(placed, first, last) == day_units(diary, first, last)
    recorded = [dt.datetime(2031, 1, 1), None, dt.datetime(2026, 1, 1)]
    assert day_records(placed, first, last, attack_recorded_utc=recorded) == day_records(
        diary, first, last, attack_recorded_utc=recorded
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.datetime(2026, 3, 29, 1, 0), dt.datetime(2026, 3, 29, 5, 0, tzinfo=BERLIN)),
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN), dt.datetime(2026, 3, 29, 5, 0)),
    ],
)
def test_an_attack_whose_start_and_end_are_on_different_kinds_of_clock_is_refused(
    start: dt.datetime, end: dt.datetime
) -> None:
    """A naive time is the patient's wall clock, an aware one an instant: with one of each the
    length cannot be worked out (it depends on a zone neither says), so the attack is refused
    where it is made, with words, rather than failing later in every rule that reads it."""
    with pytest.raises(ValueError, match="start and end"):
        Attack(start=start, end=end)


def test_an_attack_with_both_times_on_one_kind_of_clock_is_accepted() -> None:
    naive = Attack(start=dt.datetime(2026, 3, 29, 1, 0), end=dt.datetime(2026, 3, 29, 5, 0))
    aware = Attack(
        start=dt.datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN),
        end=dt.datetime(2026, 3, 29, 5, 0, tzinfo=UTC),
    )
    assert (naive.minutes, aware.minutes) == (240, 300)
