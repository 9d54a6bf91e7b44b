"""Patient education: what acupuncture may do for headache, graded by the evidence.

This page is public (no login): it is the same text for everyone and holds no personal or
health data. The mechanisms, their grades and sources come from ``domain.mechanisms``
(CLINICAL.md section 8); the trial figures are CLINICAL.md section 5, written in our own words.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from acuhead.domain.mechanisms import CLINICAL_CONTEXT, MECHANISMS, EvidenceGrade
from acuhead.web.pages.base import OptionalUser, render

router = APIRouter()

# What each grade means, in plain words, for the legend on the page.
GRADE_MEANING: dict[EvidenceGrade, str] = {
    EvidenceGrade.ESTABLISHED: "Shown consistently in people, including people with headache.",
    EvidenceGrade.PLAUSIBLE_LIMITED: (
        "Seen in animal studies or small human studies, but not shown to be the reason "
        "headaches improve."
    ),
    EvidenceGrade.SPECULATIVE: "An idea with very little direct evidence behind it.",
    EvidenceGrade.NOT_TESTABLE: (
        "Cannot be tested as it is stated; only predictions drawn from it can be."
    ),
}

# Short everyday headings for each mechanism key (the claim itself is shown beneath).
HEADINGS: dict[str, str] = {
    "endorphins": "Pain relief",
    "muscle_tension": "Less muscle tension",
    "nervous_system": "Calming and regulating the nervous system",
    "neurotransmitters": "Brain chemicals (neurotransmitters)",
    "anti_inflammatory": "Less inflammation",
    "blood_flow": "Blood flow",
    "qi": "The traditional Chinese medicine view: qi",
    "stress": "Stress reduction",
}


@router.get("/about/acupuncture-for-headache")
def acupuncture_for_headache(request: Request, user: OptionalUser) -> Response:
    ctx = {
        "mechanisms": MECHANISMS,
        "context": CLINICAL_CONTEXT,
        "grades": GRADE_MEANING,
        "headings": HEADINGS,
    }
    return render(request, "about/acupuncture.html", ctx, user=user)
