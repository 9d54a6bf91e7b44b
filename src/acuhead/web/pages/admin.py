"""Clinic admin pages: accounts, patient invitations, the questionnaire schedule, the practice
report, data rights (research consent, record downloads, erasure, the research export), and the
public page where an invited person sets their password.

Who sees what: every ``/admin`` page is for the clinic's admins, except the practice report,
which practitioners read too. A patient is sent to their diary (as on every staff page); a
practitioner gets a plain "admins only" page rather than a silent redirect, so they know
whom to ask. Another clinic's account or invitation answers the 404 page.

A link to set a password is shown once, in the answer to the form that made it (never put in
a redirect URL, never logged: the server runs without an access log). The ``/invite`` pages
send no Referer, so the token in their URL does not travel on.

With mail configured (``ACUHEAD_SMTP_HOST``) the forms that create an account also offer to
e-mail the link to its address. Those forms run their transaction through
``run_transaction`` (web/deps.py) so that the e-mail is sent after the commit and outside the
database write lock, and its outcome is still in the answer: the link is shown either way, with a
notice when the e-mail could not be sent.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from acuhead.analytics.cohort import practitioner_names
from acuhead.config import Settings
from acuhead.domain.outcomes import OutcomeConfig
from acuhead.errors import Conflict, FieldError, NotFound, ValidationError
from acuhead.present.charts import trend_chart
from acuhead.present.format import ci_of, fixed, percent1
from acuhead.services import accounts, erasure, interop, invitations, research, schedules
from acuhead.services import diary as diary_svc
from acuhead.services import outcomes as outcomes_svc
from acuhead.services.actors import Role, load_patient
from acuhead.services.invitations import IssuedLink, LinkUnusable, Purpose
from acuhead.services.mail import SmtpMailer, mailer_from_settings
from acuhead.web.deps import (
    COOKIE,
    ReadSession,
    SettingsDep,
    WriteSession,
    run_transaction,
)
from acuhead.web.pages.base import (
    FormState,
    OptionalUser,
    PageUser,
    PostedForm,
    SameOrigin,
    StaffUser,
    not_found,
    render,
    require_staff_user,
    see_other,
    templates,
)


class AdminOnly(Exception):
    """A practitioner opened an admin page: answered with the "admins only" page."""

    def __init__(self, user: PageUser) -> None:
        super().__init__("admins only")
        self.user = user


class _AdminRoute(APIRoute):
    """Turns AdminOnly (raised while resolving the page's dependencies) into an HTML 403."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except AdminOnly as exc:
                return render(request, "admin/forbidden.html", status_code=403, user=exc.user)

        return guarded


router = APIRouter(route_class=_AdminRoute)


def require_admin_user(user: Annotated[PageUser, Depends(require_staff_user)]) -> PageUser:
    if user.actor.role != Role.ADMIN:
        raise AdminOnly(user)
    return user


AdminUser = Annotated[PageUser, Depends(require_admin_user)]

# The report's number formats (shared with the HTML report of the CLI; they escape text).
templates.env.filters["report_num"] = lambda v, digits=2: Markup(fixed(v, digits))  # noqa: S704
templates.env.filters["report_pct"] = lambda v: Markup(percent1(v))  # noqa: S704
templates.env.filters["report_ci"] = lambda e, percent=False: Markup(  # noqa: S704
    ci_of(e, percent=percent)
)

SHOW = {
    "staff": (Role.ADMIN, Role.PRACTITIONER),
    "patients": (Role.PATIENT,),
    "all": None,
}
ROLE_LABELS = {"admin": "Admin", "practitioner": "Practitioner", "patient": "Patient"}
BLOCKS = tuple(range(13))
USERS_LIMIT = 500


def _capital(message: str) -> str:
    """A service message ('must be between ...') as a sentence for the page."""
    message = message.strip()
    if not message:
        return message
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _field_errors(form: FormState, errors: list[FieldError], mapping: Mapping[str, str]) -> None:
    """Service errors next to their field, as sentences (unknown paths go to the top)."""
    for e in errors:
        name = mapping.get(e.path)
        form.add(name or "_form", _capital(e.message if name else str(e)))


def _link_url(request: Request, link: IssuedLink) -> str:
    return str(request.base_url).rstrip("/") + link.path()


def _link_page(
    request: Request,
    user: PageUser,
    link: IssuedLink,
    *,
    name: str,
    email: str,
    back: str,
    mailed: bool | None = None,
) -> Response:
    """``mailed``: None when no e-mail was asked for, else whether the server accepted it."""
    ctx = {
        "url": _link_url(request, link),
        "purpose": link.purpose.value,
        "name": name,
        "email": email,
        "expires_utc": link.expires_utc,
        "days": invitations.LINK_DAYS,
        "back": back,
        "mailed": mailed,
    }
    return render(request, "admin/link.html", ctx, user=user)


T = TypeVar("T")
SEND_EMAIL = "yes"  # the value of a ticked "also e-mail the link" box


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _mailer(request: Request) -> SmtpMailer | None:
    """The clinic's mailer; None when mail is not configured (the e-mail box is not offered)."""
    return mailer_from_settings(_settings(request))


@dataclass(frozen=True, slots=True)
class _Made:
    """A link committed by a form, and whom it is for."""

    link: IssuedLink
    name: str
    email: str


async def _made_page(
    request: Request, user: PageUser, made: _Made, *, send: bool, back: str
) -> Response:
    """The link page for a link just committed, after e-mailing it when the admin asked."""
    mailer = _mailer(request) if send else None
    mailed: bool | None = None
    if mailer is not None:
        mailed = await anyio.to_thread.run_sync(
            lambda: invitations.send_link(
                mailer, made.link, to=made.email, base_url=_settings(request).base_url
            )
        )
    return _link_page(
        request, user, made.link, name=made.name, email=made.email, back=back, mailed=mailed
    )


# ---- overview ------------------------------------------------------------------------------


@router.get("/admin")
def overview(request: Request, user: AdminUser, session: ReadSession) -> Response:
    staff, _ = invitations.list_users(session, actor=user.actor, roles=SHOW["staff"])
    _, patient_logins = invitations.list_users(
        session, actor=user.actor, roles=SHOW["patients"], limit=0
    )
    pending = invitations.pending_links(session, actor=user.actor)
    ctx = {
        "staff": staff,
        "staff_active": sum(1 for s in staff if s.active),
        "patient_logins": patient_logins,
        "patients": invitations.patient_records(session, actor=user.actor),
        "pending": pending,
        "schedule": schedules.list_schedule(session, actor=user.actor),
    }
    return render(request, "admin/overview.html", ctx, user=user)


# ---- users ---------------------------------------------------------------------------------


def _users_page(
    request: Request,
    user: PageUser,
    session: Session,
    *,
    show: str = "staff",
    form: FormState | None = None,
    row_error: tuple[int, str] | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    show = show if show in SHOW else "staff"
    rows, total = invitations.list_users(
        session, actor=user.actor, roles=SHOW[show], limit=USERS_LIMIT
    )
    ctx = {
        "rows": rows,
        "total": total,
        "show": show,
        "form": form or FormState(values={"role": "practitioner", "send_email": SEND_EMAIL}),
        "mail_on": _mailer(request) is not None,
        "row_error": row_error,
        "done": done,
        "role_labels": ROLE_LABELS,
        "limit": USERS_LIMIT,
        "link_days": invitations.LINK_DAYS,
    }
    return render(request, "admin/users.html", ctx, status_code=status_code, user=user)


@router.get("/admin/users")
def users_page(
    request: Request,
    user: AdminUser,
    session: ReadSession,
    show: str = "staff",
    done: str | None = None,
) -> Response:
    done = done if done in ("deactivated", "reactivated") else ""
    return _users_page(request, user, session, show=show, done=done)


@router.post("/admin/users", dependencies=[SameOrigin])
async def create_staff(request: Request, user: AdminUser) -> Response:
    form = FormState.from_form(await request.form())
    name, email, role = str(form.get("name")), str(form.get("email")), str(form.get("role"))
    if not name:
        form.add("name", "Enter the person's name.")
    if not email:
        form.add("email", "Enter the e-mail address they will log in with.")
    if role not in (Role.PRACTITIONER.value, Role.ADMIN.value):
        form.add("role", "Choose practitioner or admin.")

    def work(session: Session) -> _Made | Response:
        if form.ok:
            try:
                with session.begin_nested():
                    created, link = invitations.create_staff(
                        session, actor=user.actor, email=email, name=name, role=Role(role)
                    )
            except ValidationError as exc:
                _field_errors(form, exc.errors, {"email": "email", "name": "name", "role": "role"})
            else:
                return _Made(link, created.name, created.email)
        return _users_page(request, user, session, form=form, status_code=422)

    made = await run_transaction(request, work)
    if isinstance(made, Response):
        return made
    send = form.get("send_email") == SEND_EMAIL
    return await _made_page(request, user, made, send=send, back="/admin/users")


def _user_action(
    request: Request,
    user: PageUser,
    session: Session,
    user_id: int,
    action: Callable[[], Response],
    show: str,
) -> Response:
    try:
        with session.begin_nested():
            return action()
    except NotFound:
        return not_found(request, user, "account")
    except ValidationError as exc:
        return _users_page(
            request,
            user,
            session,
            show=show,
            row_error=(user_id, " ".join(_capital(e.message) for e in exc.errors)),
            status_code=422,
        )


def _show_of(posted: FormData) -> str:
    show = posted.get("show")
    return show if isinstance(show, str) and show in SHOW else "staff"


def _set_active(
    request: Request,
    user_id: int,
    user: PageUser,
    posted: FormData,
    session: Session,
    *,
    active: bool,
) -> Response:
    show = _show_of(posted)
    done = "reactivated" if active else "deactivated"

    def act() -> Response:
        invitations.set_active(session, actor=user.actor, user_id=user_id, active=active)
        return see_other(f"/admin/users?show={show}&done={done}#user-{user_id}")

    return _user_action(request, user, session, user_id, act, show)


@router.post("/admin/users/{user_id}/deactivate", dependencies=[SameOrigin])
def deactivate(
    request: Request, user_id: int, user: AdminUser, posted: PostedForm, session: WriteSession
) -> Response:
    return _set_active(request, user_id, user, posted, session, active=False)


@router.post("/admin/users/{user_id}/reactivate", dependencies=[SameOrigin])
def reactivate(
    request: Request, user_id: int, user: AdminUser, posted: PostedForm, session: WriteSession
) -> Response:
    return _set_active(request, user_id, user, posted, session, active=True)


@router.post("/admin/users/{user_id}/link", dependencies=[SameOrigin])
def issue_user_link(
    request: Request, user_id: int, user: AdminUser, posted: PostedForm, session: WriteSession
) -> Response:
    """A reset link for an account with a password; a fresh invitation for one without."""
    show = _show_of(posted)

    def act() -> Response:
        target = invitations.account(session, actor=user.actor, user_id=user_id)
        purpose = Purpose.RESET if target.password_hash else Purpose.INVITE
        link = invitations.issue_link(session, actor=user.actor, user_id=target.id, purpose=purpose)
        back = "/admin/invitations" if target.role == Role.PATIENT else f"/admin/users?show={show}"
        return _link_page(request, user, link, name=target.name, email=target.email, back=back)

    return _user_action(request, user, session, user_id, act, show)


# ---- patient invitations -------------------------------------------------------------------


def _invitations_page(
    request: Request,
    user: PageUser,
    session: Session,
    *,
    new_form: FormState | None = None,
    existing_form: FormState | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    actor = user.actor
    ctx = {
        "new_form": new_form
        or FormState(
            values={
                "timezone": invitations.usual_timezone(session, actor=actor),
                "send_email": SEND_EMAIL,
            }
        ),
        "existing_form": existing_form or FormState(values={"patient_send_email": SEND_EMAIL}),
        "mail_on": _mailer(request) is not None,
        "practitioners": sorted(
            practitioner_names(session, actor.clinic_id).items(), key=lambda kv: kv[1].lower()
        ),
        "pending": invitations.pending_links(session, actor=actor, roles=(Role.PATIENT,)),
        "done": done,
        "zones": invitations.common_timezones(session, actor=actor),
        "link_days": invitations.LINK_DAYS,
    }
    return render(request, "admin/invitations.html", ctx, status_code=status_code, user=user)


@router.get("/admin/invitations")
def invitations_page(
    request: Request,
    user: AdminUser,
    session: ReadSession,
    patient: str | None = None,
    done: str | None = None,
) -> Response:
    existing = FormState(
        values={"patient": (patient or "")[:100], "patient_send_email": SEND_EMAIL}
    )
    return _invitations_page(
        request,
        user,
        session,
        existing_form=existing,
        done="revoked" if done == "revoked" else "",
    )


@router.post("/admin/invitations/new-patient", dependencies=[SameOrigin])
async def invite_new_patient(request: Request, user: AdminUser) -> Response:
    form = FormState.from_form(await request.form())
    if not form.get("external_id"):
        form.add("external_id", "Enter the patient number in your practice records.")
    if not form.get("email"):
        form.add("email", "Enter the e-mail address the patient will log in with.")
    if not form.get("timezone"):
        form.add("timezone", "Enter the patient's time zone, e.g. Europe/Berlin.")
    practitioner_id: int | None = None
    raw_prac = str(form.get("practitioner_id"))
    if raw_prac:
        if raw_prac.isdigit():
            practitioner_id = int(raw_prac)
        else:
            form.add("practitioner_id", "Choose a practitioner from the list.")

    def work(session: Session) -> _Made | Response:
        if form.ok:
            try:
                with session.begin_nested():
                    patient, link = invitations.invite_new_patient(
                        session,
                        actor=user.actor,
                        external_id=str(form.get("external_id")),
                        email=str(form.get("email")),
                        display_name=str(form.get("display_name")),
                        timezone=str(form.get("timezone")),
                        practitioner_id=practitioner_id,
                    )
            except ValidationError as exc:
                _field_errors(
                    form,
                    exc.errors,
                    {
                        "external_id": "external_id",
                        "email": "email",
                        "display_name": "display_name",
                        "timezone": "timezone",
                        "practitioner_id": "practitioner_id",
                    },
                )
            else:
                login = invitations.account(session, actor=user.actor, user_id=link.user_id)
                return _Made(link, patient.display_name or patient.external_id, login.email)
        return _invitations_page(request, user, session, new_form=form, status_code=422)

    made = await run_transaction(request, work)
    if isinstance(made, Response):
        return made
    send = form.get("send_email") == SEND_EMAIL
    return await _made_page(request, user, made, send=send, back="/admin/invitations")


@router.post("/admin/invitations/existing-patient", dependencies=[SameOrigin])
async def invite_existing_patient(request: Request, user: AdminUser) -> Response:
    form = FormState.from_form(await request.form())
    if not form.get("patient"):
        form.add("patient", "Enter the patient's external id or acuhead number.")
    if not form.get("patient_email"):
        form.add("patient_email", "Enter the e-mail address the patient will log in with.")

    def work(session: Session) -> _Made | Response:
        if form.ok:
            try:
                with session.begin_nested():
                    patient, link = invitations.invite_existing_patient(
                        session,
                        actor=user.actor,
                        patient_ref=str(form.get("patient")),
                        email=str(form.get("patient_email")),
                    )
            except ValidationError as exc:
                _field_errors(form, exc.errors, {"patient": "patient", "email": "patient_email"})
            else:
                login = invitations.account(session, actor=user.actor, user_id=link.user_id)
                return _Made(link, patient.display_name or patient.external_id, login.email)
        return _invitations_page(request, user, session, existing_form=form, status_code=422)

    made = await run_transaction(request, work)
    if isinstance(made, Response):
        return made
    send = form.get("patient_send_email") == SEND_EMAIL
    return await _made_page(request, user, made, send=send, back="/admin/invitations")


@router.post("/admin/invitations/{invitation_id}/revoke", dependencies=[SameOrigin])
def revoke_invitation(
    request: Request, invitation_id: int, user: AdminUser, session: WriteSession
) -> Response:
    try:
        invitations.revoke_link(session, actor=user.actor, invitation_id=invitation_id)
    except NotFound:
        return not_found(request, user, "invitation")
    return see_other("/admin/invitations?done=revoked#pending")


# ---- questionnaire schedule ----------------------------------------------------------------


def _schedule_form(items: Sequence[schedules.ScheduleItem]) -> FormState:
    values: dict[str, Any] = {}
    for item in items:
        values[f"{item.instrument}-every_days"] = "" if item.every_days is None else item.every_days
        values[f"{item.instrument}-active"] = "yes" if item.active else ""
        values[f"{item.instrument}-version"] = "" if item.version is None else item.version
    return FormState(values=values)


def _schedule_page(
    request: Request,
    user: PageUser,
    items: Sequence[schedules.ScheduleItem],
    form: FormState,
    *,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    ctx = {
        "items": items,
        "form": form,
        "saved": saved,
        "min_days": schedules.MIN_EVERY_DAYS,
        "max_days": schedules.MAX_EVERY_DAYS,
    }
    return render(request, "admin/schedule.html", ctx, status_code=status_code, user=user)


@router.get("/admin/schedule")
def schedule_page(
    request: Request, user: AdminUser, session: ReadSession, saved: str | None = None
) -> Response:
    items = schedules.list_schedule(session, actor=user.actor)
    return _schedule_page(request, user, items, _schedule_form(items), saved=bool(saved))


def _whole(raw: str) -> int | None:
    text = raw.strip()
    if text.isdigit() and len(text) <= 6:
        return int(text)
    return None


@router.post("/admin/schedule", dependencies=[SameOrigin])
def schedule_submit(
    request: Request, user: AdminUser, posted: PostedForm, session: WriteSession
) -> Response:
    form = FormState.from_form(posted)
    items = schedules.list_schedule(session, actor=user.actor)
    entries: dict[str, schedules.ScheduleEntry] = {}
    for item in items:
        key = item.instrument
        raw_version = str(form.get(f"{key}-version"))
        entries[key] = schedules.ScheduleEntry(
            # As typed: the service reads it with its other checks, so every field's mistake
            # is reported in this one answer (a word in one field, a range in another).
            every_days=str(form.get(f"{key}-every_days")),
            active=form.get(f"{key}-active") == "yes",
            version=_whole(raw_version) if raw_version else None,
        )
    try:
        with session.begin_nested():
            schedules.set_schedule(session, actor=user.actor, entries=entries)
    except ValidationError as exc:
        _field_errors(
            form,
            exc.errors,
            {f"{i.instrument}.every_days": f"{i.instrument}-every_days" for i in items},
        )
    except Conflict as exc:
        form.add("_form", _capital(str(exc)))
    else:
        return see_other("/admin/schedule?saved=1")
    return _schedule_page(request, user, items, form, status_code=422)


# ---- practice report -----------------------------------------------------------------------


def _weeks(block: int) -> str:
    return f"weeks {block * 4 + 1}-{block * 4 + 4}"


@router.get("/admin/report")
def report_page(
    request: Request,
    user: StaffUser,
    session: WriteSession,
    practitioner_id: str | None = None,
    block: str | None = None,
) -> Response:
    names = practitioner_names(session, user.actor.clinic_id)
    form = FormState(values={"practitioner_id": practitioner_id or "", "block": block or "2"})
    prac: int | None = None
    if practitioner_id:
        if practitioner_id.isdigit() and int(practitioner_id) in names:
            prac = int(practitioner_id)
        else:
            form.add("practitioner_id", "Choose a practitioner of this clinic from the list.")
    chosen_block = 2
    if block:
        if block.isdigit() and int(block) in BLOCKS:
            chosen_block = int(block)
        else:
            form.add("block", f"Choose a window from {_weeks(BLOCKS[0])} to {_weeks(BLOCKS[-1])}.")
    ctx: dict[str, Any] = {
        "form": form,
        "practitioners": sorted(names.items(), key=lambda kv: kv[1].lower()),
        "blocks": [(b, _weeks(b)) for b in BLOCKS],
        "report": None,
    }
    if not form.ok:
        return render(request, "admin/report.html", ctx, status_code=422, user=user)
    try:
        with session.begin_nested():
            report = outcomes_svc.practice_report(
                session,
                actor=user.actor,
                practitioner_id=prac,
                config=OutcomeConfig(primary_block=chosen_block),
            )
    except ValidationError as exc:
        _field_errors(form, exc.errors, {"practitioner_id": "practitioner_id"})
        return render(request, "admin/report.html", ctx, status_code=422, user=user)
    query = f"block={chosen_block}" + (f"&practitioner_id={prac}" if prac is not None else "")
    ctx.update(
        {
            "report": report,
            "chart": trend_chart(report.trend),
            "practitioner_name": names.get(prac) if prac is not None else None,
            "json_url": "/api/v1/reports/practice?" + query,
        }
    )
    return render(request, "admin/report.html", ctx, user=user)


# ---- the public page of a link -------------------------------------------------------------

NO_REFERRER = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def _private(response: Response) -> Response:
    response.headers.update(NO_REFERRER)
    return response


def _unusable(request: Request, user: PageUser | None, exc: LinkUnusable) -> Response:
    status = 404 if exc.reason == "unknown" else 410
    ctx = {"reason": exc.reason, "message": str(exc)}
    return _private(
        render(request, "admin/invite_unusable.html", ctx, status_code=status, user=user)
    )


def _invite_form(
    request: Request,
    user: PageUser | None,
    found: invitations.OpenLink,
    form: FormState,
    status_code: int = 200,
) -> Response:
    ctx = {
        "form": form,
        "purpose": found.invitation.purpose,
        "email": found.user.email,
        "clinic_name": found.clinic_name,
        "expires_utc": found.invitation.expires_utc,
        "min_length": accounts.MIN_PASSWORD,
    }
    return _private(render(request, "admin/invite.html", ctx, status_code=status_code, user=user))


@router.get("/invite/{token}")
def invite_page(request: Request, token: str, user: OptionalUser, session: ReadSession) -> Response:
    try:
        found = invitations.open_link(session, token=token)
    except LinkUnusable as exc:
        return _unusable(request, user, exc)
    return _invite_form(request, user, found, FormState())


def _new_password_hash(posted: PostedForm) -> str | None:
    """The posted password's hash, in a worker thread and before the write transaction opens
    (FastAPI resolves a route's dependencies in the order of its parameters), so that the
    transaction never waits on argon2."""
    password, confirm = posted.get("password"), posted.get("confirm")
    if not isinstance(password, str) or not isinstance(confirm, str):
        return None
    return invitations.hash_new_password(password, confirm)


@router.post("/invite/{token}", dependencies=[SameOrigin])
def invite_submit(
    request: Request,
    token: str,
    user: OptionalUser,
    posted: PostedForm,
    # Before ``session``: the hash is computed before the transaction opens.
    password_hash: Annotated[str | None, Depends(_new_password_hash)],
    session: WriteSession,
    settings: SettingsDep,
) -> Response:
    password, confirm = posted.get("password"), posted.get("confirm")
    password = password if isinstance(password, str) else ""
    confirm = confirm if isinstance(confirm, str) else ""
    form = FormState()  # passwords are never echoed back into the page
    if not password:
        form.add("password", "Choose a password.")
    elif not confirm:
        form.add("confirm", "Type the password again to confirm it.")
    try:
        found = invitations.open_link(session, token=token)
        if form.ok:
            with session.begin_nested():
                account = invitations.redeem_link(
                    session,
                    token=token,
                    password=password,
                    confirm=confirm,
                    password_hash=password_hash,
                )
    except LinkUnusable as exc:
        return _unusable(request, user, exc)
    except ValidationError as exc:
        subjects = {"password": "The password", "confirm": "The confirmation"}
        for e in exc.errors:
            subject = subjects.get(e.path)
            text = f"{subject} {e.message}" if subject else e.message
            form.add(e.path if subject else "_form", _capital(text))
    if not form.ok:
        return _invite_form(request, user, found, form, status_code=422)
    old = request.cookies.get(COOKIE)
    if old:
        accounts.logout(session, token=old)
    # The new password was just set by the holder of the link: a session, no password check.
    result = accounts.start_session(session, account, session_hours=settings.session_hours)
    page_user = None
    if result is not None:
        page_user = PageUser(actor=result.actor, name=account.name, email=account.email)
    ctx = {"logged_in": result is not None, "home": page_user.home if page_user else "/login"}
    response = _private(render(request, "admin/invite_done.html", ctx, user=page_user))
    if result is not None:
        response.set_cookie(
            COOKIE,
            result.token,
            httponly=True,
            samesite="lax",
            secure=settings.is_production,
            max_age=settings.session_hours * 3600,
            path="/",
        )
    elif old:
        response.delete_cookie(COOKIE, path="/")
    return response


# ---- data rights: research consent, record downloads, erasure, the research export ---------
#
# The same service functions as the CLI (``acuhead consent``, ``export``, ``erase``,
# ``research-export``), each writing its own audit rows; admins only, like the CLI, which acts
# as the clinic's operator. Another clinic's patient answers the 404 page.

DATA_LIMIT = 50
EXPORT_FORMATS = (
    ("json", "Diary document (JSON)"),
    ("fhir", "FHIR R4 bundle (JSON)"),
    ("csv-days", "Diary days (CSV)"),
    ("csv-attacks", "Attacks (CSV)"),
)
DATA_DONE = {
    "consent": "The consent is recorded.",
    "withdrawn": "The withdrawal is recorded.",
    "erased": "The patient and every row of their record were erased.",
}


def _date_field(form: FormState, name: str) -> dt.date | None:
    """An optional date field (empty: today, as in the CLI); a wrong one is a field error."""
    raw = str(form.get(name)).strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        form.add(name, "Enter a date like 2026-02-02, or leave it empty for today.")
        return None


@router.get("/admin/data")
def data_page(
    request: Request,
    user: AdminUser,
    session: WriteSession,
    q: str = "",
    done: str | None = None,
) -> Response:
    """Find a patient for their data rights, and run the research export."""
    query = " ".join(q.split())[:100]
    rows, total = diary_svc.list_patients(session, actor=user.actor, limit=DATA_LIMIT, query=query)
    today = dt.datetime.now(dt.UTC).date()
    eligible = set(research.consenting_patients(session, clinic_id=user.actor.clinic_id, on=today))
    ctx = {
        "rows": rows,
        "total": total,
        "q": query,
        "limit": DATA_LIMIT,
        "eligible": eligible,
        "done": DATA_DONE.get(done or "", ""),
    }
    return render(request, "admin/data.html", ctx, user=user)


def _patient_data_page(
    request: Request,
    user: PageUser,
    session: Session,
    patient_id: int,
    *,
    consent_form: FormState | None = None,
    withdraw_form: FormState | None = None,
    erase_form: FormState | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    try:
        patient = load_patient(session, user.actor, patient_id)
    except NotFound:
        return not_found(request, user, "patient")
    today = dt.datetime.now(dt.UTC).date()
    consents = research.list_consents(session, actor=user.actor, patient_id=patient.id)
    eligible = patient.id in research.consenting_patients(
        session, clinic_id=user.actor.clinic_id, on=today
    )
    ctx = {
        "patient": patient,
        "consents": consents,
        "eligible": eligible,
        "formats": EXPORT_FORMATS,
        "consent_form": consent_form or FormState(values={"scope": "research"}),
        "withdraw_form": withdraw_form or FormState(values={"withdraw_scope": "research"}),
        "erase_form": erase_form or FormState(),
        "done": DATA_DONE.get(done, ""),
    }
    return render(request, "admin/patient_data.html", ctx, status_code=status_code, user=user)


@router.get("/admin/patients/{patient_id}/data")
def patient_data_page(
    request: Request,
    patient_id: int,
    user: AdminUser,
    session: WriteSession,
    done: str | None = None,
) -> Response:
    return _patient_data_page(request, user, session, patient_id, done=done or "")


@router.post("/admin/patients/{patient_id}/consent", dependencies=[SameOrigin])
def record_consent(
    request: Request, patient_id: int, user: AdminUser, posted: PostedForm, session: WriteSession
) -> Response:
    form = FormState.from_form(posted)
    given = _date_field(form, "given_on")
    if form.ok:
        try:
            with session.begin_nested():
                research.record_consent(
                    session,
                    actor=user.actor,
                    patient_id=patient_id,
                    scope=str(form.get("scope")),
                    given_on=given,
                )
        except NotFound:
            return not_found(request, user, "patient")
        except ValidationError as exc:
            _field_errors(form, exc.errors, {"scope": "scope", "given_on": "given_on"})
        else:
            return see_other(f"/admin/patients/{patient_id}/data?done=consent#consent")
    return _patient_data_page(
        request, user, session, patient_id, consent_form=form, status_code=422
    )


@router.post("/admin/patients/{patient_id}/consent/withdraw", dependencies=[SameOrigin])
def withdraw_consent(
    request: Request, patient_id: int, user: AdminUser, posted: PostedForm, session: WriteSession
) -> Response:
    form = FormState.from_form(posted)
    try:
        load_patient(session, user.actor, patient_id)
    except NotFound:
        return not_found(request, user, "patient")
    on = _date_field(form, "withdraw_on")
    if form.ok:
        try:
            with session.begin_nested():
                research.withdraw_consent(
                    session,
                    actor=user.actor,
                    patient_id=patient_id,
                    scope=str(form.get("withdraw_scope")) or "research",
                    on=on,
                )
        except NotFound:
            form.add("withdraw_scope", "There is no open consent covering this; nothing changed.")
        except ValidationError as exc:
            _field_errors(form, exc.errors, {"on": "withdraw_on", "scope": "withdraw_scope"})
        else:
            return see_other(f"/admin/patients/{patient_id}/data?done=withdrawn#consent")
    return _patient_data_page(
        request, user, session, patient_id, withdraw_form=form, status_code=422
    )


@router.get("/admin/patients/{patient_id}/export/{fmt}")
def download_record(
    request: Request, patient_id: int, fmt: str, user: AdminUser, session: WriteSession
) -> Response:
    """The patient's record as a file (the export service writes the audit row)."""
    if fmt not in interop.FORMATS:
        return not_found(request, user, "export format")
    try:
        body, media_type, name = interop.export_as(
            session, actor=user.actor, patient_id=patient_id, fmt=fmt
        )
    except NotFound:
        return not_found(request, user, "patient")
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/admin/patients/{patient_id}/erase", dependencies=[SameOrigin])
def erase_patient(
    request: Request, patient_id: int, user: AdminUser, posted: PostedForm, session: WriteSession
) -> Response:
    """Erase after the admin typed the patient's external id: a wrong or empty confirmation
    erases nothing and says so."""
    form = FormState.from_form(posted)
    try:
        patient = load_patient(session, user.actor, patient_id)
    except NotFound:
        return not_found(request, user, "patient")
    typed = str(form.get("confirm")).strip()
    if typed != patient.external_id:
        form.add(
            "confirm",
            "Type the patient's external id exactly as shown to confirm. Nothing was erased."
            if typed
            else "Type the patient's external id to confirm. Nothing was erased.",
        )
        return _patient_data_page(
            request, user, session, patient_id, erase_form=form, status_code=422
        )
    erasure.erase_patient(session, actor=user.actor, patient_id=patient.id)
    return see_other("/admin/data?done=erased")


@router.post("/admin/data/research-export", dependencies=[SameOrigin])
def research_export_download(request: Request, user: AdminUser, session: WriteSession) -> Response:
    """The de-identified research tables of the consenting patients, as one zip (the CLI's
    ``research-export`` writes the same files to a directory)."""
    with tempfile.TemporaryDirectory(prefix="acuhead-research-") as tmp:
        out_dir = Path(tmp) / "research"
        research.research_export(
            session, actor=user.actor, out_dir=out_dir, secret_key=_settings(request).secret_key
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(out_dir.iterdir()):
                archive.write(path, arcname=path.name)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="acuhead-research-{today}.zip"',
            "Cache-Control": "no-store",
        },
    )
