"""/docs in a real browser: Swagger UI renders the app's API from the app's own files, with
every request to another host refused (offline), under the docs page's CSP (issue 13 item 13).
The ``page`` fixture fails the test on any console error, a CSP violation included."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import Live

pytestmark = pytest.mark.browser


def test_docs_render_offline_from_the_apps_own_files(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    own = urlsplit(live.url).netloc
    elsewhere: list[str] = []

    def only_own(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:  # as with no network: nothing from another host
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_own)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("acuhead")
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/auth/login").first
    ).to_be_visible()
    assert elsewhere == []
