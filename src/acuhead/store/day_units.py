"""Keep the materialised diary-day units (table ``day_units``) in step with the diary.

The rows are derived data: the pure domain (:func:`acuhead.domain.outcomes.day_records`, which
wraps :func:`acuhead.domain.dayunits.day_units`) counts each recorded day and the rows in the
affected range are replaced. The diary services call :func:`refresh_around` (a day entry),
:func:`refresh_attack` (an attack, old and new dates) or :func:`refresh_day_units` (a whole
import) inside the same transaction as the change, so cohort queries never see a diary and its
day units disagree. The demo generator counts its diaries in bulk with
:func:`rows_from_insert_dicts` (in its worker processes), through the same domain function, so
both paths give identical rows (tested).

Nothing here is an access decision: callers have already checked the actor.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, inspect, select, text
from sqlalchemy.orm import Session

from acuhead.domain.daycount import classify_placed
from acuhead.domain.dayunits import VD_AREND_2023, AttackDates, DayUnitsPolicy, attack_dates
from acuhead.domain.diagnosis import ICHD3_RULES, migraine_by_attack_counts, migraine_status
from acuhead.domain.diary import Diary, DiaryDay
from acuhead.domain.ichd3 import AttackClassification, classify_attack
from acuhead.domain.outcomes import DayRecord, day_number, day_records, diary_extent
from acuhead.gcpause import cycle_collection_paused
from acuhead.store import block_aggregates
from acuhead.store.mapping import attack_from_row, day_from_row, patient_facts
from acuhead.store.models import AttackRow, DayUnitRow, DiaryDayRow, Patient

# Attacks that began up to this long before a window are read, since they may run into it.
ATTACK_LOOKBACK = dt.timedelta(days=7)
ONE_DAY = dt.timedelta(days=1)

COLUMNS: tuple[str, ...] = (
    "patient_id",
    "day",
    "clinic_id",
    "day_num",
    "recorded",
    "migraine",
    "headache",
    "moderate_severe",
    "acute_med",
    "migraine_specific_med",
    "triptan",
    "attacks_started",
    "peak_sum",
    "peak_n",
    "headache_minutes",
    "late",
    "stress",
    "sleep_hours",
    "neck_tension",
    "menstruating",
    "migraine_uncertain",
)

DayUnitTuple = tuple[Any, ...]


def _table() -> Table:
    return cast(Table, DayUnitRow.__table__)


def row_tuple(record: DayRecord, *, clinic_id: int, patient_id: int) -> DayUnitTuple:
    """One ``day_units`` row in :data:`COLUMNS` order."""
    (
        units,
        attacks_started,
        peak_sum,
        peak_n,
        headache_minutes,
        late,
        stress,
        sleep_hours,
        neck_tension,
        menstruating,
    ) = record
    (
        day,
        recorded,
        migraine,
        headache,
        moderate_severe,
        acute_med,
        migraine_specific_med,
        triptan,
        migraine_uncertain,
        _classes,
        _reasons,
    ) = units
    return (
        patient_id,
        day,
        clinic_id,
        day_number(day),
        recorded,
        migraine,
        headache,
        moderate_severe,
        acute_med,
        migraine_specific_med,
        triptan,
        attacks_started,
        peak_sum,
        peak_n,
        headache_minutes,
        late,
        stress,
        sleep_hours,
        neck_tension,
        menstruating,
        migraine_uncertain,
    )


def compute_rows(
    diary: Diary,
    *,
    clinic_id: int,
    patient_id: int,
    attack_recorded_utc: Sequence[dt.datetime | None],
    start: dt.date | None = None,
    end: dt.date | None = None,
    policy: DayUnitsPolicy = VD_AREND_2023,
    has_migraine: bool | None = None,
    classifications: dict[int, AttackClassification] | None = None,
    dates: Sequence[AttackDates] | None = None,
) -> list[DayUnitTuple]:
    """The rows for ``start..end`` (default: the whole diary) of one patient. ``has_migraine``:
    the patient's migraine diagnosis over the whole diary (None: decided from ``diary``);
    ``classifications`` (attack index -> result): attacks already classified, e.g. by an import
    before its write; ``dates``: the attacks' `attack_dates`, when the caller has them."""
    # Each attack on the patient's clock once, for diary_extent and day_records.
    if dates is None:
        dates = [attack_dates(a, diary.patient) for a in diary.attacks]
    if start is None or end is None:
        extent = diary_extent(diary, dates)
        if extent is None:
            return []
        start = start or extent[0]
        end = end or extent[1]
    if end < start:
        return []
    records = day_records(
        diary,
        start,
        end,
        policy,
        attack_recorded_utc=attack_recorded_utc,
        has_migraine=has_migraine,
        classifications=classifications,
        dates=dates,
    )
    return [row_tuple(r, clinic_id=clinic_id, patient_id=patient_id) for r in records]


# Built once with bind parameters: SQLAlchemy then reuses the compiled SQL (its cache key is
# memoised on the statement object) instead of rebuilding it on every diary write.
_DAY_TABLE = cast(Table, DiaryDayRow.__table__)
_DAYS = (
    select(*_DAY_TABLE.c)
    .where(
        _DAY_TABLE.c.patient_id == bindparam("pid"),
        _DAY_TABLE.c.day >= bindparam("lo"),
        _DAY_TABLE.c.day <= bindparam("hi"),
    )
    .order_by(_DAY_TABLE.c.day)
)
_ATTACK_TABLE = cast(Table, AttackRow.__table__)
_ANY_ATTACK = (
    select(_ATTACK_TABLE.c.id)
    .where(
        _ATTACK_TABLE.c.patient_id == bindparam("pid"),
        _ATTACK_TABLE.c.start_local >= bindparam("lo"),
        _ATTACK_TABLE.c.start_local < bindparam("hi"),
    )
    .limit(1)
)
# The same condition, not a list of the ids found: a whole diary's ids in one IN list broke
# PostgreSQL's limit of 65,535 bind parameters per statement (SQLite's is 32,766).
_ATTACKS = (
    select(AttackRow)
    .where(
        AttackRow.patient_id == bindparam("pid"),
        AttackRow.start_local >= bindparam("lo"),
        AttackRow.start_local < bindparam("hi"),
    )
    .order_by(AttackRow.start_local, AttackRow.id)
)


def _load(
    session: Session,
    patient: Patient,
    start: dt.date | None,
    end: dt.date | None,
    days: tuple[DiaryDay, ...] | None = None,
) -> tuple[Diary, list[dt.datetime | None]]:
    lo = dt.date.min if start is None else start
    hi = dt.date.max if end is None else end
    attacks_from = (
        dt.datetime.min if start is None else dt.datetime.combine(lo - ATTACK_LOOKBACK, dt.time())
    )
    attacks_to = dt.datetime.max if end is None else dt.datetime.combine(hi + ONE_DAY, dt.time())
    # Most day entries have no attack near them: ask whether there is one first, since setting
    # up the ORM load of attacks with their readings, aura and doses costs more than the query.
    # Plain Core statements on the session's connection (no ORM): the caller has flushed.
    conn = session.connection()
    where = {"pid": patient.id, "lo": attacks_from, "hi": attacks_to}
    found = conn.scalars(_ANY_ATTACK, where).first() is not None
    attack_rows = list(session.scalars(_ATTACKS, where)) if found else []
    if days is None:
        rows = conn.execute(_DAYS, {"pid": patient.id, "lo": lo, "hi": hi})
        days = tuple(day_from_row(r) for r in rows)
    diary = Diary(
        patient=patient_facts(patient),
        days=days,
        attacks=tuple(attack_from_row(r, tz=patient.timezone) for r in attack_rows),
    )
    return diary, [r.recorded_utc for r in attack_rows]


def refresh_day_units(
    session: Session,
    *,
    patient_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    policy: DayUnitsPolicy = VD_AREND_2023,
    days: tuple[DiaryDay, ...] | None = None,
) -> int:
    """Recount ``start..end`` (inclusive; both None: the whole diary) and replace those rows.

    Returns the number of recorded days written. Call inside the transaction that changed the
    diary; pending ORM changes are flushed first. ``days``: the day entries of the range, when
    the caller holds them (else they are read).

    Probable migraine is a migraine day only in a patient with a migraine diagnosis (ICHD-3 1.5,
    `domain.dayunits` rule 4), which depends on the whole diary: the answer from the attacks is
    kept in ``patients.migraine_diagnosed``. When it is NULL (never counted, or only 1.3 over
    calendar months can decide) the whole diary is recounted, so a range never disagrees with
    the whole.
    """
    session.flush()
    patient = session.get(Patient, patient_id)
    table = _table()
    if patient is None:
        return 0
    whole = start is None or end is None or patient.migraine_diagnosed is None
    diary, recorded = _load(
        session,
        patient,
        None if whole else start,
        None if whole else end,
        None if whole else days,
    )
    if whole:
        has_migraine, by_attacks = migraine_status(diary)
        if patient.migraine_diagnosed != by_attacks:
            patient.migraine_diagnosed = by_attacks
    else:
        has_migraine = bool(patient.migraine_diagnosed)
    rows = compute_rows(
        diary,
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        attack_recorded_utc=recorded,
        start=None if whole else start,
        end=None if whole else end,
        policy=policy,
        has_migraine=has_migraine,
    )
    if not whole and start == end:
        _replace_one_day(session, patient.id, start, rows)
        block_aggregates.refresh_blocks(session, patient.id, start, end)  # issue 17
        return len(rows)
    stmt = delete(table).where(table.c.patient_id == patient.id)
    if not whole:
        stmt = stmt.where(table.c.day >= start, table.c.day <= end)
    session.execute(stmt)
    if rows:
        session.execute(insert(table), [dict(zip(COLUMNS, r, strict=True)) for r in rows])
    # issue 17: the windows this range falls in, in this transaction (whole: every window)
    block_aggregates.refresh_blocks(session, patient.id, *(() if whole else (start, end)))
    return len(rows)


def _replace_one_day(
    session: Session, patient_id: int, day: dt.date | None, rows: list[DayUnitTuple]
) -> None:
    """One statement: an upsert when the day is recorded, else a delete."""
    if not rows:
        session.connection().execute(_DELETE_DAY, {"pid": patient_id, "day": day})
        return
    (row,) = rows
    session.connection().execute(_UPSERT_DAY, dict(zip(COLUMNS, row, strict=True)))


_DELETE_DAY = delete(_table()).where(
    _table().c.patient_id == bindparam("pid"), _table().c.day == bindparam("day")
)
# The same SQL on SQLite (>= 3.24) and PostgreSQL. Written as text because SQLAlchemy's
# dialect-specific ``on_conflict_do_update`` cannot be cached and was recompiled every time;
# the typed bind parameters keep the column types' conversions.
_UPSERT_DAY = text(
    f"INSERT INTO day_units ({', '.join(COLUMNS)}) "  # noqa: S608 - constants only
    f"VALUES ({', '.join(':' + c for c in COLUMNS)}) "
    "ON CONFLICT (patient_id, day) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in ("patient_id", "day"))
).bindparams(*(bindparam(c, type_=_table().c[c].type) for c in COLUMNS))


def refresh_around(
    session: Session, *, patient_id: int, day: dt.date, entry: DiaryDayRow | None = None
) -> int:
    """After a day entry changed: recount that date, in one statement.

    A date's unit depends only on its own entry and on the attacks and doses that touch it
    (``domain.dayunits``: every value is an "any of" over that date), so a day entry cannot
    change its neighbours; attacks, which span dates, go through :func:`refresh_attack`.
    ``entry``: the date's entry as just written, which then need not be read back.
    """
    if entry is not None:
        session.flush()  # defaults such as recorded_utc are set on the row by the flush
        return refresh_day_units(
            session, patient_id=patient_id, start=day, end=day, days=(day_from_row(entry),)
        )
    return refresh_day_units(session, patient_id=patient_id, start=day, end=day)


def _attack_span(row: AttackRow) -> tuple[dt.date, dt.date]:
    """Every date the attack touched before *or* after the pending change (ORM history)."""
    state = inspect(row)

    def values(name: str) -> list[Any]:
        history = state.attrs[name].history
        return [v for v in (getattr(row, name), *history.deleted) if v is not None]

    starts: list[dt.datetime] = values("start_local")
    ends: list[dt.datetime] = values("end_local") + list(starts)
    ends += [s + dt.timedelta(minutes=m) for s in starts for m in values("duration_min")]
    doses = [*row.medications, *state.attrs["medications"].history.deleted]
    taken: list[dt.date] = [d.taken_day for d in doses if d.taken_day is not None]
    lo = min([*(s.date() for s in starts), *taken])
    hi = max([*(e.date() for e in ends), *taken])
    return lo, hi


def _may_change_status(patient: Patient, row: AttackRow, created: bool) -> bool:
    """Whether this attack write can change the attack-count migraine status. A new attack only
    adds to the counts: a patient who has migraine keeps it, and one who has not can only gain
    it from an attack coded 1.1 or 1.2.x. A change or a deletion may take a count away."""
    if not created:
        return True
    if patient.migraine_diagnosed:
        return False
    code = classify_attack(attack_from_row(row, tz=patient.timezone), patient_facts(patient)).code
    return code == "1.1" or code.startswith("1.2")


def refresh_attack(session: Session, row: AttackRow, *, created: bool = False) -> int:
    """After an attack was created, changed or deleted (call before the session flushes the
    change, so the old times are still known): recount every day it touched, +-1 day.
    ``created``: the attack is new (its write can only add to the migraine counts)."""
    lo, hi = _attack_span(row)
    session.flush()
    patient = session.get(Patient, row.patient_id)
    if (
        patient is not None
        and patient.migraine_diagnosed is not None
        and _may_change_status(patient, row, created)
    ):
        # An attack can give or take away the migraine diagnosis (ICHD-3 1.1 A / 1.2 A), which
        # changes every probable-migraine day of the diary: then recount the whole diary.
        diary, _recorded = _load(session, patient, None, None, days=())
        by_attacks = migraine_by_attack_counts(
            classify_attack(a, diary.patient) for a in diary.attacks
        )
        if by_attacks != patient.migraine_diagnosed:
            patient.migraine_diagnosed = None
    return refresh_day_units(
        session, patient_id=row.patient_id, start=lo - ONE_DAY, end=hi + ONE_DAY
    )


def patient_has_migraine(session: Session, patient: Patient, whole: Diary | None = None) -> bool:
    """The patient's migraine diagnosis over the whole diary, as the stored day units use it
    (for a read-out of a window of the diary, so it counts probable migraine the same way).
    ``whole``: the whole diary, when the caller holds it (else read when needed)."""
    if patient.migraine_diagnosed is not None:
        return patient.migraine_diagnosed
    if whole is None:
        whole, _recorded = _load(session, patient, None, None)
    return migraine_status(whole)[0]


def recount_stale(session: Session) -> int:
    """Recount the day units of every patient whose migraine status is not stored (after
    migration 0065, or when only 1.3 decides it); returns how many patients were recounted."""
    ids = list(
        session.scalars(
            select(Patient.id).where(Patient.migraine_diagnosed.is_(None)).order_by(Patient.id)
        )
    )
    for pid in ids:
        refresh_day_units(session, patient_id=pid)
    return len(ids)


# --------------------------------------------------------------------------- bulk (demo)


def _ns(row: Mapping[str, Any], **extra: Any) -> Any:
    return SimpleNamespace(**row, **extra)


Statuses = dict[int, bool | None]

# Whether one classification of an attack serves both the diagnosis (ICHD-3 1.3 counts days
# with its own policy) and the day units: only when both policies band intensity alike.
_SHARED_CUTOFFS = ICHD3_RULES.day_policy.cutoffs == VD_AREND_2023.cutoffs


def rows_from_insert_dicts(
    payload: Mapping[str, Sequence[Mapping[str, Any]]],
) -> tuple[list[DayUnitTuple], Statuses]:
    """Day-unit rows for patients given as the Core insert dicts the demo writes (keys
    ``patients``, ``days``, ``attacks``, ``readings``, ``aura``, ``meds``), converted with the
    same mapping functions as stored rows, and each patient's ``migraine_diagnosed``. Runs in a
    worker process: no database here.

    Each attack is placed on the patient's clock and classified once (`attack_dates`,
    `classify_placed`), and that result is handed to both the diagnosis and the day count,
    which would otherwise each classify it again (issue 17: the registry build). The cyclic
    garbage collector is paused meanwhile, as for an import (`gcpause`)."""
    with cycle_collection_paused():
        return _rows_from_insert_dicts(payload)


def _rows_from_insert_dicts(
    payload: Mapping[str, Sequence[Mapping[str, Any]]],
) -> tuple[list[DayUnitTuple], Statuses]:
    days: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    attacks: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    children: dict[str, dict[int, list[Any]]] = {
        k: defaultdict(list) for k in ("readings", "aura", "meds")
    }
    for d in payload["days"]:
        days[d["patient_id"]].append(d)
    for a in payload["attacks"]:
        attacks[a["patient_id"]].append(a)
    for key, rows in children.items():
        for c in payload[key]:
            rows[c["attack_id"]].append(_ns(c))
    out: list[DayUnitTuple] = []
    statuses: Statuses = {}
    cutoffs = VD_AREND_2023.cutoffs
    for p in payload["patients"]:
        pid = p["id"]
        ordered = sorted(attacks.get(pid, []), key=lambda a: (a["start_local"], a["id"]))
        diary = Diary(
            patient=patient_facts(_ns(p)),
            days=tuple(day_from_row(_ns(d)) for d in sorted(days.get(pid, []), key=_by_day)),
            attacks=tuple(
                attack_from_row(
                    _ns(
                        a,
                        readings=sorted(children["readings"][a["id"]], key=_by_at),
                        aura=children["aura"][a["id"]],
                        medications=children["meds"][a["id"]],
                    ),
                    tz=p.get("timezone"),
                )
                for a in ordered
            ),
        )
        dates = [attack_dates(a, diary.patient) for a in diary.attacks]
        classified = (
            {
                i: classify_placed(a, diary.patient, dates[i], cutoffs)
                for i, a in enumerate(diary.attacks)
            }
            if _SHARED_CUTOFFS
            else None
        )
        has_migraine, statuses[pid] = migraine_status(diary, classifications=classified)
        out += compute_rows(
            diary,
            clinic_id=p["clinic_id"],
            patient_id=pid,
            attack_recorded_utc=[a.get("recorded_utc") for a in ordered],
            has_migraine=has_migraine,
            classifications=classified,
            dates=dates,
        )
    return out, statuses


def _by_day(d: Mapping[str, Any]) -> dt.date:
    day: dt.date = d["day"]
    return day


def _by_at(r: Any) -> dt.datetime:
    at: dt.datetime = r.at_local
    return at
