"""SNNOOP10 screening and the red-flag gate on treatment planning.

Each table row names its ``source``. Source of the list: Do et al., Neurology 2019;92(3):134-144
(CLINICAL.md section 2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from acuhead.domain.diary import (
    Attack,
    AuraSymptom,
    AuraType,
    PatientFacts,
    SafetyProfile,
    Sex,
)
from acuhead.domain.redflags import (
    ALIASES,
    CATALOGUE,
    RedFlagAlert,
    RedFlagFinding,
    ResolutionKind,
    ensure_planning_allowed,
    open_alert,
    resolve,
    screen_attack,
    screen_intake,
)
from acuhead.errors import Conflict, SafetyBlock, ValidationError

SNNOOP10 = "CLINICAL.md 2; Do et al. 2019 SNNOOP10"
UTC = dt.UTC

PATIENT = PatientFacts(birth_date=dt.date(1980, 3, 10), sex=Sex.FEMALE)


def attack(**kw: object) -> Attack:
    start = kw.pop("start", dt.datetime(2024, 5, 1, 9, 0, tzinfo=UTC))
    assert isinstance(start, dt.datetime)
    return Attack(start=start, **kw)  # type: ignore[arg-type]


def codes(findings: list[RedFlagFinding]) -> list[str]:
    return [f.code for f in findings]


# --- catalogue ------------------------------------------------------------------------------


def test_catalogue_has_the_15_items_in_published_order() -> None:
    # CLINICAL.md 0.3 and 2: 15 items, published order and letters.
    assert [f.letter for f in CATALOGUE] == [
        "S", "N", "N", "O", "O",
        "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10",
    ]  # fmt: skip
    assert [f.position for f in CATALOGUE] == list(range(1, 16))
    assert len({f.code for f in CATALOGUE}) == 15
    assert [f.code for f in CATALOGUE][:5] == [
        "S_systemic",
        "N_neoplasm",
        "N_neuro_deficit",
        "O_onset_sudden",
        "O_older_age",
    ]
    assert CATALOGUE[-1].code == "P10_painkiller_or_new_drug"
    for f in CATALOGUE:
        assert f.code.startswith(f.letter + "_")
        assert f.label and f.why


def test_aliases_point_at_catalogue_codes() -> None:
    catalogue_codes = {f.code for f in CATALOGUE}
    assert set(ALIASES.values()) <= catalogue_codes


# --- intake ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeCase:
    id: str
    source: str
    answers: dict[str, bool]
    expected: list[str]
    patient: PatientFacts = PATIENT
    onset: dt.date | None = None


BORN_1950 = PatientFacts(birth_date=dt.date(1950, 6, 15))

INTAKE = [
    IntakeCase("all-no", SNNOOP10, {f.code: False for f in CATALOGUE}, []),
    IntakeCase("nothing-answered", SNNOOP10, {}, []),
    IntakeCase(
        "yes-answers-in-published-order",
        SNNOOP10,
        {"P8_post_traumatic": True, "S_systemic": True, "P2_positional": False},
        ["S_systemic", "P8_post_traumatic"],
    ),
    IntakeCase(
        "alias-and-case",
        "redflags.ALIASES",
        {"Thunderclap": True, "p10_PAINKILLER_or_new_drug": True},
        ["O_onset_sudden", "P10_painkiller_or_new_drug"],
    ),
    IntakeCase(
        "onset-day-before-65th-birthday-not-flagged",
        "CLINICAL.md 0.3 and 2 item 5: older age = onset after 65 years",
        {},
        [],
        BORN_1950,
        dt.date(2015, 6, 14),  # 64 years 11 months
    ),
    IntakeCase(
        "onset-on-65th-birthday-flagged",
        "CLINICAL.md 0.3 and 2 item 5: onset on or after the 65th birthday (issue 12 item 4)",
        {},
        ["O_older_age"],
        BORN_1950,
        dt.date(2015, 6, 15),
    ),
    IntakeCase(
        "onset-at-65y6m-flagged",
        "CLINICAL.md 0.3 and 2 item 5: 65 years 6 months is after 65 (issue 12 item 4)",
        {},
        ["O_older_age"],
        BORN_1950,
        dt.date(2015, 12, 15),
    ),
    IntakeCase(
        "onset-at-66-flagged",
        "CLINICAL.md 0.3: older age = onset after 65",
        {"O_older_age": False},  # derived rule wins over a mistaken "no"
        ["O_older_age"],
        BORN_1950,
        dt.date(2016, 6, 15),
    ),
    IntakeCase(
        "onset-29-february-birthday",
        "CLINICAL.md 2 item 5; a 29 February birth reaches 65 on 28 February",
        {},
        ["O_older_age"],
        PatientFacts(birth_date=dt.date(1948, 2, 29)),
        dt.date(2013, 2, 28),
    ),
    IntakeCase(
        "onset-without-birth-date",
        "unknown age is not derived",
        {},
        [],
        PatientFacts(birth_date=None),
        dt.date(2016, 6, 15),
    ),
    IntakeCase(
        "pregnant",
        "CLINICAL.md 2 item 11 (P6)",
        {},
        ["P6_pregnancy_puerperium"],
        PatientFacts(birth_date=dt.date(1990, 1, 1), safety=SafetyProfile(pregnant=True)),
    ),
]


@pytest.mark.parametrize("case", INTAKE, ids=lambda c: c.id)
def test_screen_intake(case: IntakeCase) -> None:
    findings = screen_intake(case.answers, patient=case.patient, first_headache_onset=case.onset)
    assert codes(findings) == case.expected, case.source


def test_intake_evidence_and_notes() -> None:
    findings = screen_intake(
        {"fever": True},
        patient=BORN_1950,
        first_headache_onset=dt.date(2020, 1, 1),
        notes="  night sweats for two weeks ",
    )
    assert codes(findings) == ["S_systemic", "O_older_age"]
    assert findings[1].evidence == (
        "first headache on 2020-01-01 at 69 years 6 months, on or after the 65th birthday "
        "(SNNOOP10 O, older age)",
    )
    assert all(f.note == "night sweats for two weeks" for f in findings)


@pytest.mark.parametrize(
    ("answers", "onset", "path"),
    [
        pytest.param({"stiff_neck_maybe": True}, None, "answers.stiff_neck_maybe", id="unknown"),
        pytest.param({"S_systemic": "yes"}, None, "answers.S_systemic", id="not-bool"),
        pytest.param({}, dt.date(1979, 1, 1), "first_headache_onset", id="onset-before-birth"),
    ],
)
def test_screen_intake_refuses_bad_input(
    answers: dict[str, object], onset: dt.date | None, path: str
) -> None:
    with pytest.raises(ValidationError) as info:
        screen_intake(answers, patient=PATIENT, first_headache_onset=onset)  # type: ignore[arg-type]
    assert [e.path for e in info.value.errors] == [path]


# --- attacks: warning signs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign", "code"),
    [
        ("thunderclap", "O_onset_sudden"),
        ("fever", "S_systemic"),
        ("new_deficit", "N_neuro_deficit"),
        ("weakness", "N_neuro_deficit"),
        ("after_trauma", "P8_post_traumatic"),
        ("cough_triggered", "P3_precipitated"),
        ("P4_papilledema", "P4_papilledema"),
        ("positional", "P2_positional"),
    ],
)
def test_warning_sign_aliases(sign: str, code: str) -> None:
    # Source: brief + redflags.ALIASES; SNNOOP10 items as in CLINICAL.md 2.
    assert codes(screen_attack(attack(warning_signs=(sign,)), PATIENT)) == [code]


def test_same_item_twice_is_one_finding_with_both_evidence() -> None:
    found = screen_attack(attack(warning_signs=("thunderclap", "O_onset_sudden")), PATIENT)
    assert codes(found) == ["O_onset_sudden"]
    assert len(found[0].evidence) == 2


def test_unknown_warning_sign_is_refused_and_named() -> None:
    with pytest.raises(ValidationError) as info:
        screen_attack(attack(warning_signs=("fever", "bad_vibes")), PATIENT)
    assert [e.path for e in info.value.errors] == ["warning_signs[1]"]
    assert "'bad_vibes'" in info.value.errors[0].message


def test_plain_attack_has_no_findings() -> None:
    assert screen_attack(attack(peak_intensity=7), PATIENT) == []


# --- attacks: aura rules --------------------------------------------------------------------

MAY_2024 = dt.datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def motor() -> AuraSymptom:
    return AuraSymptom(AuraType.MOTOR, "arm weakness", duration_min=120, positive=False)


def typical_no_headache(
    positive: bool | None = True, duration: int | None = 20
) -> tuple[AuraSymptom, ...]:
    return (
        AuraSymptom(
            AuraType.VISUAL,
            "zigzag lines",
            duration_min=duration,
            positive=positive,
            headache_within_60_min=False,
        ),
    )


def born(age_on_may_2024: int) -> PatientFacts:
    return PatientFacts(birth_date=dt.date(2024 - age_on_may_2024, 1, 1))


@dataclass(frozen=True)
class AuraCase:
    id: str
    source: str
    attack: Attack
    patient: PatientFacts
    history: tuple[Attack, ...]
    flagged: bool


EARLIER = MAY_2024 - dt.timedelta(days=200)
LATER = MAY_2024 + dt.timedelta(days=5)

AURA = [
    AuraCase("motor-first", "ICHD-3 1.2.3", attack(aura=(motor(),)), born(30), (), True),
    AuraCase(
        "motor-familiar",
        "ICHD-3 1.2.3",
        attack(aura=(motor(),)),
        born(30),
        (attack(start=EARLIER, aura=(motor(),)),),
        False,
    ),
    AuraCase(
        "motor-only-later-history",
        "ICHD-3 1.2.3; only earlier attacks count",
        attack(aura=(motor(),)),
        born(30),
        (attack(start=LATER, aura=(motor(),)),),
        True,
    ),
    AuraCase(
        "no-headache-first-at-40",
        "ICHD-3 1.2.1.2 note: after age 40",
        attack(aura=typical_no_headache()),
        born(40),
        (),
        False,
    ),
    AuraCase(
        "no-headache-first-at-41",
        "ICHD-3 1.2.1.2 note: after age 40",
        attack(aura=typical_no_headache()),
        born(41),
        (),
        True,
    ),
    AuraCase(
        "no-headache-at-52-but-aura-known",
        "ICHD-3 1.2.1.2 note: *first* appears after 40",
        attack(aura=typical_no_headache()),
        born(52),
        (attack(start=EARLIER, aura=typical_no_headache()),),
        False,
    ),
    AuraCase(
        "with-headache-at-52",
        "ICHD-3 1.2.1.2 applies to aura without headache only",
        attack(
            aura=(
                AuraSymptom(
                    AuraType.VISUAL, positive=True, duration_min=20, headache_within_60_min=True
                ),
            ),
            peak_intensity=6,
        ),
        born(52),
        (),
        False,
    ),
    AuraCase(
        "only-negative-at-30",
        "ICHD-3 1.2.1.2 note: only negative symptoms",
        attack(aura=typical_no_headache(positive=False)),
        born(30),
        (),
        True,
    ),
    AuraCase(
        "polarity-unknown-at-30",
        "unknown polarity is not counted as negative",
        attack(aura=typical_no_headache(positive=None)),
        born(30),
        (),
        False,
    ),
    AuraCase(
        "very-short-at-30",
        "ICHD-3 1.2.1.2 note; 1.2 C3 5-60 min",
        attack(aura=typical_no_headache(duration=3)),
        born(30),
        (),
        True,
    ),
    AuraCase(
        "very-long-at-30",
        "ICHD-3 1.2.1.2 note; 1.2 C3 5-60 min",
        attack(aura=typical_no_headache(duration=61)),
        born(30),
        (),
        True,
    ),
    AuraCase(
        "ordinary-aura-no-headache-at-30",
        "ICHD-3 1.2.1.2: nothing unusual",
        attack(aura=typical_no_headache(duration=60)),
        born(30),
        (),
        False,
    ),
]


@pytest.mark.parametrize("case", AURA, ids=lambda c: c.id)
def test_aura_rules(case: AuraCase) -> None:
    found = screen_attack(case.attack, case.patient, history=case.history)
    assert codes(found) == (["N_neuro_deficit"] if case.flagged else []), case.source


# --- alert lifecycle and the planning gate ----------------------------------------------------

OPENED = dt.datetime(2024, 5, 2, 10, 0, tzinfo=UTC)


def an_alert() -> RedFlagAlert:
    found = screen_attack(attack(warning_signs=("thunderclap",)), PATIENT)
    alert = open_alert(found, at=OPENED)
    assert alert is not None
    return alert


def test_open_alert_blocks_planning_with_reasons() -> None:
    with pytest.raises(SafetyBlock) as info:
        ensure_planning_allowed([an_alert()])
    message = str(info.value)
    assert "needs medical review" in message
    assert "Sudden or abrupt onset (thunderclap)" in message
    assert "warning sign reported with the attack: thunderclap" in message
    assert "diagnos" not in message.lower()


def test_no_alerts_allows_planning() -> None:
    ensure_planning_allowed([])


@pytest.mark.parametrize("kind", ["referral", "clearance", ResolutionKind.CLEARANCE])
def test_resolved_alert_allows_planning(kind: str) -> None:
    closed = resolve(
        an_alert(),
        kind=kind,
        by="dr.lee",
        at=OPENED + dt.timedelta(hours=2),
        reason="GP saw the patient; imaging normal",
    )
    assert not closed.is_open
    assert closed.resolution is not None
    assert closed.resolution.kind == ResolutionKind(kind)
    ensure_planning_allowed([closed])


def test_one_open_alert_among_resolved_still_blocks() -> None:
    closed = resolve(
        an_alert(), kind="referral", by="u1", at=OPENED, reason="referred to GP same day"
    )
    still_open = open_alert(screen_attack(attack(warning_signs=("fever",)), PATIENT), at=OPENED)
    assert still_open is not None
    with pytest.raises(SafetyBlock) as info:
        ensure_planning_allowed([closed, still_open])
    assert "Systemic symptoms" in str(info.value)
    assert "thunderclap" not in str(info.value)


@pytest.mark.parametrize(
    ("kind", "by", "at", "reason", "path"),
    [
        pytest.param("clearance", "u1", OPENED, "", "reason", id="clearance-no-reason"),
        pytest.param("clearance", "u1", OPENED, "   ", "reason", id="clearance-blank-reason"),
        pytest.param("referral", "u1", OPENED, "", "reason", id="referral-no-reason"),
        pytest.param("ignore", "u1", OPENED, "fine", "kind", id="bad-kind"),
        pytest.param("clearance", " ", OPENED, "fine", "by", id="no-user"),
        pytest.param(
            "clearance", "u1", OPENED - dt.timedelta(minutes=1), "fine", "at", id="before-open"
        ),
        pytest.param("clearance", "u1", dt.datetime(2024, 5, 3), "fine", "at", id="naive-time"),
    ],
)
def test_resolve_refuses(kind: str, by: str, at: dt.datetime, reason: str, path: str) -> None:
    alert = an_alert()
    with pytest.raises(ValidationError) as info:
        resolve(alert, kind=kind, by=by, at=at, reason=reason)
    assert path in [e.path for e in info.value.errors]
    with pytest.raises(SafetyBlock):
        ensure_planning_allowed([alert])


def test_resolve_twice_is_a_conflict() -> None:
    closed = resolve(an_alert(), kind="clearance", by="u1", at=OPENED, reason="old, known")
    with pytest.raises(Conflict) as info:
        resolve(closed, kind="referral", by="u2", at=OPENED, reason="changed my mind")
    assert not isinstance(info.value, SafetyBlock)


def test_alert_needs_findings() -> None:
    assert open_alert([], at=OPENED) is None
    with pytest.raises(ValidationError):
        RedFlagAlert((), OPENED)


def test_finding_code_must_be_in_catalogue() -> None:
    with pytest.raises(ValidationError):
        RedFlagFinding("X_unknown", ("typed by hand",))
