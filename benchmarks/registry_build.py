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

It also prints the build's phases (wall: chunks made and loaded, the deferred indexes built, the
window sums, the rest: commit, ANALYZE and setval on PostgreSQL, appointments) and, on a local
PostgreSQL, the CPU of the server backends serving the build's connections, which neither
CPU figure of this process includes. A run of older code (``PYTHONPATH=<other>/src``) prints
no phases.

Target (issue 17): 10,000 x 365 in under 90 s on both engines, same hash. The machine has 2
cores, so wall is bounded below by (this process + workers + server CPU) / 2 plus the serial
tail after the load (index build, window sums, commit).

Measured (2-core machine; "load" is the 1-minute load average before the run):

| run | wall | CPU main + workers (+ server) | load |
|---|---|---|---|
| main 9afa228, SQLite 10k (lead, quiet) | 114.0 s | 65.3 + 141.4 | 0.7 |
| main 9afa228, PostgreSQL 10k (lead) | 161.5 s | 17.4 + 142.7 (+ ~90 est.) | 1.6 |
| main 9afa228, SQLite 2000 | 52.3 s | 12.6 + 27.3 | 4.1 |
| main 9afa228, PostgreSQL 2000 | 56.3 s | 3.8 + 27.7 + 18.3 | 4.6 |
| build-speed 836a57b, SQLite 2000 | 37.6 s | 10.0 + 21.0 | 2.0 |
| build-speed 836a57b, PostgreSQL 2000 | 27.0 s | 3.4 + 19.2 + 6.6 | 3.1 |
| build-speed 836a57b, SQLite 10k (quiet) | **75.5 s** | 49.4 + 92.9 | 0.8 |
| build-speed 836a57b, PostgreSQL 10k (quiet) | **77.7 s** | 14.9 + 94.1 + 31.0 | 0.7 |

The 2000-patient runs shared the machine with another session's 100,000-patient build, so
their wall times say little beside each other; the 10k runs were alone. Server CPU of the
main-branch PostgreSQL 10k run was not measured then (~90 s from 18.3 s at 2000). At 10k the
build's CPU went 207 -> 142 s on SQLite and about 250 -> 140 s on PostgreSQL (server
included); the serial tail after the load is 3.6 s index build, 3.5 s window sums, 2.2 s rest
on SQLite (24.5 s in all before the checkpoint and index changes) and 2.1, 3.2, 5.7 s on
PostgreSQL. Where the CPU went: workers (a 200-patient chunk, 2.6 -> 1.8 s): the cyclic
collector paused for the whole chunk (a sixth of it), driver values made a column at a time
with each distinct date, time and list written once; SQLite main process: one transaction,
the two scattered indexes built after the load, ids shifted by the INSERT itself, the commit
leaving the log to the background checkpointer; PostgreSQL server: foreign keys added back
after the load (one join each instead of a trigger per row: 18.3 -> 6.6 s at 2000).
"""

from __future__ import annotations

import argparse
import contextlib
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
from acuhead.store import block_aggregates
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
# of dicts and BulkDayUnits), end date 2026-06-30; the same on SQLite and PostgreSQL (both
# measured at both sizes).
REFERENCE: dict[tuple[int, int, int], dict[str, str]] = {
    (500, 365, 1): {
        "patients": "a1354f002b5db76d67a670ef84d67c655d197a10d3bf8498b9a57eb11110645b",
        "diary_days": "47211150de4f3a1322988776206eee1d12e4f689c11990821bc6f6e3211572c9",
        "attacks": "12759ea221708e1c66eb61b3c7d2bfff271aad871cb27eed1187d13efef6c213",
        "intensity_readings": "1f73b39c1564236028424650ae4f95c6fbefeb821d14910bc7db6bec02715b66",
        "aura_symptoms": "6012a650b176f8ea18d5281e387420f92bb4a024de7b4bb685b38f18cf0e602d",
        "medication_doses": "e8b1b4afadf6cd9181515e63c90a63090cce5328b40a0234cfeac2f58de0cfee",
        "courses": "f2abf52fbf3260aa41c5c95bb9f64957e8bc0c387252b4395c985a0a8ccf6981",
        "treatment_sessions": "f17d843c60a195853e243b8e1fe2574db231549f126b717ed7031edd40b1886a",
        "adverse_events": "b8638f1a7373e4c46171be49411998f50f07f230364c638c46925cea47167631",
        "intake_screens": "4bfcdbb45be26a69e3326d92fb078464b34e0bb1f967277a7a4dec7e78b28154",
        "regimens": "0453e43b45394772f03e96ce51a6431413965e8f82bcf498c2dd71952e2b7ff2",
        "appointments": "0aff9cafb026365d2d2039797a5457b11143f950bf6a77835ec3cdd4321442f9",
        "day_units": "5afde81fb1fe160d5e924fc65a3b5972377fe149ef6ac121ea51b7aa8fb4fd57",
        "block_aggregates": "5836ff162d3092b880d17a517bb935e3ea95105f226c3d675e4b09bbb6c6ced4",
        "all": "9a7a73f938ca3fd545ccb85eb35b4e8d065124cb2f787dc223398b584bdafe4b",
    },
    (2000, 365, 1): {
        "patients": "1ea05ee388d16048f077d1f9cf8fd120470f5019cb45b00164d392cd85491018",
        "diary_days": "689a086a6157fecddf2bbd36b4a3347d62f12c2cf67a86c4db07a7311422d77a",
        "attacks": "d2fb933b64325ae5d9609e2651a52c6539c41bd931d3067ac272a1367b205ade",
        "intensity_readings": "4132035e3a826b8ebcfb9c889e94923e7b0081dbece377a6fbe782d237b3a514",
        "aura_symptoms": "1e1e2a828ae9041c9d4a80e18032ee74a6b3b11dfaf4dc51359a9d9714212894",
        "medication_doses": "a3e782f60bbd5db9c25ddd3106a28f19374c1d28cce7bd76f253840ebac7e977",
        "courses": "2f6f14537ece4e83a22d102c135fa0bc6a0818a0006b603aa9e8788aa96cdf50",
        "treatment_sessions": "2edda9266911429294dfc862356480952b75819687b0add3d77702903a3fb495",
        "adverse_events": "126e5c039f5de6469c927fc4c12f161b1a52dcf4ae09d2b2847060e2ffb99ac9",
        "intake_screens": "2be748bd6054739caad878c4a6d411204f390a97a718cff2c657777e385d21f6",
        "regimens": "6e2ad2dbebc9d9e249f643e9f13050b8757867358f1a18ed2e59fd589fc64737",
        "appointments": "8fcd84f95329f637403b5677e5e75d4dfc2e6ae94fd67a3ccea32c23c28aa582",
        "day_units": "a4234f2cb90e33a865f51594638bf20c4073191eb464bc2c025079d8510f6c1a",
        "block_aggregates": "2238e4eb0b4980b3bcd2ee964c8aaeb320f0ab260758660394aa0f63251152f4",
        "all": "e81b49c24e099b4ddc3acb00cb08efc7378b12221fe09e91a13b7fd38bd597a8",
    },
}


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


def server_cpu(db: Database) -> dict[int, float] | None:
    """CPU seconds of each PostgreSQL server process serving this database's connections (its
    pool's backends: the COPY, the window sums, ANALYZE), read from /proc when the server runs
    on this machine; None on SQLite or a remote server."""
    if db.is_sqlite:
        return None
    with db.engine.connect() as conn:
        pids = list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend'"
                )
            ).scalars()
        )
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        found[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


def timed_phases() -> dict[str, float]:
    """Wall seconds of the build's phases, by wrapping the demo module's steps (this script
    only): chunks made and loaded, the secondary indexes made again (a fresh build), the
    window sums; the rest is the commit, ANALYZE and setval (PostgreSQL) and appointments."""
    phases: dict[str, float] = {}

    def wrap(name: str, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t

        return run

    if not hasattr(demo, "_make_and_write"):  # an older demo module (a before/after run)
        return phases
    demo._make_and_write = wrap("make and load chunks", demo._make_and_write)
    block_aggregates.rebuild_all = wrap("window sums", block_aggregates.rebuild_all)
    real_deferred = demo.indexes_deferred

    @contextlib.contextmanager
    def deferred(*args: Any, **kwargs: Any) -> Any:
        with real_deferred(*args, **kwargs):
            yield
            t = time.perf_counter()
        phases["index build"] = time.perf_counter() - t

    demo.indexes_deferred = deferred
    return phases


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
    phases = timed_phases()
    profiler = cProfile.Profile() if args.profile else None
    load_before = load()
    server_before = server_cpu(db)
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
    if phases:
        rest = wall - sum(phases.values())
        steps = [*phases.items(), ("rest", rest)]
        print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps))
    server = server_cpu(db)
    if server is not None and server_before is not None:
        used = sum(cpu - server_before.get(pid, 0.0) for pid, cpu in server.items())
        print(f"server CPU: {used:.1f} s (the PostgreSQL backends of this build's connections)")
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
