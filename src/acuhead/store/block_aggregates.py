"""Keep ``block_aggregates`` (one row per patient x outcome window) equal to a day-unit scan.

The practice report and the outcome panel sum ``day_units`` per patient and window (baseline
and 28-day blocks from the anchor, the first treatment session: ``analytics.cohort``). Those
sums change only when a diary day or the anchor changes, so they are kept here on write:

* :func:`refresh_blocks` after a day-unit refresh of ``start..end``: the windows that range
  falls in are summed again from ``day_units`` (one window for a day entry), in the same
  transaction, so the table never disagrees with the day units it is read beside;
* :func:`rebuild_patient` when the anchor may have moved (a session written) or a whole diary
  was replaced (an import);
* :func:`rebuild_all` for everyone, set-based (``acuhead db rebuild-aggregates``, the demo
  generator; migration 0100 fills the table with a frozen copy of the same statement).

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
from acuhead.store.sql import count_true

BASELINE_DAYS = DEFAULT_OUTCOME_CONFIG.baseline_days
BLOCK_DAYS = DEFAULT_OUTCOME_CONFIG.block_days
BASELINE = -1
# Patients per progress step of a full rebuild.
PROGRESS_EVERY = 500

Progress = Callable[[int, int], None]


def _t(model: Any) -> Table:
    return cast(Table, model.__table__)


def _anchor_day_sql(dialect: str) -> str:
    """The local date of a patient's first session as a day number, in SQL (the same number
    as ``analytics.sql.day_number``, which ``store`` may not import)."""
    first = "MIN(treatment_sessions.start_local)"
    if dialect == "sqlite":
        return f"CAST(julianday(date({first})) - 2440587.5 AS INTEGER)"
    return f"(CAST({first} AS DATE) - DATE '1970-01-01')"


def _anchor(session: Session, patient_id: int) -> ColumnElement[Any]:
    """One patient's anchor day number as a scalar subquery, NULL when untreated (so every
    comparison with it is NULL and the statements using it touch nothing). Only sessions of
    the patient's own clinic count, as in ``analytics.cohort.anchors_cte``."""
    p, ts = _t(Patient), _t(TreatmentSessionRow)
    dialect = session.get_bind().dialect.name
    return (
        select(literal_column(_anchor_day_sql(dialect)))
        .select_from(ts.join(p, and_(p.c.id == ts.c.patient_id, ts.c.clinic_id == p.c.clinic_id)))
        .where(ts.c.patient_id == patient_id)
        .scalar_subquery()
    )


def _block(day_num: ColumnElement[Any], anchor: ColumnElement[Any]) -> ColumnElement[Any]:
    """The window of a day: -1 for the baseline, k for the k-th block. Days before the
    baseline are left out by the callers' ``day_num >= anchor - BASELINE_DAYS``."""
    rel = day_num - anchor
    return case((rel < 0, literal(BASELINE)), else_=rel // BLOCK_DAYS)


def day_unit_sums(du: Table) -> list[ColumnElement[Any]]:
    """The day-unit sums of a window in ``BlockCounts`` order: the one statement of them, read
    by the stored aggregates here and by the report's window scan (``analytics.cohort``)."""
    return [
        count_true(du.c.recorded),
        count_true(du.c.late),  # only recorded days have rows, so late implies recorded
        count_true(du.c.migraine),
        count_true(du.c.headache),
        count_true(du.c.moderate_severe),
        count_true(du.c.acute_med),
        count_true(du.c.migraine_specific_med),
        count_true(du.c.triptan),
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
        count_true(du.c.migraine_uncertain),
    ]


_COLUMNS: tuple[str, ...] = ("patient_id", "block", "clinic_id", *BlockCounts._fields)


def refresh_blocks(
    session: Session, patient_id: int, start: dt.date | None = None, end: dt.date | None = None
) -> None:
    """After the day units of ``start..end`` (inclusive; None: the whole diary) were replaced:
    sum again every window that range falls in. Call in the refresh's transaction, after its
    writes have been flushed. Two statements whatever the range (the anchor is a subquery of
    both, so a diary write costs no extra round trip to look it up); an untreated patient's
    statements touch nothing."""
    if start is None or end is None:
        rebuild_patient(session, patient_id)
        return
    agg, du = _t(BlockAggregateRow), _t(DayUnitRow)
    anchor = _anchor(session, patient_id)
    lo, hi = literal(day_number(start)), literal(day_number(end))
    first_block, last_block = _block(lo, anchor), _block(hi, anchor)
    session.execute(
        delete(agg).where(
            agg.c.patient_id == patient_id, agg.c.block.between(first_block, last_block)
        )
    )
    # The first day of the first window and the last day of the last one.
    day_lo = case((lo < anchor, anchor - BASELINE_DAYS), else_=anchor + first_block * BLOCK_DAYS)
    day_hi = case(
        (hi < anchor, anchor - 1), else_=anchor + last_block * BLOCK_DAYS + BLOCK_DAYS - 1
    )
    block = _block(du.c.day_num, anchor).label("block")
    grouped = (
        select(du.c.patient_id, block, du.c.clinic_id, *day_unit_sums(du))
        .where(
            du.c.patient_id == patient_id,
            du.c.day_num.between(day_lo, day_hi),
            du.c.day_num >= anchor - BASELINE_DAYS,
        )
        .group_by(du.c.patient_id, literal_column("block"), du.c.clinic_id)
    )
    session.execute(insert(agg).from_select(list(_COLUMNS), grouped))


def rebuild_patient(session: Session, patient_id: int) -> None:
    """Every window of one patient, from their day units and current anchor: after a session
    was written (the anchor may have moved) or a whole diary was rewritten."""
    agg = _t(BlockAggregateRow)
    session.execute(delete(agg).where(agg.c.patient_id == patient_id))
    _fill(session, patient_id, patient_id)


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
    block = _block(du.c.day_num, a.c.anchor).label("block")
    grouped = (
        select(du.c.patient_id, block, a.c.clinic_id, *day_unit_sums(du))
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
