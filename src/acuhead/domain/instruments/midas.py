"""MIDAS (Migraine Disability Assessment).

Source: CLINICAL.md 4.2 (Stewart et al., Neurology 1999 and 2001). Five scored questions, each a
number of days in the last 3 months; score = their sum; grades I 0-5, II 6-10, III 11-20,
IV >=21. Sanity rules: each 0-90, Q1+Q2 <= 90 and Q3+Q4 <= 90 (Q2 and Q4 count only days not
already counted in Q1 and Q3). A (headache days, 0-90) and B (average pain, 0-10) are recorded,
not scored. The questions are described in our own words by what each answer counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from acuhead.domain.instruments.spec import (
    Band,
    InstrumentSpec,
    Item,
    PairLimit,
    QuestionnaireScore,
    score_items,
)

MAX_DAYS = 90  # a day count cannot exceed 3 months


def _days(n: int, text: str) -> Item:
    return Item(f"q{n}", str(n), f"question {n}", text, low=0, high=MAX_DAYS, unit="days")


SPEC = InstrumentSpec(
    id="midas",
    label="MIDAS",
    title="Migraine Disability Assessment",
    recall_period="3 months",  # CLINICAL.md 4.2
    recall_prompt="Think of the last 3 months.",
    intro=(
        "How many days headaches kept you from work, study, housework and time with others "
        "in the last 3 months. Answer with a number of days; 0 is fine."
    ),
    items=(
        _days(1, "Days you missed work or school because of headaches."),
        _days(
            2,
            "Days you did go to work or school but got half as much done, or less, because of "
            "headaches. Leave out the days you counted in question 1.",
        ),
        _days(3, "Days you did no housework at all because of headaches."),
        _days(
            4,
            "Days you got half as much housework done, or less, because of headaches. Leave "
            "out the days you counted in question 3.",
        ),
        _days(
            5,
            "Days you missed time with family or friends, or a leisure activity, because of "
            "headaches.",
        ),
        Item(
            "a",
            "A",
            "question A (headache days)",
            "Days you had a headache at all (a headache over several days counts each day).",
            low=0,
            high=MAX_DAYS,
            unit="days",
            scored=False,
        ),
        Item(
            "b",
            "B",
            "question B (average pain)",
            "On those days, how bad was the pain on average? 0 no pain, 10 the worst imaginable.",
            low=0,
            high=10,
            scored=False,
        ),
    ),
    bands=(  # CLINICAL.md 4.2 grades (Stewart et al.)
        Band(0, 5, "I", "grade I: little or no disability"),
        Band(6, 10, "II", "grade II: mild disability"),
        Band(11, 20, "III", "grade III: moderate disability"),
        Band(21, 3 * MAX_DAYS, "IV", "grade IV: severe disability"),
    ),
    # CLINICAL.md 4.2
    source="Stewart et al., Neurology 1999 and 2001 (sum of Q1-Q5 in days; grades I-IV)",
    licence=(  # CLINICAL.md 4.2 (reported)
        "(c) Innovative Medical Research 1997, widely treated as free for clinical use "
        "(reported); questions shown in acuhead's own words."
    ),
    default_interval_days=84,  # matches its 3-month recall
    interval_hint="84 days = every 12 weeks",
    loinc=None,  # CLINICAL.md 4.2: not verified
    pair_limits=(
        PairLimit(0, 1, MAX_DAYS, "question 2 counts only days not counted in question 1"),
        PairLimit(2, 3, MAX_DAYS, "question 4 counts only days not counted in question 3"),
    ),
    items_legend="In the last 3 months, how many days …",
)


def score_midas(
    items: Sequence[int], *, a: int | None = None, b: int | None = None
) -> QuestionnaireScore:
    """Score questions 1-5 and record A and B (CLINICAL.md 4.2)."""
    return score_items(SPEC, items, {"a": a, "b": b})
