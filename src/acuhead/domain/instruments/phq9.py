"""PHQ-9 (Patient Health Questionnaire, depression module): depression often accompanies
chronic headache, and headache clinics screen for it.

Facts, checked with the sources named (CLINICAL.md has no section on it yet):
* nine items, recall "the last 2 weeks", each answered not at all (0), several days (1), more
  than half the days (2), nearly every day (3); total = sum, 0-27 [Kroenke K, Spitzer RL,
  Williams JB. The PHQ-9. J Gen Intern Med 2001;16(9):606-613];
* severity 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe (cut
  points 5, 10, 15, 20; Kroenke 2001);
* LOINC panel 44249-1 "PHQ-9 quick depression assessment panel" (as used by the HL7 US Core
  PHQ-9 panel example);
* licence: developed by Spitzer, Williams, Kroenke and colleagues with an educational grant
  from Pfizer; the copyright holder lets anyone reproduce, translate, display and distribute it
  without permission (PHQ screeners' instructions). The item wording is the instrument, so it
  is shown as published.

Item 9 asks about thoughts of self-harm. Any answer above "not at all" needs a clinician's
attention whatever the total: the item is the questionnaire's one question on suicidal
thoughts, and its answer predicts later suicide attempts and deaths beyond the total's severity
(Simon GE et al., Psychiatr Serv 2013, doi 10.1176/appi.ps.201200587), "several days" already
(hazard ratio 1.75 against "not at all"; Louzon SA et al., Psychiatr Serv 2016, doi
10.1176/appi.ps.201500149). The form's own template (questionnaires/phq9.html) tells the
patient where to get help at once, and ``SAFETY_ITEM`` makes every stored response with such
an answer open an alert for the clinic's staff (``domain.questionnaires.safety_concern``).
"Not at all" opens none, but it is no "no risk": most suicides in Louzon 2016 followed a
"not at all", so no page words it so.
"""

from __future__ import annotations

from acuhead.domain.instruments.spec import Band, Choice, InstrumentSpec, Item, SafetyItem

CHOICES = (
    Choice("not_at_all", "Not at all", 0),
    Choice("several_days", "Several days", 1),
    Choice("more_than_half_the_days", "More than half the days", 2),
    Choice("nearly_every_day", "Nearly every day", 3),
)
_TEXTS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or "
    "your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite "
    "\u2014 being so fidgety or restless that you have been moving around a lot more than "
    "usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)

# Item 9 (Kroenke 2001's wording): any answer above "not at all" needs a clinician, whatever
# the total (Simon 2013, Louzon 2016 above).
SAFETY_ITEM = SafetyItem(
    key="q9",
    concern="thoughts of self-harm",
    action="contact the patient today",
    source="Kroenke 2001 item 9; Simon, Psychiatr Serv 2013; Louzon, Psychiatr Serv 2016",
    patient_note="You told us about thoughts of harming yourself. Your clinic's staff are shown "
    "this answer. If you might act on these thoughts, please do not wait: call your doctor or "
    "your local emergency number now.",
)

SPEC = InstrumentSpec(
    id="phq9",
    label="PHQ-9",
    title="Patient Health Questionnaire (depression)",
    recall_period="2 weeks",
    recall_prompt="Over the last 2 weeks, how often have you been bothered by each of these?",
    intro="Nine questions about your mood and energy over the last 2 weeks.",
    items=tuple(
        Item(f"q{n}", str(n), f"answer {n}", text, choices=CHOICES)
        for n, text in enumerate(_TEXTS, start=1)
    ),
    bands=(  # Kroenke 2001: cut points 5, 10, 15, 20
        Band(0, 4, "minimal", "minimal depression symptoms"),
        Band(5, 9, "mild", "mild depression symptoms"),
        Band(10, 14, "moderate", "moderate depression symptoms"),
        Band(15, 19, "moderately_severe", "moderately severe depression symptoms"),
        Band(20, 27, "severe", "severe depression symptoms"),
    ),
    source="Kroenke, Spitzer, Williams, J Gen Intern Med 2001;16:606-613 (0-3 per item, 0-27)",
    licence="Free to reproduce, translate, display and distribute (Pfizer, copyright holder)",
    loinc="44249-1",
    template="questionnaires/phq9.html",
    safety_item=SAFETY_ITEM,
)
