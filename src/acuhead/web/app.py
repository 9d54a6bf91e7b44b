"""The ASGI application: JSON API under /api/v1, health check, error mapping, headers.

Errors from the service layer map to HTTP here and only here: ValidationError 422 (with the
field and the reason), NotFound 404, Forbidden 403, Conflict/SafetyBlock 409.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import configure_mappers
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acuhead import __version__
from acuhead.config import Settings, get_settings
from acuhead.errors import Conflict, Forbidden, NotFound, SafetyBlock, ValidationError
from acuhead.store.db import Database, is_transient
from acuhead.web import pages
from acuhead.web import warm_up as warming
from acuhead.web.api import appointments as appointments_api
from acuhead.web.api import auth, care, clinical, diary
from acuhead.web.api import interop as records_api
from acuhead.web.api import outcomes as outcomes_api
from acuhead.web.api_docs import add_api_docs
from acuhead.web.deps import ReadSession, deferred_access_error, patient_access
from acuhead.web.limits import BodyLimits
from acuhead.web.schemas import Health

log = logging.getLogger("acuhead.web")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
}
# The API docs page (web/api_docs.py): Swagger UI sets inline styles; scripts stay 'self'.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Production is served over HTTPS (docs/deploying.md): browsers keep to it for a year.
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Adds the security headers to every HTTP response.

    Plain ASGI rather than ``BaseHTTPMiddleware``: that one runs each request through an extra
    task and memory streams, which cost more CPU than a simple API request itself."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if path.startswith("/docs"):
                    headers["Content-Security-Policy"] = DOCS_CSP
                if path.startswith("/api/"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ErrorOut(BaseModel):
    detail: str


# Documented on every API route so clients (and the schema fuzzer) know what to expect.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the body could not be read (not UTF-8 JSON)"},
    401: {"model": ErrorOut, "description": "not logged in, or the session expired"},
    403: {"model": ErrorOut, "description": "role not allowed, or cross-site request"},
    404: {"model": ErrorOut, "description": "no such record in your clinic"},
    409: {"model": ErrorOut, "description": "version conflict, or blocked for safety"},
    429: {"model": ErrorOut, "description": "too many failed logins"},
    503: {"model": ErrorOut, "description": "the database connection was lost; try again"},
}


def _field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": ["body", *[p for p in e.path.split(".") if p]],
            "field": e.path,
            "msg": e.message,
            "type": "value_error",
        }
        for e in exc.errors
    ]


@cache
def _path_patterns(
    app_id: int, paths: tuple[tuple[str, tuple[str, ...]], ...]
) -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    return [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), m) for p, m in paths]


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document lists for a concrete path (for a 405's Allow header)."""
    paths = tuple((p, tuple(ops)) for p, ops in app.openapi()["paths"].items())
    allowed: set[str] = set()
    for pattern, methods in _path_patterns(id(app), paths):
        if pattern.match(path):
            allowed |= {m.upper() for m in methods}
    return sorted(allowed)


PATIENT_ACCESS = [Depends(patient_access)]
_FROZEN = threading.Event()


def create_app(
    settings: Settings | None = None, db: Database | None = None, *, warm_up: bool = False
) -> FastAPI:
    """The web app and API. ``warm_up``: before serving, do the work the first requests
    would otherwise wait for (``web/warm_up.py``; ``acuhead serve`` sets it)."""
    settings = settings or get_settings()
    db = db or Database(settings.db_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Before the first request, not during it: set up every ORM mapper (the first query
        # otherwise pays ~100 ms for it), then move everything built so far (modules, app,
        # mappers) into the collector's permanent generation, so the periodic full
        # collection scans only what serving creates: it took ~90 ms a run, stalling every
        # request in flight (benchmarks/load.py).
        configure_mappers()
        if warm_up and await run_in_threadpool(warming.open_connections, db):
            await warming.send_requests(_app)
        if not _FROZEN.is_set():  # once per process (tests start many apps)
            _FROZEN.set()
            gc.collect()
            gc.freeze()
        yield
        # Read audits waiting to be written in a batch (store/db.py DeferredInserts).
        await run_in_threadpool(db.deferred.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="acuhead",
        version=__version__,
        description="Headache diary, ICHD-3 engine and acupuncture care records. "
        "Every route needs a session (POST /api/v1/auth/login).",
        docs_url=None,  # served by add_api_docs, from installed files
        redoc_url=None,
        openapi_url="/openapi.json" if settings.api_docs_on else None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.write_gate = asyncio.Semaphore(1 if db.is_sqlite else 8)
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.max_body_bytes,
        import_bytes=settings.max_import_bytes,
        timeout_seconds=settings.body_timeout_seconds,
    )
    # Added last: outermost, so a 413 gets the headers too.
    app.add_middleware(SecurityHeaders, hsts=settings.is_production)

    @app.exception_handler(ValidationError)
    async def _validation(_r: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse({"detail": _field_errors(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        # A route that checks access inside its transaction has not checked it yet: a
        # stranger or another clinic's record gets its 401/404 first, whatever was sent.
        refused = await run_in_threadpool(deferred_access_error, request)
        if refused is not None:
            return await _http(request, refused)
        details = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ())]
            details.append(
                {
                    "loc": loc,
                    "field": ".".join(loc[1:]) or ".".join(loc),
                    "msg": e.get("msg", "invalid"),
                    "type": e.get("type", "value_error"),
                }
            )
        return JSONResponse({"detail": details}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette lists only the first matching route's methods; list them all.
            headers["Allow"] = ", ".join(_allowed_methods(app, request.url.path))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_r: Request, exc: Exception) -> JSONResponse:
        # A number or text larger than its column (e.g. an id beyond 2^31 on PostgreSQL).
        # Validation should catch these first; this keeps a missed one from becoming a 500.
        log.warning("value out of range for its column: %s", type(exc).__name__)
        return JSONResponse(
            {
                "detail": [
                    {
                        "loc": ["request"],
                        "field": "",
                        "type": "value_error",
                        "msg": "a value in the request is out of range for its field",
                    }
                ]
            },
            status_code=422,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_r: Request, _exc: IntegrityError) -> JSONResponse:
        # Two writers raced to create the same record (e.g. the same diary day): the loser
        # gets a conflict it can retry, never a 500.
        return JSONResponse(
            {"detail": "the record changed at the same time; read it and retry"}, status_code=409
        )

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> Response:
        if is_transient(exc):  # still refused after the retries (Database.transact)
            return JSONResponse(
                {"detail": "the record changed at the same time; read it and retry"},
                status_code=409,
            )
        if not exc.connection_invalidated:
            raise exc  # a real fault: the server error handler logs it and answers 500
        # The database server dropped the connection (it restarted, or a proxy cut it) and
        # the pool has reconnected, so a retry works. Lost during COMMIT, a change may have
        # been saved all the same: the answer says to check before sending it again.
        log.warning("database connection lost; the pool reconnects")
        return JSONResponse(
            {
                "detail": "the database connection was lost; if this was a change, check "
                "whether it was saved, then try again"
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(NotFound)
    async def _not_found(_r: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Forbidden)
    async def _forbidden(_r: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(SafetyBlock)
    async def _safety(_r: Request, exc: SafetyBlock) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "blocked": True, "reasons": exc.reasons}, status_code=409
        )

    @app.exception_handler(Conflict)
    async def _conflict(_r: Request, exc: Conflict) -> JSONResponse:
        # 409, or 428 for a change that sent no version (VersionRequired).
        return JSONResponse({"detail": str(exc)}, status_code=getattr(exc, "status_code", 409))

    @app.get("/livez", tags=["health"])
    async def livez() -> dict[str, str]:
        """The process answers; touches nothing (the load benchmark's framework baseline)."""
        return {"status": "ok"}

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz(session: ReadSession) -> Health:
        """Liveness and database reachability; carries no data and needs no login."""
        try:
            session.execute(text("SELECT 1"))
            state = "ok"
        except Exception:
            log.exception("health check failed")
            state = "unavailable"
        return Health(
            status="ok" if state == "ok" else "degraded", database=state, version=__version__
        )

    app.include_router(
        auth.router, prefix="/api/v1", responses=COMMON_RESPONSES, dependencies=PATIENT_ACCESS
    )
    app.include_router(
        diary.router, prefix="/api/v1", responses=COMMON_RESPONSES, dependencies=PATIENT_ACCESS
    )
    app.include_router(
        clinical.router, prefix="/api/v1", responses=COMMON_RESPONSES, dependencies=PATIENT_ACCESS
    )
    app.include_router(
        care.router, prefix="/api/v1", responses=COMMON_RESPONSES, dependencies=PATIENT_ACCESS
    )
    app.include_router(
        records_api.router,
        prefix="/api/v1",
        responses=COMMON_RESPONSES,
        dependencies=PATIENT_ACCESS,
    )
    app.include_router(
        outcomes_api.router,
        prefix="/api/v1",
        responses=COMMON_RESPONSES,
        dependencies=PATIENT_ACCESS,
    )
    app.include_router(
        appointments_api.router,
        prefix="/api/v1",
        responses=COMMON_RESPONSES,
        dependencies=PATIENT_ACCESS,
    )
    app.include_router(pages.router)  # HTML pages; "/" sends each role to its landing page
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    if settings.api_docs_on:
        add_api_docs(app)
    return app


def serve_app() -> FastAPI:
    """The app as ``acuhead serve`` runs it, warmed up; the factory each server process
    calls when there are several (``--workers``)."""
    return create_app(warm_up=True)
