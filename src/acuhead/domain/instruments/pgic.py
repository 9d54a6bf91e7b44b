"""PGIC (Patient Global Impression of Change): one question, change since treatment began.

Direction chosen: 1 = very much improved ... 4 = no change ... 7 = very much worse. This is the
7-point improvement item of the Clinical Global Impression (Guy W, ECDEU Assessment Manual for
Psychopharmacology, 1976, CGI-I), asked of the patient. Lower is better, matching "higher is
worse" on the other instruments. Beware: another common PGIC (Hurst & Bolton, J Manipulative
Physiol Ther 2004) runs 1 = no change to 7 = a great deal better; answers from that form must
be converted before they are stored here. Each answer is its own band; "much" and "very much
improved" count as improved in the practice report (CLINICAL.md 3).
"""

from __future__ import annotations

from acuhead.domain.instruments.spec import Band, Choice, InstrumentSpec, Item

CHOICES = (
    Choice("very_much_improved", "Very much improved", 1),
    Choice("much_improved", "Much improved", 2),
    Choice("minimally_improved", "Minimally improved", 3),
    Choice("no_change", "No change", 4),
    Choice("minimally_worse", "Minimally worse", 5),
    Choice("much_worse", "Much worse", 6),
    Choice("very_much_worse", "Very much worse", 7),
)

SPEC = InstrumentSpec(
    id="pgic",
    label="PGIC",
    title="Patient Global Impression of Change",
    recall_period="since start of treatment",  # anchored on the start of this course
    recall_prompt="Think of the time since your treatment began.",
    intro="One question about how things have changed since your treatment began.",
    items=(
        Item(
            "q1",
            "1",
            "answer",
            "Since your treatment began, how would you describe the change in your headaches "
            "and in how you feel overall?",
            choices=CHOICES,
        ),
    ),
    bands=tuple(Band(c.points, c.points, c.code, c.label.lower()) for c in CHOICES),
    source="Guy 1976 (CGI-I, 7 points, 1 = very much improved)",
    licence=(
        "CGI-I item (Guy 1976, ECDEU manual), asked of the patient; the wording is acuhead's own."
    ),
    since_treatment=True,
    improved_bands=frozenset({"very_much_improved", "much_improved"}),
)
