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

from collections.abc import Mapping
from typing import Any

from acuhead.domain.instruments import REGISTRY, InstrumentSpec, get
from acuhead.domain.instruments.spec import QuestionnaireScore, score_answers

__all__ = ["REGISTRY", "InstrumentSpec", "QuestionnaireScore", "parse_instrument", "score"]


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
