"""Scoring for the patient questionnaires, one entry point for the API, CLI, pages and imports.

Why: these are the patient-reported outcomes a headache service tracks beside the diary
(CLINICAL.md 3 lists them among the trial endpoints). What each instrument
is (items, choices, reversal, bands, ranges, codes, licence) lives in its spec in
``domain/instruments/``; this module only finds the spec and runs the generic scoring, so no
caller needs to know which instruments exist.

Errors: invalid input raises ValidationError with one FieldError per problem, all collected so
a person can fix the whole form at once. Paths are 0-based like JSON (``items[1]``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from acuhead.domain.instruments import REGISTRY, InstrumentSpec, get
from acuhead.domain.instruments.spec import QuestionnaireScore, score_answers, whole
from acuhead.errors import FieldError, ValidationError

__all__ = [
    "CONCERN_RESOLUTIONS",
    "REGISTRY",
    "InstrumentSpec",
    "QuestionnaireScore",
    "SafetyConcern",
    "check_concern_resolution",
    "parse_instrument",
    "safety_concern",
    "score",
]


def parse_instrument(name: str) -> InstrumentSpec:
    """Accept an instrument's id, label or usual spellings (any case, with or without "-")."""
    return get(name)


def score(instrument: str | InstrumentSpec, payload: Mapping[str, Any]) -> QuestionnaireScore:
    """Score any registered questionnaire from an API/CLI/import payload.

    Payloads: ``{"items": [...]}`` (the scored answers in order) plus any recorded item by its
    key; ``{"total": n}`` instead of the items where the spec allows a typed-in total.
    """
    spec = instrument if isinstance(instrument, InstrumentSpec) else get(instrument)
    return score_answers(spec, payload)


# --- the safety item: an answer that must reach the clinic's staff ---------------------------


@dataclass(frozen=True, slots=True)
class SafetyConcern:
    """A stored response whose safety item needs a clinician (``InstrumentSpec.safety_item``).

    ``answer`` is the item's points and ``answer_label`` its words; both None when the item was
    not answered (``answered`` False). ``words`` is what staff read on the dashboard, the day
    list and the patient page; it names the instrument, the item, the answer and the date,
    nothing else about the patient.
    """

    instrument: str  # the spec's id
    item_key: str
    item_number: int
    completed_on: dt.date
    answer: int | None
    answer_label: str | None
    words: str

    @property
    def answered(self) -> bool:
        return self.answer is not None


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"


def safety_concern(
    spec: InstrumentSpec, answers: Mapping[str, Any], completed_on: dt.date
) -> SafetyConcern | None:
    """Whether a stored response of ``spec`` needs a clinician because of its safety item.

    * The item answered at its lowest ("not at all"): None, whatever the total (a total of 24
      with the self-harm item at 0 opens no alert; the band is read as usual).
    * Any answer above it ("several days" or more): a concern, whatever the total, a total of
      1 included (the sources are in the instrument's module under ``instruments/``).
    * Not answered, or an answer that is none of the item's choices (a partly completed form, a
      row stored before the item was asked, a total typed in from paper): a concern too, worded
      as not answered. An unanswered question about self-harm is not evidence of safety, and
      people do leave this one out; the clinic asks, rather than the record staying silent.

    ``answers`` are the stored answers by item key (points). No safety item: None.
    """
    item = spec.safety_item
    if item is None:
        return None
    number, question = next(
        (n, i) for n, i in enumerate(spec.scored_items, start=1) if i.key == item.key
    )
    value = whole(answers.get(item.key))
    choice = next((c for c in question.choices if c.points == value), None)
    if choice is not None and choice.points == question.lowest:
        return None
    if choice is None:
        words = (
            f"{spec.label} item {number} ({item.concern}) not answered on {_day(completed_on)} "
            f"\u2014 an unanswered item is not a \u201cnot at all\u201d: {item.action} and ask"
        )
        return SafetyConcern(spec.id, item.key, number, completed_on, None, None, words)
    words = (
        f"{spec.label} item {number}: {item.concern} reported (answer: {choice.label.lower()}) "
        f"on {_day(completed_on)} \u2014 {item.action}"
    )
    return SafetyConcern(
        spec.id, item.key, number, completed_on, choice.points, choice.label, words
    )


# How staff close a safety-item alert: they spoke with the patient (what was agreed is the
# reason), or referred them (GP, crisis or mental-health service). A reason is always kept.
CONCERN_RESOLUTIONS: Mapping[str, str] = {
    "contacted": "Contacted the patient: spoke with them and recorded what was agreed",
    "referral": "Referred: to the GP, a crisis or a mental-health service",
}


def check_concern_resolution(kind: str, reason: str) -> tuple[str, str]:
    """The kind and the stripped reason of a safety-item alert's closing, or 422 naming each
    problem (an unknown kind; an empty reason: who was contacted and what was agreed is the
    record)."""
    errors: list[FieldError] = []
    if kind not in CONCERN_RESOLUTIONS:
        errors.append(
            FieldError(
                "kind", f"must be {' or '.join(map(repr, CONCERN_RESOLUTIONS))}; got {kind!r}"
            )
        )
    if not isinstance(reason, str) or not reason.strip():
        errors.append(FieldError("reason", "say what was done: it is kept in the record"))
    if errors:
        raise ValidationError(errors)
    return kind, reason.strip()
