"""domain/appointments.py: overlaps and clinic days, DST-correct in Europe/Berlin.

Europe/Berlin changes on 2026-03-29 (02:00 CET -> 03:00 CEST, a 23-hour day) and on
2026-10-25 (03:00 CEST -> 02:00 CET, a 25-hour day) (EU Directive 2000/84/EC: last Sunday of
March and of October, 01:00 UTC).
"""

from __future__ import annotations

import datetime as dt

import pytest

from acuhead.domain import appointments as rules
from acuhead.errors import ValidationError

BERLIN = "Europe/Berlin"
UTC = dt.UTC


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "start_utc", "end_utc", "hours"),
    [
        (dt.date(2026, 3, 28), at(2026, 3, 27, 23), at(2026, 3, 28, 23), 24),
        (dt.date(2026, 3, 29), at(2026, 3, 28, 23), at(2026, 3, 29, 22), 23),  # spring
        (dt.date(2026, 3, 30), at(2026, 3, 29, 22), at(2026, 3, 30, 22), 24),
        (dt.date(2026, 10, 25), at(2026, 10, 24, 22), at(2026, 10, 25, 23), 25),  # autumn
        (dt.date(2026, 10, 26), at(2026, 10, 25, 23), at(2026, 10, 26, 23), 24),
    ],
)
def test_clinic_day_is_local_midnight_to_midnight(
    day: dt.date, start_utc: dt.datetime, end_utc: dt.datetime, hours: int
) -> None:
    lo, hi = rules.day_bounds(day, BERLIN)
    assert (lo, hi) == (start_utc, end_utc)
    assert hi - lo == dt.timedelta(hours=hours)


@pytest.mark.parametrize(
    ("a", "b", "clash"),
    [
        ((at(2026, 5, 4, 8), 60), (at(2026, 5, 4, 9), 30), False),  # back to back
        ((at(2026, 5, 4, 8), 60), (at(2026, 5, 4, 8, 59), 30), True),
        ((at(2026, 5, 4, 8), 60), (at(2026, 5, 4, 7, 30), 31), True),
        ((at(2026, 5, 4, 8), 60), (at(2026, 5, 4, 7, 30), 30), False),
        ((at(2026, 5, 4, 8), 60), (at(2026, 5, 4, 8, 15), 15), True),  # inside
    ],
)
def test_overlap_is_half_open(
    a: tuple[dt.datetime, int], b: tuple[dt.datetime, int], clash: bool
) -> None:
    assert rules.Slot(*a).overlaps(rules.Slot(*b)) is clash
    assert rules.Slot(*b).overlaps(rules.Slot(*a)) is clash


def test_overlap_names_the_conflicting_slot_in_clinic_time() -> None:
    booked = [rules.Slot(at(2026, 5, 4, 7), 45, 1), rules.Slot(at(2026, 5, 4, 8), 60, 2)]
    with pytest.raises(ValidationError) as err:
        rules.refuse_overlap(rules.Slot(at(2026, 5, 4, 8, 30), 30), booked, BERLIN)
    assert err.value.errors[0].path == "start"
    assert "04.05.2026 from 10:00 to 11:00" in err.value.errors[0].message


def test_moving_a_slot_does_not_clash_with_itself() -> None:
    booked = [rules.Slot(at(2026, 5, 4, 8), 60, 7)]
    assert rules.find_conflict(rules.Slot(at(2026, 5, 4, 8, 30), 60, 7), booked) is None
    assert rules.find_conflict(rules.Slot(at(2026, 5, 4, 8, 30), 60, 8), booked) is not None


def test_an_hour_across_the_autumn_change_is_an_elapsed_hour() -> None:
    # 01:30 CEST on 25 Oct 2026 + 60 min is 02:30 CEST... then 02:00 CET repeats:
    # the slot ends at 02:30 CEST (00:30 UTC), one real hour later.
    start = rules.local_to_instant(dt.date(2026, 10, 25), dt.time(1, 30), BERLIN)
    slot = rules.Slot(start, 60)
    assert slot.end.astimezone(UTC) == at(2026, 10, 25, 0, 30)
    later = rules.Slot(rules.local_to_instant(dt.date(2026, 10, 25), dt.time(2, 30), BERLIN), 30)
    # The repeated 02:30 means its first occurrence (CEST, 00:30 UTC): back to back.
    assert later.start.astimezone(UTC) == at(2026, 10, 25, 0, 30)
    assert not slot.overlaps(later)


def test_a_wall_time_the_spring_change_skips_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        rules.local_to_instant(dt.date(2026, 3, 29), dt.time(2, 30), BERLIN)
    ok = rules.local_to_instant(dt.date(2026, 3, 29), dt.time(3, 0), BERLIN)
    assert ok.astimezone(UTC) == at(2026, 3, 29, 1)


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (at(2026, 3, 28, 23, 30), dt.date(2026, 3, 29)),  # 00:30 CET the change day
        (at(2026, 10, 25, 22, 59), dt.date(2026, 10, 25)),  # 23:59 CET
        (at(2026, 10, 25, 23, 0), dt.date(2026, 10, 26)),
    ],
)
def test_local_day(instant: dt.datetime, day: dt.date) -> None:
    assert rules.local_day(instant, BERLIN) == day


def test_week_is_monday_to_sunday() -> None:
    week = rules.week_of(dt.date(2026, 3, 29))  # a Sunday
    assert week[0] == dt.date(2026, 3, 23) and week[-1] == dt.date(2026, 3, 29)


@pytest.mark.parametrize(("minutes", "ok"), [(4, False), (5, True), (480, True), (481, False)])
def test_duration_bounds(minutes: int, ok: bool) -> None:
    if ok:
        assert rules.check_duration(minutes) == minutes
    else:
        with pytest.raises(ValidationError):
            rules.check_duration(minutes)


def test_naive_start_and_unknown_zone_are_refused() -> None:
    with pytest.raises(ValidationError, match="offset"):
        rules.check_aware(dt.datetime(2026, 5, 4, 9))
    with pytest.raises(ValidationError, match="unknown time zone"):
        rules.zone("Mars/Olympus")


@pytest.mark.parametrize(
    "start",
    [
        dt.datetime(1999, 12, 31, 23, 0),
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-23))),
        dt.datetime(2101, 1, 1, 9, 0),
    ],
)
def test_starts_outside_the_booking_years_are_refused(start: dt.datetime) -> None:
    with pytest.raises(ValidationError, match="years 2000-2100"):
        rules.instant_in(start, BERLIN)
