"""Engines and transactions for SQLite (embedded default) and PostgreSQL (multi-clinic).

SQLite gets WAL, foreign keys and a busy timeout on every connection, and writes go through
one writer at a time: a process-wide lock plus ``BEGIN IMMEDIATE`` so a write transaction
takes the database write lock up front instead of failing with "database is locked" when it
upgrades from a read. Reads run concurrently from the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_WRITE_FLAG = "acuhead_write"


class Database:
    """One engine, a session factory for reads and a serialised one for writes."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(**{_WRITE_FLAG: True})
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        self._write_lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception."""
        if self.is_sqlite:
            with self._write_lock, self._writer() as session, session.begin():
                yield session
        else:
            with self._writer() as session, session.begin():
                yield session

    def dispose(self) -> None:
        self.engine.dispose()


def concurrent_reader(bind: Engine | Connection) -> Connection:
    """A fresh connection for a read that runs beside the caller's own transaction (one part of
    a parallel scan). It begins a plain read even when ``bind`` is the writer engine, so on
    SQLite it never waits for the write lock the caller may hold (WAL readers do not block)."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    return engine.connect().execution_options(**{_WRITE_FLAG: False})


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so BEGIN IMMEDIATE can be emitted.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_WRITE_FLAG):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("acuhead.store") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` through Alembic (the only way the schema changes)."""
    from alembic import command

    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def lock_for_update(session: Any, row: Any) -> None:
    """Re-read ``row`` under a row lock (``SELECT … FOR UPDATE`` on PostgreSQL) so a version
    check and the update that follows cannot interleave with another transaction's (no lost
    update under READ COMMITTED). SQLite already admits one writer at a time."""
    session.refresh(row, with_for_update=True)
