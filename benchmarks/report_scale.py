"""Practice report at registry scale, against one hand-written SQL aggregation.

Builds (or reuses, keyed by a marker file in ./var/bench/) a demo registry of N patients x D
days with treatment courses, through ``acuhead.demo.generate`` (which fills ``day_units`` too),
then times on the same database in the same run:

* ``baseline``: one hand-written SQL statement computing the monthly-migraine-day table
  (patient x 28-day block: migraine days and recorded days, baseline = the 28 days before the
  first session), fetched in full;
* ``report``: the full practice report (``services.outcomes.practice_report``: anchors, all
  windows of all patients, endpoints with intervals, adverse events, session relief,
  questionnaires, mechanisms, trend, per-practitioner breakdown, audit row).

Each is run ``--repeat`` times after one untimed warm-up; the best time of each is reported.
The registry is built in a child process so the peak memory printed is the measuring
process's own. The LAST line is

    report_s=<s> baseline_s=<s> ratio=<report/baseline> rows=<diary rows>

Targets (issue 5): report within 2x of the baseline and under 10 s on SQLite with 2 cores;
peak memory under 2 GB.

    python benchmarks/report_scale.py [--patients 10000] [--days 365] [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from acuhead.analytics.results import PracticeReport
from acuhead.store.db import Database, upgrade
from acuhead.store.models import Clinic, DayUnitRow, DiaryDayRow, Patient

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/acuhead_bench"
END = dt.date(2026, 6, 30)  # fixed so a rebuilt registry is the same registry
GENERATOR = 1  # bump when the demo or the day-units rules change

BASELINE_SQL = {
    "sqlite": """
WITH anchors AS (
    SELECT patient_id,
           CAST(julianday(date(MIN(start_local))) - 2440587.5 AS INTEGER) AS anchor
    FROM treatment_sessions WHERE clinic_id = :clinic GROUP BY patient_id
)
SELECT d.patient_id,
       CASE WHEN d.day_num < a.anchor THEN -1 ELSE (d.day_num - a.anchor) / 28 END AS block,
       SUM(d.migraine) AS migraine_days,
       COUNT(*) AS recorded_days
FROM day_units d JOIN anchors a ON a.patient_id = d.patient_id
WHERE d.day_num >= a.anchor - 28
GROUP BY d.patient_id, block
""",
    "postgresql": """
WITH anchors AS (
    SELECT patient_id, (CAST(MIN(start_local) AS DATE) - DATE '1970-01-01') AS anchor
    FROM treatment_sessions WHERE clinic_id = :clinic GROUP BY patient_id
)
SELECT d.patient_id,
       CASE WHEN d.day_num < a.anchor THEN -1 ELSE (d.day_num - a.anchor) / 28 END AS block,
       SUM(CASE WHEN d.migraine THEN 1 ELSE 0 END) AS migraine_days,
       COUNT(*) AS recorded_days
FROM day_units d JOIN anchors a ON a.patient_id = d.patient_id
WHERE d.day_num >= a.anchor - 28
GROUP BY d.patient_id, block
""",
}


def database_url(args: argparse.Namespace) -> str:
    if args.engine == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / f"report_{args.patients}x{args.days}_s{args.seed}.sqlite3"
        return f"sqlite:///{path}"
    return str(args.pg_url)


def marker_path(args: argparse.Namespace) -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    return BENCH_DIR / f"report_{args.engine}_{args.patients}x{args.days}_s{args.seed}.json"


def wanted_marker(args: argparse.Namespace, url: str) -> dict[str, Any]:
    return {
        "patients": args.patients,
        "days": args.days,
        "seed": args.seed,
        "end": END.isoformat(),
        "generator": GENERATOR,
        "url": make_url(url).render_as_string(hide_password=True),
    }


def ensure_pg_database(url: str, *, fresh: bool) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = target.database
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists and fresh:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                exists = None
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def registry_ready(args: argparse.Namespace, url: str) -> bool:
    path = marker_path(args)
    if not path.exists() or json.loads(path.read_text()) != wanted_marker(args, url):
        return False
    if args.engine == "sqlite" and not Path(make_url(url).database or "").exists():
        return False
    try:
        db = Database(url)
        with db.read() as s:
            patients = s.scalar(select(func.count()).select_from(Patient)) or 0
            units = s.scalar(select(func.count()).select_from(DayUnitRow)) or 0
        db.dispose()
    except Exception:
        return False
    return patients == args.patients and units > 0


def build(args: argparse.Namespace, url: str) -> None:
    """Create the registry from scratch (runs in a child process: see main)."""
    from acuhead import demo

    if args.engine == "sqlite":
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        ensure_pg_database(url, fresh=True)
    db = Database(url)
    upgrade(db)
    t0 = time.perf_counter()
    c0 = time.process_time()
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if done % 1000 == 0 or done == args.patients:
            print(
                f"  built {done}/{args.patients} patients, {time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    demo.generate(
        db, patients=args.patients, days=args.days, seed=args.seed, end=END, progress=progress
    )
    wall = time.perf_counter() - t0
    print(
        f"registry built: {args.patients} patients x {args.days} days in {wall:.1f} s "
        f"(main process CPU {time.process_time() - c0:.1f} s)",
        flush=True,
    )
    db.dispose()
    marker_path(args).write_text(json.dumps(wanted_marker(args, url)))


def best_of(fn: Any, repeat: int) -> tuple[float, list[tuple[float, float]], Any]:
    """Best wall time of ``repeat`` runs after an untimed warm-up, with (wall, CPU) per run.
    CPU is this process's time: on SQLite that includes the query itself; on PostgreSQL the
    server's work is not in it."""
    fn()  # warm-up (page cache, prepared plans), untimed
    runs = []
    result = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    return min(w for w, _ in runs), runs, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="build the registry again")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = database_url(args)

    if args.build_only:
        build(args, url)
        return

    print(
        f"report_scale: {args.patients} patients x {args.days} days, engine {args.engine}",
        flush=True,
    )
    if args.engine == "postgresql":
        ensure_pg_database(url, fresh=False)
    if args.rebuild or not registry_ready(args, url):
        print("building the registry (reused on later runs) ...", flush=True)
        cmd = [sys.executable, __file__, "--build-only", *sys.argv[1:]]
        subprocess.run([c for c in cmd if c != "--rebuild"], check=True)
    else:
        print(f"reusing the registry ({marker_path(args).name})", flush=True)

    from acuhead.analytics.cohort import PG_WORK_MEM, Scope, cohort_blocks
    from acuhead.services import outcomes
    from acuhead.services.actors import Actor

    db = Database(url)
    upgrade(db)
    if not db.is_sqlite:
        # Planner statistics for a registry loaded in bulk (the demo analyses after loading,
        # but autovacuum may be off, as on the test server); untimed.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with db.read() as s:
        clinic_id = s.scalars(select(Clinic.id).order_by(Clinic.id)).first()
        rows = s.scalar(select(func.count()).select_from(DiaryDayRow)) or 0
        units = s.scalar(select(func.count()).select_from(DayUnitRow)) or 0
    assert clinic_id is not None
    actor = Actor.system(clinic_id)
    sql = text(BASELINE_SQL[args.engine])

    def baseline() -> list[Any]:
        with db.read() as s:
            if not db.is_sqlite:  # the same memory setting the report's scan uses
                s.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
            return list(s.execute(sql, {"clinic": clinic_id}).all())

    def report() -> PracticeReport:
        with db.write() as s:
            return outcomes.practice_report(s, actor=actor)

    baseline_s, baseline_times, table = best_of(baseline, args.repeat)
    report_s, report_times, result = best_of(report, args.repeat)

    # Cross-check: the report's code path gives the same migraine-day table as the baseline.
    with db.read() as s:
        cohort = cohort_blocks(s, Scope(clinic_id))
    mine = {
        (pb.patient_id, b.index): (b.counts.migraine_days, b.counts.recorded_days)
        for pb in cohort
        for b in (pb.baseline, *pb.blocks)
        if b.counts.recorded_days
    }
    theirs = {(int(p), int(k)): (int(m), int(n)) for p, k, m, n in table}
    same = mine == theirs
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.dispose()

    assert result is not None
    change = result.migraine_days_change
    print(f"diary rows {rows}, day_units rows {units}, patient x block rows {len(table)}")
    print(f"baseline runs, wall/CPU s: {', '.join(f'{w:.3f}/{c:.3f}' for w, c in baseline_times)}")
    print(f"report runs, wall/CPU s:   {', '.join(f'{w:.3f}/{c:.3f}' for w, c in report_times)}")
    print(f"machine load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.engine == "sqlite":  # the queries run inside this process: CPU time is comparable
        cpu_report = min(c for _, c in report_times)
        cpu_base = min(c for _, c in baseline_times)
        print(
            f"CPU time (load-independent): report {cpu_report:.3f} s, baseline "
            f"{cpu_base:.3f} s, ratio {cpu_report / cpu_base:.2f}"
        )
    print(
        f"report: {result.patients_treated} treated, mean change in MMD at "
        f"{result.block.label} {change.mean or 0:.2f} "
        f"(95% CI {change.ci_low or 0:.2f} to {change.ci_high or 0:.2f}), 50% responders "
        f"{result.responders['50'].rate or 0:.3f}"
    )
    print(f"migraine-day table identical to the baseline's: {same}")
    print(f"peak RSS {peak_mb:.0f} MB (target < 2048 MB)")
    print(
        f"targets: ratio <= 2 {'met' if report_s <= 2 * baseline_s else 'MISSED'}; "
        f"report < 10 s {'met' if report_s < 10 else 'MISSED'}"
    )
    if not same:
        raise SystemExit("the report's migraine-day table differs from the baseline's")
    print(
        f"report_s={report_s:.3f} baseline_s={baseline_s:.3f} "
        f"ratio={report_s / baseline_s:.2f} rows={rows}"
    )


if __name__ == "__main__":
    main()
