"""The ASGI application: JSON API under /api/v1, health check, error mapping, headers.

Errors from the service layer map to HTTP here and only here: ValidationError 422 (with the
field and the reason), NotFound 404, Forbidden 403, Conflict/SafetyBlock 409.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from acuhead import __version__
from acuhead.config import Settings, get_settings
from acuhead.errors import Conflict, Forbidden, NotFound, SafetyBlock, ValidationError
from acuhead.store.db import Database
from acuhead.web.api import auth, clinical, diary
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
# The interactive API docs page needs its own script and style sources; it is served locally.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if request.url.path.startswith("/docs"):
            response.headers["Content-Security-Policy"] = DOCS_CSP
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


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


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(settings.db_url)
    app = FastAPI(
        title="acuhead",
        version=__version__,
        description="Headache diary, ICHD-3 engine and acupuncture care records. "
        "Every route needs a session (POST /api/v1/auth/login).",
        docs_url=None if settings.is_production else "/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(ValidationError)
    async def _validation(_r: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse({"detail": _field_errors(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_r: Request, exc: RequestValidationError) -> JSONResponse:
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

    @app.exception_handler(NotFound)
    async def _not_found(_r: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Forbidden)
    async def _forbidden(_r: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(SafetyBlock)
    async def _safety(_r: Request, exc: SafetyBlock) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "blocked": True}, status_code=409)

    @app.exception_handler(Conflict)
    async def _conflict(_r: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """Liveness and database reachability; carries no data and needs no login."""
        try:
            with db.read() as session:
                session.execute(text("SELECT 1"))
            state = "ok"
        except Exception:
            log.exception("health check failed")
            state = "unavailable"
        return Health(
            status="ok" if state == "ok" else "degraded", database=state, version=__version__
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>acuhead</title></head><body><main><h1>acuhead</h1>"
            "<p>Headache and migraine care for acupuncture practices.</p>"
            "<p>The JSON API is at <a href='/docs'>/docs</a>; log in with "
            "POST /api/v1/auth/login.</p></main></body></html>"
        )

    app.include_router(auth.router, prefix="/api/v1")
    app.include_router(diary.router, prefix="/api/v1")
    app.include_router(clinical.router, prefix="/api/v1")
    return app
