"""Registry build speed (the demo generator at scale), and whether it still writes the same data.

Builds a demo registry of N patients x D days (``acuhead.demo.generate``, seed and end date
fixed) into a fresh database of the chosen engine, then prints the build's wall and CPU time
(this process's and its worker processes'), the peak memory, the rows per table, and a SHA-256
of every generated table's rows in a canonical order. The hash is compared with the one the
code before the fast build path (issue 17) gave for the same size and seed, so a faster build
cannot quietly change what the demo generates:

    same data as before: True

Canonical form: every table is read through SQLAlchemy's column types (so both engines give
the same Python values) in the order of a unique key made of integers, dates and times only
(no text collation involved; the key's uniqueness is checked while hashing). Left out:
columns filled from the wall clock (``created_utc``, the intake screen's ``recorded_utc``) and
the surrogate ids of rows the generator leaves to the database (diary days, readings, aura,
doses, adverse events, screens, regimens, appointments); the ids it assigns itself (patients,
attacks, courses, sessions) are part of the data. Floats are written rounded to 6 decimals
(a window's sum of sleep hours may be added in a different order by another engine). JSON
values are written with sorted keys.

    python benchmarks/registry_build.py [--patients 2000] [--days 365] [--engine sqlite|postgresql]
    python benchmarks/registry_build.py --profile var/bench/build.prof   # cProfile the build
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, select, text
from sqlalchemy.engine import make_url

from acuhead import demo
from acuhead.store.db import Database, upgrade
from acuhead.store.models import Base

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/acuhead_bench_build"
END = dt.date(2026, 6, 30)  # the end date report_scale.py builds with

# table: (unique key columns, columns left out)
HASHED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "patients": (("id",), ("created_utc",)),
    "diary_days": (("patient_id", "day"), ("id",)),
    "attacks": (("id",), ()),
    "intensity_readings": (("attack_id", "at_local", "intensity"), ("id",)),
    "aura_symptoms": (("attack_id", "onset_local"), ("id",)),
    "medication_doses": (("attack_id", "taken_local"), ("id",)),
    "courses": (("id",), ("created_utc",)),
    "treatment_sessions": (("id",), ("created_utc",)),
    "adverse_events": (("session_id",), ("id", "created_utc")),
    "intake_screens": (("patient_id", "screened_on"), ("id", "recorded_utc")),
    "regimens": (("patient_id", "start"), ("id",)),
    "appointments": (("practitioner_id", "start_utc"), ("id", "created_utc")),
    "day_units": (("patient_id", "day"), ()),
    "block_aggregates": (("patient_id", "block"), ()),
}

# (patients, days, seed) -> {table: sha256, "all": sha256 of the table lines}. Produced by
# the code before the fast build path: main at 0724bac (demo.generate with Core executemany
# of dicts and BulkDayUnits), end date 2026-06-30; equal on SQLite and PostgreSQL.
REFERENCE: dict[tuple[int, int, int], dict[str, str]] = {}


def canonical(value: Any) -> str:
    if value is None:
        return "~"
    if value is True or value is False:
        return "T" if value else "F"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return json.dumps(str(value))


def table_hash(db: Database, name: str) -> tuple[str, int]:
    """The SHA-256 of one table's rows in key order, and the number of rows."""
    key, left_out = HASHED[name]
    table: Table = Base.metadata.tables[name]
    cols = [table.c[k] for k in key] + [
        c for c in table.c if c.name not in key and c.name not in left_out
    ]
    digest = hashlib.sha256(("|".join(c.name for c in cols) + "\n").encode())
    n = 0
    last: tuple[Any, ...] | None = None
    width = len(key)
    with db.engine.connect() as conn:
        result = conn.execution_options(yield_per=20_000).execute(
            select(*cols).order_by(*(table.c[k] for k in key))
        )
        for row in result:
            this = tuple(row[:width])
            if last is not None and this <= last:
                raise SystemExit(f"{name}: key {key} is not unique ({this} after {last})")
            last = this
            digest.update(("\x1f".join(map(canonical, row)) + "\n").encode())
            n += 1
    return digest.hexdigest(), n


def hash_all(db: Database) -> tuple[dict[str, str], dict[str, int]]:
    hashes: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in HASHED:
        hashes[name], counts[name] = table_hash(db, name)
    lines = "".join(f"{name} {hashes[name]}\n" for name in HASHED)
    hashes["all"] = hashlib.sha256(lines.encode()).hexdigest()
    return hashes, counts


def database_url(args: argparse.Namespace) -> str:
    if args.engine == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / f"build_{args.patients}x{args.days}_s{args.seed}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = str(args.pg_url)
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = target.database
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--profile", help="write cProfile statistics of the build here")
    parser.add_argument("--no-hash", action="store_true", help="time the build only")
    args = parser.parse_args(argv)

    url = database_url(args)
    print(
        f"registry_build: {args.patients} patients x {args.days} days, seed {args.seed}, "
        f"engine {args.engine} ({demo.__file__})",
        flush=True,
    )
    db = Database(url)
    upgrade(db)
    profiler = cProfile.Profile() if args.profile else None
    load_before = load()
    t0, c0, k0 = time.perf_counter(), cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    if profiler is not None:
        profiler.enable()
    demo.generate(db, patients=args.patients, days=args.days, seed=args.seed, end=END)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    wall = time.perf_counter() - t0
    own = cpu(resource.RUSAGE_SELF) - c0
    children = cpu(resource.RUSAGE_CHILDREN) - k0
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"build: {wall:.1f} s wall, CPU {own:.1f} s this process + {children:.1f} s workers "
        f"(load average before {load_before}, after {load()})"
    )
    print(f"peak RSS: {peak_self:.0f} MB this process, {peak_children:.0f} MB largest worker")
    if args.no_hash:
        db.dispose()
        print(f"build_s={wall:.1f}")
        return
    t1 = time.perf_counter()
    hashes, counts = hash_all(db)
    db.dispose()
    print(f"hashed in {time.perf_counter() - t1:.1f} s")
    reference = REFERENCE.get((args.patients, args.days, args.seed))
    width = max(map(len, HASHED))
    for name in HASHED:
        mark = ""
        if reference is not None:
            mark = "  same" if reference.get(name) == hashes[name] else "  DIFFERENT"
        print(f"  {name:<{width}} {counts[name]:>10} rows  {hashes[name][:16]}{mark}")
    print(f"sha256 of all tables: {hashes['all']}")
    print(json.dumps(hashes))
    if reference is None:
        print("same data as before: unknown (no reference hash for this size and seed)")
    else:
        print(f"same data as before: {reference['all'] == hashes['all']}")
    print(f"build_s={wall:.1f} rows={counts['diary_days']}")


if __name__ == "__main__":
    main(sys.argv[1:])
