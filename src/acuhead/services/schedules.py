"""How often a clinic asks its patients to fill in each questionnaire.

Follow-up questionnaires are completed by about 1 in 5 patients when nobody reminds them and by
about 3 in 5 with automated reminders (USERS.md); the schedule is what the reminders and the
patient's "questionnaire due" page read. The table has one row per (clinic, instrument):
``every_days`` is the interval between two answers, ``active`` whether it is asked at all.
Switching an instrument off keeps its interval, so switching it on again restores it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from acuhead.domain.instruments import REGISTRY, InstrumentSpec
from acuhead.errors import Conflict, FieldError, ValidationError
from acuhead.services.actors import Actor, require_admin, require_staff
from acuhead.store.audit import audit
from acuhead.store.models import QuestionnaireSchedule

MIN_EVERY_DAYS = 7
MAX_EVERY_DAYS = 365
# What a new clinic is offered: each spec's default interval (matching its recall period).
DEFAULT_SCHEDULE: Mapping[InstrumentSpec, int] = {
    s: s.default_interval_days for s in REGISTRY if s.default_interval_days
}


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """What the admin asks for one instrument. ``version`` is the one they read (None: new).

    ``every_days`` may be the text a form sent (blank: not given): it is read here, with the
    other checks, so a submission with several mistakes hears of all of them at once."""

    every_days: int | str | None
    active: bool
    version: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduleItem:
    instrument: str
    label: str
    recall_period: str
    every_days: int | None  # None: never scheduled
    interval_hint: str  # "28 days = every 4 weeks", or ""
    active: bool
    version: int | None


def list_schedule(session: Session, *, actor: Actor) -> list[ScheduleItem]:
    """Every known instrument, scheduled or not, in a fixed order."""
    require_staff(actor)
    rows = {
        r.instrument: r
        for r in session.scalars(
            select(QuestionnaireSchedule).where(QuestionnaireSchedule.clinic_id == actor.clinic_id)
        )
    }
    out = []
    for inst in REGISTRY:
        row = rows.get(inst.id)
        out.append(
            ScheduleItem(
                inst.id,
                inst.label,
                inst.recall_period,
                row.every_days if row else None,
                inst.interval_hint,
                bool(row.active) if row else False,
                row.version if row else None,
            )
        )
    return out


_WHOLE = re.compile(r"[+-]?[0-9]{1,6}")  # longer numbers are out of range anyway


def _days(key: str, value: int | str | None) -> int | FieldError | None:
    """The interval as a number (None: not given), or why it cannot be one."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    if not _WHOLE.fullmatch(text):
        return FieldError(f"{key}.every_days", "enter a whole number of days, e.g. 28")
    return int(text)


def _validate(
    entries: Mapping[str, ScheduleEntry],
) -> tuple[list[FieldError], dict[str, int | None]]:
    """Every entry's problems (none skipped because another field failed first), and the
    intervals read from them."""
    errors: list[FieldError] = []
    days: dict[str, int | None] = {}
    known = {i.id for i in REGISTRY}
    for key, entry in entries.items():
        if key not in known:
            errors.append(
                FieldError(
                    f"{key}.instrument",
                    f"unknown questionnaire {key!r}; expected one of {', '.join(sorted(known))}",
                )
            )
            continue
        every = _days(key, entry.every_days)
        if isinstance(every, FieldError):
            errors.append(every)
            continue
        days[key] = every
        if every is None:
            if entry.active:
                errors.append(FieldError(f"{key}.every_days", "enter how many days apart"))
        elif not MIN_EVERY_DAYS <= every <= MAX_EVERY_DAYS:
            errors.append(
                FieldError(
                    f"{key}.every_days",
                    f"must be between {MIN_EVERY_DAYS} and {MAX_EVERY_DAYS} days; got {every}",
                )
            )
    return errors, days


def set_schedule(
    session: Session, *, actor: Actor, entries: Mapping[str, ScheduleEntry]
) -> list[ScheduleItem]:
    """Create or change the rows for the given instruments (others are left as they are).

    All-or-nothing: every entry is validated first. A stale ``version`` (someone else saved in
    between) raises Conflict rather than overwrite their change."""
    require_admin(actor)
    errors, days = _validate(entries)
    if errors:
        raise ValidationError(errors)
    rows = {
        r.instrument: r
        for r in session.scalars(
            select(QuestionnaireSchedule)
            .where(QuestionnaireSchedule.clinic_id == actor.clinic_id)
            .with_for_update()
        )
    }
    for key, entry in entries.items():
        row, every_days = rows.get(key), days[key]
        if entry.version is not None and (row is None or row.version != entry.version):
            raise Conflict("the schedule was changed by someone else meanwhile; reload the page")
        if row is None:
            if every_days is None:
                continue  # never scheduled and still off: nothing to store
            row = QuestionnaireSchedule(
                clinic_id=actor.clinic_id,
                instrument=key,
                every_days=every_days,
                active=entry.active,
                version=1,
            )
            session.add(row)
            session.flush()
            audit(session, actor, "create", "questionnaire_schedule", row.id)
            continue
        every = every_days if every_days is not None else row.every_days
        if (row.every_days, bool(row.active)) == (every, entry.active):
            continue
        row.every_days = every
        row.active = entry.active
        row.version += 1
        audit(session, actor, "update", "questionnaire_schedule", row.id)
    session.flush()
    return list_schedule(session, actor=actor)


def apply_default_schedule(session: Session, *, actor: Actor) -> int:
    """Give a clinic without any schedule the defaults; returns how many rows were added."""
    require_admin(actor)
    has_any = session.scalars(
        select(QuestionnaireSchedule.id).where(QuestionnaireSchedule.clinic_id == actor.clinic_id)
    ).first()
    if has_any is not None:
        return 0
    set_schedule(
        session,
        actor=actor,
        entries={i.id: ScheduleEntry(d, True) for i, d in DEFAULT_SCHEDULE.items()},
    )
    return len(DEFAULT_SCHEDULE)
