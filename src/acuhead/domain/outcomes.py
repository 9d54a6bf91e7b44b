"""Trial-grade outcome arithmetic: diary days, 28-day blocks, change from baseline, responders.

Pure rules, no I/O. The set-based SQL in :mod:`acuhead.analytics` sums materialised day rows
(:func:`day_records`) into :class:`BlockCounts`; everything said *about* those sums (compliance,
rates per 28 days, change, responder status, confidence intervals, benchmarks) is decided here,
once, for the per-patient page and the clinic report alike.

Rules and their sources:

* **Diary days** are counted by :func:`acuhead.domain.dayunits.day_units` under a named policy
  (default ``vdArend2023``, CLINICAL.md 1.x). A day with no entry is *missing*, never
  headache-free (CLINICAL.md 0.4).
* **Windows** (DESIGN.md glossary; CLINICAL.md 3): the anchor is the first treatment session; the
  baseline is the ``baseline_days`` (28) before it, prospective, from the same diary (IHS
  preventive-trial guideline, Diener et al., Cephalalgia 2020;40(10):1026-1044 [R: ">= 4 weeks"]);
  then consecutive ``block_days`` (28) blocks from the anchor. Block 2 covers weeks 9-12, the
  window of the EM primary endpoint [R] and of the WHAT! trial protocol [V] (CLINICAL.md 3).
* **Monthly figures are per 28 days.** rate = count / recorded days x 28 (CLINICAL.md 3 [R]).
  A block under ``min_compliance`` (80 % [R], CLINICAL.md 3) is flagged ``low_compliance`` and
  gets no rate unless the policy allows prorating it (``prorate_low_compliance``): never
  silently scaled (DESIGN.md glossary). The raw counts are always given.
* **Responders** (CLINICAL.md 3): >= 30/50/75/100 % reduction in monthly migraine days from
  baseline (50 % the EM standard; 30 % described for CM; 75 and 100 % secondary [R]). Unknown
  (None) when the baseline or the block is not evaluable or the baseline has no migraine day.
* **Late entries**: a day whose entry was recorded more than 48 h after the end of that local
  day is *late* (recall bias; issue 5). The entry time is the day entry's ``recorded_at``; a day
  known only from an attack record uses the earliest recording time of the attacks on it.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from acuhead.domain.dayunits import (
    VD_AREND_2023,
    AttackDates,
    DayUnits,
    DayUnitsPolicy,
    attack_dates,
    day_units,
)
from acuhead.domain.diary import Diary
from acuhead.domain.ichd3 import (
    AttackClassification,
)
from acuhead.domain.stats import mean_ci, wilson_interval
from acuhead.errors import FieldError, ValidationError

EPOCH = dt.date(1970, 1, 1)
LATE_AFTER = dt.timedelta(hours=48)
RESPONDER_THRESHOLDS: tuple[int, ...] = (30, 50, 75, 100)


def day_number(day: dt.date) -> int:
    """Whole days since 1970-01-01 (the ``day_num`` column; SQL ``day_number``)."""
    return (day - EPOCH).days


# --------------------------------------------------------------------------- diary days


class DayRecord(NamedTuple):
    """One recorded day: the trial day units plus what a block sums.

    ``attacks_started``/``peak_sum``/``peak_n`` count attacks whose local start falls on the day
    (an attack is one event, even over midnight); ``headache_minutes`` is the part of every
    attack that falls on this local day, overlapping attacks counted once, attacks without an
    end or duration counted as 0 minutes (unknown, not invented). Elapsed time: on a
    daylight-saving change day the local day has 23 or 25 hours (docs/clinical-rules.md).

    A named tuple for speed, as `dayunits.DayUnits`: one per recorded day of every diary.
    """

    units: DayUnits
    attacks_started: int = 0
    peak_sum: int = 0
    peak_n: int = 0
    headache_minutes: int = 0
    late: bool = False
    stress: int | None = None
    sleep_hours: float | None = None
    neck_tension: int | None = None
    menstruating: bool | None = None

    @property
    def date(self) -> dt.date:
        return self.units.date


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@functools.lru_cache(maxsize=4096)
def day_end_utc(day: dt.date, timezone: str) -> dt.datetime:
    """The end of a local calendar day (next local midnight) as naive UTC. Cached: a large
    import asks it a few times for each of thousands of days (issue 13 item 5)."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=_zone(timezone))
    return midnight.astimezone(dt.UTC).replace(tzinfo=None)


def _merged_minutes(intervals: list[tuple[dt.datetime, dt.datetime]]) -> int:
    total = dt.timedelta()
    current: tuple[dt.datetime, dt.datetime] | None = None
    for lo, hi in sorted(intervals):
        if current is None or lo > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (lo, hi)
        elif hi > current[1]:
            current = (current[0], hi)
    if current is not None:
        total += current[1] - current[0]
    return int(total.total_seconds() // 60)


def day_records(
    diary: Diary,
    start: dt.date,
    end: dt.date,
    policy: DayUnitsPolicy = VD_AREND_2023,
    *,
    attack_recorded_utc: Sequence[dt.datetime | None] | None = None,
    late_after: dt.timedelta = LATE_AFTER,
    has_migraine: bool | None = None,
    classifications: dict[int, AttackClassification] | None = None,
    dates: Sequence[AttackDates] | None = None,
) -> list[DayRecord]:
    """One :class:`DayRecord` per *recorded* day from ``start`` to ``end`` inclusive.

    ``attack_recorded_utc[i]`` is when ``diary.attacks[i]`` was recorded (naive UTC), used to
    judge lateness of days that have no day entry of their own. Missing days are left out: the
    caller stores no row for them (CLINICAL.md 0.4). ``has_migraine``: the patient's migraine
    diagnosis over the whole diary (see `dayunits.day_units`), when ``diary`` is only part of it.
    ``classifications``: as for :func:`~acuhead.domain.dayunits.day_units` (attacks a caller
    already classified). ``dates``: the attacks' `dayunits.attack_dates`, from a caller that
    needs them too (else worked out here).
    """
    # Each attack on the patient's clock once (`attack_dates`), for day_units and the loop
    # below.
    patient = diary.patient
    if dates is None:
        dates = [attack_dates(a, patient) for a in diary.attacks]
    units = day_units(
        diary,
        start,
        end,
        policy,
        has_migraine=has_migraine,
        classifications=classifications,
        dates=dates,
    )
    entries = {d.date: d for d in diary.days if start <= d.date <= end}
    started: dict[dt.date, list[int]] = {}  # attacks started, peak sum, peaks known
    intervals: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = {}
    attack_seen: dict[dt.date, dt.datetime] = {}
    one_day = dt.timedelta(days=1)
    timezone = patient.timezone

    for index, attack in enumerate(diary.attacks):
        # Headache minutes are elapsed time (docs/clinical-rules.md): intervals in naive UTC, each
        # local day cut at its own local midnights (a change day has 23 or 25 hours).
        where = dates[index]
        begin, finish = where.start_utc, where.end_utc
        first = where.start.date()
        if start <= first <= end:
            tally = started.setdefault(first, [0, 0, 0])
            tally[0] += 1
            if attack.peak is not None:
                tally[1] += attack.peak
                tally[2] += 1
        seen = None
        if attack_recorded_utc is not None and index < len(attack_recorded_utc):
            value = attack_recorded_utc[index]
            seen = _naive_utc(value) if value is not None else None
        days = _within(where.days, start, end)
        if seen is not None:
            for day in days + [t for t in where.doses if t is not None and start <= t <= end]:
                earliest = attack_seen.get(day)
                if earliest is None or seen < earliest:
                    attack_seen[day] = seen
        if finish is None or finish <= begin:
            continue
        for day in days:
            lo = max(begin, day_end_utc(day - one_day, timezone))
            hi = min(finish, day_end_utc(day, timezone))
            if hi > lo:
                intervals.setdefault(day, []).append((lo, hi))

    out: list[DayRecord] = []
    for unit in units:
        if not unit.recorded:
            continue
        day = unit.date
        entry = entries.get(day)
        at = None if entry is None else entry.recorded_at
        evidence = (
            attack_seen.get(day) if at is None else at if at.tzinfo is None else _naive_utc(at)
        )
        late = evidence is not None and evidence > day_end_utc(day, timezone) + late_after
        began: Sequence[int] = started.get(day) or _NONE_STARTED
        pieces = intervals.get(day)
        minutes = _merged_minutes(pieces) if pieces else 0
        if entry is None:
            out.append(DayRecord(unit, began[0], began[1], began[2], minutes, late))
        else:
            out.append(
                DayRecord(
                    unit,
                    began[0],
                    began[1],
                    began[2],
                    minutes,
                    late,
                    entry.stress,
                    entry.sleep_hours,
                    entry.neck_tension,
                    entry.menstruating,
                )
            )
    return out


_NONE_STARTED = (0, 0, 0)  # attacks started, their peaks' sum and count, on a day none began


def _within(days: list[dt.date], start: dt.date, end: dt.date) -> list[dt.date]:
    """The dates (ascending) from ``start`` to ``end``; the list itself when all are (most
    attacks lie inside the range counted)."""
    if days and start <= days[0] and days[-1] <= end:
        return days
    return [d for d in days if start <= d <= end]


def diary_extent(
    diary: Diary, dates: Sequence[AttackDates] | None = None
) -> tuple[dt.date, dt.date] | None:
    """First and last local date the diary says anything about (entries, attack days, doses).
    ``dates``: the attacks' `dayunits.attack_dates`, when the caller has them."""
    if dates is None:
        dates = [attack_dates(a, diary.patient) for a in diary.attacks]
    found = [d.date for d in diary.days]
    for where in dates:
        found.extend(where.days)
        found.extend(t for t in where.doses if t is not None)
    if not found:
        return None
    return min(found), max(found)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class OutcomeConfig:
    """How windows, compliance and responders are defined. Defaults follow CLINICAL.md 3; the
    figures marked [R] there are unverified against the guideline text, hence configurable.

    * ``baseline_days`` 28: prospective baseline >= 4 weeks [R].
    * ``block_days`` 28: "monthly" means per 28 days (DESIGN.md glossary).
    * ``min_compliance`` 0.8: >= 80 % diary days at baseline is a common trial rule [R].
    * ``prorate_low_compliance`` False: a low-compliance block gets no rate (flag, not scale).
    * ``primary_block`` 2: weeks 9-12 after the first session [R IHS EM; V WHAT! protocol].
    * ``responder_thresholds`` 30/50/75/100 % reduction in monthly migraine days.
    * ``level`` 0.95: coverage of every confidence interval.
    """

    baseline_days: int = 28
    block_days: int = 28
    min_compliance: float = 0.8
    prorate_low_compliance: bool = False
    primary_block: int = 2
    responder_thresholds: tuple[int, ...] = RESPONDER_THRESHOLDS
    level: float = 0.95

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if not 1 <= self.baseline_days <= 366:
            errors.append(FieldError("baseline_days", "must be between 1 and 366"))
        if not 1 <= self.block_days <= 366:
            errors.append(FieldError("block_days", "must be between 1 and 366"))
        if not 0.0 < self.min_compliance <= 1.0:
            errors.append(FieldError("min_compliance", "must be in (0, 1]"))
        if not 0 <= self.primary_block <= 120:
            errors.append(FieldError("block", "must be between 0 and 120"))
        if not self.responder_thresholds or any(
            not 1 <= t <= 100 for t in self.responder_thresholds
        ):
            errors.append(FieldError("responder_thresholds", "each must be 1-100 (percent)"))
        if not 0.0 < self.level < 1.0:
            errors.append(FieldError("level", "must be strictly between 0 and 1"))
        if errors:
            raise ValidationError(errors)

    @property
    def min_compliance_ppm(self) -> int:
        """The minimum compliance in parts per million, for exact integer comparison."""
        return round(self.min_compliance * 1_000_000)

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline_days": self.baseline_days,
            "block_days": self.block_days,
            "min_compliance": self.min_compliance,
            "prorate_low_compliance": self.prorate_low_compliance,
            "primary_block": self.primary_block,
            "responder_thresholds": list(self.responder_thresholds),
            "level": self.level,
        }


DEFAULT_OUTCOME_CONFIG = OutcomeConfig()


# --------------------------------------------------------------------------- blocks


class BlockCounts(NamedTuple):
    """What the SQL sums over one window of one patient (only recorded days have rows)."""

    recorded_days: int = 0
    late_days: int = 0
    migraine_days: int = 0
    headache_days: int = 0
    moderate_severe_days: int = 0
    acute_medication_days: int = 0
    migraine_specific_medication_days: int = 0
    triptan_days: int = 0
    attacks: int = 0
    peak_sum: int = 0
    peak_n: int = 0
    headache_minutes: int = 0
    stress_sum: float = 0.0
    stress_n: int = 0
    neck_tension_sum: float = 0.0
    neck_tension_n: int = 0
    sleep_hours_sum: float = 0.0
    sleep_hours_n: int = 0
    # Recorded days whose migraine status is unknown (issue 12 item 8): not in migraine_days.
    migraine_uncertain_days: int = 0


EMPTY_COUNTS = BlockCounts()

# Counted measures that get a per-28-day rate, in output order.
COUNT_MEASURES: tuple[str, ...] = (
    "migraine_days",
    "headache_days",
    "moderate_severe_days",
    "acute_medication_days",
    "migraine_specific_medication_days",
    "triptan_days",
    "attacks",
)
MECHANISM_MEASURES: tuple[str, ...] = ("stress", "neck_tension", "sleep_hours")
BASELINE = -1
PER_DAYS = 28  # "monthly" figures are per 28 days whatever the block length (DESIGN.md)


def block_bounds(index: int, anchor: dt.date, config: OutcomeConfig) -> tuple[dt.date, dt.date]:
    """First and last local date of a window: index -1 is the baseline, 0.. the blocks."""
    if index == BASELINE:
        return anchor - dt.timedelta(days=config.baseline_days), anchor - dt.timedelta(days=1)
    first = anchor + dt.timedelta(days=index * config.block_days)
    return first, first + dt.timedelta(days=config.block_days - 1)


def block_label(index: int, config: OutcomeConfig) -> str:
    if index == BASELINE:
        return f"baseline ({config.baseline_days} days before the first session)"
    lo, hi = index * config.block_days + 1, (index + 1) * config.block_days
    if config.block_days % 7 == 0:
        return f"weeks {(lo - 1) // 7 + 1}-{hi // 7}"
    return f"days {lo}-{hi}"


@dataclass(slots=True)
class Block:
    """One window with its counts and what may be said about them. Treat as immutable.

    Not frozen on purpose: a registry report builds one per patient and window (about 140,000
    for 10,000 patients over a year) and a frozen dataclass's ``__init__`` costs several times
    more. Dates are derived from the anchor on demand.
    """

    index: int
    anchor: dt.date
    counts: BlockCounts
    config: OutcomeConfig
    days: int
    low_compliance: bool
    evaluable: bool  # a rate may be given: recorded days and compliance, or policy prorates

    @property
    def start(self) -> dt.date:
        return block_bounds(self.index, self.anchor, self.config)[0]

    @property
    def end(self) -> dt.date:
        return block_bounds(self.index, self.anchor, self.config)[1]

    @property
    def compliance(self) -> float:
        return self.counts.recorded_days / self.days

    @property
    def prorated_low_compliance(self) -> bool:
        return self.low_compliance and self.evaluable

    def rate(self, count: float) -> float | None:
        """count per 28 recorded days, or None when the block is not evaluable."""
        if not self.evaluable:
            return None
        return count * PER_DAYS / self.counts.recorded_days

    def measure(self, name: str) -> float:
        if name == "headache_hours":
            return self.counts.headache_minutes / 60
        return float(getattr(self.counts, name))

    def rate_of(self, name: str) -> float | None:
        return self.rate(self.measure(name))

    @property
    def migraine_rate(self) -> float | None:
        """Monthly migraine days (per 28), the primary endpoint; the hot path of the report."""
        c = self.counts
        return c.migraine_days * PER_DAYS / c.recorded_days if self.evaluable else None

    @property
    def headache_rate(self) -> float | None:
        c = self.counts
        return c.headache_days * PER_DAYS / c.recorded_days if self.evaluable else None

    @property
    def mean_peak_intensity(self) -> float | None:
        c = self.counts
        return c.peak_sum / c.peak_n if c.peak_n else None

    def mean_of(self, name: str) -> float | None:
        """Mean of a mechanism measure over the recorded days that carry it (missing skipped)."""
        total: float = getattr(self.counts, f"{name}_sum")
        n: int = getattr(self.counts, f"{name}_n")
        return total / n if n else None

    @property
    def late_share(self) -> float | None:
        c = self.counts
        return c.late_days / c.recorded_days if c.recorded_days else None

    def as_dict(self, config: OutcomeConfig | None = None) -> dict[str, Any]:
        c = self.counts
        start, end = block_bounds(self.index, self.anchor, self.config)
        out: dict[str, Any] = {
            "index": self.index,
            "label": block_label(self.index, config or self.config),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": self.days,
            "recorded_days": c.recorded_days,
            "compliance": self.compliance,
            "low_compliance": self.low_compliance,
            "evaluable": self.evaluable,
            "prorated_low_compliance": self.prorated_low_compliance,
            "late_days": c.late_days,
            "late_share": self.late_share,
        }
        for name in COUNT_MEASURES:
            out[name] = getattr(c, name)
        # Issue 12 item 8: the known migraine-day count beside the days left uncertain.
        out["migraine_days_uncertain"] = c.migraine_uncertain_days
        out["migraine_known_days"] = c.recorded_days - c.migraine_uncertain_days
        out["headache_hours"] = c.headache_minutes / 60
        out["mean_peak_intensity"] = self.mean_peak_intensity
        for name in (*COUNT_MEASURES, "headache_hours"):
            out[f"{name}_per_28"] = self.rate_of(name)
        for name in MECHANISM_MEASURES:
            out[f"{name}_mean"] = self.mean_of(name)
            out[f"{name}_days"] = getattr(c, f"{name}_n")
        return out


def make_block(
    index: int, anchor: dt.date, counts: BlockCounts, config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
) -> Block:
    """Judge one window: compliance = recorded days / window days (DESIGN.md glossary)."""
    days = config.baseline_days if index == BASELINE else config.block_days
    recorded = counts.recorded_days
    # Compare in integers so 0.8 x 28 = 22.4 needs 23 days, without float noise at the edge.
    low = recorded * 1_000_000 < config.min_compliance_ppm * days
    evaluable = recorded > 0 and (not low or config.prorate_low_compliance)
    return Block(index, anchor, counts, config, days, low, evaluable)


CHANGE_KEYS: tuple[str, ...] = (
    *(f"{name}_per_28" for name in (*COUNT_MEASURES, "headache_hours")),
    "migraine_days_percent",
    "mean_peak_intensity",
    *(f"{name}_mean" for name in MECHANISM_MEASURES),
)


def change_from_baseline(baseline: Block | None, block: Block | None) -> dict[str, float | None]:
    """Block minus baseline for each rate per 28 days, mean peak and mechanism means
    (:data:`CHANGE_KEYS`). None where either side is unknown. ``migraine_days_percent`` is the
    relative change in the monthly migraine-day rate (negative = fewer), None when the baseline
    has none.
    """
    if baseline is None or block is None:
        return dict.fromkeys(CHANGE_KEYS)

    def diff(b: float | None, t: float | None) -> float | None:
        return None if b is None or t is None else t - b

    out: dict[str, float | None] = {}
    for name in (*COUNT_MEASURES, "headache_hours"):
        out[f"{name}_per_28"] = diff(baseline.rate_of(name), block.rate_of(name))
    b_mmd = baseline.rate_of("migraine_days")
    t_mmd = block.rate_of("migraine_days")
    out["migraine_days_percent"] = (
        None if b_mmd is None or t_mmd is None or b_mmd == 0 else (t_mmd - b_mmd) / b_mmd * 100
    )
    out["mean_peak_intensity"] = diff(baseline.mean_peak_intensity, block.mean_peak_intensity)
    for name in MECHANISM_MEASURES:
        out[f"{name}_mean"] = diff(baseline.mean_of(name), block.mean_of(name))
    return out


def responder(
    baseline: Block | None,
    block: Block | None,
    thresholds: Iterable[int] = RESPONDER_THRESHOLDS,
) -> dict[str, bool | None]:
    """``{"50": True, ...}``: did monthly migraine days fall by at least each threshold percent?

    Computed on known days (issue 12 item 8): a day whose migraine status the diary leaves
    uncertain is in neither the count nor the denominator (`responder_basis` says how many).
    Exact integer arithmetic on the counts: with rates b = cb*28/rb and t = ct*28/rt, a fall of
    at least p % means 100 (b - t) >= p b, i.e. 100 (cb rt - ct rb) >= p cb rt. None when either
    window is not evaluable or the baseline has no migraine day (a reduction is undefined).
    """
    keys = [str(t) for t in thresholds]
    if baseline is None or block is None or not baseline.evaluable or not block.evaluable:
        return dict.fromkeys(keys)
    cb = baseline.counts.migraine_days
    rb = baseline.counts.recorded_days - baseline.counts.migraine_uncertain_days
    ct = block.counts.migraine_days
    rt = block.counts.recorded_days - block.counts.migraine_uncertain_days
    if cb == 0 or rb <= 0 or rt <= 0:
        return dict.fromkeys(keys)
    fall = 100 * (cb * rt - ct * rb)
    return {str(p): fall >= p * cb * rt for p in thresholds}


def responder_basis(baseline: Block | None, block: Block | None) -> dict[str, Any]:
    """What `responder` was computed on: known days per window and the uncertain days left out."""

    def side(b: Block | None) -> dict[str, int] | None:
        if b is None:
            return None
        c = b.counts
        return {
            "known_days": c.recorded_days - c.migraine_uncertain_days,
            "uncertain_days": c.migraine_uncertain_days,
        }

    return {
        "baseline": side(baseline),
        "block": side(block),
        "note": "responders are computed on days whose migraine status is known; uncertain "
        "days (missing attack data) are left out of the count and the denominator",
    }


@dataclass(frozen=True, slots=True)
class PatientBlocks:
    """One patient's windows: the baseline and blocks 0..last (gaps filled as empty blocks)."""

    patient_id: int
    anchor: dt.date
    baseline: Block
    blocks: tuple[Block, ...]
    practitioner_id: int | None = None
    sessions: int = 0

    def block(self, index: int) -> Block | None:
        if index == BASELINE:
            return self.baseline
        return self.blocks[index] if 0 <= index < len(self.blocks) else None


def patient_blocks(
    patient_id: int,
    anchor: dt.date,
    counts: Mapping[int, BlockCounts],
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
    *,
    practitioner_id: int | None = None,
    sessions: int = 0,
    through: int | None = None,
) -> PatientBlocks:
    """Assemble windows from SQL sums keyed by block index (-1 baseline). Blocks run from 0 to
    the last block with a recorded day (or ``through``), empty ones included: a block with no
    diary is missing data, shown as such."""
    last = max((i for i in counts if i >= 0), default=-1)
    if through is not None:
        last = max(last, through)
    baseline = make_block(BASELINE, anchor, counts.get(BASELINE, EMPTY_COUNTS), config)
    blocks = tuple(
        make_block(i, anchor, counts.get(i, EMPTY_COUNTS), config) for i in range(last + 1)
    )
    return PatientBlocks(patient_id, anchor, baseline, blocks, practitioner_id, sessions)


# --------------------------------------------------------------------------- cohort summaries


@dataclass(frozen=True, slots=True)
class MeanStats:
    """n, mean, SD and the t interval of a set of values (``level`` two-sided coverage)."""

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    level: float


@dataclass(frozen=True, slots=True)
class ProportionStats:
    """count of n with the Wilson score interval; ``rate`` None when n is 0."""

    n: int
    count: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    level: float


def mean_summary(values: Sequence[float], level: float = 0.95) -> MeanStats:
    """n, mean, SD and the t interval (stats.mean_ci); the interval needs two values."""
    n = len(values)
    if n == 0:
        return MeanStats(0, None, None, None, None, level)
    if n == 1:
        return MeanStats(1, math.fsum(values), None, None, None, level)
    interval = mean_ci(values, level=level)
    mean = interval.estimate
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return MeanStats(n, mean, sd, interval.low, interval.high, level)


def proportion_summary(count: int, n: int, level: float = 0.95) -> ProportionStats:
    """count of n with the Wilson score interval (stats.wilson_interval); None rates at n = 0."""
    if n == 0:
        return ProportionStats(0, 0, None, None, None, level)
    interval = wilson_interval(count, n, level=level)
    return ProportionStats(n, count, interval.estimate, interval.low, interval.high, level)


# --------------------------------------------------------------------------- benchmarks


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A published figure to set beside a clinic's own. ``marker`` is CLINICAL.md's: "V"
    checked against the source, "R" reported but not yet checked (shown as such)."""

    key: str
    measure: str  # "responder_50" | "migraine_days_change"
    comparison: str
    acupuncture: float
    control: float | None
    unit: str
    window: str
    marker: str
    citation: str
    section: str
    notes: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        return "verified against the source" if self.marker == "V" else "reported, not verified"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "measure": self.measure,
            "comparison": self.comparison,
            "acupuncture": self.acupuncture,
            "control": self.control,
            "unit": self.unit,
            "window": self.window,
            "marker": self.marker,
            "status": self.status,
            "citation": self.citation,
            "source_section": self.section,
            "notes": list(self.notes),
        }


_COCHRANE = (
    "Linde K et al. Acupuncture for the prevention of episodic migraine. Cochrane Database "
    "Syst Rev 2016, Issue 6, CD001218.pub3"
)
_XU = (
    "Xu S et al. Manual acupuncture versus sham acupuncture and usual care for prophylaxis of "
    "episodic migraine without aura. BMJ 2020;368:m697. doi:10.1136/bmj.m697"
)

BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        key="cochrane2016_vs_no_acupuncture",
        measure="responder_50",
        comparison="acupuncture vs no acupuncture (4 trials)",
        acupuncture=41.0,
        control=17.0,
        unit="% with >= 50 % fewer migraine days or attacks",
        window="after treatment (trials >= 8 weeks)",
        marker="V",
        citation=_COCHRANE,
        section="CLINICAL.md 5.1",
        notes=("RR 2.40 (2.08-2.76) is reported, not verified [R].",),
    ),
    Benchmark(
        key="cochrane2016_vs_sham",
        measure="responder_50",
        comparison="acupuncture vs sham acupuncture (15 trials)",
        acupuncture=50.0,
        control=41.0,
        unit="% with >= 50 % fewer migraine days or attacks",
        window="after treatment (trials >= 8 weeks)",
        marker="V",
        citation=_COCHRANE,
        section="CLINICAL.md 5.1",
        notes=("RR 1.23 (1.11-1.36), NNT about 11, are reported, not verified [R].",),
    ),
    Benchmark(
        key="xu2020_bmj_weeks_13_16",
        measure="migraine_days_change",
        comparison="manual acupuncture vs sham, 20 sessions over 8 weeks",
        acupuncture=-3.5,
        control=-2.4,
        unit="change in migraine days per 4 weeks (SD 2.5 vs 3.4)",
        window="weeks 13-16 (block 3 here) vs a 4-week baseline",
        marker="V",
        citation=_XU,
        section="CLINICAL.md 5.4",
        notes=(
            "The trial measured weeks 13-16; the report's default block is weeks 9-12. "
            "Choose block 3 to compare like with like.",
            "Adjusted difference vs sham -1.4 days (95 % CI -2.4 to -0.3).",
        ),
    ),
)

COHORT_CAVEATS: tuple[str, ...] = (
    "No control group: a clinic sees only treated patients, so the change includes the natural "
    "course of migraine, the effect of being cared for and any placebo response, not only the "
    "effect of needling (acupuncture beats sham only modestly).",  # CLINICAL.md 5 and 8
    "Regression to the mean: people tend to start treatment when their headaches are at their "
    "worst, so later months look better even without any treatment effect.",
    "Selection: patients who choose acupuncture, stay for a course and keep a diary differ from "
    "trial participants, who were screened against fixed criteria (e.g. episodic migraine "
    "without aura, acupuncture-naive in Xu 2020).",
    "Missing diaries: only patients with an evaluable block are counted in the change and "
    "responder figures (complete cases); people who stop recording may be those who improved "
    "least, or most. The follow-up completeness figure says how many are missing.",
    "Co-interventions: new preventive drugs, lifestyle changes or other therapies during the "
    "course are not controlled for.",
    "Definitions differ: migraine days here follow the vdArend2023 day rule, trials used their "
    "own definitions and a prospective baseline diary of at least 4 weeks.",  # CLINICAL.md 1.x, 3
)
