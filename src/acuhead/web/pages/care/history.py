"""The session history: a patient's treatment sessions as readable STRICTA records, the latest
first, with each session's notes, its earlier versions, and a link to correct it.

Why a page of its own: the patient page's timeline shows one line a session (points and pain),
but the practitioner opening a patient wants what was done last time and what they wrote about
it. Every label is a human name (points by WHO code and pinyin, styles, responses and adverse
events from the domain's label tables), never the stored value; notes are text, escaped by the
templates like everything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from acuhead.domain.sessions import (
    ADVERSE_EVENT_LABELS,
    CO_INTERVENTION_LABELS,
    INDIVIDUALISATION_LABELS,
    RESPONSE_LABELS,
    STYLE_LABELS,
    AdverseEventType,
    CoInterventionKind,
    Individualisation,
    Style,
)
from acuhead.domain.sessions import (
    Response as NeedleResponse,
)
from acuhead.domain.tcm.points import catalogue
from acuhead.services import care
from acuhead.store.models import SessionVersionRow, TreatmentSessionRow
from acuhead.web.deps import WriteSession
from acuhead.web.pages.base import StaffUser, render
from acuhead.web.pages.care.common import care_patient
from acuhead.web.pages.zones import clinic_zone

router = APIRouter()

HISTORY_LIMIT = 200  # sessions on one page; a course is 10-20, a long-treated patient ~100
OPEN_SESSIONS = 3  # shown in full; older ones fold to one line (a phone page stays short)


def _label(table: Mapping[Any, str], enum: type[Any], value: Any) -> str:
    """The human name of a stored code; an unknown value is shown with spaces, never raw."""
    try:
        return table[enum(value)]
    except ValueError:
        return str(value).replace("_", " ")


def point_name(code: str) -> str:
    """ "GB20 Fengchi": the WHO code a practitioner reads, and the point's name."""
    point = catalogue().get(code)
    return f"{code} {point.pinyin}" if point is not None and point.pinyin else code


def _num(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else str(f)


def _point_line(p: Mapping[str, Any]) -> str:
    parts = [point_name(str(p.get("code", "")))]
    side = p.get("side")
    if side and side != "both":
        parts.append(str(side))
    elif side == "both":
        parts.append("both sides")
    depth = p.get("depth") or {}
    if isinstance(depth, Mapping) and depth.get("value") is not None:
        parts.append(f"{_num(depth['value'])} {depth.get('unit') or 'cun'} deep")
    elif isinstance(depth, Mapping) and depth.get("tissue"):
        parts.append(f"to the {depth['tissue']}")
    return ", ".join(parts)


def _needling(r: Mapping[str, Any]) -> list[str]:
    """STRICTA item 2, as sentences: insertions, stimulation, retention, needles, responses."""
    out: list[str] = []
    if r.get("needle_count"):
        out.append(f"{r['needle_count']} needle insertions")
    stim = r.get("stimulation") or {}
    if isinstance(stim, Mapping):
        if stim.get("method") == "electro":
            text = "Electro-stimulation"
            if stim.get("frequency_hz"):
                text += " " + "/".join(_num(f) for f in stim["frequency_hz"]) + " Hz"
            if stim.get("intensity_ma") is not None:
                text += f", {_num(stim['intensity_ma'])} mA"
            if stim.get("waveform"):
                text += f", {stim['waveform']}"
            out.append(text)
        else:
            manual = str(stim.get("manual_method") or "")
            out.append("Manual stimulation" + (f": {manual}" if manual else ""))
    if r.get("retention_min") is not None:
        out.append(f"needles kept in for {r['retention_min']} minutes")
    needle = r.get("needle") or {}
    if isinstance(needle, Mapping) and needle:
        size = " × ".join(
            f"{_num(needle[k])} mm" for k in ("diameter_mm", "length_mm") if needle.get(k)
        )
        what = " ".join(str(needle[k]) for k in ("material", "brand") if needle.get(k))
        out.append("Needles " + ", ".join(x for x in (size, what) if x))
    sought = [_label(RESPONSE_LABELS, NeedleResponse, x) for x in r.get("response_sought") or []]
    got = [_label(RESPONSE_LABELS, NeedleResponse, x) for x in r.get("response_obtained") or []]
    if sought:
        out.append("Response sought: " + ", ".join(sought))
    if got:
        out.append("Response obtained: " + ", ".join(got))
    return out


def _events(r: Mapping[str, Any]) -> list[str]:
    out = []
    for e in r.get("adverse_events") or []:
        kind = _label(ADVERSE_EVENT_LABELS, AdverseEventType, e.get("type"))
        text = f"{kind}, {e.get('severity')}"
        if e.get("serious"):
            text += ", serious"
        if e.get("hospitalised"):
            text += ", taken to hospital"
        if e.get("point"):
            text += f" (at {point_name(str(e['point']))})"
        if e.get("action_taken"):
            text += f": {e['action_taken']}"
        if e.get("note"):
            text += f". {e['note']}"
        out.append(text)
    return out


@dataclass
class SessionView:
    """One session as the history shows it."""

    id: int
    start: Any
    version: int
    style: str
    points: list[str]
    needling: list[str]
    co_interventions: list[str]
    pain_before: int | None
    pain_after: int | None
    adverse_events: list[str]
    notes: str
    rationale: str
    individualisation: str
    practitioner: str
    setting: str
    patient_information: str
    earlier: list[SessionView] = field(default_factory=list)
    changed_utc: Any = None


def session_view(record: Mapping[str, Any], *, id: int, start: Any, version: int) -> SessionView:
    """A stored STRICTA record (``session_as_dict``) in words."""
    r = record
    co = []
    for c in r.get("co_interventions") or []:
        kind = c.get("type") if isinstance(c, Mapping) else c
        text = _label(CO_INTERVENTION_LABELS, CoInterventionKind, kind)
        if isinstance(c, Mapping) and c.get("detail"):
            text += f": {c['detail']}"
        co.append(text)
    return SessionView(
        id=id,
        start=start,
        version=version,
        style=_label(STYLE_LABELS, Style, r.get("style") or Style.TCM.value),
        points=[_point_line(p) for p in r.get("points") or [] if isinstance(p, Mapping)],
        needling=_needling(r),
        co_interventions=co,
        pain_before=r.get("pain_before"),
        pain_after=r.get("pain_after"),
        adverse_events=_events(r),
        notes=str(r.get("notes") or ""),
        rationale=str(r.get("rationale") or ""),
        individualisation=(
            _label(INDIVIDUALISATION_LABELS, Individualisation, r["individualisation"])
            if r.get("individualisation")
            else ""
        ),
        practitioner=str(r.get("practitioner") or ""),
        setting=str(r.get("setting") or ""),
        patient_information=str(r.get("patient_information") or ""),
    )


def history_views(
    rows: Sequence[TreatmentSessionRow], versions: Mapping[int, Sequence[SessionVersionRow]]
) -> list[SessionView]:
    """The sessions, latest first, each with its earlier versions (newest first)."""
    out = []
    for row in sorted(rows, key=lambda r: (r.start_local, r.id), reverse=True):
        view = session_view(row.record or {}, id=row.id, start=row.start_local, version=row.version)
        for v in versions.get(row.id, ()):
            old = session_view(v.record or {}, id=row.id, start=v.start_local, version=v.version)
            old.changed_utc = v.changed_utc
            view.earlier.append(old)
        out.append(view)
    return out


@router.get("/clinic/patients/{patient_id}/sessions")
def history_page(
    request: Request, patient_id: int, user: StaffUser, session: WriteSession
) -> Response:
    patient = care_patient(request, user, session, patient_id)
    if isinstance(patient, Response):
        return patient
    actor = user.actor
    rows, total = care.list_treatment_sessions(
        session, actor=actor, patient_id=patient.id, limit=HISTORY_LIMIT,
        offset=0, latest_first=True,
    )  # fmt: skip
    versions = care.list_session_versions(
        session, actor=actor, patient_id=patient.id, session_ids=[r.id for r in rows]
    )
    ctx = {
        "patient": patient,
        "sessions": history_views(rows, versions),
        "total": total,
        "open_count": OPEN_SESSIONS,
        "clinic_zone": clinic_zone(session, patient.clinic_id),
        "saved": request.query_params.get("saved", "") in {"quick", "edit"},
    }
    return render(request, "care/history.html", ctx, user=user)
