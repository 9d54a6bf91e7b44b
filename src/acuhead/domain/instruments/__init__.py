"""The instrument registry: every questionnaire acuhead knows, one module each.

Every layer (API schema, pages, schedule, outcomes, report, FHIR, imports) loops over
``REGISTRY`` and reads the spec; nothing outside this package names an instrument. To add one:
write a module with its ``SPEC`` (see ``spec.py`` and ARCHITECTURE.md "Adding an instrument")
and list it below. The order here is the order people are asked in when several are due on one
day: the headache impact first.
"""

from __future__ import annotations

from collections.abc import Mapping

from acuhead.domain.instruments import gad7, hit6, midas, pgic, phq9, pss10
from acuhead.domain.instruments.spec import (
    Band,
    Choice,
    InstrumentSpec,
    Item,
    PairLimit,
    QuestionnaireScore,
    SafetyItem,
    label_key,
)
from acuhead.errors import FieldError, ValidationError

REGISTRY: tuple[InstrumentSpec, ...] = (
    hit6.SPEC,
    midas.SPEC,
    pss10.SPEC,
    pgic.SPEC,
    phq9.SPEC,
    gad7.SPEC,
)
BY_ID: Mapping[str, InstrumentSpec] = {s.id: s for s in REGISTRY}
ORDER: Mapping[InstrumentSpec, int] = {s: n for n, s in enumerate(REGISTRY)}

_SPELLINGS: Mapping[str, InstrumentSpec] = {
    "".join(ch for ch in name.lower() if ch.isalnum()): s
    for s in REGISTRY
    for name in (s.id, s.label, *s.aliases)
}


def get(name: str) -> InstrumentSpec:
    """The spec for an id or a usual spelling ("HIT-6", "hit6", "PSS_10"), else 422 naming
    the known ones."""
    spec = _SPELLINGS.get("".join(ch for ch in str(name).lower() if ch.isalnum()))
    if spec is None:
        known = ", ".join(s.label for s in REGISTRY)
        raise ValidationError(
            FieldError("instrument", f"unknown questionnaire {name!r}; expected one of {known}")
        )
    return spec


__all__ = [
    "BY_ID",
    "ORDER",
    "REGISTRY",
    "Band",
    "Choice",
    "InstrumentSpec",
    "Item",
    "PairLimit",
    "QuestionnaireScore",
    "SafetyItem",
    "get",
    "label_key",
]
