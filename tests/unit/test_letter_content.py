"""What the physician letter says, from plain data (no database, no PDF engine): every 28-day
block from the baseline to today, the medication of the latest 28 days against the ICHD-3 8.2
thresholds (read from the domain, never restated here), and "not recorded" where data is
missing (issue 15, "The letter")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from acuhead.analytics.results import (
    BlockWindow,
    ConfigResult,
    KnownDays,
    PatientOutcome,
    PrimaryChange,
    QuestionnaireLatest,
    Questionnaires,
    QuestionnaireTrend,
    ResponderBasis,
    Score,
    SessionRelief,
    Window,
)
from acuhead.domain.diagnosis import ICHD3_RULES, overuse_groups
from acuhead.domain.diary import (
    Attack,
    Diary,
    DiaryDay,
    MedClass,
    MedicationDose,
    PatientFacts,
    Regimen,
    RegimenKind,
)
from acuhead.reports.letter import (
    DEFAULT_QUESTION,
    DEFAULT_RECIPIENT,
    every_block,
    letter_html,
    medication_summary,
)

from .typed_results import build

TODAY = dt.date(2026, 6, 30)
ANCHOR = dt.date(2026, 1, 5)
PATIENT = PatientFacts(birth_date=None)


def _block(index: int, recorded: int = 26, migraine: int = 3) -> Any:
    start = ANCHOR + dt.timedelta(days=28 * index)
    return build(
        Window if index < 0 else BlockWindow,
        index=index,
        start=start,
        end=start + dt.timedelta(days=27),
        days=28,
        recorded_days=recorded,
        migraine_days=migraine,
        headache_days=migraine + 1,
        acute_medication_days=2,
        low_compliance=recorded < 23,
    )


def _outcomes(indexes: list[int], **changes: Any) -> PatientOutcome:
    base = _block(-1, migraine=6)
    fields: dict[str, Any] = {
        "anchor": ANCHOR,
        "config": build(ConfigResult, block_days=28),
        "baseline": base,
        "blocks": [_block(i) for i in indexes],
        "change": build(PrimaryChange, label="weeks 9-12", migraine_days_per_28=-3.0),
        "questionnaires": build(Questionnaires),
    }
    return build(PatientOutcome, **{**fields, **changes})


def _letter(**changes: Any) -> str:
    args: dict[str, Any] = {
        "patient": {"external_id": "P-7", "display_name": "", "birth_date": None},
        "clinic": "Clinic X",
        "outcomes": _outcomes([0, 1, 2]),
        "readout": {"diagnoses": [], "red_flags": []},
        "sessions": [],
        "adverse_events": [],
        "today": TODAY,
    }
    args.update(changes)
    return letter_html(**args)


def test_every_block_from_the_baseline_to_today_is_listed_without_gaps() -> None:
    """Today's letter skipped weeks 1-12: only the latest four complete blocks were shown. Now
    every complete block is a row; a block with no entries is "not recorded", not left out; the
    block still running is named, not counted."""
    # blocks 1, 3 and 5 have no diary row at all; the outcomes end at the last recorded block
    periods, running = every_block(_outcomes([0, 2, 4]), TODAY)
    labels = [p["label"] for p in periods]
    complete = (TODAY - ANCHOR).days // 28  # 6 complete blocks on 30 June
    assert labels == ["Baseline"] + [f"Weeks {4 * i + 1}-{4 * i + 4}" for i in range(complete)]
    assert [p["recorded_days"] for p in periods[1:]] == [26, 0, 26, 0, 26, 0]
    assert "Weeks 25-28" in running and "still running" in running
    html = _letter(outcomes=_outcomes([0, 2, 4]))
    for label in labels:
        assert f"<td>{label}</td>" in html
    assert html.count("not recorded (no diary entries)") == 3


def test_the_block_the_text_quotes_is_a_row_of_the_table() -> None:
    html = _letter(outcomes=_outcomes(list(range(6))))
    assert "at weeks 9-12" in html and "<td>Weeks 9-12</td>" in html


def test_a_letter_before_the_first_session_says_so() -> None:
    outcomes = build(PatientOutcome, anchor=None, baseline=None, blocks=[])
    assert every_block(outcomes, TODAY) == ([], "")
    html = _letter(outcomes=outcomes)
    assert "No acupuncture session is recorded yet" in html and "<th>Period</th>" not in html
    assert "HIT-6: not recorded; MIDAS: not recorded." in html


def test_responder_uncertain_days_and_relief_are_read_from_the_typed_result() -> None:
    """The letter reads the same typed outcome the panel reads (issue 16): the responder flag,
    the uncertain days left out of it and the relief after a session, in words."""
    basis = build(
        ResponderBasis,
        baseline=build(KnownDays, known_days=25, uncertain_days=2),
        block=build(KnownDays, known_days=26, uncertain_days=1),
    )
    relief = build(SessionRelief, mean_relief=1.46, ci_low=0.8, ci_high=2.2)
    outcomes = _outcomes(
        list(range(6)),
        responder={"30": True, "50": True},
        responder_basis=basis,
        session_relief=relief,
    )
    html = " ".join(_letter(outcomes=outcomes).split())
    assert "≥50% responder: <strong>yes</strong>" in html
    assert "2 uncertain days in the baseline and 1 uncertain day in the endpoint block" in html
    assert "Mean pain relief right after a session: 1.5 points on 0-10 (95% CI 0.8 to 2.2)" in html
    html = " ".join(_letter(outcomes=_outcomes(list(range(6)))).split())
    assert "responder:" not in html and "uncertain day" not in html
    assert "Mean pain relief" not in html


def test_sender_recipient_and_question_with_defaults() -> None:
    html = _letter()
    assert DEFAULT_RECIPIENT in html and DEFAULT_QUESTION in html
    assert "practitioner:\nnot recorded" in html or "practitioner: not recorded" in html
    assert "born year not recorded" in html
    html = _letter(practitioner="Prac X", recipient="Dr Weiss, Praxis Mitte", question="MOH?")
    assert "Prac X" in html and "Dr Weiss, Praxis Mitte" in html and "MOH?" in html
    assert DEFAULT_RECIPIENT not in html and DEFAULT_QUESTION not in html


def test_hit6_and_midas_show_their_bands_or_not_recorded() -> None:
    # CLINICAL.md 4.1 (HIT-6 >= 60 severe impact) and 4.2 (MIDAS grade IV >= 21)
    june, january = dt.date(2026, 6, 1), dt.date(2026, 1, 1)
    hit6_latest, hit6_first = (
        build(Score, date=june, total=62),
        build(Score, date=january, total=66),
    )
    q: dict[str, Any] = {
        "hit6": build(QuestionnaireTrend, label="HIT-6", n=2, latest=hit6_latest, first=hit6_first),
        "midas": build(QuestionnaireTrend, label="MIDAS", n=0, latest=None, first=None),
    }
    html = _letter(outcomes=_outcomes([0], questionnaires=build(Questionnaires, **q)))
    assert "HIT-6 62 (severe impact) on 2026-06-01; first 66 on 2026-01-01" in html
    assert "MIDAS: not recorded" in html
    midas_latest = build(Score, date=june, total=12)
    q["midas"] = build(QuestionnaireLatest, label="MIDAS", n=1, latest=midas_latest)
    html = _letter(outcomes=_outcomes([0], questionnaires=build(Questionnaires, **q)))
    assert "MIDAS 12 (grade III: moderate disability)" in html


def test_red_flags_are_named_in_words_open_ones_first() -> None:
    readout = {
        "diagnoses": [],
        "red_flags": [
            {"open": False, "findings": [{"code": "S_systemic"}],
             "resolution": {"kind": "referred", "by": "Prac X", "at": "2026-02-01T10:00:00",
                            "reason": "GP saw her"}},
            {"open": True, "findings": [{"code": "P10_painkiller_or_new_drug"}]},
        ],
    }  # fmt: skip
    html = _letter(readout=readout)
    assert "P10_" not in html and "S_systemic" not in html
    opened = html.index("Open: ")
    assert opened < html.index("Systemic symptoms, fever included: referred by Prac X")
    assert "Needs medical review" in html


def test_a_self_harm_alert_is_not_listed_among_the_red_flags() -> None:
    """A questionnaire's self-harm alert shares the alerts table but is no SNNOOP10 flag: the
    letter's red-flag line stays as before (telling the physician is the sender's call)."""
    words = "item 9: thoughts of self-harm reported"
    readout = {
        "diagnoses": [],
        "red_flags": [{"open": True, "kind": "self_harm", "findings": [{"label": words}]}],
    }
    html = _letter(readout=readout)
    assert words not in html and "None raised." in html


# ---- medication against ICHD-3 8.2 -----------------------------------------------------------


def _threshold(cls: MedClass) -> int:
    """The domain's single-class threshold for ``cls`` (ICHD-3 8.2.1-8.2.5)."""
    (found,) = {t for code, classes, t in overuse_groups(ICHD3_RULES) if classes == {cls}}
    return found


def _diary(takes: dict[int, list[tuple[str, MedClass]]], missing: frozenset[int] = frozenset(),
           regimens: tuple[Regimen, ...] = ()) -> Diary:  # fmt: skip
    """28 days ending TODAY; ``takes`` maps a day offset (0 = 27 days ago) to doses taken."""
    first = TODAY - dt.timedelta(days=27)
    days, attacks = [], []
    for k in range(28):
        day = first + dt.timedelta(days=k)
        if k in missing:
            continue
        doses = takes.get(k, [])
        days.append(DiaryDay(date=day, headache=bool(doses)))
        if doses:
            start = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
            attacks.append(
                Attack(
                    start=start,
                    end=start + dt.timedelta(hours=5),
                    peak_intensity=6,
                    medications=tuple(MedicationDose(name=n, med_class=c) for n, c in doses),
                )
            )
    return Diary(patient=PATIENT, days=tuple(days), attacks=tuple(attacks), regimens=regimens)


SUMA = ("sumatriptan", MedClass.TRIPTAN)


@pytest.mark.parametrize(
    ("days_taken", "missing", "status"),
    [
        # ICHD-3 8.2.2: triptan on >= 10 days/month (the domain's threshold, CLINICAL.md 8.2)
        (0, 0, "at or above the threshold"),
        (-1, 0, "below the threshold"),
        (-1, 1, "uncertain (1 day(s) without an entry)"),  # the missing day could reach it
        (-3, 2, "below the threshold"),  # even both missing days would not reach it
    ],
)
def test_triptan_days_against_the_domain_threshold(
    days_taken: int, missing: int, status: str
) -> None:
    n = _threshold(MedClass.TRIPTAN) + days_taken
    diary = _diary({k: [SUMA] for k in range(n)}, missing=frozenset(range(27, 27 - missing, -1)))
    med = medication_summary(diary, TODAY)
    (group,) = med["groups"]
    assert (group["label"], group["days"], group["status"]) == ("Triptan", n, status)
    assert group["threshold"] == ICHD3_RULES.overuse_days
    assert med["acute"] == [{"name": "sumatriptan", "cls": "triptan", "days": n}]
    assert med["recorded"] == 28 - missing


def test_non_opioid_analgesics_count_together() -> None:
    """ICHD-3 8.2.3: non-opioid analgesics as one class; 8.2.3.1/8.2.3.2 each drug alone."""
    each = _threshold(MedClass.PARACETAMOL) // 2 + 1  # each under its own threshold
    takes: dict[int, list[tuple[str, MedClass]]] = {}
    for k in range(each):
        takes[k] = [("paracetamol", MedClass.PARACETAMOL)]
        takes[k + each] = [("ibuprofen", MedClass.NSAID)]
    med = medication_summary(_diary(takes), TODAY)
    by_label = {g["label"]: g for g in med["groups"]}
    assert by_label["Paracetamol"]["status"] == "below the threshold"
    assert by_label["NSAID"]["status"] == "below the threshold"
    together = by_label["NSAID + paracetamol together"]
    assert (together["days"], together["status"]) == (2 * each, "at or above the threshold")
    assert together["threshold"] == ICHD3_RULES.overuse_days_non_opioid
    assert {m["name"] for m in med["acute"]} == {"paracetamol", "ibuprofen"}


def test_preventive_courses_running_today_are_listed_by_name_and_kind() -> None:
    regimens = (
        Regimen("propranolol", RegimenKind.DRUG, dt.date(2026, 3, 1), dose="40 mg twice daily"),
        Regimen("amitriptyline", RegimenKind.DRUG, dt.date(2025, 1, 1), dt.date(2025, 6, 1)),
        Regimen("aerobic exercise", RegimenKind.NON_DRUG, dt.date(2026, 5, 1)),
    )
    med = medication_summary(_diary({}, regimens=regimens), TODAY)
    assert [(m["name"], m["cls"]) for m in med["preventive"]] == [
        ("propranolol", "preventive drug"),
        ("aerobic exercise", "non-drug preventive"),
    ]
    assert med["acute"] == [] and med["groups"] == []
    html = _letter(medication=med)
    assert "propranolol" in html and "40 mg twice daily" in html and "amitriptyline" not in html
    assert "Acute medication: none recorded in the latest 28 days." in html
    assert "28/28 days recorded." in html
    gaps = medication_summary(_diary({}, missing=frozenset({3, 4, 5})), TODAY)
    html = _letter(medication=gaps)
    assert "25/28 days recorded; intake on the 3 day(s) without an entry is not known." in html


def test_long_lists_are_shortened_so_the_letter_stays_one_page() -> None:
    """Every open red flag is named; resolved ones beyond the latest few are counted; repeated
    adverse events are one item with how often; rare acute drugs share one row."""
    resolved = [
        {"open": False, "findings": [{"code": "S_systemic"}],
         "resolution": {"kind": "referred", "by": "Prac X", "at": f"2026-0{m}-01T10:00:00",
                        "reason": "GP saw her " * 40}}
        for m in range(1, 7)
    ]  # fmt: skip
    opened = [{"open": True, "findings": [{"code": "N_neoplasm"}]} for _ in range(4)]
    html = _letter(
        readout={"diagnoses": [], "red_flags": resolved + opened},
        adverse_events=[{"type": "bruise", "severity": "mild", "serious": False}] * 5,
    )
    assert html.count("Open: Past or present cancer") == 4
    assert html.count("Systemic symptoms, fever included: referred") == 2
    assert "(2026-06-01)" in html and "(2026-04-01)" not in html  # the latest two
    assert "4 earlier resolved red flag(s) are in the record." in html
    assert "GP saw her " * 12 not in html  # a long reason is shortened
    assert "bruise (mild) ×5" in html
    names = [(f"drug{k}", MedClass.OTHER) for k in range(12)]
    med = medication_summary(_diary({0: names, 1: names[:3]}), TODAY)
    assert len(med["acute"]) == 8
    assert med["acute"][0] == {"name": "drug0", "cls": "other", "days": 2}
    assert med["acute"][-1] == {"name": "5 other medications", "cls": "other", "days": None}


def test_two_and_a_half_years_of_blocks_still_fit_one_page() -> None:
    """Past ten periods the table is set in two columns side by side; every block stays listed
    and the PDF stays one page with the longest recipient and question the form takes."""
    import io

    from pypdf import PdfReader

    from acuhead.reports.letter import render_pdf
    from acuhead.services.letters import QUESTION_MAX, RECIPIENT_MAX

    blocks = 32  # 128 weeks
    today = ANCHOR + dt.timedelta(days=28 * blocks + 3)
    outcomes = _outcomes(list(range(blocks)))
    flags = [{"open": True, "findings": [{"code": "N_neoplasm"}]}] * 2
    names = [(f"drug{k}", MedClass.TRIPTAN) for k in range(10)]
    html = _letter(
        outcomes=outcomes,
        today=today,
        recipient="R" * RECIPIENT_MAX,
        question="Q " * (QUESTION_MAX // 2),
        readout={"diagnoses": [], "red_flags": flags},
        medication=medication_summary(_diary({0: names}), TODAY),
    )
    reader = PdfReader(io.BytesIO(render_pdf(html)))
    text = " ".join(reader.pages[0].extract_text().split())
    assert len(reader.pages) == 1
    for b in range(blocks):
        start = (ANCHOR + dt.timedelta(days=28 * b)).isoformat()
        assert f"Weeks {4 * b + 1}-{4 * b + 4} {start}" in text, b
