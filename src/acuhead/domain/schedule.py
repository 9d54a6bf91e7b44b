"""When a questionnaire is due: the clinic's schedule applied to one patient's completions.

Why: follow-up questionnaires are completed by about 1 in 5 patients when nobody asks, and by
about 3 in 5 when a system asks at the right time (USERS.md). "The right time" is one small
rule, kept here once so the patient's page, the practitioner's dashboard and the e-mail
reminders can never disagree about it.

The rule, per scheduled instrument with an interval of ``every_days``:

* completed before: due ``every_days`` after the last completion (a fresh answer restarts the
  clock, whether it came early or late, so a patient is never asked twice in one interval);
* never completed: due on the day care started, as a baseline (the first treatment session,
  or the day the patient was registered while there is no session yet);
* an instrument that asks about change *since the start of treatment* (its spec's
  ``since_treatment``, e.g. a global impression of change) is first due only once treatment
  has started, one interval after its start; before the first session it is never due.

An instrument is due when its due date is today or earlier; ``overdue_days`` counts the days
since the due date (0 on the day itself). An interval under one day is treated as not
scheduled (a broken schedule row must not ask a patient every time a page loads).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from acuhead.domain.instruments import ORDER as _ORDER
from acuhead.domain.instruments import InstrumentSpec as Instrument


@dataclass(frozen=True, slots=True)
class DueQuestionnaire:
    """One scheduled instrument and when it is (or next will be) due."""

    instrument: Instrument
    due_on: dt.date
    today: dt.date
    every_days: int
    last_completed: dt.date | None

    @property
    def is_due(self) -> bool:
        return self.due_on <= self.today

    @property
    def overdue_days(self) -> int:
        """Days since the due date; 0 when due today or not due yet."""
        return max(0, (self.today - self.due_on).days)

    @property
    def days_until(self) -> int:
        """Days until the due date; 0 when already due."""
        return max(0, (self.due_on - self.today).days)


def schedule_status(
    schedule: Mapping[Instrument, int],
    last_completed: Mapping[Instrument, dt.date],
    *,
    care_start: dt.date,
    today: dt.date,
    treatment_start: dt.date | None = None,
) -> list[DueQuestionnaire]:
    """Every scheduled instrument with its next due date, the most overdue first.

    ``care_start`` is the first session's date or, without one, the registration date;
    ``treatment_start`` is the first session's date (None before any), which an instrument
    asking about change since treatment began needs.
    """
    out: list[DueQuestionnaire] = []
    for instrument, every_days in schedule.items():
        if every_days < 1:
            continue
        last = last_completed.get(instrument)
        if last is not None:
            due_on = last + dt.timedelta(days=every_days)
        elif instrument.since_treatment:
            if treatment_start is None:
                continue
            due_on = treatment_start + dt.timedelta(days=every_days)
        else:
            due_on = care_start
        out.append(DueQuestionnaire(instrument, due_on, today, every_days, last))
    out.sort(key=lambda d: (d.due_on, _ORDER[d.instrument]))
    return out


def due_questionnaires(
    schedule: Mapping[Instrument, int],
    last_completed: Mapping[Instrument, dt.date],
    *,
    care_start: dt.date,
    today: dt.date,
    treatment_start: dt.date | None = None,
) -> list[DueQuestionnaire]:
    """Only the instruments due today or earlier, the most overdue first."""
    return [
        d
        for d in schedule_status(
            schedule,
            last_completed,
            care_start=care_start,
            today=today,
            treatment_start=treatment_start,
        )
        if d.is_due
    ]
