"""Engines and transactions for SQLite (embedded default) and PostgreSQL (multi-clinic).

SQLite gets WAL, foreign keys and a busy timeout on every connection, and writes go through
one writer at a time: a process-wide lock plus ``BEGIN IMMEDIATE`` so a write transaction
takes the database write lock up front instead of failing with "database is locked" when it
upgrades from a read. Reads run concurrently from the pool.

A read-only transaction may still have one row to write: the audit row saying who read what.
Taking the single SQLite writer for it would serialise every read behind every write, so such
rows go to :class:`DeferredInserts` and are written shortly after, many per transaction.
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from acuhead.store.models import Patient

log = logging.getLogger("acuhead.store")

_WRITE_FLAG = "acuhead_write"
# Key in ``Session.info`` of a read-only session: the :class:`DeferredInserts` its few
# bookkeeping rows (read audits) go to, since the session itself never commits.
DEFERRED_INSERTS = "acuhead.deferred_inserts"

BatchHook = Callable[[Session, list[dict[str, Any]]], None]
T = TypeVar("T")

# PostgreSQL connections per server process: the pool and what it may open beyond it. With
# several processes (``acuhead serve --workers``) the server must allow all of them.
POOL_SIZE, POOL_OVERFLOW = 20, 20

# Pages of write-ahead log after which a commit checkpoints by itself (SQLite's default is
# 1000): only when the background Checkpointer has fallen this far behind.
SQLITE_AUTOCHECKPOINT_PAGES = 10_000


# A write the database refused for a transient reason is run again this many times in all,
# after a random pause of up to RETRY_PAUSE * 2**attempt seconds (jitter, so the writers that
# collided do not collide again in step).
RETRY_ATTEMPTS = 4
RETRY_PAUSE = 0.005

# PostgreSQL: serialization failure, deadlock detected, lock not available; unique violation,
# which a fresh attempt re-reads and then answers properly (e.g. a conflict naming the record).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "23505"})


def is_transient(exc: BaseException) -> bool:
    """Whether the same transaction, run again, may well succeed (see ``Database.transact``)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    # SQLite: another process held the write lock past the busy timeout.
    return type(orig).__name__ == "OperationalError" and "database is locked" in str(orig)


class Database:
    """One engine, a session factory for reads and a serialised one for writes."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.is_memory = False
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            path = make_url(url).database
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            self.is_memory = not path or path == ":memory:"
            if path and not self.is_memory:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                # One pooled connection per worker thread that may read at once (anyio's
                # 40): past the pool, SQLAlchemy opens and closes a connection (and runs its
                # pragmas) per checkout, which under load cost more than the query.
                kwargs.update(pool_size=40, max_overflow=20)
        else:
            # No ping before each checkout: it was one more round trip on every request, and a
            # round trip is what a request waits for most under load (benchmarks/load.py).
            # A connection the server dropped (a restart) fails its first statement instead;
            # SQLAlchemy then discards every pooled connection made before that moment, and
            # the request answers 503 "try again" (web/app.py), so a restart costs each
            # server process one refused request, not one per pooled connection.
            kwargs.update(
                pool_size=POOL_SIZE,
                max_overflow=POOL_OVERFLOW,
                connect_args={
                    # Fail fast when the server is unreachable rather than after minutes,
                    # and let TCP notice a connection a proxy or NAT dropped while idle.
                    "connect_timeout": 10,
                    "keepalives": 1,
                    "keepalives_idle": 60,
                    "keepalives_interval": 10,
                    "keepalives_count": 3,
                },
            )
        # hide_parameters: a database error's message would otherwise carry the statement's
        # values (diary notes, names, e-mails) into the logs.
        self.engine: Engine = create_engine(url, hide_parameters=True, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(**{_WRITE_FLAG: True})
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL runs READ COMMITTED, where each statement of a transaction takes its own
        # snapshot anyway: a read gains nothing from BEGIN and ROLLBACK but two round trips.
        self._autocommit_reader = (
            self._reader
            if self.is_sqlite
            else sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
        )
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        self._write_lock = threading.Lock()
        self.deferred = DeferredInserts(self)
        self.checkpointer = Checkpointer(self)

    @contextmanager
    def read(self, *, autocommit: bool = False) -> Iterator[Session]:
        """A read-only session; rows it must still record (read audits) are deferred.

        ``autocommit``: on PostgreSQL, no transaction around the statements (no BEGIN and
        ROLLBACK round trips; each statement sees its own snapshot, as under READ COMMITTED
        anyway). Only for code that never writes through the session, since a write would
        commit at once. SQLite keeps its transaction (one snapshot for all statements).
        """
        with (self._autocommit_reader if autocommit else self._reader)() as session:
            session.info[DEFERRED_INSERTS] = self.deferred
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception."""
        if self.is_sqlite:
            with self._write_lock, self._writer() as session, session.begin():
                yield session
            self.checkpointer.poke()
        else:
            with self._writer() as session, session.begin():
                yield session

    def transact(self, work: Callable[[Session], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
        """``work(session)`` in a write transaction, run again (at most ``attempts`` times in
        all, after a short random pause that doubles each time) when the database refused it
        for a reason another attempt may not meet (:func:`is_transient`). ``work`` must be
        safe to run again: everything it wrote was rolled back."""
        attempt = 1
        while True:
            try:
                with self.write() as session:
                    return work(session)
            except DBAPIError as exc:
                if attempt >= attempts or not is_transient(exc):
                    raise
            log.info("transaction retried after a transient conflict (attempt %d)", attempt)
            time.sleep(random.uniform(0, RETRY_PAUSE * 2**attempt))  # noqa: S311 - jitter
            attempt += 1

    def warm(self, connections: int) -> None:
        """Open ``connections`` pooled connections now, at start-up, rather than during the
        first requests: a new PostgreSQL connection costs a server process and several round
        trips, and the first burst of requests paid 100-170 ms each for it
        (benchmarks/load.py). They stay in the pool (``pool_size`` is larger)."""
        held = []
        try:
            for _ in range(connections):
                held.append(self.engine.connect())
        finally:
            for conn in held:
                conn.close()

    def dispose(self) -> None:
        """Write the deferred rows, then close every pooled connection."""
        self.deferred.stop()
        self.checkpointer.stop()
        self.engine.dispose()


class DeferredInserts:
    """Rows written a moment after the read-only transaction that produced them, in batches.

    Read audits come here. Written at once, each read would need the database's single write
    lock (SQLite) and a commit of its own, so reads would queue behind writes. A background
    thread instead inserts what has gathered, at most ``delay`` seconds after the first row,
    in one write transaction (about twenty rows per commit at 100 reads a second).

    Durability trade-off, accepted for read audits only: a row is lost if the process dies
    (SIGKILL, power loss) within ``delay`` of the read, or if its write keeps failing until the
    process exits. A clean stop (``stop()``: server shutdown, ``Database.dispose``, interpreter
    exit) writes everything pending. Rows of a write transaction (a change and its audit) never
    come here: they commit with the change, before the client is answered. The queue is
    bounded: past ``limit`` pending rows the caller writes them itself rather than drop any.
    """

    hooks: ClassVar[dict[str, BatchHook]] = {}
    _instances: ClassVar[weakref.WeakSet[DeferredInserts]] = weakref.WeakSet()

    def __init__(
        self, db: Database, *, delay: float = 0.2, batch: int = 500, limit: int = 20_000
    ) -> None:
        self._db = db  # a strong reference: queued rows outlive whoever dropped the Database
        self.delay, self.batch, self.limit = delay, batch, limit
        self._rows: list[tuple[Table, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._flushing = threading.Lock()  # one flush at a time keeps rows in order
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.idle = 10.0  # seconds without rows before the thread ends
        DeferredInserts._instances.add(self)

    @classmethod
    def register(cls, table: str, hook: BatchHook) -> None:
        """Run ``hook(session, rows)`` on each batch for ``table`` inside the transaction that
        inserts it (e.g. to unlink rows from records erased since they were queued)."""
        cls.hooks[table] = hook

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._rows)

    def add(self, table: Table, row: dict[str, Any]) -> None:
        with self._cond:
            self._rows.append((table, row))
            pending = len(self._rows)
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="acuhead-deferred-inserts", daemon=True
                )
                self._thread.start()
            elif pending >= self.batch:
                self._cond.notify_all()
        if pending >= self.limit:  # the writer is stuck or far behind: push back
            self.flush()

    def flush(self) -> int:
        """Write every row queued so far, now, in one transaction; returns how many."""
        db = self._db
        with self._flushing:
            with self._cond:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                with db.write() as session:
                    by_table: dict[Table, list[dict[str, Any]]] = {}
                    for table, row in rows:
                        by_table.setdefault(table, []).append(row)
                    for table, batch in by_table.items():
                        hook = self.hooks.get(table.name)
                        if hook is not None:
                            hook(session, batch)
                        session.execute(insert(table), batch)
            except BaseException:
                with self._cond:  # keep them, in order, for the next attempt
                    self._rows[:0] = rows
                raise
            return len(rows)

    def stop(self) -> None:
        """Write what is pending and end the background thread (a later add starts one)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._rows and not self._stopping:
                    self._cond.wait(timeout=self.idle)
                if self._stopping or not self._rows:  # stopped, or idle: a later add restarts
                    self._thread = None
                    return
                self._cond.wait_for(
                    lambda: self._stopping or len(self._rows) >= self.batch, timeout=self.delay
                )
            try:
                self.flush()
            except Exception:
                log.exception("deferred inserts failed; retrying in 1 s")
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=1.0)


class Checkpointer:
    """Copies SQLite's write-ahead log into the database file from a background thread.

    SQLite's automatic checkpoint runs inside the commit that fills the log past a threshold,
    while that writer holds the write lock, and ends with fsync: on a busy disk one commit
    took 200-600 ms and every writer queued behind it (benchmarks/load.py). Here a PASSIVE
    checkpoint, which neither waits for nor blocks readers and writers, runs about once a
    ``interval`` after writes; the in-commit checkpoint stays only as a safety net for when
    this one falls behind (``SQLITE_AUTOCHECKPOINT_PAGES``).

    Durability is unchanged by this (see ``_configure_sqlite``): a commit returns once its log
    frames are written, so an acknowledged write survives the process being killed; with
    ``synchronous=NORMAL`` the log is fsynced at checkpoints, so an operating-system crash or
    power loss can lose the writes since the last one (about ``interval``).
    """

    def __init__(self, db: Database, *, interval: float = 1.0) -> None:
        self._db = weakref.ref(db)
        self.interval = interval
        self._cond = threading.Condition()
        self._dirty = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        """A write committed: checkpoint within ``interval``."""
        db = self._db()
        if db is None or not db.is_sqlite or db.is_memory:
            return
        with self._cond:
            self._dirty = True
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="acuhead-checkpoint", daemon=True
                )
                self._thread.start()

    def checkpoint(self) -> None:
        db = self._db()
        if db is None:
            return
        raw = db.engine.raw_connection()  # autocommit (see _on_connect): no open transaction
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cur.close()
        finally:
            raw.close()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def _run(self) -> None:
        idle = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping, timeout=self.interval)
                dirty, self._dirty = self._dirty, False
                idle = 0 if dirty else idle + 1
                if self._stopping or idle > 30:  # a later write starts a new thread
                    self._thread = None
                    return
            if dirty:
                try:
                    self.checkpoint()
                except Exception:
                    log.exception("background checkpoint failed")


@atexit.register
def _flush_all_at_exit() -> None:
    for deferred in list(DeferredInserts._instances):
        try:
            deferred.stop()
        except Exception:
            log.exception("deferred inserts lost at exit")


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
        # Durable against a crash of this process (every acknowledged write survives
        # SIGKILL: the crash-safety test); an OS crash or power loss may lose the commits
        # since the last checkpoint (see Checkpointer), which fsyncs the log.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        # Checkpoints run in the background (Checkpointer); the in-commit one only when the
        # log has grown this far regardless, and the log file is cut back after a reset.
        cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA journal_size_limit=67108864")
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


def lock_patient(session: Session, patient_id: int) -> None:
    """Serialise the diary writes of one patient: call first, before reading or writing any
    of that patient's diary rows.

    A diary change rewrites derived rows (``day_units``) computed from everything recorded on
    the dates it touches. Two writers of one patient under READ COMMITTED would each compute
    them without the other's change, and the second to insert them failed on their unique
    key: half of 50 concurrent new attacks on one day answered 409 (issue 13). Holding the
    patient's row makes the second wait and then read the first's committed rows. ``FOR NO
    KEY UPDATE`` does not conflict with the key-share locks that inserting a child row takes,
    so two writers that both inserted first cannot deadlock on it. SQLite admits one writer
    at a time already. Other patients' writes do not wait.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_PATIENT, {"pid": patient_id})


_LOCK_PATIENT = (
    select(Patient.id).where(Patient.id == bindparam("pid")).with_for_update(key_share=True)
)
