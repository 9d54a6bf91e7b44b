"""The prescription builder: a plan from an assessment, a template or a protocol, then the
confirmation of its safety findings.

Both forms post to one address, told apart by ``intent``, and return to the plan they touched.
A refused form answers 409 while the safety gate blocks planning (services.gate: no current
intake screen, an open red flag, or a flag the record shows) and 422 otherwise, so the status
says whether the patient's safety or the form is what stopped it. A flag the record raises is
referred or cleared, with a reason, from the same page (``intent=clear``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acuhead.domain.tcm.channels import CHANNEL_LABELS, Channel
from acuhead.domain.tcm.patterns import PATTERN_LABELS, Pattern
from acuhead.domain.tcm.points import catalogue
from acuhead.domain.tcm.prescribe import PROTOCOLS
from acuhead.errors import Conflict, NotFound, SafetyBlock, ValidationError
from acuhead.services import care, gate
from acuhead.store.models import AssessmentRow, Patient, PrescriptionRow
from acuhead.web.deps import WriteSession
from acuhead.web.pages.base import (
    FormState,
    PageUser,
    PostedForm,
    SameOrigin,
    StaffUser,
    apply_field_errors,
    render,
    see_other,
)
from acuhead.web.pages.care.body_map import caution_label, map_context
from acuhead.web.pages.care.common import (
    LOCATION_CHOICES,
    care_patient,
    int_or_none,
    planning_gate,
    safety_flags,
)
from acuhead.web.pages.zones import clinic_zone

router = APIRouter()

BUILD_MULTI = frozenset({"loc", "confirm"})
HEADACHE_KINDS: tuple[tuple[str, str], ...] = (
    ("", "Not specified (no trial protocol by default)"),
    ("migraine", "Migraine (ICHD-3 group 1)"),
    ("tension-type", "Tension-type headache (ICHD-3 group 2)"),
)
PROTOCOL_CHOICES: tuple[tuple[str, str], ...] = (
    ("", "The verified protocol for the headache kind"),
    ("none", "No protocol points"),
    *((key, f"{p.name} [{p.evidence_status.value}]") for key, p in PROTOCOLS.items()),
)
GROUP_LABELS: Mapping[str, str] = {
    "local": "local",
    "distal": "distal",
    "pattern": "pattern",
    "protocol": "evidence-based core",
    "template": "template",
}


def _plan_view(row: PrescriptionRow) -> dict[str, Any]:
    d = care.prescription_dict(row)
    cat = catalogue()
    for pt in d["points"]:
        point = cat.get(pt["code"])
        pt["hanzi"] = point.hanzi if point else ""
        pt["location"] = point.location if point else ""
        pt["caution_labels"] = [caution_label(c) for c in pt.get("cautions", [])]
    d["channel_labels"] = [
        CHANNEL_LABELS[ch] for ch in Channel if ch.value in set(d.get("channels") or [])
    ]
    d["confirmable"] = [f for f in d["safety"] if f["action"] == "confirm" and not f["confirmed"]]
    d["blocked"] = [f for f in d["safety"] if f["action"] == "blocked"]
    if d.get("working_pattern"):
        d["working_label"] = PATTERN_LABELS[Pattern(d["working_pattern"])]
    return d


def _build_defaults(assessments: Sequence[AssessmentRow], preselect: int | None) -> FormState:
    ids = [a.id for a in assessments]
    chosen = preselect if preselect in ids else (ids[0] if ids else None)
    return FormState(
        values={
            "assessment_id": str(chosen) if chosen else "",
            "loc": [],
            "headache_kind": "",
            "protocol": "",
            "template_id": "",
            "electro": "",
        }
    )


def _assessment_options(rows: Sequence[AssessmentRow]) -> list[tuple[str, str]]:
    out = []
    for r in rows:
        pattern = r.confirmed_pattern
        what = (
            f"confirmed {PATTERN_LABELS[Pattern(pattern)]}"
            if pattern
            else f"top: {r.scores[0]['label']} ({r.scores[0]['score']})"
            if r.scores and r.scores[0].get("score")
            else "no pattern scored"
        )
        out.append((str(r.id), f"#{r.id} of {r.created_utc:%d %b %Y}, {what}"))
    return out


def _prescription_page(
    request: Request,
    user: PageUser,
    session: Session,
    patient: Patient,
    *,
    build_form: FormState | None = None,
    confirm_form: FormState | None = None,
    clear_form: FormState | None = None,
    shown_id: int | None = None,
    preselect: int | None = None,
    notice: str = "",
    status_code: int = 200,
    refused: bool = False,
) -> Response:
    """The builder page; ``refused``: a form was refused, so answer 409 while the safety gate
    blocks planning and 422 otherwise (the gate is evaluated once per request)."""
    actor = user.actor
    assessments = care.list_assessments(session, actor=actor, patient_id=patient.id)
    plans = care.list_prescriptions(session, actor=actor, patient_id=patient.id)
    templates = care.list_templates(session, actor=actor)
    shown = next((p for p in plans if p.id == shown_id), plans[0] if plans else None)
    plan = _plan_view(shown) if shown is not None else None
    plan_codes = [p["code"] for p in plan["points"]] if plan else []
    readiness = planning_gate(session, user, patient)
    ctx: dict[str, Any] = {
        "patient": patient,
        "clinic_zone": clinic_zone(session, patient.clinic_id),
        "gate": readiness,
        "blocked": [b.line() for b in readiness.blocking],
        "clear_form": clear_form or FormState(values={"kind": "clearance"}),
        "safety_flags": safety_flags(patient),
        "form": build_form or _build_defaults(assessments, preselect),
        "confirm_form": confirm_form or FormState(values={"confirm": []}),
        "assessments": _assessment_options(assessments),
        "templates": [(str(t.id), t.name) for t in templates],
        "locations": LOCATION_CHOICES,
        "kinds": HEADACHE_KINDS,
        "protocols": PROTOCOL_CHOICES,
        "group_labels": GROUP_LABELS,
        "plan": plan,
        "history": plans[:10],
        "notice": notice,
        **map_context(plan_codes, plan_codes),
    }
    if refused:
        status_code = 422 if readiness.ready else 409
    return render(request, "care/prescription.html", ctx, status_code=status_code, user=user)


@router.get("/clinic/patients/{patient_id}/prescription")
def prescription_page(
    request: Request,
    patient_id: int,
    user: StaffUser,
    session: WriteSession,
    id: str = "",
    assessment: str = "",
    saved: str = "",
    confirmed: str = "",
    cleared: str = "",
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    notice = (
        "Prescription saved."
        if saved
        else "Safety findings confirmed."
        if confirmed
        else "Referral or clearance recorded."
        if cleared
        else ""
    )
    return _prescription_page(
        request,
        user,
        session,
        patient,
        shown_id=int_or_none(id),
        preselect=int_or_none(assessment),
        notice=notice,
    )


def _build(session: Session, user: PageUser, patient: Patient, form: FormState) -> int | None:
    """Save a new plan from the build form; None (with the errors in ``form``) if refused."""
    assessment_id = template_id = None
    raw_a, raw_t = str(form.get("assessment_id")), str(form.get("template_id"))
    if raw_a and (assessment_id := int_or_none(raw_a)) is None:
        form.add("assessment_id", "Choose an assessment from the list.")
    if raw_t and (template_id := int_or_none(raw_t)) is None:
        form.add("template_id", "Choose a template from the list.")
    kind, protocol = str(form.get("headache_kind")), str(form.get("protocol"))
    if kind not in {k for k, _ in HEADACHE_KINDS}:
        form.add("headache_kind", "Choose a headache kind from the list.")
    if protocol not in {k for k, _ in PROTOCOL_CHOICES}:
        form.add("protocol", "Choose a protocol from the list.")
    locs = [str(v) for v in form.values.get("loc", [])]
    if not form.ok:
        return None
    try:
        with session.begin_nested():
            row = care.create_prescription(
                session,
                actor=user.actor,
                patient_id=patient.id,
                assessment_id=assessment_id,
                template_id=template_id,
                locations=locs or None,
                headache_kind=kind or None,
                electro=form.get("electro") == "yes",
                protocol=protocol or None,
            )
    except SafetyBlock as exc:
        form.add("_form", str(exc))
        return None
    except NotFound as exc:
        form.add("template_id" if "template" in str(exc) else "assessment_id", f"{exc}.")
        return None
    except ValidationError as exc:
        apply_field_errors(
            form,
            exc.errors,
            {
                "locations*": "loc",
                "template_id": "template_id",
                "protocol": "protocol",
                "headache_kind": "headache_kind",
                "assessment_id": "assessment_id",
            },
        )
        return None
    return row.id


def _clear(session: Session, user: PageUser, patient: Patient, form: FormState) -> bool:
    """Refer or clear a flag the record raises, with a reason; False with errors in ``form``."""
    code, kind, reason = str(form.get("code")), str(form.get("kind")), str(form.get("reason"))
    if kind not in {"referral", "clearance"}:
        form.add("kind", "Choose referral or clearance.")
    if not reason.strip():
        form.add("reason", "Write why: a clearance or referral needs a reason.")
    elif len(reason) > 4000:
        form.add("reason", "The reason can be at most 4000 characters.")
    if not form.ok:
        return False
    try:
        with session.begin_nested():
            gate.clear_record_flag(
                session, actor=user.actor, patient_id=patient.id, code=code, kind=kind,
                reason=reason,
            )  # fmt: skip
    except ValidationError as exc:
        apply_field_errors(form, exc.errors, {"reason": "reason", "kind": "kind"})
        return False
    return True


def _confirm(session: Session, user: PageUser, patient: Patient, form: FormState) -> int | None:
    """Confirm the ticked safety findings of a plan; its id, or None with the errors in ``form``."""
    pid = int_or_none(str(form.get("prescription_id")))
    version = int_or_none(str(form.get("version")))
    codes = [str(c) for c in form.values.get("confirm", [])]
    if pid is None or version is None:
        form.add("_form", "This form is out of date; reload the page.")
    if not codes:
        form.add("confirm", "Tick each finding you have checked with the patient.")
    if not form.ok or pid is None or version is None:
        return None
    try:
        with session.begin_nested():
            care.confirm_prescription(
                session,
                actor=user.actor,
                patient_id=patient.id,
                prescription_id=pid,
                version=version,
                confirmed_codes=codes,
            )
    except NotFound:
        form.add("_form", "This prescription no longer exists; reload the page.")
        return None
    except Conflict as exc:  # SafetyBlock too: an open red flag stops confirming
        form.add("_form", str(exc))
        return None
    except ValidationError as exc:
        apply_field_errors(form, exc.errors, {"confirmed_codes": "confirm"})
        return None
    return pid


@router.post("/clinic/patients/{patient_id}/prescription", dependencies=[SameOrigin])
def prescription_submit(
    request: Request, patient_id: int, user: StaffUser, posted: PostedForm, session: WriteSession
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    form = FormState.from_form(posted, multi=BUILD_MULTI)
    base = f"/clinic/patients/{patient.id}/prescription"
    if form.get("intent") == "clear":
        if _clear(session, user, patient, form):
            return see_other(f"{base}?cleared=1#build")
        return _prescription_page(request, user, session, patient, clear_form=form, status_code=422)
    if form.get("intent") == "confirm":
        pid = _confirm(session, user, patient, form)
        if pid is not None:
            return see_other(f"{base}?id={pid}&confirmed=1#safety")
        shown = int_or_none(str(form.get("prescription_id")))
        return _prescription_page(
            request, user, session, patient, confirm_form=form, shown_id=shown, refused=True
        )
    new_id = _build(session, user, patient, form)
    if new_id is not None:
        return see_other(f"{base}?id={new_id}&saved=1#plan")
    return _prescription_page(request, user, session, patient, build_form=form, refused=True)
