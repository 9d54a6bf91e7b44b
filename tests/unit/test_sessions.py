"""STRICTA session records: validation paths, range bounds, round-trip and prefills."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from acuhead.domain.diary import SafetyProfile, Side
from acuhead.domain.sessions import (
    AdverseEventType,
    CoInterventionKind,
    DepthUnit,
    Individualisation,
    Response,
    SessionRecord,
    StimulationMethod,
    Style,
    TreatmentCourse,
    course_as_dict,
    session_as_dict,
    session_from_dict,
    session_from_prescription,
    session_from_previous,
    validate_course,
    validate_session,
)
from acuhead.domain.tcm.patterns import assess
from acuhead.domain.tcm.prescribe import build_prescription
from acuhead.errors import ValidationError


def _base(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start": "2026-03-02T10:00:00",
        "points": [{"code": "GB20", "side": "both"}, {"code": "LI4", "side": "left"}],
    }
    data.update(overrides)
    return data


def _electro(**stim: Any) -> dict[str, Any]:
    return _base(stimulation={"method": "electro", "frequency_hz": [2, 100], **stim})


def _paths(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as e:
        validate_session(data)
    return [err.path for err in e.value.errors]


FULL: dict[str, Any] = {
    "start": "2026-03-09T10:00:00",
    "style": "tcm",
    "rationale": "Shaoyang headache; Li 2012 set",
    "references": ["Li Y et al., CMAJ 2012;184(4):401"],
    "individualisation": "semi_standardised",
    "variation_notes": "pattern points added",
    "points": [
        {"code": "GB20", "side": "both", "depth": {"value": 0.8, "unit": "cun"}},
        {"code": "GV20"},
        {"code": "EX-HN5", "side": "left", "depth": {"value": 10, "unit": "mm"}},
        {"code": "LR3", "side": "right", "depth": {"value": None, "unit": "tissue",
                                                   "tissue": "muscle"}},
    ],
    "needle_count": 6,
    "response_sought": ["deqi"],
    "response_obtained": ["deqi", "twitch"],
    "stimulation": {"method": "electro", "frequency_hz": [2, 100], "intensity_ma": 0.8,
                    "waveform": "dense-disperse", "manual_method": "even"},
    "retention_min": 30,
    "needle": {"diameter_mm": 0.25, "length_mm": 40, "material": "stainless steel",
               "brand": "Hwato"},
    "co_interventions": [{"type": "moxibustion", "detail": "ST36 stick moxa"},
                         {"type": "advice", "detail": "sleep hygiene"}],
    "practitioner": "prac-7",
    "setting": "outpatient clinic",
    "patient_information": "told to expect mild soreness",
    "pain_before": 4,
    "pain_after": 1,
    "adverse_events": [
        {"type": "haematoma", "severity": "mild", "serious": False, "hospitalised": False,
         "action_taken": "pressure 1 min", "point": "LV3", "note": ""},
    ],
    "notes": "slept better",
}  # fmt: skip


# ---- a full record ---------------------------------------------------------------------------


def test_full_record_reads_every_stricta_field() -> None:
    s = validate_session(FULL)
    assert s.start == dt.datetime(2026, 3, 9, 10, 0)
    assert s.style is Style.TCM
    assert s.individualisation is Individualisation.SEMI_STANDARDISED
    assert [(p.code, p.side) for p in s.points] == [
        ("GB20", Side.BOTH),
        ("GV20", None),
        ("EX-HN5", Side.LEFT),
        ("LR3", Side.RIGHT),
    ]
    assert s.points[0].depth is not None and s.points[0].depth.unit is DepthUnit.CUN
    assert s.points[3].depth is not None and s.points[3].depth.tissue == "muscle"
    assert s.response_obtained == (Response.DEQI, Response.TWITCH)
    assert s.stimulation.method is StimulationMethod.ELECTRO
    assert s.stimulation.frequency_hz == (2.0, 100.0)
    assert s.stimulation.intensity_ma == 0.8
    assert s.needle is not None and s.needle.diameter_mm == 0.25
    assert [c.kind for c in s.co_interventions] == [
        CoInterventionKind.MOXIBUSTION,
        CoInterventionKind.ADVICE,
    ]
    assert s.adverse_events[0].type is AdverseEventType.HAEMATOMA
    assert s.adverse_events[0].point == "LR3"  # legacy LV3 normalised
    assert s.needle_count == 6


def test_session_dict_round_trip() -> None:
    s = validate_session(FULL)
    exported = session_as_dict(s)
    assert session_from_dict(exported) == s
    assert session_as_dict(session_from_dict(exported)) == exported


def test_minimal_record_round_trip() -> None:
    s = validate_session({"points": []})
    assert s.needle_count == 0 and s.style is Style.TCM and s.start is None
    assert session_from_dict(session_as_dict(s)) == s


def test_diary_document_session_shape_is_accepted() -> None:
    # The shape used in shared/examples/diary-document.json: stimulation shorthand and deqi flag.
    doc_session = {
        "start": "2026-03-02T10:00:00",
        "points": [{"code": "GB20", "side": "both"}, {"code": "EX-HN5", "side": "left"},
                   {"code": "LI4", "side": "both"}, {"code": "LR3", "side": "both"}],
        "pain_before": 4, "pain_after": 1, "retention_min": 25, "stimulation": "manual",
        "deqi": True,
    }  # fmt: skip
    s = validate_session(doc_session)
    assert s.stimulation.method is StimulationMethod.MANUAL
    assert s.response_obtained == (Response.DEQI,)
    assert s.needle_count == 7
    assert session_from_dict(session_as_dict(s)) == s
    assert validate_session({**doc_session, "deqi": False}).response_obtained == (Response.NONE,)


# ---- ranges: each bound tested on both sides ---------------------------------------------------


@pytest.mark.parametrize(("value", "ok"), [(-1, False), (0, True), (120, True), (121, False)])
def test_retention_minutes_range(value: int, ok: bool) -> None:
    data = _base(retention_min=value)
    if ok:
        assert validate_session(data).retention_min == value
    else:
        assert _paths(data) == ["retention_min"]


def test_retention_must_be_whole_minutes_and_a_number() -> None:
    assert _paths(_base(retention_min=25.5)) == ["retention_min"]
    assert _paths(_base(retention_min="30")) == ["retention_min"]
    assert _paths(_base(retention_min=True)) == ["retention_min"]


def test_retention_minutes_alias() -> None:
    assert validate_session(_base(retention_minutes=20)).retention_min == 20
    assert "retention_minutes" in _paths(_base(retention_min=20, retention_minutes=20))


@pytest.mark.parametrize(
    ("value", "ok"), [(0.9, False), (1, True), (2, True), (150, True), (150.1, False)]
)
def test_frequency_range(value: float, ok: bool) -> None:
    data = _base(stimulation={"method": "electro", "frequency_hz": value})
    if ok:
        assert validate_session(data).stimulation.frequency_hz == (value,)
    else:
        assert _paths(data) == ["stimulation.frequency_hz"]


def test_frequency_list_error_names_the_item() -> None:
    assert _paths(_electro(frequency_hz=[2, 1000])) == ["stimulation.frequency_hz[1]"]


@pytest.mark.parametrize(("value", "ok"), [(-0.1, False), (0, True), (20, True), (20.1, False)])
def test_intensity_range(value: float, ok: bool) -> None:
    data = _electro(intensity_ma=value)
    if ok:
        assert validate_session(data).stimulation.intensity_ma == value
    else:
        assert _paths(data) == ["stimulation.intensity_ma"]


def test_electro_needs_a_frequency_and_manual_takes_none() -> None:
    assert _paths(_base(stimulation={"method": "electro"})) == ["stimulation.frequency_hz"]
    assert _paths(_base(stimulation={"method": "manual", "frequency_hz": 2})) == [
        "stimulation.frequency_hz"
    ]
    assert _paths(_base(stimulation={"method": "laser"})) == ["stimulation.method"]


@pytest.mark.parametrize("key", ["pain_before", "pain_after"])
@pytest.mark.parametrize(("value", "ok"), [(-1, False), (0, True), (10, True), (11, False)])
def test_pain_range(key: str, value: int, ok: bool) -> None:
    data = _base(**{key: value})
    if ok:
        assert getattr(validate_session(data), key) == value
    else:
        assert _paths(data) == [key]


def test_pain_must_be_a_whole_number() -> None:
    assert _paths(_base(pain_before=3.5)) == ["pain_before"]


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("diameter_mm", 0.11, False),
        ("diameter_mm", 0.12, True),
        ("diameter_mm", 0.5, True),
        ("diameter_mm", 0.51, False),
        ("length_mm", 6.9, False),
        ("length_mm", 7, True),
        ("length_mm", 125, True),
        ("length_mm", 126, False),
    ],
)
def test_needle_ranges(field: str, value: float, ok: bool) -> None:
    data = _base(needle={field: value})
    if ok:
        needle = validate_session(data).needle
        assert needle is not None and getattr(needle, field) == value
    else:
        assert _paths(data) == [f"needle.{field}"]


def test_depth_rules() -> None:
    pts = [{"code": "GB20", "side": "both", "depth": {"value": 6, "unit": "cun"}}]
    assert _paths(_base(points=pts)) == ["points[0].depth.value"]
    pts = [{"code": "GB20", "side": "both", "depth": {"value": 0, "unit": "mm"}}]
    assert _paths(_base(points=pts)) == ["points[0].depth.value"]
    pts = [{"code": "GB20", "side": "both", "depth": {"unit": "tissue"}}]
    assert _paths(_base(points=pts)) == ["points[0].depth.tissue"]
    pts = [{"code": "GB20", "side": "both", "depth": {"value": 1, "unit": "inch"}}]
    assert _paths(_base(points=pts)) == ["points[0].depth.unit"]


# ---- points and needle count ----------------------------------------------------------------


def test_point_codes_are_normalised_and_bad_ones_located() -> None:
    s = validate_session(_base(points=[{"code": "LV3", "side": "both"}, {"code": "Baihui"}]))
    assert [p.code for p in s.points] == ["LR3", "GV20"]
    bad = [
        {"code": "GB20", "side": "both"},
        {"code": "LI4", "side": "left"},
        {"code": "QQ7", "side": "left"},
        {"code": "LR3", "side": "up"},
        {"code": "ST36"},
    ]
    assert _paths(_base(points=bad)) == ["points[2].code", "points[3].side", "points[4].side"]


def test_needle_count_is_computed_from_sides() -> None:
    s = validate_session(
        _base(
            points=[
                {"code": "GB20", "side": "both"},
                {"code": "GV20"},
                {"code": "LI4", "side": "left"},
                {"code": "EX-HN1"},
            ]
        )
    )
    assert s.needle_count == 2 + 1 + 1 + 4
    assert validate_session(_base(needle_count=3)).needle_count == 3
    assert _paths(_base(needle_count=-1)) == ["needle_count"]


def test_points_are_required() -> None:
    assert _paths({"start": "2026-03-02T10:00:00"}) == ["points"]


# ---- responses, style, unknown fields ----------------------------------------------------------


def test_response_none_cannot_be_combined() -> None:
    assert _paths(_base(response_obtained=["none", "deqi"])) == ["response_obtained"]
    assert validate_session(_base(response_sought="twitch")).response_sought == (Response.TWITCH,)
    assert _paths(_base(response_sought=["deqi", "tingle"])) == ["response_sought[1]"]


def test_style_enum() -> None:
    assert validate_session(_base(style="Five_Element")).style is Style.FIVE_ELEMENT
    assert _paths(_base(style="reiki")) == ["style"]


def test_unknown_field_is_rejected_by_name() -> None:
    assert _paths(_base(retention_mins=30)) == ["retention_mins"]
    assert _paths(_base(stimulation={"method": "manual", "hz": 2})) == ["stimulation.hz"]


def test_all_problems_are_reported_at_once() -> None:
    paths = _paths(_base(retention_min=500, pain_before=12, style="x"))
    assert set(paths) == {"retention_min", "pain_before", "style"}


def test_co_interventions() -> None:
    s = validate_session(_base(co_interventions=["cupping", {"type": "gua_sha"}]))
    assert [c.kind for c in s.co_interventions] == [
        CoInterventionKind.CUPPING,
        CoInterventionKind.GUA_SHA,
    ]
    assert _paths(_base(co_interventions=["herbs"])) == ["co_interventions[0]"]


# ---- adverse events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"type": "pneumothorax", "severity": "moderate"},
        {"type": "fainting", "severity": "severe"},
        {"type": "infection", "severity": "moderate", "hospitalised": True},
    ],
)
def test_serious_events_must_be_flagged_serious(event: dict[str, Any]) -> None:
    assert _paths(_base(adverse_events=[{**event, "serious": False}])) == [
        "adverse_events[0].serious"
    ]
    derived = validate_session(_base(adverse_events=[event])).adverse_events[0]
    assert derived.serious is True
    explicit = validate_session(_base(adverse_events=[{**event, "serious": True}]))
    assert explicit.adverse_events[0].serious is True


def test_mild_event_is_not_serious_by_default() -> None:
    s = validate_session(_base(adverse_events=[{"type": "bleeding", "severity": "mild"}]))
    assert s.adverse_events[0].serious is False


def test_adverse_event_fields_are_checked() -> None:
    paths = _paths(_base(adverse_events=[{"type": "sneezing", "severity": "huge"}]))
    assert paths == ["adverse_events[0].type", "adverse_events[0].severity"]


# ---- prefills --------------------------------------------------------------------------------


def test_session_from_previous_keeps_the_method_and_drops_the_visit() -> None:
    prev = validate_session(FULL)
    prefill = session_from_previous(prev)
    for key in ("start", "pain_before", "pain_after", "adverse_events", "response_obtained"):
        assert key not in prefill
    nxt = validate_session({**prefill, "start": "2026-03-16T10:00:00"})
    assert nxt.points == prev.points
    assert nxt.stimulation == prev.stimulation
    assert nxt.retention_min == 30
    assert nxt.pain_before is None and nxt.adverse_events == ()
    assert nxt.needle_count == 2 + 1 + 1 + 1  # recomputed from the points


def test_session_from_prescription_validates_and_keeps_points() -> None:
    a = assess(["stress-triggered temporal throbbing"], "red sides", "wiry")
    p = build_prescription(a, headache_kind="migraine", locations=["temporal"], electro=True)
    prefill = session_from_prescription(p)
    s = validate_session(prefill)
    assert [(x.code, x.side) for x in s.points] == [(x.code, x.side) for x in p.points]
    assert s.stimulation.method is StimulationMethod.ELECTRO
    assert s.stimulation.frequency_hz == (2.0, 100.0)
    assert s.retention_min == 30
    assert s.response_sought == (Response.DEQI,)
    assert s.individualisation is Individualisation.SEMI_STANDARDISED
    assert "CMAJ" in s.references[0]


def test_protocol_only_prescription_is_a_fixed_regimen() -> None:
    p = build_prescription(None, headache_kind="tension-type", safety=SafetyProfile())
    s = validate_session(session_from_prescription(p))
    assert s.individualisation is Individualisation.FIXED
    assert s.stimulation.method is StimulationMethod.MANUAL


# ---- course ----------------------------------------------------------------------------------


def test_course_validation_and_round_trip() -> None:
    c = validate_course({"planned_sessions": 20, "sessions_per_week": 5, "start": "2026-03-02"})
    assert c == TreatmentCourse(20, 5.0, dt.date(2026, 3, 2))
    assert c.weeks == 4
    assert validate_course(course_as_dict(c)) == c


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"planned_sessions": 0, "sessions_per_week": 2, "start": "2026-03-02"},
         "planned_sessions"),
        ({"planned_sessions": 10, "sessions_per_week": 0, "start": "2026-03-02"},
         "sessions_per_week"),
        ({"planned_sessions": 10, "sessions_per_week": 15, "start": "2026-03-02"},
         "sessions_per_week"),
        ({"planned_sessions": 10, "sessions_per_week": 2, "start": "March"}, "start"),
    ],
)  # fmt: skip
def test_course_errors(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as e:
        validate_course(data)
    assert [err.path for err in e.value.errors] == [path]


def test_record_is_frozen() -> None:
    s: SessionRecord = validate_session(_base())
    with pytest.raises(AttributeError):
        s.retention_min = 5  # type: ignore[misc]
