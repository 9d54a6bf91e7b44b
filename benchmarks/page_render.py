"""Render time of the practitioner's patient page and the patient's overview, 3-year diary.

Builds a fresh database (SQLite in a temporary directory under ./var/bench/, or a scratch
PostgreSQL database with ``--engine postgresql``) holding one demo patient with ``--days`` of
diary (default three years) and a treatment course, through ``acuhead.demo.generate`` (which
fills ``day_units`` as the app does). Then, through the real app (FastAPI TestClient with a
logged-in session cookie: authentication, write transaction, audit rows, middleware, Jinja),
it times in the same run:

* ``render``: the practitioner page ``/clinic/patients/{id}`` (read-out, timeline, outcome
  panel, charts);
* ``diary``: the patient's own overview ``/diary/overview`` (calendar and chart);
* ``empty``: the baseline, a page that extends ``base.html`` with an empty body behind the same
  login and write session (everything a page costs before its own work).

Each is requested ``--repeat`` times after ``--warmup`` untimed requests; best and median are
printed, with the process CPU time per request, which does not depend on what else the
machine is running (wall times on a shared 2-core machine do). The LAST line is

    render_ms=<ms> empty_ms=<ms> ratio=<render/empty> diary_ms=<ms>

(best wall times). Target (issue 6): the patient page under 150 ms. ``--profile N`` adds a
cProfile of N patient-page builds, run in this thread (the app serves sync routes from worker
threads, which cProfile does not follow).

    python benchmarks/page_render.py [--days 1095] [--repeat 9] [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from jinja2 import BaseLoader, ChoiceLoader, DictLoader
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from acuhead import demo
from acuhead.config import Settings
from acuhead.store.db import Database, upgrade
from acuhead.store.models import AttackRow, DiaryDayRow, Patient, TreatmentSessionRow, User
from acuhead.web.app import create_app
from acuhead.web.deps import WriteSession
from acuhead.web.pages.base import PageUser, StaffUser, render, templates

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/acuhead_bench_pages"
PRACTITIONER = "practitioner@demo.acuhead.test"
PATIENT = "patient@demo.acuhead.test"
SAME = {"Origin": "http://testserver"}
EMPTY_TEMPLATE = "bench/empty.html"


@contextmanager
def scratch_database(args: argparse.Namespace) -> Iterator[Database]:
    """A new, empty, migrated database that is removed afterwards."""
    if args.engine == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="page_render-", dir=BENCH_DIR) as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'pages.sqlite3'}")
            try:
                upgrade(db)
                yield db
            finally:
                db.dispose()
        return
    url = make_url(args.pg_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(url.render_as_string(hide_password=False))
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build(db: Database, args: argparse.Namespace) -> int:
    """``args.candidates`` demo patients with ``args.days`` of diary ending today; the one with
    the most attacks (the heaviest page) gets the demo patient login. Returns its id."""
    t0 = time.perf_counter()
    demo.generate(db, patients=args.candidates, days=args.days, seed=args.seed, end=dt.date.today())
    with db.write() as s:
        counts = s.execute(
            select(AttackRow.patient_id, func.count())
            .group_by(AttackRow.patient_id)
            .order_by(func.count().desc(), AttackRow.patient_id)
        ).all()
        pid = int(counts[0][0])
        user_id = s.scalar(select(User.id).where(User.email == PATIENT))
        for p in s.scalars(select(Patient).where(Patient.user_id == user_id)):
            p.user_id = None
        s.flush()
        patient = s.get(Patient, pid)
        assert patient is not None
        patient.user_id = user_id
        days = s.scalar(select(func.count()).where(DiaryDayRow.patient_id == pid))
        sessions = s.scalar(select(func.count()).where(TreatmentSessionRow.patient_id == pid))
        kind = patient.display_name
    print(
        f"built {args.candidates} patients over {args.days} days in "
        f"{time.perf_counter() - t0:.1f} s ({args.engine}); measuring {kind}: {days} diary days, "
        f"{counts[0][1]} attacks, {sessions} sessions"
    )
    return pid


def add_empty_page(app: FastAPI) -> None:
    """The baseline page: same login, write session and layout as the measured pages."""
    loader = templates.env.loader
    assert isinstance(loader, BaseLoader)
    templates.env.loader = ChoiceLoader(
        [DictLoader({EMPTY_TEMPLATE: '{% extends "base.html" %}'}), loader]
    )

    def empty_page(request: Request, user: StaffUser, session: WriteSession) -> Response:
        return render(request, EMPTY_TEMPLATE, {}, user=user)

    app.add_api_route("/bench/empty", empty_page, methods=["GET"])


def login(client: TestClient, email: str) -> None:
    r = client.post(
        "/login",
        data={"email": email, "password": demo.DEMO_PASSWORDS[email][1]},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)  # ms per request
    cpu: list[float] = field(default_factory=list)  # ms of this process's CPU per request
    size: int = 0  # bytes of the page
    queries: int = 0  # SQL statements per request


class QueryCounter:
    """Counts the SQL statements the app sends (fewer round trips matter on PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


def measure(get: Callable[[], Any], counter: QueryCounter, *, warmup: int, repeat: int) -> Timing:
    out = Timing()
    for _ in range(warmup):
        get()
    for _ in range(repeat):
        q0 = counter.count
        c0, w0 = time.process_time(), time.perf_counter()
        r = get()
        out.wall.append((time.perf_counter() - w0) * 1000)
        out.cpu.append((time.process_time() - c0) * 1000)
        out.queries = counter.count - q0
        assert r.status_code == 200, r.status_code
        out.size = len(r.content)
    return out


def report(name: str, t: Timing) -> None:
    print(
        f"{name:<8} wall best {min(t.wall):7.1f} ms  median {statistics.median(t.wall):7.1f} ms  "
        f"| cpu best {min(t.cpu):7.1f} ms  median {statistics.median(t.cpu):7.1f} ms  "
        f"| {t.queries:3d} queries | {t.size / 1024:6.1f} KiB"
    )


def profile(db: Database, patient_id: int, n: int, top: int) -> None:
    """cProfile of ``n`` patient-page builds (context + template) in this thread."""
    from acuhead.services.actors import Actor, Role
    from acuhead.web.pages import clinic

    with db.read() as s:
        prac = s.scalars(select(User).where(User.email == PRACTITIONER)).one()
        actor = Actor(user_id=prac.id, clinic_id=prac.clinic_id, role=Role(prac.role))
        user = PageUser(actor=actor, name=prac.name, email=prac.email)
    template = templates.get_template("clinic/patient.html")

    def once() -> str:
        with db.write() as s:
            patient = s.get(Patient, patient_id)
            assert patient is not None
            ctx = clinic.patient_context(s, user, patient)
            ctx.update(user=user, path=f"/clinic/patients/{patient_id}", request=None)
            return template.render(ctx)

    once()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        once()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=3 * 365)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--candidates", type=int, default=6, help="patients built; heaviest measured")
    p.add_argument("--repeat", type=int, default=9)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--pg-url", default=DEFAULT_PG)
    p.add_argument("--profile", type=int, default=0, metavar="N")
    p.add_argument("--top", type=int, default=35)
    args = p.parse_args(argv)

    with scratch_database(args) as db:
        pid = build(db, args)
        app = create_app(Settings(env="test"), db)
        add_empty_page(app)
        with (
            TestClient(app, base_url="http://testserver") as staff,
            TestClient(app, base_url="http://testserver") as own,
        ):
            login(staff, PRACTITIONER)
            login(own, PATIENT)
            page = f"/clinic/patients/{pid}"
            runs = {
                "empty": lambda: staff.get("/bench/empty"),
                "render": lambda: staff.get(page),
                "diary": lambda: own.get("/diary/overview"),
            }
            counter = QueryCounter(db)
            results = {
                name: measure(get, counter, warmup=args.warmup, repeat=args.repeat)
                for name, get in runs.items()
            }
        for name, timing in results.items():
            report(name, timing)
        if args.profile:
            profile(db, pid, args.profile, args.top)
    best = {name: min(t.wall) for name, t in results.items()}
    cpu_best = {name: min(t.cpu) for name, t in results.items()}
    print(
        f"cpu: render_cpu_ms={cpu_best['render']:.1f} empty_cpu_ms={cpu_best['empty']:.1f} "
        f"diary_cpu_ms={cpu_best['diary']:.1f}; target render_ms < 150"
    )
    print(
        f"render_ms={best['render']:.1f} empty_ms={best['empty']:.1f} "
        f"ratio={best['render'] / best['empty']:.1f} diary_ms={best['diary']:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
