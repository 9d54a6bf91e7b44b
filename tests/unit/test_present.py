"""The presentation module (acuhead.present): one way to write a number, used by the pages and
the documents alike; documents that do not reach up into the web edge; clinical thresholds
read from the domain, never restated."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from typing import Any

import pytest

from acuhead.domain.diagnosis import ICHD3_RULES
from acuhead.present import format as fmt

from .typed_results import build


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (None, 1, "\u2013"),
        (1.5, 1, "1.5"),
        (2.0, 1, "2"),
        (-0.5, 1, "\u22120.5"),
        (-0.04, 1, "0"),
        (0.123, 2, "0.12"),
    ],
)
def test_compact_numbers(value: float | None, digits: int, expected: str) -> None:
    assert fmt.num(value, digits) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "\u2013"), (True, "yes"), (False, "no"), (3, "3"), (1.0, "1.00"), ("<b>", "&lt;b&gt;")],
)
def test_fixed_report_cells_escape_text(value: object, expected: str) -> None:
    assert fmt.fixed(value) == expected


def test_intervals_read_from_a_mapping_or_a_typed_result() -> None:
    @dataclasses.dataclass
    class Summary:
        ci_low: float | None
        ci_high: float | None

    assert fmt.ci_of({"ci_low": 0.1, "ci_high": 0.5}, percent=True) == "10.0 % to 50.0 %"
    assert fmt.ci_of(Summary(1.0, 2.5)) == "1.00 to 2.50"
    assert fmt.ci_of(Summary(None, 2.5)) == "\u2013"
    assert fmt.interval(0.1, 0.25, 0.95) == "95 % CI 0.1 to 0.25"
    assert fmt.interval(None, 0.25, 0.95) == ""


def test_nothing_below_the_web_edge_imports_it() -> None:
    """Nothing below web/ imports acuhead.web (issue 16; the letter used to import
    web.charts): every module but the edges (web/, cli.py) and the Alembic scripts, imported in
    a fresh interpreter, loads no web module."""
    code = (
        "import importlib, pathlib, sys\n"
        "import acuhead\n"
        "root = pathlib.Path(acuhead.__file__).parent\n"
        "names = ['.'.join(('acuhead', *p.relative_to(root).with_suffix('').parts))\n"
        "         .removesuffix('.__init__') for p in root.rglob('*.py')]\n"
        "edges = ('acuhead.web', 'acuhead.cli', 'acuhead.store.migrations')\n"
        "below = [n for n in names if not n.startswith(edges)]\n"
        "for name in below:\n"
        "    importlib.import_module(name)\n"
        "print(len(below), sorted(m for m in sys.modules if m.startswith('acuhead.web')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split(" ", 1)
    assert int(out[0]) > 50  # the walk found the packages below the edge
    assert out[1].strip() == "[]"


def _letter(**outcomes: Any) -> str:
    from acuhead.analytics.results import PatientOutcome
    from acuhead.reports.letter import letter_html

    return letter_html(
        patient={"external_id": "P1"},
        clinic="Clinic",
        outcomes=build(PatientOutcome, **outcomes),
        readout={},
        sessions=[],
        adverse_events=[],
        today=dt.date(2026, 5, 1),
    )


def test_letter_states_the_overuse_thresholds_the_diagnosis_applies() -> None:
    """ICHD-3 8.2 (>=10 days for triptans, ergots, opioids, combinations; >=15 for simple
    analgesics): the letter reads them from the rules the diagnosis uses, so changing the rule
    in one place changes the letter too."""
    from acuhead.analytics.results import PatientOutcome
    from acuhead.domain.diary import Attack, Diary, DiaryDay, MedClass, MedicationDose, PatientFacts
    from acuhead.reports.letter import letter_html, medication_summary

    today = dt.date(2026, 5, 1)
    start = dt.datetime(2026, 4, 30, 9, tzinfo=dt.UTC)
    diary = Diary(
        patient=PatientFacts(birth_date=None),
        days=(DiaryDay(date=today - dt.timedelta(days=1), headache=True),),
        attacks=(
            Attack(
                start=start,
                end=start + dt.timedelta(hours=5),
                peak_intensity=6,
                medications=(
                    MedicationDose(name="sumatriptan", med_class=MedClass.TRIPTAN),
                    MedicationDose(name="ibuprofen", med_class=MedClass.NSAID),
                ),
            ),
        ),
    )

    def letter(rules: Any) -> str:  # whitespace folded: the template wraps its lines
        return " ".join(
            letter_html(
                patient={"external_id": "P1"},
                clinic="Clinic",
                outcomes=build(PatientOutcome),
                readout={},
                sessions=[],
                adverse_events=[],
                today=today,
                medication=medication_summary(diary, today, rules=rules),
            ).split()
        )

    html = letter(ICHD3_RULES)
    assert f"threshold {ICHD3_RULES.overuse_days} days/month" in html
    assert f"threshold {ICHD3_RULES.overuse_days_non_opioid} days/month" in html
    changed = dataclasses.replace(ICHD3_RULES, overuse_days=12, overuse_days_non_opioid=17)
    html = letter(changed)
    assert "threshold 12 days/month" in html
    assert "threshold 17 days/month" in html
