"""Request dependencies: the database, the acting user, and CSRF for cookie-authenticated writes.

CSRF is checked from the browser's own ``Sec-Fetch-Site`` / ``Origin`` headers (as datasette
does) rather than with token plumbing: a cookie-authenticated write must come from this
origin. Clients that send ``Authorization: Bearer`` carry no ambient credential and skip it.

Threads: FastAPI runs every sync dependency, a sync generator dependency's exit, a sync
endpoint and the validation of its return value each as a separate worker-thread task, and
each hop waits for the event loop and the GIL. The diary routes (most of the traffic) are
therefore async, need no thread before their body, and run their whole transaction, the
session lookup and patient check included, in one hop (:func:`access_in_transaction`,
:func:`run_write`, :func:`run_read`); the other routes keep ``WriteSession``.

No coroutine ever holds a synchronous session: one waiting on a row lock would block the event
loop that the lock's holder needs to commit, freezing every request (issue 13). A route that
takes ``WriteSession``/``ReadSession`` is a plain ``def``, and both read the request body
before the transaction opens (:func:`body_first`); ``tests/integration/test_event_loop.py``
checks every route.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from acuhead.config import Settings
from acuhead.errors import NotFound
from acuhead.services.accounts import actor_from_token, holder_and_patient
from acuhead.services.actors import Actor, check_patient, hold, load_patient
from acuhead.store.db import Database

COOKIE = "acuhead_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

T = TypeVar("T")


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def body_first(request: Request) -> None:
    """Read the whole request body on the event loop before any transaction opens.

    A client that sends its body slowly must never hold a database lock, a connection or a
    place at the write gate while it does: reading is limited in size and time by
    ``web/limits.py`` (413, 408), and only then does a session open. The body stays cached
    on the request for the form or JSON parser (issue 13, "bodies before locks")."""
    if request.method in SAFE_METHODS:
        return
    # RuntimeError "Stream consumed": a form parser has read it whole already.
    with contextlib.suppress(RuntimeError):
        await request.body()


async def write_gate(request: Request) -> AsyncIterator[None]:
    """Admit a bounded number of transactions at once, waiting on the event loop.

    A sync dependency's body and its exit run in separate threadpool tasks. Without this gate,
    enough requests blocked on SQLite's single writer could fill every worker thread while the
    request holding the write lock waits for a thread to commit: a deadlock. Waiting here holds
    no thread. SQLite admits one writer; PostgreSQL as many as the connection pool allows.
    """
    gate: asyncio.Semaphore = request.app.state.write_gate
    await body_first(request)  # the body before a place at the gate
    async with gate:
        yield


def write_session(
    db: DbDep, _gate: Annotated[None, Depends(write_gate, scope="function")]
) -> Iterator[Session]:
    with db.write() as session:
        yield session


def read_session(db: DbDep, _body: Annotated[None, Depends(body_first)]) -> Iterator[Session]:
    with db.read() as session:
        yield session


# scope="function": the transaction commits *before* the response is sent, so a client never
# sees a 2xx for a write that could still fail or be lost (the crash-safety test checks this).
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
ReadSession = Annotated[Session, Depends(read_session, scope="function")]


def token_from(request: Request) -> tuple[str | None, bool]:
    """The session token and whether it came from the cookie (ambient credential)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def check_same_origin(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site in ("same-origin", "none"):
            return
        raise HTTPException(403, "cross-site request refused (CSRF protection)")
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin:
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc == host:
            return
    raise HTTPException(403, "request refused: missing or foreign Origin (CSRF protection)")


def resolve_actor(request: Request, db: Database, session: Session | None = None) -> Actor:
    """The logged-in user behind this request (401 without a live session); blocking."""
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:  # already resolved for this request (patient_access runs first)
        return cached
    token, from_cookie = token_from(request)
    if not token:
        raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})
    if from_cookie:
        check_same_origin(request)
    if session is None:
        with db.read(autocommit=True) as own:
            found = actor_from_token(own, token)
    else:
        found = actor_from_token(session, token)
    if found is None:
        raise HTTPException(401, "session expired or revoked; log in again")
    request.state.actor = found.actor
    return found.actor


async def current_actor(request: Request, db: DbDep) -> Actor:
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    limiter = worker_threads(request, "read")
    return await anyio.to_thread.run_sync(resolve_actor, request, db, limiter=limiter)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def _patient_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise HTTPException(404, f"patient {raw} not found") from None


def _check_patient(request: Request, db: Database, raw: str) -> None:
    """The user and the patient they name (reads only)."""
    with db.read(autocommit=True) as session:
        actor = resolve_actor(request, db, session)
        check_patient(session, actor, _patient_id(raw))


ACCESS_IN_TRANSACTION = "__acuhead_access_in_transaction__"
F = TypeVar("F", bound=Callable[..., object])


def access_in_transaction(endpoint: F) -> F:
    """Mark a route whose user and patient are checked inside its own transaction.

    Such a route runs its work through :func:`run_read` / :func:`run_write`, which look up the
    session token and check the patient in the same transaction (and worker thread) as the
    work, instead of :func:`patient_access` spending a transaction and a thread hop of its own
    first. What stays in front: a request without credentials answers 401 (and a cookie
    without the right origin 403) before anything is read. That a record of another clinic
    answers 404 "whatever was sent" still holds: when the parameters or the body are
    invalid, the 422 handler (``web/app.py``) makes the deferred check first
    (:func:`deferred_access_error`).
    """
    setattr(endpoint, ACCESS_IN_TRANSACTION, True)
    return endpoint


def require_credentials(request: Request) -> None:
    """The part of authentication that needs no database: 401 without a token, CSRF for a
    cookie."""
    token, from_cookie = token_from(request)
    if not token:
        raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})
    if from_cookie:
        check_same_origin(request)


async def patient_access(request: Request, db: DbDep) -> None:
    """Every route under /patients/{patient_id} checks tenant and role here, before its body is
    read, so another clinic's or another patient's record answers 404 whatever was sent. The
    services check again (defence in depth). Routes marked :func:`access_in_transaction`
    have it checked inside their transaction instead."""
    raw = request.path_params.get("patient_id")
    if getattr(request.scope.get("endpoint"), ACCESS_IN_TRANSACTION, False):
        require_credentials(request)
        request.state.access_deferred = True
        request.state.patient_ref = raw
        return
    if raw is None:
        return
    limiter = worker_threads(request, "read")
    await anyio.to_thread.run_sync(_check_patient, request, db, raw, limiter=limiter)


def _deferred_access(session: Session, request: Request, db: Database) -> Actor:
    """The acting user of a route marked :func:`access_in_transaction`, with its patient
    checked (401 / 404 as ``patient_access`` would have answered)."""
    raw: str | None = getattr(request.state, "patient_ref", None)
    token, from_cookie = token_from(request)
    patient_id = _plain_id(raw)
    if patient_id is None or token is None or getattr(request.state, "actor", None) is not None:
        # No id, or one no row can have (not a number, or beyond the column): the session
        # first, so a stranger gets 401 whatever the id; then the usual 404.
        actor = resolve_actor(request, db, session)
        if raw is not None:
            if patient_id is None:
                raise HTTPException(404, f"patient {raw} not found")
            load_patient(session, actor, patient_id)
        return actor
    if from_cookie:  # patient_access checked it already; cheap, and this stays safe alone
        check_same_origin(request)
    # The session holder and the patient in one statement; the patient stays in the session,
    # so the service's own load_patient costs no query.
    holder, patient = holder_and_patient(session, token, patient_id)
    if holder is None:
        raise HTTPException(401, "session expired or revoked; log in again")
    hold(session, patient)
    request.state.actor = holder.actor
    load_patient(session, holder.actor, patient_id)
    return holder.actor


def _plain_id(raw: str | None) -> int | None:
    """``raw`` as a row id (1 to 2**31 - 1, an INTEGER key on both engines), else None."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value < 2**31 else None


def deferred_access_error(request: Request) -> HTTPException | None:
    """For the error handlers: the 401 or 404 that a deferred access check gives this request,
    if any (blocking; one read transaction). None when access is fine or was checked."""
    if not getattr(request.state, "access_deferred", False):
        return None
    db: Database = request.app.state.db
    try:
        with db.read(autocommit=True) as session:
            _deferred_access(session, request, db)
    except HTTPException as exc:
        return exc
    except NotFound as exc:
        return HTTPException(404, str(exc))
    return None


# Worker threads per kind of work on the hot routes, apart from the shared pool (40).
# Small on purpose: every worker that wants the GIL at once slows all the others and the
# event loop (a convoy); on SQLite four readers and two writers keep 2 cores busy, while
# forty threads made each request cost ~40 % more CPU and tripled the p99 (benchmarks/load.py).
# On PostgreSQL a thread mostly waits for the server (about ten round trips a write), so
# more of them; fewer writers there queued the writes.
# Separate from the shared pool for a second reason: a thread waiting for the SQLite write
# lock holds its worker; were those shared workers, enough waiting writers could take them
# all while a ``WriteSession`` request that holds the lock waits for a worker to commit, a
# deadlock. Reads never wait for the write lock. Beyond a limiter, work waits on the event
# loop, holding no thread.
# Logins have their own: a burst of them (each waits for the SQLite write lock to record its
# attempt) must not take the shared workers a request holding that lock needs to commit.
THREADS = {"read": (4, 4), "write": (2, 6), "login": (2, 4)}  # (SQLite, PostgreSQL)


def worker_threads(request: Request, kind: str) -> CapacityLimiter:
    """The limiter for ``kind`` ("read", "write", "login") on this event loop."""
    loop = asyncio.get_running_loop()
    state = request.app.state
    limiters: dict[str, tuple[asyncio.AbstractEventLoop, CapacityLimiter]] | None = getattr(
        state, "worker_threads", None
    )
    if limiters is None:
        limiters = state.worker_threads = {}
    found = limiters.get(kind)
    if found is None or found[0] is not loop:  # a limiter belongs to one event loop
        db: Database = state.db
        sqlite, postgresql = THREADS[kind]
        found = limiters[kind] = (loop, CapacityLimiter(sqlite if db.is_sqlite else postgresql))
    return found[1]


async def run_write(request: Request, work: Callable[[Session, Actor], T]) -> T:
    """``work(session, actor)`` in one write transaction on one worker thread, for a route
    marked :func:`access_in_transaction` (the user and patient are checked first, in the same
    transaction). It commits before this returns, so a client is never answered for a write
    that could still be lost. A transaction the database refused for a transient reason is
    run again (``Database.transact``).

    The database write lock is held only while the transaction runs, never across an
    event-loop round trip, so how busy the loop is does not lengthen the queue of writers.
    """
    db: Database = request.app.state.db

    def transaction() -> T:
        # Run again, a bounded number of times, when the database refused it for a transient
        # reason (a deadlock, a serialization failure, a lost race to insert): a client gets
        # 409 only when the conflict outlasts the retries (issue 13 item 7).
        return db.transact(lambda session: work(session, _deferred_access(session, request, db)))

    return await anyio.to_thread.run_sync(transaction, limiter=worker_threads(request, "write"))


async def run_read(request: Request, work: Callable[[Session, Actor], T]) -> T:
    """``work(session, actor)`` in one read-only session on one worker thread (see
    :func:`run_write`); ``work`` must not write. It takes no write lock: the audit rows it
    records are deferred (``Database.read``)."""
    db: Database = request.app.state.db

    def transaction() -> T:
        with db.read(autocommit=True) as session:
            return work(session, _deferred_access(session, request, db))

    return await anyio.to_thread.run_sync(transaction, limiter=worker_threads(request, "read"))


async def run_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """``work(session)`` in one write transaction on a worker thread of the write limiter,
    committed when this returns (and run again on a transient refusal, as :func:`run_write`).

    For a route that must act after its commit within the same request: a page that e-mails
    the link it has just created sends it only once the link surely exists, and outside the
    database write lock. With ``WriteSession`` the commit comes after the handler returns.
    """
    db: Database = request.app.state.db
    return await anyio.to_thread.run_sync(
        lambda: db.transact(work), limiter=worker_threads(request, "write")
    )


async def run_login(request: Request, check: Callable[[], T]) -> T:
    """``check()`` (``accounts.login``: its transactions and the password hash) on a worker
    thread of the login limiter, off the event loop."""
    return await anyio.to_thread.run_sync(check, limiter=worker_threads(request, "login"))
