"""Load: diary writes and reads from 100 concurrent clients against a real server process.

Each simulated client logs its patient's day (PUT /days/{date}) and reads the diary list
(GET /days) in turn, pausing ``--think`` seconds between requests as a person would. The same
clients then hit ``/livez`` (a handler that touches nothing) for the same duration: that rate is
the framework baseline of this app on this machine, measured in the same run.

Last line: rps=<n> p50_ms=<n> p99_ms=<n> errors=<n> framework_rps=<n> ratio=<rps/framework_rps>
Targets (issue 7): p99 < 100 ms, zero errors, ratio >= 0.3, on SQLite and PostgreSQL.
Only 127.0.0.1 is ever contacted; every loop is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from acuhead.services import accounts, diary  # noqa: E402
from acuhead.services.actors import Actor, Role  # noqa: E402
from acuhead.store.db import Database, upgrade  # noqa: E402

PASSWORD = "load-test-password"  # noqa: S105 - a throwaway local account


def prepare(url: str, clients: int) -> int:
    db = Database(url)
    upgrade(db)
    with db.write() as s:
        clinic = accounts.create_clinic(s, name=f"Load clinic {time.time_ns()}")
        email = f"load-{time.time_ns()}@bench.test"
        accounts.create_user(
            s,
            clinic_id=clinic.id,
            email=email,
            name="Load",
            role=Role.PRACTITIONER,
            password=PASSWORD,
        )
        actor = Actor.system(clinic.id)
        first = None
        for n in range(clients):
            p = diary.create_patient(s, actor=actor, external_id=f"load-{n}")
            first = first or p.id
    db.dispose()
    prepare.email = email  # type: ignore[attr-defined]
    assert first is not None
    return first


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ACUHEAD_DATABASE_URL": url, "ACUHEAD_ENV": "test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "acuhead.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start; see " + str(log))


async def run_clients(
    base: str,
    headers: dict[str, str],
    first_patient: int,
    clients: int,
    seconds: float,
    think: float,
    trivial: bool,
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:

        async def one(n: int) -> None:
            nonlocal errors
            pid = first_patient + n
            k = 0
            await asyncio.sleep(think * n / clients)  # spread the start
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                try:
                    if trivial:
                        r = await client.get("/livez")
                    elif k % 2 == 0:
                        day = dt.date(2026, 1, 1) - dt.timedelta(days=(k // 2) % 300)
                        r = await client.put(
                            f"/api/v1/patients/{pid}/days/{day}",
                            json={"headache": k % 3 == 0, "stress": k % 11},
                        )
                    else:
                        r = await client.get(f"/api/v1/patients/{pid}/days", params={"limit": 30})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += 0 if ok else 1
                k += 1
                if think:
                    await asyncio.sleep(think)

        await asyncio.gather(*(one(n) for n in range(clients)))
    return latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=0.5, help="pause between a client's requests")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/acuhead_load")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="acuhead-load-"))
    if args.engine == "sqlite":
        url = f"sqlite:///{work / 'load.sqlite3'}"
    else:
        url = args.pg_url
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[1]
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    first = prepare(url, args.clients)
    port = 18000 + os.getpid() % 1000
    proc = start_server(url, port, work / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": prepare.email, "password": PASSWORD}
        ).json()["token"]  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {token}"}
        lat, errors = asyncio.run(
            run_clients(base, headers, first, args.clients, args.seconds, args.think, trivial=False)
        )
        flat, _ = asyncio.run(
            run_clients(base, headers, first, args.clients, args.seconds, args.think, trivial=True)
        )
    finally:
        proc.terminate()
        proc.wait(10)
    rps = len(lat) / args.seconds
    framework_rps = len(flat) / args.seconds
    q = statistics.quantiles(lat, n=100)
    print(
        f"engine={args.engine} clients={args.clients} seconds={args.seconds:g} "
        f"think={args.think:g} requests={len(lat)}"
    )
    print(
        f"rps={rps:.1f} p50_ms={q[49] * 1000:.1f} p99_ms={q[98] * 1000:.1f} errors={errors} "
        f"framework_rps={framework_rps:.1f} ratio={rps / framework_rps:.2f}"
    )


if __name__ == "__main__":
    main()
