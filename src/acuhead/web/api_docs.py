"""The interactive API docs at ``/docs``, served whole by the app itself.

Swagger UI's files come from an installed package (``fastapi-offline`` ships them), under
``/docs/assets``; the page's only other script is ``static/js/api-docs.js``. Nothing is
fetched from another host, and the page runs under a CSP without inline script, so the docs
work offline (nothing is fetched at run time). Whether ``/docs`` and ``/openapi.json``
exist at all is the ``ACUHEAD_API_DOCS`` setting: off by default in production.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from acuhead import __version__

SWAGGER_UI_DIR = Path(str(importlib.resources.files("fastapi_offline") / "static"))
ASSETS = "/docs/assets"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>acuhead API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js?v={__version__}"></script>
</body>
</html>
"""


def add_api_docs(app: FastAPI) -> None:
    """``/docs`` and its assets (the app serves ``/openapi.json`` itself)."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="api-docs-assets")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})
