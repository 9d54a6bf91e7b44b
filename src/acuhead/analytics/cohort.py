"""The outcome queries: anchors, 28-day window sums, questionnaires, sessions, adverse events.

Every query takes a :class:`Scope` (a clinic, optionally one practitioner's patients or one
patient) and returns plain values; no loop over patients or days runs in Python to produce a
cohort figure. The window sums are one grouped scan of ``day_units`` joined to each patient's
anchor (first treatment session):

    block = -1                          for days in [anchor - baseline_days, anchor)
    block = (day_num - anchor) / 28     for days from the anchor on (integer division)

When every window is at most 127 days (the defaults are 28), the scan sums the three packed
columns of ``day_units`` and takes each count out of its bit field (:func:`_packed_sums`):
reading and summing eighteen columns per diary day was most of the scan's cost. Longer
windows sum the plain columns, booleans with ``count_true`` (``SUM(x)`` on SQLite,
``COUNT(*) FILTER`` on PostgreSQL). On SQLite a large cohort is scanned in two patient ranges
on two connections (:func:`_window_rows`); see ``benchmarks/report_scale.py`` for what that
costs at 10,000 patients.

Tenancy: rows are reached only through the clinic's patients (``patients.clinic_id`` and
``treatment_sessions.clinic_id`` are filtered), never by a bare ``day_units`` scan. The join
deliberately carries no ``day_units.clinic_id = ?`` term: on SQLite that term would steer the
planner to the (clinic_id, day_num) index and a row lookup per day instead of reading each
patient's clustered rows in order.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Float,
    Select,
    Table,
    and_,
    case,
    distinct,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from acuhead.analytics.sql import day_number, packed_sum
from acuhead.domain.outcomes import (
    BASELINE,
    DEFAULT_OUTCOME_CONFIG,
    EMPTY_COUNTS,
    EPOCH,
    Block,
    BlockCounts,
    OutcomeConfig,
    PatientBlocks,
    make_block,
    patient_blocks,
)
from acuhead.store import block_aggregates
from acuhead.store.block_aggregates import day_unit_sums
from acuhead.store.db import concurrent_reader
from acuhead.store.models import (
    PACKED_FIELDS,
    PACKED_WINDOW_DAYS,
    AdverseEventRow,
    BlockAggregateRow,
    DayUnitRow,
    Patient,
    QuestionnaireRow,
    TreatmentSessionRow,
    User,
)
from acuhead.store.sql import count_true

Progress = Callable[[str], None]


def _t(model: Any) -> Table:
    return cast(Table, model.__table__)


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose outcomes: a clinic, narrowed to one practitioner's patients or one patient."""

    clinic_id: int
    practitioner_id: int | None = None
    patient_id: int | None = None


def _patient_filter(scope: Scope) -> list[ColumnElement[bool]]:
    p = _t(Patient)
    terms: list[ColumnElement[bool]] = [p.c.clinic_id == scope.clinic_id]
    if scope.practitioner_id is not None:
        terms.append(p.c.practitioner_id == scope.practitioner_id)
    if scope.patient_id is not None:
        terms.append(p.c.id == scope.patient_id)
    return terms


def anchors_cte(
    scope: Scope, patient_range: tuple[int, int] | None = None, *, scan: bool = False
) -> CTE:
    """Treated patients in scope with their anchor: the first session's local date as a day
    number, the number of sessions and the patient's practitioner.

    The day number is computed inside the grouped select, once per patient: were it outside,
    SQLite would flatten the CTE into the window scan and convert a date for every diary day.
    ``scan``: only the patient id and the anchor, grouped by the patient id alone, for the
    window scan. PostgreSQL then knows the id is unique in the CTE and hashes these 10,000
    rows to join the diary days to; grouped by (patient, practitioner) it hashed the 3.4 M
    diary days instead, which took a second longer.
    """
    ts, p = _t(TreatmentSessionRow), _t(Patient)
    where = [ts.c.clinic_id == scope.clinic_id, *_patient_filter(scope)]
    if patient_range is not None:
        where.append(ts.c.patient_id.between(*patient_range))
    anchor = day_number(func.min(ts.c.start_local)).label("anchor_num")
    if scan:
        columns: list[ColumnElement[Any]] = [ts.c.patient_id, anchor]
        groups: list[ColumnElement[Any]] = [ts.c.patient_id]
    else:
        columns = [ts.c.patient_id, p.c.practitioner_id, func.count().label("sessions"), anchor]
        groups = [ts.c.patient_id, p.c.practitioner_id]
    return (
        select(*columns)
        .select_from(ts.join(p, p.c.id == ts.c.patient_id))
        .where(*where)
        .group_by(*groups)
        .cte("anchors")
    )


def _count(flag: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(case((flag, 1), else_=0))


def packed_windows(config: OutcomeConfig) -> bool:
    """Whether every window of ``config`` fits the packed counters (at most 127 days)."""
    return max(config.baseline_days, config.block_days) <= PACKED_WINDOW_DAYS


def block_counts_select(
    scope: Scope,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
    patient_range: tuple[int, int] | None = None,
    *,
    packed: bool | None = None,
) -> Select[Any]:
    """One row per (patient, window) with the sums :class:`BlockCounts` holds, in its order.

    ``packed`` (default: whenever the windows fit, :func:`packed_windows`) sums the three
    packed columns of ``day_units`` and takes each count out of its bit field, instead of
    reading and summing fifteen columns. The rows are the same either way, except that a
    packed window holding a day outside the packed ranges has NULL attack and score sums
    (:func:`_packed_sums`; :func:`_window_rows` fills them in). Grouped by the output name
    ``block`` (valid on both engines; ``day_units`` has no such column) so the window
    expression is not evaluated a second time for the grouping.
    """
    if packed is None:
        packed = packed_windows(config)
    elif packed and not packed_windows(config):
        raise ValueError(f"windows longer than {PACKED_WINDOW_DAYS} days overflow the packing")
    du = _t(DayUnitRow)
    a = anchors_cte(scope, patient_range, scan=True)
    rel = du.c.day_num - a.c.anchor_num
    block = case((rel < 0, literal(-1)), else_=rel // config.block_days).label("block")
    sums = _packed_sums(du) if packed else day_unit_sums(du)
    return (
        select(du.c.patient_id, block, *sums)
        .select_from(du.join(a, a.c.patient_id == du.c.patient_id))
        .where(du.c.day_num >= a.c.anchor_num - config.baseline_days)
        .group_by(du.c.patient_id, literal_column("block"))
    )


def _int(value: int) -> ColumnElement[int]:
    return literal_column(str(value), BigInteger)


def _packed_sums(du: Table) -> list[ColumnElement[Any]]:
    """The sums of ``store.block_aggregates.day_unit_sums`` from the packed columns (layout:
    ``DayUnitRow``).

    ``packed_sum(col) / 2**shift % 2**width`` takes a field out (integer division of a
    non-negative BIGINT on both engines); one sum per column serves all its fields, so a row
    costs five aggregate steps instead of eighteen, and on SQLite, which groups through a
    sorter, five values per row in the sorter instead of fifteen.

    A window holding a day the packing could not hold (``unpacked_days``: none in a diary
    that passed validation) gets NULL for the attack and score sums: :func:`_window_rows`
    recounts that patient from the plain columns. Adding those days here instead, with
    ``SUM(x) FILTER (WHERE unpacked)`` per column, cost every row seven more values and made
    the SQLite scan a third slower.
    """
    totals = {c: packed_sum(du.c[c]) for c in ("flags", "attack_pack", "mech_pack")}

    def field(name: str) -> ColumnElement[Any]:
        f = PACKED_FIELDS[name]
        value: ColumnElement[Any] = totals[f.column]
        if f.shift:
            value = value // _int(1 << f.shift)
        return value % _int(1 << f.width)

    all_packed = field("unpacked_days") == 0

    def checked(name: str) -> ColumnElement[Any]:
        return case((all_packed, field(name)))

    return [
        field("recorded"),
        field("late"),
        field("migraine"),
        field("headache"),
        field("moderate_severe"),
        field("acute_med"),
        field("migraine_specific_med"),
        field("triptan"),
        checked("attacks_started"),
        checked("peak_sum"),
        checked("peak_n"),
        func.sum(du.c.headache_minutes),
        checked("stress_sum"),
        checked("stress_n"),
        checked("neck_tension_sum"),
        checked("neck_tension_n"),
        func.coalesce(func.sum(du.c.sleep_hours), 0.0),
        field("sleep_hours_n"),
        count_true(du.c.migraine_uncertain),
    ]


# Position in a window row of a sum that is NULL when the packed sums could not hold the
# window (see _packed_sums): patient id, block, then BlockCounts' ``attacks``.
_RECOUNT_MARK = 2 + BlockCounts._fields.index("attacks")


@dataclass(frozen=True, slots=True)
class Anchor:
    patient_id: int
    practitioner_id: int | None
    sessions: int
    anchor: dt.date


def anchors(session: Session, scope: Scope) -> list[Anchor]:
    a = anchors_cte(scope)
    rows = session.execute(
        select(a.c.patient_id, a.c.practitioner_id, a.c.sessions, a.c.anchor_num).order_by(
            a.c.patient_id
        )
    )
    return [
        Anchor(pid, prac, int(n), EPOCH + dt.timedelta(days=int(num))) for pid, prac, n, num in rows
    ]


def _counts(row: Sequence[Any]) -> BlockCounts:
    """The sums of one SQL row (after patient id and block), in :class:`BlockCounts` order.
    Every column is non-NULL (a group has at least one day; nullable sums are COALESCEd)."""
    return BlockCounts._make(row[2:])


# A cohort at least this large is scanned in parallel parts on SQLite (see _window_rows).
PARALLEL_MIN_PATIENTS = 2000
# PostgreSQL memory for the window scan's hash join and aggregate, for this transaction only:
# at the server default (4 MB) a 10,000-patient scan spills to disk and takes twice as long.
PG_WORK_MEM = "256MB"


def _window_rows(
    session: Session, scope: Scope, config: OutcomeConfig, patient_ids: Sequence[int]
) -> list[Any]:
    """The rows of :func:`block_counts_select` for the scope, every sum filled in.

    On SQLite a large cohort is split into contiguous patient-id ranges, one per core, each
    scanned on its own connection in a thread (SQLite runs a statement without holding the
    GIL), so a two-core machine halves the scan; PostgreSQL parallelises the one statement
    itself. The parts are disjoint and together the whole scope; each part reads its own
    snapshot, so a diary edited during those few seconds may appear in one part's state.
    A patient whose packed sums could not hold a window is counted again from the plain
    columns (:func:`_recount`).

    With the default windows the rows are read from ``block_aggregates`` instead (issue 17:
    kept equal to this scan on every write, ``store/block_aggregates.py``): one row per
    patient x window rather than every diary day.
    """
    if aggregated_windows(config):
        return _aggregate_rows(session, scope)
    return _recount(session, scope, config, _scan(session, scope, config, patient_ids))


def aggregated_windows(config: OutcomeConfig) -> bool:
    """Whether ``block_aggregates`` holds the windows of ``config`` (the default ones)."""
    return (config.baseline_days, config.block_days) == (
        block_aggregates.BASELINE_DAYS,
        block_aggregates.BLOCK_DAYS,
    )


def _aggregate_rows(session: Session, scope: Scope) -> list[Any]:
    """The stored window sums of the scope's patients, in :func:`block_counts_select`'s row
    shape. Reached through the clinic's patients (tenancy, as the scan)."""
    agg, p = _t(BlockAggregateRow), _t(Patient)
    return list(
        session.execute(
            select(agg.c.patient_id, agg.c.block, *(agg.c[f] for f in BlockCounts._fields))
            .select_from(agg.join(p, p.c.id == agg.c.patient_id))
            .where(*_patient_filter(scope))
        ).all()
    )


def _scan(
    session: Session, scope: Scope, config: OutcomeConfig, patient_ids: Sequence[int]
) -> list[Any]:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
    workers = min(2, os.cpu_count() or 1)
    if (
        bind.dialect.name != "sqlite"
        or workers < 2
        or len(patient_ids) < PARALLEL_MIN_PATIENTS
        or (bind.engine.url.database or ":memory:") == ":memory:"
    ):
        return list(session.execute(block_counts_select(scope, config)).all())
    size = -(-len(patient_ids) // workers)
    ranges = [
        (patient_ids[i], patient_ids[min(i + size, len(patient_ids)) - 1])
        for i in range(0, len(patient_ids), size)
    ]

    def part(bounds: tuple[int, int]) -> list[Any]:
        with concurrent_reader(bind) as conn:
            return list(conn.execute(block_counts_select(scope, config, bounds)).all())

    with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
        return [row for rows in pool.map(part, ranges) for row in rows]


def _recount(session: Session, scope: Scope, config: OutcomeConfig, rows: list[Any]) -> list[Any]:
    """Replace the rows of each patient with a window the packed sums could not hold (NULL
    sums, see :func:`_packed_sums`) by that patient's rows from the plain columns."""
    again = {row[0] for row in rows if row[_RECOUNT_MARK] is None}
    if not again:
        return rows
    kept = [row for row in rows if row[0] not in again]
    for patient_id in sorted(again):
        one = replace(scope, patient_id=patient_id)
        kept.extend(session.execute(block_counts_select(one, config, packed=False)).all())
    return kept


def cohort_blocks(
    session: Session,
    scope: Scope,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
    *,
    progress: Progress | None = None,
) -> list[PatientBlocks]:
    """Every treated patient in scope with their baseline and blocks, ordered by patient id.
    The per-patient outcome is this with ``scope.patient_id`` set: one code path."""
    treated = anchors(session, scope)
    if progress:
        progress("anchors")
    sums: dict[int, dict[int, BlockCounts]] = defaultdict(dict)
    for row in _window_rows(session, scope, config, [a.patient_id for a in treated]):
        sums[row[0]][row[1]] = _counts(row)
    if progress:
        progress("windows")
    return [
        patient_blocks(
            a.patient_id,
            a.anchor,
            sums.get(a.patient_id, {}),
            config,
            practitioner_id=a.practitioner_id,
            sessions=a.sessions,
        )
        for a in treated
    ]


class Endpoints(NamedTuple):
    """What the report's per-patient figures read of one treated patient: the baseline and
    the primary block. ``target`` is None beyond the last block with a recorded day, where
    :meth:`PatientBlocks.block` gives None too; inside that range an empty block is a Block
    with no recorded day, which no figure tells apart from None (neither is evaluable)."""

    patient_id: int
    practitioner_id: int | None
    baseline: Block
    target: Block | None

    @classmethod
    def of(cls, pb: PatientBlocks, config: OutcomeConfig) -> Endpoints:
        return cls(pb.patient_id, pb.practitioner_id, pb.baseline, pb.block(config.primary_block))


# One evaluable window as the report's trend reads it: block index, recorded days, migraine,
# headache and acute-medication days, then (sum, n) of stress, neck tension and sleep hours.
TrendWindow = tuple[int, int, int, int, int, float, int, float, int, float, int]


def trend_windows(cohort: Sequence[PatientBlocks]) -> list[TrendWindow]:
    """The evaluable windows of a scanned cohort, patient by patient, each patient's in index
    order (the order :func:`stored_trend_windows` gives and the trend's sums are taken in)."""
    out: list[TrendWindow] = []
    for pb in cohort:
        for b in (pb.baseline, *pb.blocks):
            if b.evaluable:
                c = b.counts
                out.append(
                    (
                        b.index,
                        c.recorded_days,
                        c.migraine_days,
                        c.headache_days,
                        c.acute_medication_days,
                        c.stress_sum,
                        c.stress_n,
                        c.neck_tension_sum,
                        c.neck_tension_n,
                        c.sleep_hours_sum,
                        c.sleep_hours_n,
                    )
                )
    return out


class StoredCohort(NamedTuple):
    """What the report reads per treated patient with the default windows, in one statement."""

    endpoints: list[Endpoints]
    # As :func:`session_relief_by_patient`: patients with scored sessions only.
    relief: dict[int, tuple[int, float]]
    # Sessions in scope, as :func:`adverse_events` counts them.
    sessions: int


def stored_cohort(
    session: Session, scope: Scope, config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
) -> StoredCohort:
    """:class:`Endpoints` of every treated patient in scope, ordered by patient id, from
    ``block_aggregates`` (default windows only: :func:`aggregated_windows`), with the session
    counts and relief sums the report needs.

    One statement: each patient's sessions grouped once (the anchor, the session count, the
    scored sessions and their summed relief: :func:`anchors_cte` plus
    :func:`session_relief_by_patient` in one pass), with the baseline row and the primary
    block's row of ``block_aggregates`` joined on the primary key, so the report reads two
    stored rows per patient, whatever the length of their follow-up, instead of every window
    (issue 17). The Blocks are judged by :func:`make_block`, as :func:`cohort_blocks` judges
    them.
    """
    if not aggregated_windows(config):
        raise ValueError("block_aggregates holds the default windows only")
    ts, p = _t(TreatmentSessionRow), _t(Patient)
    scored = and_(ts.c.pain_before.is_not(None), ts.c.pain_after.is_not(None))
    a = (
        select(
            ts.c.patient_id,
            p.c.practitioner_id,
            func.count().label("sessions"),
            day_number(func.min(ts.c.start_local)).label("anchor_num"),
            func.count(case((scored, literal(1)))).label("relief_n"),
            func.sum(case((scored, ts.c.pain_before - ts.c.pain_after))).label("relief_sum"),
        )
        .select_from(ts.join(p, p.c.id == ts.c.patient_id))
        .where(ts.c.clinic_id == scope.clinic_id, *_patient_filter(scope))
        .group_by(ts.c.patient_id, p.c.practitioner_id)
        .cte("anchors")
    )
    agg = _t(BlockAggregateRow)
    base, target = agg.alias("base"), agg.alias("target")
    fields = BlockCounts._fields
    rows = session.execute(
        select(
            a.c.patient_id,
            a.c.practitioner_id,
            a.c.anchor_num,
            a.c.sessions,
            a.c.relief_n,
            a.c.relief_sum,
            *(base.c[f] for f in fields),
            *(target.c[f] for f in fields),
        )
        .select_from(
            a.outerjoin(
                base, and_(base.c.patient_id == a.c.patient_id, base.c.block == BASELINE)
            ).outerjoin(
                target,
                and_(
                    target.c.patient_id == a.c.patient_id,
                    target.c.block == config.primary_block,
                ),
            )
        )
        .order_by(a.c.patient_id)
    ).all()
    width = len(fields)
    index = config.primary_block
    make = BlockCounts._make
    epoch = EPOCH.toordinal()
    from_ordinal = dt.date.fromordinal
    endpoints: list[Endpoints] = []
    relief: dict[int, tuple[int, float]] = {}
    sessions = 0
    for row in rows:
        pid = row[0]
        anchor = from_ordinal(epoch + int(row[2]))
        sessions += row[3]
        if row[4]:
            relief[pid] = (int(row[4]), float(row[5] or 0))
        b = row[6 : 6 + width]
        t = row[6 + width :]
        endpoints.append(
            Endpoints(
                pid,
                row[1],
                make_block(BASELINE, anchor, make(b) if b[0] is not None else EMPTY_COUNTS, config),
                make_block(index, anchor, make(t), config) if t[0] is not None else None,
            )
        )
    return StoredCohort(endpoints, relief, int(sessions))


# Per window index: [evaluable patients; the sums of the migraine, headache and
# acute-medication days per recorded day, each times the scale; then for stress and neck
# tension (the sum of the patients' means times the scale, patients with the measure); then
# sleep hours (the sum of the patients' means in billionths of an hour, patients with it)].
# All whole numbers: see trend_scale.
TrendSums = dict[int, list[int]]
TREND_WIDTH = 10
# Sleep hours are any number 0-24, so a patient's mean is no whole multiple of anything: it is
# counted in billionths of an hour, rounded half up with floor(x + 0.5) (the same IEEE
# operations in Python, SQLite and PostgreSQL: sum * 1e9, / n, + 0.5), far below the tenth of
# an hour the report shows.
SLEEP_UNITS = 1_000_000_000


def sleep_units(total: float, n: int) -> int:
    """A patient's mean sleep hours in a window, in billionths of an hour (see SLEEP_UNITS)."""
    return math.floor(total * 1e9 / n + 0.5)


def sleep_units_sql(
    total: ColumnElement[Any], n: ColumnElement[Any], dialect: str
) -> ColumnElement[int]:
    """:func:`sleep_units` in SQL, for ``n > 0``: the same three IEEE operations, then floor
    (SQLite's CAST truncates, and every value is positive; PostgreSQL's rounds, so floor()
    first)."""
    nano = total * literal(1e9, Float) / n + literal(0.5, Float)
    if dialect == "postgresql":
        nano = func.floor(nano)
    return cast_(nano, BigInteger)


@functools.cache
def trend_scale(config: OutcomeConfig) -> int:
    """The least common multiple of every window length up to the longest, so a per-patient
    rate or mean (a count over a count of days in the window) is a whole number times it.

    The trend's sums are then exact integers, the same whatever order the patients are added
    in, on every engine and on both paths: the database sums them itself and sends one row
    per window index, where float sums had to be added in patient order to come out bit for
    bit alike (issue 17: fetching and adding them was half the report at registry scale).
    The default windows (28 days) give lcm(1..28) = 80,313,433,200: a patient adds at most
    10 times that (a mean stress of 10), so a 64-bit sum holds eleven million patients."""
    return math.lcm(*range(1, max(config.baseline_days, config.block_days) + 1))


def trend_sums(windows: Iterable[TrendWindow], scale: int) -> TrendSums:
    """The trend's sums over evaluable windows, in any order (:func:`trend_scale` for
    ``scale``): the hot loop of a scanned report."""
    acc: TrendSums = {}
    for index, recorded, mig, head, acute, s_sum, s_n, n_sum, n_n, sl_sum, sl_n in windows:
        row = acc.get(index)
        if row is None:
            row = acc[index] = [0] * TREND_WIDTH
        per = scale // recorded
        row[0] += 1
        row[1] += mig * per
        row[2] += head * per
        row[3] += acute * per
        # Stress and neck tension are whole numbers 0-10 (domain.diary), so are their sums.
        if s_n:
            row[4] += int(s_sum) * (scale // s_n)
            row[5] += 1
        if n_n:
            row[6] += int(n_sum) * (scale // n_n)
            row[7] += 1
        if sl_n:
            row[8] += sleep_units(sl_sum, sl_n)
            row[9] += 1
    return acc


def stored_trend_sums(
    session: Session, scope: Scope, config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
) -> TrendSums:
    """:func:`trend_sums` of the treated patients in scope from ``block_aggregates`` (default
    windows only: :func:`aggregated_windows`), over the evaluable windows: one grouped
    statement of integer ``SUM``s, one row per window index.

    Evaluable is :func:`make_block`'s rule in integers (recorded days, and compliance of at
    least ``min_compliance`` unless the policy prorates), so the windows the trend cannot use
    are never read.
    """
    if not aggregated_windows(config):
        raise ValueError("block_aggregates holds the default windows only")
    agg, p = _t(BlockAggregateRow), _t(Patient)
    recorded = agg.c.recorded_days
    days = case(
        (agg.c.block == BASELINE, literal(config.baseline_days)),
        else_=literal(config.block_days),
    )
    # Every stored row belongs to a treated patient of the row's clinic (the table is kept
    # equal to the scan joined to the anchors); reached through the scope's patients.
    in_scope = agg.c.patient_id.in_(select(p.c.id).where(*_patient_filter(scope)))
    where = [in_scope, recorded > 0]
    if not config.prorate_low_compliance:
        where.append(recorded * 1_000_000 >= days * config.min_compliance_ppm)
    scale = literal(trend_scale(config), BigInteger)

    def scaled(total: ColumnElement[Any], n: ColumnElement[Any]) -> ColumnElement[Any]:
        # scale // n is exact: every n (days in a window) divides the scale.
        return func.coalesce(func.sum(case((n > 0, total * (scale // n)))), 0)

    def counted(n: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.count(case((n > 0, literal(1))))

    def per_recorded_day(total: ColumnElement[Any]) -> ColumnElement[Any]:
        # The WHERE clause keeps only windows with recorded days: no CASE needed per row.
        return func.coalesce(func.sum(total * (scale // recorded)), 0)

    sleep_n = agg.c.sleep_hours_n
    nano = sleep_units_sql(agg.c.sleep_hours_sum, sleep_n, session.get_bind().dialect.name)
    columns: list[ColumnElement[Any]] = [
        func.count(),
        per_recorded_day(agg.c.migraine_days),
        per_recorded_day(agg.c.headache_days),
        per_recorded_day(agg.c.acute_medication_days),
        scaled(agg.c.stress_sum, agg.c.stress_n),
        counted(agg.c.stress_n),
        scaled(agg.c.neck_tension_sum, agg.c.neck_tension_n),
        counted(agg.c.neck_tension_n),
        func.coalesce(func.sum(case((sleep_n > 0, nano))), 0),
        counted(sleep_n),
    ]
    rows = session.execute(select(agg.c.block, *columns).where(*where).group_by(agg.c.block))
    return {int(index): [int(v) for v in values] for index, *values in rows}


# --------------------------------------------------------------------------- questionnaires


@dataclass(frozen=True, slots=True)
class QuestionnaireEnds:
    """First and latest score of one instrument for one patient."""

    patient_id: int
    instrument: str
    n: int
    first_on: dt.date
    first_total: float
    first_band: str
    latest_on: dt.date
    latest_total: float
    latest_band: str


def questionnaire_ends(session: Session, scope: Scope) -> list[QuestionnaireEnds]:
    """First and latest questionnaire per patient and instrument (window functions)."""
    q, p = _t(QuestionnaireRow), _t(Patient)
    part = (q.c.patient_id, q.c.instrument)
    ranked = (
        select(
            q.c.patient_id,
            q.c.instrument,
            q.c.completed_on,
            q.c.total,
            q.c.band,
            func.row_number()
            .over(partition_by=part, order_by=(q.c.completed_on, q.c.id))
            .label("rn_first"),
            func.row_number()
            .over(partition_by=part, order_by=(q.c.completed_on.desc(), q.c.id.desc()))
            .label("rn_last"),
            func.count().over(partition_by=part).label("n"),
        )
        .select_from(q.join(p, p.c.id == q.c.patient_id))
        .where(q.c.clinic_id == scope.clinic_id, *_patient_filter(scope))
        .subquery("ranked")
    )
    rows = session.execute(
        select(ranked)
        .where(or_(ranked.c.rn_first == 1, ranked.c.rn_last == 1))
        .order_by(ranked.c.patient_id, ranked.c.instrument, ranked.c.rn_first)
    )
    firsts: dict[tuple[int, str], Any] = {}
    lasts: dict[tuple[int, str], Any] = {}
    for r in rows:
        key = (r.patient_id, r.instrument)
        if r.rn_first == 1:
            firsts[key] = r
        if r.rn_last == 1:
            lasts[key] = r
    out = []
    for key, f in firsts.items():
        last = lasts[key]
        out.append(
            QuestionnaireEnds(
                key[0],
                key[1],
                int(f.n),
                f.completed_on,
                float(f.total),
                f.band,
                last.completed_on,
                float(last.total),
                last.band,
            )
        )
    return out


# --------------------------------------------------------------------------- sessions


def _session_scope(scope: Scope) -> tuple[Any, list[ColumnElement[bool]]]:
    ts, p = _t(TreatmentSessionRow), _t(Patient)
    return ts.join(p, p.c.id == ts.c.patient_id), [
        ts.c.clinic_id == scope.clinic_id,
        *_patient_filter(scope),
    ]


def session_relief_values(session: Session, scope: Scope) -> list[tuple[int, int]]:
    """(patient id, pain before - pain after) of every session with both scores."""
    ts = _t(TreatmentSessionRow)
    joined, where = _session_scope(scope)
    rows = session.execute(
        select(ts.c.patient_id, ts.c.pain_before - ts.c.pain_after)
        .select_from(joined)
        .where(*where, ts.c.pain_before.is_not(None), ts.c.pain_after.is_not(None))
        .order_by(ts.c.patient_id, ts.c.start_local)
    )
    return [(int(pid), int(diff)) for pid, diff in rows]


def session_relief_by_patient(session: Session, scope: Scope) -> dict[int, tuple[int, float]]:
    """Per patient: sessions with both scores and their summed relief (before - after)."""
    ts = _t(TreatmentSessionRow)
    joined, where = _session_scope(scope)
    rows = session.execute(
        select(ts.c.patient_id, func.count(), func.sum(ts.c.pain_before - ts.c.pain_after))
        .select_from(joined)
        .where(*where, ts.c.pain_before.is_not(None), ts.c.pain_after.is_not(None))
        .group_by(ts.c.patient_id)
    )
    return {int(pid): (int(n), float(total or 0)) for pid, n, total in rows}


@dataclass(frozen=True, slots=True)
class SafetyCounts:
    sessions: int
    events: int
    serious: int
    sessions_with_event: int


def adverse_events(session: Session, scope: Scope, sessions: int | None = None) -> SafetyCounts:
    """Sessions in scope and their adverse events (STRICTA 6; CLINICAL.md 6). ``sessions``:
    the count when the caller has it already (:func:`stored_cohort`)."""
    ae, p = _t(AdverseEventRow), _t(Patient)
    if sessions is None:
        joined, where = _session_scope(scope)
        sessions = session.scalar(select(func.count()).select_from(joined).where(*where)) or 0
    row = session.execute(
        select(
            func.count(),
            _count(ae.c.serious),
            func.count(distinct(ae.c.session_id)),
        )
        .select_from(ae.join(p, p.c.id == ae.c.patient_id))
        .where(ae.c.clinic_id == scope.clinic_id, *_patient_filter(scope))
    ).one()
    return SafetyCounts(int(sessions), int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def practitioner_names(session: Session, clinic_id: int) -> dict[int, str]:
    u = _t(User)
    rows = session.execute(
        select(u.c.id, u.c.name).where(u.c.clinic_id == clinic_id, u.c.role == "practitioner")
    )
    return {int(i): str(n) for i, n in rows}
