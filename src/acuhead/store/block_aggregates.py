"""Keep ``block_aggregates`` (one row per patient x outcome window) equal to a day-unit scan.

The practice report and the outcome panel sum ``day_units`` per patient and window (baseline
and 28-day blocks from the anchor, the first treatment session: ``analytics.cohort``). Those
sums change only when a diary day or the anchor changes, so they are kept here on write:

* :func:`refresh_blocks` after a day-unit refresh of ``start..end``: the windows that range
  falls in are summed again from ``day_units`` (one window for a day entry), in the same
  transaction, so the table never disagrees with the day units it is read beside;
* :func:`rebuild_patient` when the anchor may have moved (a session written) or a whole diary
  was replaced (an import);
* :func:`rebuild_all` for everyone (the migration that creates the table and ``acuhead db
  rebuild-aggregates``).

A window is summed again from its day units rather than adjusted by a difference: the result
is then the scan's by construction, whatever the refresh replaced. Windows are the defaults
(``DEFAULT_OUTCOME_CONFIG``: baseline 28 days, blocks of 28; CLINICAL.md 3); no clinic can
choose others today, and a report asking for other windows scans the day units.

Row-level code only: no access checks (callers have checked the actor), no services import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from acuhead.domain.outcomes import DEFAULT_OUTCOME_CONFIG, BlockCounts, day_number
from acuhead.store.models import BlockAggregateRow, DayUnitRow, Patient, TreatmentSessionRow

BASELINE_DAYS = DEFAULT_OUTCOME_CONFIG.baseline_days
BLOCK_DAYS = DEFAULT_OUTCOME_CONFIG.block_days
BASELINE = -1
# Patients per progress step of a full rebuild.
PROGRESS_EVERY = 500

Progress = Callable[[int, int], None]


def _t(model: Any) -> Table:
    return cast(Table, model.__table__)


def _anchor(session: Session, patient_id: int) -> tuple[int, int] | None:
    """(clinic id, anchor day number) of a treated patient; None when untreated (or gone).
    The anchor counts only sessions of the patient's own clinic, as ``anchors_cte`` does."""
    p, ts = _t(Patient), _t(TreatmentSessionRow)
    row = session.execute(
        select(p.c.clinic_id, func.min(ts.c.start_local))
        .select_from(
            p.outerjoin(ts, and_(ts.c.patient_id == p.c.id, ts.c.clinic_id == p.c.clinic_id))
        )
        .where(p.c.id == patient_id)
        .group_by(p.c.clinic_id)
    ).first()
    if row is None or row[1] is None:
        return None
    clinic_id, first = row
    if isinstance(first, str):  # pragma: no cover - SQLite returns MIN() of a DATETIME as text
        first = dt.datetime.fromisoformat(first)
    return int(clinic_id), day_number(first.date())


def block_of(day_num: int, anchor: int) -> int:
    """The window of a day: -1 for the baseline, k for the k-th block (days before the baseline
    belong to no window; callers leave them out)."""
    return BASELINE if day_num < anchor else (day_num - anchor) // BLOCK_DAYS


def _window_days(block: int, anchor: int) -> tuple[int, int]:
    """First and last day number of a window."""
    if block == BASELINE:
        return anchor - BASELINE_DAYS, anchor - 1
    first = anchor + block * BLOCK_DAYS
    return first, first + BLOCK_DAYS - 1


def _count(flag: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(case((flag, 1), else_=0))


def _sums(du: Table) -> list[ColumnElement[Any]]:
    """The day-unit sums in ``BlockCounts`` order (as ``analytics.cohort._plain_sums``)."""
    return [
        _count(du.c.recorded),
        _count(du.c.late),
        _count(du.c.migraine),
        _count(du.c.headache),
        _count(du.c.moderate_severe),
        _count(du.c.acute_med),
        _count(du.c.migraine_specific_med),
        _count(du.c.triptan),
        func.sum(du.c.attacks_started),
        func.sum(du.c.peak_sum),
        func.sum(du.c.peak_n),
        func.sum(du.c.headache_minutes),
        func.coalesce(func.sum(du.c.stress), 0),
        func.count(du.c.stress),
        func.coalesce(func.sum(du.c.neck_tension), 0),
        func.count(du.c.neck_tension),
        func.coalesce(func.sum(du.c.sleep_hours), 0.0),
        func.count(du.c.sleep_hours),
        _count(du.c.migraine_uncertain),
    ]


_COLUMNS: tuple[str, ...] = ("patient_id", "block", "clinic_id", *BlockCounts._fields)


def _write(
    session: Session, patient_id: int, clinic_id: int, anchor: int, lo: int, hi: int
) -> None:
    """Replace the rows of the windows holding day numbers ``lo..hi`` (clamped to the baseline
    start) by sums of the day units, in two statements."""
    lo = max(lo, anchor - BASELINE_DAYS)
    if hi < lo:
        return
    first_block, last_block = block_of(lo, anchor), block_of(hi, anchor)
    day_lo = _window_days(first_block, anchor)[0]
    day_hi = _window_days(last_block, anchor)[1]
    agg, du = _t(BlockAggregateRow), _t(DayUnitRow)
    session.execute(
        delete(agg).where(
            agg.c.patient_id == patient_id, agg.c.block.between(first_block, last_block)
        )
    )
    rel = du.c.day_num - anchor
    block = case((rel < 0, literal(BASELINE)), else_=rel // BLOCK_DAYS).label("block")
    grouped = (
        select(du.c.patient_id, block, literal(clinic_id).label("clinic_id"), *_sums(du))
        .where(du.c.patient_id == patient_id, du.c.day_num.between(day_lo, day_hi))
        .group_by(du.c.patient_id, literal_column("block"))
    )
    session.execute(insert(agg).from_select(list(_COLUMNS), grouped))


def _delete_patient(session: Session, patient_id: int) -> None:
    agg = _t(BlockAggregateRow)
    session.execute(delete(agg).where(agg.c.patient_id == patient_id))


def refresh_blocks(
    session: Session, patient_id: int, start: dt.date | None, end: dt.date | None
) -> None:
    """After the day units of ``start..end`` (inclusive; None: the whole diary) were replaced:
    sum again every window that range falls in. Call in the refresh's transaction, after its
    writes have been flushed."""
    if start is None or end is None:
        rebuild_patient(session, patient_id)
        return
    found = _anchor(session, patient_id)
    if found is None:
        return  # untreated: no windows (a new session rebuilds the patient)
    clinic_id, anchor = found
    _write(session, patient_id, clinic_id, anchor, day_number(start), day_number(end))


def rebuild_patient(session: Session, patient_id: int) -> None:
    """Every window of one patient, from their day units and current anchor: after a session
    was written (the anchor may have moved) or a whole diary was rewritten."""
    _delete_patient(session, patient_id)
    found = _anchor(session, patient_id)
    if found is None:
        return
    clinic_id, anchor = found
    du = _t(DayUnitRow)
    last = session.scalar(select(func.max(du.c.day_num)).where(du.c.patient_id == patient_id))
    if last is not None:
        _write(session, patient_id, clinic_id, anchor, anchor - BASELINE_DAYS, int(last))


def _anchor_day_sql(dialect: str) -> str:
    """The local date of a patient's first session as a day number, in SQL (the same number
    as ``analytics.sql.day_number``, which ``store`` may not import)."""
    first = "MIN(treatment_sessions.start_local)"
    if dialect == "sqlite":
        return f"CAST(julianday(date({first})) - 2440587.5 AS INTEGER)"
    return f"(CAST({first} AS DATE) - DATE '1970-01-01')"


def _fill(session: Session, lo: int, hi: int) -> None:
    """Every window of the patients with ids ``lo..hi``, in one grouped statement (the rows of
    those patients must be gone)."""
    p, ts, du, agg = _t(Patient), _t(TreatmentSessionRow), _t(DayUnitRow), _t(BlockAggregateRow)
    dialect = session.get_bind().dialect.name
    a = (
        select(
            ts.c.patient_id,
            p.c.clinic_id,
            literal_column(_anchor_day_sql(dialect)).label("anchor"),
        )
        .select_from(ts.join(p, and_(p.c.id == ts.c.patient_id, ts.c.clinic_id == p.c.clinic_id)))
        .where(ts.c.patient_id.between(lo, hi))
        .group_by(ts.c.patient_id, p.c.clinic_id)
        .subquery("a")
    )
    rel = du.c.day_num - a.c.anchor
    block = case((rel < 0, literal(BASELINE)), else_=rel // BLOCK_DAYS).label("block")
    grouped = (
        select(du.c.patient_id, block, a.c.clinic_id, *_sums(du))
        .select_from(du.join(a, a.c.patient_id == du.c.patient_id))
        .where(du.c.day_num >= a.c.anchor - BASELINE_DAYS)
        .group_by(du.c.patient_id, literal_column("block"), a.c.clinic_id)
    )
    session.execute(insert(agg).from_select(list(_COLUMNS), grouped))


def rebuild_all(session: Session, progress: Progress | None = None) -> int:
    """Every patient's windows, from scratch, set-based in patient-id ranges of
    :data:`PROGRESS_EVERY`; returns how many patients there are. ``progress(done, total)``
    after each range."""
    session.execute(delete(_t(BlockAggregateRow)))
    ids = list(session.scalars(select(Patient.id).order_by(Patient.id)))
    for i in range(0, len(ids), PROGRESS_EVERY):
        part = ids[i : i + PROGRESS_EVERY]
        _fill(session, part[0], part[-1])
        if progress is not None:
            progress(i + len(part), len(ids))
    return len(ids)


def stored_blocks(session: Session, patient_id: int) -> dict[int, BlockCounts]:
    """One patient's stored windows (block -> sums)."""
    agg = _t(BlockAggregateRow)
    rows = session.execute(
        select(agg.c.block, *(agg.c[f] for f in BlockCounts._fields)).where(
            agg.c.patient_id == patient_id
        )
    )
    return {int(r[0]): BlockCounts._make(r[1:]) for r in rows}
