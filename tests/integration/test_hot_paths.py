"""The diary's hot paths (issue 7, benchmarks/load.py), on both engines.

Read audits are deferred and written in batches; write audits commit with their change; the
diary routes check the user and the patient inside their own transaction, yet a stranger or
another clinic still gets 401/404 before any validation error; a day entry recounts only its
own day unit, with the same result as a full recount.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from acuhead.config import Settings
from acuhead.domain.diary import DiaryDay
from acuhead.interop.document import parse_attack
from acuhead.services import diary, erasure
from acuhead.services.actors import Actor, Role
from acuhead.store.day_units import COLUMNS, refresh_day_units
from acuhead.store.db import Database
from acuhead.store.models import AuditEvent, Base, DayUnitRow, DiaryDayRow, User
from acuhead.web.app import create_app

from .factories import PASSWORD, World, make_world

Login = Callable[[str], dict[str, str]]


def _prac(db: Database, world: World) -> Actor:
    with db.read() as s:
        user = s.scalars(select(User).where(User.email == world.prac_x)).one()
        return Actor(user.id, user.clinic_id, Role.PRACTITIONER)


def _audits(db: Database, **where: Any) -> list[AuditEvent]:
    with db.read() as s:
        stmt = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
        return list(s.scalars(stmt))


def test_a_read_audit_is_written_shortly_after_the_read_by_the_background_writer(
    db: Database, world: World
) -> None:
    actor = _prac(db, world)
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with db.read() as s:  # a read-only transaction: it never commits
        diary.list_days(s, actor=actor, patient_id=world.patient_a)
    deadline = time.monotonic() + 10
    found: list[AuditEvent] = []
    while not found and time.monotonic() < deadline:  # no flush() here: the thread writes it
        time.sleep(0.05)
        found = _audits(db, action="read", entity="diary_days", patient_id=world.patient_a)
    assert len(found) == 1
    event = found[0]
    assert (event.user_id, event.clinic_id) == (actor.user_id, world.clinic_x)
    assert before <= event.at_utc <= before + dt.timedelta(seconds=5)  # the time of the read


def test_a_write_audit_commits_or_rolls_back_with_its_change(db: Database, world: World) -> None:
    actor = _prac(db, world)
    entry = DiaryDay(date=dt.date(2026, 1, 5), headache=True)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), db.write() as s:
        diary.upsert_day(s, actor=actor, patient_id=world.patient_a, day=entry)
        assert db.deferred.pending == 0  # part of this transaction, not deferred
        raise Abort
    assert _audits(db, entity="diary_day") == []
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(DiaryDayRow)) == 0

    with db.write() as s:
        row = diary.upsert_day(s, actor=actor, patient_id=world.patient_a, day=entry)
    # Visible as soon as the write has committed, with no flush of deferred rows.
    (event,) = _audits(db, entity="diary_day")
    assert (event.action, event.entity_id, event.patient_id) == (
        "create",
        str(row.id),
        world.patient_a,
    )


def test_a_deferred_audit_of_a_patient_erased_meanwhile_loses_its_patient_link(
    db: Database, world: World
) -> None:
    actor = _prac(db, world)
    db.deferred.delay = 30.0  # keep the row queued until the explicit flush below
    try:
        with db.read() as s:
            diary.get_patient(s, actor=actor, patient_id=world.patient_b)
        with db.write() as s:
            erasure.erase_patient(s, actor=Actor.system(world.clinic_x), patient_id=world.patient_b)
        db.deferred.flush()
    finally:
        db.deferred.delay = 0.2
    reads = _audits(db, action="read", entity="patient", entity_id=str(world.patient_b))
    assert len(reads) == 1 and reads[0].patient_id is None
    assert _audits(db, patient_id=world.patient_b) == []


def test_a_full_queue_of_deferred_rows_is_written_by_the_reader_itself(
    db: Database, world: World
) -> None:
    actor = _prac(db, world)
    db.deferred.delay, db.deferred.limit = 30.0, 3
    try:
        for _ in range(3):
            with db.read() as s:
                diary.list_regimens(s, actor=actor, patient_id=world.patient_a)
        # The third read found the queue at its bound and wrote it: nothing is dropped.
        assert len(_audits(db, action="read", entity="regimens")) == 3
    finally:
        db.deferred.delay, db.deferred.limit = 0.2, 20_000


def test_stopping_the_server_writes_the_read_audits_still_queued(
    db: Database, world: World
) -> None:
    settings = Settings(env="test", login_max_failures=5, login_window_seconds=300)
    db.deferred.delay = 30.0
    try:
        with TestClient(create_app(settings, db), base_url="http://testserver") as client:
            token = client.post(
                "/api/v1/auth/login", json={"email": world.prac_x, "password": PASSWORD}
            ).json()["token"]
            r = client.get(
                f"/api/v1/patients/{world.patient_a}/days",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200
            assert db.deferred.pending == 1
        # Leaving the block ran the app's shutdown.
        assert db.deferred.pending == 0
        assert len(_audits(db, action="read", entity="diary_days")) == 1
    finally:
        db.deferred.delay = 0.2


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PUT", "/days/2026-01-05", {"headache": "maybe"}),  # invalid body
        ("PUT", "/days/not-a-date", {"headache": True}),  # invalid path parameter
        ("GET", "/days?limit=0", None),  # invalid query parameter
        ("POST", "/attacks", {"peak_intensity": 99}),
    ],
)
def test_a_stranger_or_another_clinic_is_refused_before_any_validation_error(
    app_client: TestClient,
    world: World,
    login: Login,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    url = f"/api/v1/patients/{world.patient_a}{suffix}"

    def status(headers: dict[str, str]) -> int:
        r = app_client.request(method, url, json=body, headers=headers)
        app_client.cookies.clear()
        return int(r.status_code)

    assert status({}) == 401
    assert status({"Authorization": "Bearer not-a-live-session"}) == 401
    assert status(login(world.prac_y)) == 404  # another clinic
    assert status(login(world.patient_b_email)) == 404  # another patient of the clinic
    assert status(login(world.prac_x)) == 422  # allowed: now the validation error
    other_clinic_url = f"/api/v1/patients/{world.patient_y}{suffix}"
    r = app_client.request(method, other_clinic_url, json=body, headers=login(world.prac_x))
    assert r.status_code == 404


def test_a_patient_editing_another_patients_record_gets_404_not_403(
    app_client: TestClient, world: World, login: Login
) -> None:
    r = app_client.patch(
        f"/api/v1/patients/{world.patient_b}",
        json={"version": 1, "display_name": "x"},
        headers=login(world.patient_a_email),
    )
    assert r.status_code == 404


def _unit_rows(db: Database, patient_id: int) -> list[tuple[Any, ...]]:
    with db.read() as s:
        rows = s.execute(
            select(*(getattr(DayUnitRow, c) for c in COLUMNS))
            .where(DayUnitRow.patient_id == patient_id)
            .order_by(DayUnitRow.day)
        ).all()
    return [tuple(r) for r in rows]


def test_a_day_entry_recounts_its_day_as_a_full_recount_would(db: Database, world: World) -> None:
    actor = _prac(db, world)
    pid = world.patient_a
    attack = {
        "start": "2026-01-06T22:00:00",
        "end": "2026-01-07T06:00:00",
        "peak_intensity": 7,
        "nausea": "moderate",
        "photophobia": True,
        "phonophobia": True,
        "medications": [{"name": "sumatriptan", "class": "triptan", "effect": "good"}],
    }
    with db.write() as s:
        diary.create_attack(
            s, actor=actor, patient_id=pid, attack=parse_attack(attack, timezone="Europe/Berlin")
        )
    days = [
        DiaryDay(date=dt.date(2026, 1, 5), headache=False, stress=3),
        DiaryDay(date=dt.date(2026, 1, 6), headache=True, stress=8, sleep_hours=5.0),
        DiaryDay(date=dt.date(2026, 1, 7), headache=True, neck_tension=6),
        DiaryDay(date=dt.date(2026, 1, 8), headache=False, menstruating=True),
    ]
    for entry in days:
        with db.write() as s:
            diary.upsert_day(s, actor=actor, patient_id=pid, day=entry)
    with db.write() as s:  # a correction, and a deletion of a day the attack still touches
        diary.upsert_day(
            s, actor=actor, patient_id=pid, day=DiaryDay(date=dt.date(2026, 1, 5), headache=True)
        )
        diary.delete_day(s, actor=actor, patient_id=pid, day=dt.date(2026, 1, 7))
    with db.write() as s:
        diary.delete_day(s, actor=actor, patient_id=pid, day=dt.date(2026, 1, 8))
    incremental = _unit_rows(db, pid)
    with db.write() as s:
        refresh_day_units(s, patient_id=pid)
    assert incremental == _unit_rows(db, pid)
    assert [r[1] for r in incremental] == [
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 6),
        dt.date(2026, 1, 7),  # no entry left, but the attack makes it a recorded day
    ]


def test_the_day_list_counts_every_day_in_the_window_whatever_the_page(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.prac_x)
    url = f"/api/v1/patients/{world.patient_a}/days"
    for day in ("2026-01-05", "2026-01-06", "2026-01-07"):
        r = app_client.put(f"{url}/{day}", json={"headache": False}, headers=h)
        assert r.status_code == 200

    def page(**params: Any) -> tuple[list[str], int]:
        body = app_client.get(url, params=params, headers=h).json()
        return [d["date"] for d in body["items"]], body["total"]

    assert page(limit=2) == (["2026-01-05", "2026-01-06"], 3)
    assert page(limit=2, offset=2) == (["2026-01-07"], 3)
    assert page(limit=2, offset=5) == ([], 3)  # past the end: the total still counts
    assert page(start="2026-01-06") == (["2026-01-06", "2026-01-07"], 2)
    assert page(end="2026-01-04") == ([], 0)


class _Statements:
    """The statements an engine sends (each one a round trip to PostgreSQL), transaction
    control apart: SQLite's BEGIN goes through the cursor, PostgreSQL's does not."""

    def __init__(self, db: Database) -> None:
        self.sent: list[str] = []
        self._engine = db.engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        verb = statement.split(None, 1)[0].upper()
        if verb != "BEGIN":
            self.sent.append(verb)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


def test_a_patients_diary_requests_stay_within_their_statement_budget(
    db: Database, app_client: TestClient, world: World, login: Login
) -> None:
    """Under load a request waits mostly for its round trips (benchmarks/load.py): the session
    holder and the patient come in one statement, the day is read under its lock, and nothing
    pings the connection first. More statements here means a slower diary for everyone."""
    assert not db.engine.pool._pre_ping  # type: ignore[attr-defined]  # pings bypass events
    db.deferred.delay = 30  # no batch of read audits inside the counted window
    headers = login(world.patient_a_email)
    base = f"/api/v1/patients/{world.patient_a}/days"
    assert app_client.put(f"{base}/2026-01-05", json={"headache": True}, headers=headers).is_success
    db.deferred.flush()
    counter = _Statements(db)
    try:
        day = {"headache": False, "version": 1}
        r = app_client.put(f"{base}/2026-01-05", json=day, headers=headers)
        assert r.status_code == 200
        write = list(counter.sent)
        counter.sent.clear()
        r = app_client.get(f"{base}?limit=30", headers=headers)
        assert r.status_code == 200 and r.json()["total"] == 1
        read = list(counter.sent)
    finally:
        counter.close()
    # holder+patient, [the patient locked: PostgreSQL], the day under lock, update, audit, the
    # day's attacks, day unit, then the outcome anchor (issue 17: block_aggregates): this
    # patient is untreated, so there is no window to sum again (a treated one's is replaced
    # with a DELETE and an INSERT ... SELECT)
    lock = [] if db.is_sqlite else ["SELECT"]
    window = ["SELECT"]
    assert write == ["SELECT", *lock, "SELECT", "UPDATE", "INSERT", "SELECT", "INSERT", *window], (
        write
    )
    assert read == ["SELECT", "SELECT"], read  # holder+patient, the page of days


def test_a_patient_reading_another_patients_diary_is_refused_by_the_one_statement(
    app_client: TestClient, world: World, login: Login
) -> None:
    """The patient loaded beside the session holder is still checked: patient A's login gets
    404 for B's record, a practitioner of another clinic 404, an unknown id 404."""
    a = login(world.patient_a_email)
    for patient_id, headers in (
        (world.patient_b, a),
        (world.patient_a, login(world.prac_y)),
        (10**6, login(world.prac_x)),
    ):
        r = app_client.get(f"/api/v1/patients/{patient_id}/days", headers=headers)
        assert r.status_code == 404, (patient_id, r.text)
    assert app_client.get(f"/api/v1/patients/{world.patient_a}/days", headers=a).status_code == 200


@pytest.mark.parametrize("ref", ["abc", "0", "3000000000", "99999999999999999999", "%C2%B2"])
def test_an_id_no_row_can_have_gets_401_without_a_session_and_404_with_one(
    app_client: TestClient, world: World, login: Login, ref: str
) -> None:
    url = f"/api/v1/patients/{ref}/days"
    stranger = {"Authorization": "Bearer not-a-live-session"}
    assert app_client.get(url, headers=stranger).status_code == 401
    assert app_client.get(url, headers=login(world.prac_x)).status_code == 404


def test_a_logged_out_session_is_refused_by_the_one_statement(
    app_client: TestClient, world: World, login: Login
) -> None:
    headers = login(world.patient_a_email)
    url = f"/api/v1/patients/{world.patient_a}/days"
    assert app_client.get(url, headers=headers).status_code == 200
    assert app_client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert app_client.get(url, headers=headers).status_code == 401
    r = app_client.put(f"{url}/2026-01-05", json={"headache": True}, headers=headers)
    assert r.status_code == 401


def test_a_connection_the_database_dropped_costs_one_503_then_the_pool_reconnects(
    pg_db: Database, pg_url: str
) -> None:
    """No ping before each checkout (a round trip on every request): when PostgreSQL drops the
    server's connections (a restart), the next request answers 503 with Retry-After, and the
    one after it succeeds on a fresh connection, with nothing written twice."""
    db = pg_db
    world = make_world(db)
    settings = Settings(env="test", login_max_failures=5, login_window_seconds=300)
    with TestClient(create_app(settings, db), base_url="http://testserver") as client:
        r = client.post(
            "/api/v1/auth/login", json={"email": world.patient_a_email, "password": PASSWORD}
        )
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        url = f"/api/v1/patients/{world.patient_a}/days/2026-01-05"
        assert client.put(url, json={"headache": True}, headers=headers).status_code == 200
        killer = create_engine(pg_url, poolclass=NullPool)  # not one of the app's
        with killer.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        killer.dispose()
        lost = client.put(url, json={"headache": False, "version": 1}, headers=headers)
        assert lost.status_code == 503, lost.text
        assert lost.headers["retry-after"] == "1"
        assert "try again" in lost.json()["detail"]
        again = client.put(url, json={"headache": False, "version": 1}, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["version"] == 2  # the lost attempt changed nothing


def test_the_served_app_warms_up_before_its_first_request_and_writes_nothing(
    db: Database, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """`acuhead serve` builds the app with warm_up: the pooled connections the hot routes use
    are open, and the warm-up requests (a token no session has) reached the session lookup and
    were refused, leaving no row behind (web/warm_up.py)."""
    from acuhead.web.deps import THREADS

    def row_counts() -> dict[str, int]:
        db.deferred.flush()
        with db.read() as s:
            return {
                t.name: s.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables
            }

    before = row_counts()
    column = 0 if db.is_sqlite else 1
    wanted = sum(sizes[column] for sizes in THREADS.values())
    settings = Settings(env="test", login_max_failures=5, login_window_seconds=300)
    app = create_app(settings, db, warm_up=True)
    with caplog.at_level("WARNING", logger="acuhead.web"), TestClient(app):
        assert db.engine.pool.checkedin() >= wanted  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if "warm-up" in r.getMessage()]
    assert row_counts() == before
