"""Browser fixtures: one live server and one headless Chromium per test session (per xdist
worker); a fresh browser context (cookies, storage) for every test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .support import World, launch, live_server, prepare_world


@dataclass(frozen=True)
class Live:
    url: str
    world: World
    db_url: str  # the server's SQLite file, for tests that add records of their own


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("browser")
    db_url, world = prepare_world(base / "live.sqlite3", template=sqlite_template)
    with live_server(db_url, log=base / "server.log") as server:
        yield Live(server.url, world, db_url)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)  # waits for elements; generous for a loaded machine
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    context = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: _console(msg, errors))
    yield pg
    context.close()
    # A CSP violation, a missing asset or a script error shows up here: pages must run clean.
    assert not errors, errors


# Answers a form gives on purpose (validation, wrong password) are logged by Chromium as
# failed loads; they are expected, everything else is not.
# 409: the patient app's outbox meeting a record changed elsewhere (shown for a choice).
# A request made while the browser context is offline fails on purpose (offline tests).
_EXPECTED = re.compile(
    r"Failed to load resource: (.* status of (401|409|422|429)\b|net::ERR_INTERNET_DISCONNECTED)"
)


def _console(msg: Any, errors: list[str]) -> None:
    if msg.type == "error" and not _EXPECTED.search(msg.text):
        errors.append(msg.text)
