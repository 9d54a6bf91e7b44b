"""The care blocks of the diary document: ``sessions`` and ``course``.

A session in the document is a STRICTA record (``acuhead.domain.sessions``) whose ``start`` is
required: ``start`` (date-time), ``points`` ([{code, side}]), ``pain_before``, ``pain_after`` and
the STRICTA fields (MacPherson et al., PLoS Med 2010; CLINICAL.md 6). ``course`` is the planned
regimen (STRICTA 3a/3b: planned sessions, sessions per week, start date).

Times follow the document's rule: without an offset they are the patient's local wall-clock
time; with an offset they are converted to it. Every problem is located under the document path
(``sessions[2].retention_min``, ``course.start``), so ``document.parse`` can report them with the
diary's own problems, all at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from acuhead.domain.sessions import (
    SessionRecord,
    TreatmentCourse,
    course_as_dict,
    session_as_dict,
    validate_course,
    validate_session,
)
from acuhead.errors import FieldError, ValidationError

__all__ = ["CareBlocks", "care_to_document", "parse_care", "session_start"]

# The store has no column for a course's session duration (STRICTA 3b is covered per session by
# retention_min). Refused rather than silently dropped.
_UNSTORED_COURSE_FIELDS = ("session_duration_min",)


@dataclass(frozen=True, slots=True)
class CareBlocks:
    sessions: tuple[SessionRecord, ...] = ()
    course: TreatmentCourse | None = None


def _prefixed(prefix: str, errors: Sequence[FieldError]) -> list[FieldError]:
    return [FieldError(f"{prefix}.{e.path}" if e.path else prefix, e.message) for e in errors]


# Sessions before this year are typing slips (and keep time-zone arithmetic in range).
EARLIEST_YEAR = 1900


def session_start(raw: Any, tz: ZoneInfo, path: str = "start") -> dt.datetime:
    """A session's start as the patient's local wall-clock time (naive)."""
    try:
        value = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(str(raw))
        if value.year < EARLIEST_YEAR or value.year > dt.MAXYEAR - 1:
            raise ValueError
        if value.tzinfo is not None:
            value = value.astimezone(tz).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise ValidationError(
            FieldError(path, f"expected a date-time from {EARLIEST_YEAR} on; got {raw!s}")
        ) from None
    return value


def _session(
    raw: Any, path: str, tz: ZoneInfo, latest: dt.date | None, errors: list[FieldError]
) -> SessionRecord | None:
    try:
        record = validate_session(raw)
    except ValidationError as exc:
        errors.extend(_prefixed(path, exc.errors))
        return None
    if record.start is None:
        errors.append(FieldError(f"{path}.start", "is required (the date-time of the session)"))
        return None
    try:
        start = session_start(record.start, tz, f"{path}.start")
    except ValidationError as exc:
        errors.extend(exc.errors)
        return None
    if latest is not None and start.date() > latest:
        errors.append(FieldError(f"{path}.start", f"{start:%Y-%m-%d} is in the future"))
        return None
    return replace(record, start=start)


def parse_care(
    doc: Mapping[str, Any], *, timezone: str, latest: dt.date | None = None
) -> tuple[CareBlocks, list[FieldError]]:
    """Read ``sessions`` and ``course`` from a document (or its extras); problems are returned.

    ``latest`` is the last local date accepted for a session start (today + 1 on import).
    Two sessions with the same start are refused: the start is the session's identity on import.
    """
    tz = ZoneInfo(timezone)
    errors: list[FieldError] = []
    sessions: list[SessionRecord] = []
    raw_sessions = doc.get("sessions") or []
    if not isinstance(raw_sessions, list):
        errors.append(FieldError("sessions", "expected a list"))
        raw_sessions = []
    seen: dict[dt.datetime, int] = {}
    for i, raw in enumerate(raw_sessions):
        record = _session(raw, f"sessions[{i}]", tz, latest, errors)
        if record is None or record.start is None:
            continue
        if record.start in seen:
            errors.append(
                FieldError(f"sessions[{i}].start", f"repeats sessions[{seen[record.start]}]")
            )
            continue
        seen[record.start] = i
        sessions.append(record)
    course = None
    raw_course = doc.get("course")
    if raw_course is not None:
        if isinstance(raw_course, Mapping):
            for key in _UNSTORED_COURSE_FIELDS:
                if raw_course.get(key) is not None:
                    errors.append(
                        FieldError(
                            f"course.{key}",
                            "is not stored by this version; record each session's "
                            "retention_min instead",
                        )
                    )
        try:
            course = validate_course(raw_course)
        except ValidationError as exc:
            errors.extend(_prefixed("course", exc.errors))
    return CareBlocks(tuple(sessions), course), errors


def care_errors(doc: Mapping[str, Any], *, timezone: str, latest: dt.date) -> list[FieldError]:
    """Only the problems (for ``document.parse``)."""
    return parse_care(doc, timezone=timezone, latest=latest)[1]


def care_to_document(
    sessions: Sequence[SessionRecord], course: TreatmentCourse | None
) -> dict[str, Any]:
    """The ``sessions`` (by start) and ``course`` blocks; a block with nothing in it is left out."""
    out: dict[str, Any] = {}
    if sessions:
        ordered = sorted(sessions, key=lambda s: s.start or dt.datetime.min)
        out["sessions"] = [session_as_dict(s) for s in ordered]
    if course is not None:
        out["course"] = course_as_dict(course)
    return out
