"""Request dependencies: the database, the acting user, and CSRF for cookie-authenticated writes.

CSRF is checked from the browser's own ``Sec-Fetch-Site`` / ``Origin`` headers (as datasette
does) rather than with token plumbing: a cookie-authenticated write must come from this
origin. Clients that send ``Authorization: Bearer`` carry no ambient credential and skip it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from acuhead.config import Settings
from acuhead.services.accounts import actor_from_token
from acuhead.services.actors import Actor, load_patient
from acuhead.store.db import Database

COOKIE = "acuhead_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def write_gate(request: Request) -> AsyncIterator[None]:
    """Admit a bounded number of transactions at once, waiting on the event loop.

    A sync dependency's body and its exit run in separate threadpool tasks. Without this gate,
    enough requests blocked on SQLite's single writer could fill every worker thread while the
    request holding the write lock waits for a thread to commit: a deadlock. Waiting here holds
    no thread. SQLite admits one writer; PostgreSQL as many as the connection pool allows.
    """
    gate: asyncio.Semaphore = request.app.state.write_gate
    async with gate:
        yield


def write_session(
    db: DbDep, _gate: Annotated[None, Depends(write_gate, scope="function")]
) -> Iterator[Session]:
    with db.write() as session:
        yield session


def read_session(db: DbDep) -> Iterator[Session]:
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


def current_actor(request: Request, db: DbDep) -> Actor:
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:  # already resolved for this request (patient_access runs first)
        return cached
    token, from_cookie = token_from(request)
    if not token:
        raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})
    if from_cookie:
        check_same_origin(request)
    with db.read() as session:
        found = actor_from_token(session, token)
    if found is None:
        raise HTTPException(401, "session expired or revoked; log in again")
    actor, _user = found
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def patient_access(request: Request, db: DbDep) -> None:
    """Every route under /patients/{patient_id} checks tenant and role here, before its body is
    read, so another clinic's or another patient's record answers 404 whatever was sent. The
    services check again (defence in depth)."""
    raw = request.path_params.get("patient_id")
    if raw is None:
        return
    actor = current_actor(request, db)
    try:
        patient_id = int(raw)
    except ValueError:
        raise HTTPException(404, f"patient {raw} not found") from None
    with db.read() as session:
        load_patient(session, actor, patient_id)
