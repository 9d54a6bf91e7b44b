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
    EarlierVersion,
    SessionRecord,
    TreatmentCourse,
    course_as_dict,
    session_as_dict,
    validate_course,
    validate_session,
)
from acuhead.errors import FieldError, ValidationError

__all__ = [
    "CareBlocks",
    "care_to_document",
    "parse_care",
    "session_start",
    "versions_to_document",
]

# The store has no column for a course's session duration (STRICTA 3b is covered per session by
# retention_min). Refused rather than silently dropped.
_UNSTORED_COURSE_FIELDS = ("session_duration_min",)


# One entry of ``session_versions``: every key is required, no other is accepted.
_VERSION_KEYS = ("start", "version", "changed_utc", "session")


@dataclass(frozen=True, slots=True)
class CareBlocks:
    sessions: tuple[SessionRecord, ...] = ()
    course: TreatmentCourse | None = None
    versions: tuple[EarlierVersion, ...] = ()  # session_versions: corrected sessions' history


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
    versions = _parse_versions(doc.get("session_versions"), tz, set(seen), errors)
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
    return CareBlocks(tuple(sessions), course, tuple(versions)), errors


def _parse_versions(
    raw: Any, tz: ZoneInfo, starts: set[dt.datetime], errors: list[FieldError]
) -> list[EarlierVersion]:
    """``session_versions``: each names a session of the same document by its start (an
    export writes both; the import replaces those sessions and their history with them)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(FieldError("session_versions", "expected a list"))
        return []
    out: list[EarlierVersion] = []
    seen: dict[tuple[dt.datetime, int], int] = {}
    for i, entry in enumerate(raw):
        path = f"session_versions[{i}]"
        if not isinstance(entry, Mapping):
            errors.append(FieldError(path, "expected an object"))
            continue
        wrong = [FieldError(f"{path}.{k}", "is not a known key") for k in entry]
        wrong = [e for e in wrong if e.path.rsplit(".", 1)[1] not in _VERSION_KEYS]
        wrong += [FieldError(f"{path}.{k}", "is required") for k in _VERSION_KEYS if k not in entry]
        if wrong:
            errors.extend(wrong)
            continue
        try:
            start = session_start(entry["start"], tz, f"{path}.start")
        except ValidationError as exc:
            errors.extend(exc.errors)
            continue
        if start not in starts:
            errors.append(FieldError(f"{path}.start", "no session in sessions starts then"))
            continue
        version = entry["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            errors.append(FieldError(f"{path}.version", "expected a whole number from 1"))
            continue
        if (start, version) in seen:
            errors.append(
                FieldError(f"{path}.version", f"repeats session_versions[{seen[start, version]}]")
            )
            continue
        changed = None
        if entry["changed_utc"] is not None:
            try:
                changed = dt.datetime.fromisoformat(str(entry["changed_utc"]))
            except ValueError:
                errors.append(FieldError(f"{path}.changed_utc", "expected an ISO date-time"))
                continue
            if changed.tzinfo is not None:
                changed = changed.astimezone(dt.UTC).replace(tzinfo=None)
        record = _session(entry["session"], f"{path}.session", tz, None, errors)
        if record is None:
            continue
        seen[start, version] = i
        out.append(EarlierVersion(start, version, changed, record))
    return out


def versions_to_document(versions: Sequence[EarlierVersion]) -> list[dict[str, Any]]:
    """The ``session_versions`` block, by session start and version."""
    return [
        {
            "start": v.start.isoformat(),
            "version": v.version,
            "changed_utc": (
                v.changed_utc.replace(tzinfo=dt.UTC).isoformat() if v.changed_utc else None
            ),
            "session": session_as_dict(v.record),
        }
        for v in sorted(versions, key=lambda v: (v.start, v.version))
    ]


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
