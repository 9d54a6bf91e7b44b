"""Counting diary days under a policy for a patient whose migraine diagnosis is known.

The rules, their sources and the policies are described in `acuhead.domain.dayunits`, which
re-exports everything here; `dayunits.day_units` decides the diagnosis (rule 4) when the
caller does not give it, with `acuhead.domain.diagnosis`, which in turn counts its months
(ICHD-3 1.3, 8.2) with `count_day_units` here. Kept apart so that neither of the two imports
the other in a circle.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from acuhead.domain.diary import (
    Attack,
    AuraType,
    Diary,
    Effect,
    MedClass,
    PatientFacts,
    touched_dates,
)
from acuhead.domain.ichd3 import (
    AURA_SYMPTOM_MAX_MINUTES,
    AURA_SYMPTOM_MIN_MINUTES,
    NRS_CUTOFFS,
    AttackClassification,
    IntensityCutoffs,
    classify_attack,
    classify_features,
    on_clock,
    patient_zone,
    placed_features,
)
from acuhead.errors import FieldError, ValidationError

MIGRAINE_SPECIFIC = frozenset({MedClass.TRIPTAN, MedClass.ERGOT, MedClass.GEPANT, MedClass.DITAN})
TRIPTAN_OR_ERGOT = frozenset({MedClass.TRIPTAN, MedClass.ERGOT})


@dataclass(frozen=True, slots=True)
class DayUnitsPolicy:
    """How diary days are counted. Every field names its source; [R] marks trial conventions
    CLINICAL.md reports without having checked them against the primary text.

    * ``min_duration_minutes``: shortest headache that can make a migraine day. 30 per van der
      Arend 2023 (moving from 4 h to 30 min raised MMD by 5.4 %); 240 reproduces ICHD-3 1.1 B.
    * ``headache_min_duration_minutes``: shortest headache that makes a headache day; 30 [R]
      ("any headache >= 30 min, or any treated headache" in erenumab-era trials).
    * ``treated_headache_counts``: a treated headache is a headache day whatever its length [R].
    * ``count_probable``: ICHD-3 1.5 counts probable-migraine attacks as migraine in a patient who
      already has migraine (CLINICAL.md 1.0 "Counting rule"); applied only when the patient has
      a migraine diagnosis (`day_units`' ``has_migraine``).
    * ``count_triptan_days`` with ``triptan_day_classes``: van der Arend 2023 rule 3 (triptan or
      ergot; gepant/ditan "by extension").
    * ``require_relief``: ICHD-3 1.3 C3 counts a migraine-drug day only if the drug *relieved* the
      headache (partial or good effect); van der Arend counts it "whatever its effect".
    * ``count_aura_only_days``: van der Arend 2023 rule 2 (a typical aura of 5-60 min counts on
      its own, `typical_aura`). When off, aura counts only with a headache and 1.2 B-C, as
      ICHD-3 1.3 C2 words it.
    * ``unknown_duration_counts``: whether an attack with neither end nor duration (often still
      ongoing) is taken to meet the minimum. Off by default: the day's migraine status is then
      uncertain, with the reason, not assumed (issue 12 item 8; unknown is not no, CLINICAL.md
      0.4). A recorded headache of unknown length is still a headache day: it happened.
    * ``cutoffs``: NRS bands for "moderate or severe" (see `IntensityCutoffs`).
    """

    name: str
    min_duration_minutes: int = 30
    headache_min_duration_minutes: int = 30
    treated_headache_counts: bool = True
    count_probable: bool = True
    count_triptan_days: bool = True
    triptan_day_classes: frozenset[MedClass] = MIGRAINE_SPECIFIC
    require_relief: bool = False
    count_aura_only_days: bool = True
    unknown_duration_counts: bool = False
    cutoffs: IntensityCutoffs = field(default=NRS_CUTOFFS)


VD_AREND_2023 = DayUnitsPolicy(name="vdArend2023")

# ICHD-3 1.1 B's four hours as the migraine-day minimum, for comparison with older trials.
ICHD3_4H = DayUnitsPolicy(name="ichd3-4h", min_duration_minutes=240)

# What `diagnosis` counts for ICHD-3 1.3 A and C. ICHD-3 gives no minimum duration there; 30 min is
# the shortest headache any 1.x/2.x set describes (2.1 B), used so brief twinges are not days.
ICHD3_CHRONIC_MIGRAINE = DayUnitsPolicy(
    name="ichd3-1.3",
    count_probable=False,
    triptan_day_classes=TRIPTAN_OR_ERGOT,
    require_relief=True,
    count_aura_only_days=False,
)

POLICIES: dict[str, DayUnitsPolicy] = {
    p.name: p for p in (VD_AREND_2023, ICHD3_4H, ICHD3_CHRONIC_MIGRAINE)
}


def policy_by_name(name: str) -> DayUnitsPolicy:
    """Look up a named policy, for edges that take the policy as a string."""
    try:
        return POLICIES[name]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise ValidationError(
            FieldError("policy", f"unknown day-units policy {name!r}; known: {known}")
        ) from None


class DayUnits(NamedTuple):
    """One calendar day of one patient, counted under a policy.

    ``migraine_day_uncertain`` is True when the day is not a migraine day as recorded but would be
    if missing attack details were filled in (an unknown duration, an unrecorded feature, a
    headache marked without attack details); ``uncertain_reasons`` names what is missing.
    Patient-level rules use it as an upper bound; the read-out shows ``migraine_day: null``.
    ``medication_classes`` lists the acute-drug classes taken that day (ICHD-3 8.2 counts them).

    A named tuple rather than a frozen dataclass, as `ichd3.Finding`: one is made for every day
    of every diary counted (3.65 M in a registry of 10,000 patients x 365 days, issue 17), and a
    tuple is built in C where a frozen dataclass sets its eleven fields one by one through
    ``object.__setattr__``.
    """

    date: dt.date
    recorded: bool
    migraine_day: bool = False
    headache_day: bool = False
    moderate_severe_day: bool = False
    acute_medication_day: bool = False
    migraine_specific_medication_day: bool = False
    triptan_day: bool = False
    migraine_day_uncertain: bool = False
    medication_classes: frozenset[MedClass] = frozenset()
    uncertain_reasons: tuple[str, ...] = ()

    @property
    def migraine(self) -> bool | None:
        """Three-valued: True, False, or None when uncertain (missing data could make it one)."""
        return None if self.migraine_day_uncertain else self.migraine_day

    def as_dict(self) -> dict[str, object]:
        """The `acuhead classify` shape: exactly these keys, all JSON-serialisable.
        ``migraine_day`` is null when uncertain, and ``migraine_day_uncertain_reason`` says why."""
        return {
            "date": self.date.isoformat(),
            "recorded": self.recorded,
            "migraine_day": self.migraine,
            "migraine_day_uncertain_reason": "; ".join(self.uncertain_reasons)
            if self.migraine_day_uncertain
            else None,
            "headache_day": self.headache_day,
            "moderate_severe_day": self.moderate_severe_day,
            "acute_medication_day": self.acute_medication_day,
            "migraine_specific_medication_day": self.migraine_specific_medication_day,
            "triptan_day": self.triptan_day,
        }


# --- three-valued helpers (Kleene) ---------------------------------------------------------------


def _and(*values: bool | None) -> bool | None:
    if False in values:
        return False
    return None if None in values else True


def _or(values: Iterable[bool | None]) -> bool | None:
    items = list(values)
    if True in items:
        return True
    return None if None in items else False


def _long_enough(minutes: int | None, floor: int, policy: DayUnitsPolicy) -> bool | None:
    if minutes is None:
        return True if policy.unknown_duration_counts else None
    return minutes >= floor


# ICHD-3 1.2.1 B: typical aura is visual, sensory and/or speech/language, with no motor,
# brainstem or retinal symptoms.
TYPICAL_AURA_TYPES = frozenset({AuraType.VISUAL, AuraType.SENSORY, AuraType.SPEECH})


def typical_aura(attack: Attack) -> bool | None:
    """Rule 2: the attack has a typical aura (ICHD-3 1.2.1 B) whose every symptom lasts 5 to 60
    minutes (ICHD-3 1.2 C3; van der Arend 2023 rule 2). None when a symptom's length is unknown
    and the others would allow it."""
    if not attack.aura:
        return False
    if any(s.type not in TYPICAL_AURA_TYPES for s in attack.aura):
        return False
    return _and(
        *(
            None
            if s.duration_min is None
            else AURA_SYMPTOM_MIN_MINUTES <= s.duration_min <= AURA_SYMPTOM_MAX_MINUTES
            for s in attack.aura
        )
    )


def attack_is_migraine(
    attack: Attack,
    result: AttackClassification,
    policy: DayUnitsPolicy,
    *,
    has_migraine: bool = False,
) -> bool | None:
    """Whether the attack makes its days migraine days under ``policy`` (rules 1, 2, 4 of the
    module docstring; rule 3 is about medication and is applied per day). ``has_migraine``: the
    patient has a migraine diagnosis, so probable migraine counts (rule 4)."""
    return _is_migraine(attack, attack.minutes, result, policy, has_migraine)


def _is_migraine(
    attack: Attack,
    minutes: int | None,
    result: AttackClassification,
    policy: DayUnitsPolicy,
    has_migraine: bool,
) -> bool | None:
    """`attack_is_migraine` with the elapsed length on the patient's clock given."""
    long_enough = _long_enough(minutes, policy.min_duration_minutes, policy)
    features = result.features
    rules: list[bool | None] = [_and(long_enough, features.cd)]
    if policy.count_aura_only_days:
        rules.append(typical_aura(attack))
    else:
        rules.append(_and(features.aura, result.has_headache, long_enough))
    if policy.count_probable and has_migraine:
        rules.append(_and(long_enough, features.probable))
    return _or(rules)


def attack_is_headache(
    attack: Attack, result: AttackClassification, policy: DayUnitsPolicy
) -> bool:
    """A headache-day attack: long enough, or treated when the policy counts treated headaches."""
    return _is_headache(attack, attack.minutes, result, policy)


def _is_headache(
    attack: Attack, minutes: int | None, result: AttackClassification, policy: DayUnitsPolicy
) -> bool:
    """`attack_is_headache` with the elapsed length on the patient's clock given."""
    if not result.has_headache:
        return False
    long_enough = _long_enough(minutes, policy.headache_min_duration_minutes, policy)
    treated = bool(attack.medications) or attack.treated is True
    # Unknown length: a recorded headache is a headache day (it happened; policy docstring).
    return long_enough is not False or (policy.treated_headache_counts and treated)


def _relief(effect: Effect | None) -> bool | None:
    """ICHD-3 1.3 C3 "relieved by a triptan or ergot": partial or good effect."""
    if effect is None:
        return None
    return effect in (Effect.PARTIAL, Effect.GOOD)


@dataclass(slots=True)
class _Tally:
    """What the attacks and doses that touch one day say of it (`count_day_units`)."""

    migraine: list[bool | None] = field(default_factory=list)
    headache: bool = False
    moderate_severe: bool = False
    classes: set[MedClass] = field(default_factory=set)
    has_attack: bool = False
    reasons: list[str] = field(default_factory=list)


UNKNOWN_DURATION = "attack duration not recorded"
NO_ATTACK_DETAILS = "headache marked without attack details"
UNKNOWN_RELIEF = "effect of the migraine drug not recorded"


def uncertain_reasons(attack: Attack, result: AttackClassification) -> list[str]:
    """What is missing when an attack's migraine status is unknown: its length, then the data
    the ICHD-3 result names as missing."""
    return _uncertain_reasons(attack, attack.minutes, result)


def _uncertain_reasons(
    attack: Attack, minutes: int | None, result: AttackClassification
) -> list[str]:
    """`uncertain_reasons` with the attack's length on the patient's clock given."""
    reasons = [UNKNOWN_DURATION] if minutes is None else []
    if typical_aura(attack) is None:
        reasons.append("aura: symptom duration")
    return reasons + [
        m for m in result.missing if m != "attack end or duration" and m not in CLUSTER_ONLY_DATA
    ]


# Data only ICHD-3 3.1 (cluster headache) asks for: it cannot make a day a migraine day.
CLUSTER_ONLY_DATA = frozenset(
    {"cranial autonomic signs", "pain location", "restlessness or agitation"}
)


class AttackDates(NamedTuple):
    """An attack on the patient's clock and calendar: its start and (effective) end there, its
    elapsed length, the local dates it touches and the local date each dose was taken (None:
    no time given). Worked out once per attack (`attack_dates`) and shared by `day_units`,
    `outcomes.day_records` and `outcomes.diary_extent`: they each used to place every attack
    on the patient's clock (a copy of the attack with all its times) and work out its dates
    again (issue 13 item 5)."""

    days: list[dt.date]
    doses: list[dt.date | None]
    start: dt.datetime  # aware, in the patient's zone
    end: dt.datetime | None  # `Attack.effective_end` on the patient's clock
    minutes: int | None  # `Attack.minutes` (elapsed time)
    start_utc: dt.datetime  # the start as naive UTC
    end_utc: dt.datetime | None  # the (effective) end as naive UTC


def attack_dates(attack: Attack, patient: PatientFacts) -> AttackDates:
    """The `AttackDates` of an attack, as `in_patient_zone(attack, patient)` has them (only
    its start and end are placed on the patient's clock, not every reading and dose)."""
    zone = patient_zone(patient)  # looked up once for the attack's start, end and doses
    start = on_clock(attack.start, zone)
    end = None if attack.end is None else on_clock(attack.end, zone)
    # Each instant converted to UTC once; the values are those of `Attack.local_dates`,
    # `Attack.effective_end` and `Attack.minutes` on the placed attack (a Hypothesis test
    # checks it), which converted the start three times and the end twice.
    start_utc = start.astimezone(dt.UTC)
    end_utc: dt.datetime | None = None
    minutes: int | None = None
    if end is not None:
        last_utc = end.astimezone(dt.UTC)
        end_utc, minutes = last_utc, int((last_utc - start_utc).total_seconds() // 60)
    elif attack.duration_min is not None:
        end_utc = start_utc + dt.timedelta(minutes=attack.duration_min)
        end = end_utc.astimezone(start.tzinfo)
        minutes = attack.duration_min
    return AttackDates(
        touched_dates(start, end or start, start_utc, end_utc or start_utc),
        [
            None if dose.taken_at is None else on_clock(dose.taken_at, zone).date()
            for dose in attack.medications
        ],
        start,
        end,
        minutes,
        start_utc.replace(tzinfo=None),
        None if end_utc is None else end_utc.replace(tzinfo=None),
    )


def classify_placed(
    attack: Attack,
    patient: PatientFacts,
    dates: AttackDates,
    cutoffs: IntensityCutoffs = NRS_CUTOFFS,
) -> AttackClassification:
    """`classify_attack` of an attack whose `attack_dates` are known: its start and end are not
    placed on the patient's clock a second time. ``dates.minutes`` is the features' length
    (elapsed minutes with an end, else the recorded length, as `attack_features` has it)."""
    return classify_features(
        placed_features(attack, patient, dates.start.date(), dates.minutes), cutoffs
    )


def count_day_units(
    diary: Diary,
    start: dt.date,
    end: dt.date,
    policy: DayUnitsPolicy = VD_AREND_2023,
    *,
    classifications: dict[int, AttackClassification] | None = None,
    has_migraine: bool,
    dates: Sequence[AttackDates] | None = None,
) -> list[DayUnits]:
    """`dayunits.day_units` for a patient whose migraine diagnosis is known (``has_migraine``,
    rule 4): what `diagnosis` counts its months with, and what `day_units` does once it has
    decided the diagnosis."""
    if end < start:
        raise ValidationError(FieldError("end", "end date is before start date"))
    patient = diary.patient
    # Day entries by date: whether any marks a headache (a day without an attack, or a day
    # touched only by a dose, is counted from its entry alone).
    entries: dict[dt.date, bool] = {}
    for entry in diary.days:
        if start <= entry.date <= end:
            entries[entry.date] = entries.get(entry.date, False) or entry.headache
    tallies: dict[dt.date, _Tally] = defaultdict(_Tally)
    moderate_from = policy.cutoffs.moderate_from
    triptan_classes = policy.triptan_day_classes if policy.count_triptan_days else frozenset()

    for index, attack in enumerate(diary.attacks):
        # The attack's times on the patient's clock; the rest of it is the same on any clock.
        where = attack_dates(attack, patient) if dates is None else dates[index]
        result = (
            classifications[index]
            if classifications is not None and index in classifications
            else classify_attack(attack, patient, cutoffs=policy.cutoffs)
        )
        migraine = _is_migraine(attack, where.minutes, result, policy, has_migraine)
        headache = _is_headache(attack, where.minutes, result, policy)
        peak = attack.peak
        severe_enough = headache and peak is not None and peak >= moderate_from
        reasons = _uncertain_reasons(attack, where.minutes, result) if migraine is None else []
        for day in where.days:
            if not start <= day <= end:
                continue
            tally = tallies[day]
            tally.has_attack = True
            tally.migraine.append(migraine)
            tally.reasons.extend(reasons)
            tally.headache = tally.headache or headache
            tally.moderate_severe = tally.moderate_severe or severe_enough
        for dose, taken_on in zip(attack.medications, where.doses, strict=True):
            taken = where.start.date() if taken_on is None else taken_on
            if not start <= taken <= end:
                continue
            tally = tallies[taken]
            tally.classes.add(dose.med_class)
            if dose.med_class in triptan_classes:
                relief = _relief(dose.effect) if policy.require_relief else True
                tally.migraine.append(relief)
                if relief is None:
                    tally.reasons.append(UNKNOWN_RELIEF)

    out: list[DayUnits] = []
    one_day = dt.timedelta(days=1)
    day = start
    while day <= end:
        found = tallies.get(day)
        marked = entries.get(day)  # None: no entry; else whether it marks a headache
        if found is not None:
            out.append(_touched_day(day, found, bool(marked)))
        elif marked is None:
            out.append(DayUnits(day, False))  # missing, not headache-free (CLINICAL.md 0.4)
        elif marked:  # a headache marked without attack details: migraine unknown
            out.append(DayUnits(day, True, False, True, False, False, False, False, True, _NO, _ND))
        else:
            out.append(DayUnits(day, True))
        day += one_day
    return out


_NO: frozenset[MedClass] = frozenset()  # no medication class
_ND = (NO_ATTACK_DETAILS,)


def _touched_day(day: dt.date, tally: _Tally, headache_entry: bool) -> DayUnits:
    """The units of a day that attacks or doses touch (``headache_entry``: its entry marks a
    headache)."""
    migraine = _or(tally.migraine)
    unknown_headache = headache_entry and not tally.has_attack
    classes = frozenset(tally.classes)
    uncertain = migraine is None or (unknown_headache and migraine is not True)
    reasons = [NO_ATTACK_DETAILS] if unknown_headache else tally.reasons
    return DayUnits(
        date=day,
        recorded=True,
        migraine_day=migraine is True,
        headache_day=tally.headache or unknown_headache,
        moderate_severe_day=tally.moderate_severe,
        acute_medication_day=bool(classes),
        migraine_specific_medication_day=bool(classes & MIGRAINE_SPECIFIC),
        triptan_day=MedClass.TRIPTAN in classes,
        migraine_day_uncertain=uncertain,
        medication_classes=classes,
        uncertain_reasons=tuple(sorted(set(reasons))) if uncertain else (),
    )
