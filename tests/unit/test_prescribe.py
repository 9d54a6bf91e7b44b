"""Prescription builder: groups and reasons, protocols, safety rules, templates, JSON view."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from acuhead.domain.diary import Attack, Diary, Location, PatientFacts, SafetyProfile, Side
from acuhead.domain.tcm.channels import DISTAL_RULES, LOCATION_RULES
from acuhead.domain.tcm.patterns import Pattern, assess, confirm
from acuhead.domain.tcm.points import Caution, lookup, normalise_code
from acuhead.domain.tcm.prescribe import (
    DEFAULT_PROTOCOL,
    PATTERN_POINTS,
    PROTOCOLS,
    Action,
    EvidenceStatus,
    Group,
    Prescription,
    SafetyFinding,
    apply_confirmations,
    build_prescription,
    from_template,
    is_ready,
    make_template,
    needles_for,
    normalise_headache_kind,
    prescribe_from_document,
    prescription_as_dict,
    template_from_prescription,
    template_from_protocol,
)
from acuhead.errors import SafetyBlock, ValidationError

LIVER_YANG = assess(["stress-triggered temporal throbbing", "irritability"], "red sides", "wiry")


def _findings(p: Prescription, point: str | None = None, rule: str = "") -> list[SafetyFinding]:
    return [
        f
        for f in p.safety
        if (point is None or f.point == point) and f.code.split(":")[0].startswith(rule)
    ]


def _codes(p: Prescription) -> list[str]:
    return [pt.code for pt in p.points]


# ---- catalogue consistency -------------------------------------------------------------------


def test_every_code_in_the_tables_is_a_canonical_catalogue_code() -> None:
    codes: set[str] = set()
    for rule in LOCATION_RULES.values():
        codes |= set(rule.local_points)
    for drule in DISTAL_RULES.values():
        codes |= set(drule.points)
    for pp in PATTERN_POINTS.values():
        codes |= set(pp.points)
    for proto in PROTOCOLS.values():
        codes |= set(proto.points)
    for code in codes:
        assert normalise_code(code) == code
        lookup(code)


# ---- groups and reasons ----------------------------------------------------------------------


def test_every_proposed_point_has_a_group_and_a_reason() -> None:
    p = build_prescription(
        LIVER_YANG,
        headache_kind="migraine",
        locations=["temporal", "vertex", "frontal"],
    )
    assert len(p.points) >= 8
    for pt in p.points:
        assert isinstance(pt.group, Group)
        assert pt.reasons and all(r.text.strip() for r in pt.reasons)
        assert pt.reason


def test_all_four_groups_are_filled_in_order() -> None:
    p = build_prescription(LIVER_YANG, headache_kind="migraine", locations=["temporal"])
    groups = [pt.group for pt in p.points]
    assert set(groups) == {Group.LOCAL, Group.DISTAL, Group.PATTERN, Group.PROTOCOL}
    rank = list(Group)
    assert groups == sorted(groups, key=rank.index)


def test_local_and_distal_points_follow_the_location() -> None:
    p = build_prescription(None, locations=["occipital"])
    by_code = {pt.code: pt for pt in p.points}
    assert by_code["BL10"].group is Group.LOCAL
    assert by_code["SI3"].group is Group.DISTAL and by_code["BL62"].group is Group.DISTAL
    assert "TE5" not in by_code  # Shaoyang distal point is not proposed for occipital pain
    assert "Taiyang" in by_code["SI3"].reason


def test_a_point_named_by_several_groups_appears_once_with_all_reasons() -> None:
    p = build_prescription(LIVER_YANG, headache_kind="migraine", locations=["temporal"])
    assert _codes(p).count("GB20") == 1
    gb20 = p.point("GB20")
    assert gb20 is not None
    assert gb20.groups == (Group.LOCAL, Group.PATTERN, Group.PROTOCOL)
    assert gb20.group is Group.LOCAL
    assert len(gb20.reasons) == 3
    assert len(_codes(p)) == len(set(_codes(p)))


def test_pattern_points_follow_the_confirmed_pattern() -> None:
    p = build_prescription(confirm(LIVER_YANG, Pattern.BLOOD_STASIS))
    assert set(_codes(p)) == {"SP6", "SP10", "BL17"}
    assert all("confirmed by the practitioner" in pt.reason for pt in p.points)
    unconfirmed = build_prescription(LIVER_YANG)
    assert set(_codes(unconfirmed)) == {"GB20", "GB40", "LR3"}
    assert all("not yet confirmed" in pt.reason for pt in unconfirmed.points)


def test_tied_patterns_add_no_pattern_points_and_say_why() -> None:
    tied = assess(["stress"])
    p = build_prescription(tied)
    assert p.points == ()
    assert any("tied" in n for n in p.notes)


def test_tradition_groups_are_labelled_tradition() -> None:
    p = build_prescription(LIVER_YANG, headache_kind="tension-type", locations=["temporal"])
    for pt in p.points:
        for r in pt.reasons:
            if r.group in (Group.LOCAL, Group.DISTAL, Group.PATTERN):
                assert r.evidence_status is EvidenceStatus.TRADITION
            else:
                assert r.evidence_status is EvidenceStatus.VERIFIED
    assert any("Li 2012" in n for n in p.notes)


def test_sides_local_on_the_affected_side_midline_has_none() -> None:
    attacks = tuple(
        Attack(start=dt.datetime(2026, 2, d, 8), side=Side.LEFT, locations=(Location.TEMPORAL,))
        for d in (2, 9, 16)
    )
    diary = Diary(PatientFacts(None), attacks=attacks)
    p = build_prescription(None, diary=diary, headache_kind="migraine")
    assert p.locations == ("temporal",)
    ex5 = p.point("EX-HN5")
    te5 = p.point("TE5")
    gb20 = p.point("GB20")
    assert ex5 is not None and ex5.side is Side.LEFT
    assert te5 is not None and te5.side is Side.BOTH
    # GB20 is local (left) and protocol (both): merged to both.
    assert gb20 is not None and gb20.side is Side.BOTH
    vertex = build_prescription(None, locations=["vertex"])
    gv20 = vertex.point("GV20")
    assert gv20 is not None and gv20.side is None


def test_needle_count_rules() -> None:
    assert needles_for("GB20", Side.BOTH) == 2
    assert needles_for("LI4", Side.LEFT) == 1
    assert needles_for("GV20", None) == 1
    assert needles_for("EX-HN1", None) == 4


def test_unknown_location_is_a_located_error() -> None:
    with pytest.raises(ValidationError) as e:
        build_prescription(None, locations=["temporal", "parietal"])
    assert e.value.errors[0].path == "locations[1]"


# ---- protocols -------------------------------------------------------------------------------


def test_evidence_status_of_each_protocol() -> None:
    assert PROTOCOLS["li_lu_ctth_2017"].evidence_status is EvidenceStatus.VERIFIED
    assert PROTOCOLS["li_lu_ctth_2017"].points == ("GB20", "GV20", "EX-HN5", "LI4", "LR3")
    assert PROTOCOLS["li_2012_shaoyang"].evidence_status is EvidenceStatus.VERIFIED
    assert set(PROTOCOLS["li_2012_shaoyang"].points) == {"TE5", "GB34", "GB40", "GB20"}
    assert PROTOCOLS["xu_2020_bmj"].evidence_status is EvidenceStatus.REPORTED
    assert PROTOCOLS["zhao_2017_jama"].evidence_status is EvidenceStatus.REPORTED
    assert PROTOCOLS["opentcm_external_wind"].evidence_status is EvidenceStatus.TRADITION
    # Defaults offer only verified lists.
    for key in DEFAULT_PROTOCOL.values():
        assert PROTOCOLS[key].evidence_status is EvidenceStatus.VERIFIED


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("migraine", "migraine"),
        ("Migraine without aura", "migraine"),
        ("1.1", "migraine"),
        ("1.3", "migraine"),
        ("tension-type", "tension-type"),
        ("chronic tension-type headache", "tension-type"),
        ("2.3", "tension-type"),
        ("3.1", None),
        ("8.2", None),
        ("cluster", None),
        (None, None),
    ],
)
def test_headache_kind_normalisation(kind: str | None, expected: str | None) -> None:
    assert normalise_headache_kind(kind) == expected


def test_tension_type_gets_the_verified_ctth_core_set() -> None:
    p = build_prescription(None, headache_kind="tension-type")
    assert p.protocol is not None and p.protocol.key == "li_lu_ctth_2017"
    assert _codes(p) == ["GB20", "GV20", "EX-HN5", "LI4", "LR3"]
    assert all(pt.group is Group.PROTOCOL for pt in p.points)
    assert all("[verified]" in pt.reason for pt in p.points)


def test_migraine_default_and_explicit_unverified_protocol() -> None:
    p = build_prescription(None, headache_kind="migraine")
    assert p.protocol is not None and p.protocol.key == "li_2012_shaoyang"
    xu = build_prescription(None, headache_kind="migraine", protocol="xu_2020_bmj")
    assert xu.protocol is not None
    assert all("reported, unverified" in pt.reason for pt in xu.points)
    none = build_prescription(None, headache_kind="migraine", protocol="none")
    assert none.protocol is None and none.points == ()


def test_no_protocol_for_other_headache_kinds() -> None:
    p = build_prescription(None, headache_kind="cluster", locations=["orbital"])
    assert p.protocol is None
    assert Group.PROTOCOL not in {pt.group for pt in p.points}
    assert any("individualised" in n for n in p.notes)


def test_unknown_protocol_key_is_rejected() -> None:
    with pytest.raises(ValidationError) as e:
        build_prescription(None, protocol="made_up")
    assert e.value.errors[0].path == "protocol"


# ---- stimulation -----------------------------------------------------------------------------


def test_stimulation_is_manual_unless_electro_is_asked_for() -> None:
    manual = build_prescription(LIVER_YANG)
    assert manual.stimulation.method == "manual"
    assert manual.stimulation.frequency_hz == ()
    assert manual.stimulation.manipulation == "reducing"
    electro = build_prescription(LIVER_YANG, electro=True)
    assert electro.stimulation.method == "electro"
    assert electro.stimulation.frequency_hz == (2.0, 100.0)
    assert electro.stimulation.intensity_ma == (0.1, 1.0)
    assert "Li 2012" in electro.stimulation.source


def test_deficiency_pattern_gets_reinforcing_and_moxa() -> None:
    qi = assess(["dull headache worse after exertion", "fatigue"], "pale", "weak")
    p = build_prescription(qi)
    assert p.stimulation.manipulation == "reinforcing"
    assert p.stimulation.moxa_suggested


# ---- safety rules (CLINICAL.md 7.3) ----------------------------------------------------------


def test_pregnancy_flags_li4_and_sp6_for_confirmation() -> None:
    assert Caution.PREGNANCY in lookup("LI4").cautions
    tpl = make_template("pregnancy check", [("LI4", "both"), ("SP6", "both"), ("GV20", None)])
    p = from_template(tpl, safety=SafetyProfile(pregnant=True))
    li4 = _findings(p, "LI4", "pregnancy")
    sp6 = _findings(p, "SP6", "pregnancy")
    assert [f.action for f in li4] == [Action.CONFIRM]
    assert [f.action for f in sp6] == [Action.CONFIRM]
    assert "Betts" in li4[0].rule
    assert not _findings(p, "GV20", "pregnancy")
    assert not is_ready(p)
    assert "LI4" in [pt.code for pt in p.points]  # flagged, not removed


def test_puerperium_reminds_of_the_red_flag_screen_but_not_the_pregnancy_points() -> None:
    """SNNOOP10 P6 is "pregnancy or puerperium" (CLINICAL.md 2 item 11): after childbirth the
    red-flag reminder shows; the traditionally forbidden points are a pregnancy caution
    (CLINICAL.md 7.3), so LI4 and SP6 need no confirmation."""
    tpl = make_template("t", [("LI4", "both"), ("SP6", "both")])
    p = from_template(tpl, safety=SafetyProfile(puerperium=True))
    assert [f.action for f in _findings(p, rule="pregnancy_red_flags")] == [Action.INFO]
    assert not _findings(p, "LI4", "pregnancy") and not _findings(p, "SP6", "pregnancy")
    assert is_ready(p)


def test_no_pregnancy_findings_when_not_pregnant() -> None:
    tpl = make_template("t", [("LI4", "both"), ("SP6", "both")])
    p = from_template(tpl, safety=SafetyProfile())
    assert not _findings(p, rule="pregnancy")
    assert is_ready(p)


def test_confirming_the_pregnancy_points_makes_the_plan_ready() -> None:
    tpl = make_template("t", [("LI4", "both"), ("SP6", "both")])
    p = from_template(tpl, safety=SafetyProfile(pregnant=True))
    half = apply_confirmations(p, ["LI4"])
    assert not is_ready(half)
    both = apply_confirmations(half, ["pregnancy:SP6"])
    assert is_ready(both)
    assert all(f.confirmed for f in both.safety if f.action is Action.CONFIRM)


def test_pacemaker_blocks_electro_stimulation() -> None:
    p = build_prescription(LIVER_YANG, electro=True, safety=SafetyProfile(pacemaker=True))
    blocked = [f for f in p.safety if f.action is Action.BLOCKED]
    assert [f.code for f in blocked] == ["electro_pacemaker"]
    assert not is_ready(p)
    with pytest.raises(ValidationError):
        apply_confirmations(p, ["electro_pacemaker"])


def test_pacemaker_with_manual_stimulation_is_not_blocked() -> None:
    p = build_prescription(LIVER_YANG, electro=False, safety=SafetyProfile(pacemaker=True))
    assert all(f.action is not Action.BLOCKED for f in p.safety)
    assert is_ready(p)
    no_device = build_prescription(LIVER_YANG, electro=True, safety=SafetyProfile())
    assert all(f.action is not Action.BLOCKED for f in no_device.safety)


@pytest.mark.parametrize("flag", ["anticoagulant", "bleeding_disorder"])
def test_bleeding_risk_asks_for_confirmation_and_gives_technique(flag: str) -> None:
    tpl = make_template("t", [("ST9", "left"), ("GB8", "both")])
    p = from_template(tpl, safety=SafetyProfile(**{flag: True}))
    general = _findings(p, None, "bleeding_risk")
    assert [f.action for f in general] == [Action.CONFIRM]
    tech = _findings(p, None, "bleeding_technique")
    assert [f.action for f in tech] == [Action.INFO] and "press" in tech[0].rule
    artery = _findings(p, "ST9", "large_artery")
    assert [f.action for f in artery] == [Action.CONFIRM]
    assert not _findings(p, "GB8")


def test_large_artery_point_without_bleeding_risk_is_info() -> None:
    p = from_template(make_template("t", [("ST9", "left")]), safety=SafetyProfile())
    assert [f.action for f in _findings(p, "ST9", "large_artery")] == [Action.INFO]
    assert is_ready(p)


@pytest.mark.parametrize("flag", ["needle_phobia", "fainting_history"])
def test_vasovagal_risk_is_info_to_treat_lying_down(flag: str) -> None:
    p = build_prescription(None, headache_kind="tension-type", safety=SafetyProfile(**{flag: True}))
    found = _findings(p, None, "vasovagal")
    assert [f.action for f in found] == [Action.INFO]
    assert "lying down" in found[0].rule and "9 insertions" in found[0].rule
    assert is_ready(p)


def test_low_bmi_makes_gb21_a_confirmation_with_depth_note() -> None:
    tpl = make_template("shoulders", [("GB21", "both")])
    thin = from_template(tpl, safety=SafetyProfile(low_bmi=True))
    f = _findings(thin, "GB21", "pneumothorax")
    assert [x.action for x in f] == [Action.CONFIRM]
    assert "17.4 mm" in f[0].rule and "14.6 mm" in f[0].rule
    assert not is_ready(thin)
    usual = from_template(tpl, safety=SafetyProfile())
    assert [x.action for x in _findings(usual, "GB21", "pneumothorax")] == [Action.INFO]


def test_gb20_carries_a_direction_note() -> None:
    p = build_prescription(None, headache_kind="tension-type")
    f = _findings(p, "GB20", "medulla")
    assert [x.action for x in f] == [Action.INFO]
    assert "nose" in f[0].rule


def test_eye_region_point_is_info_or_confirm_with_bleeding_risk() -> None:
    tpl = make_template("eye", [("BL1", "right")])
    plain = from_template(tpl, safety=SafetyProfile())
    assert [f.action for f in _findings(plain, "BL1", "eye_region")] == [Action.INFO]
    anticoag = from_template(tpl, safety=SafetyProfile(anticoagulant=True))
    assert [f.action for f in _findings(anticoag, "BL1", "eye_region")] == [Action.CONFIRM]


def test_open_red_flag_blocks_planning() -> None:
    with pytest.raises(SafetyBlock) as e:
        build_prescription(LIVER_YANG, open_red_flags=["thunderclap onset"])
    assert "needs medical review" in str(e.value)
    assert "thunderclap onset" in str(e.value)
    with pytest.raises(SafetyBlock):
        from_template(make_template("t", [("LI4", "both")]), open_red_flags=["fever"])
    # An empty list is no block.
    assert build_prescription(LIVER_YANG, open_red_flags=[]).points


def test_unknown_confirmation_code_is_rejected() -> None:
    p = from_template(make_template("t", [("LI4", "both")]), safety=SafetyProfile(pregnant=True))
    with pytest.raises(ValidationError):
        apply_confirmations(p, ["LI44"])


# ---- templates -------------------------------------------------------------------------------


def test_template_normalises_codes_and_reports_bad_ones() -> None:
    tpl = make_template("favourite", [("LV3", "both"), ("Fengchi", "left"), ("Du20", "both")])
    assert [(t.code, t.side) for t in tpl.points] == [
        ("LR3", Side.BOTH),
        ("GB20", Side.LEFT),
        ("GV20", None),
    ]
    with pytest.raises(ValidationError) as e:
        make_template("bad", [("GB20", "both"), ("XX99", "both"), ("LI4", "upper")])
    paths = [err.path for err in e.value.errors]
    assert paths == ["points[1].code", "points[2].side"]


def test_prescription_saved_as_template_comes_back_the_same() -> None:
    p = build_prescription(LIVER_YANG, headache_kind="migraine", locations=["temporal"])
    again = from_template(template_from_prescription(p, "last plan"))
    assert [(x.code, x.side) for x in again.points] == [(x.code, x.side) for x in p.points]
    assert all(x.group is Group.TEMPLATE for x in again.points)
    assert again.template == "last plan"


def test_protocol_as_template() -> None:
    tpl = template_from_protocol("li_lu_ctth_2017")
    assert [t.code for t in tpl.points] == ["GB20", "GV20", "EX-HN5", "LI4", "LR3"]


# ---- JSON view and document entry point -----------------------------------------------------

DOCUMENT: dict[str, Any] = {
    "format": "acuhead.diary/1",
    "patient": {
        "external_id": "example-001",
        "safety": {"pregnant": False, "anticoagulant": False, "pacemaker": False},
    },
    "attacks": [
        {"start": "2026-02-02T06:30:00", "locations": ["temporal", "orbital"],
         "triggers": ["stress", "poor sleep"]},
        {"start": "2026-02-04T14:00:00", "locations": ["frontal", "neck"]},
    ],
    "assessment": {
        "locations": ["temporal"],
        "signs": ["irritability", "stress trigger", "dizziness"],
        "tongue": "red sides, thin yellow coat",
        "pulse": "wiry",
    },
}  # fmt: skip


def test_prescription_dict_has_the_cli_shape() -> None:
    d = prescription_as_dict(
        build_prescription(LIVER_YANG, headache_kind="migraine", locations=["temporal"])
    )
    assert {"patterns", "points", "stimulation", "safety"} <= set(d)
    assert d["patterns"][0]["pattern"] == "liver_yang_rising"
    assert d["patterns"][0]["signs"][0] == {"sign": "wiry pulse", "weight": 3}
    for pt in d["points"]:
        assert {"code", "side", "group", "reason", "cautions"} <= set(pt)
        assert pt["reason"]
    for f in d["safety"]:
        assert {"code", "rule", "action"} <= set(f)
    assert d["protocol"]["evidence_status"] == "verified"
    assert d["points"][0]["reasons"][0] == {
        "group": "local",
        "text": d["points"][0]["reasons"][0]["text"],
        "evidence_status": "tradition",
    }
    assert type(d["points"][0]["reasons"][0]["evidence_status"]) is str
    assert json.loads(json.dumps(d)) == d


def test_prescribe_from_document() -> None:
    d = prescribe_from_document(DOCUMENT, headache_kind="migraine")
    assert d["working_pattern"] == "liver_yang_rising"
    assert d["locations"] == ["temporal"]
    codes = [p["code"] for p in d["points"]]
    assert "EX-HN5" in codes and "LR3" in codes and "GB34" in codes
    assert d["ready"] is True
    assert "stress trigger" in [s["sign"] for s in d["derived_signs"]]


def test_document_safety_flags_and_electro_reach_the_checks() -> None:
    doc = {
        **DOCUMENT,
        "patient": {"safety": {"pregnant": True, "pacemaker": True}},
        "assessment": {**DOCUMENT["assessment"], "electro": True},
    }
    d = prescribe_from_document(doc, headache_kind="tension-type")
    actions = {f["code"]: f["action"] for f in d["safety"]}
    assert actions["electro_pacemaker"] == "blocked"
    assert actions["pregnancy:LI4"] == "confirm"
    assert d["ready"] is False


def test_document_locations_fall_back_to_the_attacks() -> None:
    doc = {**DOCUMENT, "assessment": {**DOCUMENT["assessment"], "locations": []}}
    d = prescribe_from_document(doc)
    # Each location appears in 1 of 2 attacks, which meets the one-third share.
    assert set(d["locations"]) == {"temporal", "orbital", "frontal", "neck"}


def test_document_confirmed_pattern_is_used() -> None:
    doc = {**DOCUMENT, "assessment": {**DOCUMENT["assessment"], "confirmed_pattern": "Liver fire"}}
    d = prescribe_from_document(doc)
    assert d["confirmed_pattern"] == "liver_fire"
    assert {"LR2", "GB43"} <= {p["code"] for p in d["points"]}


def test_document_errors_are_located() -> None:
    doc = {
        **DOCUMENT,
        "patient": {"safety": {"pregnant": "yes"}},
        "assessment": {"locations": ["temporal", "sideways"], "confirmed_pattern": "spleen fire"},
    }
    with pytest.raises(ValidationError) as e:
        prescribe_from_document(doc)
    paths = {err.path for err in e.value.errors}
    assert paths == {
        "patient.safety.pregnant",
        "assessment.locations[1]",
        "assessment.confirmed_pattern",
    }


def test_document_red_flag_blocks() -> None:
    with pytest.raises(SafetyBlock):
        prescribe_from_document(DOCUMENT, open_red_flags=["new headache after 65"])
