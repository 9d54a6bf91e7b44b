"""Shortcuts taken to import 100,000 attacks in under 10 s (issue 13 item 5) give the same
values as the plain code they replace: the UTC instant of a patient's wall-clock time across
daylight-saving changes (both readings of the repeated autumn hour, and the skipped spring
hour), and enum members read from a document."""

from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from acuhead.domain.diary import AuraType, Effect, Location, MedClass, Nausea, Quality, Side
from acuhead.interop.document import _member, _members
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
        Location(value)
    with pytest.raises(ValueError) as fast:
        _members(Location, [value])
    assert str(fast.value) == str(plain.value)
