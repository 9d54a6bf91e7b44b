"""GAD-7 (Generalized Anxiety Disorder scale, 7 items): anxiety often accompanies chronic
headache, and headache clinics screen for it.

Facts, checked with the sources named (CLINICAL.md has no section on it yet):
* seven items, recall "the last 2 weeks", each answered not at all (0), several days (1), more
  than half the days (2), nearly every day (3); total = sum, 0-21 [Spitzer RL, Kroenke K,
  Williams JB, Loewe B. A brief measure for assessing generalized anxiety disorder: the GAD-7.
  Arch Intern Med 2006;166(10):1092-1097];
* severity 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe (cut points 5, 10, 15;
  Spitzer 2006);
* LOINC panel 69737-5 "Generalized anxiety disorder 7 item" (total score 70274-6);
* licence: like the PHQ-9, free to reproduce, translate, display and distribute (Pfizer,
  copyright holder). The item wording is the instrument, so it is shown as published.
"""

from __future__ import annotations

from acuhead.domain.instruments.spec import Band, Choice, InstrumentSpec, Item

CHOICES = (
    Choice("not_at_all", "Not at all", 0),
    Choice("several_days", "Several days", 1),
    Choice("more_than_half_the_days", "More than half the days", 2),
    Choice("nearly_every_day", "Nearly every day", 3),
)
_TEXTS = (
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
)

SPEC = InstrumentSpec(
    id="gad7",
    label="GAD-7",
    title="Generalized Anxiety Disorder scale",
    recall_period="2 weeks",
    recall_prompt="Over the last 2 weeks, how often have you been bothered by each of these?",
    intro="Seven questions about worry and nervousness over the last 2 weeks.",
    items=tuple(
        Item(f"q{n}", str(n), f"answer {n}", text, choices=CHOICES)
        for n, text in enumerate(_TEXTS, start=1)
    ),
    bands=(  # Spitzer 2006: cut points 5, 10, 15
        Band(0, 4, "minimal", "minimal anxiety symptoms"),
        Band(5, 9, "mild", "mild anxiety symptoms"),
        Band(10, 14, "moderate", "moderate anxiety symptoms"),
        Band(15, 21, "severe", "severe anxiety symptoms"),
    ),
    source="Spitzer, Kroenke, Williams, Loewe, Arch Intern Med 2006;166:1092-1097 (0-21)",
    licence="Free to reproduce, translate, display and distribute (Pfizer, copyright holder)",
    loinc="69737-5",
)
