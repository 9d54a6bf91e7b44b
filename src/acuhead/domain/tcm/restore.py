"""Stored JSON back to value types: a saved prescription or assessment, as it was shown.

Why: a prescription is saved as ``prescription_as_dict`` (what the practitioner saw and
confirmed). Confirming a finding later, saving the plan as a template or starting a session from
it must work on *that* plan, not on a plan rebuilt from today's diary and today's tables, which
may differ. ``prescription_from_dict`` is therefore the exact inverse of ``prescription_as_dict``:
``prescription_as_dict(prescription_from_dict(d)) == d``.

The same goes for a TCM assessment: its scores and signs are kept as they were computed
(``assessment_as_dict`` / ``assessment_from_dict``), so a prescription built from a stored
assessment uses the ranking the practitioner confirmed or overrode (CLINICAL.md 7.2: the
practitioner's call wins over the score).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from acuhead.domain.diary import Side
from acuhead.domain.tcm.channels import Channel
from acuhead.domain.tcm.patterns import (
    DerivedSign,
    Pattern,
    PatternAssessment,
    PatternScore,
)
from acuhead.domain.tcm.points import Caution
from acuhead.domain.tcm.prescribe import (
    Action,
    EvidenceStatus,
    Group,
    PointReason,
    PrescribedPoint,
    Prescription,
    Protocol,
    SafetyFinding,
    StimulationPlan,
)

__all__ = [
    "assessment_as_dict",
    "assessment_from_dict",
    "prescription_from_dict",
    "scores_as_list",
    "scores_from_list",
]


def scores_as_list(scores: Sequence[PatternScore]) -> list[dict[str, Any]]:
    """Pattern scores in the shape of ``prescription_as_dict``'s ``patterns``."""
    return [
        {
            "pattern": s.pattern.value,
            "label": s.label,
            "score": s.score,
            "signs": [{"sign": sign, "weight": w} for sign, w in s.signs],
        }
        for s in scores
    ]


def scores_from_list(items: Sequence[Mapping[str, Any]]) -> tuple[PatternScore, ...]:
    return tuple(
        PatternScore(
            Pattern(s["pattern"]),
            int(s["score"]),
            tuple((str(x["sign"]), int(x["weight"])) for x in s.get("signs", ())),
        )
        for s in items
    )


def assessment_as_dict(a: PatternAssessment) -> dict[str, Any]:
    """A whole assessment: recorded findings, diary-derived signs, scores and the decision."""
    return {
        "signs": list(a.signs),
        "tongue": a.tongue,
        "pulse": a.pulse,
        "derived_signs": [{"sign": d.sign, "basis": d.basis} for d in a.derived_signs],
        "patterns": scores_as_list(a.scores),
        "confirmed_pattern": a.confirmed_pattern.value if a.confirmed_pattern else None,
        "working_pattern": a.working_pattern.value if a.working_pattern else None,
        "caveat": a.caveat,
    }


def assessment_from_dict(d: Mapping[str, Any]) -> PatternAssessment:
    """Inverse of ``assessment_as_dict`` (``working_pattern`` is derived, not read)."""
    confirmed = d.get("confirmed_pattern")
    kwargs: dict[str, Any] = {}
    if d.get("caveat"):
        kwargs["caveat"] = d["caveat"]
    return PatternAssessment(
        scores=scores_from_list(d.get("patterns", ())),
        derived_signs=tuple(
            DerivedSign(str(x["sign"]), str(x.get("basis", ""))) for x in d.get("derived_signs", ())
        ),
        confirmed_pattern=Pattern(confirmed) if confirmed else None,
        signs=tuple(d.get("signs", ())),
        tongue=d.get("tongue", "") or "",
        pulse=d.get("pulse", "") or "",
        **kwargs,
    )


def _protocol(d: Mapping[str, Any] | None) -> Protocol | None:
    if d is None:
        return None
    return Protocol(
        key=d["key"],
        name=d["name"],
        citation=d["citation"],
        headache_kinds=(),  # which kinds it is offered for does not matter once it was chosen
        points=tuple(d.get("points", ())),
        evidence_status=EvidenceStatus(d["evidence_status"]),
        regimen=d.get("regimen", ""),
        note=d.get("note", ""),
    )


def _point(d: Mapping[str, Any]) -> PrescribedPoint:
    return PrescribedPoint(
        code=d["code"],
        pinyin=d.get("pinyin", ""),
        side=Side(d["side"]) if d.get("side") else None,
        reasons=tuple(
            PointReason(Group(r["group"]), r["text"], EvidenceStatus(r["evidence_status"]))
            for r in d.get("reasons", ())
        ),
        cautions=tuple(Caution(c) for c in d.get("cautions", ())),
    )


def _stimulation(d: Mapping[str, Any]) -> StimulationPlan:
    intensity = d.get("intensity_ma")
    return StimulationPlan(
        method=d["method"],
        manipulation=d["manipulation"],
        retention_min=int(d["retention_min"]),
        response_sought=d["response_sought"],
        frequency_hz=tuple(float(f) for f in d.get("frequency_hz", ())),
        intensity_ma=(float(intensity[0]), float(intensity[1])) if intensity else None,
        moxa_suggested=bool(d.get("moxa_suggested", False)),
        source=d.get("source", ""),
    )


def prescription_from_dict(d: Mapping[str, Any]) -> Prescription:
    """Inverse of ``prescription_as_dict``: the saved plan with its findings and confirmations.

    The assessment comes back with its scores, derived signs and confirmed pattern (the recorded
    signs, tongue and pulse are not part of the prescription JSON and come back empty).
    """
    patterns = d.get("patterns") or []
    assessment = None
    if patterns:
        assessment = assessment_from_dict(
            {
                "patterns": patterns,
                "derived_signs": d.get("derived_signs", ()),
                "confirmed_pattern": d.get("confirmed_pattern"),
            }
        )
    return Prescription(
        points=tuple(_point(p) for p in d.get("points", ())),
        stimulation=_stimulation(d["stimulation"]),
        safety=tuple(
            SafetyFinding(
                code=f["code"],
                point=f.get("point"),
                rule=f["rule"],
                action=Action(f["action"]),
                confirmed=bool(f.get("confirmed", False)),
            )
            for f in d.get("safety", ())
        ),
        assessment=assessment,
        headache_kind=d.get("headache_kind"),
        locations=tuple(d.get("locations", ())),
        channels=tuple(Channel(c) for c in d.get("channels", ())),
        protocol=_protocol(d.get("protocol")),
        template=d.get("template"),
        notes=tuple(d.get("notes", ())),
    )
