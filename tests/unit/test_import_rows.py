"""An import's rows are turned into the driver's values as SQLAlchemy's own column types would
turn them (issue 13 item 5): the faster date-time text for SQLite is the same text."""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Callable
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types.json import Json
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from acuhead.gcpause import cycle_collection_paused
from acuhead.store.bulk import _datetime_text, json_text_columns

SQLITE = cast(Callable[[Any], Any], DateTime()._cached_bind_processor(sqlite.dialect()))
values = (
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31))
    | st.datetimes(timezones=st.sampled_from([dt.UTC, ZoneInfo("Europe/Berlin")]))
    | st.dates()
)


@settings(deadline=None)
@given(st.lists(values, min_size=1, max_size=6))
def test_sqlite_date_time_text_is_sqlalchemys(found: list[dt.date]) -> None:
    fast = _datetime_text(SQLITE)
    for value in [*found, *found]:  # each twice: the second may come from the last answer
        assert fast(value) == SQLITE(value)
    assert fast(None) is None


def test_the_repeated_recording_time_is_written_once() -> None:
    calls: list[Any] = []

    def proc(value: Any) -> Any:
        calls.append(value)
        return SQLITE(value)

    fast = _datetime_text(proc)
    calls.clear()  # the sample it checked itself against
    now = dt.datetime(2026, 12, 6, 21, 0, 0, 5, tzinfo=dt.UTC)  # aware: through ``proc``
    assert [fast(now) for _ in range(3)] == [SQLITE(now)] * 3
    assert calls == [now]


def test_the_collector_is_paused_while_imports_run_and_back_after_the_last() -> None:
    """Two imports overlapping on worker threads, the first ending first; then one that
    raises. The collector runs again after the last (issue 13 item 5)."""
    assert gc.isenabled()
    first = cycle_collection_paused()
    second = cycle_collection_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second import is still reading
    second.__exit__(None, None, None)
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cycle_collection_paused():
        raise RuntimeError("a bad file")
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    gc.disable()
    try:
        with cycle_collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


json_values = st.none() | st.lists(st.sampled_from(["frontal", "temporal", "pressing", "é"]))


@settings(deadline=None)
@given(st.lists(st.tuples(json_values, json_values, st.integers()), min_size=1, max_size=8))
def test_copy_writes_each_json_value_as_its_json_text(rows: list[tuple[Any, ...]]) -> None:
    """The COPY rows for PostgreSQL carry JSON columns as JSON text, the same text as
    ``json.dumps`` of each value (repeated lists share one text); other columns pass as they
    are, and a table without JSON columns needs no conversion."""
    convert = json_text_columns("attacks", ("locations", "quality", "peak_intensity"))
    assert convert is not None
    for row in rows:
        got = convert(row)
        want = (*(None if v is None else json.dumps(v) for v in row[:2]), row[2])
        assert got == want
    assert json_text_columns("attacks", ("start_local", "peak_intensity")) is None


def test_copy_unwraps_values_the_bind_step_wrapped_for_the_driver() -> None:
    """SQLAlchemy's PostgreSQL JSON bind step hands psycopg ``Json`` wrappers; COPY gets the
    wrapped value's JSON text, as psycopg itself would have written it."""
    convert = json_text_columns("attacks", ("locations", "quality", "peak_intensity"))
    assert convert is not None
    assert convert((Json(["frontal"]), Json({"a": 1}), 5)) == ('["frontal"]', '{"a": 1}', 5)
