"""When a questionnaire is due (domain.schedule): one table of cases, each naming its rule.

Dates are fixed; ``care_start`` is the first session (or registration), ``treatment_start`` the
first session only (PGIC needs it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from acuhead.domain.instruments import BY_ID, InstrumentSpec
from acuhead.domain.schedule import due_questionnaires, schedule_status

HIT6, MIDAS, PSS10, PGIC = (BY_ID[k] for k in ("hit6", "midas", "pss10", "pgic"))
Instrument = InstrumentSpec
D = dt.date
TODAY = D(2026, 11, 27)
START = D(2026, 10, 1)

INTERVAL = "completed before: due every_days after the last completion"
BASELINE = "never completed: due on the day care started"
PGIC_RULE = "PGIC: first due one interval after treatment started; never before a session"
ORDER = "most overdue first; ties in instrument order"
BROKEN = "an interval under one day is not a schedule"


@dataclass(frozen=True)
class Case:
    id: str
    rule: str
    schedule: dict[Instrument, int]
    last: dict[Instrument, dt.date] = field(default_factory=dict)
    treatment_start: dt.date | None = START
    care_start: dt.date = START
    # expected due list: (instrument, due_on, overdue_days)
    due: list[tuple[Instrument, dt.date, int]] = field(default_factory=list)


CASES = [
    Case("nothing scheduled", INTERVAL, {}, due=[]),
    Case(
        "due exactly today",
        INTERVAL,
        {HIT6: 28},
        last={HIT6: D(2026, 10, 30)},
        due=[(HIT6, D(2026, 11, 27), 0)],
    ),
    Case("one day early: not due", INTERVAL, {HIT6: 28}, last={HIT6: D(2026, 10, 31)}, due=[]),
    Case(
        "one day late",
        INTERVAL,
        {HIT6: 28},
        last={HIT6: D(2026, 10, 29)},
        due=[(HIT6, D(2026, 11, 26), 1)],
    ),
    Case(
        "completed today: not due again",
        INTERVAL,
        {HIT6: 1},
        last={HIT6: TODAY},
        due=[],
    ),
    Case(
        "a late answer restarts the clock",
        INTERVAL,
        {MIDAS: 90},
        last={MIDAS: D(2026, 9, 20)},
        due=[],
    ),
    Case(
        "never completed: baseline due at care start",
        BASELINE,
        {HIT6: 28},
        due=[(HIT6, START, 57)],
    ),
    Case(
        "care starts in the future: nothing yet",
        BASELINE,
        {HIT6: 28},
        care_start=D(2026, 12, 1),
        treatment_start=None,
        due=[],
    ),
    Case(
        "registered today, no session yet: baseline due today",
        BASELINE,
        {HIT6: 28, PSS10: 28},
        care_start=TODAY,
        treatment_start=None,
        due=[(HIT6, TODAY, 0), (PSS10, TODAY, 0)],
    ),
    Case(
        "PGIC before any session: never due",
        PGIC_RULE,
        {PGIC: 28},
        care_start=D(2026, 1, 1),
        treatment_start=None,
        due=[],
    ),
    Case(
        "PGIC one interval after the first session",
        PGIC_RULE,
        {PGIC: 28},
        treatment_start=D(2026, 10, 30),
        due=[(PGIC, TODAY, 0)],
    ),
    Case(
        "PGIC not yet one interval into treatment",
        PGIC_RULE,
        {PGIC: 28},
        treatment_start=D(2026, 11, 1),
        due=[],
    ),
    Case(
        "PGIC answered before: interval from the answer",
        PGIC_RULE,
        {PGIC: 28},
        last={PGIC: D(2026, 10, 20)},
        due=[(PGIC, D(2026, 11, 17), 10)],
    ),
    Case(
        "several due: most overdue first, then instrument order",
        ORDER,
        {PGIC: 28, PSS10: 28, HIT6: 28, MIDAS: 90},
        last={HIT6: D(2026, 10, 20), PSS10: D(2026, 10, 20), PGIC: D(2026, 10, 1)},
        due=[
            (MIDAS, START, 57),
            (PGIC, D(2026, 10, 29), 29),
            (HIT6, D(2026, 11, 17), 10),
            (PSS10, D(2026, 11, 17), 10),
        ],
    ),
    Case("zero interval is ignored", BROKEN, {HIT6: 0, MIDAS: -5}, due=[]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_due_questionnaires(case: Case) -> None:
    got = due_questionnaires(
        case.schedule,
        case.last,
        care_start=case.care_start,
        today=TODAY,
        treatment_start=case.treatment_start,
    )
    assert [(d.instrument, d.due_on, d.overdue_days) for d in got] == case.due, case.rule
    assert all(d.is_due and d.days_until == 0 for d in got)


def test_status_lists_upcoming_instruments_with_days_until_due() -> None:
    status = schedule_status(
        {HIT6: 28, MIDAS: 90},
        {HIT6: D(2026, 11, 20), MIDAS: D(2026, 8, 1)},
        care_start=START,
        today=TODAY,
        treatment_start=START,
    )
    assert [(s.instrument, s.due_on, s.is_due, s.days_until, s.overdue_days) for s in status] == [
        (MIDAS, D(2026, 10, 30), True, 0, 28),
        (HIT6, D(2026, 12, 18), False, 21, 0),
    ]
    assert status[1].last_completed == D(2026, 11, 20) and status[1].every_days == 28
