"""The treatment-session form and the STRICTA record, in both directions.

Kept apart from the routes because it is the one place that knows both shapes: the form's flat
field names (``side-GB20``, ``ae1_type``) and the service's nested paths (``points[0].side``,
``adverse_events[1].type``). A prefill is turned into the form's raw strings; a submitted form is
read into the service's mapping, with what could not be read put next to its field at once; and
the domain's error paths are mapped back to the field that caused them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from acuhead.domain.diary import Side
from acuhead.domain.sessions import (
    AdverseEventType,
    CoInterventionKind,
    DepthUnit,
    Individualisation,
    Severity,
    Style,
)
from acuhead.domain.tcm.points import normalise_code
from acuhead.domain.tcm.prescribe import is_midline
from acuhead.errors import FieldError, ValidationError
from acuhead.web.pages.base import FormState
from acuhead.web.pages.care.common import int_or_none

SESSION_MULTI = frozenset({"point", "response_sought", "response_obtained", "co"})
AE_ROWS = 3
RESPONSES: tuple[tuple[str, str], ...] = (
    ("deqi", "De qi"),
    ("twitch", "Local twitch response"),
    ("none", "None"),
)
STYLES = tuple((s.value, s.value.replace("_", " ").capitalize()) for s in Style)
STYLE_LABELS = {"tcm": "Traditional Chinese medicine (TCM)"}
INDIVIDUALISATION = (
    ("", "Not recorded"),
    *((i.value, i.value.replace("_", "-").capitalize()) for i in Individualisation),
)
CO_KINDS = tuple((k.value, k.value.replace("_", " ").capitalize()) for k in CoInterventionKind)
AE_TYPES = (("", "No event"), *((t.value, t.value.replace("_", " ")) for t in AdverseEventType))
SEVERITIES = (("", "Choose"), *((s.value, s.value) for s in Severity))
SIDES = (("both", "Both"), ("left", "Left"), ("right", "Right"))
AE_FIELDS = ("type", "severity", "serious", "hospitalised", "point", "action_taken", "note")


def _fmt_num(v: Any) -> str:
    if v is None:
        return ""
    f = float(v)
    return str(int(f)) if f.is_integer() else str(f)


def session_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """A prefill (``care.prefill_session``) as the form's raw strings."""
    v: dict[str, Any] = {
        "style": record.get("style") or Style.TCM.value,
        "rationale": record.get("rationale") or "",
        "references": "\n".join(record.get("references") or []),
        "individualisation": record.get("individualisation") or "",
        "variation_notes": record.get("variation_notes") or "",
        "practitioner": record.get("practitioner") or "",
        "setting": record.get("setting") or "",
        "patient_information": record.get("patient_information") or "",
        "retention_min": _fmt_num(record.get("retention_min")),
        "response_sought": [str(r) for r in record.get("response_sought") or []],
        "response_obtained": [],
        "point": [],
        "co": [],
        "depth_unit": DepthUnit.CUN.value,
    }
    for p in record.get("points") or []:
        code = str(p["code"])
        v["point"].append(code)
        v[f"side-{code}"] = p.get("side") or "both"
        depth = p.get("depth") or {}
        if depth.get("value") is not None:
            v[f"depth-{code}"] = _fmt_num(depth["value"])
            v["depth_unit"] = depth.get("unit") or DepthUnit.CUN.value
    stim = record.get("stimulation") or {}
    if isinstance(stim, str):
        stim = {"method": stim}
    v["stim_electro"] = "yes" if stim.get("method") == "electro" else ""
    v["frequency_hz"] = "/".join(_fmt_num(f) for f in stim.get("frequency_hz") or [])
    v["intensity_ma"] = _fmt_num(stim.get("intensity_ma"))
    v["waveform"] = stim.get("waveform") or ""
    v["manual_method"] = stim.get("manual_method") or ""
    needle = record.get("needle") or {}
    v["needle_diameter_mm"] = _fmt_num(needle.get("diameter_mm"))
    v["needle_length_mm"] = _fmt_num(needle.get("length_mm"))
    v["needle_material"] = needle.get("material") or ""
    v["needle_brand"] = needle.get("brand") or ""
    for c in record.get("co_interventions") or []:
        kind = c.get("type") if isinstance(c, Mapping) else str(c)
        v["co"].append(kind)
        if isinstance(c, Mapping) and c.get("detail"):
            v[f"co_detail-{kind}"] = c["detail"]
    return v


def edit_values(record: Mapping[str, Any], start: dt.datetime) -> dict[str, Any]:
    """A stored session as the form's raw strings, for a correction: the method as for a
    prefill, plus what belongs to that visit (time, pain, responses, events, notes)."""
    v = session_values(record)
    v["start_date"] = start.date().isoformat()
    v["start_time"] = start.strftime("%H:%M")
    v["notes"] = record.get("notes") or ""
    v["needle_count"] = _fmt_num(record.get("needle_count"))
    v["response_obtained"] = [str(r) for r in record.get("response_obtained") or []]
    for key in ("pain_before", "pain_after"):
        v[key] = _fmt_num(record.get(key))
    for i, e in enumerate((record.get("adverse_events") or [])[:AE_ROWS]):
        v[f"ae{i}_type"] = e.get("type") or ""
        v[f"ae{i}_severity"] = e.get("severity") or ""
        v[f"ae{i}_serious"] = "yes" if e.get("serious") else ""
        v[f"ae{i}_hospitalised"] = "yes" if e.get("hospitalised") else ""
        v[f"ae{i}_point"] = e.get("point") or ""
        v[f"ae{i}_action_taken"] = e.get("action_taken") or ""
        v[f"ae{i}_note"] = e.get("note") or ""
    return v


def _number(form: FormState, name: str, what: str, *, whole: bool = False) -> float | int | None:
    """A number typed into ``name`` (a decimal comma is read too); None when left empty."""
    text = str(form.get(name)).replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or (whole and not value.is_integer()):
        form.add(name, f"{what}: enter a {'whole number' if whole else 'number, e.g. 0.5'}.")
        return None
    return int(value) if whole else value


@dataclass
class SessionInput:
    """What the form sends, as the service's mapping, and how its paths map back to fields."""

    data: dict[str, Any]
    codes: list[str]  # points[i] -> codes[i]
    ae_rows: list[int]  # adverse_events[j] -> form row ae_rows[j]
    course_id: int | None
    prescription_id: int | None


def _read_points(form: FormState) -> tuple[list[dict[str, Any]], list[str]]:
    codes: list[str] = []
    for raw in form.values.get("point", []):
        try:
            codes.append(normalise_code(str(raw)))
        except ValidationError:
            form.add("point", f"Unknown point {raw!r} in the list; reload the page.")
    for raw in re.split(r"[,;\n]+", str(form.get("other_points"))):
        if not raw.strip():
            continue
        try:
            codes.append(normalise_code(raw))
        except ValidationError as exc:
            form.add("other_points", exc.errors[0].message)
    codes = list(dict.fromkeys(codes))
    unit = str(form.get("depth_unit")) or DepthUnit.CUN.value
    if unit not in {DepthUnit.CUN.value, DepthUnit.MM.value}:
        form.add("depth_unit", "Choose cun or mm.")
    points: list[dict[str, Any]] = []
    for code in codes:
        p: dict[str, Any] = {"code": code}
        if not is_midline(code):
            p["side"] = str(form.get(f"side-{code}")) or Side.BOTH.value
        depth = _number(form, f"depth-{code}", f"Depth of {code}")
        if depth is not None:
            p["depth"] = {"value": depth, "unit": unit}
        points.append(p)
    return points, codes


def _read_adverse_events(form: FormState) -> tuple[list[dict[str, Any]], list[int]]:
    events: list[dict[str, Any]] = []
    rows: list[int] = []
    for i in range(AE_ROWS):
        val = {f: str(form.get(f"ae{i}_{f}")) for f in AE_FIELDS}
        if not any(val.values()):
            continue
        if not val["type"]:
            form.add(f"ae{i}_type", "Choose what happened (or clear this event's fields).")
        if not val["severity"]:
            form.add(f"ae{i}_severity", "Choose how severe it was.")
        event: dict[str, Any] = {
            "type": val["type"],
            "severity": val["severity"],
            "hospitalised": val["hospitalised"] == "yes",
            "action_taken": val["action_taken"],
            "note": val["note"],
        }
        if val["serious"] == "yes":  # unticked: derived (pneumothorax, severe -> serious)
            event["serious"] = True
        if val["point"]:
            event["point"] = val["point"]
        events.append(event)
        rows.append(i)
    return events, rows


def read_session(form: FormState) -> SessionInput:
    """The form as the service's STRICTA mapping; unreadable values become field errors."""
    data: dict[str, Any] = {}
    raw_date, raw_time = str(form.get("start_date")), str(form.get("start_time"))
    try:
        day = dt.date.fromisoformat(raw_date)
    except ValueError:
        form.add("start_date", "Enter the date of the session, e.g. 2026-03-02.")
        day = None
    try:
        at = dt.time.fromisoformat(raw_time)
    except ValueError:
        form.add("start_time", "Enter the time the session started, e.g. 14:30.")
        at = None
    if day is not None and at is not None:
        data["start"] = dt.datetime.combine(day, at.replace(second=0, microsecond=0)).isoformat()
    for key in ("style", "rationale", "variation_notes", "practitioner", "setting"):
        data[key] = str(form.get(key))
    data["patient_information"] = str(form.get("patient_information"))
    data["notes"] = str(form.get("notes"))
    if form.get("individualisation"):
        data["individualisation"] = str(form.get("individualisation"))
    data["references"] = [
        line.strip() for line in str(form.get("references")).splitlines() if line.strip()
    ]
    points, codes = _read_points(form)
    data["points"] = points
    needle_count = _number(form, "needle_count", "Needle insertions", whole=True)
    if needle_count is not None:
        data["needle_count"] = needle_count
    data["response_sought"] = list(form.values.get("response_sought", []))
    data["response_obtained"] = list(form.values.get("response_obtained", []))
    stim: dict[str, Any] = {"method": "electro" if form.get("stim_electro") == "yes" else "manual"}
    if form.get("manual_method"):
        stim["manual_method"] = str(form.get("manual_method"))
    if stim["method"] == "electro":
        raw_f = str(form.get("frequency_hz"))
        if raw_f:
            try:
                stim["frequency_hz"] = [
                    float(x.replace(",", ".")) for x in re.split(r"[/\s]+", raw_f) if x
                ]
            except ValueError:
                form.add("frequency_hz", "Enter the frequency in Hz, e.g. 2/100 or 2.")
        intensity = _number(form, "intensity_ma", "Intensity")
        if intensity is not None:
            stim["intensity_ma"] = intensity
        if form.get("waveform"):
            stim["waveform"] = str(form.get("waveform"))
    data["stimulation"] = stim
    retention = _number(form, "retention_min", "Needle retention", whole=True)
    if retention is not None:
        data["retention_min"] = retention
    needle: dict[str, Any] = {}
    for key in ("diameter_mm", "length_mm"):
        n = _number(form, f"needle_{key}", "Needle " + key.replace("_mm", ""))
        if n is not None:
            needle[key] = n
    for key in ("material", "brand"):
        if form.get(f"needle_{key}"):
            needle[key] = str(form.get(f"needle_{key}"))
    if needle:
        data["needle"] = needle
    data["co_interventions"] = [
        {"type": kind, "detail": str(form.get(f"co_detail-{kind}"))}
        for kind in form.values.get("co", [])
    ]
    for key in ("pain_before", "pain_after"):
        pain = _number(form, key, key.replace("_", " ").capitalize(), whole=True)
        if pain is not None:
            data[key] = pain
    data["adverse_events"], ae_rows = _read_adverse_events(form)
    course_id = prescription_id = None
    if form.get("course_id"):
        course_id = int_or_none(str(form.get("course_id")))
        if course_id is None:
            form.add("course_id", "Choose a course from the list.")
    if form.get("prescription_id") and form.get("link_prescription") == "yes":
        prescription_id = int_or_none(str(form.get("prescription_id")))
    return SessionInput(data, codes, ae_rows, course_id, prescription_id)


_SESSION_FIELDS: Mapping[str, str] = {
    "start": "start_date",
    "style": "style",
    "rationale": "rationale",
    "individualisation": "individualisation",
    "variation_notes": "variation_notes",
    "needle_count": "needle_count",
    "retention_min": "retention_min",
    "practitioner": "practitioner",
    "setting": "setting",
    "patient_information": "patient_information",
    "pain_before": "pain_before",
    "pain_after": "pain_after",
    "notes": "notes",
    "course_id": "course_id",
    "stimulation.method": "stim_electro",
    "stimulation.intensity_ma": "intensity_ma",
    "stimulation.waveform": "waveform",
    "stimulation.manual_method": "manual_method",
    "needle.diameter_mm": "needle_diameter_mm",
    "needle.length_mm": "needle_length_mm",
    "needle.material": "needle_material",
    "needle.brand": "needle_brand",
}
_SESSION_PREFIXES: tuple[tuple[str, str], ...] = (
    ("stimulation.frequency_hz", "frequency_hz"),
    ("references", "references"),
    ("response_sought", "response_sought"),
    ("response_obtained", "response_obtained"),
    ("co_interventions", "co"),
)
_INDEXED = re.compile(r"(points|adverse_events)\[(\d+)\](?:\.(\w+))?")


def _session_field(path: str, given: SessionInput) -> str | None:
    if path in _SESSION_FIELDS:
        return _SESSION_FIELDS[path]
    for prefix, name in _SESSION_PREFIXES:
        if path.startswith(prefix):
            return name
    m = _INDEXED.match(path)
    if m is None:
        return "point" if path == "points" else None
    kind, index, field = m.group(1), int(m.group(2)), m.group(3) or ""
    if kind == "points":
        if index >= len(given.codes):
            return "point"
        code = given.codes[index]
        return f"side-{code}" if field == "side" else f"depth-{code}" if field else "point"
    if index >= len(given.ae_rows):
        return None
    return f"ae{given.ae_rows[index]}_{field if field in AE_FIELDS else 'type'}"


def apply_session_errors(form: FormState, errors: list[FieldError], given: SessionInput) -> None:
    for e in errors:
        name = _session_field(e.path, given)
        form.add(name or "_form", e.message if name else str(e))
