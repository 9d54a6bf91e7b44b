"""One acupuncture session as STRICTA 2010 asks it to be reported, and the course it belongs to.

Why STRICTA: MacPherson H, Altman DG, Hammerschlag R et al., PLoS Med 2010;7(6):e1000261 lists what
an acupuncture treatment report must say (6 items, 17 sub-items; CLINICAL.md 6). Recording every
session in that shape means a clinic's own data can later be described like a trial arm. Adverse
events, pain before/after and de qi obtained are the "useful extras" of CLINICAL.md 6.

``validate_session`` is the only way in: it reads a plain mapping (form, JSON, import), checks every
field and reports *all* problems at once as ``FieldError`` paths ("stimulation.frequency_hz",
"points[2].code", "adverse_events[0].serious"). ``session_as_dict`` is its exact inverse.

Ranges (each cited where it is decided):
* retention 0-120 min: 0 allows needling without retention; the trials used 30 min
  (CLINICAL.md 7.4).
* electro frequency 1-150 Hz: covers the 2 Hz / 100 Hz pair of Han's work and Li 2012's 2/100 Hz
  alternating stimulation (CLINICAL.md 5.6, 8 #1) with room for common device settings; a value
  outside is far likelier a typing slip than a real setting.
* intensity 0-20 mA: Li 2012 used 0.1-1.0 mA; 20 mA is a generous ceiling for a typo check.
* needle diameter 0.12-0.5 mm and length 7-125 mm: the span of filiform needles on sale.
* pain 0-10 numeric rating scale, whole numbers (as in the diary, ``IntensityReading``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from acuhead.domain.diary import Side
from acuhead.domain.tcm.patterns import PATTERN_LABELS
from acuhead.domain.tcm.points import normalise_code
from acuhead.domain.tcm.prescribe import Group, is_midline, needles_for
from acuhead.errors import FieldError, ValidationError

if TYPE_CHECKING:
    from acuhead.domain.tcm.prescribe import Prescription

RETENTION_MIN_RANGE = (0, 120)
FREQUENCY_HZ_RANGE = (1.0, 150.0)
INTENSITY_MA_RANGE = (0.0, 20.0)
NEEDLE_DIAMETER_MM_RANGE = (0.12, 0.5)
NEEDLE_LENGTH_MM_RANGE = (7.0, 125.0)
PAIN_RANGE = (0, 10)
DEPTH_CUN_MAX = 5.0
DEPTH_MM_MAX = 125.0  # no deeper than the longest needle accepted


class Style(StrEnum):
    """STRICTA 1a: style of acupuncture."""

    TCM = "tcm"
    JAPANESE = "japanese"
    KOREAN = "korean"
    WESTERN_MEDICAL = "western_medical"
    FIVE_ELEMENT = "five_element"
    AURICULAR = "auricular"
    OTHER = "other"


class Individualisation(StrEnum):
    """STRICTA 1c: how far treatment varied between patients."""

    FIXED = "fixed"
    SEMI_STANDARDISED = "semi_standardised"
    INDIVIDUALISED = "individualised"


class Response(StrEnum):
    """STRICTA 2d: response sought or obtained."""

    DEQI = "deqi"
    TWITCH = "twitch"
    NONE = "none"


class StimulationMethod(StrEnum):
    """STRICTA 2e."""

    MANUAL = "manual"
    ELECTRO = "electro"


class DepthUnit(StrEnum):
    """STRICTA 2c: depth in cun, in mm, or as the tissue level reached."""

    CUN = "cun"
    MM = "mm"
    TISSUE = "tissue"


class CoInterventionKind(StrEnum):
    """STRICTA 4a: other interventions given in the session."""

    MOXIBUSTION = "moxibustion"
    CUPPING = "cupping"
    GUA_SHA = "gua_sha"
    EXERCISES = "exercises"
    ADVICE = "advice"
    HEAT = "heat"
    OTHER = "other"


class AdverseEventType(StrEnum):
    """Adverse events worth recording per session (CLINICAL.md 6 extras, 7.3)."""

    BLEEDING = "bleeding"
    HAEMATOMA = "haematoma"
    PAIN = "pain"
    FAINTING = "fainting"
    DIZZINESS = "dizziness"
    NAUSEA = "nausea"
    INFECTION = "infection"
    PNEUMOTHORAX = "pneumothorax"
    NERVE_INJURY = "nerve_injury"
    FORGOTTEN_NEEDLE = "forgotten_needle"
    OTHER = "other"


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


# Human words for the codes above: what pages, the history and the letter show instead of the
# stored values (issue 15: no snake_case in the interface).
STYLE_LABELS: dict[Style, str] = {
    Style.TCM: "Traditional Chinese medicine (TCM)",
    Style.JAPANESE: "Japanese",
    Style.KOREAN: "Korean",
    Style.WESTERN_MEDICAL: "Western medical",
    Style.FIVE_ELEMENT: "Five element",
    Style.AURICULAR: "Auricular (ear)",
    Style.OTHER: "Other",
}
INDIVIDUALISATION_LABELS: dict[Individualisation, str] = {
    Individualisation.FIXED: "Fixed (the same points for every patient)",
    Individualisation.SEMI_STANDARDISED: "Semi-standardised",
    Individualisation.INDIVIDUALISED: "Individualised",
}
RESPONSE_LABELS: dict[Response, str] = {
    Response.DEQI: "De qi",
    Response.TWITCH: "Local twitch response",
    Response.NONE: "None",
}
CO_INTERVENTION_LABELS: dict[CoInterventionKind, str] = {
    CoInterventionKind.MOXIBUSTION: "Moxibustion",
    CoInterventionKind.CUPPING: "Cupping",
    CoInterventionKind.GUA_SHA: "Gua sha",
    CoInterventionKind.EXERCISES: "Exercises",
    CoInterventionKind.ADVICE: "Advice",
    CoInterventionKind.HEAT: "Heat",
    CoInterventionKind.OTHER: "Other",
}
ADVERSE_EVENT_LABELS: dict[AdverseEventType, str] = {
    AdverseEventType.BLEEDING: "bleeding",
    AdverseEventType.HAEMATOMA: "haematoma (bruise)",
    AdverseEventType.PAIN: "pain at a needle site",
    AdverseEventType.FAINTING: "fainting",
    AdverseEventType.DIZZINESS: "dizziness",
    AdverseEventType.NAUSEA: "nausea",
    AdverseEventType.INFECTION: "infection",
    AdverseEventType.PNEUMOTHORAX: "pneumothorax",
    AdverseEventType.NERVE_INJURY: "nerve injury",
    AdverseEventType.FORGOTTEN_NEEDLE: "forgotten needle",
    AdverseEventType.OTHER: "other",
}


@dataclass(frozen=True, slots=True)
class Depth:
    value: float | None
    unit: DepthUnit
    tissue: str = ""  # for unit == tissue: "subcutaneous", "muscle" ...


@dataclass(frozen=True, slots=True)
class SessionPoint:
    """STRICTA 2b/2c: a WHO code, its side (None for a midline point) and optional depth."""

    code: str
    side: Side | None = None
    depth: Depth | None = None


@dataclass(frozen=True, slots=True)
class Stimulation:
    """STRICTA 2e. ``frequency_hz`` holds one value, or two for alternating (2/100 Hz)."""

    method: StimulationMethod = StimulationMethod.MANUAL
    frequency_hz: tuple[float, ...] = ()
    intensity_ma: float | None = None
    waveform: str = ""
    manual_method: str = ""  # e.g. "lifting-thrusting, even"


@dataclass(frozen=True, slots=True)
class Needle:
    """STRICTA 2g."""

    diameter_mm: float | None = None
    length_mm: float | None = None
    material: str = ""
    brand: str = ""


@dataclass(frozen=True, slots=True)
class CoIntervention:
    kind: CoInterventionKind
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    """One event. ``serious`` must be true for pneumothorax, severe events or hospitalisation."""

    type: AdverseEventType
    severity: Severity
    serious: bool
    hospitalised: bool = False
    action_taken: str = ""
    point: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One treatment session (STRICTA items 1, 2, 4 and 5; regimen 3 lives on TreatmentCourse)."""

    start: dt.datetime | None
    style: Style
    points: tuple[SessionPoint, ...]
    needle_count: int
    rationale: str = ""
    references: tuple[str, ...] = ()
    individualisation: Individualisation | None = None
    variation_notes: str = ""
    response_sought: tuple[Response, ...] = ()
    response_obtained: tuple[Response, ...] = ()
    stimulation: Stimulation = Stimulation()
    retention_min: int | None = None
    needle: Needle | None = None
    co_interventions: tuple[CoIntervention, ...] = ()
    practitioner: str = ""
    setting: str = ""
    patient_information: str = ""
    pain_before: int | None = None
    pain_after: int | None = None
    adverse_events: tuple[AdverseEvent, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class TreatmentCourse:
    """STRICTA 3a/3b: the planned regimen (e.g. Zhao 2017: 20 sessions at 5 per week)."""

    planned_sessions: int
    sessions_per_week: float
    start: dt.date
    session_duration_min: int | None = None

    @property
    def weeks(self) -> float:
        return self.planned_sessions / self.sessions_per_week


# ---- validation machinery -------------------------------------------------------------------

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


class _Reader:
    """Collects every problem with its path instead of stopping at the first one."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def err(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def keys(self, data: Mapping[str, Any], allowed: Iterable[str], prefix: str) -> None:
        allowed_set = set(allowed)
        for k in data:
            if k not in allowed_set:
                self.err(f"{prefix}{k}", "unknown field")

    def text(self, data: Mapping[str, Any], key: str, path: str) -> str:
        v = data.get(key)
        if v is None:
            return ""
        if not isinstance(v, str):
            self.err(path, "expected text")
            return ""
        return v.strip()

    def enum(self, cls: type[_E], value: Any, path: str) -> _E | None:
        if not isinstance(value, str):
            self.err(path, f"expected one of {', '.join(m.value for m in cls)}")
            return None
        try:
            return cls(value.strip().lower())
        except ValueError:
            self.err(
                path, f"unknown value {value!r}; expected one of {', '.join(m.value for m in cls)}"
            )
            return None

    def number(
        self, value: Any, path: str, lo: float, hi: float, *, whole: bool = False
    ) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.err(path, "expected a number")
            return None
        if whole and not float(value).is_integer():
            self.err(path, "expected a whole number")
            return None
        if not lo <= value <= hi:
            self.err(path, f"{value} is outside {lo:g}-{hi:g}")
            return None
        return float(value)

    def whole(self, value: Any, path: str, lo: int, hi: int | None) -> int | None:
        v = self.number(value, path, lo, float("inf") if hi is None else hi, whole=True)
        return None if v is None else int(v)

    def mapping(self, value: Any, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.err(path, "expected an object")
            return None
        return value

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.err(path, "expected a list")
            return []
        return value

    def collect(
        self, value: Any, path: str, read: Callable[[Any, str], _T | None]
    ) -> tuple[_T, ...]:
        out: list[_T] = []
        for i, item in enumerate(self.items(value, path)):
            got = read(item, f"{path}[{i}]")
            if got is not None:
                out.append(got)
        return tuple(out)


def _responses(r: _Reader, value: Any, path: str) -> tuple[Response, ...]:
    """A single value or a list; "none" cannot stand beside a response."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = tuple(
        e
        for i, v in enumerate(items)
        if (e := r.enum(Response, v, f"{path}[{i}]" if isinstance(value, list) else path))
    )
    if Response.NONE in out and len(set(out)) > 1:
        r.err(path, "'none' cannot be combined with another response")
    return tuple(dict.fromkeys(out))


def _depth(r: _Reader, value: Any, path: str) -> Depth | None:
    d = r.mapping(value, path)
    if d is None:
        return None
    r.keys(d, ("value", "unit", "tissue"), f"{path}.")
    unit = r.enum(DepthUnit, d.get("unit"), f"{path}.unit")
    if unit is None:
        return None
    tissue = r.text(d, "tissue", f"{path}.tissue")
    if unit is DepthUnit.TISSUE:
        if not tissue:
            r.err(f"{path}.tissue", "name the tissue level (e.g. subcutaneous, muscle)")
            return None
        return Depth(None, unit, tissue)
    hi = DEPTH_CUN_MAX if unit is DepthUnit.CUN else DEPTH_MM_MAX
    v = r.number(d.get("value"), f"{path}.value", 0.0, hi)
    if v is None:
        return None
    if v == 0:
        r.err(f"{path}.value", "depth must be above 0")
        return None
    return Depth(v, unit, tissue)


def _point(r: _Reader, value: Any, path: str) -> SessionPoint | None:
    p = r.mapping(value, path)
    if p is None:
        return None
    r.keys(p, ("code", "side", "depth"), f"{path}.")
    raw = p.get("code")
    if not isinstance(raw, str):
        r.err(f"{path}.code", "expected a point code such as GB20")
        return None
    try:
        code = normalise_code(raw)
    except ValidationError as e:
        r.err(f"{path}.code", str(e))
        return None
    side: Side | None = None
    if p.get("side") is not None:
        side = r.enum(Side, p.get("side"), f"{path}.side")
    elif not is_midline(code):
        r.err(f"{path}.side", "required for a paired point: left, right or both")
    depth = _depth(r, p["depth"], f"{path}.depth") if p.get("depth") is not None else None
    return SessionPoint(code, None if is_midline(code) else side, depth)


def _stimulation(r: _Reader, value: Any, path: str) -> Stimulation:
    if value is None:
        return Stimulation()
    if isinstance(value, str):  # shorthand used by the diary document: "manual" / "electro"
        value = {"method": value}
    s = r.mapping(value, path)
    if s is None:
        return Stimulation()
    r.keys(s, ("method", "frequency_hz", "intensity_ma", "waveform", "manual_method"), f"{path}.")
    method = r.enum(StimulationMethod, s.get("method", "manual"), f"{path}.method")
    freq: tuple[float, ...] = ()
    raw_f = s.get("frequency_hz")
    if raw_f is not None:
        many = isinstance(raw_f, list)
        values = raw_f if many else [raw_f]
        got = [
            r.number(
                v,
                f"{path}.frequency_hz[{i}]" if many else f"{path}.frequency_hz",
                *FREQUENCY_HZ_RANGE,
            )
            for i, v in enumerate(values)
        ]
        freq = tuple(v for v in got if v is not None)
        if many and not values:
            r.err(f"{path}.frequency_hz", "give at least one frequency")
    intensity = None
    if s.get("intensity_ma") is not None:
        intensity = r.number(s["intensity_ma"], f"{path}.intensity_ma", *INTENSITY_MA_RANGE)
    if method is StimulationMethod.ELECTRO and raw_f is None:
        r.err(f"{path}.frequency_hz", "required for electro-stimulation (STRICTA 2e)")
    if method is StimulationMethod.MANUAL:
        for key in ("frequency_hz", "intensity_ma", "waveform"):
            if s.get(key) is not None:
                r.err(f"{path}.{key}", "only for electro-stimulation")
    return Stimulation(
        method or StimulationMethod.MANUAL,
        freq,
        intensity,
        r.text(s, "waveform", f"{path}.waveform"),
        r.text(s, "manual_method", f"{path}.manual_method"),
    )


def _needle(r: _Reader, value: Any, path: str) -> Needle | None:
    n = r.mapping(value, path)
    if n is None:
        return None
    r.keys(n, ("diameter_mm", "length_mm", "material", "brand"), f"{path}.")
    dia = length = None
    if n.get("diameter_mm") is not None:
        dia = r.number(n["diameter_mm"], f"{path}.diameter_mm", *NEEDLE_DIAMETER_MM_RANGE)
    if n.get("length_mm") is not None:
        length = r.number(n["length_mm"], f"{path}.length_mm", *NEEDLE_LENGTH_MM_RANGE)
    return Needle(
        dia, length, r.text(n, "material", f"{path}.material"), r.text(n, "brand", f"{path}.brand")
    )


def _co_intervention(r: _Reader, value: Any, path: str) -> CoIntervention | None:
    if isinstance(value, str):
        kind = r.enum(CoInterventionKind, value, path)
        return CoIntervention(kind) if kind else None
    c = r.mapping(value, path)
    if c is None:
        return None
    r.keys(c, ("type", "detail"), f"{path}.")
    kind = r.enum(CoInterventionKind, c.get("type"), f"{path}.type")
    return CoIntervention(kind, r.text(c, "detail", f"{path}.detail")) if kind else None


def _adverse_event(r: _Reader, value: Any, path: str) -> AdverseEvent | None:
    a = r.mapping(value, path)
    if a is None:
        return None
    r.keys(
        a,
        ("type", "severity", "serious", "hospitalised", "action_taken", "point", "note"),
        f"{path}.",
    )
    kind = r.enum(AdverseEventType, a.get("type"), f"{path}.type")
    severity = r.enum(Severity, a.get("severity"), f"{path}.severity")
    hospitalised = a.get("hospitalised", False)
    if not isinstance(hospitalised, bool):
        r.err(f"{path}.hospitalised", "expected true or false")
        hospitalised = False
    point = None
    if a.get("point") is not None:
        try:
            point = normalise_code(str(a["point"]))
        except ValidationError as e:
            r.err(f"{path}.point", str(e))
    if kind is None or severity is None:
        return None
    # Pneumothorax, a severe event or a hospital admission is a serious adverse event and must be
    # flagged as such (CLINICAL.md 7.3: pneumothorax is the commonest serious event). A missing
    # flag is derived; an explicit false is a contradiction and rejected.
    must = kind is AdverseEventType.PNEUMOTHORAX or severity is Severity.SEVERE or hospitalised
    raw_serious = a.get("serious")
    if raw_serious is None:
        serious = must
    elif not isinstance(raw_serious, bool):
        r.err(f"{path}.serious", "expected true or false")
        return None
    else:
        serious = raw_serious
        if must and not serious:
            r.err(
                f"{path}.serious",
                "pneumothorax, severe events and hospitalisation must be flagged serious",
            )
            return None
    return AdverseEvent(
        kind,
        severity,
        serious,
        hospitalised,
        r.text(a, "action_taken", f"{path}.action_taken"),
        point,
        r.text(a, "note", f"{path}.note"),
    )


_SESSION_KEYS = (
    "start", "style", "rationale", "references", "individualisation", "variation_notes",
    "points", "needle_count", "response_sought", "response_obtained", "deqi", "stimulation",
    "retention_min", "retention_minutes", "needle", "co_interventions", "practitioner", "setting",
    "patient_information", "pain_before", "pain_after", "adverse_events", "notes",
)  # fmt: skip


def validate_session(data: Mapping[str, Any]) -> SessionRecord:
    """Check a session mapping and return the record, or raise ValidationError listing every path.

    Accepts the diary document's shorthands: ``stimulation: "manual"``, ``deqi: true|false``
    (response obtained) and ``retention_minutes`` (the STRICTA table's name) for ``retention_min``.
    Unknown fields are rejected so a misspelt field is not silently lost.
    """
    r = _Reader()
    if not isinstance(data, Mapping):
        raise ValidationError("a session must be an object")
    r.keys(data, _SESSION_KEYS, "")

    start = None
    if data.get("start") is not None:
        try:
            start = dt.datetime.fromisoformat(str(data["start"]))
        except ValueError:
            r.err("start", "expected an ISO date-time")
    style = r.enum(Style, data.get("style", Style.TCM.value), "style")
    individualisation = None
    if data.get("individualisation") is not None:
        individualisation = r.enum(
            Individualisation, data["individualisation"], "individualisation"
        )
    references = r.collect(
        data.get("references"),
        "references",
        lambda v, p: v.strip() if isinstance(v, str) else r.err(p, "expected text"),
    )

    if "points" not in data:
        r.err("points", "required (STRICTA 2b): list the points needled, may be empty")
    points = r.collect(data.get("points"), "points", lambda v, p: _point(r, v, p))

    needle_count = sum(needles_for(p.code, p.side) for p in points)
    if data.get("needle_count") is not None:
        n = r.whole(data["needle_count"], "needle_count", 0, None)
        needle_count = n if n is not None else needle_count

    sought = _responses(r, data.get("response_sought"), "response_sought")
    obtained = _responses(r, data.get("response_obtained"), "response_obtained")
    if data.get("deqi") is not None:
        if not isinstance(data["deqi"], bool):
            r.err("deqi", "expected true or false")
        elif data.get("response_obtained") is not None:
            r.err("deqi", "give either deqi or response_obtained, not both")
        else:
            obtained = (Response.DEQI,) if data["deqi"] else (Response.NONE,)

    retention = None
    rkey = "retention_min" if "retention_min" in data else "retention_minutes"
    if "retention_min" in data and "retention_minutes" in data:
        r.err("retention_minutes", "give retention_min only")
    if data.get(rkey) is not None:
        retention = r.whole(data[rkey], rkey, *RETENTION_MIN_RANGE)

    pains: dict[str, int | None] = {}
    for key in ("pain_before", "pain_after"):
        pains[key] = None
        if data.get(key) is not None:
            pains[key] = r.whole(data[key], key, *PAIN_RANGE)

    record = SessionRecord(
        start=start,
        style=style or Style.TCM,
        points=points,
        needle_count=needle_count,
        rationale=r.text(data, "rationale", "rationale"),
        references=references,
        individualisation=individualisation,
        variation_notes=r.text(data, "variation_notes", "variation_notes"),
        response_sought=sought,
        response_obtained=obtained,
        stimulation=_stimulation(r, data.get("stimulation"), "stimulation"),
        retention_min=retention,
        needle=_needle(r, data["needle"], "needle") if data.get("needle") is not None else None,
        co_interventions=r.collect(
            data.get("co_interventions"),
            "co_interventions",
            lambda v, p: _co_intervention(r, v, p),
        ),
        practitioner=r.text(data, "practitioner", "practitioner"),
        setting=r.text(data, "setting", "setting"),
        patient_information=r.text(data, "patient_information", "patient_information"),
        pain_before=pains["pain_before"],
        pain_after=pains["pain_after"],
        adverse_events=r.collect(
            data.get("adverse_events"), "adverse_events", lambda v, p: _adverse_event(r, v, p)
        ),
        notes=r.text(data, "notes", "notes"),
    )
    if r.errors:
        raise ValidationError(r.errors)
    return record


session_from_dict = validate_session
"""Import: the inverse of ``session_as_dict``."""


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def session_as_dict(s: SessionRecord) -> dict[str, Any]:
    """Export in the canonical shape; ``validate_session(session_as_dict(s)) == s``."""
    out: dict[str, Any] = {
        "start": s.start.isoformat() if s.start else None,
        "style": s.style.value,
        "rationale": s.rationale,
        "references": list(s.references),
        "individualisation": s.individualisation.value if s.individualisation else None,
        "variation_notes": s.variation_notes,
        "points": [_point_dict(p) for p in s.points],
        "needle_count": s.needle_count,
        "response_sought": [x.value for x in s.response_sought],
        "response_obtained": [x.value for x in s.response_obtained],
        "stimulation": _stimulation_dict(s.stimulation),
        "retention_min": s.retention_min,
        "needle": None
        if s.needle is None
        else {
            "diameter_mm": s.needle.diameter_mm,
            "length_mm": s.needle.length_mm,
            "material": s.needle.material,
            "brand": s.needle.brand,
        },
        "co_interventions": [
            {"type": c.kind.value, "detail": c.detail} for c in s.co_interventions
        ],
        "practitioner": s.practitioner,
        "setting": s.setting,
        "patient_information": s.patient_information,
        "pain_before": s.pain_before,
        "pain_after": s.pain_after,
        "adverse_events": [
            {
                "type": a.type.value,
                "severity": a.severity.value,
                "serious": a.serious,
                "hospitalised": a.hospitalised,
                "action_taken": a.action_taken,
                "point": a.point,
                "note": a.note,
            }
            for a in s.adverse_events
        ],
        "notes": s.notes,
    }
    return out


def _point_dict(p: SessionPoint) -> dict[str, Any]:
    d: dict[str, Any] = {"code": p.code}
    if p.side is not None:
        d["side"] = p.side.value
    if p.depth is not None:
        d["depth"] = {"value": p.depth.value, "unit": p.depth.unit.value}
        if p.depth.tissue:
            d["depth"]["tissue"] = p.depth.tissue
    return d


def _stimulation_dict(st: Stimulation) -> dict[str, Any]:
    d: dict[str, Any] = {"method": st.method.value}
    if st.manual_method:
        d["manual_method"] = st.manual_method
    if st.method is StimulationMethod.ELECTRO:
        d["frequency_hz"] = [_num(f) for f in st.frequency_hz]
        if st.intensity_ma is not None:
            d["intensity_ma"] = st.intensity_ma
        if st.waveform:
            d["waveform"] = st.waveform
    return d


# ---- prefills -------------------------------------------------------------------------------

_NOT_CARRIED = ("start", "needle_count", "response_obtained", "pain_before", "pain_after",
                "adverse_events", "notes")  # fmt: skip


def session_from_previous(prev: SessionRecord) -> dict[str, Any]:
    """Prefill the next session from the last one (USERS.md: no retyping the prescription).

    Carries the method (points, stimulation, needles, retention, style ...) and drops what
    belongs to that visit only: time, pain scores, response obtained, adverse events, notes.
    The needle count is recomputed from the points when the form is validated.
    """
    d = session_as_dict(prev)
    for key in _NOT_CARRIED:
        d.pop(key, None)
    return d


def session_from_prescription(p: Prescription) -> dict[str, Any]:
    """Prefill a session from a prescription: points with sides, stimulation, retention, rationale.

    STRICTA 1c is derived from the groups used: protocol or template only -> fixed; protocol plus
    individual points -> semi-standardised; otherwise individualised.
    """
    groups = {g for pt in p.points for g in pt.groups}
    if groups <= {Group.PROTOCOL} or groups <= {Group.TEMPLATE}:
        level = "fixed"
    elif Group.PROTOCOL in groups:
        level = "semi_standardised"
    else:
        level = "individualised"
    parts = []
    if p.locations:
        parts.append("local and distal points for " + ", ".join(p.locations) + " headache")
    if p.assessment is not None and p.assessment.working_pattern is not None:
        parts.append(f"{PATTERN_LABELS[p.assessment.working_pattern]} pattern")
    if p.protocol is not None:
        parts.append(f"{p.protocol.name} [{p.protocol.evidence_status.value}]")
    if p.template:
        parts.append(f"template '{p.template}'")
    stim: dict[str, Any] = {"method": p.stimulation.method}
    if p.stimulation.method == "electro":
        stim["frequency_hz"] = [_num(f) for f in p.stimulation.frequency_hz]
    return {
        "style": Style.TCM.value,
        "rationale": "; ".join(parts),
        "references": [p.protocol.citation] if p.protocol is not None else [],
        "individualisation": level,
        "points": [_point_dict(SessionPoint(pt.code, pt.side)) for pt in p.points],
        "response_sought": [p.stimulation.response_sought],
        "stimulation": stim,
        "retention_min": p.stimulation.retention_min,
    }


# ---- course ---------------------------------------------------------------------------------


def validate_course(data: Mapping[str, Any]) -> TreatmentCourse:
    """STRICTA 3a/3b. Up to 14 sessions a week allows twice-daily inpatient regimens."""
    if not isinstance(data, Mapping):
        raise ValidationError("a treatment course must be an object")
    r = _Reader()
    r.keys(data, ("planned_sessions", "sessions_per_week", "start", "session_duration_min"), "")
    planned = r.whole(data.get("planned_sessions"), "planned_sessions", 1, 500)
    per_week = r.number(data.get("sessions_per_week"), "sessions_per_week", 0.0, 14.0)
    if per_week == 0:
        r.err("sessions_per_week", "must be above 0")
        per_week = None
    start = None
    try:
        start = dt.date.fromisoformat(str(data.get("start")))
    except ValueError:
        r.err("start", "expected an ISO date")
    duration = None
    if data.get("session_duration_min") is not None:
        duration = r.whole(data["session_duration_min"], "session_duration_min", 1, 240)
    if r.errors or planned is None or per_week is None or start is None:
        raise ValidationError(r.errors)
    return TreatmentCourse(planned, per_week, start, duration)


def course_as_dict(c: TreatmentCourse) -> dict[str, Any]:
    d: dict[str, Any] = {
        "planned_sessions": c.planned_sessions,
        "sessions_per_week": _num(c.sessions_per_week),
        "start": c.start.isoformat(),
    }
    if c.session_duration_min is not None:
        d["session_duration_min"] = c.session_duration_min
    return d


@dataclass(frozen=True, slots=True)
class EarlierVersion:
    """A session as it was before a correction (``session_versions``), as a diary document
    carries it: the session it belongs to is named by that session's current ``start`` (a
    session's identity on import), ``record`` is the version itself, at its own start."""

    start: dt.datetime  # the current session's local start
    version: int
    changed_utc: dt.datetime | None  # naive UTC
    record: SessionRecord
