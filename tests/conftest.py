"""Shared fixtures. Storage and API tests run on both engines through the ``db`` fixture.

PostgreSQL is a real server (ACUHEAD_TEST_PG_URL, default the local trust-auth server). If it
is unreachable the PostgreSQL half of the suite errors rather than skips: a green run must
mean both engines passed.
"""

from __future__ import annotations

import os
import shutil
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from acuhead.store.db import Database, upgrade
from acuhead.store.models import Base

PG_ADMIN_URL = os.environ.get(
    "ACUHEAD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Real argon2id, with test-sized cost so a suite of logins stays quick."""
    from argon2 import PasswordHasher

    from acuhead.services import accounts

    original = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._hasher = original


@pytest.fixture(autouse=True, scope="session")
def _one_tls_context() -> Iterator[None]:
    """Every real httpx client (each ``httpx.post`` or ``httpx.Client`` aimed at a live server)
    builds a TLS context and reads the whole CA bundle into it: 50 ms of CPU, holding the GIL,
    for a client that only ever speaks plain HTTP to 127.0.0.1 (the SIGKILL test's 1,000 posts
    spent most of their time there). The default context is built once and shared (an
    SSLContext is safe to share); any other verify setting is built as before."""
    from httpx._transports import default as transport

    build = getattr(transport, "create_ssl_context", None)
    if build is None:  # a newer httpx: nothing to share, the suite is only slower
        yield
        return
    shared = build()

    def create_ssl_context(
        verify: Any = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is True and cert is None and trust_env:
            return shared
        return build(verify=verify, cert=cert, trust_env=trust_env)

    transport.create_ssl_context = create_ssl_context
    yield
    transport.create_ssl_context = build


def _worker() -> str:
    """A database name unique to this run and worker, so parallel runs never collide."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8] or str(os.getpid())
    return f"{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"acuhead_test_{_worker()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A commit returns before its WAL reaches the disk (it is still visible to every
            # other session at once): what a test sees is the same, but a suite of small
            # transactions stops waiting on fsync. Only an operating-system crash could lose
            # such a commit, and no test crashes the database server.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:  # pragma: no cover - environment failure must be loud
        pytest.fail(f"PostgreSQL is required for the test suite and is unreachable: {exc}")
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db)
    _CLEAN_PG[url] = _clean_pg_sql(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# How to empty a migrated test database, per database URL (built once per session).
_CLEAN_PG: dict[str, _PgCleaner] = {}


@dataclass(frozen=True)
class _PgCleaner:
    """Every test starts on empty tables whose planner statistics are those of new tables.

    TRUNCATE ... RESTART IDENTITY gives that, but it gives each of the ~30 tables and their
    indexes new files (0.1 s a test on an idle disk, 0.5 s on a busy one). A test writes a few
    rows, so DELETE (children before parents) and setting each table's sequences back to their
    start value leave the same rows and ids for milliseconds. What DELETE leaves behind is
    checked first: once a table has statistics (an ANALYZE, the demo generator's or
    autovacuum's) or more than a few pages of dead rows (a bulk test), the planner would see
    something a new table never shows, and PostgreSQL's plans can change what a statement does
    (a LIMIT ... FOR UPDATE SKIP LOCKED subquery rescanned in a nested loop), so then the whole
    database is truncated as before."""

    tables: list[str]
    sequences: list[tuple[str, int]]

    def clean(self, db: Database) -> None:
        with db.engine.begin() as conn:
            stale = conn.execute(
                text(
                    "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname = ANY(:t) "
                    "AND (reltuples >= 0 OR pg_relation_size(oid) > :pages * 8192)"
                ),
                {"t": self.tables, "pages": _MAX_DEAD_PAGES},
            ).scalar_one()
            if stale:
                names = ", ".join(f'"{t}"' for t in self.tables)
                conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
                return
            conn.exec_driver_sql(
                "".join(f'DELETE FROM "{t}";' for t in self.tables)
                + "".join(f"SELECT setval('{q}', {start}, false);" for q, start in self.sequences)
            )


_MAX_DEAD_PAGES = 8


def _clean_pg_sql(db: Database) -> _PgCleaner:
    """The tables, children first, and the sequences they own with their start values."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.connect() as conn:
        sequences = conn.execute(
            text(
                "SELECT s.oid::regclass::text, q.seqstart FROM pg_class s "
                "JOIN pg_sequence q ON q.seqrelid = s.oid "
                "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
                "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
                "JOIN pg_class t ON t.oid = d.refobjid "
                "WHERE s.relkind = 'S' AND t.relname = ANY(:tables)"
            ),
            {"tables": tables},
        ).all()
    return _PgCleaner(tables, [(str(q), int(start)) for q, start in sequences])


def _truncate_pg(db: Database) -> None:
    _CLEAN_PG[db.url].clean(db)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """A migrated, empty PostgreSQL database alone, for tests of what only a database server
    does (dropped connections, several server processes)."""
    database = Database(pg_url)
    _truncate_pg(database)
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each engine; every test starts clean."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "acuhead.sqlite3"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_url"))
        _truncate_pg(database)
    yield database
    database.dispose()


# Modules whose tests each take tens of seconds (live servers, 30 s trickles, 1,000 writes,
# schema fuzzing). They run first: xdist then balances the two workers with the many short
# tests that follow, instead of one worker finishing a minute-long test alone at the end.
_LONG_FIRST = (
    "test_reliability.py",
    "test_fuzz.py",
    "test_request_bodies.py",
    "test_concurrency.py",
    "test_authorization_matrix.py",
    "test_event_loop.py",
    "test_report_paths.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return _LONG_FIRST.index(name) if name in _LONG_FIRST else len(_LONG_FIRST)

    items.sort(key=rank)  # stable: every other test keeps its place
