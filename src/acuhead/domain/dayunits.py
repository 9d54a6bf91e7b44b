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
from collections.abc import Sequence

from acuhead.domain.daycount import (
    CLUSTER_ONLY_DATA,
    ICHD3_4H,
    ICHD3_CHRONIC_MIGRAINE,
    MIGRAINE_SPECIFIC,
    NO_ATTACK_DETAILS,
    POLICIES,
    TRIPTAN_OR_ERGOT,
    TYPICAL_AURA_TYPES,
    UNKNOWN_DURATION,
    UNKNOWN_RELIEF,
    VD_AREND_2023,
    AttackDates,
    DayUnits,
    DayUnitsPolicy,
    attack_dates,
    attack_is_headache,
    attack_is_migraine,
    count_day_units,
    policy_by_name,
    typical_aura,
    uncertain_reasons,
)
from acuhead.domain.diagnosis import migraine_diagnosed
from acuhead.domain.diary import Diary
from acuhead.domain.ichd3 import AttackClassification
from acuhead.errors import FieldError, ValidationError


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
    ``dates``: the `attack_dates` of every attack, from a caller that needs them too.
    """
    if end < start:
        raise ValidationError(FieldError("end", "end date is before start date"))
    if has_migraine is None:
        has_migraine = policy.count_probable and migraine_diagnosed(
            diary, classifications=classifications
        )
    return count_day_units(
        diary,
        start,
        end,
        policy,
        classifications=classifications,
        has_migraine=has_migraine,
        dates=dates,
    )


__all__ = [
    "CLUSTER_ONLY_DATA",
    "ICHD3_4H",
    "ICHD3_CHRONIC_MIGRAINE",
    "MIGRAINE_SPECIFIC",
    "NO_ATTACK_DETAILS",
    "POLICIES",
    "TRIPTAN_OR_ERGOT",
    "TYPICAL_AURA_TYPES",
    "UNKNOWN_DURATION",
    "UNKNOWN_RELIEF",
    "VD_AREND_2023",
    "AttackDates",
    "DayUnits",
    "DayUnitsPolicy",
    "attack_dates",
    "attack_is_headache",
    "attack_is_migraine",
    "count_day_units",
    "day_units",
    "policy_by_name",
    "typical_aura",
    "uncertain_reasons",
]
