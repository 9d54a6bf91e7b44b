"""HIT-6 (Headache Impact Test-6): the scoring, never the questions.

Source: CLINICAL.md 4.1. Six items, one per domain; recall 4 weeks; answers score 6 (never),
8 (rarely), 10 (sometimes), 11 (very often), 13 (always); total = sum, 36-78; impact
categories <=49, 50-55, 56-59, >=60.

Licence (CLINICAL.md 0.5, 4.1): the item wording belongs to QualityMetric/GSK. acuhead ships
the arithmetic only; a clinic with a licence loads its own item texts, and a total from a
licensed paper form can always be typed in instead of the six answers.
"""

from __future__ import annotations

from acuhead.domain.instruments.spec import (
    Band,
    Choice,
    InstrumentSpec,
    Item,
    QuestionnaireScore,
    load_item_texts,
    score_total,
)

CHOICES = (  # CLINICAL.md 4.1: points per response on the official form
    Choice("never", "Never", 6),
    Choice("rarely", "Rarely", 8),
    Choice("sometimes", "Sometimes", 10),
    Choice("very_often", "Very often", 11),
    Choice("always", "Always", 13),
)

SPEC = InstrumentSpec(
    id="hit6",
    label="HIT-6",
    title="Headache Impact Test",
    recall_period="4 weeks",  # CLINICAL.md 4.1 (NINDS CDE)
    recall_prompt="Think of the last 4 weeks.",
    intro=(
        "How headaches have affected your daily life over the last 4 weeks. Six questions, "
        "each answered never, rarely, sometimes, very often or always."
    ),
    items=tuple(Item(f"q{n}", str(n), f"answer {n}", choices=CHOICES) for n in range(1, 7)),
    bands=(  # CLINICAL.md 4.1 impact categories
        Band(36, 49, "little_or_none", "little or no impact"),
        Band(50, 55, "some", "some impact"),
        Band(56, 59, "substantial", "substantial impact"),
        Band(60, 78, "severe", "severe impact"),
    ),
    # CLINICAL.md 4.1
    source="HIT-6 scoring: points 6/8/10/11/13 per answer, sum 36-78, four impact categories",
    licence=(  # CLINICAL.md 0.5, 4.1
        "Item wording (c) QualityMetric/GSK: not shipped; electronic use needs a licence. "
        "Scoring only."
    ),
    default_interval_days=28,  # matches its 4-week recall
    interval_hint="28 days = every 4 weeks",
    loinc=None,  # CLINICAL.md 4.1: no LOINC panel verified; the local code system is used
    total_entry=True,
    licensed_items=True,
    licensed_note=(
        "The wording of the HIT-6 questions is licensed, so your clinic gives them to you on "
        "paper. Answer each numbered question here, or enter the total from the paper form."
    ),
    aliases=("hit-6", "hit_6"),
)

POSSIBLE_TOTALS = SPEC.possible_totals  # every total 36-78 except 37, 39 and 77


def from_total(total: object) -> QuestionnaireScore:
    """A HIT-6 total typed in from a licensed paper form (CLINICAL.md 0.5: always allowed)."""
    return score_total(SPEC, total)


def load_licensed_item_texts(text: str) -> tuple[str, ...]:
    """A clinic's own six licensed HIT-6 item texts (see ``spec.load_item_texts``)."""
    return load_item_texts(text, SPEC)
