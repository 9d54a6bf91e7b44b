"""The headache diary as value types: days, attacks, aura, acute medication, regimens.

These types are the vocabulary every other layer speaks. They are plain frozen
dataclasses with no I/O so the clinical rules can be tested on hand-written diaries.

Unknown is not the same as no: a feature the patient did not record is ``None``, so the
ICHD-3 engine can say "unclassifiable: nausea not recorded" instead of silently
treating a gap as a negative finding (DESIGN.md glossary: a missing day is not a
headache-free day; the same holds for a missing feature).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"


class Location(StrEnum):
    FRONTAL = "frontal"
    TEMPORAL = "temporal"
    OCCIPITAL = "occipital"
    VERTEX = "vertex"
    ORBITAL = "orbital"
    NECK = "neck"


class Quality(StrEnum):
    PULSATING = "pulsating"
    PRESSING = "pressing"
    STABBING = "stabbing"
    OTHER = "other"


class Nausea(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class AuraType(StrEnum):
    """ICHD-3 1.2 B lists these six kinds of fully reversible aura symptom."""

    VISUAL = "visual"
    SENSORY = "sensory"
    SPEECH = "speech"
    MOTOR = "motor"
    BRAINSTEM = "brainstem"
    RETINAL = "retinal"


class MedClass(StrEnum):
    """Acute-medication classes as ICHD-3 8.2 separates them for overuse thresholds."""

    SIMPLE_ANALGESIC = "simple_analgesic"
    NSAID = "nsaid"
    PARACETAMOL = "paracetamol"
    TRIPTAN = "triptan"
    ERGOT = "ergot"
    OPIOID = "opioid"
    COMBINATION_ANALGESIC = "combination_analgesic"
    GEPANT = "gepant"
    DITAN = "ditan"
    ANTIEMETIC = "antiemetic"
    OTHER = "other"


class Effect(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    GOOD = "good"


class RegimenKind(StrEnum):
    DRUG = "drug"
    NON_DRUG = "non_drug"


# Curated trigger vocabulary; free text is allowed beside it. Kept short so the diary form
# stays a few taps (USERS.md: logging must be quick).
CURATED_TRIGGERS: tuple[str, ...] = (
    "stress",
    "poor sleep",
    "too much sleep",
    "skipped meal",
    "dehydration",
    "alcohol",
    "caffeine",
    "menstruation",
    "weather",
    "bright light",
    "noise",
    "smell",
    "screen time",
    "physical exertion",
    "neck strain",
    "travel",
    "let-down after stress",
)


@dataclass(frozen=True, slots=True)
class IntensityReading:
    at: dt.datetime
    intensity: int  # 0-10 numeric rating scale


@dataclass(frozen=True, slots=True)
class AuraSymptom:
    type: AuraType
    symptom: str = ""
    onset: dt.datetime | None = None
    duration_min: int | None = None
    gradual_spread: bool | None = None  # spreads gradually over >= 5 min (ICHD-3 1.2 C1)
    unilateral: bool | None = None
    positive: bool | None = None  # scintillations, pins and needles (ICHD-3 1.2 notes)
    headache_within_60_min: bool | None = None


@dataclass(frozen=True, slots=True)
class MedicationDose:
    name: str
    med_class: MedClass
    taken_at: dt.datetime | None = None
    dose: str | None = None
    effect: Effect | None = None


@dataclass(frozen=True, slots=True)
class Attack:
    """One headache episode.

    ``end`` is None while the attack is ongoing. Where a patient records only a
    duration (the diary document allows ``duration_min`` without times), ``start`` may
    be a date at midnight and ``duration_min`` carries the length. By ICHD-3 1.1 note,
    if the patient fell asleep and woke without the headache, the attack ends on
    waking: the diary records that time as ``end``.
    """

    start: dt.datetime
    end: dt.datetime | None = None
    duration_min: int | None = None
    peak_intensity: int | None = None
    readings: tuple[IntensityReading, ...] = ()
    side: Side | None = None
    locations: tuple[Location, ...] = ()
    quality: tuple[Quality, ...] = ()
    aggravated_by_activity: bool | None = None
    nausea: Nausea | None = None
    vomiting: bool | None = None
    photophobia: bool | None = None
    phonophobia: bool | None = None
    osmophobia: bool | None = None
    aura: tuple[AuraSymptom, ...] = ()
    cranial_autonomic: tuple[str, ...] = ()
    restlessness: bool | None = None
    triggers: tuple[str, ...] = ()
    medications: tuple[MedicationDose, ...] = ()
    treated: bool | None = None  # ICHD-3 1.1 B counts untreated/unsuccessfully treated duration
    # SNNOOP10 item codes the patient reported with this attack (e.g. "thunderclap", "fever");
    # the red-flag screen reads them (Do et al., Neurology 2019).
    warning_signs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A naive time is the patient's wall clock, an aware one an instant: with one of each
        # the attack's length depends on a zone neither gives, and every rule reading it would
        # fail on it later (the time rules below), so it is refused here, with words.
        if self.end is not None and (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError(
                "an attack's start and end must both give a UTC offset or both leave it out"
            )

    @property
    def peak(self) -> int | None:
        """Peak intensity: the recorded peak, else the highest reading."""
        if self.peak_intensity is not None:
            return self.peak_intensity
        if self.readings:
            return max(r.intensity for r in self.readings)
        return None

    @property
    def minutes(self) -> int | None:
        """Elapsed duration in whole minutes, from times when both are known, else the recorded
        length. Computed from absolute time (`elapsed_minutes`): across a daylight-saving
        change the hour gained or lost counts as it passed (see docs/clinical-rules.md)."""
        if self.end is not None:
            return elapsed_minutes(self.start, self.end)
        return self.duration_min

    @property
    def effective_end(self) -> dt.datetime | None:
        """The end as recorded, else the start plus the recorded length in elapsed time, on
        the start's clock (an aware start gives an aware end in the same zone)."""
        if self.end is not None:
            return self.end
        if self.duration_min is not None:
            return add_elapsed(self.start, dt.timedelta(minutes=self.duration_min))
        return None

    def local_dates(self) -> list[dt.date]:
        """Every calendar day the attack touches (an attack over midnight counts on each day).

        The dates are those of the attack's own clock: call it on `in_patient_zone(attack)` to
        get the patient's local dates (DESIGN.md data model: days are local dates)."""
        last = self.effective_end or self.start
        return touched_dates(self.start, last, to_utc(self.start), to_utc(last))


def touched_dates(
    start: dt.datetime, last: dt.datetime, start_utc: dt.datetime, last_utc: dt.datetime
) -> list[dt.date]:
    """`Attack.local_dates` from a start and (effective) end and their instants in UTC, for a
    caller that has the instants already (`daycount.attack_dates`: each conversion once)."""
    if last_utc < start_utc:
        last = start
    # An attack ending exactly at midnight does not touch the next day.
    elif last_utc > start_utc and last.time() == _MIDNIGHT:
        last = last - _ONE_MICROSECOND
    d, final = start.date(), last.date()
    if d == final:  # most attacks (this runs for every attack of a 100,000-attack import)
        return [d]
    days = []
    while d <= final:
        days.append(d)
        d += _ONE_DAY
    return days


_MIDNIGHT = dt.time(0, 0)
_ONE_MICROSECOND = dt.timedelta(microseconds=1)
_ONE_DAY = dt.timedelta(days=1)


# --- time rules -----------------------------------------------------------------------------
# Instants are aware datetimes; every duration is computed from absolute time (UTC), and days are
# given to local dates in the patient's zone (issue 12 item 5). Python subtracts two datetimes
# that share one tzinfo object by their wall clocks, which is an hour off across a daylight-saving
# change (00:00+01:00 to 04:30+02:00 in Europe/Berlin on 2026-03-29 is 3 h 30 min, not 4 h 30),
# so arithmetic goes through UTC here. A naive datetime has no zone of its own: the clinical
# engine first places it on the patient's clock (`ichd3.in_patient_zone`, which keeps ``fold``
# for the repeated autumn hour); only a naive value used on its own is read by its wall clock.


def to_utc(moment: dt.datetime) -> dt.datetime:
    """The instant in UTC (aware); a naive value is returned as it is (no zone to convert)."""
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment


def elapsed_minutes(start: dt.datetime, end: dt.datetime) -> int:
    """Whole minutes elapsed from ``start`` to ``end``, in absolute time."""
    return int((to_utc(end) - to_utc(start)).total_seconds() // 60)


def add_elapsed(moment: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """``moment`` plus ``delta`` of elapsed time, on the same clock as ``moment``."""
    if moment.tzinfo is None:
        return moment + delta
    return (moment.astimezone(dt.UTC) + delta).astimezone(moment.tzinfo)


@dataclass(frozen=True, slots=True)
class DiaryDay:
    """One recorded calendar day. A day absent from the diary is missing, not headache-free."""

    date: dt.date
    headache: bool
    stress: int | None = None  # 0-10
    sleep_hours: float | None = None
    neck_tension: int | None = None  # 0-10
    menstruating: bool | None = None
    notes: str = ""
    triggers: tuple[str, ...] = ()
    recorded_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Regimen:
    """A preventive course (drug or not) so before/after periods are explicit."""

    name: str
    kind: RegimenKind
    start: dt.date
    stop: dt.date | None = None
    dose: str | None = None


@dataclass(frozen=True, slots=True)
class SafetyProfile:
    """What the prescription safety checks need to know about the patient (CLINICAL.md 7.3)."""

    pregnant: bool = False
    anticoagulant: bool = False
    bleeding_disorder: bool = False
    pacemaker: bool = False  # or any implanted electrical device
    needle_phobia: bool = False
    fainting_history: bool = False
    low_bmi: bool = False  # thin build over the lung apex: GB21 depth
    # After childbirth: SNNOOP10 P6 is "pregnancy or puerperium" (CLINICAL.md 2 item 11; the
    # length of the period is not in CLINICAL.md, so the clinician judges it).
    puerperium: bool = False


# The safety profile in words (record page, session and prescription pages).
SAFETY_LABELS: dict[str, str] = {
    "pregnant": "pregnant",
    "anticoagulant": "takes an anticoagulant",
    "bleeding_disorder": "bleeding disorder",
    "pacemaker": "pacemaker or other implanted device",
    "needle_phobia": "needle phobia",
    "fainting_history": "has fainted before",
    "low_bmi": "thin build (low BMI)",
    "puerperium": "puerperium (after childbirth)",
}
SEX_LABELS: dict[Sex, str] = {
    Sex.FEMALE: "female",
    Sex.MALE: "male",
    Sex.OTHER: "other",
    Sex.UNKNOWN: "not recorded",
}


@dataclass(frozen=True, slots=True)
class PatientFacts:
    birth_date: dt.date | None
    sex: Sex = Sex.UNKNOWN
    timezone: str = "UTC"
    safety: SafetyProfile = field(default_factory=SafetyProfile)

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass(frozen=True, slots=True)
class Diary:
    """A patient's diary as the clinical engine sees it."""

    patient: PatientFacts
    days: tuple[DiaryDay, ...] = ()
    attacks: tuple[Attack, ...] = ()
    regimens: tuple[Regimen, ...] = field(default_factory=tuple)
