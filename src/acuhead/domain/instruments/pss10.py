"""PSS-10 (Perceived Stress Scale, 10 items), a co-variable some clinics record.

Source: CLINICAL.md 4.3 (Cohen lab scoring notes; UW-Madison ARC). Answers 0 never ... 4 very
often; items 4, 5, 7 and 8 are positively worded and reversed (4 - answer); total = sum, 0-40.
The bands 0-13 / 14-26 / 27-40 appear only in secondary sources, not in Cohen's papers, so they
are marked non-canonical and labelled so wherever they are shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from acuhead.domain.instruments.spec import (
    Band,
    Choice,
    InstrumentSpec,
    Item,
    QuestionnaireScore,
    score_items,
)

CHOICES = (
    Choice("never", "Never", 0),
    Choice("almost_never", "Almost never", 1),
    Choice("sometimes", "Sometimes", 2),
    Choice("fairly_often", "Fairly often", 3),
    Choice("very_often", "Very often", 4),
)
REVERSED = frozenset({4, 5, 7, 8})  # CLINICAL.md 4.3, counted from 1

SPEC = InstrumentSpec(
    id="pss10",
    label="PSS-10",
    title="Perceived Stress Scale",
    recall_period="last month",  # CLINICAL.md 4.3 (Cohen)
    recall_prompt="Think of the last month.",
    intro=(
        "How often you felt stressed or in control during the last month. Ten questions, "
        "each answered from never to very often."
    ),
    items=tuple(
        Item(f"q{n}", str(n), f"answer {n}", choices=CHOICES, reversed=n in REVERSED)
        for n in range(1, 11)
    ),
    bands=(  # secondary sources only (CLINICAL.md 4.3)
        Band(0, 13, "low", "low stress (non-canonical band)"),
        Band(14, 26, "moderate", "moderate stress (non-canonical band)"),
        Band(27, 40, "high", "high stress (non-canonical band)"),
    ),
    bands_canonical=False,
    # CLINICAL.md 4.3
    source="Cohen PSS-10 (reverse items 4, 5, 7, 8; sum 0-40; bands not from the authors)",
    licence=(  # CLINICAL.md 4.3
        "Cohen lab: free for academic and non-profit use; commercial use: ask the author. "
        "Questions not shipped; the clinic gives them on paper."
    ),
    licensed_items=True,
    licensed_note=(
        "Your clinic gives you the ten PSS-10 questions on paper. Answer each numbered "
        "question here."
    ),
    aliases=("pss-10", "pss_10"),
)


def score_pss10(items: Sequence[int | str]) -> QuestionnaireScore:
    """Ten answers 0-4 (or their words), items 4, 5, 7, 8 reversed (CLINICAL.md 4.3)."""
    return score_items(SPEC, items)
