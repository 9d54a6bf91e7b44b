"""Authentication, tenant and role isolation, CSRF, throttling and audit, on both engines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from acuhead.config import Settings
from acuhead.services import accounts
from acuhead.store.db import Database
from acuhead.store.models import AuditEvent, LoginAttempt, utcnow
from acuhead.web.app import create_app

from .factories import PASSWORD, World

Login = Callable[[str], dict[str, str]]


def test_health_needs_no_login_and_reports_the_database(app_client: TestClient) -> None:
    r = app_client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["database"] == "ok"


def test_health_reports_an_unreachable_database_as_degraded() -> None:
    """The check runs in a ReadSession like every route, and still answers when the database
    does not (port 1: nothing listens there)."""
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    app = create_app(Settings(env="test"), down)
    with TestClient(app, base_url="http://testserver") as client:
        r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "degraded" and r.json()["database"] == "unavailable"


def test_every_api_route_refuses_anonymous_callers(app_client: TestClient, world: World) -> None:
    for method, path in [
        ("GET", "/api/v1/patients"),
        ("GET", f"/api/v1/patients/{world.patient_a}"),
        ("GET", f"/api/v1/patients/{world.patient_a}/days"),
        ("POST", f"/api/v1/patients/{world.patient_a}/attacks"),
        ("GET", "/api/v1/users"),
    ]:
        r = app_client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.status_code)


def test_wrong_password_is_refused_without_saying_which_part(
    app_client: TestClient, world: World
) -> None:
    r1 = app_client.post("/api/v1/auth/login", json={"email": world.prac_x, "password": "nope"})
    r2 = app_client.post("/api/v1/auth/login", json={"email": "ghost@x.test", "password": "nope"})
    assert r1.status_code == r2.status_code == 401
    assert r1.json() == r2.json()


def test_login_is_throttled_after_repeated_failures(app_client: TestClient, world: World) -> None:
    for _ in range(5):
        r = app_client.post("/api/v1/auth/login", json={"email": world.prac_x, "password": "x"})
        assert r.status_code == 401
    r = app_client.post("/api/v1/auth/login", json={"email": world.prac_x, "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    # Another account is not affected.
    ok = app_client.post("/api/v1/auth/login", json={"email": world.admin_x, "password": PASSWORD})
    assert ok.status_code == 200


SAME_ORIGIN = {"Origin": "http://testserver"}


def test_the_page_form_and_the_api_count_failed_logins_against_one_limit(
    app_client: TestClient, world: World
) -> None:
    """One rule (accounts.record_failed_login, via accounts.log_in) for both edges: three
    wrong passwords on the page and two on the API use up the account's five together."""
    for _ in range(3):
        page = app_client.post(
            "/login",
            data={"email": world.prac_x, "password": "x"},
            headers=SAME_ORIGIN,
            follow_redirects=False,
        )
        assert page.status_code == 401
    for _ in range(2):
        r = app_client.post("/api/v1/auth/login", json={"email": world.prac_x, "password": "x"})
        assert r.status_code == 401
    api = app_client.post("/api/v1/auth/login", json={"email": world.prac_x, "password": PASSWORD})
    page = app_client.post(
        "/login",
        data={"email": world.prac_x, "password": PASSWORD},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert (api.status_code, page.status_code) == (429, 429)
    assert int(api.headers["Retry-After"]) > 0 and int(page.headers["Retry-After"]) > 0


def test_record_failed_login_counts_up_to_the_limit_per_account(db: Database) -> None:
    limit = {"max_failures": 3, "window_seconds": 300}
    key, other = accounts.login_key("Someone@x.test "), accounts.login_key("other@x.test")
    for _ in range(3):
        with db.write() as session:
            accounts.record_failed_login(session, key, **limit)
    with pytest.raises(accounts.LoginThrottled) as refused, db.write() as session:
        accounts.record_failed_login(session, key, **limit)
    assert 0 < refused.value.retry_after <= 300
    with db.write() as session:  # another account keeps its own allowance
        accounts.record_failed_login(session, other, **limit)
    with db.read() as session:
        counted = session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key_hash == key)
        )
    assert counted == 3  # the refused attempt is not recorded


def _attempts(db: Database, key: str | None = None) -> list[dt.datetime]:
    stmt = select(LoginAttempt.at_utc).order_by(LoginAttempt.at_utc)
    with db.read() as session:
        return list(
            session.scalars(stmt if key is None else stmt.where(LoginAttempt.key_hash == key))
        )


def test_the_throttle_counts_to_the_second_at_the_edge_of_its_window(db: Database) -> None:
    """An attempt 1 s inside the window still counts; one 1 s outside it neither counts nor
    stays stored (a failed login deletes the account's attempts the window has left)."""
    limit = {"max_failures": 3, "window_seconds": 300}
    key = accounts.login_key("edge@x.test")
    now = utcnow()
    inside, outside = now - dt.timedelta(seconds=299), now - dt.timedelta(seconds=301)
    with db.write() as session:
        session.execute(
            insert(LoginAttempt),
            [{"key_hash": key, "at_utc": inside}] * 2 + [{"key_hash": key, "at_utc": outside}] * 5,
        )
    with db.write() as session:  # 2 in the window: a third is allowed
        accounts.record_failed_login(session, key, now=now, **limit)
    assert _attempts(db, key) == [inside, inside, now]
    with pytest.raises(accounts.LoginThrottled) as refused, db.write() as session:
        accounts.record_failed_login(session, key, now=now, **limit)
    assert refused.value.retry_after == 1  # the oldest counted attempt leaves in 1 s
    later = now + dt.timedelta(seconds=2)  # both "inside" attempts have left the window now
    with db.write() as session:
        accounts.record_failed_login(session, key, now=later, **limit)
    assert _attempts(db, key) == [now, later]


def test_expired_login_attempts_do_not_pile_up(db: Database) -> None:
    """Guesses spread over many addresses (each tried once, never again) left a row each for
    ever. Failed logins now also delete, a bounded number at a time, the attempts of any
    account that the window has left, so the table holds about one window's attempts."""
    limit = {"max_failures": 5, "window_seconds": 300}
    now = utcnow()
    old = now - dt.timedelta(seconds=301)
    with db.write() as session:  # earlier windows: 250 addresses tried once each
        session.execute(
            insert(LoginAttempt),
            [
                {"key_hash": accounts.login_key(f"gone{i}@x.test"), "at_utc": old}
                for i in range(250)
            ],
        )
    for step in range(6):  # later windows: three accounts fail a few times in each
        at = now + dt.timedelta(seconds=301 * step)
        for who in ("a", "b", "c"):
            with db.write() as session:
                key = accounts.login_key(f"{who}@x.test")
                accounts.record_failed_login(session, key, now=at, **limit)
        stored = _attempts(db)
        assert len(stored) <= 250 + 3, stored[:5]
        if step >= 1:  # from then on nothing outside the window is left
            assert min(stored) >= at - dt.timedelta(seconds=300)
            assert len(stored) == 3
    with db.write() as session:  # and the throttle still counts within the window
        for _ in range(4):
            accounts.record_failed_login(session, accounts.login_key("a@x.test"), now=at, **limit)
    with pytest.raises(accounts.LoginThrottled), db.write() as session:
        accounts.record_failed_login(session, accounts.login_key("a@x.test"), now=at, **limit)


def test_log_in_takes_the_limit_and_session_length_from_the_settings(
    db: Database, world: World
) -> None:
    settings = Settings(env="test", login_max_failures=2, login_window_seconds=300)
    for _ in range(2):
        with pytest.raises(accounts.LoginRefused):
            accounts.log_in(db, settings, email=world.prac_x, password="wrong")
    with pytest.raises(accounts.LoginThrottled):
        accounts.log_in(db, settings, email=world.prac_x, password=PASSWORD)
    ok = accounts.log_in(db, settings, email=world.admin_x, password=PASSWORD)
    hours = (ok.expires_utc - utcnow()).total_seconds() / 3600
    assert settings.session_hours - 0.1 < hours <= settings.session_hours


def test_patient_sees_only_their_own_record(
    app_client: TestClient, world: World, login: Login
) -> None:
    a = login(world.patient_a_email)
    assert app_client.get(f"/api/v1/patients/{world.patient_a}", headers=a).status_code == 200
    assert app_client.get(f"/api/v1/patients/{world.patient_b}", headers=a).status_code == 404
    assert app_client.get(f"/api/v1/patients/{world.patient_b}/days", headers=a).status_code == 404
    assert app_client.get(f"/api/v1/patients/{world.patient_y}", headers=a).status_code == 404
    listing = app_client.get("/api/v1/patients", headers=a).json()
    assert [p["id"] for p in listing["items"]] == [world.patient_a]
    r = app_client.put(
        f"/api/v1/patients/{world.patient_b}/days/2026-01-05", json={"headache": True}, headers=a
    )
    assert r.status_code == 404


def test_patient_cannot_create_patients_or_users(
    app_client: TestClient, world: World, login: Login
) -> None:
    a = login(world.patient_a_email)
    r = app_client.post("/api/v1/patients", json={"external_id": "Z"}, headers=a)
    assert r.status_code == 403
    r = app_client.post("/api/v1/users", json={"email": "z@x.test", "role": "admin"}, headers=a)
    assert r.status_code == 403


def test_practitioner_of_another_clinic_cannot_see_patients(
    app_client: TestClient, world: World, login: Login
) -> None:
    y = login(world.prac_y)
    assert app_client.get(f"/api/v1/patients/{world.patient_a}", headers=y).status_code == 404
    assert (
        app_client.get(f"/api/v1/patients/{world.patient_a}/attacks", headers=y).status_code == 404
    )
    ids = [p["id"] for p in app_client.get("/api/v1/patients", headers=y).json()["items"]]
    assert ids == [world.patient_y]


def test_practitioner_sees_all_patients_of_their_clinic(
    app_client: TestClient, world: World, login: Login
) -> None:
    x = login(world.prac_x)
    ids = {p["id"] for p in app_client.get("/api/v1/patients", headers=x).json()["items"]}
    assert ids == {world.patient_a, world.patient_b}


def test_only_admins_manage_users_and_only_in_their_clinic(
    app_client: TestClient, world: World, login: Login
) -> None:
    prac = login(world.prac_x)
    assert app_client.get("/api/v1/users", headers=prac).status_code == 403
    admin = login(world.admin_x)
    r = app_client.post(
        "/api/v1/users",
        headers=admin,
        json={"email": "new@x.test", "role": "practitioner", "password": "a-long-password"},
    )
    assert r.status_code == 201
    emails = {u["email"] for u in app_client.get("/api/v1/users", headers=admin).json()}
    assert "new@x.test" in emails and world.prac_y not in emails


def test_cookie_authenticated_write_needs_same_origin(app_client: TestClient, world: World) -> None:
    r = app_client.post(
        "/api/v1/auth/login", json={"email": world.patient_a_email, "password": PASSWORD}
    )
    assert r.status_code == 200
    assert "acuhead_session" in app_client.cookies
    url = f"/api/v1/patients/{world.patient_a}/days/2026-01-05"
    body = {"headache": False}
    # No Origin, no Sec-Fetch-Site: refused.
    assert app_client.put(url, json=body).status_code == 403
    # A cross-site browser request: refused.
    assert (
        app_client.put(url, json=body, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    )
    assert app_client.put(url, json=body, headers={"Origin": "http://evil.test"}).status_code == 403
    # Same origin: accepted. Reads never need it.
    assert (
        app_client.put(url, json=body, headers={"Origin": "http://testserver"}).status_code == 200
    )
    assert app_client.get(url).status_code == 200


def test_logout_revokes_the_session(app_client: TestClient, world: World, login: Login) -> None:
    h = login(world.prac_x)
    assert app_client.get("/api/v1/auth/me", headers=h).status_code == 200
    assert app_client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert app_client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_the_logout_page_revokes_the_session_in_its_write_session(
    app_client: TestClient, world: World
) -> None:
    form = {"email": world.prac_x, "password": PASSWORD}
    page = app_client.post("/login", data=form, headers=SAME_ORIGIN, follow_redirects=False)
    assert page.status_code == 303
    token = app_client.cookies.get("acuhead_session")
    assert token
    bearer = {"Authorization": f"Bearer {token}"}
    assert app_client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    out = app_client.post("/logout", headers=SAME_ORIGIN, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login?logged_out=1"
    assert app_client.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_reads_and_changes_of_a_patient_record_are_audited_without_health_data(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    h = login(world.prac_x)
    app_client.put(
        f"/api/v1/patients/{world.patient_a}/days/2026-01-05",
        json={"headache": True, "notes": "secret note text"},
        headers=h,
    )
    app_client.get(f"/api/v1/patients/{world.patient_a}/days", headers=h)
    db.deferred.flush()  # read audits are written in batches, a moment later (store/db.py)
    with db.read() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.patient_id == world.patient_a)))
    by_user = {(e.action, e.entity) for e in events if e.user_id is not None}
    assert ("create", "diary_day") in by_user
    assert ("read", "diary_days") in by_user
    for e in events:
        for value in (e.action, e.entity, e.entity_id or ""):
            assert "secret" not in value


def test_security_headers_are_set(app_client: TestClient) -> None:
    r = app_client.get("/")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
