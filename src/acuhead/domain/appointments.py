"""Appointment rules: slots, overlaps and clinic days, with no clock and no storage.

Why pure: the same rules decide a booking made on a page, over the API and in tests, and the
difficult part (days in the clinic's zone across daylight-saving changes) is best tested as a
table. Instants are aware datetimes; a duration is elapsed time (ARCHITECTURE.md "Time"), so a
60-minute slot at 01:30 on the autumn change night really lasts 60 minutes.

A clinic day is the clinic's local midnight to the next local midnight: 23 hours on the spring
change day and 25 on the autumn one in Europe/Berlin, never "24 hours from 00:00 UTC".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from acuhead.errors import FieldError, ValidationError

# Appointments are booked for real days: outside these years a date is a typing mistake (and
# near the ends of the calendar, adding a day or an offset would overflow).
FIRST_YEAR = 2000
LAST_YEAR = 2100
MIN_DURATION = 5
MAX_DURATION = 8 * 60
MAX_NOTE = 2000


class Status(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Slot:
    """One booked time of one practitioner (``start`` aware, any zone)."""

    start: dt.datetime
    minutes: int
    appointment_id: int | None = None

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(minutes=self.minutes)

    def overlaps(self, other: Slot) -> bool:
        """Half-open intervals: a slot ending at 10:00 and one starting at 10:00 do not clash
        (back-to-back appointments are the normal day)."""
        return self.start < other.end and other.start < self.end


def zone(name: str, path: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(FieldError(path, f"unknown time zone {name!r}")) from exc


def check_duration(minutes: int, path: str = "duration_min") -> int:
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise ValidationError(
            FieldError(path, f"must be between {MIN_DURATION} and {MAX_DURATION} minutes")
        )
    return minutes


def check_note(note: str, path: str = "note") -> str:
    if len(note) > MAX_NOTE:
        raise ValidationError(FieldError(path, f"at most {MAX_NOTE} characters"))
    return note


def check_aware(start: dt.datetime, path: str = "start") -> dt.datetime:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValidationError(
            FieldError(path, "needs a time zone offset (e.g. 2026-03-29T09:00:00+02:00)")
        )
    return start


def local_to_instant(day: dt.date, wall: dt.time, tz: str, path: str = "start") -> dt.datetime:
    """The instant a clinic's wall-clock time names. A time the clock skips (the spring change
    hour) does not exist and is refused with the reason; a time that occurs twice (the autumn
    hour) means its first occurrence, as a diary or a receptionist would read it."""
    z = zone(tz)
    naive = dt.datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    aware = naive.replace(tzinfo=z)
    back = aware.astimezone(dt.UTC).astimezone(z)
    if back.replace(tzinfo=None) != naive:
        raise ValidationError(
            FieldError(
                path,
                f"{naive:%d.%m.%Y %H:%M} does not exist in {tz}: the clocks go forward then",
            )
        )
    return aware


def check_day(day: dt.date, path: str = "day") -> dt.date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(FieldError(path, f"must be in the years {FIRST_YEAR}-{LAST_YEAR}"))
    return day


def instant_in(start: dt.datetime, tz: str, path: str = "start") -> dt.datetime:
    """An aware start as it is; a naive one is the clinic's wall-clock time (what a form or a
    receptionist types), resolved by :func:`local_to_instant`. Either within the years
    ``FIRST_YEAR`` to ``LAST_YEAR``."""
    check_day(start.date(), path)
    if start.tzinfo is not None and start.utcoffset() is not None:
        check_day(start.astimezone(dt.UTC).date(), path)
        return start
    return local_to_instant(start.date(), start.time(), tz, path)


def day_bounds(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The clinic day as [start, end) in UTC: local midnight to the next local midnight."""
    z = zone(tz)
    start = dt.datetime.combine(day, dt.time(), tzinfo=z).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=z).astimezone(dt.UTC)
    return start, end


def week_of(day: dt.date) -> list[dt.date]:
    """The Monday-to-Sunday week holding ``day`` (ISO 8601 weeks, as European diaries show)."""
    monday = day - dt.timedelta(days=day.weekday())
    return [monday + dt.timedelta(days=i) for i in range(7)]


def local_day(instant: dt.datetime, tz: str) -> dt.date:
    """The clinic-local date of an aware instant."""
    return check_aware(instant).astimezone(zone(tz)).date()


def find_conflict(new: Slot, booked: Iterable[Slot]) -> Slot | None:
    """The earliest booked slot of the same practitioner that ``new`` overlaps, if any (the
    slot being moved is left out by its id)."""
    clashes = [
        s
        for s in booked
        if s.overlaps(new)
        and (new.appointment_id is None or s.appointment_id != new.appointment_id)
    ]
    return min(clashes, key=lambda s: s.start) if clashes else None


def refuse_overlap(new: Slot, booked: Iterable[Slot], tz: str) -> None:
    """Raise a 422 naming the slot ``new`` clashes with, in the clinic's local time."""
    clash = find_conflict(new, booked)
    if clash is None:
        return
    z = zone(tz)
    start, end = clash.start.astimezone(z), clash.end.astimezone(z)
    raise ValidationError(
        FieldError(
            "start",
            f"overlaps the practitioner's appointment on {start:%d.%m.%Y} "
            f"from {start:%H:%M} to {end:%H:%M}",
        )
    )


def parse_wall(text: str, path: str = "time") -> dt.time:
    """``HH:MM`` as typed in a form."""
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationError(FieldError(path, "enter a time as HH:MM, e.g. 09:30")) from exc
