"""The safety item: a PHQ-9 item 9 answer above "not at all" must reach the clinic's staff.

Sources: PHQ-9 items and answers, Kroenke K, Spitzer RL, Williams JB, J Gen Intern Med
2001;16:606-613 (item 9, "Thoughts that you would be better off dead or of hurting yourself in
some way", answered 0-3); any answer above "not at all" needs a clinician whatever the total:
item 9 predicts suicide attempts and deaths beyond the total (Simon GE et al., Psychiatr Serv
2013, doi 10.1176/appi.ps.201200587), "several days" already (Louzon SA et al., Psychiatr Serv
2016, doi 10.1176/appi.ps.201500149). An unanswered item 9 is not evidence of safety: it
alerts too, worded as not answered (domain.questionnaires.safety_concern).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from acuhead.domain.instruments import BY_ID, REGISTRY
from acuhead.domain.questionnaires import check_concern_resolution, safety_concern, score
from acuhead.errors import ValidationError

PHQ9 = BY_ID["phq9"]
ON = dt.date(2026, 3, 4)


@dataclass(frozen=True)
class Case:
    items: list[int | None]  # the nine answers; None: not answered
    alert: bool
    answer: str | None  # the words of the item 9 answer in the alert; None: not answered
    why: str


CASES = [
    Case([0] * 9, False, None, "Kroenke 2001: item 9 'not at all', total 0: nothing to alert"),
    Case(
        [3, 3, 3, 3, 3, 3, 3, 3, 0],
        False,
        None,
        "item 9 at 0 with a total of 24 (severe band, Kroenke 2001): no self-harm alert; the "
        "total is read by its band",
    ),
    Case(
        [0] * 8 + [1],
        True,
        "several days",
        "item 9 'several days' with a total of 1 (minimal band): alert whatever the total "
        "(Louzon 2016: hazard ratio 1.75 against 'not at all')",
    ),
    Case([1, 1, 0, 0, 0, 0, 0, 0, 2], True, "more than half the days", "item 9 = 2: alert"),
    Case([3] * 9, True, "nearly every day", "item 9 = 3, total 27: alert"),
    Case(
        [2, 2, 1, 1, 0, 0, 0, 0, None],
        True,
        None,
        "item 9 not answered (a partly completed form): not evidence of safety, alert worded "
        "as not answered",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.why for c in CASES])
def test_item_9_alerts_whatever_the_total(case: Case) -> None:
    answers = {f"q{n}": v for n, v in enumerate(case.items, start=1) if v is not None}
    concern = safety_concern(PHQ9, answers, ON)
    assert (concern is not None) == case.alert, case.why
    if concern is None:
        return
    assert (concern.item_key, concern.item_number, concern.completed_on) == ("q9", 9, ON)
    if case.answer is None:
        assert not concern.answered and concern.answer is None
        assert concern.words == (
            "PHQ-9 item 9 (thoughts of self-harm) not answered on 4 March 2026 \u2014 an "
            "unanswered item is not a \u201cnot at all\u201d: contact the patient today and ask"
        )
    else:
        assert concern.answered and concern.answer == case.items[8]
        assert concern.words == (
            f"PHQ-9 item 9: thoughts of self-harm reported (answer: {case.answer}) on "
            "4 March 2026 \u2014 contact the patient today"
        )


def test_a_scored_response_alerts_from_its_stored_answers() -> None:
    """What the services do: score, then ask about the stored answers."""
    scored = score("PHQ-9", {"items": [0, 0, 0, 0, 0, 0, 0, 0, "several days"]})
    assert scored.total == 1 and scored.band == "minimal"
    concern = safety_concern(scored.instrument, scored.answers, ON)
    assert concern is not None and concern.answer == 1


@pytest.mark.parametrize("bad", ["several days", 4, -1, True, 1.5])
def test_an_answer_that_is_no_choice_is_not_read_as_safe(bad: object) -> None:
    """A stored value that is none of the item's points (text, out of range, a boolean) is
    worded as not answered, never as 'not at all'."""
    concern = safety_concern(PHQ9, {"q9": bad}, ON)
    assert concern is not None and not concern.answered


def test_a_total_typed_in_from_paper_is_not_read_as_safe() -> None:
    """No answers stored (a paper total): item 9 is unknown, so staff are asked to check."""
    concern = safety_concern(PHQ9, {}, ON)
    assert concern is not None and not concern.answered


def test_only_the_instruments_with_a_safety_item_alert() -> None:
    """GAD-7, HIT-6, MIDAS, PSS-10, PGIC have no safety item: their highest answers open none."""
    with_item = [s.id for s in REGISTRY if s.safety_item is not None]
    assert with_item == ["phq9"]
    for spec in REGISTRY:
        if spec.safety_item is not None:
            continue
        answers = {i.key: i.highest for i in spec.items}
        assert safety_concern(spec, answers, ON) is None, spec.id


def test_a_safety_item_is_a_scored_choice_item_of_its_spec() -> None:
    for spec in REGISTRY:
        if spec.safety_item is None:
            continue
        item = next(i for i in spec.scored_items if i.key == spec.safety_item.key)
        assert item.choices, spec.id
        assert spec.safety_item.source and spec.safety_item.action


@pytest.mark.parametrize(
    ("kind", "reason", "paths"),
    [
        ("contacted", "", {"reason"}),
        ("clearance", "phoned, safe", {"kind"}),
        ("x", "  ", {"kind", "reason"}),
    ],
)
def test_closing_a_concern_needs_a_known_kind_and_a_reason(
    kind: str, reason: str, paths: set[str]
) -> None:
    with pytest.raises(ValidationError) as exc:
        check_concern_resolution(kind, reason)
    assert {e.path for e in exc.value.errors} == paths


def test_closing_a_concern_keeps_the_reason() -> None:
    assert check_concern_resolution("contacted", " phoned; GP informed ") == (
        "contacted",
        "phoned; GP informed",
    )
