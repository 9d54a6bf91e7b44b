"""The whole clinical read-out of one diary as plain JSON-able data (`acuhead classify`).

Kept separate from the rules so the CLI, the web page and tests share one shape:

    {"attacks":   [{"index", "code", "label", "criteria", "reasons", "missing"}],
     "diagnoses": [{"code", "label", "status", "evidence"}],
     "days":      [{"date", "recorded", "migraine_day", "headache_day", "moderate_severe_day",
                    "acute_medication_day", "migraine_specific_medication_day", "triptan_day"}]}

The range runs from the first diary entry (day or attack) to ``today`` when given, else to the
last entry. Days inside it with no entry appear with ``recorded: false``: they are missing, not
headache-free (CLINICAL.md 0.4).
"""

from __future__ import annotations

import datetime as dt

from acuhead.domain.dayunits import VD_AREND_2023, DayUnitsPolicy, day_units
from acuhead.domain.diagnosis import ICHD3_RULES, DiagnosisRules, diagnose
from acuhead.domain.diary import Diary
from acuhead.domain.ichd3 import AttackClassification, classify_attack, in_patient_zone
from acuhead.errors import FieldError, ValidationError


def diary_span(diary: Diary, today: dt.date | None = None) -> tuple[dt.date, dt.date] | None:
    """First and last date the read-out covers, or None for an empty diary."""
    dates = [d.date for d in diary.days]
    for attack in diary.attacks:
        dates.extend(in_patient_zone(attack, diary.patient).local_dates())
    if not dates:
        return None
    start = min(dates)
    end = today if today is not None else max(dates)
    if end < start:
        return None
    return start, end


def _locate(error: FieldError, index: int) -> FieldError:
    """Point an attack-level error at its place in the diary (patient fields stay as they are)."""
    if error.path.startswith("patient"):
        return error
    return FieldError(f"attacks[{index}].{error.path}", error.message)


def _attack_dict(index: int, result: AttackClassification) -> dict[str, object]:
    return {
        "index": index,
        "code": result.code,
        "label": result.label,
        "criteria": dict(result.criteria),
        "reasons": list(result.reasons),
        "missing": list(result.missing),
    }


def classify_diary(
    diary: Diary,
    *,
    policy: DayUnitsPolicy = VD_AREND_2023,
    today: dt.date | None = None,
    rules: DiagnosisRules = ICHD3_RULES,
    has_migraine: bool | None = None,
) -> dict[str, object]:
    """Attack classifications, patient-level diagnoses and day units for one diary.

    ``has_migraine``: the patient's migraine diagnosis over the whole diary when ``diary`` is a
    window of it (`dayunits.day_units`); None decides it from ``diary``."""
    results: dict[int, AttackClassification] = {}
    for index, attack in enumerate(diary.attacks):
        try:
            results[index] = classify_attack(attack, diary.patient, cutoffs=policy.cutoffs)
        except ValidationError as exc:
            raise ValidationError([_locate(e, index) for e in exc.errors]) from exc
    span = diary_span(diary, today)
    diagnoses: list[dict[str, object]] = []
    days: list[dict[str, object]] = []
    if span is not None:
        start, end = span
        reuse = results if rules.day_policy.cutoffs == policy.cutoffs else None
        found = diagnose(diary, start, end, today=today, rules=rules, classifications=reuse)
        diagnoses = [d.as_dict() for d in found]
        days = [
            u.as_dict()
            for u in day_units(
                diary, start, end, policy, classifications=results, has_migraine=has_migraine
            )
        ]
    return {
        "attacks": [_attack_dict(i, r) for i, r in sorted(results.items())],
        "diagnoses": diagnoses,
        "days": days,
    }
