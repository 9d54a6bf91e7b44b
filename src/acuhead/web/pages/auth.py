"""Log in, log out, and the landing page that sends each role to its home."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from acuhead.services import accounts
from acuhead.web.deps import COOKIE, DbDep, SettingsDep, WriteSession, run_login
from acuhead.web.pages.base import (
    FormState,
    OptionalUser,
    PostedForm,
    SameOrigin,
    landing_for,
    render,
    safe_next,
    see_other,
)

router = APIRouter()


@router.get("/")
def home(user: OptionalUser) -> Response:
    return see_other(user.home if user else "/login")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return see_other(safe_next(next) or user.home)
    form = FormState(values={"next": safe_next(next) or ""})
    return render(request, "login.html", {"form": form})


@router.post("/login", dependencies=[SameOrigin])
async def login_submit(
    request: Request, posted: PostedForm, db: DbDep, settings: SettingsDep
) -> Response:
    # The form is read before this runs (PostedForm); the password check and its transactions
    # run on the login limiter's worker threads (run_login), never on the event loop.
    form = FormState.from_form(posted)
    email = str(form.get("email"))
    password = posted.get("password")
    password = password if isinstance(password, str) else ""
    form.values.pop("password", None)  # never echoed back into the page
    if not email:
        form.add("email", "Enter the e-mail address you log in with.")
    elif "@" not in email:
        form.add("email", "This does not look like an e-mail address.")
    if not password:
        form.add("password", "Enter your password.")
    if not form.ok:
        return render(request, "login.html", {"form": form}, status_code=422)
    try:
        # Off the event loop: the password check takes tens of milliseconds of CPU.
        result = await run_login(
            request,
            partial(accounts.log_in, db, settings, email=email, password=password),
        )
        token, actor = result.token, result.actor
    except accounts.LoginRefused:
        form.add("_form", "Wrong e-mail or password.")
        return render(request, "login.html", {"form": form}, status_code=401)
    except accounts.LoginThrottled as exc:
        form.add(
            "_form",
            f"Too many failed attempts. Try again in {exc.retry_after} seconds.",
        )
        throttled = render(request, "login.html", {"form": form}, status_code=429)
        throttled.headers["Retry-After"] = str(exc.retry_after)
        return throttled
    response = see_other(safe_next(str(form.get("next"))) or landing_for(actor))
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
        max_age=settings.session_hours * 3600,
        path="/",
    )
    return response


@router.post("/logout", dependencies=[SameOrigin])
def logout(request: Request, session: WriteSession) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        accounts.logout(session, token=token)
    response = see_other("/login?logged_out=1")
    response.delete_cookie(COOKIE, path="/")
    return response
