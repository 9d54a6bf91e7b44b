"""Red flags for secondary headache (SNNOOP10) and the alert that gates treatment planning.

Why this module exists: acupuncture treats primary headache. A headache with a warning feature
may have another cause, and the practitioner must not plan needling until a doctor has reviewed
the patient or the practitioner has recorded why the flag does not apply. acuhead therefore
screens intake answers and diary attacks against the SNNOOP10 list and keeps an alert open until
someone records a referral or a clearance with a reason.

Source for the list: Do TP, Remmers A, Schytz HW, et al. *Red and orange flags for secondary
headaches in clinical practice: SNNOOP10 list.* Neurology 2019;92(3):134-144,
doi 10.1212/WNL.0000000000006697 (CLINICAL.md section 2). The paper's split of items into "red"
and "orange" is not yet checked against the text (CLINICAL.md marks it [R]), so every item here
is treated alike: any finding asks for medical review.

The product screens; it never diagnoses. Labels and review texts below are written in our own
words and say *why a doctor should look*, never what the cause is.

Everything here is pure: no clock, no I/O. Callers pass times and earlier attacks in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from acuhead.domain.diary import Attack, AuraType, PatientFacts
from acuhead.errors import Conflict, FieldError, SafetyBlock, ValidationError

# CLINICAL.md 0.3 and 2, item 5: "older age" means a new headache starting *after* 65 years,
# i.e. after 65 years of life have passed: an onset on or after the 65th birthday counts
# (a first headache at 65 years 6 months is flagged). Issue 12 item 4 fixed the earlier reading
# "completed years above 65", which let a whole year of new headaches through.
OLDER_AGE_ONSET_AFTER_YEARS = 65

# ICHD-3 1.2.1.2 note: typical aura without headache that first appears after age 40 needs
# other causes excluded. Same reading as above: completed years above 40.
AURA_WITHOUT_HEADACHE_AFTER_YEARS = 40

# ICHD-3 1.2 C3: each aura symptom lasts 5-60 min. The 1.2.1.2 note names "very long or very
# short" aura without headache as a reason for review; we take outside 5-60 min as that.
AURA_SHORTEST_TYPICAL_MIN = 5
AURA_LONGEST_TYPICAL_MIN = 60


@dataclass(frozen=True, slots=True)
class RedFlag:
    """One SNNOOP10 item: its place in the published list, mnemonic letter and our wording."""

    position: int  # 1-15, published order (Do et al. 2019)
    code: str  # stable key stored with findings and alerts
    letter: str  # mnemonic letter as printed: "S", "N", "O", "P1" ... "P10"
    label: str
    why: str  # why it needs medical review, in plain words


# The 15 items in the order Do et al. 2019 print them (CLINICAL.md section 2, items 1-15).
CATALOGUE: tuple[RedFlag, ...] = (
    RedFlag(
        1,
        "S_systemic",
        "S",
        "Systemic symptoms, fever included",
        "Fever, weight loss or feeling generally unwell alongside headache are not features of "
        "primary headache; a doctor should assess the patient before headache care is planned.",
    ),
    RedFlag(
        2,
        "N_neoplasm",
        "N",
        "Past or present cancer (neoplasm in history)",
        "A new or changed headache in someone with a cancer history has to be assessed by a "
        "doctor before it is assumed to be a primary headache.",
    ),
    RedFlag(
        3,
        "N_neuro_deficit",
        "N",
        "Neurological deficit or dysfunction, reduced consciousness included",
        "New weakness, numbness, speech, vision or balance problems, confusion or drowsiness "
        "that are not a familiar, fully reversible aura need prompt medical assessment.",
    ),
    RedFlag(
        4,
        "O_onset_sudden",
        "O",
        "Sudden or abrupt onset (thunderclap)",
        "A headache that reaches full strength within about a minute needs urgent medical "
        "assessment; acupuncture is not the first step.",
    ),
    RedFlag(
        5,
        "O_older_age",
        "O",
        "Older age: headache that first began after 65",
        "A first headache after 65 is less often a primary headache and needs a doctor's "
        "assessment first.",
    ),
    RedFlag(
        6,
        "P1_pattern_change",
        "P1",
        "Change in the usual headache pattern, or a recently started new headache",
        "A headache that is new, or has changed its character, frequency or severity, has not "
        "yet been shown to be a primary headache.",
    ),
    RedFlag(
        7,
        "P2_positional",
        "P2",
        "Positional headache",
        "A headache that is clearly worse on standing up or on lying down is unusual for "
        "primary headache and needs medical assessment.",
    ),
    RedFlag(
        8,
        "P3_precipitated",
        "P3",
        "Brought on by sneezing, coughing or exercise",
        "A headache set off by coughing, sneezing, straining or exertion needs medical "
        "assessment before it is treated as a primary headache.",
    ),
    RedFlag(
        9,
        "P4_papilledema",
        "P4",
        "Papilledema (swollen optic disc)",
        "A swollen optic disc found on eye examination needs urgent medical assessment.",
    ),
    RedFlag(
        10,
        "P5_progressive_atypical",
        "P5",
        "Progressive headache or an atypical presentation",
        "A headache that keeps getting worse over weeks, or does not fit a recognised primary "
        "headache pattern, needs a doctor's review.",
    ),
    RedFlag(
        11,
        "P6_pregnancy_puerperium",
        "P6",
        "Pregnancy or puerperium (the weeks after giving birth)",
        "Headache in pregnancy or soon after birth, especially a new or different one, needs "
        "medical assessment; several points also need caution in pregnancy.",  # CLINICAL.md 7.3
    ),
    RedFlag(
        12,
        "P7_painful_eye_autonomic",
        "P7",
        "Painful eye with autonomic features",
        "A painful eye with redness, tearing, a drooping lid or a pupil change needs an eye or "
        "medical assessment.",
    ),
    RedFlag(
        13,
        "P8_post_traumatic",
        "P8",
        "Headache that began after a head or neck injury",
        "A headache that started after trauma needs medical assessment, even when the injury "
        "seemed minor.",
    ),
    RedFlag(
        14,
        "P9_immune_pathology",
        "P9",
        "Immune system disease or suppression (for example HIV, immunosuppressant drugs)",
        "Weakened immunity widens what a doctor has to consider as the cause of a headache.",
    ),
    RedFlag(
        15,
        "P10_painkiller_or_new_drug",
        "P10",
        "Painkiller overuse, or a new drug started when the headache began",
        "Frequent acute medication can itself keep headache going (ICHD-3 8.2) and a new drug "
        "can cause headache; the prescriber should review the medication.",
    ),
)

_BY_CODE: dict[str, RedFlag] = {f.code: f for f in CATALOGUE}

# Friendly names a diary form or intake form may use for a catalogue item. Keys are compared
# case-insensitively; each maps to a catalogue code.
ALIASES: Mapping[str, str] = {
    "fever": "S_systemic",
    "systemic": "S_systemic",
    "weight_loss": "S_systemic",
    "cancer_history": "N_neoplasm",
    "neoplasm": "N_neoplasm",
    "new_deficit": "N_neuro_deficit",
    "weakness": "N_neuro_deficit",
    "confusion": "N_neuro_deficit",
    "decreased_consciousness": "N_neuro_deficit",
    "thunderclap": "O_onset_sudden",
    "sudden_onset": "O_onset_sudden",
    "new_after_65": "O_older_age",
    "pattern_change": "P1_pattern_change",
    "new_headache": "P1_pattern_change",
    "positional": "P2_positional",
    "worse_lying_down": "P2_positional",
    "worse_standing": "P2_positional",
    "cough_triggered": "P3_precipitated",
    "sneeze_triggered": "P3_precipitated",
    "exertion_triggered": "P3_precipitated",
    "papilledema": "P4_papilledema",
    "papilloedema": "P4_papilledema",
    "progressive": "P5_progressive_atypical",
    "atypical": "P5_progressive_atypical",
    "pregnancy": "P6_pregnancy_puerperium",
    "pregnant": "P6_pregnancy_puerperium",
    "postpartum": "P6_pregnancy_puerperium",
    "puerperium": "P6_pregnancy_puerperium",
    "painful_eye": "P7_painful_eye_autonomic",
    "painful_red_eye": "P7_painful_eye_autonomic",
    "after_trauma": "P8_post_traumatic",
    "head_injury": "P8_post_traumatic",
    "immunosuppressed": "P9_immune_pathology",
    "hiv": "P9_immune_pathology",
    "painkiller_overuse": "P10_painkiller_or_new_drug",
    "new_drug": "P10_painkiller_or_new_drug",
    "new_medication": "P10_painkiller_or_new_drug",
}

_LOOKUP: dict[str, str] = {
    **{code.lower(): code for code in _BY_CODE},
    **{alias.lower(): code for alias, code in ALIASES.items()},
}


def flag(code: str) -> RedFlag:
    """The catalogue entry for a code (exact code, not an alias); KeyError if unknown."""
    return _BY_CODE[code]


def normalise_code(name: str) -> str | None:
    """Map a catalogue code or a friendly alias (any case) to the catalogue code, else None."""
    return _LOOKUP.get(name.strip().lower())


@dataclass(frozen=True, slots=True)
class RedFlagFinding:
    """One SNNOOP10 item that applies, with what led to it.

    ``evidence`` holds short human-readable reasons (an intake answer, a diary warning sign, a
    derived rule with its source). ``note`` carries the free text the screener typed, if any.
    """

    code: str
    evidence: tuple[str, ...]
    note: str = ""

    def __post_init__(self) -> None:
        if self.code not in _BY_CODE:
            raise ValidationError(FieldError("code", f"unknown red-flag code {self.code!r}"))

    @property
    def flag(self) -> RedFlag:
        return _BY_CODE[self.code]


class _Collector:
    """Gathers evidence per catalogue code so each item appears once, in published order."""

    def __init__(self) -> None:
        self._evidence: dict[str, list[str]] = {}

    def add(self, code: str, evidence: str) -> None:
        items = self._evidence.setdefault(code, [])
        if evidence not in items:
            items.append(evidence)

    def findings(self, note: str = "") -> list[RedFlagFinding]:
        ordered = sorted(self._evidence, key=lambda c: _BY_CODE[c].position)
        return [RedFlagFinding(c, tuple(self._evidence[c]), note) for c in ordered]


def birthday(birth_date: dt.date, years: int) -> dt.date:
    """The date ``years`` after ``birth_date``; 29 February falls back to 28 February (the
    earlier date, so an age rule is met no later than on the true anniversary)."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return dt.date(birth_date.year + years, 2, 28)


def older_age_onset(birth_date: dt.date, onset: dt.date) -> str | None:
    """Evidence for SNNOOP10 O (older age) when ``onset`` is on or after the 65th birthday
    (CLINICAL.md 0.3 and 2 item 5: onset after 65 years), else None. Age in years and months
    so that 65 years 6 months reads as such."""
    if onset < birthday(birth_date, OLDER_AGE_ONSET_AFTER_YEARS):
        return None
    months = (onset.year - birth_date.year) * 12 + onset.month - birth_date.month
    if onset.day < birth_date.day:
        months -= 1
    return (
        f"first headache on {onset.isoformat()} at {months // 12} years {months % 12} months, "
        f"on or after the {OLDER_AGE_ONSET_AFTER_YEARS}th birthday (SNNOOP10 O, older age)"
        # CLINICAL.md 2 item 5
    )


def screen_intake(
    answers: Mapping[str, bool],
    *,
    patient: PatientFacts,
    first_headache_onset: dt.date | None,
    notes: str = "",
) -> list[RedFlagFinding]:
    """Screen the intake questionnaire: 15 yes/no items plus rules acuhead can derive itself.

    ``answers`` is keyed by catalogue code or alias; a missing key means "not asked" and raises
    no flag (unknown is not the same as no, but it is not a yes either: the form should ask all
    15). Derived items, flagged even when the matching answer is missing or "no":

    * O (older age): the first headache began on or after the 65th birthday, from
      ``first_headache_onset`` and the birth date (CLINICAL.md 0.3 and 2 item 5).
    * P6 (pregnancy or puerperium): ``patient.safety.pregnant`` (CLINICAL.md 2 item 11).

    Raises ValidationError naming each unknown key or non-yes/no value, and an onset date before
    the birth date. Returns one finding per item that applies, in published order.
    """
    errors: list[FieldError] = []
    found = _Collector()
    for key, value in answers.items():
        path = f"answers.{key}"
        code = normalise_code(key) if isinstance(key, str) else None
        if code is None:
            errors.append(FieldError(path, f"unknown red-flag question {key!r}"))
            continue
        if not isinstance(value, bool):
            errors.append(
                FieldError(path, f"answer must be yes (true) or no (false); got {value!r}")
            )
            continue
        if value:
            found.add(code, f"intake answer {_BY_CODE[code].letter}: yes")

    if first_headache_onset is not None and patient.birth_date is not None:
        if first_headache_onset < patient.birth_date:
            errors.append(
                FieldError("first_headache_onset", "the first headache cannot be before birth")
            )
        else:
            older = older_age_onset(patient.birth_date, first_headache_onset)
            if older is not None:
                found.add("O_older_age", older)
    if errors:
        raise ValidationError(errors)

    if patient.safety.pregnant:
        found.add("P6_pregnancy_puerperium", "patient is recorded as pregnant")
    return found.findings(notes.strip())


def screen_attack(
    attack: Attack,
    patient: PatientFacts,
    *,
    history: Sequence[Attack] = (),
) -> list[RedFlagFinding]:
    """Screen one diary attack: the warning signs the patient ticked, plus aura rules.

    ``attack.warning_signs`` holds catalogue codes or aliases (e.g. "thunderclap" -> O onset
    sudden, "fever" -> S systemic); an unknown code raises ValidationError with the path
    ``warning_signs[i]`` so a form bug is found rather than a warning silently dropped.

    Derived from the aura, both filed under N (neurological dysfunction) because the point is
    that a doctor must look at the neurological symptom:

    * a motor aura symptom when no earlier attack in ``history`` had one: motor aura belongs to
      hemiplegic migraine (ICHD-3 1.2.3), whose diagnosis requires other causes to be excluded,
      so a first weakness is never assumed to be aura;
    * typical aura (visual/sensory/speech only, ICHD-3 1.2.1) with no headache within 60 min,
      when the ICHD-3 1.2.1.2 note asks for other causes to be excluded: the aura first appears
      after age 40, its symptoms are only negative, or it is very short or very long
      (outside 5-60 min, ICHD-3 1.2 C3).

    ``history`` is the patient's other attacks; only those starting before ``attack`` count.
    Without it acuhead cannot know an aura is familiar and flags it: the safer default.
    Pregnancy is screened at intake (``screen_intake``), not on every attack.
    """
    errors: list[FieldError] = []
    found = _Collector()
    for i, sign in enumerate(attack.warning_signs):
        code = normalise_code(sign) if isinstance(sign, str) else None
        if code is None:
            errors.append(
                FieldError(
                    f"warning_signs[{i}]",
                    f"unknown warning sign {sign!r}; use a SNNOOP10 code such as "
                    "'O_onset_sudden' or an alias such as 'thunderclap'",
                )
            )
            continue
        found.add(code, f"warning sign reported with the attack: {sign}")
    if errors:
        raise ValidationError(errors)

    earlier = [a for a in history if a.start < attack.start]
    _screen_motor_aura(attack, earlier, found)
    _screen_aura_without_headache(attack, patient, earlier, found)
    return found.findings()


def _screen_motor_aura(attack: Attack, earlier: Sequence[Attack], found: _Collector) -> None:
    """ICHD-3 1.2.3: motor aura needs other causes excluded; flag the first one on record."""
    if not any(s.type is AuraType.MOTOR for s in attack.aura):
        return
    if any(s.type is AuraType.MOTOR for a in earlier for s in a.aura):
        return
    found.add(
        "N_neuro_deficit",
        "motor aura (weakness) with no earlier motor aura on record (ICHD-3 1.2.3)",
    )


_TYPICAL_AURA = frozenset({AuraType.VISUAL, AuraType.SENSORY, AuraType.SPEECH})


def _screen_aura_without_headache(
    attack: Attack, patient: PatientFacts, earlier: Sequence[Attack], found: _Collector
) -> None:
    """ICHD-3 1.2.1.2 note: typical aura without headache with features that need review."""
    aura = attack.aura
    if not aura or any(s.type not in _TYPICAL_AURA for s in aura):
        return
    no_headache = attack.peak == 0 or all(s.headache_within_60_min is False for s in aura)
    if not no_headache:
        return
    reasons: list[str] = []
    age = patient.age_on(attack.start.date())
    first_aura = not any(a.aura for a in earlier)
    if first_aura and age is not None and age > AURA_WITHOUT_HEADACHE_AFTER_YEARS:
        reasons.append(
            f"first aura on record at age {age}, after {AURA_WITHOUT_HEADACHE_AFTER_YEARS}"
        )
    # Only negative: every symptom recorded as negative (loss of vision or feeling). An unknown
    # polarity is not counted as negative.
    if all(s.positive is False for s in aura):
        reasons.append("only negative aura symptoms")
    durations = [s.duration_min for s in aura if s.duration_min is not None]
    if any(d < AURA_SHORTEST_TYPICAL_MIN or d > AURA_LONGEST_TYPICAL_MIN for d in durations):
        reasons.append(
            f"an aura symptom lasting under {AURA_SHORTEST_TYPICAL_MIN} or over "
            f"{AURA_LONGEST_TYPICAL_MIN} min"
        )
    for reason in reasons:
        found.add("N_neuro_deficit", f"aura without headache: {reason} (ICHD-3 1.2.1.2 note)")


# --- alert lifecycle -------------------------------------------------------------------------


class ResolutionKind(StrEnum):
    """How an alert is closed: the patient was referred, or the flag was reviewed and cleared."""

    REFERRAL = "referral"
    CLEARANCE = "clearance"


@dataclass(frozen=True, slots=True)
class Resolution:
    """Who closed an alert, when, how and why. A reason is always required (audit trail)."""

    kind: ResolutionKind
    by: str  # user id or name
    at: dt.datetime
    reason: str

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        try:
            object.__setattr__(self, "kind", ResolutionKind(self.kind))
        except ValueError:
            errors.append(
                FieldError("kind", f"must be 'referral' or 'clearance'; got {self.kind!r}")
            )
        if not isinstance(self.by, str) or not self.by.strip():
            errors.append(FieldError("by", "say who resolved the alert"))
        if not isinstance(self.reason, str) or not self.reason.strip():
            errors.append(FieldError("reason", "a reason is required to resolve a red-flag alert"))
        if errors:
            raise ValidationError(errors)


@dataclass(frozen=True, slots=True)
class RedFlagAlert:
    """Findings raised together, open until resolved. Has no id: the store adds identity."""

    findings: tuple[RedFlagFinding, ...]
    opened_at: dt.datetime
    resolution: Resolution | None = None

    def __post_init__(self) -> None:
        if not self.findings:
            raise ValidationError(FieldError("findings", "an alert needs at least one finding"))
        if self.resolution is not None:
            _check_not_before(self.resolution.at, self.opened_at)

    @property
    def is_open(self) -> bool:
        return self.resolution is None


def open_alert(findings: Iterable[RedFlagFinding], *, at: dt.datetime) -> RedFlagAlert | None:
    """An open alert for these findings, or None when there is nothing to review."""
    found = tuple(findings)
    return RedFlagAlert(found, at) if found else None


def _check_not_before(at: dt.datetime, opened_at: dt.datetime) -> None:
    if (at.tzinfo is None) != (opened_at.tzinfo is None):
        raise ValidationError(
            FieldError("at", "give the time with a time zone, like the alert's opening time")
            if at.tzinfo is None
            else FieldError("at", "give the time without a time zone, like the alert's opening")
        )
    if at < opened_at:
        raise ValidationError(
            FieldError(
                "at",
                f"an alert cannot be resolved ({at.isoformat()}) before it was opened "
                f"({opened_at.isoformat()})",
            )
        )


def resolve(
    alert: RedFlagAlert,
    *,
    kind: ResolutionKind | str,
    by: str,
    at: dt.datetime,
    reason: str,
) -> RedFlagAlert:
    """Close an alert by referral or clearance; returns a new alert value.

    Both kinds unblock planning: a referral means a doctor will see the patient, a clearance
    means the practitioner reviewed the flag and recorded why it does not stop care. Either way
    the reason is kept for the audit trail, so an empty reason is refused. Resolving an alert
    twice raises Conflict rather than overwriting the first decision.
    """
    if alert.resolution is not None:
        raise Conflict("this red-flag alert is already resolved; open a new alert instead")
    try:
        resolved_kind = ResolutionKind(kind)
    except ValueError:
        raise ValidationError(
            FieldError("kind", f"must be 'referral' or 'clearance'; got {kind!r}")
        ) from None
    resolution = Resolution(resolved_kind, by, at, reason.strip())
    _check_not_before(resolution.at, alert.opened_at)
    return RedFlagAlert(alert.findings, alert.opened_at, resolution)


def open_alerts(alerts: Iterable[RedFlagAlert]) -> list[RedFlagAlert]:
    return [a for a in alerts if a.is_open]


def ensure_planning_allowed(alerts: Iterable[RedFlagAlert]) -> None:
    """Refuse treatment planning while any red-flag alert is open (CLINICAL.md 2).

    The SafetyBlock message says the patient needs medical review and lists each open item with
    its reason and evidence. It names warning features, never a cause or diagnosis.
    """
    still_open = open_alerts(alerts)
    if not still_open:
        return
    lines = [
        "This patient needs medical review before treatment is planned. Open red flags "
        "(SNNOOP10, Do et al. 2019):"
    ]
    seen: set[str] = set()
    for alert in still_open:
        for finding in alert.findings:
            f = finding.flag
            evidence = "; ".join(finding.evidence)
            line = f"- {f.letter}: {f.label}. {f.why} ({evidence})"
            if line not in seen:
                seen.add(line)
                lines.append(line)
    lines.append("Record a referral or a clearance with a reason to continue.")
    raise SafetyBlock("\n".join(lines))
