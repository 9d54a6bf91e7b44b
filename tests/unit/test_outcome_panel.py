"""The outcome panel's wording of the outcomes JSON (acuhead.web.outcome_panel): numbers as
the clinician reads them, responder status, and the within-patient association of a diary
measure with headache days, which must stay an association with its interval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from acuhead.analytics.results import Association
from acuhead.domain.mechanisms import block_association as compute_association
from acuhead.domain.stats import spearman
from acuhead.web.outcome_panel import (
    MIN_ASSOCIATION_BLOCKS,
    association_text,
    num,
    responder_text,
    signed,
)


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [
        (None, 1, "\u2013"),  # unknown is a dash, never 0
        (2.0, 1, "2"),
        (11.407, 1, "11.4"),
        (-4.59, 1, "\u22124.6"),  # a typographic minus
        (-0.04, 1, "0"),  # no "-0"
        (1.084, 2, "1.08"),
    ],
)
def test_numbers(value: float | None, digits: int, shown: str) -> None:
    assert num(value, digits) == shown


def test_changes_carry_their_sign() -> None:
    assert (signed(3.74), signed(-9.0), signed(0.0), signed(None)) == (
        "+3.7",
        "\u22129",
        "0",
        "\u2013",
    )


@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        ({"30": True, "50": True, "75": False, "100": False}, "\u226550 %"),
        ({"30": False, "50": False, "75": False, "100": False}, "under 30 %"),
        ({"30": None, "50": None, "75": None, "100": None}, "\u2013"),  # not evaluable
        (None, "\u2013"),
    ],
)
def test_responder_is_the_highest_threshold_met(
    flags: dict[str, bool | None] | None, shown: str
) -> None:
    assert responder_text(flags) == shown


def blocks(means: Sequence[float | None], headache: Sequence[float | None]) -> list[dict[str, Any]]:
    """by_block as the outcomes JSON gives it: index -1 is the baseline."""
    return [
        {"index": i - 1, "mean": m, "days": 28, "headache_days_per_28": h}
        for i, (m, h) in enumerate(zip(means, headache, strict=True))
    ]


def block_association(by_block: Sequence[dict[str, Any]]) -> tuple[str, bool]:
    """The panel's sentence for the association the outcomes carry for these rows (the panel
    itself only words the result; the domain computes it)."""
    return association_text(Association.of(compute_association(by_block)))


def test_association_is_spearman_of_changes_from_baseline_with_its_interval() -> None:
    means = [6.0, 5.5, 5.0, 4.0, 4.5, 3.0, 3.5]
    headache = [12.0, 11.0, 10.0, 7.0, 9.0, 5.0, 6.0]
    sentence, found = block_association(blocks(means, headache))
    rho = spearman([m - 6.0 for m in means[1:]], [h - 12.0 for h in headache[1:]])
    assert found
    assert f"\u03c1 {num(rho.r, 2)}" in sentence
    assert f"95 % CI {num(rho.low, 2)} to {num(rho.high, 2)}" in sentence
    assert "same direction" in sentence and sentence.endswith("an association, not a cause.")
    assert "cause" not in sentence.replace("not a cause", "")


def test_association_needs_enough_blocks_and_variation() -> None:
    few = blocks([5.0, 4.0, 3.0, 2.0], [10.0, 9.0, 8.0, 7.0])
    sentence, found = block_association(few)
    assert not found and f"need {MIN_ASSOCIATION_BLOCKS}" in sentence and "3 blocks" in sentence
    # Blocks with no rate (low compliance) do not count.
    gaps = blocks([5.0, 4.0, 3.0, 2.0, 1.0, 0.5], [10.0, None, 8.0, None, 6.0, 5.0])
    assert "3 blocks" in block_association(gaps)[0]
    flat = blocks([5.0] * 7, [10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0])
    sentence, found = block_association(flat)
    assert not found and "did not vary" in sentence
    no_base = blocks([None, 4.0, 3.0, 2.0, 1.0, 0.5], [10.0, 9.0, 8.0, 7.0, 6.0, 5.0])
    assert not block_association(no_base)[1]
