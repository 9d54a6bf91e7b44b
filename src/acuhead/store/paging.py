"""Paged listings: one page of rows and how many there are in all.

Every list the API and pages offer is cut the same way (``limit`` at most :data:`MAX_PAGE`,
then ``offset``), and says its total so a client knows whether to ask for the next page. The
use cases in ``services`` build the filtered statement (after their access checks) and hand it
here; the busiest one, the diary days, keeps a prepared statement of its own
(``services.diary.list_days``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

MAX_PAGE = 500  # rows a single request may ask for

T = TypeVar("T")
Order = ColumnElement[Any] | InstrumentedAttribute[Any]  # a column, or one with .desc()


def _total(session: Session, stmt: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _cut(stmt: Select[Any], order: tuple[Order, ...], limit: int, offset: int) -> Select[Any]:
    return stmt.order_by(*order).limit(min(limit, MAX_PAGE)).offset(offset)


def page_of(
    session: Session,
    stmt: Select[tuple[T]],
    *order: Order,
    limit: int,
    offset: int,
) -> tuple[list[T], int]:
    """One page of the single entity ``stmt`` selects, in ``order``, and the total."""
    total = _total(session, stmt)
    return list(session.scalars(_cut(stmt, order, limit, offset))), total


def page_of_rows(
    session: Session,
    stmt: Select[Any],
    *order: Order,
    limit: int,
    offset: int,
) -> tuple[list[Row[Any]], int]:
    """As :func:`page_of` for a statement of several columns: the rows as tuples."""
    total = _total(session, stmt)
    return list(session.execute(_cut(stmt, order, limit, offset)).all()), total
