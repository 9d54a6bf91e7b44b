"""ICHD-3 classification of a single headache attack.

Reference: Headache Classification Committee of the IHS, *The International Classification of
Headache Disorders, 3rd edition*, Cephalalgia 2018;38(1):1-211 (ichd-3.org). Section numbers in the
comments below ("1.1 B", "1.2 C3") point at that text; CLINICAL.md section 1 summarises it.

What an attack-level result can and cannot say
----------------------------------------------
Every ICHD-3 set for a primary headache starts with a count ("A. At least five attacks fulfilling
B-D"). One attack cannot satisfy a count, so this module checks the per-attack criteria only
(1.1 B-D, 1.2 B-C, 2.x B-D, 3.1 B-C) and says so in the reasons; `acuhead.domain.diagnosis` applies
criterion A and the frequency rules over a diary.

Unknown is not no
-----------------
Every criterion is three-valued: True (met), False (not met) or None (cannot tell because a
feature was not recorded). Combinations follow Kleene logic, so an unknown only matters where it
could change the answer. When the result depends on an unknown, the classification names the
missing data instead of treating the gap as a negative finding (CLINICAL.md 0.4 applies the same
idea to diary days).

Conventions the diary imposes (documented because ICHD-3 does not decide them)
------------------------------------------------------------------------------
* Falling asleep: ICHD-3 1.1 note 2 ends the attack at the time of waking. The diary records that
  waking time as ``Attack.end``, so the engine reads ``end`` as given.
* Intensity: the diary uses a 0-10 numeric scale where ICHD-3 uses mild/moderate/severe; the bands
  live in `IntensityCutoffs` (configurable, see its docstring for the source).
* A recorded attack is a headache unless its peak is 0: aura-only episodes are entered with peak 0.
* Vomiting left blank while nausea is recorded as "none" is read as no vomiting: vomiting without
  any nausea is not a pattern a diary needs to cover, and reading it as unknown would make nearly
  every tension-type attack unclassifiable.
* Brainstem aura: `AuraSymptom` stores a type and free text only, so 1.2.2's ">=2 brainstem
  symptoms" is counted as the number of aura symptoms whose type is ``brainstem``.
* Aphasia always counts as unilateral (ICHD-3 1.2 notes), so a speech/language symptom satisfies
  1.2 C4 whatever its ``unilateral`` field says.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from acuhead.domain.diary import (
    Attack,
    AuraSymptom,
    AuraType,
    Diary,
    Effect,
    IntensityReading,
    Location,
    MedicationDose,
    Nausea,
    PatientFacts,
    Quality,
    Side,
    elapsed_minutes,
)
from acuhead.errors import FieldError, ValidationError

# --- thresholds from the criteria text (all [V] in CLINICAL.md 1.1-3.1) -----------------------

MIGRAINE_MIN_MINUTES = 4 * 60  # ICHD-3 1.1 B: 4-72 h
MIGRAINE_MIN_MINUTES_UNDER_18 = 2 * 60  # ICHD-3 1.1 note 3: 2-72 h in children and adolescents
MIGRAINE_MAX_MINUTES = 72 * 60  # ICHD-3 1.1 B
ADULT_AGE = 18  # ICHD-3 1.1 note 3: "aged under 18 years"
AURA_SYMPTOM_MIN_MINUTES = 5  # ICHD-3 1.2 C3
AURA_SYMPTOM_MAX_MINUTES = 60  # ICHD-3 1.2 C3
MOTOR_AURA_MAX_MINUTES = 72 * 60  # ICHD-3 1.2 notes: motor symptoms may last up to 72 h
AURA_CHARACTERISTICS_NEEDED = 3  # ICHD-3 (2018) 1.2 C: >=3 of 6 (the 2013 beta said 2 of 4)
BRAINSTEM_SYMPTOMS_NEEDED = 2  # ICHD-3 1.2.2 B
TTH_MIN_MINUTES = 30  # ICHD-3 2.1 B / 2.2 B: 30 min - 7 days
TTH_MAX_MINUTES = 7 * 24 * 60
CLUSTER_MIN_MINUTES = 15  # ICHD-3 3.1 B: 15-180 min untreated
CLUSTER_MAX_MINUTES = 180

NON_HEADACHE = "no headache recorded (peak intensity 0)"


@dataclass(frozen=True, slots=True)
class IntensityCutoffs:
    """Where a 0-10 numeric peak becomes "moderate" and "severe".

    ICHD-3 words intensity as mild/moderate/severe; CLINICAL.md 1.y asks for a documented cut-off
    when a diary uses NRS 0-10. The default bands 1-3 mild, 4-6 moderate, 7-10 severe are common
    clinical practice, not an ICHD rule [R]; Serlin et al. (Pain 1995;61:277-284) derived 5 and 7
    for cancer pain. A clinic that prefers another banding passes its own cutoffs.
    """

    moderate_from: int = 4
    severe_from: int = 7

    def __post_init__(self) -> None:
        if not 1 <= self.moderate_from <= self.severe_from <= 10:
            raise ValidationError(
                FieldError("cutoffs", "need 1 <= moderate_from <= severe_from <= 10")
            )


NRS_CUTOFFS = IntensityCutoffs()

LABELS: dict[str, str] = {
    "1.1": "Migraine without aura",
    "1.2": "Migraine with aura",
    "1.2.1": "Migraine with typical aura",
    "1.2.1.1": "Typical aura with headache",
    "1.2.1.2": "Typical aura without headache",
    "1.2.2": "Migraine with brainstem aura",
    "1.2.3": "Hemiplegic migraine",
    "1.3": "Chronic migraine",
    "1.5.1": "Probable migraine without aura",
    "1.5.2": "Probable migraine with aura",
    "2": "Tension-type headache",
    "2.1": "Infrequent episodic tension-type headache",
    "2.2": "Frequent episodic tension-type headache",
    "2.3": "Chronic tension-type headache",
    "2.4": "Probable tension-type headache",
    "3.1": "Cluster headache",
    "3.1.1": "Episodic cluster headache",
    "3.1.2": "Chronic cluster headache",
    "3.5.1": "Probable cluster headache",
    "8.2.1": "Ergotamine-overuse headache",
    "8.2.2": "Triptan-overuse headache",
    "8.2.3": "Non-opioid analgesic-overuse headache",
    "8.2.3.1": "Paracetamol (acetaminophen)-overuse headache",
    "8.2.3.2": "Non-steroidal anti-inflammatory drug (NSAID)-overuse headache",
    "8.2.4": "Opioid-overuse headache",
    "8.2.5": "Combination-analgesic-overuse headache",
    "8.2.6": "Medication-overuse headache attributed to multiple drug classes not individually "
    "overused",
    "unclassifiable": "Not classifiable from the recorded data",
}


def label(code: str) -> str:
    """Label for an ICHD-3 code; codes are stored, labels looked up (DESIGN.md data model)."""
    return LABELS.get(code, code)


# --- three-valued findings ---------------------------------------------------------------------


class Finding(NamedTuple):
    """One criterion's answer, the data it lacked, and a sentence a page can show.

    A named tuple rather than a frozen dataclass: about forty are made per attack and a large
    import classifies 100,000 attacks; a tuple is built in C, a frozen dataclass field by field
    through ``object.__setattr__`` (issue 13 item 5)."""

    value: bool | None
    missing: tuple[str, ...] = ()
    why: str = ""


def _merge(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item, None)
    return tuple(seen)


def _at_least(n: int, findings: Iterable[Finding], why: str = "") -> Finding:
    """Kleene "at least n of": unknowns decide only if they could tip the count."""
    # One pass (this runs ~20 times per attack; a large import classifies 100,000 attacks).
    yes = 0
    unknown: list[Finding] = []
    for f in findings:
        if f.value is True:
            yes += 1
        elif f.value is None:
            unknown.append(f)
    if yes >= n:
        return Finding(True, (), why) if why else _MET
    if yes + len(unknown) < n:
        return Finding(False, (), why) if why else _NOT_MET
    return Finding(None, _merge(f.missing for f in unknown), why)


_MET, _NOT_MET = Finding(True), Finding(False)  # shared: findings are immutable


def _all(findings: Iterable[Finding], why: str = "") -> Finding:
    items = findings if isinstance(findings, list) else list(findings)
    return _at_least(len(items), items, why)


def _any(findings: Iterable[Finding], why: str = "") -> Finding:
    return _at_least(1, findings, why)


def _hm(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins:02d} min"


def _yes_no(value: bool | None) -> str:
    return {True: "met", False: "not met", None: "unknown"}[value]


# --- time zone ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(FieldError("patient.timezone", f"unknown time zone {key!r}")) from exc


def local_datetime(moment: dt.datetime, patient: PatientFacts) -> dt.datetime:
    """The instant on the patient's clock, aware: diary days are local dates (DESIGN.md data
    model) and durations come from absolute time (`diary.elapsed_minutes`).

    An aware value is converted to the patient's zone. A naive value is the patient's own
    wall-clock time: the zone is attached, keeping ``fold`` so the repeated hour of an autumn
    change stays the instant it was (PEP 495).
    """
    return on_clock(moment, _zone(patient.timezone))


def patient_zone(patient: PatientFacts) -> ZoneInfo:
    """The patient's zone (ValidationError for an unknown one), for a caller that places many
    times on the patient's clock (`on_clock`)."""
    return _zone(patient.timezone)


def on_clock(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """`local_datetime` with the patient's zone looked up once (`patient_zone`)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def in_patient_zone(attack: Attack, patient: PatientFacts) -> Attack:
    """The same attack with every time on the patient's clock (aware), so that
    `Attack.local_dates()` yields the patient's calendar days and `Attack.minutes` the elapsed
    time, whatever zone or offset the times were written in.

    An attack already on that clock is returned as it is (converting it again would give an
    equal copy): a caller that places a diary on the patient's clock once
    (`diary_in_patient_zone`) spares every later step the copy, which cost several seconds
    per 100,000 attacks of an import (issue 13 item 5)."""
    zone = _zone(patient.timezone)
    if _on_clock(attack, zone):
        return attack

    def at(moment: dt.datetime) -> dt.datetime:  # `local_datetime` with the zone looked up once
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)

    def local(moment: dt.datetime | None) -> dt.datetime | None:
        return None if moment is None else at(moment)

    # Readings and doses are built directly (their few fields, in order) rather than through
    # `dataclasses.replace`, and empty parts are not rebuilt: converting a diary's attacks is
    # done once per import of 100,000 attacks (issue 13 item 5).
    return replace(
        attack,
        start=at(attack.start),
        end=local(attack.end),
        readings=attack.readings
        and tuple(IntensityReading(at(r.at), r.intensity) for r in attack.readings),
        aura=attack.aura and tuple(replace(s, onset=local(s.onset)) for s in attack.aura),
        medications=attack.medications
        and tuple(
            MedicationDose(m.name, m.med_class, local(m.taken_at), m.dose, m.effect)
            for m in attack.medications
        ),
    )


def _on_clock(attack: Attack, zone: ZoneInfo) -> bool:
    """Every time of the attack is aware and in ``zone`` (the very object: then
    `datetime.astimezone` returns it unchanged)."""
    return (
        attack.start.tzinfo is zone
        and (attack.end is None or attack.end.tzinfo is zone)
        and all(r.at.tzinfo is zone for r in attack.readings)
        and all(s.onset is None or s.onset.tzinfo is zone for s in attack.aura)
        and all(m.taken_at is None or m.taken_at.tzinfo is zone for m in attack.medications)
    )


def diary_in_patient_zone(diary: Diary) -> Diary:
    """The diary with every attack on the patient's clock (`in_patient_zone`), done once so
    that the functions that each place every attack there (day units, outcomes, diagnosis)
    find it done. Their results are the same for either diary."""
    return replace(diary, attacks=tuple(in_patient_zone(a, diary.patient) for a in diary.attacks))


# --- result type -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MigraineFeatures:
    """The three ways an attack counts as migraine when days or attacks are tallied.

    * ``cd``: meets 1.1 C and D (ICHD-3 1.3 C1; van der Arend 2023 rule 1 without duration);
    * ``aura``: meets 1.2 B and C (ICHD-3 1.3 C2);
    * ``probable``: meets all but one of 1.1 B-D, or has aura (all but one of 1.2 B-C). ICHD-3 1.5
      says such attacks are counted as migraine in a patient who already has migraine, even where
      the coding hierarchy would name them tension-type headache.
    """

    cd: bool | None
    aura: bool | None
    probable: bool | None

    @property
    def migraine_like(self) -> bool:
        return self.cd is True or self.aura is True or self.probable is True

    @property
    def possibly_migraine_like(self) -> bool:
        return not self.migraine_like and None in (self.cd, self.aura, self.probable)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AttackClassification:
    """Attack-level ICHD-3 result.

    ``status``: "meets" (meets the per-attack criteria of ``code``; criterion A is judged over the
    diary), "probable" (a 1.5/2.4 code: all but one criterion) or "unclassifiable".
    ``missing`` names the data whose absence leaves the answer open; empty means the answer would
    not change with more data. ``checks`` holds every criteria set evaluated, keyed by code family,
    so a page can show why the other candidates lost. ``reasons`` explains the result in words.

    The reasons are written when first read (`reasons`): they name the attack's own length, age
    and peak, so they are all that differs between attacks of one decision class, whose answer
    is worked out once (`classify_features`); the day units, the demo build and an import read
    only the code and the features of 100,000s of attacks (issues 13 item 5, 17). ``_reasons``
    holds them once written (or as given); ``_explained_by`` is the attack's features and
    cutoffs they are written from (`classify_uncached`, the same code as ever).
    """

    code: str
    label: str
    status: str
    criteria: dict[str, bool | None]
    missing: list[str]
    features: MigraineFeatures
    checks: dict[str, dict[str, bool | None]] = field(default_factory=dict)
    has_headache: bool = True
    _reasons: list[str] | None = field(default=None, repr=False)
    _explained_by: tuple[AttackFeatures, IntensityCutoffs] | None = field(default=None, repr=False)

    @property
    def reasons(self) -> list[str]:
        """The result in words: the criteria of the chosen code, each met or not and why, and
        what could change it."""
        if self._reasons is None:
            assert self._explained_by is not None  # one of the two is always given
            # Frozen: written once, as `functools.cached_property` would (a slots class has no
            # instance dict for it).
            object.__setattr__(self, "_reasons", classify_uncached(*self._explained_by).reasons)
        assert self._reasons is not None
        return self._reasons

    @property
    def migraine_like(self) -> bool:
        """Counts as migraine when days are tallied: 1.1 C+D, 1.2 B+C or probable migraine."""
        return self.features.migraine_like

    def __eq__(self, other: object) -> bool:
        """Equal when every public field is, the reasons included (however they were made)."""
        if not isinstance(other, AttackClassification):
            return NotImplemented
        return _public(self) == _public(other)

    __hash__ = None  # type: ignore[assignment]  # holds dicts, as before: never hashed

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in zip(_PUBLIC, _public(self), strict=True))
        return f"AttackClassification({fields})"


_PUBLIC: tuple[str, ...] = ("code", "label", "status", "criteria", "reasons", "missing")
_PUBLIC += ("features", "checks", "has_headache")


def _public(result: AttackClassification) -> tuple[object, ...]:
    """Every public field, as the dataclass had them before the reasons were written lazily."""
    return tuple(getattr(result, name) for name in _PUBLIC)


# --- criteria ----------------------------------------------------------------------------------


def _has_headache(attack: AttackFeatures) -> bool:
    peak = attack.peak
    return peak is None or peak > 0


def _treated_successfully(attack: Attack) -> bool | None:
    """Whether acute treatment may have cut the attack short.

    ICHD-3 1.1 B and 3.1 B measure the *untreated or unsuccessfully treated* duration, so a short
    attack only fails the duration criterion when nothing effective was taken. A "partial" effect
    is read as unsuccessful: the attack ran on.
    """
    if not attack.medications:
        return None if attack.treated is True else False
    effects = [dose.effect for dose in attack.medications]
    if Effect.GOOD in effects:
        return True
    return None if None in effects else False


def _short_but_treated(attack: AttackFeatures, minutes: int, minimum: int, source: str) -> Finding:
    success = attack.treated_success
    shorter = f"lasted {_hm(minutes)}, under the {_hm(minimum)} minimum ({source})"
    if success is True:
        return Finding(
            None,
            ("untreated duration (acute medication worked)",),
            f"{shorter}, but effective medication ended it, so the untreated length is unknown",
        )
    if success is None:
        return Finding(
            None, ("effect of acute medication",), f"{shorter}; treatment effect unknown"
        )
    return Finding(False, why=shorter)


def _migraine_duration(attack: AttackFeatures) -> Finding:
    """ICHD-3 1.1 B with note 2 (asleep: end = waking, see module docstring) and note 3 (<18 y).
    The attack's elapsed length and the age on its local start date come from
    `attack_features`."""
    minutes = attack.minutes
    if minutes is None:
        return Finding(None, ("attack end or duration",), "duration not recorded")
    if minutes < 0:
        raise ValidationError(FieldError("end", "attack ends before it starts"))
    if minutes > MIGRAINE_MAX_MINUTES:
        return Finding(False, why=f"lasted {_hm(minutes)}, over 72 h (ICHD-3 1.1 B)")
    age = attack.age
    if age is None:
        if minutes >= MIGRAINE_MIN_MINUTES:
            return Finding(True, why=f"lasted {_hm(minutes)}, within 4-72 h (ICHD-3 1.1 B)")
        if minutes >= MIGRAINE_MIN_MINUTES_UNDER_18:
            return Finding(
                None,
                ("date of birth",),
                f"lasted {_hm(minutes)}: enough under 18 (2-72 h) but not for adults (4-72 h)",
            )
        return _short_but_treated(attack, minutes, MIGRAINE_MIN_MINUTES_UNDER_18, "ICHD-3 1.1 B")
    if age < ADULT_AGE:
        minimum, source = MIGRAINE_MIN_MINUTES_UNDER_18, f"age {age}: ICHD-3 1.1 note 3, 2-72 h"
    else:
        minimum, source = MIGRAINE_MIN_MINUTES, f"age {age}: ICHD-3 1.1 B, 4-72 h"
    if minutes >= minimum:
        return Finding(True, why=f"lasted {_hm(minutes)} ({source})")
    return _short_but_treated(attack, minutes, minimum, source)


def _unilateral(attack: AttackFeatures) -> Finding:
    if attack.side is None:
        return Finding(None, ("side of pain",))
    return Finding(attack.side in (Side.LEFT, Side.RIGHT), why=f"side: {attack.side.value}")


def _bilateral(attack: AttackFeatures) -> Finding:
    if attack.side is None:
        return Finding(None, ("side of pain",))
    return Finding(attack.side is Side.BOTH, why=f"side: {attack.side.value}")


def _qualities(attack: AttackFeatures) -> str:
    return "quality: " + ", ".join(q.value for q in attack.quality)


def _pulsating(attack: AttackFeatures) -> Finding:
    if not attack.quality:
        return Finding(None, ("pain quality",))
    return Finding(Quality.PULSATING in attack.quality, why=_qualities(attack))


def _pressing(attack: AttackFeatures) -> Finding:
    """ICHD-3 2.1 C2: pressing or tightening, *non-pulsating*."""
    if not attack.quality:
        return Finding(None, ("pain quality",))
    return Finding(
        Quality.PRESSING in attack.quality and Quality.PULSATING not in attack.quality,
        why=_qualities(attack),
    )


def _peak_at_least(attack: AttackFeatures, floor: int) -> Finding:
    peak = attack.peak
    if peak is None:
        return Finding(None, ("peak intensity",))
    return Finding(peak >= floor, why=f"peak {peak}/10")


def _mild_or_moderate(attack: AttackFeatures, cutoffs: IntensityCutoffs) -> Finding:
    peak = attack.peak
    if peak is None:
        return Finding(None, ("peak intensity",))
    return Finding(0 < peak < cutoffs.severe_from, why=f"peak {peak}/10")


def _aggravated(attack: AttackFeatures) -> Finding:
    return Finding(
        attack.aggravated_by_activity,
        () if attack.aggravated_by_activity is not None else ("aggravation by routine activity",),
        f"worse with routine activity: {_said(attack.aggravated_by_activity)}",
    )


def _not_aggravated(attack: AttackFeatures) -> Finding:
    value = attack.aggravated_by_activity
    return Finding(
        None if value is None else not value,
        () if value is not None else ("aggravation by routine activity",),
    )


def _nausea_or_vomiting(attack: AttackFeatures) -> Finding:
    """ICHD-3 1.1 D1 (see the module docstring for blank vomiting)."""
    seen = f"nausea: {attack.nausea.value if attack.nausea else 'not recorded'}"
    if attack.vomiting is True:
        return Finding(True, why=f"{seen}, vomiting")
    if attack.nausea in (Nausea.MILD, Nausea.MODERATE, Nausea.SEVERE):
        return Finding(True, why=seen)
    if attack.nausea is Nausea.NONE:
        return Finding(False, why=seen)
    return Finding(None, ("nausea",), seen)


def _photo_and_phono(attack: AttackFeatures) -> Finding:
    """ICHD-3 1.1 D2: photophobia *and* phonophobia together; one alone is not enough."""
    return _all(
        [_flag(attack.photophobia, "photophobia"), _flag(attack.phonophobia, "phonophobia")],
        why=f"photophobia: {_said(attack.photophobia)}, phonophobia: {_said(attack.phonophobia)}",
    )


def _said(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "not recorded"}[value]


@functools.cache
def _flag(value: bool | None, name: str) -> Finding:
    """A yes/no feature; None names ``name`` as missing. Cached: findings are immutable and a
    large import asks for the same few thousands of times."""
    return Finding(value, () if value is not None else (name,))


def _no_nausea_or_vomiting(found: Finding) -> Finding:
    """ICHD-3 2.1 D1, from the attack's 1.1 D1 finding (`_nausea_or_vomiting`)."""
    return Finding(None if found.value is None else not found.value, found.missing, found.why)


def _at_most_one_of_photo_phono(both: Finding) -> Finding:
    """ICHD-3 2.1 D2: no more than one of photophobia or phonophobia; from the attack's 1.1 D2
    finding (`_photo_and_phono`)."""
    return Finding(None if both.value is None else not both.value, both.missing, both.why)


def _chronic_tth_d(attack: AttackFeatures) -> Finding:
    """ICHD-3 2.3 D: at most one of photophobia, phonophobia or mild nausea, and neither
    moderate/severe nausea nor vomiting."""
    mild = (
        Finding(None, ("nausea",))
        if attack.nausea is None
        else Finding(attack.nausea is Nausea.MILD)
    )
    signs = [
        _flag(attack.photophobia, "photophobia"),
        _flag(attack.phonophobia, "phonophobia"),
        mild,
    ]
    two_or_more = _at_least(2, signs)
    d1 = Finding(None if two_or_more.value is None else not two_or_more.value, two_or_more.missing)
    if attack.vomiting is True or attack.nausea in (Nausea.MODERATE, Nausea.SEVERE):
        d2 = Finding(False)
    elif attack.nausea is Nausea.NONE or (
        attack.nausea is Nausea.MILD and attack.vomiting is False
    ):
        d2 = Finding(True)
    else:
        d2 = Finding(None, ("nausea",) if attack.nausea is None else ("vomiting",))
    return _all([d1, d2])


# --- aura (ICHD-3 1.2) ---------------------------------------------------------------------------


def _aura_c1(attack: AttackFeatures) -> Finding:
    """1.2 C1: at least one aura symptom spreads gradually over >= 5 min."""
    return _any(
        Finding(s.gradual_spread, () if s.gradual_spread is not None else ("aura: gradual spread",))
        for s in attack.aura
    )


def _aura_c2(attack: AttackFeatures) -> Finding:
    """1.2 C2: two or more aura symptoms occur in succession (distinct onsets)."""
    if len(attack.aura) < 2:
        return Finding(False, why="fewer than two aura symptoms")
    onsets = [s.onset for s in attack.aura]
    known = {o for o in onsets if o is not None}
    if len(known) >= 2:
        return Finding(True)
    if None not in onsets:
        return Finding(False, why="all aura symptoms began together")
    return Finding(None, ("aura: onset times",))


def _aura_c3(attack: AttackFeatures) -> Finding:
    """1.2 C3: each symptom lasts 5-60 min; motor symptoms up to 72 h (1.2 notes)."""
    findings = []
    for s in attack.aura:
        if s.duration_min is None:
            findings.append(Finding(None, ("aura: symptom duration",)))
            continue
        ceiling = MOTOR_AURA_MAX_MINUTES if s.type is AuraType.MOTOR else AURA_SYMPTOM_MAX_MINUTES
        findings.append(Finding(AURA_SYMPTOM_MIN_MINUTES <= s.duration_min <= ceiling))
    return _all(findings)


def _aura_c4(attack: AttackFeatures) -> Finding:
    """1.2 C4: at least one symptom unilateral; aphasia always counts (1.2 notes)."""
    return _any(
        Finding(True)
        if s.type is AuraType.SPEECH
        else Finding(s.unilateral, () if s.unilateral is not None else ("aura: side",))
        for s in attack.aura
    )


def _aura_c5(attack: AttackFeatures) -> Finding:
    """1.2 C5: at least one positive symptom (scintillations, pins and needles)."""
    return _any(
        Finding(s.positive, () if s.positive is not None else ("aura: positive or negative",))
        for s in attack.aura
    )


def _aura_c6(attack: AttackFeatures) -> Finding:
    """1.2 C6: headache accompanies the aura or follows within 60 min."""
    found = _any(
        Finding(
            s.headache_within_60_min,
            () if s.headache_within_60_min is not None else ("aura: headache within 60 min",),
        )
        for s in attack.aura
    )
    if found.value is None and not _has_headache(attack):
        return Finding(False, why=NON_HEADACHE)
    return found


def _aura_subtype(attack: AttackFeatures, c6: Finding) -> tuple[str, str, tuple[str, ...]]:
    """Subtype of an aura meeting 1.2 B-C: code, reason, and data that would refine it."""
    types = [s.type for s in attack.aura]
    brainstem = types.count(AuraType.BRAINSTEM)
    if AuraType.MOTOR in types:
        return "1.2.3", "motor aura: any motor weakness makes it hemiplegic (ICHD-3 1.2.3)", ()
    if AuraType.RETINAL in types:
        return (
            "1.2",
            "retinal symptoms: 1.2.4 retinal migraine needs monocular phenomena confirmed by "
            "examination, so the subtype is left to the clinician",
            (),
        )
    if brainstem >= BRAINSTEM_SYMPTOMS_NEEDED:
        return (
            "1.2.2",
            f"{brainstem} brainstem aura symptoms, no motor or retinal (ICHD-3 1.2.2 B)",
            (),
        )
    if brainstem == 1:
        return (
            "1.2",
            "one brainstem symptom: not typical aura (1.2.1 allows none) and not brainstem aura "
            "(1.2.2 needs two); subtype left to the clinician",
            (),
        )
    if c6.value is True:
        return "1.2.1.1", "typical aura, headache during or within 60 min (ICHD-3 1.2.1.1)", ()
    if c6.value is False:
        return "1.2.1.2", "typical aura, no headache within 60 min (ICHD-3 1.2.1.2)", ()
    return "1.2.1", "typical aura; whether headache followed within 60 min is unknown", c6.missing


# --- the classifier ----------------------------------------------------------------------------


class _Candidate(NamedTuple):  # a named tuple for speed, as `Finding`
    code: str
    status: str
    meets: Finding
    family: str
    summary: str
    refine: tuple[str, ...] = ()
    note: str = ""


def _criteria(findings: dict[str, Finding]) -> dict[str, bool | None]:
    return {key: f.value for key, f in findings.items()}


def _explain(family: str, findings: dict[str, Finding]) -> list[str]:
    lines = []
    for key, f in findings.items():
        detail = f"; {f.why}" if f.why else ""
        lines.append(f"ICHD-3 {family} {key}: {_yes_no(f.value)}{detail}")
    return lines


class AttackFeatures(NamedTuple):
    """Everything of an attack that decides its ICHD-3 result, and nothing else: the elapsed
    length and the patient's age on the local start date instead of times and birth date, the
    effect of treatment instead of each dose, whether a location is orbital or temporal instead
    of the locations. Attacks with equal features have equal results, and attacks in the same
    decision class (`decision_class`) equal answers, so `classify_features` answers each class
    once: a diary repeats a few dozen kinds of attack, and a large import classifies 100,000 of
    them (issue 13 item 5). Field names follow `Attack`, so the criteria read either the same
    way. The four that `decision_class` takes to their class come first."""

    minutes: int | None  # elapsed, on the patient's clock (`diary.elapsed_minutes`)
    age: int | None  # on the attack's local start date (ICHD-3 1.1 note 3)
    peak: int | None
    aura: tuple[AuraSymptom, ...]
    treated_success: bool | None  # `_treated_successfully` (ICHD-3 1.1 B / 3.1 B "untreated")
    side: Side | None
    quality: tuple[Quality, ...]
    aggravated_by_activity: bool | None
    nausea: Nausea | None
    vomiting: bool | None
    photophobia: bool | None
    phonophobia: bool | None
    orbital_or_temporal: bool | None  # ICHD-3 3.1 B3; None: no location recorded
    cranial_autonomic: tuple[str, ...]
    restlessness: bool | None


_ORBITAL_OR_TEMPORAL = frozenset({Location.ORBITAL, Location.TEMPORAL})  # ICHD-3 3.1 B


def attack_features(attack: Attack, patient: PatientFacts) -> AttackFeatures:
    """The features `classify_attack` decides on (see `AttackFeatures`)."""
    # Only the start and end need the patient's clock (the local start date for the age, the
    # elapsed length): converting every reading, aura and dose time as `in_patient_zone` does
    # was a third of the cost of classifying a large import (issue 13 item 5).
    start = local_datetime(attack.start, patient)
    minutes = (
        attack.duration_min
        if attack.end is None
        else elapsed_minutes(start, local_datetime(attack.end, patient))
    )
    return placed_features(attack, patient, start.date(), minutes)


def placed_features(
    attack: Attack, patient: PatientFacts, local_start: dt.date, minutes: int | None
) -> AttackFeatures:
    """`attack_features` from the attack's local start date and elapsed minutes, for a caller
    that has placed the attack on the patient's clock already (`daycount.attack_dates`)."""
    locations = attack.locations
    return AttackFeatures(
        minutes,
        patient.age_on(local_start),
        attack.peak,
        attack.aura,
        _treated_successfully(attack),
        attack.side,
        attack.quality,
        attack.aggravated_by_activity,
        attack.nausea,
        attack.vomiting,
        attack.photophobia,
        attack.phonophobia,
        not _ORBITAL_OR_TEMPORAL.isdisjoint(locations) if locations else None,
        attack.cranial_autonomic,
        attack.restlessness,
    )


def classify_attack(
    attack: Attack, patient: PatientFacts, *, cutoffs: IntensityCutoffs = NRS_CUTOFFS
) -> AttackClassification:
    """Classify one attack against ICHD-3 1.1, 1.2, 1.5, 2, 2.4 and 3.1.

    Coding order (ICHD-3 general rules, CLINICAL.md 1.0): definite before probable; among definite
    codes, section order (aura, 1.1, 3.1, 2); among probable codes migraine before tension-type
    (ichd-3.org 2.2 / 1.5), with probable-with-aura before probable-without-aura because the aura is
    the more specific finding. If an earlier code is undecided for lack of data, the first code
    that is certainly met is returned and the missing data is named.

    The result may be shared with every attack of equal features (`classify_features`): read it,
    never change it.
    """
    return classify_features(attack_features(attack, patient), cutoffs)


@functools.lru_cache(maxsize=4096)
def classify_features(
    attack: AttackFeatures, cutoffs: IntensityCutoffs = NRS_CUTOFFS
) -> AttackClassification:
    """`classify_attack` of an attack with these features, remembered per distinct tuple (an
    import repeats a few dozen kinds of attack).

    The answer (code, criteria, missing data, features) is remembered per decision class
    (`decision_class`): every attack of a class has the same answer, so a registry build, whose
    attacks are rarely equal to the minute, classifies each class once, not each attack (issue
    17). The reasons name the attack's own length, age and peak, so each result writes its own,
    when they are read. tests/unit/test_ichd3_cache.py and test_classify_frozen.py compare the
    results with `classify_uncached` and with the answers of the code before these caches."""
    representative = decision_class(attack, cutoffs)
    if representative is None:  # refused (an end before the start), or unusual: not remembered
        return classify_uncached(attack, cutoffs)
    shared = _decide(representative, cutoffs)
    if representative is attack:
        return shared
    return AttackClassification(
        shared.code,
        shared.label,
        shared.status,
        shared.criteria,
        shared.missing,
        shared.features,
        shared.checks,
        shared.has_headache,
        None,
        (attack, cutoffs),
    )


@functools.lru_cache(maxsize=4096)
def _decide(representative: AttackFeatures, cutoffs: IntensityCutoffs) -> AttackClassification:
    """The answer for a decision class, from its representative (`decision_class`)."""
    return classify_uncached(representative, cutoffs)


# Lengths (minutes) at which some per-attack criterion changes its answer, each the first minute
# of a class: ICHD-3 3.1 B 15 min (`CLUSTER_MIN_MINUTES`), 2.1 B 30 min, 1.1 note 3 2 h under 18,
# past 3.1 B's 180 min, 1.1 B 4 h, past 1.1 B's 72 h, past 2.1 B's 7 days. Sorted.
MINUTE_CLASSES: tuple[int, ...] = (
    0,
    CLUSTER_MIN_MINUTES,
    TTH_MIN_MINUTES,
    MIGRAINE_MIN_MINUTES_UNDER_18,
    CLUSTER_MAX_MINUTES + 1,
    MIGRAINE_MIN_MINUTES,
    MIGRAINE_MAX_MINUTES + 1,
    TTH_MAX_MINUTES + 1,
)
# The same for an aura symptom's length (ICHD-3 1.2 C3: 5-60 min, motor up to 72 h).
AURA_MINUTE_CLASSES: tuple[int, ...] = (
    0,
    AURA_SYMPTOM_MIN_MINUTES,
    AURA_SYMPTOM_MAX_MINUTES + 1,
    MOTOR_AURA_MAX_MINUTES + 1,
)
# Stand-ins for aura onsets: 1.2 C2 asks only which onsets are known and whether they differ.
_ONSETS = tuple(dt.datetime(2000, 1, 1) + dt.timedelta(minutes=i) for i in range(8))


def _class_of(value: int, bounds: tuple[int, ...]) -> int:
    """The first value of ``value``'s class: the greatest bound not above it (itself when it is
    below the first bound, a value the criteria refuse or do not class)."""
    found = bisect.bisect_right(bounds, value)
    return bounds[found - 1] if found else value


@functools.lru_cache(maxsize=16)
def _peak_classes(cutoffs: IntensityCutoffs) -> tuple[int, ...]:
    """Peaks at which some criterion changes its answer: 0 is no headache, 1 mild, and the
    cutoffs' moderate and severe (1.1 C3, 2.1 C3, 3.1 B1)."""
    return (0, 1, cutoffs.moderate_from, cutoffs.severe_from)


def _aura_class(aura: tuple[AuraSymptom, ...]) -> tuple[AuraSymptom, ...]:
    """The aura as the criteria read it: each symptom's type and yes/no/unknown answers, its
    length taken to the first minute of its class, its onset to a stand-in that is equal to
    another symptom's exactly when the onsets were (1.2 C2), and no description."""
    stand_in: dict[dt.datetime, dt.datetime] = {}
    out = []
    for s in aura:
        onset = s.onset
        if onset is not None:
            onset = stand_in.setdefault(onset, _ONSETS[len(stand_in)])
        length = s.duration_min
        out.append(
            AuraSymptom(
                s.type,
                "",
                onset,
                None if length is None else _class_of(length, AURA_MINUTE_CLASSES),
                s.gradual_spread,
                s.unilateral,
                s.positive,
                s.headache_within_60_min,
            )
        )
    return tuple(out)


def decision_class(
    attack: AttackFeatures, cutoffs: IntensityCutoffs = NRS_CUTOFFS
) -> AttackFeatures | None:
    """The representative of every attack that gets the same answer as this one (all of the
    result but the reasons' wording): its features with each number taken down to the first
    value of its class.

    The criteria compare the length, the age, the peak and the aura symptoms' lengths with a few
    thresholds only (`MINUTE_CLASSES`; ICHD-3 1.1 note 3's 18 years; the cutoffs;
    `AURA_MINUTE_CLASSES`), and ask of aura onsets only whether they are known and differ, so
    attacks that fall in the same classes meet the same criteria. None for a negative length,
    which the classifier refuses."""
    minutes = attack.minutes
    if minutes is not None:
        if minutes < 0:
            return None
        minutes = _class_of(minutes, MINUTE_CLASSES)
    age = attack.age
    if age is not None:
        age = ADULT_AGE if age >= ADULT_AGE else ADULT_AGE - 1
    peak = attack.peak
    if peak is not None:
        peak = _class_of(peak, _peak_classes(cutoffs))
    if len(_ONSETS) < len(attack.aura):
        return None  # more symptoms than stand-ins (never in a diary): not remembered
    aura = _aura_class(attack.aura) if attack.aura else attack.aura
    classed = (minutes, age, peak, aura)
    if classed == attack[:4]:
        return attack
    return AttackFeatures._make(classed + attack[4:])


def classify_uncached(
    attack: AttackFeatures, cutoffs: IntensityCutoffs = NRS_CUTOFFS
) -> AttackClassification:
    """The classifier itself (see `classify_attack`), computed every time."""
    minutes = attack.minutes
    headache = _has_headache(attack)
    no_headache = Finding(False, why=NON_HEADACHE)

    # ICHD-3 1.1 B-D
    m: dict[str, Finding] = {"B": _migraine_duration(attack)}
    m["C1"] = _unilateral(attack)
    m["C2"] = _pulsating(attack)
    m["C3"] = _peak_at_least(attack, cutoffs.moderate_from)
    m["C4"] = _aggravated(attack)
    pain_features = [m["C1"], m["C2"], m["C3"], m["C4"]]
    m["C"] = _at_least(2, pain_features, f"{sum(f.value is True for f in pain_features)} of 4")
    m["D1"] = _nausea_or_vomiting(attack)
    m["D2"] = _photo_and_phono(attack)
    m["D"] = _any([m["D1"], m["D2"]])
    m_parts = [m["B"], m["C"], m["D"]] if headache else [no_headache]
    meets_11 = _all(m_parts)
    probable_11 = _at_least(2, m_parts) if headache else Finding(False, why=NON_HEADACHE)
    cd = _all([m["C"], m["D"]]) if headache else Finding(False)

    # ICHD-3 1.2 B-C (B: at least one aura symptom; recorded symptoms are taken as reversible)
    a: dict[str, Finding] = {"B": Finding(bool(attack.aura), why=f"{len(attack.aura)} symptom(s)")}
    if attack.aura:
        a["C1"] = _aura_c1(attack)
        a["C2"] = _aura_c2(attack)
        a["C3"] = _aura_c3(attack)
        a["C4"] = _aura_c4(attack)
        a["C5"] = _aura_c5(attack)
        a["C6"] = _aura_c6(attack)
        six = [a[f"C{i}"] for i in range(1, 7)]
        a["C"] = _at_least(
            AURA_CHARACTERISTICS_NEEDED, six, f"{sum(f.value is True for f in six)} of 6, need 3"
        )
    else:
        a["C"] = Finding(False, why="no aura")
    meets_12 = _all([a["B"], a["C"]])
    aura_code, aura_note, aura_refine = (
        _aura_subtype(attack, a["C6"]) if attack.aura else ("1.2", "", ())
    )

    # ICHD-3 2.1-2.2 B-D (episodic wording; 2.3 D kept in checks for the chronic form)
    t: dict[str, Finding] = {}
    t["B"] = (
        Finding(None, ("attack end or duration",))
        if minutes is None
        else Finding(TTH_MIN_MINUTES <= minutes <= TTH_MAX_MINUTES, why=_hm(minutes))
    )
    t["C1"] = _bilateral(attack)
    t["C2"] = _pressing(attack)
    t["C3"] = _mild_or_moderate(attack, cutoffs)
    t["C4"] = _not_aggravated(attack)
    tth_features = [t["C1"], t["C2"], t["C3"], t["C4"]]
    t["C"] = _at_least(2, tth_features, f"{sum(f.value is True for f in tth_features)} of 4")
    t["D1"] = _no_nausea_or_vomiting(m["D1"])
    t["D2"] = _at_most_one_of_photo_phono(m["D2"])
    t["D"] = _all([t["D1"], t["D2"]])
    t_parts = [t["B"], t["C"], t["D"]] if headache else [no_headache]
    meets_2 = _all(t_parts)
    probable_2 = _at_least(2, t_parts) if headache else Finding(False, why=NON_HEADACHE)
    chronic_d = _chronic_tth_d(attack)

    # ICHD-3 3.1 B-C (B split into its four parts so each can be explained)
    c: dict[str, Finding] = {"B1": _peak_at_least(attack, cutoffs.severe_from)}
    c["B2"] = m["C1"]  # unilateral, as 1.1 C1
    c["B3"] = (
        Finding(None, ("pain location",))
        if attack.orbital_or_temporal is None
        else Finding(attack.orbital_or_temporal, why="orbital, supraorbital and/or temporal")
    )
    if minutes is None:
        c["B4"] = Finding(None, ("attack end or duration",))
    elif minutes > CLUSTER_MAX_MINUTES:
        c["B4"] = Finding(False, why=f"lasted {_hm(minutes)}, over 180 min")
    elif minutes >= CLUSTER_MIN_MINUTES:
        c["B4"] = Finding(True, why=f"lasted {_hm(minutes)}")
    else:
        c["B4"] = _short_but_treated(attack, minutes, CLUSTER_MIN_MINUTES, "ICHD-3 3.1 B")
    c["B"] = _all([c["B1"], c["B2"], c["B3"], c["B4"]])
    c["C1"] = (
        Finding(True, why=", ".join(attack.cranial_autonomic))
        if attack.cranial_autonomic
        else Finding(None, ("cranial autonomic signs",))
    )
    c["C2"] = _flag(attack.restlessness, "restlessness or agitation")
    c["C"] = _any([c["C1"], c["C2"]])
    meets_31 = _all([c["B"], c["C"]] if headache else [no_headache])

    probable_aura = Finding(bool(attack.aura))
    features = MigraineFeatures(
        cd=cd.value,
        aura=meets_12.value,
        probable=_any([probable_11, probable_aura]).value,
    )
    checks = {
        "1.1": _criteria(m),
        "1.2": _criteria(a),
        "2": {**_criteria(t), "D (2.3)": chronic_d.value},
        "3.1": _criteria(c),
    }
    family_findings = {"1.1": m, "1.2": a, "2": t, "3.1": c}

    candidates = [
        _Candidate(aura_code, "meets", meets_12, "1.2", "B-C", aura_refine, aura_note),
        _Candidate("1.1", "meets", meets_11, "1.1", "B-D"),
        _Candidate("3.1", "meets", meets_31, "3.1", "B-C"),
        _Candidate("2", "meets", meets_2, "2", "B-D"),
        # 1.5.2 at attack level: aura present (1.2 B) but C not confirmed; A is the diary's.
        _Candidate(
            "1.5.2",
            "probable",
            _all([probable_aura, Finding(meets_12.value is not True)]),
            "1.2",
            "B (aura present) but not confirmed C",
        ),
        _Candidate("1.5.1", "probable", probable_11, "1.1", "all but one of B-D"),
        _Candidate("2.4", "probable", probable_2, "2", "all but one of B-D"),
    ]

    chosen: _Candidate | None = None
    undecided: list[_Candidate] = []
    for cand in candidates:
        if cand.meets.value is True:
            chosen = cand
            break
        if cand.meets.value is None:
            undecided.append(cand)

    reasons: list[str] = []
    missing = _merge([*(u.meets.missing for u in undecided), chosen.refine if chosen else ()])
    if chosen is not None:
        code = chosen.code
        findings = family_findings[chosen.family]
        head = f"Meets ICHD-3 {chosen.family} {chosen.summary}"
        if chosen.status == "meets":
            head += "; criterion A (number of attacks) is judged over the diary, not per attack"
        reasons.append(head)
        if chosen.note:
            reasons.append(chosen.note)
        reasons.extend(_explain(chosen.family, findings))
        status = chosen.status
        criteria = _criteria(findings)
        if chosen.family == "2" and features.probable is True:
            reasons.append(
                "Also has probable-migraine features; ICHD-3 1.5 codes tension-type headache "
                "(a definite diagnosis beats a probable one) but counts the attack as migraine "
                "in a patient with migraine"
            )
        if chosen.family == "1.2" and meets_11.value is True:
            reasons.append("The headache itself also meets 1.1 B-D")
    else:
        code = "unclassifiable"
        status = "unclassifiable"
        first = undecided[0] if undecided else candidates[1]
        criteria = _criteria(family_findings[first.family])
        if undecided:
            reasons.append(
                "Not classifiable yet: the result depends on data that was not recorded "
                "(see missing)"
            )
        else:
            reasons.append("Meets none of ICHD-3 1.1, 1.2, 1.5, 2, 2.4 or 3.1 per-attack criteria")
        reasons.extend(_explain(first.family, family_findings[first.family]))
    for u in undecided:
        reasons.append(
            f"Could be {u.code} ({label(u.code)}) if recorded: {', '.join(u.meets.missing)}"
        )

    return AttackClassification(
        code=code,
        label=label(code),
        status=status,
        criteria=criteria,
        missing=list(missing),
        features=features,
        checks=checks,
        has_headache=headache,
        _reasons=reasons,
    )
