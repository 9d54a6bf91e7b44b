"""Backups that can be restored: SQLite through its online backup API (consistent while the
app keeps writing), PostgreSQL through ``pg_dump``/``pg_restore`` in custom format."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from acuhead.errors import AcuheadError
from acuhead.store.db import Database


class BackupError(AcuheadError):
    pass


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return [*args, "-d", u.database or ""], env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools")
    return path


def backup(db: Database, target: Path) -> Path:
    """Write a complete copy of the database to ``target`` (a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if db.is_sqlite:
        source_path = make_url(db.url).database
        if not source_path:
            raise BackupError("an in-memory database cannot be backed up")
        tmp = target.with_suffix(target.suffix + ".partial")
        src = sqlite3.connect(source_path)
        dst = sqlite3.connect(tmp)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
        tmp.replace(target)  # never leave a half-written backup under the final name
        return target
    args, env = _pg_args(db.url)
    tmp = target.with_suffix(target.suffix + ".partial")
    result = subprocess.run(  # noqa: S603 - fixed tool, arguments from our own settings
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(tmp), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    tmp.replace(target)
    return target


def restore(db: Database, source: Path) -> None:
    """Replace the database's contents with a backup made by :func:`backup`."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if db.is_sqlite:
        target_path = make_url(db.url).database
        if not target_path:
            raise BackupError("cannot restore into an in-memory database")
        db.dispose()
        src = sqlite3.connect(source)
        dst = sqlite3.connect(target_path)
        try:
            if src.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{source} is not a sound SQLite database")
            with dst:
                src.backup(dst)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from None
        finally:
            dst.close()
            src.close()
        return
    db.dispose()
    args, env = _pg_args(db.url)
    result = subprocess.run(  # noqa: S603
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            *args,
            str(source),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")
