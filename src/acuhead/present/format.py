"""Numbers, shares and intervals as people read them: one module for the pages, the practice
report (HTML) and the physician letter, so one figure is never written two ways.

Two styles, each for a reason:

* **compact** (:func:`num`, :func:`signed`, :func:`percent`, :func:`interval`) for the
  clinician's panel: one decimal by default, trailing zeros dropped, a typographic minus. Rates
  per 28 days are means of whole days: more digits would claim a precision the diary does not
  have.
* **fixed** (:func:`fixed`, :func:`percent1`, :func:`ci_range`) for the practice report's
  tables: a fixed number of decimals so columns line up, cohort figures with two decimals.
  These return HTML-escaped text (a stray value in a label cannot become markup).

Unknown values are an en dash everywhere. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

MINUS = "\u2212"
DASH = "\u2013"
NBSP = "\u00a0"


# --------------------------------------------------------------------------- compact


def num(value: float | None, digits: int = 1) -> str:
    """``1.5``, ``−0.5``, ``–`` for unknown (a typographic minus, never a hyphen)."""
    if value is None:
        return DASH
    text = f"{value:.{digits}f}"
    if digits and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "0"):
        return "0"
    return text.replace("-", MINUS)


def signed(value: float | None, digits: int = 1) -> str:
    """A change: ``+1.5``, ``−2``, ``0``, ``–``."""
    text = num(value, digits)
    return "+" + text if value is not None and text not in ("0", DASH) and value > 0 else text


def percent(share: float | None) -> str:
    """``96 %`` with a no-break space, so a narrow table cell never splits it."""
    return DASH if share is None else f"{round(share * 100)}{NBSP}%"


def level_text(level: float) -> str:
    """The coverage of an interval, ``95 %``."""
    return f"{round(level * 100)} %"


def interval(low: float | None, high: float | None, level: float, digits: int = 2) -> str:
    """``95 % CI 0.1 to 0.9``, or "" when either bound is unknown."""
    if low is None or high is None:
        return ""
    return f"{level_text(level)} CI {num(low, digits)} to {num(high, digits)}"


# --------------------------------------------------------------------------- fixed (report)


def fixed(value: object, digits: int = 2) -> str:
    """A table cell: floats with ``digits`` decimals, whole numbers as they are, yes/no for a
    flag, ``–`` for unknown; any other value as escaped text."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def percent1(share: float | None) -> str:
    """A share with one decimal, ``12.5 %``; ``–`` for unknown."""
    return DASH if share is None else f"{share * 100:.1f} %"


def ci_range(low: float | None, high: float | None, *, percent: bool = False) -> str:
    """``0.12 to 0.80`` (or as shares, ``12.0 % to 80.0 %``); ``–`` when a bound is unknown."""
    if low is None or high is None:
        return DASH
    if percent:
        return f"{percent1(low)} to {percent1(high)}"
    return f"{fixed(low)} to {fixed(high)}"


def ci_of(entry: object, *, percent: bool = False) -> str:
    """:func:`ci_range` of a summary (a typed result with ``ci_low``/``ci_high``, or a mapping
    with those keys, as templates may hold either)."""
    if isinstance(entry, Mapping):
        low, high = entry.get("ci_low"), entry.get("ci_high")
    else:
        low, high = getattr(entry, "ci_low", None), getattr(entry, "ci_high", None)
    return ci_range(low, high, percent=percent)
