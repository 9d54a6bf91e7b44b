"""Pausing Python's cyclic garbage collector while a bulk step builds millions of objects.

Shared by the import's steps (`services.imports`) and the demo's bulk count of day units
(`store.day_units.rows_from_insert_dicts`, in the registry build's worker processes).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_gc_lock = threading.Lock()
_gc_pauses = 0  # imports in step 1 now (several may run at once, on worker threads)
_gc_was_enabled = True


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an import (or a demo chunk's day-unit
    count) builds its objects.

    Reading a 100,000-attack file makes millions of dicts, lists, attacks and rows that all
    live until step 1 ends; every few thousand new objects the collector walks them all again,
    looking for reference cycles that this code does not make (reference counting frees the
    rest). That walking was about a third of step 1 (4.1 against 5.9 CPU s in one measurement,
    issue 13 item 5). The pause is process-wide, so it is counted: the collector runs again
    when the last import in step 1 ends (as it was before the first began), raised or not.
    A registry build's worker spent 10-25 % of its count of day units in the collector
    (classify-speed, issue 17).
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
