"""Bodies before locks (issue 13, items 2 and 11): every request body is limited in size while
it streams in (413) and in time (408), and read whole before any transaction opens, so a slow
or huge body holds no database lock and costs the server no memory."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from acuhead.config import Settings
from acuhead.services import diary
from acuhead.store.db import Database
from acuhead.web.app import create_app

from .factories import PASSWORD, make_world
from .live import LiveServer
from .test_event_loop import page_cookie

MB = 1024 * 1024


def _client(db: Database, **limits: int) -> TestClient:
    settings = Settings(env="test", **limits)  # type: ignore[arg-type]
    return TestClient(create_app(settings, db), base_url="http://testserver")


def test_a_body_past_its_limit_answers_413_and_an_import_has_a_larger_one(db: Database) -> None:
    world = make_world(db)
    with _client(db, max_body_bytes=4096, max_import_bytes=16384) as c:
        r = c.post("/api/v1/auth/login", json={"email": world.prac_x, "password": PASSWORD})
        assert r.status_code == 200
        token = {"Authorization": f"Bearer {r.json()['token']}"}
        big = {"email": world.prac_x, "password": PASSWORD, "pad": "x" * 5000}
        r = c.post("/api/v1/auth/login", json=big)
        assert r.status_code == 413 and "4096" in r.json()["detail"]
        assert r.headers["connection"] == "close"
        assert r.headers["x-content-type-options"] == "nosniff"  # still under the headers
        # A page form, anonymous or not.
        r = c.post(
            "/login",
            data={"email": world.prac_x, "password": "y" * 5000},
            headers={"Origin": "http://testserver"},
        )
        assert r.status_code == 413
        r = c.put(
            f"/api/v1/patients/{world.patient_a}/days/2025-01-02",
            json={"headache": True, "notes": "n" * 5000},
            headers=token,
        )
        assert r.status_code == 413
        # The import route takes up to its own limit (this document is refused for what it
        # is, not for its size), and no more.
        doc = '{"format": "acuhead.diary/1", "pad": "' + "p" * 8000 + '"}'
        url = f"/api/v1/patients/{world.patient_a}/import"
        json_type = {**token, "Content-Type": "application/json"}
        r = c.post(url, content=doc, headers=json_type)
        assert r.status_code == 422, r.text
        r = c.post(url, content=doc + " " * 9000, headers=json_type)
        assert r.status_code == 413 and "16384" in r.json()["detail"]


def test_default_limits_are_1_mb_for_bodies_and_20_mb_for_imports() -> None:
    s = Settings(env="test")
    assert (s.max_body_bytes, s.max_import_bytes) == (MB, 20 * MB)


# --- against a real server ------------------------------------------------------------------


class Trickle:
    """An anonymous client that declares a form body and sends it a byte at a time."""

    def __init__(self, port: int, path: str, every: float = 0.5) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        origin = f"http://127.0.0.1:{port}"
        self.sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 100000\r\n\r\n"
            ).encode()
        )
        self.every = every
        self.sent = 0
        self.answer = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(self.every)
        while not self._stop.is_set():
            try:
                self.sock.sendall(b"a")
                self.sent += 1
            except OSError:
                break
            try:
                got = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not got:
                break
            self.answer += got

    @property
    def status(self) -> int | None:
        """The status the server answered with, None while it still waits for the body."""
        if not self.answer.startswith(b"HTTP/1.1 "):
            return None
        return int(self.answer[9:12])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


SLOW_CLIENTS = 8  # as many as the write gate admits on PostgreSQL


def test_slow_bodies_hold_no_lock_another_patients_diary_writes_stay_fast(
    db: Database, tmp_path: Path
) -> None:
    """While anonymous bodies trickle to POST /invite/<anything> for 30 s (as many as the
    write gate admits on PostgreSQL; one was enough on SQLite), another patient's diary writes,
    through the API and through the page form, each complete in under 1 s."""
    world = make_world(db)
    env = {"ACUHEAD_BODY_TIMEOUT_SECONDS": "120"}  # longer than the trickle: no 408 here
    with LiveServer(db.url, log=tmp_path / "server.log", env=env) as server:
        base = server.url
        r = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": world.patient_a_email, "password": PASSWORD},
        )
        token = {"Authorization": f"Bearer {r.json()['token']}"}
        cookies = page_cookie(base, world.patient_a_email)
        today = diary.local_today("Europe/Berlin")
        slow = [Trickle(server.port, f"/invite/not-a-token-{n}") for n in range(SLOW_CLIENTS)]
        waits: list[float] = []
        try:
            with (
                httpx.Client(timeout=60) as client,
                httpx.Client(timeout=60, cookies=cookies) as pages,
            ):
                end = time.monotonic() + 30
                n = 0
                version: int | None = None  # each change sends the version it is based on
                while time.monotonic() < end:
                    n += 1
                    t0 = time.monotonic()
                    doc: dict[str, object] = {"headache": False, "stress": n % 11}
                    if version is not None:
                        doc["version"] = version
                    r = client.put(
                        f"{base}/api/v1/patients/{world.patient_a}/days/{today}",
                        json=doc,
                        headers=token,
                    )
                    waits.append(time.monotonic() - t0)
                    assert r.status_code == 200, r.text
                    version = int(r.json()["version"])
                    t0 = time.monotonic()
                    r = pages.post(
                        f"{base}/diary/{today}",
                        data={"headache": "no", "notes": f"page save {n}", "version": version},
                        headers={"Origin": base},
                    )
                    waits.append(time.monotonic() - t0)
                    assert r.status_code == 303, r.text
                    version += 1
                    time.sleep(1.5)
            # The slow bodies were still coming in the whole time (no answer, no timeout).
            assert [s.status for s in slow] == [None] * SLOW_CLIENTS
            assert min(s.sent for s in slow) >= 50
        finally:
            for s in slow:
                s.close()
    print(f"diary writes during the trickle: {len(waits)}, slowest {max(waits) * 1000:.0f} ms")
    assert len(waits) >= 20
    assert max(waits) < 1.0


def test_a_body_that_does_not_arrive_in_time_answers_408(db: Database, tmp_path: Path) -> None:
    make_world(db)
    env = {"ACUHEAD_BODY_TIMEOUT_SECONDS": "2"}
    with LiveServer(db.url, log=tmp_path / "server.log", env=env) as server:
        slow = Trickle(server.port, "/invite/anything", every=0.2)
        t0 = time.monotonic()
        try:
            while slow.status is None and time.monotonic() - t0 < 15:
                time.sleep(0.05)
            took = time.monotonic() - t0
        finally:
            slow.close()
        assert slow.status == 408
        assert b"connection: close" in slow.answer.lower()
        assert 1.5 < took < 5, took
        assert httpx.get(f"{server.url}/livez").status_code == 200


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send_huge(port: int, *, chunked: bool, total: int = 100 * MB) -> bytes:
    """POST ``total`` bytes of JSON-ish body to the login route; the server's answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
    )
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
    answer = bytearray()

    def read() -> None:
        try:
            while got := sock.recv(65536):
                answer.extend(got)
        except OSError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    try:
        sock.sendall(head.encode())
        reader.start()
        piece = b'{"email": "' + b"x" * (MB - 12)
        sent = 0
        try:
            while sent < total:
                data = piece[: min(MB, total - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed the connection
        reader.join(30)
    finally:
        sock.close()
    return bytes(answer)


def test_a_100_mb_body_is_refused_without_the_server_growing(db: Database, tmp_path: Path) -> None:
    make_world(db)
    with LiveServer(db.url, log=tmp_path / "server.log") as server:
        assert server.proc is not None
        for _ in range(3):  # warm: the first requests allocate what the process keeps
            httpx.post(f"{server.url}/api/v1/auth/login", json={"email": "a", "password": "b"})
        before = _rss_kib(server.proc.pid)
        declared = _send_huge(server.port, chunked=False)
        streamed = _send_huge(server.port, chunked=True)
        time.sleep(0.5)
        growth = _rss_kib(server.proc.pid) - before
        assert httpx.get(f"{server.url}/livez").status_code == 200
    print(f"RSS growth over two 100 MB bodies: {growth} KiB")
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
    assert streamed.startswith(b"HTTP/1.1 413"), streamed[:200]
    assert growth < 4 * 1024
