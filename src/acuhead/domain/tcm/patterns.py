"""TCM pattern differentiation for headache, as a transparent score the practitioner can read.

Why a score and not a verdict: pattern differentiation is a clinical judgement. acuhead only adds up
the recorded signs that tradition links to each pattern (CLINICAL.md 7.2 table), shows every sign
and its weight beside the total, ranks the patterns, and lets the practitioner confirm or override
(``confirmed_pattern``). The weights are editorial (3 = a key sign in the 7.2 table, 2 = a typical
sign, 1 = a supporting sign shared with other patterns); they encode tradition, not validated
diagnostic accuracy (CLINICAL.md 7.0/7.2 caveat, Li 2012 CMAJ).

Inputs are the practitioner's free-text signs, tongue and pulse, plus signs derived from the diary
(``derive_signs``). Free text is matched against short keyword lists per field; a keyword preceded
by "no", "not", "without" ... earlier in the same clause does not count ("no thirst" is not
"thirst").

Not a triage tool: fever, neck stiffness and head trauma appear as traditional signs here but are
SNNOOP10 red flags too (CLINICAL.md 2); the red-flag screen runs before any of this.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from acuhead.domain.diary import Diary, DiaryDay, Location, Nausea, Quality
from acuhead.domain.tcm.channels import SPECIFICITY_CAVEAT
from acuhead.errors import FieldError, ValidationError


class Pattern(StrEnum):
    """The eleven headache patterns acuhead scores (CLINICAL.md 7.2; Maciocia/Maclean lists)."""

    WIND_COLD = "wind_cold"
    WIND_HEAT = "wind_heat"
    WIND_DAMP = "wind_damp"
    LIVER_YANG_RISING = "liver_yang_rising"
    LIVER_FIRE = "liver_fire"
    LIVER_QI_STAGNATION = "liver_qi_stagnation"
    PHLEGM_TURBIDITY = "phlegm_turbidity"
    BLOOD_STASIS = "blood_stasis"
    QI_DEFICIENCY = "qi_deficiency"
    BLOOD_DEFICIENCY = "blood_deficiency"
    KIDNEY_DEFICIENCY = "kidney_deficiency"


PATTERN_LABELS: Mapping[Pattern, str] = MappingProxyType(
    {
        Pattern.WIND_COLD: "Wind-cold",
        Pattern.WIND_HEAT: "Wind-heat",
        Pattern.WIND_DAMP: "Wind-damp",
        Pattern.LIVER_YANG_RISING: "Liver-yang rising",
        Pattern.LIVER_FIRE: "Liver fire",
        Pattern.LIVER_QI_STAGNATION: "Liver-qi stagnation",
        Pattern.PHLEGM_TURBIDITY: "Phlegm-turbidity",
        Pattern.BLOOD_STASIS: "Blood stasis",
        Pattern.QI_DEFICIENCY: "Qi deficiency",
        Pattern.BLOOD_DEFICIENCY: "Blood deficiency",
        Pattern.KIDNEY_DEFICIENCY: "Kidney deficiency",
    }
)

# Excess patterns are treated with reducing method, deficiency with reinforcing (+/- moxa)
# (CLINICAL.md 7.2 opening paragraph).
DEFICIENCY_PATTERNS: frozenset[Pattern] = frozenset(
    {Pattern.QI_DEFICIENCY, Pattern.BLOOD_DEFICIENCY, Pattern.KIDNEY_DEFICIENCY}
)

_ALIASES: Mapping[str, Pattern] = MappingProxyType(
    {
        "ascendant_liver_yang": Pattern.LIVER_YANG_RISING,
        "liver_yang": Pattern.LIVER_YANG_RISING,
        "liver_yang_rising": Pattern.LIVER_YANG_RISING,
        "rising_liver_yang": Pattern.LIVER_YANG_RISING,
        "liver_qi_constraint": Pattern.LIVER_QI_STAGNATION,
        "liver_qi": Pattern.LIVER_QI_STAGNATION,
        "turbid_phlegm": Pattern.PHLEGM_TURBIDITY,
        "phlegm": Pattern.PHLEGM_TURBIDITY,
        "phlegm_damp": Pattern.PHLEGM_TURBIDITY,
        "liver_fire_rising": Pattern.LIVER_FIRE,
        "kidney_yin_deficiency": Pattern.KIDNEY_DEFICIENCY,
        "kidney_yang_deficiency": Pattern.KIDNEY_DEFICIENCY,
    }
)


def parse_pattern(text: str, path: str = "confirmed_pattern") -> Pattern:
    """Read a pattern name leniently ("Liver-yang rising", "liver_yang_rising", "turbid phlegm")."""
    key = re.sub(r"[\s\-]+", "_", text.strip().lower())
    try:
        return Pattern(key)
    except ValueError:
        pass
    if key in _ALIASES:
        return _ALIASES[key]
    allowed = ", ".join(p.value for p in Pattern)
    raise ValidationError(FieldError(path, f"unknown pattern {text!r}; expected one of {allowed}"))


class SignField(StrEnum):
    """Where a sign is looked for: the signs list (incl. diary-derived), the tongue or the pulse."""

    SIGNS = "signs"
    TONGUE = "tongue"
    PULSE = "pulse"


@dataclass(frozen=True, slots=True)
class Indicator:
    """One traditional sign: its label, the words that show it, and what it adds to each pattern."""

    label: str
    field: SignField
    keywords: tuple[str, ...]
    weights: Mapping[Pattern, int]


def _ind(label: str, fld: SignField, keywords: tuple[str, ...], **weights: int) -> Indicator:
    return Indicator(
        label, fld, keywords, MappingProxyType({Pattern(k): v for k, v in weights.items()})
    )


_S, _T, _P = SignField.SIGNS, SignField.TONGUE, SignField.PULSE

# The table below follows the columns of CLINICAL.md 7.2 (pain quality/timing, accompanying signs,
# tongue, pulse). Liver-qi stagnation has no retrieved row in 7.2 ("no details retrieved"): its
# signs (mood-linked distending pain, sighing, rib-side distension, premenstrual onset, wiry pulse)
# are the common textbook description and are [R] until checked. Diary-derived labels (see
# derive_signs) are worded so they match these keywords.
INDICATORS: tuple[Indicator, ...] = (
    # ---- pain quality and timing --------------------------------------------------------------
    _ind("sudden onset", _S, ("sudden onset", "sudden", "acute onset"), wind_cold=1, wind_heat=1),
    _ind(
        "pain radiating to nape and upper back",
        _S,
        ("radiating to nape", "radiates to nape", "radiating to the neck", "upper back"),
        wind_cold=2,
    ),
    _ind(
        "worse with wind or cold",
        _S,
        ("worse with cold", "worse in cold", "worse with wind", "cold exposure", "wind exposure"),
        wind_cold=3,
    ),
    _ind("weather-sensitive", _S, ("weather", "weather-sensitive"), wind_cold=1, wind_damp=1),
    _ind(
        "distending or splitting pain",
        _S,
        ("distending", "distension in the head", "splitting", "bursting"),
        wind_heat=2,
        liver_yang_rising=1,
        liver_qi_stagnation=1,
    ),
    _ind(
        "heavy head",
        _S,
        ("heavy head", "head feels heavy", "heavy headache", "heaviness"),
        wind_damp=2,
        phlegm_turbidity=1,
    ),
    _ind("as if wrapped or bound", _S, ("wrapped", "bound", "swathed"), wind_damp=2),
    _ind("worse in damp weather", _S, ("damp weather", "humid", "humidity"), wind_damp=2),
    _ind(
        "muzzy or foggy head",
        _S,
        ("muzzy", "foggy", "fuzzy", "clouded", "brain fog"),
        phlegm_turbidity=3,
    ),
    _ind(
        "throbbing pain",
        _S,
        ("throbbing", "pulsating", "pounding"),
        liver_yang_rising=2,
        liver_fire=1,
    ),
    _ind("temporal throbbing", _S, ("temporal throbbing",), liver_yang_rising=2, liver_fire=1),
    _ind(
        "one-sided headache",
        _S,
        ("one-sided", "one sided", "unilateral", "hemicranial"),
        liver_yang_rising=1,
    ),
    _ind(
        "severe throbbing at temples or eyes",
        _S,
        ("severe throbbing", "intense throbbing", "behind the eyes"),
        liver_fire=2,
    ),
    _ind("fixed pain", _S, ("fixed", "fixed location", "same spot"), blood_stasis=3),
    _ind("stabbing pain", _S, ("stabbing", "piercing", "boring"), blood_stasis=3),
    _ind("chronic, long-standing", _S, ("chronic", "long-standing", "for years"), blood_stasis=1),
    _ind("history of head trauma", _S, ("head trauma", "head injury"), blood_stasis=2),
    _ind("worse at night", _S, ("worse at night",), blood_stasis=1),
    _ind(
        "dull pain",
        _S,
        ("dull", "lingering", "dull ache"),
        qi_deficiency=2,
        blood_deficiency=2,
        kidney_deficiency=1,
    ),
    _ind(
        "worse after exertion",
        _S,
        ("worse after exertion", "worse with exertion", "exertion", "overwork", "overexertion"),
        qi_deficiency=3,
    ),
    _ind(
        "better with rest",
        _S,
        ("better with rest", "eased by rest", "relieved by rest", "better lying down"),
        qi_deficiency=2,
    ),
    _ind(
        "worse in the afternoon or evening",
        _S,
        ("afternoon", "evening"),
        blood_deficiency=2,
    ),
    _ind(
        "worse after menstruation",
        _S,
        (
            "after menstruation",
            "after period",
            "after the period",
            "postmenstrual",
            "post-menstrual",
            "end of period",
        ),
        blood_deficiency=3,
    ),
    _ind(
        "premenstrual headache",
        _S,
        ("premenstrual", "before menstruation", "before period", "breast tenderness", "pms"),
        liver_qi_stagnation=2,
        blood_stasis=1,
    ),
    _ind(
        "menstruation-linked",
        _S,
        ("menstruation-linked", "menstrual", "menstruation"),
        liver_qi_stagnation=1,
        blood_stasis=1,
        blood_deficiency=1,
    ),
    _ind(
        "empty or hollow headache",
        _S,
        ("empty headache", "empty feeling", "hollow", "emptiness"),
        kidney_deficiency=3,
    ),
    _ind(
        "worse when hungry",
        _S,
        ("hungry", "hunger", "skipped meal"),
        qi_deficiency=1,
        blood_deficiency=1,
    ),
    # ---- triggers and emotions ----------------------------------------------------------------
    _ind(
        "stress trigger",
        _S,
        ("stress trigger", "stress", "stressed", "emotional", "emotion", "emotions"),
        liver_yang_rising=2,
        liver_qi_stagnation=2,
    ),
    _ind(
        "irritability",
        _S,
        ("irritability", "irritable", "anger", "angry", "short-tempered", "short temper"),
        liver_yang_rising=2,
        liver_fire=1,
        liver_qi_stagnation=1,
    ),
    _ind(
        "mood-linked pain",
        _S,
        ("mood", "low mood", "frustration", "frustrated", "depressed", "let-down after stress"),
        liver_qi_stagnation=2,
    ),
    _ind("frequent sighing", _S, ("sighing", "sighs"), liver_qi_stagnation=2),
    _ind(
        "rib-side distension",
        _S,
        ("hypochondriac", "rib-side", "rib side", "flank distension"),
        liver_qi_stagnation=2,
    ),
    _ind(
        "neck tension",
        _S,
        ("neck tension", "stiff neck", "neck stiffness", "tight neck", "shoulder tension"),
        wind_cold=1,
        liver_qi_stagnation=1,
    ),
    _ind("alcohol trigger", _S, ("alcohol",), liver_fire=1, phlegm_turbidity=1),
    # ---- accompanying signs -------------------------------------------------------------------
    _ind("aversion to cold", _S, ("aversion to cold", "chills", "chilly"), wind_cold=2),
    _ind("aversion to wind", _S, ("aversion to wind",), wind_cold=1, wind_heat=1, wind_damp=1),
    _ind("no thirst", _S, ("no thirst", "not thirsty"), wind_cold=1),
    _ind("fever", _S, ("fever", "feverish"), wind_heat=2),
    _ind(
        "flushed face",
        _S,
        ("flushed face", "red face", "facial flushing"),
        wind_heat=1,
        liver_yang_rising=1,
        liver_fire=2,
    ),
    _ind(
        "red eyes",
        _S,
        ("red eyes", "bloodshot eyes", "bloodshot"),
        wind_heat=1,
        liver_yang_rising=1,
        liver_fire=2,
    ),
    _ind("thirst", _S, ("thirst", "thirsty"), wind_heat=1, liver_fire=1),
    _ind("constipation", _S, ("constipation", "constipated"), wind_heat=1, liver_fire=1),
    _ind(
        "dark or yellow urine",
        _S,
        ("yellow urine", "dark urine"),
        wind_heat=1,
        liver_fire=1,
    ),
    _ind("bitter taste", _S, ("bitter taste",), liver_yang_rising=1, liver_fire=2),
    _ind(
        "dizziness",
        _S,
        ("dizziness", "dizzy", "vertigo", "light-headed", "lightheaded"),
        liver_yang_rising=2,
        phlegm_turbidity=1,
        blood_deficiency=1,
        kidney_deficiency=1,
    ),
    _ind(
        "tinnitus",
        _S,
        ("tinnitus", "ringing in the ears"),
        liver_yang_rising=1,
        kidney_deficiency=2,
    ),
    _ind(
        "poor sleep",
        _S,
        ("insomnia", "poor sleep", "sleeplessness", "sleeps badly"),
        liver_yang_rising=1,
        blood_deficiency=1,
    ),
    _ind("heavy limbs", _S, ("heavy limbs", "limbs feel heavy"), wind_damp=2),
    _ind(
        "chest or epigastric fullness",
        _S,
        (
            "chest stuffiness",
            "stuffy chest",
            "chest oppression",
            "epigastric fullness",
            "chest fullness",
        ),
        wind_damp=1,
        phlegm_turbidity=1,
    ),
    _ind(
        "poor appetite",
        _S,
        ("poor appetite", "no appetite", "loss of appetite"),
        wind_damp=1,
        qi_deficiency=1,
    ),
    _ind(
        "loose stool",
        _S,
        ("loose stool", "loose stools", "diarrhoea", "diarrhea"),
        wind_damp=1,
        qi_deficiency=1,
    ),
    _ind("nausea or vomiting", _S, ("nausea", "nauseous", "vomiting"), phlegm_turbidity=2),
    _ind(
        "blurred vision",
        _S,
        ("blurred vision", "blurry vision"),
        phlegm_turbidity=1,
        blood_deficiency=1,
    ),
    _ind("overweight", _S, ("overweight", "obese", "obesity"), phlegm_turbidity=1),
    _ind(
        "fatigue",
        _S,
        ("fatigue", "tired", "tiredness", "exhausted", "exhaustion", "lack of energy"),
        qi_deficiency=2,
        blood_deficiency=1,
    ),
    _ind("shortness of breath", _S, ("shortness of breath", "short of breath"), qi_deficiency=2),
    _ind(
        "pale face",
        _S,
        ("pale face", "pale complexion", "sallow"),
        blood_deficiency=2,
        qi_deficiency=1,
    ),
    _ind("palpitations", _S, ("palpitations",), blood_deficiency=2),
    _ind(
        "sore or weak low back and knees",
        _S,
        ("low back", "lower back", "knees", "lumbar"),
        kidney_deficiency=3,
    ),
    # ---- tongue -------------------------------------------------------------------------------
    _ind(
        "pale tongue",
        _T,
        ("pale",),
        wind_cold=1,
        qi_deficiency=2,
        blood_deficiency=2,
        kidney_deficiency=1,
    ),
    _ind("thin white coat", _T, ("thin white", "white coat"), wind_cold=2),
    _ind("red tongue", _T, ("red",), liver_yang_rising=1, liver_fire=1, kidney_deficiency=1),
    _ind("red tip of tongue", _T, ("red tip",), wind_heat=2),
    _ind(
        "red sides of tongue",
        _T,
        ("red sides", "redder sides", "red edges", "red margins"),
        liver_fire=3,
        liver_yang_rising=2,
        liver_qi_stagnation=1,
    ),
    _ind("yellow coat", _T, ("yellow",), wind_heat=1, liver_fire=1),
    _ind("thin yellow coat", _T, ("thin yellow",), liver_yang_rising=1),
    _ind("white greasy coat", _T, ("white greasy", "greasy white"), wind_damp=2),
    _ind("greasy coat", _T, ("greasy", "sticky", "slimy"), wind_damp=1, phlegm_turbidity=2),
    _ind("purple or dark tongue", _T, ("purple", "dusky", "bluish", "dark purple"), blood_stasis=3),
    _ind("purple spots on tongue", _T, ("spots", "petechiae", "stasis spots"), blood_stasis=2),
    _ind(
        "little or peeled coat",
        _T,
        ("little coat", "no coat", "peeled", "scanty coat", "without coat"),
        kidney_deficiency=2,
    ),
    # ---- pulse --------------------------------------------------------------------------------
    _ind("floating pulse", _P, ("floating", "superficial"), wind_cold=2, wind_heat=2, wind_damp=1),
    _ind("tight pulse", _P, ("tight", "tense"), wind_cold=2),
    _ind("rapid pulse", _P, ("rapid", "fast"), wind_heat=1, liver_fire=2),
    _ind("soggy pulse", _P, ("soggy",), wind_damp=3),
    _ind(
        "wiry pulse",
        _P,
        ("wiry", "string-like", "taut"),
        liver_yang_rising=3,
        liver_fire=2,
        liver_qi_stagnation=2,
        phlegm_turbidity=1,
    ),
    _ind("slippery pulse", _P, ("slippery",), phlegm_turbidity=3),
    _ind("choppy pulse", _P, ("choppy", "rough", "hesitant"), blood_stasis=3),
    _ind(
        "thin pulse",
        _P,
        ("thin", "fine", "thready"),
        blood_deficiency=2,
        blood_stasis=1,
        kidney_deficiency=1,
    ),
    _ind(
        "weak pulse",
        _P,
        ("weak", "empty", "feeble", "forceless"),
        qi_deficiency=3,
        blood_deficiency=1,
        kidney_deficiency=1,
    ),
    _ind("deep pulse", _P, ("deep",), kidney_deficiency=2),
)

_NEGATORS = frozenset({"no", "not", "without", "never", "denies", "absent"})
_CLAUSE_SPLIT = re.compile(r"[,;.\n/]|\bbut\b")


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_SPLIT.split(text.lower()) if c.strip()]


def _keyword_in(clause: str, keyword: str) -> bool:
    """Whole-word match of ``keyword`` in ``clause``, unless a negator comes earlier in the clause.

    A keyword that itself starts with a negator ("no thirst", "no coat") is matched as written.
    """
    pattern = re.compile(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])")
    keyword_negated = keyword.split()[0] in _NEGATORS
    for m in pattern.finditer(clause):
        if keyword_negated:
            return True
        before = re.findall(r"[a-z]+", clause[: m.start()])
        if not any(w in _NEGATORS for w in before):
            return True
    return False


def _indicator_present(indicator: Indicator, clauses: Sequence[str]) -> bool:
    return any(_keyword_in(c, kw) for c in clauses for kw in indicator.keywords)


@dataclass(frozen=True, slots=True)
class DerivedSign:
    """A sign read off the diary, with what in the diary shows it, for the practitioner to check."""

    sign: str
    basis: str


@dataclass(frozen=True, slots=True)
class PatternScore:
    """One pattern's total and the signs behind it, each as (sign, weight)."""

    pattern: Pattern
    score: int
    signs: tuple[tuple[str, int], ...]

    @property
    def label(self) -> str:
        return PATTERN_LABELS[self.pattern]


@dataclass(frozen=True, slots=True)
class PatternAssessment:
    """Ranked pattern scores plus the practitioner's decision.

    ``scores`` holds all eleven patterns, highest first (ties keep the order of ``Pattern``).
    ``confirmed_pattern`` is the practitioner's call and wins over the ranking, whatever it scored.
    """

    scores: tuple[PatternScore, ...]
    derived_signs: tuple[DerivedSign, ...] = ()
    confirmed_pattern: Pattern | None = None
    signs: tuple[str, ...] = ()
    tongue: str = ""
    pulse: str = ""
    caveat: str = field(default=SPECIFICITY_CAVEAT)

    @property
    def leading(self) -> tuple[Pattern, ...]:
        """Patterns sharing the top score (empty when nothing scored)."""
        if not self.scores or self.scores[0].score <= 0:
            return ()
        top = self.scores[0].score
        return tuple(s.pattern for s in self.scores if s.score == top)

    @property
    def working_pattern(self) -> Pattern | None:
        """The confirmed pattern, else the single top-ranked one; None when tied or empty."""
        if self.confirmed_pattern is not None:
            return self.confirmed_pattern
        lead = self.leading
        return lead[0] if len(lead) == 1 else None

    def score_of(self, pattern: Pattern) -> PatternScore:
        return next(s for s in self.scores if s.pattern is pattern)


def score_patterns(
    signs: Iterable[str] = (),
    tongue: str = "",
    pulse: str = "",
) -> tuple[PatternScore, ...]:
    """Score all eleven patterns from free-text signs, tongue and pulse; highest first.

    Each indicator counts once per pattern however many of its words appear, so repeating a sign
    does not inflate a score.
    """
    clauses: dict[SignField, list[str]] = {
        SignField.SIGNS: [c for s in signs for c in _clauses(s)],
        SignField.TONGUE: _clauses(tongue),
        SignField.PULSE: _clauses(pulse),
    }
    found: dict[Pattern, list[tuple[str, int]]] = {p: [] for p in Pattern}
    for ind in INDICATORS:
        if not _indicator_present(ind, clauses[ind.field]):
            continue
        for pattern, weight in ind.weights.items():
            found[pattern].append((ind.label, weight))
    order = {p: i for i, p in enumerate(Pattern)}
    scores = [
        PatternScore(p, sum(w for _, w in items), tuple(sorted(items, key=lambda x: -x[1])))
        for p, items in found.items()
    ]
    scores.sort(key=lambda s: (-s.score, order[s.pattern]))
    return tuple(scores)


# ---- signs from the diary -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttackFacts:
    """The few attack fields pattern differentiation reads (so raw documents can feed it too)."""

    locations: tuple[Location, ...] = ()
    quality: tuple[Quality, ...] = ()
    triggers: tuple[str, ...] = ()
    nausea: Nausea | None = None
    vomiting: bool | None = None


# Triggers from the curated diary list (diary.CURATED_TRIGGERS) and the traditional sign each
# suggests. Tradition only: e.g. headache brought on by emotion is read as Liver (CLINICAL.md 7.2,
# liver-yang row: "triggered by emotion/stress").
_TRIGGER_SIGNS: Mapping[str, str] = MappingProxyType(
    {
        "stress": "stress trigger",
        "let-down after stress": "stress trigger",
        "physical exertion": "worse after exertion",
        "weather": "weather-sensitive",
        "skipped meal": "worse when hungry",
        "alcohol": "alcohol trigger",
        "menstruation": "menstruation-linked",
        "poor sleep": "poor sleep",
        "neck strain": "neck tension",
    }
)

# A sign is derived when it shows in at least this share of attacks (and in at least one): one
# stray stress-triggered attack out of twelve should not tilt the ranking.
MIN_ATTACK_SHARE = 1 / 3
# Mean 0-10 diary ratings at or above this count as a recurring complaint.
HIGH_RATING = 6


def _needed(n: int) -> int:
    return max(1, math.ceil(n * MIN_ATTACK_SHARE))


def derive_signs_from_facts(
    attacks: Sequence[AttackFacts],
    days: Sequence[DiaryDay] = (),
) -> tuple[DerivedSign, ...]:
    """Translate diary patterns into the sign vocabulary of ``INDICATORS``.

    Rules (each labelled tradition, not validated):
    * a curated trigger in >= 1/3 of attacks -> its sign (stress -> "stress trigger", ...);
    * temporal + pulsating in >= 1/3 of attacks -> "temporal throbbing" (liver-yang row of 7.2);
    * pulsating in >= 1/3 -> "throbbing"; stabbing in >= 1/3 -> "stabbing pain" (blood-stasis row);
    * nausea (mild or worse) or vomiting in >= 1/3 -> "nausea" (turbid-phlegm row);
    * mean recorded neck tension >= 6/10 -> "neck tension";
    * an attack starting on a day marked menstruating -> "menstruation-linked";
    * mean recorded sleep < 6 h -> "poor sleep".
    """
    derived: dict[str, str] = {}
    n = len(attacks)

    def add(sign: str, basis: str) -> None:
        derived.setdefault(sign, basis)

    if n:
        need = _needed(n)
        trig_counts: Counter[str] = Counter()
        for a in attacks:
            for t in {t.strip().lower() for t in a.triggers}:
                if t in _TRIGGER_SIGNS:
                    trig_counts[_TRIGGER_SIGNS[t]] += 1
        for sign, count in trig_counts.items():
            if count >= need:
                add(sign, f"trigger recorded in {count} of {n} attacks")
        temporal_throb = sum(
            1
            for a in attacks
            if Location.TEMPORAL in a.locations and Quality.PULSATING in a.quality
        )
        if temporal_throb >= need:
            add("temporal throbbing", f"temporal pulsating pain in {temporal_throb} of {n} attacks")
        throb = sum(1 for a in attacks if Quality.PULSATING in a.quality)
        if throb >= need:
            add("throbbing", f"pulsating quality in {throb} of {n} attacks")
        stab = sum(1 for a in attacks if Quality.STABBING in a.quality)
        if stab >= need:
            add("stabbing pain", f"stabbing quality in {stab} of {n} attacks")
        sick = sum(
            1
            for a in attacks
            if (a.nausea is not None and a.nausea is not Nausea.NONE) or a.vomiting
        )
        if sick >= need:
            add("nausea", f"nausea or vomiting in {sick} of {n} attacks")

    neck = [d.neck_tension for d in days if d.neck_tension is not None]
    if neck and sum(neck) / len(neck) >= HIGH_RATING:
        add(
            "neck tension",
            f"mean neck tension {sum(neck) / len(neck):.1f}/10 over {len(neck)} days",
        )
    sleep = [d.sleep_hours for d in days if d.sleep_hours is not None]
    if sleep and sum(sleep) / len(sleep) < 6:
        add("poor sleep", f"mean sleep {sum(sleep) / len(sleep):.1f} h over {len(sleep)} days")
    return tuple(DerivedSign(s, b) for s, b in derived.items())


def derive_signs(diary: Diary) -> tuple[DerivedSign, ...]:
    """Signs from a whole diary: attacks plus daily ratings, and menstruation on attack days."""
    facts = [
        AttackFacts(a.locations, a.quality, a.triggers, a.nausea, a.vomiting) for a in diary.attacks
    ]
    signs = list(derive_signs_from_facts(facts, diary.days))
    menstruating_days = {d.date for d in diary.days if d.menstruating}
    on_period = sum(1 for a in diary.attacks if a.start.date() in menstruating_days)
    if on_period and all(s.sign != "menstruation-linked" for s in signs):
        signs.append(
            DerivedSign(
                "menstruation-linked",
                f"{on_period} of {len(diary.attacks)} attacks began on a menstruation day",
            )
        )
    return tuple(signs)


def assess(
    signs: Iterable[str] = (),
    tongue: str = "",
    pulse: str = "",
    *,
    derived: Sequence[DerivedSign] = (),
    diary: Diary | None = None,
    confirmed_pattern: Pattern | None = None,
) -> PatternAssessment:
    """Score the patterns from the practitioner's findings plus the diary's derived signs.

    Pass ``diary`` to derive signs here, or ``derived`` when they were computed elsewhere.
    """
    recorded = tuple(s for s in signs if s.strip())
    all_derived = tuple(derived) + (derive_signs(diary) if diary is not None else ())
    scores = score_patterns(recorded + tuple(d.sign for d in all_derived), tongue, pulse)
    return PatternAssessment(
        scores=scores,
        derived_signs=all_derived,
        confirmed_pattern=confirmed_pattern,
        signs=recorded,
        tongue=tongue,
        pulse=pulse,
    )


def confirm(assessment: PatternAssessment, pattern: Pattern | None) -> PatternAssessment:
    """Record the practitioner's confirmation or override (None clears it)."""
    return replace(assessment, confirmed_pattern=pattern)
