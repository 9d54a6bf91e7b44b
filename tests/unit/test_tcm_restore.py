"""A saved prescription or assessment comes back exactly as it was shown (restore.py)."""

from __future__ import annotations

import json

import pytest

from acuhead.domain.diary import SafetyProfile
from acuhead.domain.tcm.patterns import Pattern, assess
from acuhead.domain.tcm.prescribe import (
    Prescription,
    apply_confirmations,
    build_prescription,
    from_template,
    is_ready,
    make_template,
    prescription_as_dict,
)
from acuhead.domain.tcm.restore import (
    assessment_as_dict,
    assessment_from_dict,
    prescription_from_dict,
)

LIVER_YANG = assess(["stress-triggered temporal throbbing", "irritability"], "red sides", "wiry")

PLANS: dict[str, Prescription] = {
    "pattern and protocol, pregnant, one finding confirmed": apply_confirmations(
        build_prescription(
            LIVER_YANG,
            headache_kind="tension-type",
            locations=["temporal", "vertex"],
            safety=SafetyProfile(pregnant=True, anticoagulant=True),
        ),
        ["LI4"],
    ),
    "electro with a pacemaker (blocked)": build_prescription(
        LIVER_YANG, headache_kind="migraine", locations=["temporal"],
        safety=SafetyProfile(pacemaker=True), electro=True,
    ),
    "no assessment, no protocol": build_prescription(None, locations=["occipital"]),
    "template, confirmed deficiency pattern": from_template(
        make_template("neck", [("GB21", "both"), ("BL10", "left")]),
        assessment=assess(["fatigue"], "pale", "weak", confirmed_pattern=Pattern.QI_DEFICIENCY),
        safety=SafetyProfile(low_bmi=True),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PLANS))
def test_prescription_json_round_trips_through_storage(name: str) -> None:
    stored = json.loads(json.dumps(prescription_as_dict(PLANS[name])))  # as a JSON column does
    restored = prescription_from_dict(stored)
    assert prescription_as_dict(restored) == stored
    assert is_ready(restored) == is_ready(PLANS[name])
    assert [f.confirmed for f in restored.safety] == [f.confirmed for f in PLANS[name].safety]


def test_a_restored_plan_still_refuses_a_typo_and_accepts_the_rest() -> None:
    stored = json.loads(json.dumps(prescription_as_dict(PLANS[next(iter(PLANS))])))
    restored = prescription_from_dict(stored)
    assert not is_ready(restored)
    pending = [f.code for f in restored.safety if f.action.value == "confirm" and not f.confirmed]
    assert pending and "pregnancy:LI4" not in pending
    assert is_ready(apply_confirmations(restored, pending))


def test_assessment_round_trips_with_its_derived_signs_and_decision() -> None:
    a = assess(["dull", "fatigue"], "pale", "weak", confirmed_pattern=Pattern.BLOOD_DEFICIENCY)
    d = json.loads(json.dumps(assessment_as_dict(a)))
    back = assessment_from_dict(d)
    assert back == a
    assert d["working_pattern"] == "blood_deficiency"
