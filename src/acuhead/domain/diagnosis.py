"""Patient-level ICHD-3 diagnosis over a date range of a diary.

Attack-level results (`acuhead.domain.ichd3`) check everything except the counts; this module adds
them: criterion A of each set (>=5 attacks for 1.1 and 3.1, >=2 for 1.2, >=10 episodes for 2.1/2.2)
and the "days per month for >3 months" rules of 1.3, 2.2, 2.3 and 8.2.

The window rule (ICHD-3 does not define one; CLINICAL.md 1.y leaves it to the product)
--------------------------------------------------------------------------------------
* Months are **calendar months lying wholly inside the range** (and not after ``today``). Partial
  months at either end are not rated: a rate over half a month would need scaling, which DESIGN.md
  forbids ("a window with low compliance is flagged, never silently scaled").
* Within a month, each count is a **bound, not an estimate**. Recorded days give the lower bound;
  missing days (no entry) could be anything, so they are added for the upper bound, as are days
  whose migraine status depends on unrecorded features. A month meets a threshold when the lower
  bound reaches it, fails when the upper bound stays below it, and is *undetermined* otherwise. A
  month with poor coverage is therefore never read as headache-free; it usually ends up
  undetermined, and months under ``min_coverage`` are listed in the evidence.
* ">3 months" is read as **at least 4 consecutive calendar months** meeting the threshold:
  status "definite". A run of 1-3 qualifying months that is still going at the end of the range
  (no later month that clearly fails) is shown as "probable": the patient may be on the way to the
  diagnosis, but ICHD-3's duration is not yet complete.
* Frequency averages for tension-type headache ("on average") are taken over the same complete
  months.

Coding rules applied (CLINICAL.md 1.0): 1.3 excludes tension-type headache; 1.3 and 8.2 are both
coded; a definite migraine diagnosis suppresses the matching 1.5 code, since ICHD-3 1.5 counts
those attacks as migraine. When 1.3 is definite, 1.1 is not listed separately: ICHD-3 1.3 says
chronic migraine evolves from 1.1 and counts its attacks; 1.2 subtypes stay listed because the
aura type matters for care (e.g. hemiplegic aura).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from acuhead.domain.daycount import (
    ICHD3_CHRONIC_MIGRAINE,
    DayUnits,
    DayUnitsPolicy,
    count_day_units,
)
from acuhead.domain.diary import Attack, Diary, MedClass
from acuhead.domain.ichd3 import (
    AttackClassification,
    classify_attack,
    in_patient_zone,
    label,
)
from acuhead.errors import FieldError, ValidationError

MIGRAINE_ATTACKS_NEEDED = 5  # ICHD-3 1.1 A
AURA_ATTACKS_NEEDED = 2  # ICHD-3 1.2 A
TTH_EPISODES_NEEDED = 10  # ICHD-3 2.1 A / 2.2 A
CLUSTER_ATTACKS_NEEDED = 5  # ICHD-3 3.1 A
CHRONIC_HEADACHE_DAYS = 15  # ICHD-3 1.3 A, 2.3 A, 8.2 A: >=15 days/month
CHRONIC_MIGRAINE_DAYS = 8  # ICHD-3 1.3 C: >=8 days/month
CHRONIC_PATIENT_ATTACKS = 5  # ICHD-3 1.3 B
CLUSTER_MAX_PER_DAY = 8  # ICHD-3 3.1 D: one every other day to 8 per day
CLUSTER_MAX_GAP_DAYS = 2  # "one every other day": next attack at most two days later

NON_OPIOID = frozenset({MedClass.PARACETAMOL, MedClass.NSAID, MedClass.SIMPLE_ANALGESIC})


@dataclass(frozen=True, slots=True)
class DiagnosisRules:
    """Window and threshold choices, each with its source.

    * ``definite_months``: ICHD-3 ">3 months" in whole calendar months (module docstring).
    * ``min_coverage``: months recorded on fewer days than this share are flagged in the evidence.
      0.8 is the usual trial compliance rule [R] (CLINICAL.md 3); it does not change the counts.
    * ``overuse_days`` / ``overuse_days_non_opioid``: ICHD-3 8.2 day thresholds, which ICHD itself
      calls expert opinion rather than evidence: >=10 for ergotamine, triptans, opioids,
      combination analgesics and several classes (8.2.6); >=15 for non-opioid analgesics (8.2.3).
    * ``day_policy``: how headache and migraine days are counted for 1.3 and 8.2 (ICHD-3 1.3 C:
      1.1 C+D, 1.2 B+C, or relief by a triptan or ergot); its ``cutoffs`` also grade intensity
      when attacks are classified.
    * ``cluster_remission_days``: ICHD-3 3.1.1 separates cluster periods by >=3 months (not ICHD-2's
      1 month); ``cluster_period_days``: 3.1.1 periods last 7 days to 1 year; 3.1.2 needs attacks
      without such a remission for >=1 year.
    * ``cluster_pause_days``: a pain-free gap longer than this is not "active time" when 3.1 D's
      frequency is judged. ICHD-3 does not define it; 30 days is ICHD-2's remission length, used
      here only as a floor for "not active". Product choice.
    """

    definite_months: int = 4
    min_coverage: float = 0.8
    overuse_days: int = 10
    overuse_days_non_opioid: int = 15
    day_policy: DayUnitsPolicy = field(default=ICHD3_CHRONIC_MIGRAINE)
    cluster_remission_days: int = 90
    cluster_period_days: tuple[int, int] = (7, 365)
    cluster_pause_days: int = 30


ICHD3_RULES = DiagnosisRules()


@dataclass(frozen=True)
class Diagnosis:
    """One patient-level code. ``status`` is "definite" or "probable" (a 1.5/2.4/3.5 code, or a
    frequency rule whose >3-month course is not yet complete or not fully confirmed)."""

    code: str
    label: str
    status: str
    evidence: dict[str, object]
    criteria: dict[str, bool | None]

    def as_dict(self) -> dict[str, object]:
        """The `acuhead classify` shape; criteria travel inside the evidence."""
        return {
            "code": self.code,
            "label": self.label,
            "status": self.status,
            "evidence": {**self.evidence, "criteria": dict(self.criteria)},
        }


# --- monthly bounds ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    """A monthly day count: ``low`` from recorded days, ``high`` if every gap went the other way."""

    low: int
    high: int

    def at_least(self, threshold: int) -> bool | None:
        if self.low >= threshold:
            return True
        if self.high < threshold:
            return False
        return None


@dataclass(frozen=True)
class Month:
    key: str  # "YYYY-MM"
    days: int
    recorded: int
    counts: dict[str, Bound]

    @property
    def coverage(self) -> float:
        return self.recorded / self.days


@dataclass(frozen=True, slots=True)
class Course:
    """How a monthly condition ran: the months it holds for and the resulting status."""

    status: str | None
    months: tuple[str, ...]
    current: bool


def _month_end(first: dt.date) -> dt.date:
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def complete_months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Calendar months lying wholly inside [start, end]."""
    first = start if start.day == 1 else _month_end(start) + dt.timedelta(days=1)
    months = []
    while _month_end(first) <= end:
        months.append((first, _month_end(first)))
        first = _month_end(first) + dt.timedelta(days=1)
    return months


def _and(*values: bool | None) -> bool | None:
    if False in values:
        return False
    return None if None in values else True


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def course(months: Sequence[str], holds: Sequence[bool | None], definite_months: int) -> Course:
    """Apply the window rule (module docstring) to per-month results.

    Definite: the latest run of >= ``definite_months`` consecutive qualifying months.
    Probable: otherwise, a qualifying run still open at the end (undetermined months at the very
    end neither break nor extend it).
    """
    runs: list[tuple[int, int]] = []
    begin: int | None = None
    for i, value in enumerate([*holds, False]):
        if value is True and begin is None:
            begin = i
        elif value is not True and begin is not None:
            runs.append((begin, i - begin))
            begin = None
    last_decided = len(holds) - 1
    while last_decided >= 0 and holds[last_decided] is None:
        last_decided -= 1
    long_runs = [r for r in runs if r[1] >= definite_months]
    if long_runs:
        first, length = long_runs[-1]
        return Course(
            "definite", tuple(months[first : first + length]), first + length - 1 == last_decided
        )
    open_runs = [r for r in runs if r[0] + r[1] - 1 == last_decided]
    if open_runs and last_decided >= 0:
        first, length = open_runs[-1]
        return Course("probable", tuple(months[first : first + length]), True)
    return Course(None, (), False)


def _criterion(holds: Sequence[bool | None], run: Course) -> bool | None:
    """Patient-level criterion value: met for >3 months, clearly never met, or undecided."""
    if run.status == "definite":
        return True
    if all(value is False for value in holds):
        return False
    return None


# --- the diagnosis -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    diary: Diary
    start: dt.date
    end: dt.date
    rules: DiagnosisRules
    results: dict[int, AttackClassification]
    local: dict[int, Attack]
    months: list[Month]

    def indexes(self, accept: Callable[[AttackClassification], bool]) -> list[int]:
        return [i for i, r in sorted(self.results.items()) if accept(r)]

    def window(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "complete_months": len(self.months),
        }

    def table(
        self, names: Sequence[str], holds: Sequence[bool | None] | None = None
    ) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for k, month in enumerate(self.months):
            row: dict[str, object] = {
                "month": month.key,
                "days": month.days,
                "recorded_days": month.recorded,
            }
            for name in names:
                row[f"{name}_days"] = month.counts[name].low
                row[f"{name}_days_max"] = month.counts[name].high
            if holds is not None:
                row["meets"] = holds[k]
            rows.append(row)
        return rows

    def low_coverage(self) -> list[str]:
        return [m.key for m in self.months if m.coverage < self.rules.min_coverage]


def _count_days(
    units: Sequence[DayUnits],
    test: Callable[[DayUnits], bool],
    maybe: Callable[[DayUnits], bool] | None = None,
) -> Bound:
    low = sum(1 for u in units if u.recorded and test(u))
    extra = sum(
        1 for u in units if not u.recorded or (maybe is not None and maybe(u) and not test(u))
    )
    return Bound(low, low + extra)


def _build_months(
    diary: Diary,
    start: dt.date,
    end: dt.date,
    rules: DiagnosisRules,
    results: dict[int, AttackClassification],
    local: dict[int, Attack],
) -> list[Month]:
    spans = complete_months(start, end)
    if not spans:
        return []
    # `dayunits` rule 4 (probable migraine counts in a patient with migraine) applies only to
    # a policy that counts probable migraine; ICHD-3 1.3 C, the default, does not.
    has_migraine = rules.day_policy.count_probable and migraine_diagnosed(
        diary, classifications=results
    )
    units = count_day_units(
        diary,
        spans[0][0],
        spans[-1][1],
        rules.day_policy,
        classifications=results,
        has_migraine=has_migraine,
    )
    by_date = {u.date: u for u in units}
    tth_dates: set[dt.date] = set()
    tth_chronic_dates: set[dt.date] = set()
    for index, result in results.items():
        dates = local[index].local_dates()
        if result.code == "2":
            tth_dates.update(dates)
        checks = result.checks["2"]
        if checks["B"] is True and checks["C"] is True and checks["D (2.3)"] is True:
            tth_chronic_dates.update(dates)
    groups = _overuse_groups(rules)
    months = []
    for first, last in spans:
        days = [by_date[first + dt.timedelta(days=k)] for k in range((last - first).days + 1)]
        counts = {
            "headache": _count_days(days, lambda u: u.headache_day),
            "migraine": _count_days(
                days, lambda u: u.migraine_day, lambda u: u.migraine_day_uncertain
            ),
            "tth": _count_days(days, lambda u: u.date in tth_dates),
            "tth_chronic": _count_days(days, lambda u: u.date in tth_chronic_dates),
        }
        for code, classes, _threshold in groups:
            counts[code] = _count_days(days, _takes(classes))
        months.append(
            Month(
                key=f"{first.year:04d}-{first.month:02d}",
                days=len(days),
                recorded=sum(1 for u in days if u.recorded),
                counts=counts,
            )
        )
    return months


def _takes(classes: frozenset[MedClass]) -> Callable[[DayUnits], bool]:
    def test(unit: DayUnits) -> bool:
        return bool(unit.medication_classes & classes)

    return test


def _overuse_groups(rules: DiagnosisRules) -> list[tuple[str, frozenset[MedClass], int]]:
    """ICHD-3 8.2 subtypes as (code, drug classes, days/month). 8.2.3 counts all non-opioid
    analgesics together (ichd-3.org 8.2.3: one class for ICHD-3), its subforms one drug each."""
    ten, fifteen = rules.overuse_days, rules.overuse_days_non_opioid
    return [
        ("8.2.1", frozenset({MedClass.ERGOT}), ten),
        ("8.2.2", frozenset({MedClass.TRIPTAN}), ten),
        ("8.2.3.1", frozenset({MedClass.PARACETAMOL}), fifteen),
        ("8.2.3.2", frozenset({MedClass.NSAID}), fifteen),
        ("8.2.3", NON_OPIOID, fifteen),
        ("8.2.4", frozenset({MedClass.OPIOID}), ten),
        ("8.2.5", frozenset({MedClass.COMBINATION_ANALGESIC}), ten),
        (
            "8.2.6",
            frozenset({MedClass.ERGOT, MedClass.TRIPTAN, MedClass.OPIOID}) | NON_OPIOID,
            ten,
        ),
    ]


def overuse_groups(
    rules: DiagnosisRules = ICHD3_RULES,
) -> list[tuple[str, frozenset[MedClass], int]]:
    """The ICHD-3 8.2 drug groups with their day thresholds, for readers that show a patient's
    intake against them (the physician letter) without restating the numbers."""
    return _overuse_groups(rules)


def _attack_count_dx(
    ctx: _Ctx, code: str, status: str, indexes: list[int], needed: int, **extra: object
) -> Diagnosis:
    return Diagnosis(
        code=code,
        label=label(code),
        status=status,
        evidence={
            "attacks": len(indexes),
            "attacks_required": needed,
            "attack_indexes": indexes,
            "window": ctx.window(),
            **extra,
        },
        criteria={"A": len(indexes) >= needed},
    )


def _chronic_migraine(ctx: _Ctx, attacks_11_12: int) -> Diagnosis | None:
    """ICHD-3 1.3 A-C over calendar months."""
    keys = [m.key for m in ctx.months]
    a = [m.counts["headache"].at_least(CHRONIC_HEADACHE_DAYS) for m in ctx.months]
    c = [m.counts["migraine"].at_least(CHRONIC_MIGRAINE_DAYS) for m in ctx.months]
    both = [_and(x, y) for x, y in zip(a, c, strict=True)]
    run = course(keys, both, ctx.rules.definite_months)
    if run.status is None:
        return None
    b = True if attacks_11_12 >= CHRONIC_PATIENT_ATTACKS else None
    status = run.status if b is True else "probable"
    return Diagnosis(
        code="1.3",
        label=label("1.3"),
        status=status,
        evidence={
            "qualifying_months": list(run.months),
            "months_required": ctx.rules.definite_months,
            "current": run.current,
            "months": ctx.table(["headache", "migraine"], both),
            "low_coverage_months": ctx.low_coverage(),
            "attacks_meeting_1_1_or_1_2": attacks_11_12,
            "note": (
                "criterion B (>=5 attacks meeting 1.1 B-D or 1.2 B-C) may be met by history "
                "before the diary"
                if b is None
                else "excludes a tension-type headache diagnosis (ICHD-3 1.3 note)"
            ),
            "window": ctx.window(),
        },
        criteria={
            "A": _criterion(a, course(keys, a, ctx.rules.definite_months)),
            "B": b,
            "C": _criterion(c, course(keys, c, ctx.rules.definite_months)),
        },
    )


def _aura_diagnoses(ctx: _Ctx) -> list[Diagnosis]:
    """ICHD-3 1.2 A (>=2 attacks) per subtype, rolling up when subtypes are mixed; 1.5.2 when
    all but one of A-C hold."""
    aura = ctx.indexes(lambda r: r.code.startswith("1.2"))
    by_code: dict[str, list[int]] = {}
    for i in aura:
        by_code.setdefault(ctx.results[i].code, []).append(i)
    subtypes = {code: len(v) for code, v in sorted(by_code.items())}
    out: list[Diagnosis] = []
    if len(aura) >= AURA_ATTACKS_NEEDED:
        for code in ("1.2.1.1", "1.2.1.2", "1.2.2", "1.2.3"):
            if len(by_code.get(code, [])) >= AURA_ATTACKS_NEEDED:
                out.append(
                    _attack_count_dx(
                        ctx,
                        code,
                        "definite",
                        by_code[code],
                        AURA_ATTACKS_NEEDED,
                        subtypes=subtypes,
                    )
                )
        typical = [i for i in aura if ctx.results[i].code.startswith("1.2.1")]
        if not any(d.code.startswith("1.2.1") for d in out) and len(typical) >= 2:
            out.append(
                _attack_count_dx(
                    ctx, "1.2.1", "definite", typical, AURA_ATTACKS_NEEDED, subtypes=subtypes
                )
            )
        if not out:
            out.append(
                _attack_count_dx(
                    ctx, "1.2", "definite", aura, AURA_ATTACKS_NEEDED, subtypes=subtypes
                )
            )
        return out
    weak = ctx.indexes(lambda r: r.code == "1.5.2")
    if aura or len(weak) >= AURA_ATTACKS_NEEDED:
        out.append(
            _attack_count_dx(
                ctx,
                "1.5.2",
                "probable",
                sorted(aura + weak),
                AURA_ATTACKS_NEEDED,
                attacks_meeting_1_2=len(aura),
                note="all but one of ICHD-3 1.2 A-C",
            )
        )
    return out


def _tension_type(ctx: _Ctx) -> list[Diagnosis]:
    """ICHD-3 2.1-2.4 from the number of episodes and the monthly average of TTH days."""
    episodes = ctx.indexes(lambda r: r.code == "2")
    rules = ctx.rules
    n_months = len(ctx.months)
    evidence: dict[str, object] = {
        "episodes": len(episodes),
        "episodes_required": TTH_EPISODES_NEEDED,
        "attack_indexes": episodes,
        "window": ctx.window(),
        "low_coverage_months": ctx.low_coverage(),
    }
    if n_months:
        chronic = [m.counts["tth_chronic"] for m in ctx.months]
        c_low = sum(b.low for b in chronic) / n_months
        evidence["months"] = ctx.table(["tth", "tth_chronic"])
        if c_low >= CHRONIC_HEADACHE_DAYS:
            status = "definite" if n_months >= rules.definite_months else "probable"
            evidence["average_days_per_month"] = round(c_low, 2)
            return [Diagnosis("2.3", label("2.3"), status, evidence, {"A": status == "definite"})]
    if len(episodes) < TTH_EPISODES_NEEDED:
        weak = ctx.indexes(lambda r: r.code == "2.4")
        if episodes or len(weak) >= TTH_EPISODES_NEEDED:
            evidence["attack_indexes"] = sorted(episodes + weak)
            evidence["probable_episodes"] = len(weak)
            return [Diagnosis("2.4", label("2.4"), "probable", evidence, {"A": False})]
        return []
    if not n_months:
        evidence["note"] = "frequency subtype needs at least one complete calendar month"
        return [Diagnosis("2", label("2"), "probable", evidence, {"A": True})]
    tth = [m.counts["tth"] for m in ctx.months]
    low = sum(b.low for b in tth) / n_months
    high = sum(b.high for b in tth) / n_months
    evidence["average_days_per_month"] = round(low, 2)
    evidence["average_days_per_month_max"] = round(high, 2)
    if high < 1:
        return [Diagnosis("2.1", label("2.1"), "definite", evidence, {"A": True})]
    if low >= 1 and high < CHRONIC_HEADACHE_DAYS:
        status = "definite" if n_months >= rules.definite_months else "probable"
        return [Diagnosis("2.2", label("2.2"), status, evidence, {"A": True})]
    evidence["note"] = "missing days leave the monthly frequency (2.1/2.2/2.3) undetermined"
    return [Diagnosis("2", label("2"), "probable", evidence, {"A": True})]


def _split(dates: Sequence[dt.date], longest_gap: int) -> list[list[dt.date]]:
    """Group sorted dates, starting a new group after a gap of more than ``longest_gap`` days."""
    groups: list[list[dt.date]] = [[dates[0]]]
    for prev, day in itertools.pairwise(dates):
        if (day - prev).days > longest_gap:
            groups.append([day])
        else:
            groups[-1].append(day)
    return groups


def _cluster(ctx: _Ctx) -> list[Diagnosis]:
    """ICHD-3 3.1 A and D, 3.1.1/3.1.2 from remission lengths, 3.5.1 when one criterion fails.

    3.1 D is read as: over the active time (attack days and the gaps between them, leaving out
    pauses longer than ``cluster_pause_days``), more than half of the days lie where attacks come
    at least every other day and no more than 8 a day (ICHD-3 3.1 note: for part, but less than
    half, of the active course attacks may be less frequent).
    """
    indexes = ctx.indexes(lambda r: r.code == "3.1")
    if not indexes:
        return []
    per_day = Counter(ctx.local[i].start.date() for i in indexes)
    dates = sorted(per_day)
    periods = _split(dates, ctx.rules.cluster_remission_days)
    active = in_range = 0
    for stretch in _split(dates, ctx.rules.cluster_pause_days):
        active += (stretch[-1] - stretch[0]).days + 1
        in_range += sum(1 for d in stretch if per_day[d] <= CLUSTER_MAX_PER_DAY)
        for prev, day in itertools.pairwise(stretch):
            if (day - prev).days <= CLUSTER_MAX_GAP_DAYS:
                in_range += (day - prev).days - 1
    d_met = in_range * 2 > active
    a_met = len(indexes) >= CLUSTER_ATTACKS_NEEDED
    lengths = [(p[-1] - p[0]).days + 1 for p in periods]
    low_days, high_days = ctx.rules.cluster_period_days
    extra: dict[str, object] = {
        "active_periods": [
            {"start": p[0].isoformat(), "end": p[-1].isoformat(), "days": n}
            for p, n in zip(periods, lengths, strict=True)
        ],
        "max_attacks_per_day": max(per_day.values()),
    }
    if a_met and d_met:
        code = "3.1"
        if len(periods) >= 2 and all(low_days <= n <= high_days for n in lengths):
            code = "3.1.1"
        elif any(n >= high_days for n in lengths):
            code = "3.1.2"
        dx = _attack_count_dx(ctx, code, "definite", indexes, CLUSTER_ATTACKS_NEEDED, **extra)
    elif a_met or d_met:
        dx = _attack_count_dx(ctx, "3.5.1", "probable", indexes, CLUSTER_ATTACKS_NEEDED, **extra)
    else:
        return []
    return [Diagnosis(dx.code, dx.label, dx.status, dx.evidence, {"A": a_met, "D": d_met})]


def _two_or_more(values: Sequence[bool | None]) -> bool | None:
    yes = values.count(True)
    if yes >= 2:
        return True
    return None if yes + values.count(None) >= 2 else False


def _overuse(ctx: _Ctx) -> list[Diagnosis]:
    """ICHD-3 8.2: >=15 headache days and class intake over the threshold, per month, >3 months.
    Every applicable subtype is coded; 8.2.3 only when no single non-opioid drug qualifies;
    8.2.6 only in months where two or more of its classes were taken (ergotamine, triptans,
    non-opioid analgesics as one class, opioids) and no class of 8.2.1-8.2.5 meets its own
    criterion B."""
    keys = [m.key for m in ctx.months]
    headache = [m.counts["headache"].at_least(CHRONIC_HEADACHE_DAYS) for m in ctx.months]
    groups = _overuse_groups(ctx.rules)
    intake = {
        code: [m.counts[code].at_least(threshold) for m in ctx.months]
        for code, _classes, threshold in groups
    }
    # ICHD-3 8.2.6: several classes "without overuse of any single drug or drug class alone".
    # Every class with its own criterion B counts for "alone", combination analgesics (8.2.5)
    # included (issue 12 item 9); the mixture itself is ergotamine, triptans, non-opioid
    # analgesics and opioids (CLINICAL.md 8.2 table).
    singles = ("8.2.1", "8.2.2", "8.2.3", "8.2.4")
    own_b = (*singles, "8.2.5")
    alone = [
        _and(
            *(_not(intake[code][k]) for code in own_b),
            _two_or_more([month.counts[code].at_least(1) for code in singles]),
        )
        for k, month in enumerate(ctx.months)
    ]
    out: list[Diagnosis] = []
    for code, classes, threshold in groups:
        if code == "8.2.3" and any(d.code.startswith("8.2.3.") for d in out):
            continue
        uses = (
            intake[code]
            if code != "8.2.6"
            else [_and(x, y) for x, y in zip(intake[code], alone, strict=True)]
        )
        holds = [_and(h, u) for h, u in zip(headache, uses, strict=True)]
        run = course(keys, holds, ctx.rules.definite_months)
        if run.status is None:
            continue
        out.append(
            Diagnosis(
                code=code,
                label=label(code),
                status=run.status,
                evidence={
                    "drug_classes": sorted(c.value for c in classes),
                    "intake_days_required": threshold,
                    "qualifying_months": list(run.months),
                    "months_required": ctx.rules.definite_months,
                    "current": run.current,
                    "months": ctx.table(["headache", code], holds),
                    "low_coverage_months": ctx.low_coverage(),
                    "window": ctx.window(),
                },
                criteria={
                    "A": _criterion(headache, course(keys, headache, ctx.rules.definite_months)),
                    "B": _criterion(uses, course(keys, uses, ctx.rules.definite_months)),
                },
            )
        )
    return out


def _sort_key(dx: Diagnosis) -> tuple[int, ...]:
    return tuple(int(part) for part in dx.code.split("."))


def diagnose(
    diary: Diary,
    start: dt.date,
    end: dt.date,
    *,
    today: dt.date | None = None,
    rules: DiagnosisRules = ICHD3_RULES,
    classifications: dict[int, AttackClassification] | None = None,
) -> list[Diagnosis]:
    """All ICHD-3 codes the diary supports between ``start`` and ``end`` (inclusive).

    Attacks are those starting (local date) inside the range; months are the complete calendar
    months inside it and not after ``today`` (see the module docstring for the window rule).
    ``classifications`` (attack index -> result, made with ``rules.day_policy.cutoffs``) saves
    classifying the attacks a second time.
    """
    if today is not None:
        end = min(end, today)
    if end < start:
        if today is not None:
            return []
        raise ValidationError(FieldError("end", "end date is before start date"))
    results: dict[int, AttackClassification] = {}
    local: dict[int, Attack] = {}
    for index, attack in enumerate(diary.attacks):
        shifted = in_patient_zone(attack, diary.patient)
        if start <= shifted.start.date() <= end:
            local[index] = shifted
            known = classifications.get(index) if classifications is not None else None
            results[index] = known or classify_attack(
                attack, diary.patient, cutoffs=rules.day_policy.cutoffs
            )
    ctx = _Ctx(
        diary=diary,
        start=start,
        end=end,
        rules=rules,
        results=results,
        local=local,
        months=_build_months(diary, start, end, rules, results, local),
    )

    out: list[Diagnosis] = []
    migraine_11 = ctx.indexes(lambda r: r.code == "1.1")
    aura = _aura_diagnoses(ctx)
    n_aura = len(ctx.indexes(lambda r: r.code.startswith("1.2")))
    chronic = _chronic_migraine(ctx, len(migraine_11) + n_aura)
    chronic_definite = chronic is not None and chronic.status == "definite"
    if chronic is not None:
        out.append(chronic)
    out.extend(aura)

    if len(migraine_11) >= MIGRAINE_ATTACKS_NEEDED:
        if not chronic_definite:
            form = "episodic" if chronic is None else "episodic; chronic migraine probable (1.3)"
            out.append(
                _attack_count_dx(
                    ctx, "1.1", "definite", migraine_11, MIGRAINE_ATTACKS_NEEDED, form=form
                )
            )
    elif not chronic_definite:
        weak = ctx.indexes(lambda r: r.code == "1.5.1")
        if migraine_11 or len(migraine_11) + len(weak) >= MIGRAINE_ATTACKS_NEEDED:
            out.append(
                _attack_count_dx(
                    ctx,
                    "1.5.1",
                    "probable",
                    sorted(migraine_11 + weak),
                    MIGRAINE_ATTACKS_NEEDED,
                    attacks_meeting_1_1=len(migraine_11),
                    note="all but one of ICHD-3 1.1 A-D",
                )
            )

    if not chronic_definite:
        out.extend(_tension_type(ctx))
    out.extend(_cluster(ctx))
    out.extend(_overuse(ctx))
    return sorted(out, key=_sort_key)


MIGRAINE_CODES = ("1.1", "1.2", "1.3")


def migraine_diagnosed(
    diary: Diary,
    *,
    rules: DiagnosisRules = ICHD3_RULES,
    classifications: dict[int, AttackClassification] | None = None,
) -> bool:
    """See `migraine_status`: its first part."""
    return migraine_status(diary, rules=rules, classifications=classifications)[0]


def migraine_status(
    diary: Diary,
    *,
    rules: DiagnosisRules = ICHD3_RULES,
    classifications: dict[int, AttackClassification] | None = None,
) -> tuple[bool, bool | None]:
    """Whether the patient has a migraine diagnosis: definite 1.1, 1.2 (any subtype) or 1.3 over
    the whole diary. It decides whether probable-migraine attacks (1.5.x) count as migraine days
    (ICHD-3 1.5; CLINICAL.md 1.0 "Counting rule"; `dayunits` rule 4). The model holds no
    practitioner-confirmed ICHD-3 diagnosis, so the diary is the only source.

    Criterion A decides most patients without counting months: >=5 attacks meeting 1.1 B-D
    (ICHD-3 1.1 A) or >=2 meeting 1.2 B-C (1.2 A) is definite; fewer than 5 attacks of either
    kind cannot meet 1.3 B either, so no migraine diagnosis. Only between those is 1.3 judged
    over calendar months. The second part is the answer from the attack counts alone (None
    when 1.3 had to decide), which a store can keep and trust until an attack changes.
    """
    results = dict(classifications or {})
    for index, attack in enumerate(diary.attacks):
        if index not in results:
            results[index] = classify_attack(
                attack, diary.patient, cutoffs=rules.day_policy.cutoffs
            )
    by_attacks = migraine_by_attack_counts(results.values())
    if by_attacks is not None:
        return by_attacks, by_attacks
    dates = [d.date for d in diary.days]
    for attack in diary.attacks:
        dates.extend(in_patient_zone(attack, diary.patient).local_dates())
    found = diagnose(diary, min(dates), max(dates), rules=rules, classifications=results)
    return any(d.status == "definite" and d.code.startswith(MIGRAINE_CODES) for d in found), None


def migraine_by_attack_counts(results: Iterable[AttackClassification]) -> bool | None:
    """`migraine_diagnosed` from the attack codes alone: True with >=5 attacks coded 1.1 (ICHD-3
    1.1 A) or >=2 coded 1.2.x (1.2 A); False with fewer than 5 of both together (1.3 B needs 5);
    None in between, where only 1.3 over calendar months can decide (then day entries matter)."""
    codes = [r.code for r in results]
    n_11 = codes.count("1.1")
    n_12 = sum(1 for c in codes if c.startswith("1.2"))
    if n_11 >= MIGRAINE_ATTACKS_NEEDED or n_12 >= AURA_ATTACKS_NEEDED:
        return True
    if n_11 + n_12 < CHRONIC_PATIENT_ATTACKS:
        return False
    return None
