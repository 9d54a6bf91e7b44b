"""Start-up work that the first requests would otherwise do while clients wait.

Measured with benchmarks/load.py (100 clients arriving within half a second of the start):
the first request through a router paid 40-90 ms building that router's route state
(FastAPI builds it lazily), the first statements paid their compilation, and every pooled
PostgreSQL connection was opened by a waiting request. Queued behind each other, the first
half-second of requests took 100-170 ms each, a third of the minute's slowest 1 %.

Only ``acuhead serve`` warms up (``create_app(warm_up=True)``): an app built for a test
starts without it. Nothing here writes: the requests carry a token no session has, so they
end in 401 after the session lookup, and the database sees only reads.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message

from acuhead.store.db import Database
from acuhead.web.deps import THREADS

log = logging.getLogger("acuhead.web")

# The diary routes carry most of the traffic: one read and one write (a valid body, so it
# reaches the write transaction) through them.
REQUESTS = (
    ("GET", "/api/v1/patients/0/days", b""),
    ("PUT", "/api/v1/patients/0/days/2000-01-01", b'{"headache": false}'),
)
_NO_SESSION = b"Bearer warm-up-no-such-session"


def open_connections(db: Database) -> bool:
    """A pooled connection for every worker thread the hot routes may run at once; False when
    the database cannot be reached. Best effort: a database that is down now is reported by
    the first request (and /healthz), not by a server that refuses to start."""
    column = 0 if db.is_sqlite else 1
    try:
        db.warm(sum(sizes[column] for sizes in THREADS.values()))
    except Exception:
        log.warning("could not open database connections at start-up", exc_info=True)
        return False
    return True


async def send_requests(app: ASGIApp) -> None:
    """Each of :data:`REQUESTS` through the whole ASGI stack, in process, answer discarded."""
    for method, path, body in REQUESTS:
        status = await _request(app, method, path, body)
        if status != 401:  # a changed route or check: the warm-up no longer warms it
            log.warning("warm-up request %s %s answered %s, not 401", method, path, status)


async def _request(app: ASGIApp, method: str, path: str, body: bytes) -> int | None:
    status: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"authorization", _NO_SESSION),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    try:
        await app(scope, receive, send)
    except Exception:
        log.warning("warm-up request %s %s failed", method, path, exc_info=True)
    return status[0] if status else None
