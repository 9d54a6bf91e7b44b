"""Paged listings (store/paging.py) on both engines: a page is cut at MAX_PAGE whatever is
asked, in the order given, and carries the total of the whole listing."""

from __future__ import annotations

from sqlalchemy import insert, select

from acuhead.store.db import Database
from acuhead.store.models import LoginAttempt, utcnow
from acuhead.store.paging import MAX_PAGE, page_of, page_of_rows


def _rows(db: Database, n: int) -> None:
    now = utcnow()
    with db.write() as session:
        session.execute(
            insert(LoginAttempt), [{"key_hash": f"{i:064d}", "at_utc": now} for i in range(n)]
        )


def test_a_page_is_cut_at_the_maximum_and_says_the_total(db: Database) -> None:
    _rows(db, MAX_PAGE + 2)
    with db.read() as session:
        stmt = select(LoginAttempt.key_hash)
        first, total = page_of(session, stmt, LoginAttempt.key_hash, limit=10**6, offset=0)
        rest, again = page_of(session, stmt, LoginAttempt.key_hash, limit=10**6, offset=MAX_PAGE)
    assert (len(first), total, again) == (MAX_PAGE, MAX_PAGE + 2, MAX_PAGE + 2)
    assert first[:2] == [f"{0:064d}", f"{1:064d}"]
    assert rest == [f"{MAX_PAGE:064d}", f"{MAX_PAGE + 1:064d}"]


def test_rows_of_several_columns_page_in_the_order_given(db: Database) -> None:
    _rows(db, 5)
    with db.read() as session:
        stmt = select(LoginAttempt.key_hash, LoginAttempt.at_utc)
        rows, total = page_of_rows(session, stmt, LoginAttempt.key_hash.desc(), limit=2, offset=1)
        past, still = page_of_rows(session, stmt, LoginAttempt.id, limit=2, offset=9)
    assert total == still == 5
    assert [r.key_hash for r in rows] == [f"{3:064d}", f"{2:064d}"]
    assert past == []
