"""The TCM assessment page: findings in, pattern scores out, and the practitioner's decision.

The scores ``services.care`` computes are shown with the specificity caveat beside them, because
the location-to-channel and pattern-to-point tables are tradition rather than evidence. Confirming
a pattern (or clearing it) is a separate form, since the practitioner's call wins over the ranking
whatever it scored, and it should be a deliberate step, not a side effect of recording findings.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acuhead.domain.tcm.channels import CHANNEL_LABELS, LOCATION_RULES, SPECIFICITY_CAVEAT
from acuhead.domain.tcm.patterns import INDICATORS, PATTERN_LABELS, Pattern, SignField
from acuhead.errors import NotFound, ValidationError
from acuhead.services import care
from acuhead.store.models import AssessmentRow, Patient
from acuhead.web.deps import WriteSession
from acuhead.web.pages.base import (
    FormState,
    PageUser,
    PostedForm,
    SameOrigin,
    StaffUser,
    apply_field_errors,
    not_found,
    render,
    see_other,
)
from acuhead.web.pages.care.common import LOCATION_CHOICES, care_patient, int_or_none
from acuhead.web.pages.diary_form import LOCATIONS
from acuhead.web.pages.zones import clinic_zone

router = APIRouter()

ASSESS_MULTI = frozenset({"loc", "sign"})
MAX_SIGNS = 60
MAX_SIGN_CHARS = 200
MAX_TEXT = 500


def _sign_groups() -> list[tuple[str, list[str]]]:
    """The signs pattern differentiation reads, in the domain's order and sections."""
    starts = {"stress trigger": "Triggers and emotions", "aversion to cold": "Accompanying signs"}
    groups: list[tuple[str, list[str]]] = [("Pain: quality and timing", [])]
    for ind in INDICATORS:
        if ind.field is not SignField.SIGNS:
            continue
        if ind.label in starts:
            groups.append((starts[ind.label], []))
        groups[-1][1].append(ind.label)
    return [g for g in groups if g[1]]


SIGN_GROUPS = _sign_groups()
SIGN_LABELS = frozenset(label for _, labels in SIGN_GROUPS for label in labels)
TONGUE_WORDS = tuple(
    dict.fromkeys(i.keywords[0] for i in INDICATORS if i.field is SignField.TONGUE)
)
PULSE_WORDS = tuple(dict.fromkeys(i.keywords[0] for i in INDICATORS if i.field is SignField.PULSE))


def _assessment_form(row: AssessmentRow | None) -> FormState:
    """A new assessment starts from the last one's findings (they change little between visits)."""
    if row is None:
        return FormState(values={"loc": [], "sign": [], "use_diary": "yes"})
    recorded = [str(s["sign"]) for s in row.signs if s.get("source") != "diary"]
    return FormState(
        values={
            "loc": list(row.locations or []),
            "sign": [s for s in recorded if s in SIGN_LABELS],
            "other_signs": "\n".join(s for s in recorded if s not in SIGN_LABELS),
            "tongue": row.tongue or "",
            "pulse": row.pulse or "",
            "use_diary": "yes",
        }
    )


def _assessment_view(row: AssessmentRow) -> dict[str, Any]:
    d = care.assessment_dict(row)
    scored = [p for p in d["patterns"] if p["score"] > 0]
    top = scored[0]["score"] if scored else 0
    channels: list[str] = []
    for value in d["locations"]:
        rule = next((r for loc, r in LOCATION_RULES.items() if loc.value == value), None)
        if rule is not None:
            channels.extend(CHANNEL_LABELS[ch] for ch in rule.channels)
    d["scored"] = scored
    d["unscored"] = [p["label"] for p in d["patterns"] if p["score"] <= 0]
    d["top"] = top
    d["channels"] = list(dict.fromkeys(channels))
    d["working_label"] = (
        PATTERN_LABELS[Pattern(d["working_pattern"])] if d["working_pattern"] else None
    )
    d["confirmed_label"] = (
        PATTERN_LABELS[Pattern(d["confirmed_pattern"])] if d["confirmed_pattern"] else None
    )
    return d


def _assessment_page(
    request: Request,
    user: PageUser,
    session: Session,
    patient: Patient,
    *,
    form: FormState | None = None,
    shown_id: int | None = None,
    confirm_form: FormState | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    rows = care.list_assessments(session, actor=user.actor, patient_id=patient.id)
    shown = next((r for r in rows if r.id == shown_id), rows[0] if rows else None)
    view = _assessment_view(shown) if shown is not None else None
    if confirm_form is None and view is not None:
        confirm_form = FormState(values={"confirmed_pattern": view["confirmed_pattern"] or ""})
    ctx = {
        "patient": patient,
        "clinic_zone": clinic_zone(session, patient.clinic_id),
        "form": form or _assessment_form(rows[0] if rows else None),
        "assessment": view,
        "history": rows[:10],
        "confirm_form": confirm_form,
        "locations": LOCATION_CHOICES,
        "sign_groups": SIGN_GROUPS,
        "tongue_words": TONGUE_WORDS,
        "pulse_words": PULSE_WORDS,
        "pattern_labels": PATTERN_LABELS,
        "caveat": SPECIFICITY_CAVEAT,
        "notice": notice,
    }
    return render(request, "care/assessment.html", ctx, status_code=status_code, user=user)


@router.get("/clinic/patients/{patient_id}/assessment")
def assessment_page(
    request: Request,
    patient_id: int,
    user: StaffUser,
    session: WriteSession,
    id: str = "",
    saved: str = "",
    confirmed: str = "",
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    notice = "Assessment saved." if saved else ("Pattern decision saved." if confirmed else "")
    return _assessment_page(
        request, user, session, patient, shown_id=int_or_none(id), notice=notice
    )


def _read_assessment_form(form: FormState) -> tuple[list[str], list[str], str, str]:
    locs = [str(v) for v in form.values.get("loc", [])]
    allowed = {v for v, _ in LOCATIONS}
    if any(v not in allowed for v in locs):
        form.add("loc", "Unknown location in the list; reload the page and try again.")
    signs = [s.strip() for s in form.values.get("sign", []) if s.strip()]
    other = [line.strip() for line in str(form.get("other_signs")).splitlines() if line.strip()]
    if any(len(s) > MAX_SIGN_CHARS for s in other):
        form.add("other_signs", f"Keep each sign under {MAX_SIGN_CHARS} characters (one a line).")
    signs = list(dict.fromkeys(signs + other))
    if len(signs) > MAX_SIGNS:
        form.add("sign", f"At most {MAX_SIGNS} signs can be recorded.")
    tongue, pulse = str(form.get("tongue")), str(form.get("pulse"))
    for name, text in (("tongue", tongue), ("pulse", pulse)):
        if len(text) > MAX_TEXT:
            form.add(name, f"Keep this under {MAX_TEXT} characters.")
    if not (signs or tongue or pulse):
        form.add("sign", "Record at least one finding: a sign, the tongue or the pulse.")
    return locs, signs, tongue, pulse


@router.post("/clinic/patients/{patient_id}/assessment", dependencies=[SameOrigin])
def assessment_submit(
    request: Request, patient_id: int, user: StaffUser, posted: PostedForm, session: WriteSession
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    form = FormState.from_form(posted, multi=ASSESS_MULTI)
    locs, signs, tongue, pulse = _read_assessment_form(form)
    row = None
    if form.ok:
        try:
            with session.begin_nested():
                row = care.create_assessment(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    locations=locs,
                    signs=signs,
                    tongue=tongue,
                    pulse=pulse,
                    use_diary=form.get("use_diary") == "yes",
                )
        except ValidationError as exc:
            apply_field_errors(
                form,
                exc.errors,
                {"locations*": "loc", "signs*": "sign", "tongue": "tongue", "pulse": "pulse"},
            )
    if row is None or not form.ok:
        return _assessment_page(request, user, session, patient, form=form, status_code=422)
    return see_other(f"/clinic/patients/{patient.id}/assessment?id={row.id}&saved=1#result")


@router.post(
    "/clinic/patients/{patient_id}/assessment/{assessment_id}/confirm",
    dependencies=[SameOrigin],
)
def assessment_confirm(
    request: Request,
    patient_id: int,
    assessment_id: int,
    user: StaffUser,
    posted: PostedForm,
    session: WriteSession,
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    form = FormState.from_form(posted)
    choice = str(form.get("confirmed_pattern"))
    if choice and choice not in {p.value for p in Pattern}:
        form.add("confirmed_pattern", "Choose one of the patterns listed.")
    if form.ok:
        try:
            with session.begin_nested():
                care.confirm_assessment(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    assessment_id=assessment_id,
                    confirmed_pattern=choice or None,
                )
        except NotFound:
            return not_found(request, user, "assessment")
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, {"confirmed_pattern": "confirmed_pattern"})
    if not form.ok:
        return _assessment_page(
            request,
            user,
            session,
            patient,
            shown_id=assessment_id,
            confirm_form=form,
            status_code=422,
        )
    return see_other(
        f"/clinic/patients/{patient.id}/assessment?id={assessment_id}&confirmed=1#result"
    )
