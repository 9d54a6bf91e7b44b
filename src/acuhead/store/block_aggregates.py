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
import functools
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
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
    writes have been flushed.

    The anchor is read first: an untreated patient, or a range wholly before the baseline,
    costs that one indexed read and nothing else. The windows are then plain arithmetic on
    day numbers, and the two statements that follow are built once with bound parameters:
    built per call with the anchor as a subquery, composing them and computing their cache
    keys cost about 3 ms of CPU per diary write, twice the rest of the write, and PostgreSQL
    planned the repeated subquery ten times (issue 17; benchmarks/write_path.py)."""
    if start is None or end is None:
        rebuild_patient(session, patient_id)
        return
    dialect = session.get_bind().dialect.name
    anchor_stmt, delete_stmt, insert_stmt = _refresh_statements(dialect)
    anchor = session.execute(anchor_stmt, {"pid": patient_id}).scalar()
    if anchor is None:
        return
    lo, hi = max(day_number(start), anchor - BASELINE_DAYS), day_number(end)
    if hi < lo:
        return
    first, last = _block_of(lo, anchor), _block_of(hi, anchor)
    # The first day of the first window and the last day of the last one.
    day_lo = anchor - BASELINE_DAYS if first == BASELINE else anchor + first * BLOCK_DAYS
    day_hi = anchor - 1 if last == BASELINE else anchor + last * BLOCK_DAYS + BLOCK_DAYS - 1
    params = {"pid": patient_id, "anchor": anchor, "b0": first, "b1": last}
    session.execute(delete_stmt, params)
    session.execute(insert_stmt, {**params, "d0": day_lo, "d1": day_hi})


def _block_of(day_num: int, anchor: int) -> int:
    """:func:`_block` in Python, for a day on or after the baseline's first day."""
    return BASELINE if day_num < anchor else (day_num - anchor) // BLOCK_DAYS


@functools.cache
def _refresh_statements(dialect: str) -> tuple[Executable, Executable, Executable]:
    """The anchor lookup, the delete and the re-sum of :func:`refresh_blocks`, built once per
    dialect (the hot path of every diary write)."""
    p, ts = _t(Patient), _t(TreatmentSessionRow)
    agg, du = _t(BlockAggregateRow), _t(DayUnitRow)
    pid = bindparam("pid", type_=Integer)
    anchor_of: Select[tuple[Any]] = (
        select(literal_column(_anchor_day_sql(dialect)))
        .select_from(ts.join(p, and_(p.c.id == ts.c.patient_id, ts.c.clinic_id == p.c.clinic_id)))
        .where(ts.c.patient_id == pid)
    )
    remove = delete(agg).where(
        agg.c.patient_id == pid,
        agg.c.block.between(bindparam("b0", type_=Integer), bindparam("b1", type_=Integer)),
    )
    block = _block(du.c.day_num, bindparam("anchor", type_=Integer)).label("block")
    grouped = (
        select(du.c.patient_id, block, du.c.clinic_id, *day_unit_sums(du))
        .where(
            du.c.patient_id == pid,
            du.c.day_num.between(bindparam("d0", type_=Integer), bindparam("d1", type_=Integer)),
        )
        .group_by(du.c.patient_id, literal_column("block"), du.c.clinic_id)
    )
    return anchor_of, remove, insert(agg).from_select(list(_COLUMNS), grouped)


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
        # The range again on the day units, so every engine reads them by their key: joined
        # through the anchors alone, PostgreSQL at 100,000 patients hashed all 34 M day units
        # for each range of 500 (10 s a range, 200 ranges).
        .where(du.c.patient_id.between(lo, hi), du.c.day_num >= a.c.anchor - BASELINE_DAYS)
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
