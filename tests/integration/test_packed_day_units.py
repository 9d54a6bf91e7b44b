"""Packed day-unit counters on both engines (``DayUnitRow``, migration 0040, the window scan).

The packed window scan must give the plain scan's rows exactly: on the hand-built cohort of
``test_outcomes``, on a 127-day window of days at every field's maximum (the most the packing
holds), and on days outside the packed ranges (recounted from the plain columns). A window of
128 days is not packed at all.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url

from acuhead.analytics.cohort import (
    Scope,
    block_counts_select,
    cohort_blocks,
    packed_windows,
)
from acuhead.domain.outcomes import BlockCounts, OutcomeConfig, day_number
from acuhead.store import models
from acuhead.store.day_units import COLUMNS
from acuhead.store.db import Database, alembic_config, upgrade
from acuhead.store.models import (
    PACKED_ATTACKS_MAX,
    PACKED_COLUMN_SQL,
    PACKED_FIELDS,
    PACKED_PEAK_SUM_MAX,
    PACKED_SCORE_MAX,
    PACKED_WINDOW_DAYS,
    DayUnitRow,
)

from .factories import World
from .test_outcomes import add_session, cohort  # noqa: F401 - the hand-built cohort fixture

D = dt.date
ANCHOR = D(2026, 3, 2)
MIGRATION = Path(models.__file__).parent / "migrations" / "versions" / "0040_packed_day_units.py"
# The most one day can put in each field (flags and counts: one day).
PER_DAY_MAX = {
    name: 1 for name, f in PACKED_FIELDS.items() if f.column == "flags" or name.endswith("_n")
} | {
    "attacks_started": PACKED_ATTACKS_MAX,
    "peak_n": PACKED_ATTACKS_MAX,
    "peak_sum": PACKED_PEAK_SUM_MAX,
    "stress_sum": PACKED_SCORE_MAX,
    "neck_tension_sum": PACKED_SCORE_MAX,
    "unpacked_days": 1,
}


def unit(day: D, **values: Any) -> dict[str, Any]:
    """A recorded day with nothing on it, except ``values``."""
    row: dict[str, Any] = {
        "day": day,
        "day_num": day_number(day),
        "recorded": True,
        **dict.fromkeys(("migraine", "headache", "moderate_severe", "acute_med", "late"), False),
        **dict.fromkeys(("migraine_specific_med", "triptan"), False),
        **dict.fromkeys(("attacks_started", "peak_sum", "peak_n", "headache_minutes"), 0),
        **dict.fromkeys(("stress", "sleep_hours", "neck_tension", "menstruating"), None),
    }
    return row | values


def maximal(day: D) -> dict[str, Any]:
    """A day at every packed field's maximum (and a long sleep, a whole day of headache)."""
    return unit(
        day,
        **dict.fromkeys(
            ("migraine", "headache", "moderate_severe", "acute_med", "late", "triptan"), True
        ),
        migraine_specific_med=True,
        attacks_started=PACKED_ATTACKS_MAX,
        peak_n=PACKED_ATTACKS_MAX,
        peak_sum=PACKED_PEAK_SUM_MAX,
        headache_minutes=1440,
        stress=PACKED_SCORE_MAX,
        neck_tension=PACKED_SCORE_MAX,
        sleep_hours=12.5,
        menstruating=True,
    )


def span(first: D, days: int) -> list[D]:
    return [first + dt.timedelta(days=i) for i in range(days)]


def write_units(db: Database, world: World, patient_id: int, rows: list[dict[str, Any]]) -> None:
    with db.write() as s:
        s.execute(
            insert(DayUnitRow),
            [{"patient_id": patient_id, "clinic_id": world.clinic_x, **r} for r in rows],
        )
        add_session(s, patient_id, dt.datetime.combine(ANCHOR, dt.time(9, 30)), None, None)


def scan(
    db: Database, scope: Scope, config: OutcomeConfig, *, packed: bool
) -> list[tuple[Any, ...]]:
    with db.read() as s:
        rows = s.execute(block_counts_select(scope, config, packed=packed)).all()
    return sorted(tuple(r) for r in rows)


def windows(db: Database, world: World, config: OutcomeConfig) -> dict[int, BlockCounts]:
    with db.read() as s:
        (pb,) = cohort_blocks(s, Scope(world.clinic_x, patient_id=world.patient_b), config)
    return {b.index: b.counts for b in (pb.baseline, *pb.blocks)}


def decode(row: Any) -> dict[str, int]:
    """Every field of a row's packed columns, taken out in Python."""
    return {
        name: (getattr(row, f.column) >> f.shift) & ((1 << f.width) - 1)
        for name, f in PACKED_FIELDS.items()
    }


def test_every_field_holds_127_days_of_its_daily_maximum_without_overlapping() -> None:
    assert set(PER_DAY_MAX) == set(PACKED_FIELDS)
    for name, f in PACKED_FIELDS.items():
        assert PACKED_WINDOW_DAYS * PER_DAY_MAX[name] < 1 << f.width, name
        assert (PACKED_WINDOW_DAYS + 1) * PER_DAY_MAX[name] >= 1 << f.width or name in {
            "stress_sum",
            "neck_tension_sum",
            "peak_sum",
        }, f"{name} could be narrower"
    for column in {f.column for f in PACKED_FIELDS.values()}:
        fields = sorted((f.shift, f.width) for f in PACKED_FIELDS.values() if f.column == column)
        for (shift, width), (following, _) in itertools.pairwise(fields):
            assert shift + width <= following, column
        assert fields[-1][0] + fields[-1][1] <= 63, f"{column} must stay a positive BIGINT"


def test_the_migration_writes_the_models_expressions() -> None:
    spec = importlib.util.spec_from_file_location("migration_0040", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.EXPRESSIONS == PACKED_COLUMN_SQL
    for name, sql in PACKED_COLUMN_SQL.items():
        computed = DayUnitRow.__table__.c[name].computed
        assert computed is not None and computed.persisted
        assert str(computed.sqltext) == sql


def test_the_database_packs_each_days_values(db: Database, world: World) -> None:
    days = span(D(2026, 2, 1), 6)
    rows = [
        unit(days[0]),
        maximal(days[1]),
        unit(
            days[2],
            late=True,
            triptan=True,
            attacks_started=3,
            peak_n=2,
            peak_sum=17,
            stress=0,
            sleep_hours=0.0,
        ),
        unit(days[3], neck_tension=4, headache_minutes=90),
        unit(days[4], attacks_started=PACKED_ATTACKS_MAX + 1, peak_n=1, peak_sum=9, stress=3),
        unit(days[5], stress=PACKED_SCORE_MAX + 1, neck_tension=2, sleep_hours=7.0),
    ]
    write_units(db, world, world.patient_b, rows)
    with db.read() as s:
        stored = {r.day: r for r in s.scalars(select(DayUnitRow).order_by(DayUnitRow.day))}
    for given in rows:
        got = decode(stored[given["day"]])
        packable = (
            given["attacks_started"] <= PACKED_ATTACKS_MAX
            and (given["stress"] or 0) <= PACKED_SCORE_MAX
        )
        flags = {n: int(given[n]) for n, f in PACKED_FIELDS.items() if f.column == "flags"}
        expected = flags | {
            "attacks_started": given["attacks_started"] if packable else 0,
            "peak_n": given["peak_n"] if packable else 0,
            "peak_sum": given["peak_sum"] if packable else 0,
            "stress_sum": (given["stress"] or 0) if packable else 0,
            "stress_n": int(given["stress"] is not None and packable),
            "neck_tension_sum": (given["neck_tension"] or 0) if packable else 0,
            "neck_tension_n": int(given["neck_tension"] is not None and packable),
            "sleep_hours_n": int(given["sleep_hours"] is not None),
            "unpacked_days": int(not packable),
        }
        assert got == expected, given["day"]


def test_packed_scan_gives_the_plain_scans_rows_on_the_cohort(
    db: Database,
    cohort: World,  # noqa: F811 - the fixture imported above
) -> None:
    configs = [
        OutcomeConfig(),
        OutcomeConfig(baseline_days=14, block_days=7),
        OutcomeConfig(baseline_days=PACKED_WINDOW_DAYS, block_days=PACKED_WINDOW_DAYS),
    ]
    for config in configs:
        plain = scan(db, Scope(cohort.clinic_x), config, packed=False)
        assert scan(db, Scope(cohort.clinic_x), config, packed=True) == plain, config
        assert {r[0] for r in plain} == {cohort.patient_a, cohort.patient_b}
        if config == configs[0]:  # every sum is non-zero somewhere: the comparison bites
            # (the hand-built cohort has no uncertain day: that sum is checked below)
            columns = list(zip(*plain, strict=True))[2:-1]
            assert all(any(column) for column in columns)


def test_uncertain_days_are_summed_beside_the_known_count(db: Database, world: World) -> None:
    """Issue 12 item 8: the uncertain-day counter is summed from its own column, packed or not,
    and the known migraine count stays apart."""
    before = span(ANCHOR - dt.timedelta(days=28), 28)
    rows = [unit(d, migraine=i < 4, migraine_uncertain=4 <= i < 7) for i, d in enumerate(before)]
    write_units(db, world, world.patient_b, rows)
    config = OutcomeConfig()
    scope = Scope(world.clinic_x)
    assert scan(db, scope, config, packed=True) == scan(db, scope, config, packed=False)
    baseline = windows(db, world, config)[-1]
    assert (baseline.migraine_days, baseline.migraine_uncertain_days) == (4, 3)


def test_a_127_day_window_of_maximal_days_does_not_overflow(db: Database, world: World) -> None:
    n = PACKED_WINDOW_DAYS
    config = OutcomeConfig(baseline_days=n, block_days=n)
    before = span(ANCHOR - dt.timedelta(days=n), n)
    write_units(db, world, world.patient_b, [maximal(d) for d in [*before, *span(ANCHOR, n + 1)]])
    assert packed_windows(config)
    scope = Scope(world.clinic_x)
    assert scan(db, scope, config, packed=True) == scan(db, scope, config, packed=False)
    full = BlockCounts(
        *([n] * 8),
        attacks=n * PACKED_ATTACKS_MAX,
        peak_sum=n * PACKED_PEAK_SUM_MAX,
        peak_n=n * PACKED_ATTACKS_MAX,
        headache_minutes=n * 1440,
        stress_sum=n * PACKED_SCORE_MAX,
        stress_n=n,
        neck_tension_sum=n * PACKED_SCORE_MAX,
        neck_tension_n=n,
        sleep_hours_sum=n * 12.5,
        sleep_hours_n=n,
    )
    got = windows(db, world, config)
    assert got[-1] == full and got[0] == full
    assert got[1] == BlockCounts(*([1] * 8), PACKED_ATTACKS_MAX, PACKED_PEAK_SUM_MAX,
                                 PACKED_ATTACKS_MAX, 1440, 10, 1, 10, 1, 12.5, 1)  # fmt: skip


def test_a_128_day_window_is_summed_from_the_plain_columns(db: Database, world: World) -> None:
    n = PACKED_WINDOW_DAYS + 1
    config = OutcomeConfig(baseline_days=n, block_days=n)
    write_units(
        db, world, world.patient_b, [maximal(d) for d in span(ANCHOR - dt.timedelta(days=n), n)]
    )
    assert not packed_windows(config)
    statement = str(block_counts_select(Scope(world.clinic_x), config))
    assert "attack_pack" not in statement and "day_units.attacks_started" in statement
    with pytest.raises(ValueError, match="127"):
        block_counts_select(Scope(world.clinic_x), config, packed=True)
    # 128 x 4096 attacks is 2**19: packed, the count would have carried into peak_n.
    baseline = windows(db, world, config)[-1]
    assert baseline.recorded_days == baseline.triptan_days == n
    assert (baseline.attacks, baseline.peak_n) == (n * PACKED_ATTACKS_MAX, n * PACKED_ATTACKS_MAX)
    assert baseline.peak_sum == n * PACKED_PEAK_SUM_MAX and baseline.stress_sum == n * 10


def test_days_outside_the_packed_ranges_are_recounted_from_the_plain_columns(
    db: Database, world: World
) -> None:
    """A flood of attacks on one day, a score past validation: not packable, still counted."""
    config = OutcomeConfig()
    first = ANCHOR - dt.timedelta(days=28)
    rows = [unit(d, stress=5, attacks_started=1, peak_n=1, peak_sum=6) for d in span(first, 56)]
    rows[3] |= {"attacks_started": 5000, "peak_n": 5000, "peak_sum": 45000}
    rows[30] |= {"stress": 11, "neck_tension": 3}
    write_units(db, world, world.patient_b, rows)
    scope = Scope(world.clinic_x)
    plain = scan(db, scope, config, packed=False)
    packed = scan(db, scope, config, packed=True)
    # Both windows hold an unpackable day: their attack and score sums come back unknown ...
    assert [r[1] for r in packed] == [-1, 0]
    assert all(r[10] is None and r[14] is None for r in packed)
    assert [r[2:10] for r in packed] == [r[2:10] for r in plain]
    # ... and the cohort counts that patient from the plain columns.
    got = windows(db, world, config)
    assert [tuple(got[r[1]]) for r in plain] == [r[2:] for r in plain]
    assert got[-1].attacks == 27 + 5000 and got[-1].stress_sum == 28 * 5
    assert got[0].stress_sum == 27 * 5 + 11 and got[0].neck_tension_n == 1


# --------------------------------------------------------------------------- the migration


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of its own (the migration runs down and up on it)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'migrate.sqlite3'}")
        yield database
        database.dispose()
        return
    admin_url = os.environ.get(
        "ACUHEAD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"acuhead_test_packed_{os.getpid()}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(admin_url).set(database=name).render_as_string(False))
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def downgrade(db: Database, revision: str) -> None:
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def shape(db: Database) -> dict[str, Any]:
    """What must survive the rebuild: columns, keys, indexes, row storage."""
    insp = inspect(db.engine)
    out: dict[str, Any] = {
        "columns": [
            (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns("day_units")
        ],
        "pk": insp.get_pk_constraint("day_units"),
        "fks": sorted(
            (
                f["name"],
                tuple(f["constrained_columns"]),
                f["referred_table"],
                f["options"].get("ondelete"),
            )
            for f in insp.get_foreign_keys("day_units")
        ),
        "indexes": sorted(
            (i["name"], tuple(i["column_names"]), i["unique"])
            for i in insp.get_indexes("day_units")
        ),
    }
    if db.is_sqlite:
        with db.engine.connect() as conn:
            ddl = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'day_units'"))
        out["without_rowid"] = "WITHOUT ROWID" in str(ddl)
    return out


def test_the_migration_packs_existing_rows_and_keeps_the_table(scratch: Database) -> None:
    upgrade(scratch, "0030")
    with scratch.write() as s:
        s.execute(text("INSERT INTO clinics (id, name, created_utc) VALUES (1, 'C', :t)"),
                  {"t": dt.datetime(2026, 1, 1)})  # fmt: skip
        s.execute(text(
            "INSERT INTO patients (id, clinic_id, external_id, display_name, sex, timezone,"
            " safety, version, created_utc) VALUES (7, 1, 'P', '', 'unknown', 'UTC', '{}', 1, :t)"
        ), {"t": dt.datetime(2026, 1, 1)})  # fmt: skip
        rows = [unit(D(2026, 2, 1)), maximal(D(2026, 2, 2)), unit(D(2026, 2, 3), stress=12)]
        then = [c for c in COLUMNS if c != "migraine_uncertain"]  # added by 0070
        names = ", ".join(then)
        marks = ", ".join(f":{c}" for c in then)
        s.execute(
            text(f"INSERT INTO day_units ({names}) VALUES ({marks})"),
            [{"patient_id": 7, "clinic_id": 1, **r} for r in rows],
        )
    before = shape(scratch)

    upgrade(scratch, "0040")
    after = shape(scratch)
    added = [c for c in after["columns"] if c[0] in PACKED_COLUMN_SQL]
    assert [c[0] for c in added] == ["flags", "attack_pack", "mech_pack"]
    assert all(c[1] == "BIGINT" and c[2] is False for c in added)
    assert {**after, "columns": [c for c in after["columns"] if c not in added]} == before
    if scratch.is_sqlite:
        assert after["without_rowid"]
    with scratch.read() as s:
        packed = (DayUnitRow.day, DayUnitRow.flags, DayUnitRow.attack_pack, DayUnitRow.mech_pack)
        stored = s.execute(select(*packed).order_by(DayUnitRow.day)).all()
    assert [r.day for r in stored] == [D(2026, 2, 1), D(2026, 2, 2), D(2026, 2, 3)]
    assert [decode(r)["migraine"] for r in stored] == [0, 1, 0]
    assert decode(stored[1])["attacks_started"] == PACKED_ATTACKS_MAX
    assert [decode(r)["unpacked_days"] for r in stored] == [0, 0, 1]

    downgrade(scratch, "0030")
    assert shape(scratch) == before
    with scratch.engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM day_units")) == 3
        if not scratch.is_sqlite:
            aggregates = "SELECT COUNT(*) FROM pg_proc WHERE proname = 'packed_sum'"
            assert conn.scalar(text(aggregates)) == 0
