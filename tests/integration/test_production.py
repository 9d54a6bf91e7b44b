"""Production gaps (issue 13 item 13): HSTS in production, the API docs behind a setting (off by
default in production), and a /docs page that works offline: every asset from this app, under
its CSP, none from a CDN."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from acuhead.config import Settings
from acuhead.store.db import Database
from acuhead.web.app import create_app

PRODUCTION = {"env": "production", "secret_key": "s" * 40, "demo_accounts": False}
DOC_PATHS = ("/docs", "/openapi.json", "/redoc")


def _client(db: Database, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(**settings), db), base_url="http://testserver")  # type: ignore[arg-type]


def test_production_sends_hsts_and_development_does_not(db: Database) -> None:
    with _client(db, **PRODUCTION) as c:
        for path in ("/livez", "/login", "/api/v1/patients"):
            r = c.get(path, follow_redirects=False)
            sts = r.headers.get("strict-transport-security", "")
            assert "max-age=31536000" in sts, path
    with _client(db, env="development") as c:
        assert "strict-transport-security" not in c.get("/livez").headers


@pytest.mark.parametrize(
    ("settings", "served"),
    [
        (PRODUCTION, False),
        ({**PRODUCTION, "api_docs": True}, True),
        ({"env": "development"}, True),
        ({"env": "development", "api_docs": False}, False),
    ],
)
def test_api_docs_follow_the_setting_off_by_default_in_production(
    db: Database, settings: dict[str, object], served: bool
) -> None:
    with _client(db, **settings) as c:
        assert c.get("/docs").status_code == (200 if served else 404)
        assert c.get("/openapi.json").status_code == (200 if served else 404)
        assert c.get("/docs/assets/swagger-ui-bundle.js").status_code == (200 if served else 404)
        assert c.get("/redoc").status_code == 404  # not offered
        # The API itself does not depend on the docs (405 lists methods from the schema).
        r = c.delete("/api/v1/auth/login")
        assert r.status_code == 405 and "POST" in r.headers["allow"]


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACUHEAD_API_DOCS", "false")
    assert Settings(env="development").api_docs_on is False
    monkeypatch.setenv("ACUHEAD_API_DOCS", "true")
    assert Settings(**PRODUCTION).api_docs_on is True  # type: ignore[arg-type]
    monkeypatch.delenv("ACUHEAD_API_DOCS")
    assert Settings(**PRODUCTION).api_docs_on is False  # type: ignore[arg-type]


class Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline_scripts = 0
        self._inline = False  # inside a <script> without src

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name in ("src", "href"):
            if a.get(name):
                self.refs.append(str(a[name]))
        if tag == "script":
            self._inline = not a.get("src")

    def handle_data(self, data: str) -> None:
        if self._inline and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline = False


def test_docs_page_loads_only_same_origin_assets_that_answer(db: Database) -> None:
    with _client(db, env="development") as c:
        r = c.get("/docs")
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline'; frame" not in csp
        assert "http" not in csp  # no other host allowed
        page = Refs()
        page.feed(r.text)
        assert page.inline_scripts == 0
        scripts = [u for u in page.refs if u.endswith(".js") or ".js?" in u]
        assert any("swagger-ui-bundle.js" in u for u in scripts)
        assert any(u.endswith(".css") for u in page.refs)
        for ref in page.refs:
            parts = urlsplit(ref)
            assert not parts.scheme and not parts.netloc and ref.startswith("/"), ref
            asset = c.get(ref)
            assert asset.status_code == 200, ref
            assert len(asset.content) > 100, ref
        init = c.get(next(u for u in scripts if "api-docs" in u)).text
        assert '"/openapi.json"' in init and "validatorUrl: null" in init
        assert c.get("/openapi.json").json()["info"]["title"] == "acuhead"
