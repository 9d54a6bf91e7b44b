"""Find a patient by name, external id or birth date (staff, own clinic only).

Why here and not a filter in each page: every practitioner page carries the same search box,
and the rules (what counts as a date, how a name matches, that another clinic's patient is never
found) must be one. A query that reads as a date (``1980-03-04`` or the German ``04.03.1980``)
matches the birth date; anything else matches part of the name or the external id, ignoring
case. The audit row says that a search was made, never what was searched for (a name is
personal data).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from acuhead.errors import FieldError, ValidationError
from acuhead.services.actors import Actor, require_staff
from acuhead.store.audit import audit
from acuhead.store.models import Patient, User

PAGE_SIZE = 20
MAX_QUERY = 100
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Found:
    patient_id: int
    external_id: str
    display_name: str
    birth_date: dt.date | None
    practitioner_name: str

    @property
    def label(self) -> str:
        return self.display_name or self.external_id


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    birth_date: dt.date | None  # the date searched for, when the query was one
    items: list[Found]
    total: int
    page: int
    pages: int


def as_date(text: str) -> dt.date | None:
    """``1980-03-04`` or ``04.03.1980`` (day first, as written in Germany); None if neither.
    A date-shaped text that is no calendar date (31.02.1980) is refused, not searched by name."""
    text = text.strip()
    try:
        if _ISO.match(text):
            return dt.date.fromisoformat(text)
        if m := _DOTTED.match(text):
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError as exc:
        raise ValidationError(FieldError("q", f"{text} is not a date in the calendar")) from exc
    return None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, *, actor: Actor, query: str, page: int = 1) -> SearchResult:
    """Patients of the actor's clinic matching ``query``, by name, then external id."""
    require_staff(actor)
    query = query.strip()
    if len(query) > MAX_QUERY:
        raise ValidationError(FieldError("q", f"at most {MAX_QUERY} characters"))
    if not query:
        return SearchResult(query, None, [], 0, 1, 1)
    born = as_date(query)
    where = [Patient.clinic_id == actor.clinic_id]
    if born is not None:
        where.append(Patient.birth_date == born)
    else:
        pattern = _like(query)
        where.append(
            or_(
                func.lower(Patient.display_name).like(pattern, escape="\\"),
                func.lower(Patient.external_id).like(pattern, escape="\\"),
            )
        )
    total = int(session.scalar(select(func.count()).select_from(Patient).where(*where)) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = session.execute(
        select(
            Patient.id,
            Patient.external_id,
            Patient.display_name,
            Patient.birth_date,
            User.name,
        )
        .outerjoin(User, User.id == Patient.practitioner_id)
        .where(*where)
        .order_by(Patient.display_name, Patient.external_id, Patient.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    items = [
        Found(pid, ext, name or "", born_on, prac or "") for pid, ext, name, born_on, prac in rows
    ]
    audit(session, actor, "search", "patients")
    return SearchResult(query, born, items, total, page, pages)
