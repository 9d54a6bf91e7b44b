"""The exception tree, written out first so every edge maps it the same way.

AcuheadError
  ValidationError   -> HTTP 422, CLI exit 2   (bad input; names the field/path and reason)
  NotFound          -> HTTP 404, CLI exit 3   (also used when a row exists in another tenant)
  Forbidden         -> HTTP 403, CLI exit 4
  Conflict          -> HTTP 409, CLI exit 5   (optimistic version check, duplicate key)
    VersionRequired -> HTTP 428, CLI exit 5   (a change to an existing record sent no version)
    SafetyBlock     -> HTTP 409, CLI exit 6   (the safety gate refuses planning; names each reason)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class AcuheadError(Exception):
    """Base of every error acuhead raises on purpose."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One located problem: ``path`` such as ``attacks[1].peak_intensity``, and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ValidationError(AcuheadError):
    def __init__(self, errors: list[FieldError] | FieldError | str) -> None:
        if isinstance(errors, str):
            errors = [FieldError("", errors)]
        elif isinstance(errors, FieldError):
            errors = [errors]
        self.errors: list[FieldError] = errors
        super().__init__("; ".join(str(e) for e in errors))


class NotFound(AcuheadError):
    pass


class Forbidden(AcuheadError):
    pass


class Conflict(AcuheadError):
    pass


class VersionRequired(Conflict):
    """A change to an existing record came without the version it was based on (428)."""

    status_code = 428


class SafetyBlock(Conflict):
    """Raised when the safety gate refuses planning (an open red flag, a flag the record shows,
    or no current intake screen): acuhead says 'needs medical review' and why. ``reasons`` holds
    each blocking reason as a dict (code, label, reason, evidence, source, alert_id)."""

    def __init__(self, message: str, reasons: Sequence[Mapping[str, object]] = ()) -> None:
        super().__init__(message)
        self.reasons = [dict(r) for r in reasons]
