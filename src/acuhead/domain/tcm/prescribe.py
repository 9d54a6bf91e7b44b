"""Prescription builder: points with a reason for each, a stimulation proposal and safety checks.

Why it is shaped this way (DESIGN.md glossary "Prescription"): a practitioner must see *why* each
point is on the plan, so every point carries one or more reasons from four groups, in the classical
order of CLINICAL.md 7.2 ("local/adjacent points plus distal points along the affected channel"):

* ``local``    by headache location (CLINICAL.md 7.1);
* ``distal``   along the channel that crosses the location (CLINICAL.md 7.1);
* ``pattern``  for the confirmed (or top-scored) TCM pattern (CLINICAL.md 7.2);
* ``protocol`` a trial's core set (CLINICAL.md 7.4), with its ``evidence_status``.

The local/distal/pattern groups are tradition, not proven specificity (Li 2012 CMAJ found channel-
specific and non-specific point sets alike: CLINICAL.md 7.0, 7.2 caveat). A point suggested by
several groups appears once, keeping every reason.

Safety (CLINICAL.md 7.3) never silently drops a point: each finding names the rule and its source,
and says ``blocked`` (plan cannot go ahead as is), ``confirm`` (the practitioner must explicitly
confirm) or ``info``. Traditionally forbidden points in pregnancy are ``confirm``, not blocked,
because a review of 15 trials found no excess harm (Betts & Budd, Acupunct Med 2011). An open
red-flag alert stops planning altogether (``SafetyBlock``: SNNOOP10 triage first, CLINICAL.md 2).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from acuhead.domain.diary import Diary, SafetyProfile, Side
from acuhead.domain.tcm.channels import (
    CHANNEL_LABELS,
    DISTAL_RULES,
    LOCATION_RULES,
    SPECIFICITY_CAVEAT,
    Channel,
    channels_for,
    parse_location,
)
from acuhead.domain.tcm.patterns import (
    DEFICIENCY_PATTERNS,
    PATTERN_LABELS,
    AttackFacts,
    Pattern,
    PatternAssessment,
    assess,
    derive_signs_from_facts,
    parse_pattern,
)
from acuhead.domain.tcm.points import Caution, lookup, normalise_code
from acuhead.errors import FieldError, SafetyBlock, ValidationError


class Group(StrEnum):
    LOCAL = "local"
    DISTAL = "distal"
    PATTERN = "pattern"
    PROTOCOL = "protocol"
    TEMPLATE = "template"  # points taken over from a saved plan (PrescriptionTemplate)


class EvidenceStatus(StrEnum):
    """How far a point list has been checked (CLINICAL.md markers [V] / [R] / tradition)."""

    VERIFIED = "verified"
    REPORTED = "reported, unverified"
    TRADITION = "tradition"


class Action(StrEnum):
    BLOCKED = "blocked"
    CONFIRM = "confirm"
    INFO = "info"


# ---- evidence-based core protocols (CLINICAL.md 7.4) ------------------------------------------


@dataclass(frozen=True, slots=True)
class Protocol:
    """A trial's point set, with how sure we are that the list is what the trial used."""

    key: str
    name: str
    citation: str
    headache_kinds: tuple[str, ...]  # normalised kinds it is offered for ("migraine", ...)
    points: tuple[str, ...]
    evidence_status: EvidenceStatus
    regimen: str
    note: str = ""


PROTOCOLS: Mapping[str, Protocol] = MappingProxyType(
    {
        p.key: p
        for p in (
            Protocol(
                key="li_lu_ctth_2017",
                name="Li/Lu chronic tension-type headache trial, core set",
                citation="Li Y/Lu L et al., Trials 2017 protocol (doi 10.1186/s13063-017-2188-9) "
                "Table 1; result PMID 35732505",  # CLINICAL.md 7.4
                headache_kinds=("tension-type",),
                points=("GB20", "GV20", "EX-HN5", "LI4", "LR3"),
                evidence_status=EvidenceStatus.VERIFIED,
                regimen="manual, de qi, manipulation every 10 min, 30 min retention; "
                "20 sessions over 8 weeks",
                note="Depths per protocol: GB20 0.5-0.8 cun oblique toward the nose tip; GV20 "
                "0.5-0.8 cun subcutaneous; EX-HN5 0.3-0.5 cun perpendicular; LI4/LR3 0.5-0.8 cun "
                "perpendicular.",
            ),
            Protocol(
                key="li_2012_shaoyang",
                name="Li 2012 migraine trial, Shaoyang-specific set",
                citation="Li Y et al., CMAJ 2012;184(4):401, Table 1",  # CLINICAL.md 5.6, 7.4
                headache_kinds=("migraine",),
                points=("TE5", "GB34", "GB40", "GB20"),
                evidence_status=EvidenceStatus.VERIFIED,
                regimen="electro-acupuncture 2/100 Hz alternating, 0.1-1.0 mA, 30 min, de qi; "
                "20 sessions over 4 weeks",
                note="Primary endpoint (weeks 5-8) not significant; at weeks 13-16 all verum sets "
                "beat sham. Non-specific and Yangming sets did as well as this one.",
            ),
            Protocol(
                key="xu_2020_bmj",
                name="Xu 2020 manual acupuncture for migraine without aura",
                citation="Xu S et al., BMJ 2020;368:m697",  # CLINICAL.md 5.4, 7.4
                headache_kinds=("migraine",),
                points=("GB20", "GB8", "EX-HN5", "GV20", "GV24"),
                evidence_status=EvidenceStatus.REPORTED,
                regimen="manual, de qi, about 30 min; 20 sessions over 8 weeks, front-loaded",
                note="Point list not retrieved from the BMJ methods: 7.4 recalls GV24, 5.4 recalls "
                "distal LI4/LR3 instead. Check the supplement before relying on it.",
            ),
            Protocol(
                key="zhao_2017_jama",
                name="Zhao 2017 migraine prophylaxis, obligatory head points",
                citation="Zhao L et al., JAMA Intern Med 2017;177(4):508",  # CLINICAL.md 5.3, 7.4
                headache_kinds=("migraine",),
                points=("GB20", "GB8"),
                evidence_status=EvidenceStatus.REPORTED,
                regimen="2 head points + 2 limb points of the affected channel, de qi, "
                "electro-stimulation; 20 sessions over 4 weeks",
                note="The two obligatory points (GB20, GB8) are reported, not checked against the "
                "trial's eTable; the limb points come from the distal group here.",
            ),
            Protocol(
                key="opentcm_external_wind",
                name="Textbook base prescription for external (wind) headache",
                citation="opentcm textbook summary",  # CLINICAL.md 7.1
                headache_kinds=(),
                points=("GB20", "ST8", "BL7", "LI4", "TE8"),
                evidence_status=EvidenceStatus.TRADITION,
                regimen="manual; reducing method",
                note="A textbook set, not a trial protocol.",
            ),
        )
    }
)

# Which protocol is offered by default per headache kind: the verified list first.
DEFAULT_PROTOCOL: Mapping[str, str] = MappingProxyType(
    {"tension-type": "li_lu_ctth_2017", "migraine": "li_2012_shaoyang"}
)


def normalise_headache_kind(kind: str | None) -> str | None:
    """Map a classifier label or ICHD-3 code to "migraine" / "tension-type" / None.

    ICHD-3 group 1 is migraine and group 2 tension-type headache (CLINICAL.md 1.1-2.x); anything
    else (cluster, medication overuse, unclassified) has no trial protocol here.
    """
    if kind is None:
        return None
    k = kind.strip().lower()
    if "tension" in k or k in {"tth", "ctth", "etth"} or re.fullmatch(r"2(\.\d+)*", k):
        return "tension-type"
    if "migraine" in k or re.fullmatch(r"1(\.\d+)*", k):
        return "migraine"
    return None


# ---- pattern points (CLINICAL.md 7.2; tradition) --------------------------------------------


@dataclass(frozen=True, slots=True)
class PatternPoints:
    points: tuple[str, ...]
    source: str


# Pattern points: CLINICAL.md 7.2 ([V] checked against the source, [R] reported only); the texts
# are shown with each proposed point, so they say it in words and name no file.
PATTERN_POINTS: Mapping[Pattern, PatternPoints] = MappingProxyType(
    {
        Pattern.WIND_COLD: PatternPoints(("BL12", "LU7"), "PRC textbook, not checked"),
        Pattern.WIND_HEAT: PatternPoints(
            ("GV14", "LI11"), "GV14 not checked; LI4+LI11 pair checked, tcmwindow"
        ),
        Pattern.WIND_DAMP: PatternPoints(("ST8", "SP9"), "textbook add-ons, not checked"),
        Pattern.LIVER_YANG_RISING: PatternPoints(("GB20", "GB40", "LR3"), "nyior list, checked"),
        Pattern.LIVER_FIRE: PatternPoints(("LR2", "GB43"), "textbook, not checked"),
        Pattern.LIVER_QI_STAGNATION: PatternPoints(("LR3", "LI4"), "'Four Gates', not checked"),
        Pattern.PHLEGM_TURBIDITY: PatternPoints(("ST40", "CV12"), "nyior and Musil 2018, checked"),
        Pattern.BLOOD_STASIS: PatternPoints(
            ("SP6", "SP10", "BL17"), "nyior and Musil 2018, checked"
        ),
        Pattern.QI_DEFICIENCY: PatternPoints(("GV20", "ST36", "CV6"), "textbook, not checked"),
        Pattern.BLOOD_DEFICIENCY: PatternPoints(
            ("ST36", "SP6", "SP10"), "nyior (qi and blood deficiency), checked"
        ),
        Pattern.KIDNEY_DEFICIENCY: PatternPoints(
            ("BL23", "KI3"), "BL23 checked, nyior; KI3 textbook, not checked"
        ),
    }
)


# ---- value types ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PointReason:
    group: Group
    text: str
    evidence_status: EvidenceStatus


@dataclass(frozen=True, slots=True)
class PrescribedPoint:
    """One point on the plan. ``side`` None means a midline (unpaired) point."""

    code: str
    pinyin: str
    side: Side | None
    reasons: tuple[PointReason, ...]
    cautions: tuple[Caution, ...]

    @property
    def group(self) -> Group:
        """The first group that proposed the point (local before distal before pattern ...)."""
        return self.reasons[0].group

    @property
    def groups(self) -> tuple[Group, ...]:
        return tuple(dict.fromkeys(r.group for r in self.reasons))

    @property
    def reason(self) -> str:
        return "; ".join(r.text for r in self.reasons)


@dataclass(frozen=True, slots=True)
class StimulationPlan:
    """Proposed stimulation. Manual by default; electro only when asked for.

    Electro parameters follow Li 2012 CMAJ (2/100 Hz alternating, 0.1-1.0 mA, 30 min; CLINICAL.md
    5.6). Manual method follows 7.2: reducing for excess, reinforcing (+/- moxa) for deficiency.
    """

    method: str  # "manual" | "electro"
    manipulation: str  # "reducing" | "reinforcing" | "even"
    retention_min: int
    response_sought: str
    frequency_hz: tuple[float, ...] = ()
    intensity_ma: tuple[float, float] | None = None
    moxa_suggested: bool = False
    source: str = ""


@dataclass(frozen=True, slots=True)
class SafetyFinding:
    """One safety rule that applies, what it asks for, and whether it has been confirmed."""

    code: str  # unique within the prescription, e.g. "pregnancy:LI4"
    point: str | None
    rule: str  # text with its source
    action: Action
    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class Prescription:
    points: tuple[PrescribedPoint, ...]
    stimulation: StimulationPlan
    safety: tuple[SafetyFinding, ...]
    assessment: PatternAssessment | None = None
    headache_kind: str | None = None
    locations: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    protocol: Protocol | None = None
    template: str | None = None
    notes: tuple[str, ...] = ()

    def point(self, code: str) -> PrescribedPoint | None:
        c = normalise_code(code)
        return next((p for p in self.points if p.code == c), None)


@dataclass(frozen=True, slots=True)
class TemplatePoint:
    code: str
    side: Side | None = None


@dataclass(frozen=True, slots=True)
class PrescriptionTemplate:
    """A saved point plan (clinic favourite or last plan) that can be reused without retyping."""

    name: str
    points: tuple[TemplatePoint, ...]
    electro: bool = False
    note: str = ""


# ---- helpers --------------------------------------------------------------------------------

# Midline (unpaired) points have no side. Sishencong is four needles around GV20.
_MIDLINE_EXTRA = frozenset({"EX-HN1", "EX-HN3"})
_MULTI_NEEDLE = MappingProxyType({"EX-HN1": 4})


def is_midline(code: str) -> bool:
    return code.startswith(("GV", "CV")) or code in _MIDLINE_EXTRA


def needles_for(code: str, side: Side | None) -> int:
    """Needle insertions for one point entry (STRICTA 2a counts insertions): both sides = 2."""
    base = _MULTI_NEEDLE.get(code, 1)
    return base * 2 if side is Side.BOTH else base


def _merge_side(a: Side | None, b: Side | None) -> Side | None:
    if a is None:
        return b
    if b is None or a is b:
        return a
    return Side.BOTH


def _default_side(code: str, affected: Side | None) -> Side | None:
    if is_midline(code):
        return None
    return affected or Side.BOTH


class _Builder:
    """Collects points in group order; a repeated point keeps one entry and all its reasons."""

    def __init__(self) -> None:
        self._order: list[str] = []
        self._sides: dict[str, Side | None] = {}
        self._reasons: dict[str, list[PointReason]] = {}

    def add(self, code: str, side: Side | None, reason: PointReason) -> None:
        code = normalise_code(code)
        side = None if is_midline(code) else side
        if code not in self._reasons:
            self._order.append(code)
            self._sides[code] = side
            self._reasons[code] = []
        else:
            self._sides[code] = _merge_side(self._sides[code], side)
        if reason not in self._reasons[code]:
            self._reasons[code].append(reason)

    def build(self) -> tuple[PrescribedPoint, ...]:
        rank = {g: i for i, g in enumerate(Group)}
        out = []
        for code in self._order:
            pt = lookup(code)
            out.append(
                PrescribedPoint(
                    code=code,
                    pinyin=pt.pinyin,
                    side=self._sides[code],
                    reasons=tuple(self._reasons[code]),
                    cautions=tuple(pt.cautions),
                )
            )
        # Stable: points keep insertion order within their first group.
        out.sort(key=lambda p: rank[p.group])
        return tuple(out)


def _check_red_flags(open_red_flags: Sequence[str]) -> None:
    """Any open red flag stops planning: SNNOOP10 triage comes before points (CLINICAL.md 7.3)."""
    flags = [f for f in open_red_flags if f and f.strip()]
    if flags:
        raise SafetyBlock("needs medical review: " + "; ".join(flags))


def _stimulation(electro: bool, pattern: Pattern | None) -> StimulationPlan:
    if pattern is None:
        manipulation = "even"
    elif pattern in DEFICIENCY_PATTERNS:
        manipulation = "reinforcing"
    else:
        manipulation = "reducing"
    moxa = pattern in DEFICIENCY_PATTERNS
    if electro:
        return StimulationPlan(
            method="electro",
            manipulation=manipulation,
            retention_min=30,
            response_sought="deqi",
            frequency_hz=(2.0, 100.0),
            intensity_ma=(0.1, 1.0),
            moxa_suggested=moxa,
            source="Li 2012 CMAJ: 2/100 Hz alternating, 0.1-1.0 mA, 30 min",  # CLINICAL.md 5.6
        )
    return StimulationPlan(
        method="manual",
        manipulation=manipulation,
        retention_min=30,
        response_sought="deqi",
        moxa_suggested=moxa,
        # CLINICAL.md 7.2 (manipulation) and 7.4 (retention in the trials)
        source="textbook: reducing for excess, reinforcing +/- moxa for deficiency; "
        "30 min retention as in the headache trials",
    )


# ---- safety (CLINICAL.md 7.3) ---------------------------------------------------------------

_CHEN_2018 = (
    "mean skin-to-pleura depth at GB21 17.4 mm in men and 14.6 mm in women, less in thin people "
    "(Chen et al. 2018)"
)  # CLINICAL.md 7.3


def safety_findings(
    points: Sequence[PrescribedPoint],
    stimulation: StimulationPlan,
    safety: SafetyProfile,
) -> tuple[SafetyFinding, ...]:
    """Apply the 7.3 rules to a plan. Pure; ``confirmed`` is False on every finding returned."""
    out: list[SafetyFinding] = []

    def add(code: str, point: str | None, rule: str, action: Action) -> None:
        out.append(SafetyFinding(f"{code}:{point}" if point else code, point, rule, action))

    bleeding = safety.anticoagulant or safety.bleeding_disorder
    n_needles = sum(needles_for(p.code, p.side) for p in points)

    if stimulation.method == "electro" and safety.pacemaker:
        add(
            "electro_pacemaker",
            None,
            "Implanted pacemaker or other electrical device: no electro-stimulation; use manual "
            "stimulation (standard device contraindication; SafetyProfile.pacemaker)",
            Action.BLOCKED,
        )
    elif safety.pacemaker:
        add(
            "pacemaker",
            None,
            "Implanted electrical device: keep to manual stimulation (SafetyProfile.pacemaker)",
            Action.INFO,
        )
    if safety.pregnant or safety.puerperium:  # SNNOOP10 P6 (CLINICAL.md 2 item 11)
        add(
            "pregnancy_red_flags",
            None,
            "Headache in pregnancy or post partum is a SNNOOP10 flag: make sure the red-flag "
            "screen was done (Do et al., Neurology 2019)",  # CLINICAL.md 2
            Action.INFO,
        )
    if bleeding:
        which = "anticoagulant" if safety.anticoagulant else "bleeding disorder"
        add(
            "bleeding_risk",
            None,
            f"Patient on {which}: confirm that needling is appropriate (haematoma risk; "
            "see the large-artery and eye-region cautions)",  # CLINICAL.md 7.3
            Action.CONFIRM,
        )
        add(
            "bleeding_technique",
            None,
            "Bleeding risk: press each site after withdrawal; prefer shallow needling; avoid "
            "deep and vascular points",  # CLINICAL.md 7.3
            Action.INFO,
        )
    if safety.needle_phobia or safety.fainting_history:
        why = "needle phobia" if safety.needle_phobia else "history of fainting"
        add(
            "vasovagal",
            None,
            f"{why.capitalize()}: treat lying down and start with few needles (this plan: "
            f"{n_needles} insertions); fainting is a recorded adverse event",  # CLINICAL.md 6
            Action.INFO,
        )

    for p in points:
        cautions = set(p.cautions)
        if Caution.PREGNANCY in cautions and safety.pregnant:
            add(
                "pregnancy",
                p.code,
                f"{p.code} is traditionally forbidden in pregnancy: needs explicit confirmation. "
                "Not hard-blocked: 15 trials showed no excess harm (Betts & Budd, Acupunct Med "
                "2011)",  # CLINICAL.md 7.3
                Action.CONFIRM,
            )
        if Caution.PNEUMOTHORAX in cautions:
            if safety.low_bmi:
                add(
                    "pneumothorax",
                    p.code,
                    f"{p.code} lies over the lung apex/thorax and the patient is thin: confirm and "
                    f"keep depth well short of the pleura; {_CHEN_2018}",
                    Action.CONFIRM,
                )
            else:
                add(
                    "pneumothorax",
                    p.code,
                    f"{p.code}: pneumothorax risk, shallow or oblique needling; pneumothorax is "
                    "the most frequent serious event reported (Zhang, Shang, Ernst 2010)",
                    # CLINICAL.md 7.3
                    Action.INFO,
                )
        if Caution.MEDULLA in cautions:
            add(
                "medulla",
                p.code,
                f"{p.code}: direct toward the tip of the nose; never deep, upward or medially "
                "(medulla; JCM safe-use review)",  # CLINICAL.md 7.3
                Action.INFO,
            )
        if Caution.EYE in cautions:
            add(
                "eye_region",
                p.code,
                # CLINICAL.md 7.3
                f"{p.code}: eye region; no manipulation, press after withdrawal, no moxa"
                + ("; bleeding risk makes a haematoma likelier: confirm" if bleeding else ""),
                Action.CONFIRM if bleeding else Action.INFO,
            )
        if Caution.ARTERY in cautions:
            add(
                "large_artery",
                p.code,
                # CLINICAL.md 7.3
                f"{p.code}: near a large artery; palpate and avoid the vessel"
                + ("; with bleeding risk confirm or choose another point" if bleeding else ""),
                Action.CONFIRM if bleeding else Action.INFO,
            )
        if Caution.TRACHEA in cautions:
            add(
                "trachea",
                p.code,
                # CLINICAL.md 7.3 [R]
                f"{p.code}: trachea and great vessels; specialist technique "
                "(reported, not checked)",
                Action.CONFIRM,
            )
        if Caution.EAR_INFECTION in cautions:
            add(
                "ear",
                p.code,
                # CLINICAL.md 7.3 [R]
                f"{p.code}: ear point; avoid inflamed or broken skin, perichondritis risk "
                "(reported, not checked)",
                Action.INFO,
            )
        if Caution.NO_MOXA in cautions and stimulation.moxa_suggested:
            add(
                "no_moxa",
                p.code,
                f"{p.code}: no moxibustion here",  # CLINICAL.md 7.3
                Action.INFO,
            )
    return tuple(out)


def _finish(
    builder: _Builder,
    stimulation: StimulationPlan,
    safety: SafetyProfile,
    **fields: Any,
) -> Prescription:
    points = builder.build()
    return Prescription(
        points=points,
        stimulation=stimulation,
        safety=safety_findings(points, stimulation, safety),
        **fields,
    )


def _affected_side(diary: Diary | None) -> Side | None:
    """Side for local points: the one side if every sided attack was on it, else both."""
    if diary is None:
        return None
    sides = {a.side for a in diary.attacks if a.side is not None}
    return sides.pop() if len(sides) == 1 else None


def _frequent_locations(per_attack: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Locations seen in at least a third of attacks, most frequent first."""
    counts: Counter[str] = Counter()
    for locs in per_attack:
        counts.update(set(locs))
    need = max(1, math.ceil(len(per_attack) / 3))
    return tuple(loc for loc, n in counts.most_common() if n >= need)


# ---- public builders ------------------------------------------------------------------------


def build_prescription(
    assessment: PatternAssessment | None,
    *,
    headache_kind: str | None = None,
    locations: Iterable[str] = (),
    diary: Diary | None = None,
    safety: SafetyProfile | None = None,
    electro: bool = False,
    protocol: str | None = None,
    open_red_flags: Sequence[str] = (),
) -> Prescription:
    """Build a plan from the assessment, the classified headache and the diary.

    ``locations`` are diary location names; when empty they come from the diary's attacks. Safety
    comes from ``safety`` or else the diary's patient. ``protocol`` picks a key of ``PROTOCOLS``
    ("none" for no protocol group); by default the verified protocol for the headache kind is used.
    Raises ``SafetyBlock`` when a red flag is open and ``ValidationError`` on unknown inputs.
    """
    _check_red_flags(open_red_flags)
    locs = tuple(parse_location(t, f"locations[{i}]") for i, t in enumerate(locations))
    if not locs and diary is not None:
        locs = tuple(
            parse_location(t)
            for t in _frequent_locations(
                [[loc.value for loc in a.locations] for a in diary.attacks]
            )
        )
    if safety is None:
        safety = diary.patient.safety if diary is not None else SafetyProfile()
    kind = normalise_headache_kind(headache_kind)
    affected = _affected_side(diary)
    b = _Builder()
    notes: list[str] = [SPECIFICITY_CAVEAT, "Add ashi (tender) points found by palpation."]

    for loc in locs:
        rule = LOCATION_RULES[loc]
        for code in rule.local_points:
            b.add(
                code,
                _default_side(code, affected),
                PointReason(
                    Group.LOCAL,
                    f"local point for {loc.value} headache ({rule.source})",
                    EvidenceStatus.TRADITION,
                ),
            )
    channels = channels_for(locs)
    for ch in channels:
        drule = DISTAL_RULES[ch]
        for code in drule.points:
            b.add(
                code,
                _default_side(code, None),
                PointReason(
                    Group.DISTAL,
                    f"distal point on the {CHANNEL_LABELS[ch]} channel ({drule.source})",
                    EvidenceStatus.TRADITION,
                ),
            )

    pattern = assessment.working_pattern if assessment is not None else None
    if assessment is not None and pattern is not None:
        pp = PATTERN_POINTS[pattern]
        if assessment.confirmed_pattern is not None:
            how = "confirmed by the practitioner"
        else:
            how = f"top score {assessment.score_of(pattern).score}, not yet confirmed"
        for code in pp.points:
            b.add(
                code,
                _default_side(code, None),
                PointReason(
                    Group.PATTERN,
                    f"{PATTERN_LABELS[pattern]} pattern ({how}; {pp.source})",
                    EvidenceStatus.TRADITION,
                ),
            )
    elif assessment is not None and len(assessment.leading) > 1:
        tied = ", ".join(PATTERN_LABELS[p] for p in assessment.leading)
        notes.append(f"Patterns tied ({tied}): confirm one to add its pattern points.")

    chosen: Protocol | None = None
    if protocol is not None and protocol.lower() != "none":
        if protocol not in PROTOCOLS:
            raise ValidationError(
                FieldError(
                    "protocol",
                    f"unknown protocol {protocol!r}; expected one of {sorted(PROTOCOLS)}",
                )
            )
        chosen = PROTOCOLS[protocol]
    elif protocol is None and kind is not None:
        chosen = PROTOCOLS[DEFAULT_PROTOCOL[kind]]
    elif protocol is None:
        notes.append("No trial protocol for this headache kind: the plan is individualised only.")
    if chosen is not None:
        for code in chosen.points:
            b.add(
                code,
                _default_side(code, None),
                PointReason(
                    Group.PROTOCOL,
                    f"{chosen.name} [{chosen.evidence_status.value}] ({chosen.citation})",
                    chosen.evidence_status,
                ),
            )
        if chosen.key == "li_2012_shaoyang" and not electro:
            notes.append("The Li 2012 trial used electro-acupuncture; this plan proposes manual.")

    return _finish(
        b,
        _stimulation(electro, pattern),
        safety,
        assessment=assessment,
        headache_kind=kind,
        locations=tuple(loc.value for loc in locs),
        channels=channels,
        protocol=chosen,
        notes=tuple(notes),
    )


def make_template(
    name: str, points: Iterable[tuple[str, Side | str | None]], *, electro: bool = False
) -> PrescriptionTemplate:
    """Build a template from (code, side) pairs, normalising codes ("LV3" -> "LR3")."""
    errors: list[FieldError] = []
    out: list[TemplatePoint] = []
    if not name.strip():
        errors.append(FieldError("name", "a template needs a name"))
    for i, (code, side) in enumerate(points):
        try:
            c = normalise_code(code)
        except ValidationError as e:
            errors.append(FieldError(f"points[{i}].code", str(e)))
            continue
        try:
            s = None if side is None else Side(side)
        except ValueError:
            errors.append(FieldError(f"points[{i}].side", f"unknown side {side!r}"))
            continue
        out.append(TemplatePoint(c, None if is_midline(c) else (s or Side.BOTH)))
    if errors:
        raise ValidationError(errors)
    return PrescriptionTemplate(name.strip(), tuple(out), electro)


def template_from_protocol(key: str) -> PrescriptionTemplate:
    proto = PROTOCOLS[key]
    return make_template(proto.name, [(c, None) for c in proto.points])


def template_from_prescription(p: Prescription, name: str) -> PrescriptionTemplate:
    """Save a plan as a template so the next visit can start from it (USERS.md, acupuncturists)."""
    return make_template(
        name, [(pt.code, pt.side) for pt in p.points], electro=p.stimulation.method == "electro"
    )


def from_template(
    template: PrescriptionTemplate,
    *,
    safety: SafetyProfile | None = None,
    electro: bool | None = None,
    assessment: PatternAssessment | None = None,
    open_red_flags: Sequence[str] = (),
) -> Prescription:
    """A prescription from a saved template; safety checks and the red-flag block apply as usual."""
    _check_red_flags(open_red_flags)
    b = _Builder()
    for tp in template.points:
        b.add(
            tp.code,
            tp.side,
            PointReason(
                Group.TEMPLATE, f"from template '{template.name}'", EvidenceStatus.TRADITION
            ),
        )
    use_electro = template.electro if electro is None else electro
    pattern = assessment.working_pattern if assessment is not None else None
    return _finish(
        b,
        _stimulation(use_electro, pattern),
        safety or SafetyProfile(),
        assessment=assessment,
        template=template.name,
        notes=(SPECIFICITY_CAVEAT,),
    )


def apply_confirmations(prescription: Prescription, confirmed_codes: Iterable[str]) -> Prescription:
    """Mark ``confirm`` findings as confirmed by finding code ("pregnancy:LI4") or point ("LI4").

    A code that matches no finding raises ValidationError (a typo must not pass as a
    confirmation); blocked findings cannot be confirmed away.
    """
    finding_codes = {f.code for f in prescription.safety}
    wanted: dict[str, str] = {}
    for raw in confirmed_codes:
        key = raw.strip()
        if key in finding_codes:
            wanted[key] = raw
            continue
        try:
            wanted[normalise_code(key)] = raw
        except ValidationError:
            wanted[key] = raw
    matched: set[str] = set()
    updated: list[SafetyFinding] = []
    for f in prescription.safety:
        hits = {k for k in (f.code, f.point) if k is not None and k in wanted}
        if hits and f.action is Action.CONFIRM:
            matched |= hits
            f = replace(f, confirmed=True)
        elif hits and f.action is Action.INFO:
            matched |= hits
        updated.append(f)
    unknown = [wanted[k] for k in wanted if k not in matched]
    if unknown:
        raise ValidationError(
            FieldError("confirmed_codes", f"no confirmable safety finding for {unknown}")
        )
    return replace(prescription, safety=tuple(updated))


def is_ready(prescription: Prescription) -> bool:
    """Ready to treat: nothing blocked and every finding that asks for confirmation confirmed."""
    return all(
        f.action is not Action.BLOCKED and (f.action is not Action.CONFIRM or f.confirmed)
        for f in prescription.safety
    )


# ---- JSON views -----------------------------------------------------------------------------


def prescription_as_dict(p: Prescription) -> dict[str, Any]:
    """The JSON the CLI ``acuhead prescribe`` prints."""
    a = p.assessment
    return {
        "headache_kind": p.headache_kind,
        "locations": list(p.locations),
        "channels": [ch.value for ch in p.channels],
        "patterns": [
            {
                "pattern": s.pattern.value,
                "label": s.label,
                "score": s.score,
                "signs": [{"sign": sign, "weight": w} for sign, w in s.signs],
            }
            for s in (a.scores if a is not None else ())
        ],
        "derived_signs": [
            {"sign": d.sign, "basis": d.basis} for d in (a.derived_signs if a is not None else ())
        ],
        "confirmed_pattern": (
            a.confirmed_pattern.value if a is not None and a.confirmed_pattern else None
        ),
        "working_pattern": (
            a.working_pattern.value if a is not None and a.working_pattern else None
        ),
        "points": [
            {
                "code": pt.code,
                "pinyin": pt.pinyin,
                "side": pt.side.value if pt.side is not None else None,
                "group": pt.group.value,
                "groups": [g.value for g in pt.groups],
                "reason": pt.reason,
                "reasons": [
                    {
                        "group": r.group.value,
                        "text": r.text,
                        "evidence_status": r.evidence_status.value,
                    }
                    for r in pt.reasons
                ],
                "cautions": [c.value for c in pt.cautions],
            }
            for pt in p.points
        ],
        "protocol": (
            None
            if p.protocol is None
            else {
                "key": p.protocol.key,
                "name": p.protocol.name,
                "citation": p.protocol.citation,
                "evidence_status": p.protocol.evidence_status.value,
                "points": list(p.protocol.points),
                "regimen": p.protocol.regimen,
                "note": p.protocol.note,
            }
        ),
        "template": p.template,
        "stimulation": {
            "method": p.stimulation.method,
            "manipulation": p.stimulation.manipulation,
            "retention_min": p.stimulation.retention_min,
            "response_sought": p.stimulation.response_sought,
            "frequency_hz": list(p.stimulation.frequency_hz),
            "intensity_ma": (
                list(p.stimulation.intensity_ma) if p.stimulation.intensity_ma else None
            ),
            "moxa_suggested": p.stimulation.moxa_suggested,
            "source": p.stimulation.source,
        },
        "safety": [
            {
                "code": f.code,
                "point": f.point,
                "rule": f.rule,
                "action": f.action.value,
                "confirmed": f.confirmed,
            }
            for f in p.safety
        ],
        "ready": is_ready(p),
        "notes": list(p.notes),
    }


def _str_list(value: Any, path: str, errors: list[FieldError]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(FieldError(path, "expected a list of strings"))
        return []
    return value


def _mapping(value: Any, path: str, errors: list[FieldError]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(FieldError(path, "expected an object"))
        return {}
    return value


def prescribe_from_document(
    doc: Mapping[str, Any],
    *,
    headache_kind: str | None = None,
    open_red_flags: Sequence[str] = (),
) -> dict[str, Any]:
    """Plan straight from an ``acuhead.diary/1`` document dict.

    Reads ``patient.safety`` flags, the ``assessment`` block (``locations``, ``signs``,
    ``tongue``, ``pulse``, ``confirmed_pattern``, ``electro``, optional ``headache_kind``) and, of
    the raw attacks, only ``locations`` and ``triggers`` (for diary-derived signs and, when the
    assessment names none, the locations).
    """
    errors: list[FieldError] = []
    patient = _mapping(doc.get("patient"), "patient", errors)
    raw_safety = _mapping(patient.get("safety"), "patient.safety", errors)
    flags: dict[str, bool] = {}
    for name in SafetyProfile.__dataclass_fields__:
        v = raw_safety.get(name, False)
        if not isinstance(v, bool):
            errors.append(FieldError(f"patient.safety.{name}", "expected true or false"))
        else:
            flags[name] = v
    block = _mapping(doc.get("assessment"), "assessment", errors)
    locs = _str_list(block.get("locations"), "assessment.locations", errors)
    signs = _str_list(block.get("signs"), "assessment.signs", errors)
    texts: dict[str, str] = {}
    for key in ("tongue", "pulse"):
        v = block.get(key) or ""
        if not isinstance(v, str):
            errors.append(FieldError(f"assessment.{key}", "expected text"))
            v = ""
        texts[key] = v
    electro = block.get("electro", False)
    if not isinstance(electro, bool):
        errors.append(FieldError("assessment.electro", "expected true or false"))
        electro = False
    confirmed: Pattern | None = None
    raw_confirmed = block.get("confirmed_pattern")
    if raw_confirmed is not None:
        if not isinstance(raw_confirmed, str):
            errors.append(FieldError("assessment.confirmed_pattern", "expected a pattern name"))
        else:
            try:
                confirmed = parse_pattern(raw_confirmed, "assessment.confirmed_pattern")
            except ValidationError as e:
                errors.extend(e.errors)
    kind = headache_kind
    if kind is None and isinstance(block.get("headache_kind"), str):
        kind = block["headache_kind"]

    raw_attacks = doc.get("attacks") or []
    facts: list[AttackFacts] = []
    per_attack_locs: list[list[str]] = []
    if not isinstance(raw_attacks, list):
        errors.append(FieldError("attacks", "expected a list"))
        raw_attacks = []
    for i, a in enumerate(raw_attacks):
        if not isinstance(a, Mapping):
            errors.append(FieldError(f"attacks[{i}]", "expected an object"))
            continue
        a_locs = _str_list(a.get("locations"), f"attacks[{i}].locations", errors)
        a_trig = _str_list(a.get("triggers"), f"attacks[{i}].triggers", errors)
        parsed = []
        for j, t in enumerate(a_locs):
            try:
                parsed.append(parse_location(t, f"attacks[{i}].locations[{j}]"))
            except ValidationError as e:
                errors.extend(e.errors)
        per_attack_locs.append([loc.value for loc in parsed])
        facts.append(AttackFacts(locations=tuple(parsed), triggers=tuple(a_trig)))
    for i, t in enumerate(locs):
        try:
            parse_location(t, f"assessment.locations[{i}]")
        except ValidationError as e:
            errors.extend(e.errors)
    if errors:
        raise ValidationError(errors)

    assessment = assess(
        signs,
        texts["tongue"],
        texts["pulse"],
        derived=derive_signs_from_facts(facts),
        confirmed_pattern=confirmed,
    )
    p = build_prescription(
        assessment,
        headache_kind=kind,
        locations=locs or _frequent_locations(per_attack_locs),
        safety=SafetyProfile(**flags),
        electro=electro,
        open_red_flags=open_red_flags,
    )
    return prescription_as_dict(p)
