"""A synthetic clinic: believable diaries for the demo, the tests and the benchmarks.

Each patient has a phenotype (episodic or chronic migraine, tension-type headache, medication
overuse, mixed), a 28-day baseline, then a course of acupuncture and follow-up. Attack risk
each day rises with high stress, short sleep, menstruation and neck tension (so trigger
analysis has something real to find), and falls during and after the course by an individual
effect drawn around published figures: about a 45% mean reduction in migraine days with wide
spread, so roughly half the cohort are >=50% responders (Xu 2020 BMJ: -3.5 migraine days
from a baseline near 7-8; Cochrane 2016: 41-50% responders; CLINICAL.md 5).

The clinic keeps its appointments in Central European time (about half the demo patients live
in Berlin or Vienna), and each practitioner has a day of appointments booked on the end date
(today by default) and the six days after it, so the dashboard's day list is not empty.

Deterministic for a seed and an end date; written with bulk inserts in chunks of patients.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import multiprocessing
import os
import random
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import JSON, Date, DateTime, Table, func, select, text
from sqlalchemy.orm import Session

from acuhead.domain.redflags import CATALOGUE
from acuhead.gcpause import cycle_collection_paused
from acuhead.services import accounts, appointments, schedules
from acuhead.services.actors import Actor, Role
from acuhead.store import block_aggregates, day_units
from acuhead.store.bulk import bulk_insert, foreign_keys_deferred, indexes_deferred
from acuhead.store.day_units import rows_from_insert_dicts
from acuhead.store.db import Database
from acuhead.store.mapping import to_utc
from acuhead.store.models import (
    AdverseEventRow,
    AttackRow,
    AuraSymptomRow,
    Clinic,
    CourseRow,
    DiaryDayRow,
    IntakeScreenRow,
    IntensityReadingRow,
    MedicationDoseRow,
    Patient,
    RegimenRow,
    TreatmentSessionRow,
    User,
    utcnow,
)

DEMO_PASSWORDS = {
    "admin@demo.acuhead.test": ("admin", "demo-admin-2026"),
    "practitioner@demo.acuhead.test": ("practitioner", "demo-practitioner-2026"),
    "patient@demo.acuhead.test": ("patient", "demo-patient-2026"),
}

PHENOTYPES = (
    # name, share, base daily attack probability, migraine share of attacks, med-overuse
    ("episodic_migraine", 0.45, 0.22, 0.85, False),
    ("chronic_migraine", 0.15, 0.55, 0.6, False),
    ("tension_type", 0.20, 0.30, 0.05, False),
    ("medication_overuse", 0.10, 0.6, 0.55, True),
    ("mixed", 0.10, 0.35, 0.45, False),
)
ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Europe/Vienna")
CLINIC_ZONE = ZONES[0]  # Berlin and Vienna share it: the zone most demo patients live in
BOOKED_DAYS = 7  # the end date (today) and the six days after it
# Opening hours, clinic-local: weekdays a full day with a lunch break, Saturday a morning,
# Sunday closed. The first day (today) is always a full day, so the day list the demo is shown
# with has appointments whatever day it is started on.
WEEKDAY_HOURS = ((dt.time(8), dt.time(12, 30)), (dt.time(13, 30), dt.time(18)))
SATURDAY_HOURS = ((dt.time(9), dt.time(13, 30)),)
DURATIONS = (30, 45, 45, 60, 60, 60)  # minutes: follow-ups are shorter than a full session
GAPS = (0, 0, 0, 15, 15, 30)  # minutes free before a slot
# At most this many visits per patient in the booked days: 20 sessions over 8 weeks, front-
# loaded, is about 3 a week at most (CLINICAL.md 5.4).
VISITS_PER_WEEK = 3


@dataclass(frozen=True, slots=True)
class DemoResult:
    clinic_id: int
    patients: int
    days: int
    attacks: int
    logins: dict[str, str]


SCREEN_ITEMS = tuple(f.code for f in CATALOGUE)


def _phenotype(rng: random.Random) -> tuple[str, float, float, bool]:
    x = rng.random()
    acc = 0.0
    for name, share, p, mig, moh in PHENOTYPES:
        acc += share
        if x <= acc:
            return name, p, mig, moh
    name, _share, p, mig, moh = PHENOTYPES[0]
    return name, p, mig, moh


# When a day's entry was made, after 21:00 that evening: mostly at once, now and then the next
# morning or days later (late entries). Drawn with ``rng.choice`` (the stream depends only on
# the number of choices).
_ENTRY_DELAYS = tuple(dt.timedelta(hours=h) for h in (0, 0, 0, 1, 14, 60))


@functools.lru_cache(maxsize=4)
def _calendar(start: dt.date, days: int) -> tuple[tuple[dt.date, dt.datetime], ...]:
    """The ``days`` dates from ``start`` with 21:00 of each, made once for every patient of a
    run (they all share the calendar)."""
    out = []
    for k in range(days):
        day = start + dt.timedelta(days=k)
        out.append((day, dt.datetime.combine(day, dt.time(21, 0))))
    return tuple(out)


class _Ids:
    """Pre-assigned primary keys so child rows can be bulk-inserted with their parents."""

    def __init__(self, start: int) -> None:
        self.next = start

    def take(self) -> int:
        self.next += 1
        return self.next


def _patient_rows(
    rng: random.Random,
    *,
    index: int,
    clinic_id: int,
    pid: int,
    practitioner_ids: list[int],
    end: dt.date,
    days: int,
    ids: dict[str, _Ids],
    out: dict[str, list[dict[str, Any]]],
) -> None:
    phen, p_base, mig_share, moh = _phenotype(rng)
    sex = "female" if rng.random() < 0.75 else "male"
    age = rng.randint(19, 64)
    tz = rng.choice(ZONES)
    start = end - dt.timedelta(days=days - 1)
    birth = dt.date(end.year - age, rng.randint(1, 12), rng.randint(1, 28))
    compliance = min(1.0, rng.uniform(0.78, 1.02))
    effect = min(0.95, max(-0.2, rng.gauss(0.45, 0.28)))  # fractional fall in attack risk
    course_start = start + dt.timedelta(days=28) if days >= 56 else None
    course_weeks = 8
    out["patients"].append(
        {
            "id": pid,
            "clinic_id": clinic_id,
            "external_id": f"demo-{index:05d}",
            "display_name": f"Demo patient {index} ({phen.replace('_', ' ')})",
            "birth_date": birth,
            "sex": sex,
            "timezone": tz,
            "practitioner_id": rng.choice(practitioner_ids),
            "safety": {
                "pregnant": False,
                "anticoagulant": rng.random() < 0.04,
                "pacemaker": rng.random() < 0.01,
                "needle_phobia": rng.random() < 0.05,
            },
            "version": 1,
            "created_utc": utcnow(),
        }
    )
    # A complete SNNOOP10 intake screen, all 15 items "no", so that the safety gate lets a
    # demo patient be planned for (docs/safety-gate.md); ages at onset 14-28, before 65.
    # Deterministic from the index: the random stream stays as it was.
    out["screens"].append(
        {
            "clinic_id": clinic_id,
            "patient_id": pid,
            "screened_on": max(start, end - dt.timedelta(days=60)),
            "first_headache_onset": birth.replace(year=birth.year + 14 + index % 15),
            "answers": dict.fromkeys(SCREEN_ITEMS, False),
            "recorded_utc": utcnow(),
        }
    )
    if course_start is not None:
        _course_rows(
            rng,
            clinic_id=clinic_id,
            pid=pid,
            tz=tz,
            start=course_start,
            end=end,
            practitioner_ids=practitioner_ids,
            ids=ids,
            out=out,
        )
        out["regimens"].append(
            {
                "clinic_id": clinic_id,
                "patient_id": pid,
                "name": "acupuncture course",
                "kind": "non_drug",
                "start": course_start,
                "stop": course_start + dt.timedelta(weeks=course_weeks),
                "dose": "12 sessions",
            }
        )
    cycle_offset = rng.randint(0, 27)
    stress = rng.uniform(3, 6)
    prev_poor_sleep = False
    ongoing_until: dt.datetime | None = None
    for k, (day, evening) in enumerate(_calendar(start, days)):
        stress = min(10.0, max(0.0, 0.7 * stress + 0.3 * rng.gauss(4.5, 2.5)))
        sleep = round(min(10.5, max(3.0, rng.gauss(7.0, 1.1) - 0.12 * (stress - 4))), 1)
        menstruating = sex == "female" and (k + cycle_offset) % 28 < 5
        neck = int(min(10, max(0, round(rng.gauss(3 + 0.4 * stress, 1.5)))))
        # Treatment effect ramps in over the course and persists with slight decay.
        factor = 1.0
        if course_start is not None and day >= course_start:
            weeks_in = (day - course_start).days / 7
            ramp = min(1.0, weeks_in / course_weeks)
            factor = 1 - effect * ramp * (0.85 if weeks_in > 20 else 1.0)
            stress = max(0.0, stress - 0.6 * ramp * max(effect, 0))
            neck = max(0, neck - round(1.5 * ramp * max(effect, 0)))
        risk = p_base * factor
        risk *= 1.6 if stress >= 7 else 1.0
        risk *= 1.7 if prev_poor_sleep else 1.0
        risk *= 1.5 if menstruating else 1.0
        risk = min(0.95, risk)
        prev_poor_sleep = sleep < 6
        headache_today = ongoing_until is not None and ongoing_until.date() >= day
        attack_today = rng.random() < risk and not headache_today
        recorded = rng.random() < compliance
        triggers: list[str] = []
        if stress >= 7:
            triggers.append("stress")
        if sleep < 6:
            triggers.append("poor sleep")
        if attack_today:
            aid = ids["attacks"].take()
            migraine = rng.random() < mig_share
            hour = rng.choice((5, 6, 7, 8, 10, 13, 15, 17, 19, 21))
            start_local = dt.datetime.combine(day, dt.time(hour, rng.choice((0, 15, 30, 45))))
            hours = rng.uniform(4.5, 30) if migraine else rng.uniform(0.6, 10)
            end_local = start_local + dt.timedelta(minutes=int(hours * 60))
            ongoing_until = end_local
            peak = min(10, max(1, round(rng.gauss(7 if migraine else 4, 1.4))))
            unilateral = migraine and rng.random() < 0.65
            side = rng.choice(("left", "right")) if unilateral else "both"
            locs = ["temporal", "orbital"] if migraine else ["frontal", "occipital", "neck"]
            nausea = (
                rng.choice(("mild", "moderate", "severe"))
                if migraine and rng.random() < 0.7
                else "none"
            )
            out["attacks"].append(
                {
                    "id": aid,
                    "clinic_id": clinic_id,
                    "patient_id": pid,
                    "start_local": start_local,
                    "end_local": end_local,
                    "start_utc": to_utc(start_local, tz),
                    "end_utc": to_utc(end_local, tz),
                    "duration_min": None,
                    "peak_intensity": peak,
                    "side": side,
                    "locations": locs[: rng.randint(1, len(locs))],
                    "quality": ["pulsating"] if migraine else ["pressing"],
                    "aggravated_by_activity": migraine and rng.random() < 0.8,
                    "nausea": nausea,
                    "vomiting": nausea == "severe" and rng.random() < 0.4,
                    "photophobia": migraine and rng.random() < 0.8,
                    "phonophobia": migraine and rng.random() < 0.7,
                    "osmophobia": migraine and rng.random() < 0.3,
                    "cranial_autonomic": [],
                    "restlessness": False,
                    "triggers": triggers + (["menstruation"] if menstruating else []),
                    "warning_signs": [],
                    "treated": None,
                    "recorded_utc": to_utc(end_local, tz),  # entered when it ended (late entries)
                    "version": 1,
                }
            )
            out["readings"].append(
                {
                    "clinic_id": clinic_id,
                    "attack_id": aid,
                    "at_local": start_local,
                    "intensity": max(1, peak - 2),
                }
            )
            out["readings"].append(
                {
                    "clinic_id": clinic_id,
                    "attack_id": aid,
                    # The peak reading falls inside the attack, however short it is.
                    "at_local": start_local + dt.timedelta(minutes=min(90, int(hours * 30))),
                    "intensity": peak,
                }
            )
            if migraine and rng.random() < 0.2:
                out["aura"].append(
                    {
                        "clinic_id": clinic_id,
                        "attack_id": aid,
                        "type": "visual",
                        "symptom": "flickering zigzag spreading across the field",
                        "onset_local": start_local - dt.timedelta(minutes=30),
                        "duration_min": rng.randint(10, 45),
                        "gradual_spread": True,
                        "unilateral": True,
                        "positive": True,
                        "headache_within_60_min": True,
                    }
                )
            take_med = rng.random() < (0.95 if moh else 0.6)
            if take_med:
                if migraine and rng.random() < 0.6:
                    name, cls = "sumatriptan", "triptan"
                else:
                    name, cls = rng.choice(
                        (
                            ("ibuprofen", "nsaid"),
                            ("paracetamol", "paracetamol"),
                            ("aspirin", "simple_analgesic"),
                        )
                    )
                taken = start_local + dt.timedelta(minutes=rng.randint(10, 90))
                out["meds"].append(
                    {
                        "clinic_id": clinic_id,
                        "patient_id": pid,
                        "attack_id": aid,
                        "name": name,
                        "med_class": cls,
                        "taken_local": taken,
                        "taken_day": taken.date(),
                        "dose": None,
                        "effect": rng.choice(("none", "partial", "good", "good")),
                    }
                )
            headache_today = True
        if recorded:
            out["days"].append(
                {
                    "clinic_id": clinic_id,
                    "patient_id": pid,
                    "day": day,
                    "headache": headache_today,
                    "stress": round(stress),
                    "sleep_hours": sleep,
                    "neck_tension": neck,
                    "menstruating": menstruating if sex == "female" else None,
                    "notes": "",
                    "triggers": triggers,
                    "recorded_utc": evening + rng.choice(_ENTRY_DELAYS),
                    "version": 1,
                }
            )


CORE_POINTS = (
    ("GB20", "both"),
    ("GV20", "both"),
    ("EX-HN5", "both"),
    ("LI4", "both"),
    ("LR3", "both"),
)
EXTRA_POINTS = (
    ("TE5", "both"),
    ("GB34", "both"),
    ("GB40", "both"),
    ("BL10", "both"),
    ("ST36", "both"),
    ("SP6", "both"),
    ("GB8", "both"),
)


def _course_rows(
    rng: random.Random,
    *,
    clinic_id: int,
    pid: int,
    tz: str,
    start: dt.date,
    end: dt.date,
    practitioner_ids: list[int],
    ids: dict[str, _Ids],
    out: dict[str, list[dict[str, Any]]],
) -> None:
    """A 12-session course over 8 weeks (front-loaded: twice weekly for 4 weeks, then weekly),
    recorded per STRICTA, with immediate relief and occasional mild adverse events."""
    course_id = ids["courses"].take()
    out["courses"].append(
        {
            "id": course_id,
            "clinic_id": clinic_id,
            "patient_id": pid,
            "planned_sessions": 12,
            "sessions_per_week": 1.5,
            "start_date": start,
            "notes": "",
            "created_utc": utcnow(),
        }
    )
    offsets = [0, 3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49]
    practitioner = rng.choice(practitioner_ids)
    extra = rng.sample(EXTRA_POINTS, 2)
    for n, offset in enumerate(offsets):
        day = start + dt.timedelta(days=offset)
        if day > end:
            break
        if n > 0 and rng.random() < 0.05:
            continue  # a missed appointment
        sid = ids["sessions"].take()
        begin = dt.datetime.combine(day, dt.time(rng.choice((9, 10, 11, 14, 15, 16)), 0))
        before = rng.randint(0, 6)
        after = max(0, before - rng.choice((0, 1, 1, 2, 2, 3)))
        electro = rng.random() < 0.2
        points = [{"code": c, "side": s} for c, s in (*CORE_POINTS, *extra)]
        events = []
        if rng.random() < 0.06:
            kind = rng.choice(("haematoma", "bleeding", "pain", "dizziness"))
            events.append(
                {
                    "type": kind,
                    "severity": "mild",
                    "serious": False,
                    "hospitalised": False,
                    "action_taken": "observed; resolved",
                    "point": None,
                    "note": "",
                }
            )
            out["adverse"].append(
                {
                    "clinic_id": clinic_id,
                    "patient_id": pid,
                    "session_id": sid,
                    "type": kind,
                    "severity": "mild",
                    "serious": False,
                    "action_taken": "observed; resolved",
                    "created_utc": utcnow(),
                }
            )
        record = {
            "start": begin.isoformat(timespec="seconds"),
            "style": "tcm",
            "rationale": "semi-standardised: trial core points plus pattern points",
            "references": ["Xu 2020 BMJ 368:m697"],
            "individualisation": "semi_standardised",
            "variation_notes": "",
            "points": points,
            "needle_count": 2 * len(points),
            "response_sought": ["deqi"],
            "response_obtained": ["deqi"],
            "stimulation": (
                {
                    "method": "electro",
                    "frequency_hz": [2, 100],
                    "intensity_ma": 1.0,
                    "waveform": "dense-disperse",
                }
                if electro
                else {"method": "manual"}
            ),
            "retention_min": 30,
            "needle": None,
            "co_interventions": [],
            "practitioner": "",
            "setting": "outpatient clinic",
            "patient_information": "",
            "pain_before": before,
            "pain_after": after,
            "adverse_events": events,
            "notes": "",
        }
        out["sessions"].append(
            {
                "id": sid,
                "clinic_id": clinic_id,
                "patient_id": pid,
                "course_id": course_id,
                "prescription_id": None,
                "practitioner_id": practitioner,
                "start_utc": to_utc(begin, tz),
                "start_local": begin,
                "pain_before": before,
                "pain_after": after,
                "record": record,
                "version": 1,
                "created_utc": utcnow(),
            }
        )


def ensure_demo_clinic(db: Database) -> tuple[int, list[int], dict[str, str]]:
    """The demo clinic and its staff logins (created once)."""
    with db.write() as session:
        clinic = session.scalars(
            select(Clinic).where(Clinic.name == "Demo Acupuncture Clinic")
        ).first()
        if clinic is None:
            clinic = accounts.create_clinic(session, name="Demo Acupuncture Clinic")
            schedules.apply_default_schedule(session, actor=Actor.system(clinic.id))
            appointments.set_clinic_zone(
                session, actor=Actor.system(clinic.id), timezone=CLINIC_ZONE
            )
        logins: dict[str, str] = {}
        for email, (role, password) in DEMO_PASSWORDS.items():
            user = session.scalars(select(User).where(User.email == email)).first()
            if user is None:
                accounts.create_user(
                    session,
                    clinic_id=clinic.id,
                    email=email,
                    name=f"Demo {role}",
                    role=Role(role),
                    password=password,
                )
            logins[email] = password
        for n in (2, 3):
            email = f"practitioner{n}@demo.acuhead.test"
            if session.scalars(select(User).where(User.email == email)).first() is None:
                accounts.create_user(
                    session,
                    clinic_id=clinic.id,
                    email=email,
                    name=f"Demo practitioner {n}",
                    role=Role.PRACTITIONER,
                    password=None,
                )
        prac = list(
            session.scalars(
                select(User.id).where(User.clinic_id == clinic.id, User.role == "practitioner")
            )
        )
        return clinic.id, prac, logins


# The tables a chunk of patients is written to, in insert order (parents first), with the
# keys of ``_patient_rows``' output.
_TABLES: tuple[tuple[str, type[Any]], ...] = (
    ("patients", Patient),
    ("screens", IntakeScreenRow),
    ("regimens", RegimenRow),
    ("days", DiaryDayRow),
    ("attacks", AttackRow),
    ("readings", IntensityReadingRow),
    ("aura", AuraSymptomRow),
    ("meds", MedicationDoseRow),
    ("courses", CourseRow),
    ("sessions", TreatmentSessionRow),
    ("adverse", AdverseEventRow),
)
# The id columns a chunk numbers from 1 (it cannot know how many rows the chunks before it
# made), with the counter each is shifted by when the chunk is written: the ids come out as
# the one-by-one numbering of the whole cohort would give them.
_SHIFTED: dict[str, tuple[tuple[str, str], ...]] = {
    "attacks": (("id", "attacks"),),
    "readings": (("attack_id", "attacks"),),
    "aura": (("attack_id", "attacks"),),
    "meds": (("attack_id", "attacks"),),
    "courses": (("id", "courses"),),
    "sessions": (("id", "sessions"), ("course_id", "courses")),
    "adverse": (("session_id", "sessions"),),
}
_COUNTED = ("attacks", "courses", "sessions")


@dataclass(frozen=True, slots=True)
class _Spec:
    """What a chunk worker needs to write patients ``lo..hi-1`` (0-based in this run)."""

    seed: int
    first_index: int
    first_pid: int
    clinic_id: int
    practitioner_ids: tuple[int, ...]
    end: dt.date
    days: int


@dataclass(slots=True)
class _Chunk:
    """A chunk's rows as driver values (see `_driver_rows`), ids numbered from 1 in it."""

    tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]
    day_units: list[tuple[Any, ...]]
    made: dict[str, int]  # rows made per counted id (attacks, courses, sessions)


def _driver_column(column_type: Any) -> Callable[[Sequence[Any]], list[Any]] | None:
    """How one column's Python values become what SQLAlchemy would bind for it on SQLite:
    dates and times as its text (``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS.ffffff``), JSON as
    ``json.dumps`` text. PostgreSQL's COPY reads the same text into its typed columns. None:
    the values are bound as they are.

    A whole column at a time, each distinct value written once: a chunk's rows share a few
    hundred dates and a few dozen lists of strings (triggers, locations), so the text of each
    is one string object, which also pickles once per chunk (pickle's memo) on its way to the
    writing process (issue 17: the registry build)."""
    if isinstance(column_type, JSON):
        return _json_texts
    if isinstance(column_type, DateTime):
        return _datetime_texts
    if isinstance(column_type, Date):
        return _date_texts
    return None


def _date_texts(values: Sequence[dt.date | None]) -> list[str | None]:
    texts: dict[dt.date | None, str | None] = {v: v.isoformat() for v in set(values) if v}
    texts[None] = None
    return [texts[v] for v in values]


def _datetime_texts(values: Sequence[dt.datetime | None]) -> list[str | None]:
    # Naive values only (the generator's): equal values (fold aside) have equal text.
    texts: dict[dt.datetime | None, str | None] = {
        v: v.isoformat(" ", "microseconds") for v in set(values) if v
    }
    texts[None] = None
    return [texts[v] for v in values]


def _json_texts(values: Sequence[Any]) -> list[str]:
    texts: dict[tuple[str, ...], str] = {}
    out = []
    for v in values:
        if type(v) is list and all(type(x) is str for x in v):
            key = tuple(v)
            text_ = texts.get(key)
            if text_ is None:
                text_ = texts[key] = json.dumps(v)
            out.append(text_)
        else:
            out.append(json.dumps(v))
    return out


def _driver_rows(
    model: Any, rows: list[dict[str, Any]]
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The insert dicts of one table as tuples of driver values, and their column names."""
    if not rows:
        return (), []
    table = cast(Table, model.__table__)
    columns = tuple(rows[0])
    get = itemgetter(*columns)
    convert = [
        (i, f) for i, c in enumerate(columns) if (f := _driver_column(table.c[c].type)) is not None
    ]
    if not convert:
        return columns, list(map(get, rows))
    values: list[Sequence[Any]] = list(zip(*map(get, rows), strict=True))
    for i, f in convert:
        values[i] = f(values[i])
    return columns, list(zip(*values, strict=True))


def _build_chunk(spec: _Spec, lo: int, hi: int) -> _Chunk:
    """Patients ``lo..hi-1``: their rows and their day units (counted by the domain through
    ``store.day_units``), as driver values. No database: runs in a worker process.

    The cyclic garbage collector is paused throughout (`gcpause`): the chunk's millions of
    objects make no cycles, and walking them again and again was a sixth of a worker's time."""
    with cycle_collection_paused():
        return _make_chunk(spec, lo, hi)


def _make_chunk(spec: _Spec, lo: int, hi: int) -> _Chunk:
    ids = {name: _Ids(0) for name in _COUNTED}
    out: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in _TABLES}
    for i in range(lo, hi):
        index = spec.first_index + i + 1
        rng = random.Random(spec.seed * 1_000_003 + index)
        _patient_rows(
            rng,
            index=index,
            clinic_id=spec.clinic_id,
            pid=spec.first_pid + i + 1,
            practitioner_ids=list(spec.practitioner_ids),
            end=spec.end,
            days=spec.days,
            ids=ids,
            out=out,
        )
    units, statuses = rows_from_insert_dicts(out)
    for p in out["patients"]:  # as the day-unit refresh keeps it (store.day_units)
        p["migraine_diagnosed"] = statuses[p["id"]]
    tables = {name: _driver_rows(model, out[name]) for name, model in _TABLES}
    out.clear()  # the dicts go before the day units are copied
    if units:
        values: list[Sequence[Any]] = list(zip(*units, strict=True))
        values[1] = _date_texts(values[1])
        units = list(zip(*values, strict=True))
    return _Chunk(
        tables=tables,
        day_units=units,
        made={name: ids[name].next for name in _COUNTED},
    )


def _insert_chunk(session: Session, chunk: _Chunk, base: dict[str, int]) -> None:
    """One chunk's rows, in bulk through the driver (COPY on PostgreSQL), in the caller's
    transaction; then ``base`` moves past the ids it used."""
    for name, model in _TABLES:
        columns, rows = chunk.tables[name]
        if not rows:  # no columns either (see _driver_rows)
            continue
        by = {col: base[counter] for col, counter in _SHIFTED.get(name, ())}
        table_name = cast(Table, model.__table__).name
        bulk_insert(session, table_name, columns, rows, binary=False, offsets=by)
    bulk_insert(session, "day_units", day_units.COLUMNS, chunk.day_units, binary=False)
    for name in _COUNTED:
        base[name] += chunk.made[name]


# The tables the chunks fill, parents first.
_LOADED = (*(cast(Table, model.__table__).name for _, model in _TABLES), "day_units")
# The indexes a fresh load builds at the end rather than row by row: the chunks arrive in
# patient order, so every other index of the loaded tables gets its keys in ascending order
# (ids, patient ids, the one clinic then ids) and only grows at its right edge, which costs less
# than building it afterwards in a step nothing runs beside; these two take the keys of each
# patient's days scattered over a year of dates.
_DEFERRED_INDEXES = ("ix_diary_days_clinic_day", "ix_day_units_clinic_day_num")
# SQLite's page cache while a fresh registry is loaded (KiB; the connection's own is 2 MiB),
# and so the memory its index builds sort in before they spill to temporary files.
LOAD_CACHE_KIB = 65_536


@contextmanager
def _chunk_writer(
    db: Database, *, fresh: bool, workers: int = 1
) -> Iterator[Callable[[_Chunk, dict[str, int]], None]]:
    """What writes the chunks, in order.

    Into a database with patients already (``acuhead demo`` run again): each chunk in a
    transaction of its own, as any writer would.

    Into one with none (``fresh``: so no diary, attack or day-unit rows either, since they all
    belong to a patient): every chunk in one transaction, with the loaded tables' secondary
    indexes dropped first and made again from their own DDL at the end (`indexes_deferred`),
    on PostgreSQL their foreign keys likewise (`foreign_keys_deferred`: checked by one join
    each when added again), and on SQLite a larger page cache and ``workers`` sorter threads
    meanwhile. All or nothing: a build that fails or is killed leaves the database as it was,
    indexes and keys included, and is simply run again; nothing else writes meanwhile
    (SQLite: the write lock is held; PostgreSQL: the altered tables are locked) and readers
    see the empty registry until the commit. Journal and synchronous settings are left as the
    connection has them (SQLite: WAL, NORMAL)."""
    if not fresh:

        def each(chunk: _Chunk, base: dict[str, int]) -> None:
            with db.write() as session:
                _insert_chunk(session, chunk, base)

        yield each
        return
    with db.write() as session:
        conn = session.connection()
        if db.is_sqlite:
            # This connection's settings for the load only: it is closed after the commit
            # rather than pooled (detached), so no other work gets them. The index builds at
            # the end sort in helper threads (the worker processes are done by then, so their
            # cores are free). And the commit leaves the log to the background checkpointer
            # (`db.Checkpointer`, PASSIVE, beside the window sums) instead of copying the whole
            # registry into the database file itself, while the tail waits: 5-8 s at 10,000.
            conn.connection.detach()
            for pragma, value in (
                ("cache_size", -LOAD_CACHE_KIB),
                ("threads", workers),
                ("wal_autocheckpoint", 0),
            ):
                conn.exec_driver_sql(f"PRAGMA {pragma}={int(value)}")
        with (
            indexes_deferred(session, _LOADED, only=_DEFERRED_INDEXES),
            foreign_keys_deferred(session, _LOADED),
        ):
            yield functools.partial(_insert_chunk, session)


def _make_and_write(
    spec: _Spec,
    bounds: list[tuple[int, int]],
    workers: int,
    write: Callable[[_Chunk, int], None],
) -> None:
    """Make the chunks ``bounds`` (in worker processes when there is more than one chunk and
    more than one core) and hand each to ``write`` in order, with its number of patients."""
    if len(bounds) > 1 and workers > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # At most one chunk per worker waits to be written, so memory stays bounded.
            pending: deque[tuple[Future[_Chunk], int]] = deque()
            for lo, hi in bounds:
                if len(pending) >= workers + 1:
                    future, n = pending.popleft()
                    write(future.result(), n)
                pending.append((pool.submit(_build_chunk, spec, lo, hi), hi - lo))
            while pending:
                future, n = pending.popleft()
                write(future.result(), n)
    else:
        for lo, hi in bounds:
            write(_build_chunk(spec, lo, hi), hi - lo)


def generate(
    db: Database,
    *,
    patients: int = 40,
    days: int = 180,
    seed: int = 1,
    end: dt.date | None = None,
    chunk: int = 200,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Write a demo cohort; call ``progress(n)`` after each chunk of n patients.

    Appointments are booked from ``end`` on, or without ``end`` from the clinic's today (the
    day its day list shows, which in Berlin can be a day ahead of this machine's date).

    Registry scale (issue 17): patients are made and counted in chunks, by worker processes
    (one per core) when there is more than one chunk, while this process writes the chunks in
    order through the driver (tuples, COPY on PostgreSQL); the windows are then summed once,
    set-based. Each patient's random stream is seeded by its index alone, and ids are numbered
    in patient order whatever process made them, so the data is the same for a seed however
    it is split (benchmarks/registry_build.py checks it by hash)."""
    booking_from = end
    end = end or dt.date.today()
    clinic_id, practitioner_ids, logins = ensure_demo_clinic(db)
    with db.read() as session:
        first_index = (
            session.scalar(
                select(func.count()).select_from(Patient).where(Patient.clinic_id == clinic_id)
            )
            or 0
        )
        max_pid = session.scalar(select(func.max(Patient.id))) or 0
        base = {
            "attacks": session.scalar(select(func.max(AttackRow.id))) or 0,
            "courses": session.scalar(select(func.max(CourseRow.id))) or 0,
            "sessions": session.scalar(select(func.max(TreatmentSessionRow.id))) or 0,
        }
    spec = _Spec(seed, first_index, max_pid, clinic_id, tuple(practitioner_ids), end, days)
    totals = {"days": 0, "attacks": 0}
    bounds = [(lo, min(patients, lo + chunk)) for lo in range(0, patients, chunk)]

    # The cores this process may run on (a container's CPU set, not the host's count).
    workers = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    # The collector paused meanwhile (`gcpause`): each chunk arrives as a million or so new
    # tuples, which it would otherwise walk again and again while they wait to be written.
    with (
        cycle_collection_paused(),
        _chunk_writer(db, fresh=max_pid == 0 and patients > 0, workers=workers) as insert,
    ):

        def write(part: _Chunk, n: int) -> None:
            insert(part, base)
            totals["days"] += len(part.tables["days"][1])
            totals["attacks"] += part.made["attacks"]
            if progress:
                progress(n)

        _make_and_write(spec, bounds, workers, write)

    if not db.is_sqlite and patients:
        # Planner statistics after the bulk load (autovacuum may be slow, or off): without
        # them the window sums below and the outcome queries get row estimates thousands of
        # times too low.
        with db.write() as session:
            session.execute(text("ANALYZE"))
    with db.write() as session:  # the outcome windows of the bulk-written diaries (issue 17)
        block_aggregates.rebuild_all(session)
    if not db.is_sqlite:
        with db.write() as session:
            for table in ("patients", "attacks", "courses", "treatment_sessions"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
    link_demo_patient(db, clinic_id)
    if booking_from is None:
        with db.read() as session:
            booking_from = appointments.clinic_today(session, clinic_id)
    book_demo_days(db, clinic_id, first=booking_from, seed=seed)
    return DemoResult(clinic_id, patients, totals["days"], totals["attacks"], logins)


def _day_slots(
    rng: random.Random, day: dt.date, *, full: bool = False
) -> list[tuple[dt.datetime, int]]:
    """One practitioner's slots of a day (clinic wall-clock start, minutes): back to back or
    with a short gap, inside the opening hours (``full``: a weekday's whatever the day); now
    and then a longer free stretch."""
    weekday = day.weekday()
    hours = WEEKDAY_HOURS if full or weekday < 5 else SATURDAY_HOURS if weekday == 5 else ()
    slots = []
    for opens, closes in hours:
        at = dt.datetime.combine(day, opens)
        last = dt.datetime.combine(day, closes)
        while True:
            at += dt.timedelta(minutes=rng.choice(GAPS) if rng.random() > 0.1 else 60)
            minutes = rng.choice(DURATIONS)
            if at + dt.timedelta(minutes=minutes) > last:
                break
            slots.append((at, minutes))
            at += dt.timedelta(minutes=minutes)
    return slots


def book_demo_days(db: Database, clinic_id: int, *, first: dt.date, seed: int) -> int:
    """Book each demo practitioner's days from ``first`` on (``BOOKED_DAYS`` of them) through
    the service the appointment pages use, so every rule holds (no overlap, clinic zone,
    audit). A practitioner sees their own patients first, then others of the clinic; a patient
    comes at most ``VISITS_PER_WEEK`` times and never on two days running, the ones seen least
    so far first; when no patient is left the day ends early. Nothing is booked if the
    clinic already has appointments on those days (a second ``demo`` run adds patients only).
    Returns how many were booked."""
    last = first + dt.timedelta(days=BOOKED_DAYS - 1)
    with db.write() as session:
        admin = session.scalars(
            select(User).where(User.clinic_id == clinic_id, User.role == Role.ADMIN.value)
        ).first()
        actor = (
            Actor(admin.id, clinic_id, Role.ADMIN) if admin is not None else Actor.system(clinic_id)
        )
        if appointments.between(session, actor=actor, start_day=first, days=BOOKED_DAYS):
            return 0
        patients = list(
            session.execute(
                select(Patient.id, Patient.practitioner_id)
                .where(Patient.clinic_id == clinic_id)
                .order_by(Patient.id)
            )
        )
        if not patients:
            return 0
        staff = list(
            session.scalars(
                select(User.id)
                .where(User.clinic_id == clinic_id, User.role == Role.PRACTITIONER.value)
                .order_by(User.id)
            )
        )
        rng = random.Random(seed * 1_000_003 + first.toordinal())
        visits = dict.fromkeys((pid for pid, _ in patients), 0)
        tiebreak = {pid: rng.random() for pid, _ in patients}
        last_visit: dict[int, dt.date] = {}
        booked = 0
        day = first
        while day <= last:
            # every practitioner's slots in the order of the day, so the patients left are
            # shared between them rather than the first one taking them all
            slots = sorted(
                (start, k, minutes, practitioner_id)
                for k, practitioner_id in enumerate(staff)
                for start, minutes in _day_slots(rng, day, full=day == first)
            )
            for start, _, minutes, practitioner_id in slots:
                free = [
                    (own != practitioner_id, visits[pid], tiebreak[pid], pid)
                    for pid, own in patients
                    if visits[pid] < VISITS_PER_WEEK
                    and (pid not in last_visit or (day - last_visit[pid]).days > 1)
                ]
                if not free:
                    break
                *_, pid = min(free)
                appointments.book(
                    session,
                    actor=actor,
                    patient_id=pid,
                    practitioner_id=practitioner_id,
                    start=start,
                    duration_min=minutes,
                )
                last_visit[pid] = day
                visits[pid] += 1
                booked += 1
            day += dt.timedelta(days=1)
        return booked


def link_demo_patient(db: Database, clinic_id: int) -> None:
    """Give the demo patient login the first demo patient's diary."""
    with db.write() as session:
        user = session.scalars(
            select(User).where(User.email == "patient@demo.acuhead.test")
        ).first()
        if user is None:
            return
        if session.scalars(select(Patient).where(Patient.user_id == user.id)).first():
            return
        first = session.scalars(
            select(Patient).where(Patient.clinic_id == clinic_id).order_by(Patient.id)
        ).first()
        if first is not None:
            first.user_id = user.id


def is_empty(db: Database) -> bool:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(Clinic)) or 0) == 0
