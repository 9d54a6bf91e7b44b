"""Crash safety and concurrent writers against a real server process, on both engines."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from acuhead.store.db import Database
from acuhead.store.models import AttackRow, IntensityReadingRow, MedicationDoseRow

from .factories import PASSWORD, World, make_world
from .live import LiveServer


def _token(base: str, email: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _attack(n: int) -> dict[str, Any]:
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    minute = n % 60
    start = f"2025-{month:02d}-{day:02d}T{(n // 60) % 24:02d}:{minute:02d}:00"
    return {
        "start": start,
        "duration_min": 300,
        "peak_intensity": n % 11,
        "readings": [{"at": start, "intensity": n % 11}],
        "medications": [
            {"name": "ibuprofen", "class": "nsaid"},
            {"name": "sumatriptan", "class": "triptan"},
        ],
        "triggers": [f"t{n}"],
    }


def test_acknowledged_writes_survive_a_sigkill(db: Database, tmp_path: Path) -> None:
    world: World = make_world(db)
    server = LiveServer(db.url, log=tmp_path / "server.log").start()
    base = server.url
    headers = _token(base, world.prac_x)
    url = f"{base}/api/v1/patients/{world.patient_a}/attacks"
    acked: dict[int, int] = {}  # write number -> attack id
    lock = threading.Lock()
    killed = threading.Event()
    sent = 0

    def write(n: int) -> None:
        try:
            r = httpx.post(url, json=_attack(n), headers=headers, timeout=60)
        except httpx.HTTPError:
            return
        if r.status_code == 201:
            with lock:
                acked[n] = r.json()["id"]
                if len(acked) == 500 and not killed.is_set():
                    killed.set()
                    server.kill()

    with ThreadPoolExecutor(max_workers=4) as pool:
        for n in range(1000):
            pool.submit(write, n)
            sent += 1
    assert sent >= 1000 and killed.is_set()
    assert 500 <= len(acked) < 1000  # the kill really happened mid-stream

    restarted = LiveServer(db.url, port=server.port, log=tmp_path / "server.log").start()
    try:
        h = _token(restarted.url, world.prac_x)
        r = httpx.get(url, params={"limit": 500}, headers=h)
        assert r.status_code == 200
    finally:
        restarted.stop()
    with db.read() as s:
        stored = set(s.scalars(select(AttackRow.id)))
        assert set(acked.values()) <= stored
        # No half-written attack: every stored attack has both doses and its reading.
        meds = dict(
            s.execute(
                select(MedicationDoseRow.attack_id, func.count()).group_by(
                    MedicationDoseRow.attack_id
                )
            ).all()
        )
        readings = dict(
            s.execute(
                select(IntensityReadingRow.attack_id, func.count()).group_by(
                    IntensityReadingRow.attack_id
                )
            ).all()
        )
    assert all(meds.get(a) == 2 and readings.get(a) == 1 for a in stored)


def test_fifty_concurrent_writers_lose_nothing(db: Database, tmp_path: Path) -> None:
    world = make_world(db)
    with LiveServer(db.url, log=tmp_path / "server.log") as server:
        headers = _token(server.url, world.prac_x)
        days_url = f"{server.url}/api/v1/patients/{world.patient_a}/days"
        failures: list[str] = []
        successes = 0
        lock = threading.Lock()

        def writer(w: int) -> None:
            nonlocal successes
            with httpx.Client(headers=headers, timeout=120) as client:
                # Each writer records its own days...
                for k in range(4):
                    day = f"2025-{1 + (w * 4 + k) // 28:02d}-{1 + (w * 4 + k) % 28:02d}"
                    r = client.put(f"{days_url}/{day}", json={"headache": k % 2 == 0})
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:100]}")
                # ...and all of them edit one shared day with optimistic versions.
                for _ in range(3):
                    while True:
                        cur = client.get(f"{days_url}/2024-12-31")
                        version = cur.json()["version"] if cur.status_code == 200 else None
                        r = client.put(
                            f"{days_url}/2024-12-31",
                            json={"headache": True, "stress": w % 11, "version": version},
                        )
                        if r.status_code == 200:
                            with lock:
                                successes += 1
                            break
                        # 409: changed since read; 428: created since read (no version sent)
                        if r.status_code not in (409, 428):
                            failures.append(f"{r.status_code} {r.text[:100]}")
                            break

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        shared = httpx.get(f"{days_url}/2024-12-31", headers=headers).json()
        listing = httpx.get(
            days_url, params={"start": "2025-01-01", "limit": 500}, headers=headers
        ).json()
    assert successes == 150
    # Every successful edit bumped the version exactly once: no update was lost.
    assert shared["version"] == successes
    assert listing["total"] == 200


def _workers(pid: int) -> set[int]:
    """The server processes uvicorn started under ``pid`` (not multiprocessing's tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == pid and b"resource_tracker" not in command:
                found.add(int(entry.name))
    return found


def test_serve_with_two_workers_shares_sessions_and_stops_every_process(
    pg_db: Database, tmp_path: Path
) -> None:
    """`acuhead serve --workers 2` (one process per core on PostgreSQL): two processes serve,
    one login is honoured on every connection whichever process takes it (sessions live in
    the database), every write lands once, and stopping the server ends every process."""
    db = pg_db
    world = make_world(db)
    server = LiveServer(db.url, log=tmp_path / "server.log", workers=2).start()
    try:
        assert server.proc is not None
        workers = _workers(server.proc.pid)
        assert len(workers) == 2, workers
        headers = _token(server.url, world.patient_a_email)
        base = f"{server.url}/api/v1/patients/{world.patient_a}/days"
        versions: dict[str, int] = {}
        for n in range(40):  # a new connection each time: the kernel spreads them
            with httpx.Client(headers=headers) as client:
                day = f"2025-03-{1 + n % 28:02d}"
                entry = {"headache": n % 2 == 0, "version": versions.get(day)}
                r = client.put(f"{base}/{day}", json=entry)
                assert r.status_code == 200, r.text
                versions[day] = r.json()["version"]
        listed = httpx.get(f"{base}?limit=100", headers=headers).json()
        assert listed["total"] == 28
    finally:
        server.stop()
    deadline = time.monotonic() + 10
    while {p for p in workers if Path(f"/proc/{p}").exists()} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not {p for p in workers if Path(f"/proc/{p}").exists()}


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    """SQLite has one writer whatever the number of processes: asking for more is an error
    that says why, before anything is served."""
    env = {
        **os.environ,
        "ACUHEAD_DATABASE_URL": f"sqlite:///{tmp_path / 'one.sqlite3'}",
        "ACUHEAD_ENV": "test",
    }
    done = subprocess.run(
        [sys.executable, "-m", "acuhead.cli", "serve", "--workers", "2", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "several server processes need PostgreSQL" in done.stderr
