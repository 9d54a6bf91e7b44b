"""The patient app's shell: the web app manifest and the service worker (issue 14).

Both are served by the app itself, from its own origin: the service worker at ``/sw.js`` so
that it may control ``/diary`` (a worker controls pages at or below its own path), written in
this project (``static/js/sw.js``), no CDN and no build step. The worker keeps the diary
pages and their assets so ``/diary`` opens without a connection; what the patient records
offline waits in the page's outbox (``static/js/diary-app.js``), not in the worker.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from acuhead import __version__
from acuhead.web.pages.base import STATIC_DIR

router = APIRouter()

SCOPE = "/diary"


def manifest() -> dict[str, Any]:
    return {
        "name": "acuhead headache diary",
        "short_name": "Headache diary",
        "description": "Your headache diary: record a migraine in one tap, even offline.",
        "start_url": "/diary",
        "scope": SCOPE,
        "display": "standalone",
        "background_color": "#121417",
        "theme_color": "#1d4f91",
        "icons": [
            {
                "src": f"/static/icons/icon-{size}.png",
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any",
            }
            for size in (192, 512)
        ],
    }


@router.get("/manifest.webmanifest")
def web_manifest() -> Response:
    return JSONResponse(
        manifest(),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@cache
def worker_source() -> str:
    """The worker's text with this release's version, so a new release replaces its caches."""
    return (STATIC_DIR / "js" / "sw.js").read_text().replace("__VERSION__", __version__)


@router.get("/sw.js")
def service_worker() -> Response:
    return Response(
        worker_source(),
        media_type="text/javascript",
        headers={
            # Browsers check for a new worker on navigation; never from a stale copy.
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": SCOPE,
        },
    )
