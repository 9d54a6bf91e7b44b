"""The instrument registry: every spec is well formed, PHQ-9 and GAD-7 score as published, and
no Python file outside the registry names them (issue 16: an instrument is added through the
registry and its template alone).

Sources: PHQ-9, Kroenke K, Spitzer RL, Williams JB, J Gen Intern Med 2001;16:606-613 (nine
items 0-3, total 0-27, cut points 5/10/15/20); GAD-7, Spitzer RL, Kroenke K, Williams JB,
Loewe B, Arch Intern Med 2006;166:1092-1097 (seven items 0-3, total 0-21, cut points 5/10/15);
LOINC panels 44249-1 (PHQ-9) and 69737-5 (GAD-7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from acuhead.domain.instruments import BY_ID, REGISTRY, InstrumentSpec, get
from acuhead.domain.questionnaires import score
from acuhead.errors import ValidationError
from acuhead.interop.fhir import questionnaire_resource

SRC = Path(__file__).resolve().parents[2] / "src" / "acuhead"
REGISTRY_DIR = SRC / "domain" / "instruments"

PHQ9 = "Kroenke 2001: 0-3 per item, total 0-27, bands at 5/10/15/20"
GAD7 = "Spitzer 2006: 0-3 per item, total 0-21, bands at 5/10/15"


def _spread(total: int, n: int) -> list[int]:
    """n answers 0-3 adding up to ``total`` (as many 3s as fit, then the rest)."""
    out = []
    for _ in range(n):
        out.append(min(3, total))
        total -= out[-1]
    assert total == 0
    return out


@dataclass(frozen=True)
class Case:
    source: str
    instrument: str
    total: int
    band: str


CASES = [
    *(
        Case(PHQ9, "phq9", t, b)
        for t, b in [
            (0, "minimal"),
            (4, "minimal"),
            (5, "mild"),
            (9, "mild"),
            (10, "moderate"),
            (14, "moderate"),
            (15, "moderately_severe"),
            (19, "moderately_severe"),
            (20, "severe"),
            (27, "severe"),
        ]
    ),
    *(
        Case(GAD7, "gad7", t, b)
        for t, b in [
            (0, "minimal"),
            (4, "minimal"),
            (5, "mild"),
            (9, "mild"),
            (10, "moderate"),
            (14, "moderate"),
            (15, "severe"),
            (21, "severe"),
        ]
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.instrument}-{c.total}")
def test_phq9_and_gad7_bands_on_both_sides_of_every_cut_point(case: Case) -> None:
    spec = get(case.instrument)
    result = score(case.instrument, {"items": _spread(case.total, len(spec.scored_items))})
    assert (result.total, result.band) == (case.total, case.band), case.source


@pytest.mark.parametrize(
    ("name", "count", "score_range", "loinc"),
    [("PHQ-9", 9, (0, 27), "44249-1"), ("GAD-7", 7, (0, 21), "69737-5")],
)
def test_phq9_and_gad7_facts(
    name: str, count: int, score_range: tuple[int, int], loinc: str
) -> None:
    spec = get(name)
    assert len(spec.scored_items) == count and spec.score_range == score_range
    assert spec.loinc == loinc and spec.recall_period == "2 weeks"
    for item in spec.scored_items:
        assert [(c.label, c.points) for c in item.choices] == [
            ("Not at all", 0),
            ("Several days", 1),
            ("More than half the days", 2),
            ("Nearly every day", 3),
        ]
        assert item.text  # free to display (Pfizer): patients read the published wording
    words = score(name, {"items": ["nearly every day"] + ["not at all"] * (count - 1)})
    assert words.total == 3 and words.items[0] == 3


@pytest.mark.parametrize(
    ("payload", "path", "message_part"),
    [
        ({"items": [0] * 8 + [4]}, "items[8]", "PHQ-9 answer 9 must be 0-3"),
        ({"items": [0] * 8}, "items", "exactly 9 answers; got 8"),
        ({"total": 12}, "total", "send 'items'"),
        ({"items": [0] * 9, "a": 3}, "a", "not a PHQ-9 field"),
    ],
)
def test_phq9_refuses_with_the_item_and_reason(
    payload: dict[str, Any], path: str, message_part: str
) -> None:
    with pytest.raises(ValidationError) as info:
        score("phq9", payload)
    message = next(e.message for e in info.value.errors if e.path == path)
    assert message_part in message


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.id)
def test_every_spec_is_well_formed(spec: InstrumentSpec) -> None:
    low, high = spec.score_range
    # Bands cover the whole range, in order, without gaps or overlaps.
    assert spec.bands[0].low == low and spec.bands[-1].high == high
    for before, after in zip(spec.bands, spec.bands[1:], strict=False):
        assert after.low == before.high + 1, spec.id
    assert len({b.code for b in spec.bands}) == len(spec.bands)
    assert len(spec.id) <= 10  # questionnaires.instrument is String(10)
    keys = [i.key for i in spec.items]
    assert len(set(keys)) == len(keys) and "total" not in keys and "items" not in keys
    links = [i.link_id for i in spec.items]
    assert len(set(links)) == len(links) and not {"total", "band"} & set(links)
    assert get(spec.label) is spec and BY_ID[spec.id] is spec
    assert spec.licence and spec.source and spec.intro and spec.recall_prompt
    if spec.licensed_items:  # licensed wording is never shipped (CLINICAL.md 0.5)
        assert not any(i.text for i in spec.scored_items)
    if spec.since_treatment:
        assert spec.improved_bands <= {b.code for b in spec.bands}
    # The answers that score least (a reversed item scores least on its highest answer).
    least = [i.highest if i.reversed else i.lowest for i in spec.scored_items]
    assert score(spec, {"items": least}).total == low
    patient_words = [b.label for b in spec.bands]
    assert not any("_" in w for w in patient_words)  # people read words, not codes


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.id)
def test_fhir_questionnaire_from_every_spec(spec: InstrumentSpec) -> None:
    q = questionnaire_resource(spec)
    assert q["url"] == f"urn:acuhead:questionnaire:{spec.id}"
    assert [i["linkId"] for i in q["item"]] == [i.link_id for i in spec.items] + [
        "total",
        "band",
    ]
    if spec.loinc:
        assert q["code"] == [{"system": "http://loinc.org", "code": spec.loinc}]
    if spec.licensed_items:
        assert all(i["text"].startswith("Question ") for i in q["item"][: len(spec.items)])


NAMES = re.compile(r"phq[-_ ]?9|gad[-_ ]?7", re.IGNORECASE)


def test_no_python_file_outside_the_registry_names_phq9_or_gad7() -> None:
    """Issue 16: PHQ-9 and GAD-7 were added through the registry and their template alone, so
    every other layer must be finding them by looping over the registry."""
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if REGISTRY_DIR not in path.parents and NAMES.search(path.read_text("utf-8"))
    ]
    assert offenders == []
    assert NAMES.search((REGISTRY_DIR / "phq9.py").read_text("utf-8"))  # the grep can fail
