from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from acuhead.config import Settings
from acuhead.store.db import Database
from acuhead.web.app import create_app

from .factories import PASSWORD, World, make_world


@pytest.fixture
def world(db: Database) -> World:
    return make_world(db)


@pytest.fixture
def app_client(db: Database) -> Iterator[TestClient]:
    settings = Settings(env="test", login_max_failures=5, login_window_seconds=300)
    with TestClient(create_app(settings, db), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def login(app_client: TestClient) -> Callable[[str], dict[str, str]]:
    """Log in by e-mail and return Bearer headers for that user."""

    def _login(email: str) -> dict[str, str]:
        r = app_client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        app_client.cookies.clear()
        return {"Authorization": f"Bearer {r.json()['token']}"}

    return _login
