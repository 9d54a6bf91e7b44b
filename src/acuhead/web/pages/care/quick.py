"""The quick session: the follow-up visit in about ten controls, the full STRICTA form a click away.

Most visits repeat the last one's method: the same points, needles, stimulation and retention.
The quick form asks only what changes from visit to visit (when, which points, pain before and
after, a note, whether anything went wrong) and carries the rest of the STRICTA record over
from the previous session (``domain.sessions.session_from_previous``), so what is stored is a
complete, validated STRICTA record (``validate_session``), written by the same use case as the
full form (``care.create_treatment_session``) after the same warnings from the safety gate.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acuhead.domain.diary import Side
from acuhead.domain.sessions import (
    ADVERSE_EVENT_LABELS,
    AdverseEventType,
    Severity,
    Style,
)
from acuhead.domain.tcm.points import normalise_code
from acuhead.domain.tcm.prescribe import is_midline
from acuhead.errors import Conflict, FieldError, NotFound, ValidationError
from acuhead.services import care
from acuhead.store.models import Patient
from acuhead.web.deps import WriteSession
from acuhead.web.pages.base import (
    FormState,
    PageUser,
    PostedForm,
    SameOrigin,
    StaffUser,
    render,
    see_other,
)
from acuhead.web.pages.care.common import care_patient, open_block, planning_gate, safety_flags

router = APIRouter()

PAIN_CHOICES = (("", "Not asked"), *((str(n), str(n)) for n in range(11)))
QUICK_AE_TYPES = (("", "Choose"), *((t.value, ADVERSE_EVENT_LABELS[t]) for t in AdverseEventType))
QUICK_SEVERITIES = (("", "Choose"), *((s.value, s.value.capitalize()) for s in Severity))
# Where the domain's error paths are shown on this form.
_FIELDS = {
    "start": "start_date",
    "pain_before": "pain_before",
    "pain_after": "pain_after",
    "notes": "notes",
}


def _previous(session: Session, user: PageUser, patient: Patient) -> dict[str, Any] | None:
    try:
        return care.prefill_session(
            session, actor=user.actor, patient_id=patient.id, source="previous"
        )
    except NotFound:
        return None


def _base_record(prev: dict[str, Any] | None, user: PageUser) -> dict[str, Any]:
    """The method carried over: the previous session's, or a plain TCM session by this
    practitioner when there is none yet."""
    if prev is not None:
        return dict(prev["session"])
    return {"style": Style.TCM.value, "practitioner": user.name, "points": []}


def _page(
    request: Request,
    user: PageUser,
    session: Session,
    patient: Patient,
    form: FormState,
    prev: dict[str, Any] | None,
    status_code: int = 200,
) -> Response:
    ctx = {
        "patient": patient,
        "form": form,
        "previous": prev,
        "blocked": open_block(session, patient),
        "gate": planning_gate(session, user, patient),
        "safety_flags": safety_flags(patient),
        "pain_choices": PAIN_CHOICES,
        "ae_types": QUICK_AE_TYPES,
        "severities": QUICK_SEVERITIES,
    }
    return render(request, "care/quick.html", ctx, status_code=status_code, user=user)


@router.get("/clinic/patients/{patient_id}/sessions/quick")
def quick_page(
    request: Request, patient_id: int, user: StaffUser, session: WriteSession
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    prev = _previous(session, user, patient)
    now = dt.datetime.now(ZoneInfo(patient.timezone))
    codes = [str(p["code"]) for p in (prev or {}).get("session", {}).get("points", [])]
    form = FormState(
        values={
            "start_date": now.date().isoformat(),
            "start_time": now.strftime("%H:%M"),
            "points": ", ".join(codes),
            "adverse": "no",
        }
    )
    return _page(request, user, session, patient, form, prev)


def _read(form: FormState, base: dict[str, Any]) -> dict[str, Any]:
    """The quick form on top of the carried-over record; unreadable input -> field errors."""
    data = dict(base)
    try:
        day = dt.date.fromisoformat(str(form.get("start_date")))
        at = dt.time.fromisoformat(str(form.get("start_time")))
    except ValueError:
        form.add("start_date", "Enter the date and time of the session, e.g. 2026-03-02 14:30.")
    else:
        data["start"] = dt.datetime.combine(day, at.replace(second=0, microsecond=0)).isoformat()
    carried = {str(p["code"]): p for p in base.get("points") or []}
    points = []
    for raw in re.split(r"[,;\n]+", str(form.get("points"))):
        if not raw.strip():
            continue
        try:
            code = normalise_code(raw)
        except ValidationError as exc:
            form.add("points", exc.errors[0].message)
            continue
        if code in carried:  # keep its side and depth from last time
            points.append(dict(carried[code]))
        elif is_midline(code):
            points.append({"code": code})
        else:
            points.append({"code": code, "side": Side.BOTH.value})
    if not points and not form.error("points"):
        form.add("points", "Enter the points needled, e.g. GB20, LI4.")
    data["points"] = list({p["code"]: p for p in points}.values())
    for key in ("pain_before", "pain_after"):
        text = str(form.get(key))
        if text:
            if text.isdigit() and 0 <= int(text) <= 10:
                data[key] = int(text)
            else:
                form.add(key, "Choose a pain score from 0 to 10.")
    data["notes"] = str(form.get("notes"))
    adverse = str(form.get("adverse"))
    if adverse not in {"yes", "no"}:
        form.add("adverse", "Say whether anything went wrong (yes or no).")
    events = []
    if adverse == "yes":
        if not form.get("ae_type"):
            form.add("ae_type", "Choose what happened.")
        if not form.get("ae_severity"):
            form.add("ae_severity", "Choose how severe it was.")
        events.append({"type": str(form.get("ae_type")), "severity": str(form.get("ae_severity"))})
    data["adverse_events"] = events
    return data


def _apply(form: FormState, errors: list[FieldError]) -> None:
    for e in errors:
        if e.path in _FIELDS:
            form.add(_FIELDS[e.path], e.message)
        elif e.path.startswith("points"):
            form.add("points", str(e))
        elif e.path.startswith("adverse_events"):
            form.add("ae_type", str(e))
        else:  # the carried-over method: the full form shows it field by field
            form.add("_form", f"{e} (open the full form to change it)")


@router.post("/clinic/patients/{patient_id}/sessions/quick", dependencies=[SameOrigin])
def quick_submit(
    request: Request, patient_id: int, user: StaffUser, posted: PostedForm, session: WriteSession
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    prev = _previous(session, user, patient)
    form = FormState.from_form(posted)
    data = _read(form, _base_record(prev, user))
    if form.ok:
        try:
            with session.begin_nested():
                care.create_treatment_session(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    data=data,
                    course_id=prev["course_id"] if prev is not None else None,
                )
        except ValidationError as exc:
            _apply(form, exc.errors)
        except Conflict as exc:
            form.add("_form", str(exc))
        else:
            return see_other(f"/clinic/patients/{patient.id}/sessions?saved=quick")
    return _page(request, user, session, patient, form, prev, status_code=422)
