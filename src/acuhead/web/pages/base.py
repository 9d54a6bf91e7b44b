"""What every HTML page shares: templates, the logged-in user, redirects and form errors.

Pages are cookie-authenticated. A request without a valid session is sent to ``/login`` (303,
with ``next`` = the page asked for); a page for the other role sends the user to their own
landing page; a record the user may not see answers the 404 page (the services raise NotFound
for other clinics and other patients alike, so ids cannot be probed).

Every form POST goes through :func:`acuhead.web.deps.check_same_origin` (CSRF by the browser's
``Sec-Fetch-Site``/``Origin`` headers; browsers send them on POST).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from acuhead import __version__
from acuhead.errors import FieldError
from acuhead.services.accounts import actor_from_token
from acuhead.services.actors import Actor, Role
from acuhead.web.deps import COOKIE, DbDep, body_first, check_same_origin

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.autoescape = True  # every template, whatever its file name
templates.env.globals["asset_version"] = __version__
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def _date(value: dt.date | dt.datetime | None, fmt: str = "%a %d %b %Y") -> str:
    return "" if value is None else value.strftime(fmt)


templates.env.filters["date"] = _date


@dataclass(frozen=True, slots=True)
class PageUser:
    """The logged-in user as the templates see them."""

    actor: Actor
    name: str
    email: str

    @property
    def is_staff(self) -> bool:
        return self.actor.is_staff

    @property
    def home(self) -> str:
        return landing_for(self.actor)


def landing_for(actor: Actor) -> str:
    return "/diary" if actor.role == Role.PATIENT else "/clinic"


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or "\n" in target or "\r" in target:
        return None
    return target


def optional_user(request: Request, db: DbDep) -> PageUser | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    with db.read() as session:
        found = actor_from_token(session, token)
        if found is None:
            return None
        page_user = PageUser(actor=found.actor, name=found.name, email=found.email)
    request.state.actor = found.actor
    return page_user


def _login_redirect(request: Request) -> HTTPException:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    # A 303 with Location: browsers follow it whatever the (JSON) body says.
    return HTTPException(303, "log in first", headers={"Location": "/login?next=" + quote(target)})


def require_user(
    request: Request, user: Annotated[PageUser | None, Depends(optional_user)]
) -> PageUser:
    if user is None:
        raise _login_redirect(request)
    return user


def require_patient(user: Annotated[PageUser, Depends(require_user)]) -> PageUser:
    if user.actor.role != Role.PATIENT:
        raise HTTPException(303, "staff pages", headers={"Location": "/clinic"})
    return user


def require_staff_user(user: Annotated[PageUser, Depends(require_user)]) -> PageUser:
    if not user.actor.is_staff:
        raise HTTPException(303, "patient pages", headers={"Location": "/diary"})
    return user


def same_origin(request: Request) -> None:
    """CSRF guard for page form POSTs (always cookie-authenticated)."""
    check_same_origin(request)


async def posted_form(request: Request) -> AsyncIterator[FormData]:
    """The submitted form, read whole on the event loop (within the body limits of
    ``web/limits.py``) before anything opens a transaction. A handler that takes it (and a
    session) is a plain ``def``: its database work then runs in a worker thread, never on
    the event loop, where a wait for a row lock would stop every request (issue 13)."""
    await body_first(request)  # whole and cached, then parsed from memory
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()


OptionalUser = Annotated[PageUser | None, Depends(optional_user)]
PostedForm = Annotated[FormData, Depends(posted_form)]
PatientUser = Annotated[PageUser, Depends(require_patient)]
StaffUser = Annotated[PageUser, Depends(require_staff_user)]
SameOrigin = Depends(same_origin)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    user: PageUser | None = None,
) -> HTMLResponse:
    ctx: dict[str, Any] = {"user": user, "path": request.url.path}
    if context:
        ctx.update(context)
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    # Pages carry health data: never cache them in shared or browser caches.
    response.headers["Cache-Control"] = "no-store"
    return response


def not_found(request: Request, user: PageUser | None, what: str = "page") -> HTMLResponse:
    return render(request, "not_found.html", {"what": what}, status_code=404, user=user)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@dataclass
class FormState:
    """The submitted values (kept exactly as typed) and the error for each field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, default: Any = "") -> Any:
        value = self.values.get(name, default)
        return default if value is None else value

    def has(self, name: str, item: str) -> bool:
        """Whether a multi-valued field (checkbox group) holds ``item``."""
        value = self.values.get(name)
        if isinstance(value, list | tuple | set | frozenset):
            return item in value
        return value == item

    def error(self, name: str) -> str:
        return self.errors.get(name, "")

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors

    @classmethod
    def from_form(cls, form: FormData, multi: frozenset[str] = frozenset()) -> FormState:
        values: dict[str, Any] = {}
        for key in form:
            if key in multi:
                values[key] = [str(v) for v in form.getlist(key)]
            else:
                v = form.get(key)
                values[key] = v.strip() if isinstance(v, str) else ""
        for key in multi:
            values.setdefault(key, [])
        return cls(values=values)


def apply_field_errors(
    state: FormState, errors: list[FieldError], mapping: Mapping[str, str], fallback: str = "_form"
) -> None:
    """Put service/domain errors next to their form field (unknown paths go to the top)."""
    for e in errors:
        path = e.path
        name = mapping.get(path)
        if name is None:
            for prefix, target in mapping.items():
                if prefix.endswith("*") and path.startswith(prefix[:-1]):
                    name = target
                    break
        state.add(name or fallback, e.message if name else str(e))
