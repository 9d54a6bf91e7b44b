"""Scoring for the patient questionnaires: HIT-6, MIDAS, PSS-10 and PGIC.

Why: these are the patient-reported outcomes a headache service tracks beside the diary
(CLINICAL.md 3 lists HIT-6, MIDAS, PGIC and PSS among trial endpoints). The arithmetic is small
but easy to get subtly wrong (reverse-scored items, impossible totals, band edges), so it lives
here once, with the source beside each rule, and the API, CLI and importers all call ``score``.

Copyright: HIT-6 item wording belongs to QualityMetric/GSK (CLINICAL.md 0.5 and 4.1). This
module ships the scoring only, never the questions. A clinic with a licence loads its own item
texts with ``load_licensed_item_texts``; a total from a licensed paper form can always be
entered instead of the six answers.

Errors: invalid input raises ValidationError with one FieldError per problem, all collected so
a person can fix the whole form at once. Paths are 0-based like JSON (``items[1]``); messages
count questions from 1 the way the form does ("MIDAS question 2 must be 0-90 days; got 95").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import combinations_with_replacement
from typing import Any

from acuhead.errors import FieldError, ValidationError


class Instrument(StrEnum):
    HIT6 = "hit6"
    MIDAS = "midas"
    PSS10 = "pss10"
    PGIC = "pgic"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: Mapping[Instrument, str] = {
    Instrument.HIT6: "HIT-6",
    Instrument.MIDAS: "MIDAS",
    Instrument.PSS10: "PSS-10",
    Instrument.PGIC: "PGIC",
}

# Recall periods as the instruments define them.
RECALL_PERIODS: Mapping[Instrument, str] = {
    Instrument.HIT6: "4 weeks",  # CLINICAL.md 4.1 (NINDS CDE)
    Instrument.MIDAS: "3 months",  # CLINICAL.md 4.2 (Stewart et al. 1999, 2001)
    Instrument.PSS10: "last month",  # CLINICAL.md 4.3 (Cohen)
    Instrument.PGIC: "since start of treatment",  # anchored on the start of this course
}


def parse_instrument(name: str) -> Instrument:
    """Accept the usual spellings ("HIT-6", "hit6", "PSS_10", "pgic") for an instrument."""
    key = "".join(ch for ch in str(name).lower() if ch.isalnum())
    try:
        return Instrument(key)
    except ValueError:
        known = ", ".join(i.label for i in Instrument)
        raise ValidationError(
            FieldError("instrument", f"unknown questionnaire {name!r}; expected one of {known}")
        ) from None


@dataclass(frozen=True, slots=True)
class QuestionnaireScore:
    """A scored questionnaire. Higher totals mean worse on all four instruments.

    ``items`` are the answers as given in numbers (HIT-6 points, MIDAS days, PSS-10 0-4 before
    reversal, the PGIC choice); ``item_scores`` are what was summed (PSS-10 after reversal).
    Both are empty when a HIT-6 total was entered from a paper form (``total_entered``).
    ``band_canonical`` is False when the band comes from secondary sources, not the authors.
    """

    instrument: Instrument
    total: int
    band: str  # stable code: "severe", "III", "moderate", "much_improved"
    band_label: str  # words for people
    recall_period: str
    items: tuple[int, ...]
    item_scores: tuple[int, ...]
    score_range: tuple[int, int]
    band_canonical: bool = True
    total_entered: bool = False
    midas_a: int | None = None  # MIDAS A: headache days in 3 months, recorded, not scored
    midas_b: int | None = None  # MIDAS B: average pain 0-10, recorded, not scored


def _whole(value: object) -> int | None:
    """A whole number, or None. Booleans are refused (True is not 1 answer); 5.0 from JSON is 5."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _label_key(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").replace("_", " ").split())


def _check_count(values: Sequence[object], expected: int, what: str) -> None:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValidationError(FieldError("items", f"{what} answers must be a list"))
    if len(values) != expected:
        raise ValidationError(
            FieldError("items", f"{what} needs exactly {expected} answers; got {len(values)}")
        )


# --- HIT-6 -----------------------------------------------------------------------------------

# CLINICAL.md 4.1: points per response on the official form: 6, 8, 10, 11, 13.
HIT6_POINTS: Mapping[str, int] = {
    "never": 6,
    "rarely": 8,
    "sometimes": 10,
    "very_often": 11,
    "always": 13,
}
HIT6_ITEMS = 6
HIT6_MIN, HIT6_MAX = 36, 78  # CLINICAL.md 4.1: simple sum of six items

# Not every number in 36-78 can come from six answers (37, 39 and 77 cannot); an entered total
# that no set of answers produces is an arithmetic slip on the paper form, so it is refused.
HIT6_POSSIBLE_TOTALS: frozenset[int] = frozenset(
    sum(c) for c in combinations_with_replacement(HIT6_POINTS.values(), HIT6_ITEMS)
)


def hit6_band(total: int) -> tuple[str, str]:
    """CLINICAL.md 4.1 impact categories: <=49, 50-55, 56-59, >=60."""
    if total <= 49:
        return "little_or_none", "little or no impact"
    if total <= 55:
        return "some", "some impact"
    if total <= 59:
        return "substantial", "substantial impact"
    return "severe", "severe impact"


def _hit6_result(total: int, items: tuple[int, ...], entered: bool) -> QuestionnaireScore:
    band, label = hit6_band(total)
    return QuestionnaireScore(
        Instrument.HIT6,
        total,
        band,
        label,
        RECALL_PERIODS[Instrument.HIT6],
        items,
        items,
        (HIT6_MIN, HIT6_MAX),
        total_entered=entered,
    )


def score_hit6(responses: Sequence[str | int]) -> QuestionnaireScore:
    """Score six HIT-6 responses given as words ("never" ... "always") or their points.

    Source: CLINICAL.md 4.1, points 6/8/10/11/13, total = sum (36-78).
    """
    _check_count(responses, HIT6_ITEMS, "HIT-6")
    errors: list[FieldError] = []
    points: list[int] = []
    choices = "never, rarely, sometimes, very often, always"
    for i, raw in enumerate(responses):
        value: int | None
        if isinstance(raw, str):
            value = HIT6_POINTS.get(_label_key(raw))
        else:
            value = _whole(raw)
            if value not in HIT6_POINTS.values():
                value = None
        if value is None:
            errors.append(
                FieldError(
                    f"items[{i}]",
                    f"HIT-6 answer {i + 1} must be one of {choices} "
                    f"(or its points 6, 8, 10, 11, 13); got {raw!r}",
                )
            )
        else:
            points.append(value)
    if errors:
        raise ValidationError(errors)
    return _hit6_result(sum(points), tuple(points), entered=False)


def hit6_from_total(total: object) -> QuestionnaireScore:
    """A HIT-6 total typed in from a licensed paper form (CLINICAL.md 0.5: always allowed)."""
    value = _whole(total)
    if value is None or not HIT6_MIN <= value <= HIT6_MAX:
        raise ValidationError(
            FieldError("total", f"HIT-6 total must be {HIT6_MIN}-{HIT6_MAX}; got {total!r}")
        )
    if value not in HIT6_POSSIBLE_TOTALS:
        raise ValidationError(
            FieldError(
                "total",
                f"no set of six HIT-6 answers adds up to {value}; please re-add the form",
            )
        )
    return _hit6_result(value, (), entered=True)


def load_licensed_item_texts(text: str) -> tuple[str, ...]:
    """Read a clinic's own licensed HIT-6 item texts: exactly 6 non-empty, distinct texts.

    Accepted forms: a JSON list of strings, a JSON object ``{"items": [...]}``, or plain text
    with one item per line (blank lines and lines starting with ``#`` ignored). acuhead never
    ships these texts (CLINICAL.md 0.5, 4.1 licensing).
    """
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise ValidationError("the item file is empty; it must list the 6 licensed HIT-6 items")
    entries: list[object]
    if body[0] in "[{":
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"the item file is not valid JSON (line {exc.lineno}, column {exc.colno}): "
                f"{exc.msg}"
            ) from None
        if isinstance(parsed, dict):
            if "items" not in parsed:
                raise ValidationError(
                    FieldError("items", 'a JSON object must hold the texts under "items"')
                )
            parsed = parsed["items"]
        if not isinstance(parsed, list):
            raise ValidationError(FieldError("items", "the item texts must be a list"))
        entries = parsed
    else:
        entries = [
            line.strip()
            for line in body.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    if len(entries) != HIT6_ITEMS:
        raise ValidationError(
            FieldError(
                "items", f"expected exactly {HIT6_ITEMS} HIT-6 item texts; found {len(entries)}"
            )
        )
    errors: list[FieldError] = []
    texts: list[str] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, str):
            errors.append(FieldError(f"items[{i}]", f"item {i + 1} must be text; got {entry!r}"))
        elif not entry.strip():
            errors.append(FieldError(f"items[{i}]", f"item {i + 1} is empty"))
        elif entry.strip() in texts:
            errors.append(
                FieldError(
                    f"items[{i}]", f"item {i + 1} repeats item {texts.index(entry.strip()) + 1}"
                )
            )
        else:
            texts.append(entry.strip())
    if errors:
        raise ValidationError(errors)
    return tuple(texts)


# --- MIDAS -----------------------------------------------------------------------------------

MIDAS_ITEMS = 5
MIDAS_MAX_DAYS = 90  # CLINICAL.md 4.2 sanity rules: a day count cannot exceed 3 months
MIDAS_MAX_PAIN = 10
# Q1+Q2 <= 90 and Q3+Q4 <= 90, so Q5 <= 90 gives the maximum total.
MIDAS_MAX_TOTAL = 3 * MIDAS_MAX_DAYS


def midas_grade(total: int) -> tuple[str, str]:
    """CLINICAL.md 4.2 grades (Stewart et al.): I 0-5, II 6-10, III 11-20, IV >=21."""
    if total <= 5:
        return "I", "grade I: little or no disability"
    if total <= 10:
        return "II", "grade II: mild disability"
    if total <= 20:
        return "III", "grade III: moderate disability"
    return "IV", "grade IV: severe disability"


def score_midas(
    items: Sequence[int], *, a: int | None = None, b: int | None = None
) -> QuestionnaireScore:
    """Score MIDAS questions 1-5 (days in the last 3 months) and record A and B.

    Source: CLINICAL.md 4.2. Score = Q1+...+Q5. Checks: each 0-90; Q1+Q2 <= 90 and Q3+Q4 <= 90
    because Q2 and Q4 count only days not already counted in Q1 and Q3; A (headache days) 0-90;
    B (average pain) 0-10. A and B are kept but not scored.
    """
    _check_count(items, MIDAS_ITEMS, "MIDAS")
    errors: list[FieldError] = []
    days: list[int | None] = []
    for i, raw in enumerate(items):
        value = _whole(raw)
        if value is None or not 0 <= value <= MIDAS_MAX_DAYS:
            errors.append(
                FieldError(
                    f"items[{i}]",
                    f"MIDAS question {i + 1} must be 0-{MIDAS_MAX_DAYS} days; got {raw!r}",
                )
            )
            value = None
        days.append(value)
    for first, second in ((0, 1), (2, 3)):
        x, y = days[first], days[second]
        if x is not None and y is not None and x + y > MIDAS_MAX_DAYS:
            errors.append(
                FieldError(
                    f"items[{second}]",
                    f"MIDAS questions {first + 1} and {second + 1} together must be at most "
                    f"{MIDAS_MAX_DAYS} days (question {second + 1} counts only days not "
                    f"counted in question {first + 1}); got {x} + {y} = {x + y}",
                )
            )
    a_value = b_value = None
    if a is not None:
        a_value = _whole(a)
        if a_value is None or not 0 <= a_value <= MIDAS_MAX_DAYS:
            errors.append(
                FieldError(
                    "a",
                    f"MIDAS question A (headache days) must be 0-{MIDAS_MAX_DAYS} days; got {a!r}",
                )
            )
    if b is not None:
        b_value = _whole(b)
        if b_value is None or not 0 <= b_value <= MIDAS_MAX_PAIN:
            errors.append(
                FieldError(
                    "b",
                    f"MIDAS question B (average pain) must be 0-{MIDAS_MAX_PAIN}; got {b!r}",
                )
            )
    if errors:
        raise ValidationError(errors)
    counted = tuple(d for d in days if d is not None)
    total = sum(counted)
    grade, label = midas_grade(total)
    return QuestionnaireScore(
        Instrument.MIDAS,
        total,
        grade,
        label,
        RECALL_PERIODS[Instrument.MIDAS],
        counted,
        counted,
        (0, MIDAS_MAX_TOTAL),
        midas_a=a_value,
        midas_b=b_value,
    )


# --- PSS-10 ----------------------------------------------------------------------------------

PSS10_ITEMS = 10
# CLINICAL.md 4.3 (Cohen lab): response words and their values.
PSS10_RESPONSES: Mapping[str, int] = {
    "never": 0,
    "almost_never": 1,
    "sometimes": 2,
    "fairly_often": 3,
    "very_often": 4,
}
# CLINICAL.md 4.3: items 4, 5, 7 and 8 (counted from 1) are positively worded and reversed.
PSS10_REVERSED: frozenset[int] = frozenset({4, 5, 7, 8})


def pss10_band(total: int) -> tuple[str, str]:
    """Secondary-source bands 0-13 / 14-26 / 27-40; NOT from Cohen's papers (CLINICAL.md 4.3).

    Shown only with the words "non-canonical" so nobody mistakes them for published cut-offs.
    """
    if total <= 13:
        return "low", "low stress (non-canonical band)"
    if total <= 26:
        return "moderate", "moderate stress (non-canonical band)"
    return "high", "high stress (non-canonical band)"


def score_pss10(items: Sequence[int | str]) -> QuestionnaireScore:
    """Score PSS-10: ten answers 0-4 (or their words), reverse items 4, 5, 7, 8, sum 0-40.

    Source: CLINICAL.md 4.3 (Cohen lab scoring notes; UW-Madison ARC).
    """
    _check_count(items, PSS10_ITEMS, "PSS-10")
    errors: list[FieldError] = []
    raw_values: list[int] = []
    for i, raw in enumerate(items):
        value = PSS10_RESPONSES.get(_label_key(raw)) if isinstance(raw, str) else _whole(raw)
        if value is None or not 0 <= value <= 4:
            errors.append(
                FieldError(
                    f"items[{i}]",
                    f"PSS-10 answer {i + 1} must be 0-4 (never, almost never, sometimes, "
                    f"fairly often, very often); got {raw!r}",
                )
            )
        else:
            raw_values.append(value)
    if errors:
        raise ValidationError(errors)
    scored = tuple(
        4 - v if position in PSS10_REVERSED else v for position, v in enumerate(raw_values, start=1)
    )
    total = sum(scored)
    band, label = pss10_band(total)
    return QuestionnaireScore(
        Instrument.PSS10,
        total,
        band,
        label,
        RECALL_PERIODS[Instrument.PSS10],
        tuple(raw_values),
        scored,
        (0, 40),
        band_canonical=False,
    )


# --- PGIC ------------------------------------------------------------------------------------

# Direction chosen: 1 = very much improved ... 4 = no change ... 7 = very much worse. This is the
# 7-point improvement item of the Clinical Global Impression (Guy W, ECDEU Assessment Manual for
# Psychopharmacology, 1976, CGI-I), asked of the patient (PGIC / PGI-I). Lower is better here,
# matching "higher is worse" on HIT-6, MIDAS and PSS-10. Beware: another common PGIC (Hurst &
# Bolton, J Manipulative Physiol Ther 2004) runs 1 = no change to 7 = a great deal better;
# answers from that form must be converted before they are stored here.
PGIC_CHOICES: tuple[tuple[str, str], ...] = (
    ("very_much_improved", "very much improved"),
    ("much_improved", "much improved"),
    ("minimally_improved", "minimally improved"),
    ("no_change", "no change"),
    ("minimally_worse", "minimally worse"),
    ("much_worse", "much worse"),
    ("very_much_worse", "very much worse"),
)


def score_pgic(answer: int | str) -> QuestionnaireScore:
    """Score the single PGIC answer, 1 (very much improved) to 7 (very much worse)."""
    value: int | None
    if isinstance(answer, str):
        by_code = {code: n for n, (code, _) in enumerate(PGIC_CHOICES, start=1)}
        value = by_code.get(_label_key(answer))
    else:
        value = _whole(answer)
    if value is None or not 1 <= value <= len(PGIC_CHOICES):
        raise ValidationError(
            FieldError(
                "items[0]",
                "PGIC answer must be 1 (very much improved) to 7 (very much worse); "
                f"got {answer!r}",
            )
        )
    code, label = PGIC_CHOICES[value - 1]
    return QuestionnaireScore(
        Instrument.PGIC,
        value,
        code,
        label,
        RECALL_PERIODS[Instrument.PGIC],
        (value,),
        (value,),
        (1, len(PGIC_CHOICES)),
    )


# --- single entry point ----------------------------------------------------------------------

_FIELDS: Mapping[Instrument, frozenset[str]] = {
    Instrument.HIT6: frozenset({"items", "total"}),
    Instrument.MIDAS: frozenset({"items", "a", "b"}),
    Instrument.PSS10: frozenset({"items"}),
    Instrument.PGIC: frozenset({"items"}),
}


def score(instrument: str, payload: Mapping[str, Any]) -> QuestionnaireScore:
    """Score any supported questionnaire from an API/CLI payload.

    Payloads: ``{"items": [...]}`` for all; ``{"total": n}`` for HIT-6 only (paper form);
    MIDAS also takes ``"a"`` and ``"b"``; PGIC takes ``{"items": [n]}``.
    """
    inst = parse_instrument(instrument)
    if not isinstance(payload, Mapping):
        raise ValidationError(f"{inst.label} answers must be an object such as {{'items': [...]}}")
    allowed = _FIELDS[inst]
    errors: list[FieldError] = []
    for key in payload:
        if key == "total" and key not in allowed:
            errors.append(
                FieldError(
                    "total",
                    f"{inst.label} is scored from its answers; send 'items', not a total",
                )
            )
        elif key not in allowed:
            errors.append(
                FieldError(
                    str(key),
                    f"not a {inst.label} field; expected {', '.join(sorted(allowed))}",
                )
            )
    if errors:
        raise ValidationError(errors)

    if inst is Instrument.HIT6:
        if ("items" in payload) == ("total" in payload):
            raise ValidationError(
                FieldError("", "HIT-6 needs either the six answers ('items') or a 'total'")
            )
        if "total" in payload:
            return hit6_from_total(payload["total"])
    if "items" not in payload:
        raise ValidationError(FieldError("items", f"{inst.label} answers are required"))
    items = payload["items"]
    if inst is Instrument.HIT6:
        return score_hit6(items)
    if inst is Instrument.MIDAS:
        return score_midas(items, a=payload.get("a"), b=payload.get("b"))
    if inst is Instrument.PSS10:
        return score_pss10(items)
    _check_count(items, 1, "PGIC")
    return score_pgic(items[0])
