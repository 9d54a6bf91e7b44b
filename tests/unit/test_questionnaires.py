"""Questionnaire scoring: HIT-6, MIDAS, PSS-10, PGIC.

Each table row names its ``source`` so a failing case points at the rule it checks. Synthetic
answers only: no HIT-6 item wording appears here (CLINICAL.md 0.5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from acuhead.domain.instruments import BY_ID
from acuhead.domain.instruments.hit6 import POSSIBLE_TOTALS as HIT6_POSSIBLE_TOTALS
from acuhead.domain.instruments.hit6 import from_total as hit6_from_total
from acuhead.domain.instruments.hit6 import load_licensed_item_texts
from acuhead.domain.instruments.midas import score_midas
from acuhead.domain.instruments.pss10 import score_pss10
from acuhead.domain.questionnaires import QuestionnaireScore, score
from acuhead.errors import ValidationError


@dataclass(frozen=True)
class Ok:
    id: str
    source: str
    instrument: str
    payload: dict[str, Any]
    total: int
    band: str


@dataclass(frozen=True)
class Bad:
    id: str
    source: str
    instrument: str
    payload: dict[str, Any]
    path: str
    message_part: str


HIT6_BANDS = "CLINICAL.md 4.1; HIT-6 impact categories"
HIT6_POINTS = "CLINICAL.md 4.1; HIT-6 points 6/8/10/11/13, total = sum"
MIDAS_GRADES = "CLINICAL.md 4.2; MIDAS grades I-IV"
MIDAS_SANITY = "CLINICAL.md 4.2; MIDAS sanity rules"
PSS = "CLINICAL.md 4.3; PSS-10 reverse items 4,5,7,8, total 0-40"
PGIC = "Guy 1976 CGI-I 7-point direction; instruments/pgic.py CHOICES"

SCORED = [
    # HIT-6 from six answers, one case on each side of every band edge.
    Ok("hit6-all-never", HIT6_POINTS, "HIT-6", {"items": ["never"] * 6}, 36, "little_or_none"),
    Ok("hit6-49", HIT6_BANDS, "hit6", {"items": [6, 8, 8, 8, 8, 11]}, 49, "little_or_none"),
    Ok("hit6-50", HIT6_BANDS, "hit6", {"items": [6, 8, 8, 8, 10, 10]}, 50, "some"),
    Ok("hit6-55", HIT6_BANDS, "hit6", {"items": [8, 8, 8, 8, 10, 13]}, 55, "some"),
    Ok("hit6-56", HIT6_BANDS, "hit6", {"items": [10, 10, 10, 10, 8, 8]}, 56, "substantial"),
    Ok("hit6-59", HIT6_BANDS, "hit6", {"items": [10, 10, 10, 10, 11, 8]}, 59, "substantial"),
    Ok("hit6-60", HIT6_BANDS, "hit6", {"items": ["sometimes"] * 6}, 60, "severe"),
    Ok(
        "hit6-words-mixed",
        HIT6_POINTS,
        "HIT-6",
        {"items": ["never", "Rarely", "sometimes", "very often", "very_often", "always"]},
        6 + 8 + 10 + 11 + 11 + 13,  # = 59
        "substantial",
    ),
    Ok("hit6-all-always", HIT6_POINTS, "HIT-6", {"items": ["always"] * 6}, 78, "severe"),
    # HIT-6 entered totals (paper form), both sides of every edge and the range ends.
    Ok(
        "hit6-total-36",
        "CLINICAL.md 0.5, 4.1; total 36-78",
        "HIT-6",
        {"total": 36},
        36,
        "little_or_none",
    ),
    Ok("hit6-total-49", HIT6_BANDS, "HIT-6", {"total": 49}, 49, "little_or_none"),
    Ok("hit6-total-50", HIT6_BANDS, "HIT-6", {"total": 50}, 50, "some"),
    Ok("hit6-total-55", HIT6_BANDS, "HIT-6", {"total": 55}, 55, "some"),
    Ok("hit6-total-56", HIT6_BANDS, "HIT-6", {"total": 56}, 56, "substantial"),
    Ok("hit6-total-59", HIT6_BANDS, "HIT-6", {"total": 59}, 59, "substantial"),
    Ok("hit6-total-60", HIT6_BANDS, "HIT-6", {"total": 60}, 60, "severe"),
    Ok("hit6-total-78", "CLINICAL.md 0.5, 4.1; total 36-78", "HIT-6", {"total": 78}, 78, "severe"),
    # MIDAS grades, both sides of each edge.
    Ok("midas-0", MIDAS_GRADES, "MIDAS", {"items": [0, 0, 0, 0, 0]}, 0, "I"),
    Ok("midas-5", MIDAS_GRADES, "MIDAS", {"items": [1, 1, 1, 1, 1]}, 5, "I"),
    Ok("midas-6", MIDAS_GRADES, "MIDAS", {"items": [2, 1, 1, 1, 1]}, 6, "II"),
    Ok("midas-10", MIDAS_GRADES, "MIDAS", {"items": [2, 2, 2, 2, 2]}, 10, "II"),
    Ok("midas-11", MIDAS_GRADES, "MIDAS", {"items": [3, 2, 2, 2, 2]}, 11, "III"),
    Ok("midas-20", MIDAS_GRADES, "MIDAS", {"items": [4, 4, 4, 4, 4]}, 20, "III"),
    Ok("midas-21", MIDAS_GRADES, "MIDAS", {"items": [5, 4, 4, 4, 4]}, 21, "IV"),
    Ok("midas-max", MIDAS_SANITY, "MIDAS", {"items": [45, 45, 90, 0, 90]}, 270, "IV"),
    # PSS-10 (bands are non-canonical, edges still tested).
    Ok("pss-min", PSS, "PSS-10", {"items": [0, 0, 0, 4, 4, 0, 4, 4, 0, 0]}, 0, "low"),
    Ok("pss-max", PSS, "pss10", {"items": [4, 4, 4, 0, 0, 4, 0, 0, 4, 4]}, 40, "high"),
    Ok("pss-13", PSS, "PSS-10", {"items": [4, 4, 4, 4, 4, 1, 4, 4, 0, 0]}, 13, "low"),
    Ok("pss-14", PSS, "PSS-10", {"items": [4, 4, 4, 4, 4, 2, 4, 4, 0, 0]}, 14, "moderate"),
    Ok("pss-26", PSS, "PSS-10", {"items": [4, 4, 4, 0, 2, 4, 4, 4, 4, 0]}, 26, "moderate"),
    Ok("pss-27", PSS, "PSS-10", {"items": [4, 4, 4, 0, 1, 4, 4, 4, 4, 0]}, 27, "high"),
    Ok(
        "pss-words",
        PSS,
        "PSS-10",
        {"items": ["never", "almost never", "sometimes", "fairly often", "very often"] * 2},
        # raw 0,1,2,3,4,0,1,2,3,4 -> scored 0,1,2,1,0,0,3,2,3,4
        16,
        "moderate",
    ),
    # PGIC
    Ok("pgic-1", PGIC, "PGIC", {"items": [1]}, 1, "very_much_improved"),
    Ok("pgic-4", PGIC, "PGIC", {"items": [4]}, 4, "no_change"),
    Ok("pgic-7", PGIC, "PGIC", {"items": [7]}, 7, "very_much_worse"),
    Ok("pgic-word", PGIC, "pgic", {"items": ["much worse"]}, 6, "much_worse"),
]


@pytest.mark.parametrize("case", SCORED, ids=lambda c: c.id)
def test_score_total_and_band(case: Ok) -> None:
    result = score(case.instrument, case.payload)
    assert result.total == case.total, case.source
    assert result.band == case.band, case.source


REFUSED = [
    Bad("hit6-total-35", "CLINICAL.md 4.1; range 36-78", "HIT-6", {"total": 35}, "total", "36-78"),
    Bad(
        "hit6-total-79",
        "CLINICAL.md 4.1; 79 is above the maximum",
        "HIT-6",
        {"total": 79},
        "total",
        "36-78",
    ),
    Bad("hit6-total-37-impossible", HIT6_POINTS, "HIT-6", {"total": 37}, "total", "adds up to 37"),
    Bad("hit6-total-text", "CLINICAL.md 4.1", "HIT-6", {"total": "60"}, "total", "36-78"),
    Bad("hit6-total-bool", "CLINICAL.md 4.1", "HIT-6", {"total": True}, "total", "36-78"),
    Bad(
        "hit6-five-answers",
        HIT6_POINTS,
        "HIT-6",
        {"items": ["never"] * 5},
        "items",
        "exactly 6 answers; got 5",
    ),
    Bad(
        "hit6-bad-word",
        HIT6_POINTS,
        "HIT-6",
        {"items": ["never"] * 5 + ["often"]},
        "items[5]",
        "HIT-6 answer 6 must be one of",
    ),
    Bad(
        "hit6-bad-points", HIT6_POINTS, "HIT-6", {"items": [6, 7, 6, 6, 6, 6]}, "items[1]", "got 7"
    ),
    Bad(
        "hit6-items-and-total",
        "questionnaires.score contract",
        "HIT-6",
        {"items": ["never"] * 6, "total": 36},
        "",
        "either",
    ),
    Bad("hit6-neither", "questionnaires.score contract", "HIT-6", {}, "", "either"),
    Bad(
        "midas-q2-95",
        MIDAS_SANITY,
        "MIDAS",
        {"items": [0, 95, 0, 0, 0]},
        "items[1]",
        "MIDAS question 2 must be 0-90 days; got 95",
    ),
    Bad(
        "midas-negative",
        MIDAS_SANITY,
        "MIDAS",
        {"items": [-1, 0, 0, 0, 0]},
        "items[0]",
        "MIDAS question 1 must be 0-90 days; got -1",
    ),
    Bad(
        "midas-q1-q2-91",
        MIDAS_SANITY,
        "MIDAS",
        {"items": [50, 41, 0, 0, 0]},
        "items[1]",
        "50 + 41 = 91",
    ),
    Bad(
        "midas-q3-q4-91",
        MIDAS_SANITY,
        "MIDAS",
        {"items": [0, 0, 90, 1, 0]},
        "items[3]",
        "questions 3 and 4 together",
    ),
    Bad(
        "midas-q5-91", MIDAS_SANITY, "MIDAS", {"items": [0, 0, 0, 0, 91]}, "items[4]", "question 5"
    ),
    Bad("midas-a-91", MIDAS_SANITY, "MIDAS", {"items": [0] * 5, "a": 91}, "a", "0-90"),
    Bad("midas-b-11", MIDAS_SANITY, "MIDAS", {"items": [0] * 5, "b": 11}, "b", "0-10"),
    Bad("midas-b-negative", MIDAS_SANITY, "MIDAS", {"items": [0] * 5, "b": -1}, "b", "0-10"),
    Bad("midas-four-items", MIDAS_SANITY, "MIDAS", {"items": [0] * 4}, "items", "exactly 5"),
    Bad(
        "midas-total-refused",
        "brief: totals are HIT-6 only",
        "MIDAS",
        {"total": 12},
        "total",
        "send 'items'",
    ),
    Bad(
        "midas-fraction", MIDAS_SANITY, "MIDAS", {"items": [1.5, 0, 0, 0, 0]}, "items[0]", "got 1.5"
    ),
    Bad(
        "pss-5",
        PSS,
        "PSS-10",
        {"items": [0, 0, 5, 0, 0, 0, 0, 0, 0, 0]},
        "items[2]",
        "PSS-10 answer 3 must be 0-4",
    ),
    Bad("pss-nine", PSS, "PSS-10", {"items": [0] * 9}, "items", "exactly 10"),
    Bad(
        "pss-unknown-field",
        "questionnaires.score contract",
        "PSS-10",
        {"items": [0] * 10, "a": 1},
        "a",
        "not a PSS-10 field",
    ),
    Bad("pgic-0", PGIC, "PGIC", {"items": [0]}, "items[0]", "1 (very much improved) to 7"),
    Bad("pgic-8", PGIC, "PGIC", {"items": [8]}, "items[0]", "got 8"),
    Bad("pgic-two", PGIC, "PGIC", {"items": [1, 2]}, "items", "exactly 1"),
    Bad("pgic-items-text", PGIC, "PGIC", {"items": "1"}, "items", "must be a list"),
    Bad(
        "unknown-instrument",
        "questionnaires.parse_instrument",
        "MSQ",
        {"items": []},
        "instrument",
        "unknown questionnaire 'MSQ'",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_invalid_answers_are_refused_with_path(case: Bad) -> None:
    with pytest.raises(ValidationError) as info:
        score(case.instrument, case.payload)
    paths = [e.path for e in info.value.errors]
    assert case.path in paths, (case.source, info.value.errors)
    message = next(e.message for e in info.value.errors if e.path == case.path)
    assert case.message_part in message, (case.source, message)


def test_all_item_errors_are_reported_together() -> None:
    # MIDAS sanity rules (CLINICAL.md 4.2): the person sees every problem at once.
    with pytest.raises(ValidationError) as info:
        score_midas([95, 0, 0, 0, 100], a=91, b=11)
    assert [e.path for e in info.value.errors] == ["items[0]", "items[4]", "a", "b"]


def test_midas_pair_limits_are_inclusive() -> None:
    # CLINICAL.md 4.2: Q1+Q2 <= 90 and Q3+Q4 <= 90, so exactly 90 is allowed.
    result = score_midas([45, 45, 60, 30, 0], a=90, b=10)
    assert result.total == 180
    assert dict(result.recorded) == {"a": 90, "b": 10}


def test_pss10_reverse_scoring_hand_computed() -> None:
    # CLINICAL.md 4.3. Raw answers 2,1,3,3,4,0,1,4,2,2. Items 4,5,7,8 reversed (4 - answer):
    # item 4: 3->1, item 5: 4->0, item 7: 1->3, item 8: 4->0.
    # Scored 2+1+3+1+0+0+3+0+2+2 = 14; the unreversed sum would be 22.
    result = score_pss10([2, 1, 3, 3, 4, 0, 1, 4, 2, 2])
    assert result.item_scores == (2, 1, 3, 1, 0, 0, 3, 0, 2, 2)
    assert result.items == (2, 1, 3, 3, 4, 0, 1, 4, 2, 2)
    assert result.total == 14
    assert result.band == "moderate"


def test_pss10_bands_are_labelled_non_canonical() -> None:
    # CLINICAL.md 4.3: the 0-13/14-26/27-40 bands are secondary, not Cohen's.
    result = score("PSS-10", {"items": [0] * 10})
    assert result.band_canonical is False
    assert "non-canonical" in result.band_label


@pytest.mark.parametrize(
    ("instrument", "payload", "recall", "score_range"),
    [
        ("HIT-6", {"total": 60}, "4 weeks", (36, 78)),  # CLINICAL.md 4.1
        ("MIDAS", {"items": [0] * 5}, "3 months", (0, 270)),  # CLINICAL.md 4.2
        ("PSS-10", {"items": [0] * 10}, "last month", (0, 40)),  # CLINICAL.md 4.3
        ("PGIC", {"items": [4]}, "since start of treatment", (1, 7)),  # brief, Guy 1976
    ],
)
def test_recall_period_and_range(
    instrument: str, payload: dict[str, Any], recall: str, score_range: tuple[int, int]
) -> None:
    result = score(instrument, payload)
    assert result.recall_period == recall
    assert result.score_range == score_range


def test_hit6_entered_total_is_marked_and_has_no_items() -> None:
    result = hit6_from_total(58)
    assert result == QuestionnaireScore(
        BY_ID["hit6"],
        58,
        "substantial",
        "substantial impact",
        "4 weeks",
        (),
        (),
        (36, 78),
        total_entered=True,
    )


def test_hit6_answers_keep_points() -> None:
    result = score(
        "hit-6", {"items": ["never", "rarely", "sometimes", "very often", "always", "never"]}
    )
    assert result.items == (6, 8, 10, 11, 13, 6)
    assert result.total_entered is False


def test_hit6_possible_totals() -> None:
    # Sums of six answers from {6, 8, 10, 11, 13}: every total 36-78 except 37, 39 and 77.
    assert set(range(36, 79)) - HIT6_POSSIBLE_TOTALS == {37, 39, 77}
    assert min(HIT6_POSSIBLE_TOTALS) == 36
    assert max(HIT6_POSSIBLE_TOTALS) == 78


def test_midas_a_and_b_recorded_not_scored() -> None:
    # CLINICAL.md 4.2: A and B are recorded, not added to the score.
    result = score("MIDAS", {"items": [1, 2, 3, 4, 5], "a": 30, "b": 7})
    assert result.total == 15
    assert result.band == "III"
    assert dict(result.recorded) == {"a": 30, "b": 7}


def test_payload_must_be_an_object() -> None:
    with pytest.raises(ValidationError):
        score("HIT-6", [36])  # type: ignore[arg-type]


# --- licensed HIT-6 item texts (CLINICAL.md 0.5, 4.1 licensing) -----------------------------

SIX = [f"Licensed item {n}" for n in range(1, 7)]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps(SIX), id="json-list"),
        pytest.param(json.dumps({"items": SIX}), id="json-object"),
        pytest.param("\ufeff# clinic copy, licence 123\n\n" + "\n".join(SIX) + "\n", id="lines"),
    ],
)
def test_load_licensed_item_texts(text: str) -> None:
    assert load_licensed_item_texts(text) == tuple(SIX)


@pytest.mark.parametrize(
    ("text", "path", "message_part"),
    [
        pytest.param(json.dumps(SIX[:5]), "items", "exactly 6", id="five"),
        pytest.param("\n".join([*SIX, "extra"]), "items", "found 7", id="seven-lines"),
        pytest.param(json.dumps([*SIX[:5], "  "]), "items[5]", "item 6 is empty", id="blank"),
        pytest.param(json.dumps([*SIX[:5], 6]), "items[5]", "must be text", id="number"),
        pytest.param(json.dumps([*SIX[:5], SIX[0]]), "items[5]", "repeats item 1", id="dup"),
        pytest.param('["a", "b",', "", "not valid JSON", id="broken-json"),
        pytest.param(json.dumps({"texts": SIX}), "items", '"items"', id="wrong-key"),
        pytest.param("   \n", "", "empty", id="empty"),
    ],
)
def test_load_licensed_item_texts_errors(text: str, path: str, message_part: str) -> None:
    with pytest.raises(ValidationError) as info:
        load_licensed_item_texts(text)
    assert [e.path for e in info.value.errors] == [path]
    assert message_part in info.value.errors[0].message
