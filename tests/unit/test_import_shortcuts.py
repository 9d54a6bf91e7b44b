"""Shortcuts taken to import 100,000 attacks in under 10 s (issue 13 item 5) give the same
values as the plain code they replace: the UTC instant of a patient's wall-clock time across
daylight-saving changes (both readings of the repeated autumn hour, and the skipped spring
hour), and enum members read from a document."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Callable
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from acuhead.domain.daycount import attack_dates, classify_placed
from acuhead.domain.diary import (
    Attack,
    AuraType,
    Effect,
    Location,
    MedClass,
    MedicationDose,
    Nausea,
    PatientFacts,
    Quality,
    Side,
)
from acuhead.domain.ichd3 import (
    classify_attack,
    in_patient_zone,
)
from acuhead.errors import ValidationError
from acuhead.interop.document import (
    _NOT_BRACKET,
    _NOT_BRACKET_OR_STRING,
    _STRING,
    _member,
    _members,
    nesting_depth,
)
from acuhead.store.mapping import to_utc

ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe")


def plain_to_utc(local: dt.datetime, tz: str) -> dt.datetime:
    """The conversion as it was written before: attach the zone, convert, drop the zone."""
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(dt.UTC).replace(tzinfo=None)


# Times near the changes are where an offset could go wrong: draw minutes around them.
CHANGES = [
    dt.datetime(2026, 3, 29, 2, 0),  # Berlin: 02:00-03:00 skipped
    dt.datetime(2026, 10, 25, 2, 0),  # Berlin: 02:00-03:00 twice
    dt.datetime(2026, 3, 8, 2, 0),  # New York: 02:00-03:00 skipped
    dt.datetime(2026, 11, 1, 1, 0),  # New York: 01:00-02:00 twice
]
near_change = st.builds(
    lambda at, minutes, fold: (at + dt.timedelta(minutes=minutes)).replace(fold=fold),
    st.sampled_from(CHANGES),
    st.integers(-180, 180),
    st.sampled_from((0, 1)),
)
anywhere = st.builds(
    lambda moment, fold: moment.replace(fold=fold),
    st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 12, 30)),
    st.sampled_from((0, 1)),
)


@settings(max_examples=400)
@given(near_change | anywhere, st.sampled_from(ZONES))
@example(dt.datetime(2026, 10, 25, 2, 30, fold=1), "Europe/Berlin")
@example(dt.datetime(2026, 11, 1, 1, 30, fold=1), "America/New_York")
@example(dt.datetime(2026, 3, 8, 2, 30), "America/New_York")
def test_utc_of_a_wall_clock_time_is_the_plain_conversion(local: dt.datetime, tz: str) -> None:
    assert to_utc(local, tz) == plain_to_utc(local, tz)


def test_the_repeated_autumn_hour_keeps_both_instants() -> None:
    first = dt.datetime(2026, 10, 25, 2, 30)
    assert to_utc(first, "Europe/Berlin") == dt.datetime(2026, 10, 25, 0, 30)
    assert to_utc(first.replace(fold=1), "Europe/Berlin") == dt.datetime(2026, 10, 25, 1, 30)


@given(st.datetimes(timezones=st.sampled_from([dt.UTC, ZoneInfo("America/New_York")])))
def test_an_aware_time_is_converted_as_before(moment: dt.datetime) -> None:
    assert to_utc(moment, "Europe/Berlin") == moment.astimezone(dt.UTC).replace(tzinfo=None)


KINDS: tuple[type[enum.Enum], ...] = (AuraType, Effect, Location, MedClass, Nausea, Quality, Side)


@given(st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k), st.sampled_from(list(k)))))
def test_a_member_read_from_its_value_is_the_enum_call(
    pair: tuple[type[enum.Enum], enum.Enum],
) -> None:
    kind, member = pair
    assert _member(kind, member.value) is kind(member.value) is member
    assert _members(kind, [member.value, member.value]) == (member, member)


@pytest.mark.parametrize("value", ["no such value", 3.5, None, ["temporal"]])
def test_a_value_that_is_no_member_fails_as_the_enum_call_does(value: object) -> None:
    with pytest.raises(ValueError) as plain:
        Location(value)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as fast:
        _members(Location, [value])
    assert str(fast.value) == str(plain.value)


# --- attack_dates: each instant converted once ------------------------------------------------

BERLIN_NY = st.sampled_from(("Europe/Berlin", "America/New_York"))
moments = near_change | st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31)
)
aware_moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.sampled_from([dt.UTC, ZoneInfo("Asia/Tokyo")]),
)


@st.composite
def attacks(draw: st.DrawFn) -> Attack:
    start = draw(moments | aware_moments)
    shape = draw(st.sampled_from(("end", "duration", "open")))
    end = duration = None
    if shape == "end":
        # Up to three days long, sometimes ending before it starts or exactly at midnight.
        end = start + dt.timedelta(minutes=draw(st.integers(-120, 3 * 24 * 60)))
        if draw(st.booleans()):
            end = end.replace(hour=0, minute=0, second=0, microsecond=0)
        end = end.replace(fold=draw(st.sampled_from((0, 1))))
    elif shape == "duration":
        duration = draw(st.integers(0, 3 * 24 * 60))
    doses = tuple(
        MedicationDose("ibuprofen", MedClass.NSAID, taken_at=t)
        for t in draw(st.lists(st.none() | moments, max_size=2))
    )
    return Attack(start=start, end=end, duration_min=duration, medications=doses)


@settings(max_examples=400, deadline=None)
@given(attacks(), BERLIN_NY)
def test_attack_dates_equal_the_placed_attacks_own(attack: Attack, tz: str) -> None:
    patient = PatientFacts(birth_date=None, timezone=tz)
    placed = in_patient_zone(attack, patient)
    got = attack_dates(attack, patient)
    assert got.days == placed.local_dates()
    assert got.start == placed.start and got.start.tzinfo is placed.start.tzinfo
    assert got.end == placed.effective_end
    if got.end is not None and placed.effective_end is not None:
        assert got.end.utcoffset() == placed.effective_end.utcoffset()
    assert got.minutes == placed.minutes
    assert got.start_utc == placed.start.astimezone(dt.UTC).replace(tzinfo=None)
    assert got.end_utc == (
        None
        if placed.effective_end is None
        else placed.effective_end.astimezone(dt.UTC).replace(tzinfo=None)
    )
    assert got.doses == [
        None if m.taken_at is None else m.taken_at.date() for m in placed.medications
    ]


@settings(max_examples=300, deadline=None)
@given(
    attacks(),
    BERLIN_NY,
    st.none() | st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2020, 1, 1)),
    st.none() | st.integers(0, 10),
    st.lists(st.sampled_from(list(Location)), max_size=2),
    st.sampled_from(list(Nausea)),
)
def test_classifying_from_attack_dates_is_classify_attack(
    attack: Attack,
    tz: str,
    born: dt.date | None,
    peak: int | None,
    where: list[Location],
    nausea: Nausea,
) -> None:
    attack = replace(
        attack, peak_intensity=peak, locations=tuple(where), nausea=nausea, photophobia=True
    )
    patient = PatientFacts(birth_date=born, timezone=tz)
    assert outcome(lambda: classify_placed(attack, patient, attack_dates(attack, patient))) == (
        outcome(lambda: classify_attack(attack, patient))
    )


def outcome(classify: Callable[[], object]) -> object:
    """The result, or the error raised (an attack ending before it starts is refused)."""
    try:
        return classify()
    except ValidationError as exc:
        return ("refused", str(exc))


# --- the nesting-depth check strips strings and text in one pass -------------------------------


def two_passes(text: str) -> str:
    return _NOT_BRACKET.sub("", _STRING.sub("", text))


@settings(max_examples=1000)
@given(st.text(alphabet='"\\[]{}a :,é', max_size=60))
@example('["a]", {"b\\"}": [1]}, "c')  # brackets in strings, an escaped quote, no closing quote
def test_one_pass_strips_what_the_two_passes_did(text: str) -> None:
    assert _NOT_BRACKET_OR_STRING.sub("", text) == two_passes(text)


@given(
    st.recursive(
        st.none() | st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)
    )
)
def test_one_pass_strips_json_texts_as_the_two_passes_did(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert _NOT_BRACKET_OR_STRING.sub("", text) == two_passes(text)
    assert nesting_depth(text) == nesting_depth(json.dumps(value))
