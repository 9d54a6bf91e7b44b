"""The safety gate (domain/readiness.py): one rule decides "ready to plan".

Each table row names its source: CLINICAL.md section 2 (SNNOOP10, Do et al., Neurology 2019),
CLINICAL.md 1 "8.2" (ICHD-3 medication-overuse headache), or a product choice named in the code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from acuhead.domain.diagnosis import Diagnosis, diagnose
from acuhead.domain.diary import (
    Attack,
    Diary,
    DiaryDay,
    IntensityReading,
    MedClass,
    MedicationDose,
    PatientFacts,
    SafetyProfile,
)
from acuhead.domain.readiness import (
    SCREEN_NEEDED,
    IntakeScreen,
    KnownAlert,
    ScreenStatus,
    add_months,
    decide,
    progressive_evidence,
    record_flags,
    screen_state,
    thunderclap_evidence,
)
from acuhead.domain.redflags import RedFlagFinding, open_alert, resolve

TODAY = dt.date(2026, 12, 6)
ADULT = PatientFacts(birth_date=dt.date(1985, 4, 2))
BORN_1954 = PatientFacts(birth_date=dt.date(1954, 3, 1))  # 72 on TODAY
UNKNOWN_AGE = PatientFacts(birth_date=None)
PREGNANT = PatientFacts(birth_date=dt.date(1992, 5, 5), safety=SafetyProfile(pregnant=True))
PUERPERIUM = PatientFacts(birth_date=dt.date(1992, 5, 5), safety=SafetyProfile(puerperium=True))
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def screened(days_ago: int, onset: dt.date | None = dt.date(2010, 1, 1)) -> IntakeScreen:
    return IntakeScreen(TODAY - dt.timedelta(days=days_ago), onset)


# --- screen status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenCase:
    id: str
    source: str
    screen: IntakeScreen | None
    patient: PatientFacts
    expected: ScreenStatus
    valid_months: int = 12


SCREENS = [
    ScreenCase(
        "no-screen", "CLINICAL.md 2: no screen is not no red flags", None, ADULT,
        ScreenStatus.MISSING,
    ),
    ScreenCase(
        "no-screen-72-years", "CLINICAL.md 2 (issue 12 item 3)", None, BORN_1954,
        ScreenStatus.MISSING,
    ),
    ScreenCase("screen-today", "CLINICAL.md 2", screened(0), ADULT, ScreenStatus.CURRENT),
    ScreenCase(
        "screen-11-months", "validity 12 months (product choice)",
        IntakeScreen(dt.date(2026, 1, 7)), ADULT, ScreenStatus.CURRENT,
    ),
    ScreenCase(
        "screen-exactly-12-months", "validity 12 months (product choice)",
        IntakeScreen(dt.date(2025, 12, 6)), ADULT, ScreenStatus.EXPIRED,
    ),
    ScreenCase(
        "configurable-validity", "ACUHEAD_SCREEN_VALID_MONTHS",
        IntakeScreen(dt.date(2026, 9, 1)), ADULT, ScreenStatus.EXPIRED, 3,
    ),
    ScreenCase(
        "screen-without-every-item", "CLINICAL.md 2: the screen is 15 yes/no items",
        IntakeScreen(TODAY, dt.date(2010, 1, 1), frozenset({"S_systemic", "O_onset_sudden"})),
        ADULT, ScreenStatus.INCOMPLETE,
    ),
    ScreenCase(
        "over-65-onset-unknown", "CLINICAL.md 2 item 5: onset after 65 cannot be checked",
        screened(10, onset=None), BORN_1954, ScreenStatus.ONSET_NEEDED,
    ),
    ScreenCase(
        "on-65th-birthday-onset-unknown", "CLINICAL.md 2 item 5",
        screened(10, onset=None), PatientFacts(birth_date=dt.date(1961, 12, 6)),
        ScreenStatus.ONSET_NEEDED,
    ),
    ScreenCase(
        "64-onset-unknown", "CLINICAL.md 2 item 5: under 65 the rule cannot apply",
        screened(10, onset=None), PatientFacts(birth_date=dt.date(1961, 12, 7)),
        ScreenStatus.CURRENT,
    ),
    ScreenCase(
        "over-65-onset-known", "CLINICAL.md 2 item 5", screened(10), BORN_1954,
        ScreenStatus.CURRENT,
    ),
    ScreenCase(
        "birth-date-unknown-onset-unknown",
        "CLINICAL.md 2 item 5: an unknown age is not 'under 65'",
        screened(10, onset=None), UNKNOWN_AGE, ScreenStatus.BIRTH_DATE_NEEDED,
    ),
    ScreenCase(
        "birth-date-unknown-onset-known",
        "CLINICAL.md 2 item 5: onset after 65 needs the birth date as well as the onset",
        screened(10), UNKNOWN_AGE, ScreenStatus.BIRTH_DATE_NEEDED,
    ),
    ScreenCase(
        "birth-date-unknown-no-screen", "CLINICAL.md 2: no screen at all is missing first",
        None, UNKNOWN_AGE, ScreenStatus.MISSING,
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", SCREENS, ids=lambda c: c.id)
def test_screen_state(case: ScreenCase) -> None:
    state = screen_state(
        case.screen, patient=case.patient, today=TODAY, valid_months=case.valid_months
    )
    assert state.status is case.expected, case.source


def test_onset_needed_says_so() -> None:
    state = screen_state(screened(3, onset=None), patient=BORN_1954, today=TODAY)
    assert state.reason.startswith("screen needed: onset date")


def test_birth_date_needed_says_why() -> None:
    """CLINICAL.md 2 item 5: without a birth date "onset after 65" cannot be checked."""
    state = screen_state(screened(3), patient=UNKNOWN_AGE, today=TODAY)
    assert state.reason.startswith("screen needed: birth date")
    assert "SNNOOP10 O (onset after 65)" in state.reason
    assert "CLINICAL.md" not in state.reason  # shown on pages: names no file outside the app


def test_birth_date_unknown_blocks_planning() -> None:
    """CLINICAL.md 2 item 5: a complete, current screen is not enough without a birth date."""
    result = decide(today=TODAY, patient=UNKNOWN_AGE, screen=screened(3), alerts=[], derived=[])
    assert not result.ready
    assert [b.code for b in result.blocking] == [SCREEN_NEEDED]
    assert "birth date" in result.message()


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2026, 12, 6), -12) == dt.date(2025, 12, 6)


# --- flags the record shows ------------------------------------------------------------------


def _attack(start: dt.datetime, *readings: tuple[int, int], **kw: object) -> Attack:
    return Attack(
        start=start,
        end=start + dt.timedelta(hours=5),
        readings=tuple(IntensityReading(start + dt.timedelta(seconds=s), i) for s, i in readings),
        **kw,  # type: ignore[arg-type]
    )


T0 = dt.datetime(2026, 11, 2, 14, 0)


@dataclass(frozen=True)
class ThunderCase:
    id: str
    source: str
    readings: tuple[tuple[int, int], ...]  # (seconds after start, intensity)
    flagged: bool


THUNDER = [
    ThunderCase("10-at-30s", "CLINICAL.md 2 item 4: peak within a minute", ((30, 10),), True),
    ThunderCase("9-at-60s", "CLINICAL.md 2 item 4: 9-10 within one minute", ((60, 9),), True),
    ThunderCase("9-at-start", "CLINICAL.md 2 item 4", ((0, 9),), True),
    ThunderCase("9-at-61s", "CLINICAL.md 2 item 4: later than a minute", ((61, 9),), False),
    ThunderCase("8-at-10s", "CLINICAL.md 2 item 4: peak 9 or 10", ((10, 8),), False),
    ThunderCase("gradual-to-10", "CLINICAL.md 2 item 4", ((60, 4), (1800, 7), (3600, 10)), False),
    ThunderCase("no-readings", "no intensity readings: nothing to derive", (), False),
]


@pytest.mark.parametrize("case", THUNDER, ids=lambda c: c.id)
def test_thunderclap_from_readings(case: ThunderCase) -> None:
    found = thunderclap_evidence([_attack(T0, *case.readings)])
    assert bool(found) is case.flagged, case.source


def test_thunderclap_is_found_whatever_clock_the_times_were_written_on() -> None:
    """A start written as the patient's wall-clock time and a reading written with its UTC
    offset are the same minute (CLINICAL.md 2 item 4); the rule must not skip the pair."""
    berlin = PatientFacts(birth_date=dt.date(1985, 4, 2), timezone="Europe/Berlin")
    start = dt.datetime(2026, 11, 2, 14, 0)  # naive: 14:00 on the patient's clock (UTC+1)
    reading = IntensityReading(dt.datetime(2026, 11, 2, 13, 0, 40, tzinfo=dt.UTC), 10)
    attack = Attack(start=start, end=start + dt.timedelta(hours=5), readings=(reading,))
    diary = Diary(patient=berlin, days=(), attacks=(attack,))
    found = record_flags(patient=berlin, diary=diary, diagnoses=[], screen=None, today=TODAY)
    assert [f.code for f in found] == ["O_onset_sudden"]


def _days(counts: list[int], end: dt.date, recorded: int = 28) -> tuple[set[dt.date], set[dt.date]]:
    """Windows of 28 days ending on ``end`` (oldest first) with ``counts`` headache days each;
    every day is recorded unless ``recorded`` is smaller."""
    headache: set[dt.date] = set()
    diary_days: set[dt.date] = set()
    n = len(counts)
    for w, count in enumerate(counts):
        first = end - dt.timedelta(days=28 * (n - w) - 1)
        for k in range(28):
            d = first + dt.timedelta(days=k)
            if k < recorded:
                diary_days.add(d)
            if k < count:
                headache.add(d)
    return headache, diary_days


@dataclass(frozen=True)
class ProgressiveCase:
    id: str
    source: str
    counts: list[int]
    flagged: bool
    recorded: int = 28


PROGRESSIVE = [
    ProgressiveCase("3-rising-doubling", "CLINICAL.md 2 item 10 (P5)", [4, 6, 8], True),
    ProgressiveCase("4-rising-tripling", "CLINICAL.md 2 item 10 (P5)", [2, 3, 4, 6], True),
    ProgressiveCase(
        "3-rising-not-double", "P5 rule: at least double the first window", [4, 5, 7], False
    ),
    ProgressiveCase("2-windows-only", "P5 rule: at least 3 windows", [3, 9], False),
    ProgressiveCase("flat", "P5 rule", [8, 8, 8, 8], False),
    ProgressiveCase("rise-then-fall", "P5 rule: consecutive rise", [4, 9, 6, 12], False),
    ProgressiveCase("from-zero", "P5 rule: a first window without headache", [0, 3, 6], False),
    ProgressiveCase(
        "rise-then-plateau",
        "P5 rule: progressive now, the run reaches the latest window",
        [2, 4, 6, 5, 5],
        False,
    ),
    ProgressiveCase("flat-then-rise", "P5 rule: 3 windows up to the latest", [5, 5, 3, 4, 7], True),
    ProgressiveCase(
        "too-few-recorded-days",
        "P5 rule: a window recorded on < 14 of 28 days shows no rise",
        [1, 2, 4],
        False,
        13,
    ),
]


@pytest.mark.parametrize("case", PROGRESSIVE, ids=lambda c: c.id)
def test_progressive_pattern(case: ProgressiveCase) -> None:
    headache, recorded = _days(case.counts, TODAY, case.recorded)
    found = progressive_evidence(headache, recorded, end=TODAY)
    assert (found is not None) is case.flagged, case.source


def test_progressive_counts_recorded_days_only() -> None:
    # CLINICAL.md 0.4: a missing day is missing, not headache-free. Headache days 4, 6, 8 would
    # double, but the windows were recorded on 14, 21 and 28 days: the share does not rise.
    headache, recorded = _days([4, 6, 8], TODAY)
    first = TODAY - dt.timedelta(days=83)
    for window, kept in ((0, 14), (1, 21)):
        start = first + dt.timedelta(days=28 * window)
        recorded -= {start + dt.timedelta(days=k) for k in range(kept, 28)}
    assert progressive_evidence(headache, recorded, end=TODAY) is None
    _, all_recorded = _days([4, 6, 8], TODAY)
    assert progressive_evidence(headache, all_recorded, end=TODAY) is not None


def _overuse_diary() -> Diary:
    """Triptan on 12 days and headache on 20 days in every month of 2026 up to November: ICHD-3
    8.2 A (>=15 headache days) and 8.2.2 B (triptan >=10 days, >3 months)."""
    days: list[DiaryDay] = []
    attacks: list[Attack] = []
    d = dt.date(2026, 1, 1)
    while d <= dt.date(2026, 11, 30):
        days.append(DiaryDay(d, headache=d.day <= 20))
        if d.day <= 12:
            start = dt.datetime(d.year, d.month, d.day, 9, 0)
            attacks.append(
                Attack(
                    start=start,
                    end=start + dt.timedelta(hours=3),
                    peak_intensity=5,
                    medications=(MedicationDose("sumatriptan", MedClass.TRIPTAN),),
                )
            )
        d += dt.timedelta(days=1)
    return Diary(ADULT, tuple(days), tuple(attacks))


def test_medication_overuse_diagnosis_raises_p10_with_the_overuse() -> None:
    # ICHD-3 8.2.2 (CLINICAL.md 1 "8.2") -> SNNOOP10 P10 painkiller overuse (CLINICAL.md 2 item 15)
    diary = _overuse_diary()
    diagnoses = diagnose(diary, dt.date(2026, 1, 1), dt.date(2026, 11, 30), today=TODAY)
    assert any(d.code == "8.2.2" for d in diagnoses)
    found = record_flags(patient=ADULT, diary=diary, diagnoses=diagnoses, screen=None, today=TODAY)
    p10 = [f for f in found if f.code == "P10_painkiller_or_new_drug"]
    assert len(p10) == 1
    text = " ".join(p10[0].evidence)
    assert "8.2.2" in text and "triptan" in text and "2026-11: 12 days" in text


def _dx(code: str, status: str) -> Diagnosis:
    return Diagnosis(
        code, f"label {code}", status,
        {"drug_classes": ["nsaid"], "intake_days_required": 15, "qualifying_months": ["2026-10"],
         "months": [{"month": "2026-10", f"{code}_days": 17}]},
        {},
    )  # fmt: skip


@dataclass(frozen=True)
class RecordCase:
    id: str
    source: str
    patient: PatientFacts
    diagnoses: list[Diagnosis] = field(default_factory=list)
    screen: IntakeScreen | None = None
    expected: list[str] = field(default_factory=list)


RECORD = [
    RecordCase("nothing", "no SNNOOP10 item in the record", ADULT),
    RecordCase(
        "pregnant", "CLINICAL.md 2 item 11 (P6 pregnancy)", PREGNANT,
        expected=["P6_pregnancy_puerperium"],
    ),
    RecordCase(
        "puerperium", "CLINICAL.md 2 item 11 (P6 pregnancy or puerperium)", PUERPERIUM,
        expected=["P6_pregnancy_puerperium"],
    ),
    RecordCase(
        "pregnant-and-puerperium", "CLINICAL.md 2 item 11: one item, one flag",
        PatientFacts(birth_date=dt.date(1992, 5, 5),
                     safety=SafetyProfile(pregnant=True, puerperium=True)),
        expected=["P6_pregnancy_puerperium"],
    ),
    RecordCase(
        "moh-definite", "ICHD-3 8.2.3 -> CLINICAL.md 2 item 15 (P10)", ADULT,
        [_dx("8.2.3", "definite")], expected=["P10_painkiller_or_new_drug"],
    ),
    RecordCase(
        "moh-probable", "ICHD-3 8.2 probable counts too (issue 12 item 2)", ADULT,
        [_dx("8.2.5", "probable")], expected=["P10_painkiller_or_new_drug"],
    ),
    RecordCase(
        "migraine-only", "ICHD-3 1.1 is no SNNOOP10 item", ADULT, [_dx("1.1", "definite")],
    ),
    RecordCase(
        "onset-65y6m", "CLINICAL.md 2 item 5: onset after 65 (issue 12 item 4)", BORN_1954,
        screen=IntakeScreen(TODAY, dt.date(2019, 9, 1)), expected=["O_older_age"],
    ),
    RecordCase(
        "onset-64y", "CLINICAL.md 2 item 5", BORN_1954,
        screen=IntakeScreen(TODAY, dt.date(2018, 3, 1)),
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", RECORD, ids=lambda c: c.id)
def test_record_flags(case: RecordCase) -> None:
    found = record_flags(
        patient=case.patient, diary=None, diagnoses=case.diagnoses, screen=case.screen, today=TODAY
    )
    assert [f.code for f in found] == case.expected, case.source


def test_moh_evidence_names_class_and_days() -> None:
    found = record_flags(
        patient=ADULT, diary=None, diagnoses=[_dx("8.2.3", "probable")], screen=None, today=TODAY
    )
    assert found[0].evidence == (
        "ICHD-3 8.2.3 label 8.2.3 (probable): nsaid, threshold 15 days/month; "
        "intake 2026-10: 17 days",
    )


# --- the decision ----------------------------------------------------------------------------


P6 = RedFlagFinding("P6_pregnancy_puerperium", ("safety profile: pregnant",))


def _alert(code: str, *, cleared_on: dt.datetime | None = None) -> KnownAlert:
    alert = open_alert([RedFlagFinding(code, ("intake answer: yes",))], at=cleared_on or NOW)
    assert alert is not None
    if cleared_on is not None:
        alert = resolve(alert, kind="clearance", by="Dr A", at=cleared_on, reason="reviewed")
    return KnownAlert(7, alert)


@dataclass(frozen=True)
class DecideCase:
    id: str
    source: str
    screen: IntakeScreen | None
    alerts: list[KnownAlert]
    derived: list[RedFlagFinding]
    blocking: list[str]
    patient: PatientFacts = ADULT


DECIDE = [
    DecideCase("screened-nothing-open", "CLINICAL.md 2", screened(5), [], [], []),
    DecideCase("no-screen", "CLINICAL.md 2 (issue 12 item 3)", None, [], [], [SCREEN_NEEDED]),
    DecideCase(
        "no-screen-72", "CLINICAL.md 2 (issue 12 item 3)", None, [], [], [SCREEN_NEEDED],
        BORN_1954,
    ),
    DecideCase(
        "pregnant-no-screen", "CLINICAL.md 2 item 11 (issue 12 item 1)", None, [], [P6],
        [SCREEN_NEEDED, "P6_pregnancy_puerperium"], PREGNANT,
    ),
    DecideCase(
        "open-alert", "CLINICAL.md 2: any yes refers", screened(5),
        [_alert("S_systemic")], [], ["S_systemic"],
    ),
    DecideCase(
        "derived-and-open-alert-same-code-once", "CLINICAL.md 2", screened(5),
        [_alert("P6_pregnancy_puerperium")], [P6], ["P6_pregnancy_puerperium"], PREGNANT,
    ),
    DecideCase(
        "derived-cleared-with-reason", "clearance with a reason unblocks (redflags.resolve)",
        screened(5), [_alert("P6_pregnancy_puerperium", cleared_on=NOW)], [P6], [], PREGNANT,
    ),
    DecideCase(
        "clearance-too-old", "a clearance counts for the validity period (12 months)",
        screened(5),
        [_alert("P6_pregnancy_puerperium", cleared_on=NOW - dt.timedelta(days=400))], [P6],
        ["P6_pregnancy_puerperium"], PREGNANT,
    ),
    DecideCase(
        "clearance-of-another-item", "a clearance covers its own item only", screened(5),
        [_alert("S_systemic", cleared_on=NOW)], [P6], ["P6_pregnancy_puerperium"], PREGNANT,
    ),
    DecideCase(
        "over-65-onset-unknown", "CLINICAL.md 2 item 5 (issue 12 item 4)",
        screened(5, onset=None), [], [], [SCREEN_NEEDED], BORN_1954,
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", DECIDE, ids=lambda c: c.id)
def test_decide(case: DecideCase) -> None:
    result = decide(
        today=TODAY,
        patient=case.patient,
        screen=case.screen,
        alerts=case.alerts,
        derived=case.derived,
    )
    assert [b.code for b in result.blocking] == case.blocking, case.source
    assert result.ready is (not case.blocking)


def test_a_cleared_thunderclap_does_not_cover_the_next_one() -> None:
    """Thunderclap is an event (CLINICAL.md 2 item 4): a clearance given for one attack covers
    that attack; a later attack that again peaks within a minute blocks until reviewed."""
    first = "attack of 2026-10-01T08:00+02:00 reached 10/10 20 s after onset"
    later = "attack of 2026-11-20T09:00+01:00 reached 9/10 30 s after onset"
    cleared = open_alert([RedFlagFinding("O_onset_sudden", (first,))], at=NOW)
    assert cleared is not None
    cleared = resolve(cleared, kind="clearance", by="Dr A", at=NOW, reason="reviewed by GP")
    alerts = [KnownAlert(9, cleared)]
    only_first = RedFlagFinding("O_onset_sudden", (first,))
    both = RedFlagFinding("O_onset_sudden", (first, later))
    common = {"today": TODAY, "patient": ADULT, "screen": screened(5), "alerts": alerts}
    assert decide(**common, derived=[only_first]).ready  # type: ignore[arg-type]
    again = decide(**common, derived=[both])  # type: ignore[arg-type]
    assert [(b.code, b.evidence) for b in again.blocking] == [("O_onset_sudden", (later,))]


def test_blocked_message_names_each_reason() -> None:
    result = decide(today=TODAY, patient=PREGNANT, screen=None, alerts=[], derived=[P6])
    text = result.message()
    assert "Screen needed" in text and "P6: Pregnancy or puerperium" in text
    assert "intake screen" in text and "clearance with a reason" in text
    body = result.as_dict()
    assert body["ready"] is False
    assert body["screen"] == {
        "status": "missing",
        "screened_on": None,
        "valid_until": None,
        "reason": result.screen.reason,
    }
    assert result.blocking[1].source == "record" and result.blocking[1].alert_id is None


def test_puerperium_evidence_names_the_fact() -> None:
    """CLINICAL.md 2 item 11: P6 is "pregnancy or puerperium"; the evidence says which."""
    (found,) = record_flags(patient=PUERPERIUM, diary=None, diagnoses=[], screen=None, today=TODAY)
    assert "puerperium" in found.evidence[0] and "pregnant" not in found.evidence[0]
