"""Load: diary writes and reads from 100 concurrent clients against a real server process.

Each simulated client, on its own keep-alive connection and logged in as its own patient
(``--as practitioner``: one practitioner's session for all), logs its patient's day
(PUT /days/{date}) and reads the diary list (GET /days?limit=30) in turn, pausing ``--think``
seconds after each answer as a person would; half the clients begin with the read. The same
clients then hit ``/livez`` (a handler that touches nothing) for the same duration: that rate
is the framework baseline of this app on this machine, measured in the same run, with the same
server process.

It is a closed loop: 100 clients x 1 / (think + latency) is at most 200 requests/s with the
default 0.5 s, so ``framework_rps`` near 200 means the framework keeps up, and ``ratio`` is
about (think + livez latency) / (think + diary latency). The latency percentiles carry the
verdict. Every request of the window counts, the first ones (cold server) included.

Latency on a small shared machine follows what else runs on it, so the lines before the last
also give the machine's load average and the CPU milliseconds per request of the server (its
process tree, from /proc) and of this generator, which do not. The generator speaks HTTP/1.1
itself (``Connection``): httpx cost it 2-3 ms CPU per request, taken from the server's cores.
``--trace FILE`` writes every request (start, kind, ms, ok) for a look at when the slow ones
happened.

Last line: rps=<n> p50_ms=<n> p99_ms=<n> errors=<n> framework_rps=<n> ratio=<rps/framework_rps>
Targets (issue 7): p99 < 100 ms, zero errors, ratio >= 0.3, on SQLite and PostgreSQL. The
server runs as docs/deploying.md's advice has it (``--workers``): one process on SQLite, one
per core on PostgreSQL.
Only 127.0.0.1 is ever contacted; every loop is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from acuhead.services import accounts, diary  # noqa: E402
from acuhead.services.actors import Actor, Role  # noqa: E402
from acuhead.store.db import Database, upgrade  # noqa: E402

PASSWORD = "load-test-password"  # noqa: S105 - a throwaway local account


def prepare(url: str, clients: int, *, patient_logins: bool) -> tuple[int, str, list[str]]:
    """A clinic, a practitioner and ``clients`` patients with consecutive ids: returns the first
    id, the practitioner's e-mail and, with ``patient_logins``, each patient's own e-mail."""
    db = Database(url)
    upgrade(db)
    stamp = time.time_ns()
    emails: list[str] = []
    with db.write() as s:
        clinic = accounts.create_clinic(s, name=f"Load clinic {stamp}")
        email = f"load-{stamp}@bench.test"
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
            user_id = None
            if patient_logins:
                emails.append(f"load-{stamp}-{n}@bench.test")
                user_id = accounts.create_user(
                    s,
                    clinic_id=clinic.id,
                    email=emails[-1],
                    name=f"Patient {n}",
                    role=Role.PATIENT,
                    password=PASSWORD,
                ).id
            p = diary.create_patient(s, actor=actor, external_id=f"load-{n}", user_id=user_id)
            first = first or p.id
    db.dispose()
    assert first is not None
    return first, email, emails


def _processes() -> tuple[dict[int, int], dict[int, float], dict[int, str]]:
    """Parent, user + system CPU seconds and command name of every process, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, _, tail = (entry / "stat").read_text().rpartition(")")
        except OSError:
            continue
        fields = tail.split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
        names[pid] = head.partition("(")[2]
    return parents, cpu, names


def database_cpu_seconds() -> float:
    """CPU of the PostgreSQL server's processes on this machine (its backends do the work of
    the requests on the other side of each round trip); 0 for SQLite, which runs in-process."""
    _parents, cpu, names = _processes()
    return sum(cpu[p] for p, name in names.items() if name == "postgres")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live descendants (uvicorn workers), from /proc.

    Wall-clock latency on a shared 2-core machine is noisy; CPU per request is not."""
    parents, cpu, _names = _processes()
    wanted = {pid}
    changed = True
    while changed:
        more = {p for p, parent in parents.items() if parent in wanted} - wanted
        changed = bool(more)
        wanted |= more
    return sum(cpu.get(p, 0.0) for p in wanted)


def start_server(url: str, port: int, log: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ACUHEAD_DATABASE_URL": url, "ACUHEAD_ENV": "test"}
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "acuhead.cli", *serve],
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


class Connection:
    """One keep-alive HTTP/1.1 connection, written by hand for the load generator.

    The generator shares the server's 2 cores: httpx costs it 2-3 ms CPU per request, which at
    ~190 requests/s is half a core taken from the server under test. This speaks the same
    requests on the wire (method, path, headers, JSON body) for ~0.2 ms. Responses from
    uvicorn carry Content-Length; chunked bodies are read too."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(
            f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items()
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.body = b""  # the last response's body

    async def request(self, method: str, path: str, body: object = None) -> int:
        """The response's status; the body is kept in ``body``. Raises OSError (a timeout
        after 30 s included) or ValueError on failure, after closing the connection."""
        try:
            async with asyncio.timeout(30):
                return await self._exchange(method, path, body)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            await self.close()
            raise

    async def _exchange(self, method: str, path: str, body: object) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        extra = f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n" if data else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)
        }
        self.body = b""
        if "content-length" in fields:
            self.body = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                self.body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        if fields.get("connection") == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def run_clients(
    port: int,
    headers: list[dict[str, str]],
    first_patient: int,
    clients: int,
    seconds: float,
    think: float,
    trivial: bool,
    trace: TextIO | None = None,
) -> tuple[dict[str, list[float]], int]:
    latencies: dict[str, list[float]] = {"put": [], "get": [], "livez": []}
    errors = 0
    stop_at = time.monotonic() + seconds
    began = time.perf_counter()
    if trace is not None:  # to line the trace up with other records of the machine
        trace.write(f"# began_unix={time.time():.3f}\n")

    async def one(n: int) -> None:
        # Each simulated person has their own connection, as separate devices would.
        nonlocal errors
        pid = first_patient + n
        # The version of each day this client wrote: a correction sends it, as a client must
        # (a PUT over an existing day without its version answers 428).
        versions: dict[dt.date, int] = {}
        # Odd clients begin with the read: writes and reads interleave from the first second.
        # When every client began with its write, all 100 wrote in the same half-second, and
        # kept nearly in step for the first ten: that burst, not the steady mix, set the p99.
        k = n % 2
        conn = Connection("127.0.0.1", port, headers[n])
        await asyncio.sleep(think * n / clients)  # spread the start
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            kind = "livez" if trivial else ("put", "get")[k % 2]
            try:
                if trivial:
                    status = await conn.request("GET", "/livez")
                elif kind == "put":
                    day = dt.date(2026, 1, 1) - dt.timedelta(days=(k // 2) % 300)
                    entry: dict[str, object] = {"headache": k % 3 == 0, "stress": k % 11}
                    if day in versions:
                        entry["version"] = versions[day]
                    status = await conn.request("PUT", f"/api/v1/patients/{pid}/days/{day}", entry)
                    if status == 200:
                        versions[day] = json.loads(conn.body)["version"]
                else:
                    status = await conn.request("GET", f"/api/v1/patients/{pid}/days?limit=30")
                ok = status == 200
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                ok = False
            latencies[kind].append(time.perf_counter() - t0)
            errors += 0 if ok else 1
            if trace is not None:
                trace.write(f"{t0 - began:.4f},{kind},{latencies[kind][-1] * 1000:.2f},{int(ok)}\n")
            k += 1
            if think:
                await asyncio.sleep(think)
        await conn.close()

    await asyncio.gather(*(one(n) for n in range(clients)))
    return latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument(
        "--workers",
        type=int,
        help="server processes (acuhead serve --workers); default as docs/deploying.md advises: "
        "1 on SQLite, one per core on PostgreSQL",
    )
    ap.add_argument("--think", type=float, default=0.5, help="pause between a client's requests")
    ap.add_argument(
        "--as",
        dest="who",
        choices=["patient", "practitioner"],
        default="patient",
        help="each client logs in as its own patient (the diary's real traffic), or all "
        "clients share one practitioner's session",
    )
    ap.add_argument("--trace", type=Path, help="write every request (start s, kind, ms, ok) here")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/acuhead_load")
    args = ap.parse_args()
    if args.workers is None:
        args.workers = 1 if args.engine == "sqlite" else os.cpu_count() or 1
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
    first, email, patient_emails = prepare(url, args.clients, patient_logins=args.who == "patient")
    port = 18000 + os.getpid() % 1000
    proc = start_server(url, port, work / "server.log", args.workers)
    base = f"http://127.0.0.1:{port}"
    try:

        def bearer(who: str) -> dict[str, str]:
            login = {"email": who, "password": PASSWORD}
            token = httpx.post(f"{base}/api/v1/auth/login", json=login).json()["token"]
            return {"Authorization": f"Bearer {token}"}

        headers = [bearer(e) for e in patient_emails] or [bearer(email)] * args.clients
        cpu: dict[str, tuple[float, float, float]] = {}

        def phase(trivial: bool) -> tuple[dict[str, list[float]], int]:
            server0, client0 = tree_cpu_seconds(proc.pid), time.process_time()
            database0 = database_cpu_seconds()
            trace = args.trace.open("a") if args.trace else None
            try:
                out = asyncio.run(
                    run_clients(
                        port,
                        headers,
                        first,
                        args.clients,
                        args.seconds,
                        args.think,
                        trivial=trivial,
                        trace=trace,
                    )
                )
            finally:
                if trace is not None:
                    trace.close()
            cpu["livez" if trivial else "diary"] = (
                tree_cpu_seconds(proc.pid) - server0,
                time.process_time() - client0,
                database_cpu_seconds() - database0,
            )
            return out

        load0 = os.getloadavg()[0]
        by_kind, errors = phase(trivial=False)
        livez, _ = phase(trivial=True)
        load1 = os.getloadavg()[0]
    finally:
        proc.terminate()
        proc.wait(10)
    lat = by_kind["put"] + by_kind["get"]
    flat = livez["livez"]
    rps = len(lat) / args.seconds
    framework_rps = len(flat) / args.seconds
    q = statistics.quantiles(lat, n=100)
    print(
        f"engine={args.engine} clients={args.clients} seconds={args.seconds:g} "
        f"think={args.think:g} as={args.who} workers={args.workers} requests={len(lat)} "
        f"machine_load_1min={load0:.1f}..{load1:.1f} cores={os.cpu_count()}"
    )
    for kind, values in (*by_kind.items(), ("livez", flat)):
        if len(values) >= 2:
            kq = statistics.quantiles(values, n=100)
            print(f"{kind}: n={len(values)} p50_ms={kq[49] * 1000:.1f} p99_ms={kq[98] * 1000:.1f}")
    for name, count in (("diary", len(lat)), ("livez", len(flat))):
        server_s, client_s, database_s = cpu[name]
        per = 1000 / max(count, 1)
        print(
            f"{name}: server_cpu_ms_per_request={server_s * per:.2f} "
            f"database_cpu_ms_per_request={database_s * per:.2f} "
            f"client_cpu_ms_per_request={client_s * per:.2f} "
            f"server_cpu_share={server_s / args.seconds:.2f} "
            f"database_cpu_share={database_s / args.seconds:.2f} "
            f"client_cpu_share={client_s / args.seconds:.2f}"
        )
    print(
        f"rps={rps:.1f} p50_ms={q[49] * 1000:.1f} p99_ms={q[98] * 1000:.1f} errors={errors} "
        f"framework_rps={framework_rps:.1f} ratio={rps / framework_rps:.2f}"
    )


if __name__ == "__main__":
    main()
