"""CPU of one diary-day write, with the block aggregates kept up to date and without.

Issue 17 keeps ``block_aggregates`` up to date in the transaction of every diary write
(``store.block_aggregates.refresh_blocks``); the load benchmark (``benchmarks/load.py``) showed
the server's CPU per request rise from about 6 to 9 ms with it. This script times the write
path itself, in process, so the figure does not depend on what else the machine runs:

* ``write``: ``services.diary.upsert_day`` in its own write transaction (as a PUT /days/{date}
  does), for an untreated patient and for one with a treatment course and a year of diary;
* ``write_no_aggregates``: the same writes with ``refresh_blocks`` replaced by a no-op: the
  baseline, in the same process and on the same database;
* ``refresh``: ``refresh_blocks`` alone, called on the same day again and again.

CPU is this process's (SQLite runs in it); on PostgreSQL the CPU of this process's server
backends is added (their pids from ``pg_backend_pid()``, their CPU from /proc), so other work
on the same server does not count. The LAST line (one per engine) is machine-readable:

    engine=<e> write_ms=<treated> write_untreated_ms=<n> baseline_ms=<treated>
    baseline_untreated_ms=<n> refresh_ms=<treated> refresh_untreated_ms=<n>
    overhead=<write/baseline treated>

    python benchmarks/write_path.py [--engine sqlite|postgresql|both] [--writes 400]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from acuhead.domain.diary import DiaryDay  # noqa: E402
from acuhead.services import accounts, diary  # noqa: E402
from acuhead.services.actors import Actor  # noqa: E402
from acuhead.store import block_aggregates  # noqa: E402
from acuhead.store.db import Database, upgrade  # noqa: E402
from acuhead.store.models import Patient, TreatmentSessionRow  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/acuhead_bench_writes"
END = dt.date(2026, 11, 30)


def fresh_postgres(url: str) -> None:
    """Drop and create the benchmark's own database (never ``test``)."""
    parsed = make_url(url)
    name = parsed.database
    assert name and name != "test", "the write benchmark needs a database of its own"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def setup(db: Database) -> tuple[Actor, int, int]:
    """A clinic with an untreated patient and a treated one (a year of diary, sessions from
    day 60 on): returns the actor and both patients' ids."""
    rng = random.Random(7)
    with db.write() as s:
        clinic = accounts.create_clinic(s, name="Write bench")
        actor = Actor.system(clinic.id)
        untreated = diary.create_patient(s, actor=actor, external_id="untreated").id
        treated = diary.create_patient(s, actor=actor, external_id="treated").id
    for pid in (untreated, treated):
        for n in range(365):
            day = END - dt.timedelta(days=364 - n)
            with db.write() as s:
                diary.upsert_day(s, actor=actor, patient_id=pid, day=_day(day, rng))
    with db.write() as s:
        patient = s.get(Patient, treated)
        assert patient is not None
        for k in range(8):
            start = dt.datetime.combine(END - dt.timedelta(days=300 - 7 * k), dt.time(10))
            s.add(
                TreatmentSessionRow(
                    clinic_id=patient.clinic_id,
                    patient_id=treated,
                    start_local=start,
                    start_utc=start,
                    record={},
                )
            )
        s.flush()
        block_aggregates.rebuild_patient(s, treated)
    return actor, untreated, treated


def _day(day: dt.date, rng: random.Random) -> DiaryDay:
    return DiaryDay(
        date=day,
        headache=rng.random() < 0.3,
        stress=rng.randint(0, 10),
        sleep_hours=round(rng.uniform(5, 9), 1),
    )


BACKENDS: set[int] = set()


def watch_backends(engine: Engine) -> None:
    """Remember the server pid of each PostgreSQL connection the engine opens."""

    @event.listens_for(engine, "connect")
    def _remember(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        BACKENDS.add(int(cur.fetchone()[0]))
        cur.close()

    engine.dispose()  # connections opened before the listener are not watched


def backends_cpu() -> float:
    """User + system CPU seconds of this process's live server backends, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in BACKENDS:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextmanager
def cpu(engine: str) -> Iterator[list[float]]:
    """Process CPU (+ its PostgreSQL backends') spent inside the block, in seconds."""
    out: list[float] = []
    server0 = backends_cpu()
    t0 = time.process_time()
    yield out
    out.append(time.process_time() - t0 + backends_cpu() - server0)


def time_writes(db: Database, engine: str, actor: Actor, pid: int, n: int) -> float:
    """CPU ms per write transaction of one diary day (days of the last month in turn)."""
    rng = random.Random(pid)
    with cpu(engine) as spent:
        for i in range(n):
            day = END - dt.timedelta(days=i % 30)
            with db.write() as s:
                diary.upsert_day(s, actor=actor, patient_id=pid, day=_day(day, rng))
    return 1000 * spent[0] / n


def time_refresh(db: Database, engine: str, pid: int, n: int) -> float:
    """CPU ms per ``refresh_blocks`` of one day, inside one transaction."""
    day = END - dt.timedelta(days=3)
    with db.write() as s, cpu(engine) as spent:
        for _ in range(n):
            block_aggregates.refresh_blocks(s, pid, day, day)
    return 1000 * spent[0] / n


@contextmanager
def no_refresh() -> Iterator[None]:
    """The baseline: the same writes with the aggregates' refresh a no-op."""
    real: Callable[..., None] = block_aggregates.refresh_blocks
    block_aggregates.refresh_blocks = lambda *a, **k: None
    try:
        yield
    finally:
        block_aggregates.refresh_blocks = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--url", default=DEFAULT_PG, help="PostgreSQL URL (its own database)")
    parser.add_argument("--writes", type=int, default=400)
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    lines = [run(engine, args.url, args.writes) for engine in engines]
    print("\n".join(lines))


def run(engine: str, pg_url: str, n: int) -> str:
    """Measure on one engine; prints the table and returns the machine-readable line."""
    with tempfile.TemporaryDirectory() as tmp:
        if engine == "postgresql":
            fresh_postgres(pg_url)
            url = pg_url
        else:
            url = f"sqlite:///{tmp}/bench.db"
        db = Database(url)
        upgrade(db)
        actor, untreated, treated = setup(db)
        if engine == "postgresql":
            watch_backends(db.engine)
        for _ in range(2):  # warm-up: statement caches, page cache
            time_writes(db, engine, actor, treated, 20)
            with no_refresh():
                time_writes(db, engine, actor, treated, 20)
        figures: dict[str, float] = {}
        # Interleaved, best of three, so a busy moment hits both sides alike.
        for name, pid in (("", treated), ("_untreated", untreated)):
            with_agg, without = [], []
            for _ in range(3):
                with_agg.append(time_writes(db, engine, actor, pid, n))
                with no_refresh():
                    without.append(time_writes(db, engine, actor, pid, n))
            figures[f"write{name}_ms"] = min(with_agg)
            figures[f"baseline{name}_ms"] = min(without)
            figures[f"refresh{name}_ms"] = min(time_refresh(db, engine, pid, n) for _ in range(3))
        db.dispose()
    print(
        f"per diary-day write on {engine}, {n} writes x best of 3 (CPU ms, "
        f"{'process + server' if engine == 'postgresql' else 'process'}):"
    )
    for key, value in figures.items():
        print(f"  {key:24} {value:7.3f}")
    overhead = figures["write_ms"] / figures["baseline_ms"]
    return (
        f"engine={engine} "
        + " ".join(f"{k}={v:.3f}" for k, v in figures.items())
        + f" overhead={overhead:.2f}"
    )


if __name__ == "__main__":
    main()
