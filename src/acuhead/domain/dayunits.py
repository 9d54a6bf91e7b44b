"""Diary-day units: migraine day, headache day and the medication days trials count.

There is no single binding definition of a "migraine day" (CLINICAL.md 1.x): the IHS trial
guidelines name monthly migraine days as the endpoint but leave the minimum duration and the
handling of triptan days open. The rule is therefore a policy object, and the default is the
evidence-based proposal of van der Arend, Terwindt et al., Cephalalgia 2023 (e-diary data, n=1494),
named ``vdArend2023``. A calendar day is a migraine day when any of these holds:

1. a headache of at least ``min_duration_minutes`` (30) meeting ICHD-3 1.1 C and D;
2. a typical aura of 5-60 min: every aura symptom visual, sensory or speech/language (ICHD-3
   1.2.1 typical aura) and lasting 5 to 60 minutes (ICHD-3 1.2 C3; van der Arend 2023 rule 2,
   "visual aura of 5-60 min"). A 3-minute aura, or a 90-minute one (which the engine flags for
   TIA review), is not a migraine day on its own (issue 12 item 7) - switch:
   ``count_aura_only_days``;
3. a headache treated with an acute migraine-specific drug (triptan, ergot, by extension gepant and
   ditan), whatever its effect - switch: ``count_triptan_days``;
4. an attack meeting probable migraine (1.5.x) of at least the minimum duration, **only in a
   patient who has a migraine diagnosis** (definite 1.1, 1.2 or 1.3 over the whole diary,
   `acuhead.domain.diagnosis.migraine_diagnosed`): ICHD-3 1.5 counts probable-migraine attacks
   as migraine in a patient who has migraine (CLINICAL.md 1.0 "Counting rule"); in anyone else a
   tension-type-like episode is no migraine day (issue 12 item 6) - switch: ``count_probable``.
   The model holds no practitioner-confirmed ICHD-3 diagnosis, so the diary decides.

Day rules shared by every policy:
* An attack over midnight counts on each calendar day it touches (DESIGN.md glossary), using the
  patient's local dates (`Attack.local_dates()` after conversion to the patient's time zone).
* A day is *recorded* when the diary has an entry (`DiaryDay`) for it or an attack touches it. A day
  with neither is *missing*: it is returned with ``recorded=False`` and every flag False, and must
  be left out of rates (a missing day is not headache-free, CLINICAL.md 0.4).
* A recorded day marked ``headache=True`` without any attack is a headache day whose migraine
  status is unknown (``migraine_day_uncertain``); it cannot be a moderate/severe day because no
  intensity was given.
* A medication dose counts on the local date it was taken; a dose without a time counts on the day
  the attack started.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from acuhead.domain.diary import Attack, AuraType, Diary, Effect, MedClass, PatientFacts
from acuhead.domain.ichd3 import (
    AURA_SYMPTOM_MAX_MINUTES,
    AURA_SYMPTOM_MIN_MINUTES,
    NRS_CUTOFFS,
    AttackClassification,
    IntensityCutoffs,
    classify_attack,
    in_patient_zone,
    local_datetime,
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


@dataclass(frozen=True, slots=True)
class DayUnits:
    """One calendar day of one patient, counted under a policy.

    ``migraine_day_uncertain`` is True when the day is not a migraine day as recorded but would be
    if missing attack details were filled in (an unknown duration, an unrecorded feature, a
    headache marked without attack details); ``uncertain_reasons`` names what is missing.
    Patient-level rules use it as an upper bound; the read-out shows ``migraine_day: null``.
    ``medication_classes`` lists the acute-drug classes taken that day (ICHD-3 8.2 counts them).
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
    long_enough = _long_enough(attack.minutes, policy.min_duration_minutes, policy)
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
    if not result.has_headache:
        return False
    long_enough = _long_enough(attack.minutes, policy.headache_min_duration_minutes, policy)
    treated = bool(attack.medications) or attack.treated is True
    # Unknown length: a recorded headache is a headache day (it happened; policy docstring).
    return long_enough is not False or (policy.treated_headache_counts and treated)


def _relief(effect: Effect | None) -> bool | None:
    """ICHD-3 1.3 C3 "relieved by a triptan or ergot": partial or good effect."""
    if effect is None:
        return None
    return effect in (Effect.PARTIAL, Effect.GOOD)


@dataclass
class _Tally:
    recorded: bool = False
    migraine: list[bool | None] = field(default_factory=list)
    headache: bool = False
    moderate_severe: bool = False
    classes: set[MedClass] = field(default_factory=set)
    headache_without_attack: bool = False
    has_attack: bool = False
    reasons: list[str] = field(default_factory=list)


UNKNOWN_DURATION = "attack duration not recorded"
NO_ATTACK_DETAILS = "headache marked without attack details"
UNKNOWN_RELIEF = "effect of the migraine drug not recorded"


def uncertain_reasons(attack: Attack, result: AttackClassification) -> list[str]:
    """What is missing when an attack's migraine status is unknown: its length, then the data
    the ICHD-3 result names as missing."""
    reasons = [UNKNOWN_DURATION] if attack.minutes is None else []
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
    """Where an attack falls on the patient's calendar: the local dates it touches
    (`Attack.local_dates` on the patient's clock) and the local date each dose was taken (None:
    no time given). Worked out once per attack (`attack_dates`) and shared by `day_units`,
    `outcomes.day_records` and `outcomes.diary_extent`, which each used to work it out again
    for every attack (issue 13 item 5)."""

    days: list[dt.date]
    doses: list[dt.date | None]


def attack_dates(attack: Attack, patient: PatientFacts) -> AttackDates:
    """The `AttackDates` of an attack already on the patient's clock (`in_patient_zone`)."""
    return AttackDates(
        attack.local_dates(),
        [
            None if dose.taken_at is None else local_datetime(dose.taken_at, patient).date()
            for dose in attack.medications
        ],
    )


def day_units(
    diary: Diary,
    start: dt.date,
    end: dt.date,
    policy: DayUnitsPolicy = VD_AREND_2023,
    *,
    classifications: dict[int, AttackClassification] | None = None,
    has_migraine: bool | None = None,
    dates: Sequence[AttackDates] | None = None,
) -> list[DayUnits]:
    """One `DayUnits` per calendar day from ``start`` to ``end`` inclusive, recorded or missing.

    The result depends only on what the diary holds, not on the order entries were made in: every
    per-day value is an "any of" over the attacks touching that day.
    ``classifications`` (attack index -> result) lets a caller that already classified the
    attacks avoid doing it twice.
    ``has_migraine``: whether the patient has a migraine diagnosis (rule 4). None: decided from
    this diary (`diagnosis.migraine_diagnosed`); a caller holding only part of the diary passes
    the answer for the whole diary, so stored days, outcomes and reports agree.
    ``dates``: the `attack_dates` of every attack, from a caller that has placed the diary on
    the patient's clock (`ichd3.diary_in_patient_zone`) and needs the dates too.
    """
    if end < start:
        raise ValidationError(FieldError("end", "end date is before start date"))
    patient = diary.patient
    if has_migraine is None:
        has_migraine = False
        if policy.count_probable:
            # Imported here: diagnosis counts days with this module (a policy without rule 4).
            from acuhead.domain.diagnosis import migraine_diagnosed

            has_migraine = migraine_diagnosed(diary, classifications=classifications)
    tallies: dict[dt.date, _Tally] = defaultdict(_Tally)

    for entry in diary.days:
        if start <= entry.date <= end:
            tally = tallies[entry.date]
            tally.recorded = True
            if entry.headache:
                tally.headache_without_attack = True

    for index, raw in enumerate(diary.attacks):
        if dates is None:
            attack = in_patient_zone(raw, patient)
            where = attack_dates(attack, patient)
        else:
            attack, where = raw, dates[index]
        result = (
            classifications[index]
            if classifications is not None and index in classifications
            else classify_attack(raw, patient, cutoffs=policy.cutoffs)
        )
        migraine = attack_is_migraine(attack, result, policy, has_migraine=has_migraine)
        headache = attack_is_headache(attack, result, policy)
        peak = attack.peak
        severe_enough = headache and peak is not None and peak >= policy.cutoffs.moderate_from
        reasons = uncertain_reasons(attack, result) if migraine is None else []
        for day in where.days:
            if not start <= day <= end:
                continue
            tally = tallies[day]
            tally.recorded = True
            tally.has_attack = True
            tally.migraine.append(migraine)
            tally.reasons.extend(reasons)
            tally.headache = tally.headache or headache
            tally.moderate_severe = tally.moderate_severe or severe_enough
        for dose, taken_on in zip(attack.medications, where.doses, strict=True):
            taken = attack.start.date() if taken_on is None else taken_on
            if not start <= taken <= end:
                continue
            tally = tallies[taken]
            tally.recorded = True
            tally.classes.add(dose.med_class)
            if policy.count_triptan_days and dose.med_class in policy.triptan_day_classes:
                relief = _relief(dose.effect) if policy.require_relief else True
                tally.migraine.append(relief)
                if relief is None:
                    tally.reasons.append(UNKNOWN_RELIEF)

    out: list[DayUnits] = []
    day = start
    while day <= end:
        found = tallies.get(day)
        if found is None or not found.recorded:
            out.append(DayUnits(date=day, recorded=False))
        else:
            tally = found
            migraine = _or(tally.migraine)
            unknown_headache = tally.headache_without_attack and not tally.has_attack
            classes = frozenset(tally.classes)
            uncertain = migraine is None or (unknown_headache and migraine is not True)
            reasons = [NO_ATTACK_DETAILS] if unknown_headache else list(tally.reasons)
            out.append(
                DayUnits(
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
            )
        day += dt.timedelta(days=1)
    return out
