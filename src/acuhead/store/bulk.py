"""Rows written in bulk, below the engines' limits: COPY on PostgreSQL, a prepared INSERT per
row on SQLite, values already in the driver's form.

A large diary import (issue 13 item 5: 100,000 attacks in one all-or-nothing transaction) and
the demo registry build (issue 17) write hundreds of thousands of rows; going through the ORM or
SQLAlchemy's per-row bind step was most of their write time, and one multi-row INSERT ran past
PostgreSQL's 65,535 bind parameters. Row-level code only: callers have checked the actor and
hold the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from acuhead.store.models import Base

# Bind parameters in one statement: below SQLite's 32,766 (the lower of the two limits; the
# PostgreSQL protocol allows 65,535), with room for the statement's own parameters.
MAX_BIND_PARAMS = 30_000
T = TypeVar("T")


def chunks(rows: Sequence[T], params_per_row: int) -> Iterator[Sequence[T]]:
    """``rows`` in slices whose statements stay under :data:`MAX_BIND_PARAMS`."""
    size = max(1, MAX_BIND_PARAMS // max(1, params_per_row))
    for lo in range(0, len(rows), size):
        yield rows[lo : lo + size]


def converter(session: Session, table: str, columns: Sequence[str]) -> Any:
    """Turn a row of Python values into the driver's values, as SQLAlchemy's column types would
    (SQLite keeps date-times as text and JSON as text), so rows can go to the driver directly.

    The lists of a JSON column repeat from row to row (``["temporal"]``, ``[]``), so each
    distinct one is serialised once: that was a second per 100,000 attacks."""
    dialect = session.get_bind().dialect
    t = Base.metadata.tables[table]
    steps = []
    for i, name in enumerate(columns):
        column_type = t.c[name].type
        proc = column_type._cached_bind_processor(dialect)
        if proc is None:
            continue
        if isinstance(column_type, JSON):
            steps.append((i, _once_per_list(proc)))
        elif isinstance(column_type, DateTime):
            steps.append((i, _datetime_text(proc)))
        else:
            steps.append((i, proc))
    if not steps:
        return tuple

    def convert(values: Sequence[Any]) -> tuple[Any, ...]:
        row = list(values)
        for i, proc in steps:
            if row[i] is not None:
                row[i] = proc(row[i])
        return tuple(row)

    return convert


def _once_per_list(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` remembering its answer for each list of strings (other values: asked each
    time, since e.g. ``[1]`` and ``[True]`` are equal keys but different JSON)."""
    seen: dict[tuple[str, ...], Any] = {}

    def process(value: Any) -> Any:
        if not (isinstance(value, list) and all(type(x) is str for x in value)):
            return proc(value)
        key = tuple(value)
        if key not in seen:
            seen[key] = proc(value)
        return seen[key]

    return process


def _datetime_text(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's DateTime bind processor (text ``YYYY-MM-DD HH:MM:SS.ffffff``) for naive values
    through ``datetime.isoformat``, which writes the same text in C at less than half the cost
    (a 100,000-attack import binds ~570,000 of them); the row's recording time, one value for
    every row, is written once. Other values, and any dialect whose text differs, go to
    ``proc`` itself."""
    sample = dt.datetime(2001, 2, 3, 4, 5, 6, 7)
    if proc(sample) != sample.isoformat(" ", "microseconds"):
        return proc
    last: list[Any] = [None, None]

    def process(value: Any) -> Any:
        if value is last[0]:
            return last[1]
        if type(value) is dt.datetime and value.tzinfo is None:
            text_ = value.isoformat(" ", "microseconds")
        else:
            text_ = proc(value)
        last[0], last[1] = value, text_
        return text_

    return process


def bulk_insert(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    json_as_text: bool = False,
    binary: bool = True,
    offsets: Mapping[str, int] | None = None,
) -> None:
    """Insert rows of driver values: COPY on PostgreSQL (no bind parameters at all), on SQLite
    one prepared INSERT executed per row, in slices under the bind-parameter limit.
    ``json_as_text``: the rows' JSON values are JSON text already (PostgreSQL). ``binary=False``:
    the rows hold dates and times as text (SQLite's driver values, as the demo builds them),
    which only a text COPY reads. ``offsets``: column -> a whole number added to that column's
    non-null values as they are written (ids numbered from 1 in a demo chunk, moved to their
    place): on SQLite by the INSERT itself (``? + n``), on PostgreSQL to each row here."""
    if not rows:
        return
    conn = session.connection()
    cols = ", ".join(columns)
    shift = {columns.index(c): int(n) for c, n in (offsets or {}).items() if n}
    if conn.dialect.name == "postgresql":
        rows = _shifted(rows, shift)
        raw: Any = conn.connection.driver_connection
        to_text = None if json_as_text else json_text_columns(table, columns)
        types = binary_copy_types(table, columns) if BINARY_COPY and binary else None
        fmt = " (FORMAT BINARY)" if types else ""
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN{fmt}") as copy:
            if types:
                copy.set_types(types)
            if to_text:
                for row in rows:
                    copy.write_row(to_text(row))
            else:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join(f"? + {shift[i]}" if i in shift else "?" for i in range(len(columns)))
    sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608 - constants only
    for part in chunks(rows, len(columns)):
        conn.exec_driver_sql(sql, list(part))


def _shifted(rows: Sequence[tuple[Any, ...]], by: Mapping[int, int]) -> Sequence[tuple[Any, ...]]:
    """``rows`` with the values at the positions in ``by`` raised by its offsets (None stays)."""
    if not by:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for i, offset in by.items():
            if values[i] is not None:
                values[i] += offset
        out.append(tuple(values))
    return out


# COPY in PostgreSQL's binary form: psycopg writes each value's bytes in C instead of text
# (dates, times and numbers), and the server reads them without parsing text.
BINARY_COPY = True
_BINARY_TYPES: tuple[tuple[type[Any], str], ...] = (
    (BigInteger, "int8"),  # before Integer, its base class
    (SmallInteger, "int2"),
    (Integer, "int4"),
    (Boolean, "bool"),
    (Float, "float8"),
    (Date, "date"),
    (Text, "text"),
    (String, "text"),  # varchar(n) reads the text form, its length checked as in text COPY
    (JSON, "text"),  # json's binary form is its text (jsonb's is not: not taken here)
)


def binary_copy_types(table: str, columns: Sequence[str]) -> list[str] | None:
    """The type each column's values are written as in a binary COPY, or None (text COPY)
    when a column has a type not listed here, a time with a zone, or jsonb."""
    found = Base.metadata.tables[table].columns
    types = []
    for name in columns:
        column_type = found[name].type
        if isinstance(column_type, DateTime):
            if column_type.timezone:
                return None
            types.append("timestamp")
            continue
        if isinstance(column_type, JSONB):
            return None
        for kind, pg_name in _BINARY_TYPES:
            if isinstance(column_type, kind):
                types.append(pg_name)
                break
        else:
            return None
    return types


_DRIVER_JSON = frozenset({"Json", "Jsonb"})  # psycopg's wrappers of a value to dump as JSON


def json_text_columns(
    table: str, columns: Sequence[str]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """For COPY: a row's JSON values as JSON text (None: the table has no JSON column).

    psycopg would dump each list through ``json.dumps`` on its own; the lists of an import
    repeat (an attack's locations, quality, triggers), so each distinct one is written once
    and the text reused: a third of the PostgreSQL write step for 100,000 attacks (issue 13
    item 5). The server parses the text into the column as it parses psycopg's."""
    found = Base.metadata.tables[table].columns
    at = [i for i, c in enumerate(columns) if isinstance(found[c].type, JSON)]
    if not at:
        return None
    texts: dict[tuple[Any, ...], str] = {}

    def dump(value: Any) -> Any:
        if type(value).__name__ in _DRIVER_JSON:  # SQLAlchemy's bind step wrapped it already
            value = value.obj
        if type(value) is list and all(type(v) is str for v in value):
            key = tuple(value)
            text_ = texts.get(key)
            if text_ is None:
                text_ = texts[key] = json.dumps(value)
            return text_
        if type(value) is list or type(value) is dict:
            return json.dumps(value)
        return value  # None

    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(row)
        for i in at:
            out[i] = dump(out[i])
        return tuple(out)

    return convert


def secondary_indexes(session: Session, tables: Sequence[str]) -> list[tuple[str, str]]:
    """The indexes of ``tables`` that back no constraint (no primary key, no unique
    constraint), as (name, the DDL the database keeps for it), in name order."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                "format('%I.%I', i.schemaname, i.indexname)::regclass) "
                "ORDER BY i.indexname"
            ),
            {"tables": list(tables)},
        )
    else:
        # sqlite_master keeps the CREATE INDEX text as it was written; the indexes SQLite
        # makes for a constraint itself have none.
        marks = ", ".join(f":t{i}" for i in range(len(tables)))
        rows = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "  # noqa: S608
                f"AND tbl_name IN ({marks}) AND sql IS NOT NULL ORDER BY name"
            ),
            {f"t{i}": t for i, t in enumerate(tables)},
        )
    return [(str(name), str(ddl)) for name, ddl in rows]


@contextmanager
def indexes_deferred(
    session: Session, tables: Sequence[str], only: Collection[str] | None = None
) -> Iterator[None]:
    """Load ``tables`` without keeping their secondary indexes up to date row by row: they are
    dropped here and made again, from the very DDL the database kept for them, when the block
    ends; all in the caller's transaction (DDL is transactional on both engines), so a failure
    rolls the drop back with the rows and the schema is never left without them.

    An index built once over sorted keys costs a fraction of millions of inserts into it at
    scattered places (a diary's ``(clinic_id, day)``: issue 17, the registry build). Meant for
    tables that start empty; the unique and primary-key indexes stay (they check the rows).
    ``only``: these of them (by name) and no others."""
    found = [
        (name, ddl)
        for name, ddl in secondary_indexes(session, tables)
        if only is None or name in only
    ]
    conn = session.connection()
    for name, _ddl in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _name, ddl in found:
        conn.exec_driver_sql(ddl)


@contextmanager
def foreign_keys_deferred(session: Session, tables: Sequence[str]) -> Iterator[None]:
    """PostgreSQL: load ``tables`` with their foreign keys dropped, then add them again from
    their own definitions (``pg_get_constraintdef``, same names) when the block ends, in the
    caller's transaction. Adding a foreign key checks every row at once, with one join; kept
    during the load, each row fired its own trigger and lookup, which was most of the server's
    CPU in a registry build (issue 17). A row without its parent still fails the transaction,
    at the end instead of at its COPY. SQLite checks its foreign keys in the insert itself,
    cheaply, and cannot drop one without rebuilding the table: left as it is there."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        yield
        return
    found = [
        (str(table), str(name), str(definition))
        for table, name, definition in conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'f' "
                "AND conrelid = ANY(CAST(:tables AS regclass[])) ORDER BY conrelid, conname"
            ),
            {"tables": list(tables)},
        )
    ]
    for table, name, _definition in found:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for table, name, definition in found:
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
