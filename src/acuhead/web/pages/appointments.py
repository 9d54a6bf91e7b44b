"""Appointment pages: a practitioner's day and week, with booking, moving and cancelling.

Everything is in the clinic's zone: the date and time typed are the clinic's wall clock (a time
the spring change skips is refused with the reason), and the lists are clinic days. A booking
that overlaps another of the same practitioner is refused beside the time field, naming the
clashing slot; what was typed stays in the form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acuhead.domain import appointments as rules
from acuhead.errors import Conflict, Forbidden, NotFound, ValidationError
from acuhead.services import appointments as svc
from acuhead.services import calendar_feed
from acuhead.services.actors import find_patient
from acuhead.web.deps import ReadSession, SettingsDep, WriteSession
from acuhead.web.pages.base import (
    FormState,
    PageUser,
    PostedForm,
    SameOrigin,
    StaffUser,
    apply_field_errors,
    not_found,
    render,
    see_other,
)

router = APIRouter()

DURATIONS = (15, 20, 30, 45, 60, 75, 90, 120)
FIELDS = {
    "patient_id": "patient",
    "practitioner_id": "practitioner",
    "start": "time",
    "duration_min": "duration",
    "note": "note",
    "date": "date",
    "time": "time",
}


def _day(raw: str | None, session: Session, clinic_id: int) -> dt.date:
    if raw:
        try:
            return rules.check_day(dt.date.fromisoformat(raw))
        except (ValueError, ValidationError):
            pass  # not a date we book on: today instead
    return svc.clinic_today(session, clinic_id)


def _practitioner(raw: str | None, user: PageUser, choices: list[tuple[int, str]]) -> int:
    ids = [pid for pid, _ in choices]
    if raw and raw.isdigit() and int(raw) in ids:
        return int(raw)
    if user.actor.user_id in ids:
        return user.actor.user_id or 0
    return ids[0] if ids else 0


def _url(day: dt.date, practitioner: int, view: str, **extra: Any) -> str:
    query = {"day": day.isoformat(), "practitioner": practitioner, "view": view, **extra}
    return "/clinic/appointments?" + urlencode(query)


def _context(
    session: Session,
    user: PageUser,
    *,
    day: dt.date,
    practitioner: int,
    view: str,
    form: FormState | None = None,
    notice: str = "",
) -> dict[str, Any]:
    choices = svc.practitioners(session, actor=user.actor)
    tz = svc.clinic_zone(session, user.actor.clinic_id)
    today = svc.clinic_today(session, user.actor.clinic_id)
    if form is None:
        form = FormState(
            values={
                "date": day.isoformat(),
                "time": "09:00",
                "duration": "45",
                "practitioner": str(practitioner),
            }
        )
    week: dict[dt.date, list[svc.AppointmentView]] = {}
    listed: list[svc.AppointmentView] = []
    if view == "week":
        week = svc.week(session, actor=user.actor, day=day, practitioner_id=practitioner)
    else:
        listed = svc.day(
            session, actor=user.actor, day=day, practitioner_id=practitioner, include_cancelled=True
        )
    step = dt.timedelta(days=7 if view == "week" else 1)
    may_feed = user.actor.role == "admin" or user.actor.user_id == practitioner
    feed = (
        calendar_feed.status(session, actor=user.actor, practitioner_id=practitioner)
        if may_feed and practitioner
        else None
    )
    candidates = svc.session_candidates(session, actor=user.actor, views=listed)
    return {
        "candidates": candidates,
        "feed": feed,
        "day": day,
        "today": today,
        "view": view,
        "tz": tz,
        "practitioner": practitioner,
        "practitioners": choices,
        "practitioner_name": dict(choices).get(practitioner, ""),
        "appointments": listed,
        "week": week,
        "prev_url": _url(day - step, practitioner, view),
        "next_url": _url(day + step, practitioner, view),
        "today_url": _url(today, practitioner, view),
        "day_url": _url(day, practitioner, "day"),
        "week_url": _url(day, practitioner, "week"),
        "durations": DURATIONS,
        "form": form,
        "notice": notice,
    }


@router.get("/clinic/appointments")
def appointments_page(
    request: Request,
    user: StaffUser,
    session: ReadSession,
    day: str | None = None,
    practitioner: str | None = None,
    view: str = "day",
    booked: str | None = None,
    moved: str | None = None,
    cancelled: str | None = None,
    revoked: str | None = None,
    zone: str | None = None,
    linked: str | None = None,
    patient: str | None = None,
) -> Response:
    the_day = _day(day, session, user.actor.clinic_id)
    choices = svc.practitioners(session, actor=user.actor)
    prac = _practitioner(practitioner, user, choices)
    notice = (
        "The appointment is booked."
        if booked
        else "The appointment is moved."
        if moved
        else "The appointment is cancelled; its time is free again."
        if cancelled
        else "The calendar URL is revoked: calendar apps that use it get nothing from now on."
        if revoked
        else "The clinic's time zone is saved."
        if zone
        else "The session is linked to its appointment."
        if linked
        else ""
    )
    ctx = _context(
        session,
        user,
        day=the_day,
        practitioner=prac,
        view="week" if view == "week" else "day",
        notice=notice,
    )
    if patient:
        ctx["form"].values["patient"] = patient
    return render(request, "clinic/appointments.html", ctx, user=user)


def _start(form: FormState, tz: str) -> dt.datetime | None:
    """The clinic-local instant the form names, or None with the field errors added."""
    try:
        day = rules.check_day(dt.date.fromisoformat(str(form.get("date"))), "date")
    except ValueError:
        form.add("date", "enter a date, e.g. 2026-03-30")
        return None
    except ValidationError as exc:
        apply_field_errors(form, exc.errors, FIELDS)
        return None
    try:
        wall = rules.parse_wall(str(form.get("time")))
        return rules.local_to_instant(day, wall, tz, "time")
    except ValidationError as exc:
        apply_field_errors(form, exc.errors, FIELDS)
        return None


def _minutes(form: FormState) -> int | None:
    raw = str(form.get("duration"))
    if not raw.isdigit():
        form.add("duration", "choose how long the appointment lasts")
        return None
    return int(raw)


@router.post("/clinic/appointments", dependencies=[SameOrigin])
def book_page(
    request: Request, user: StaffUser, session: WriteSession, posted: PostedForm
) -> Response:
    form = FormState.from_form(posted)
    choices = svc.practitioners(session, actor=user.actor)
    prac = _practitioner(str(form.get("practitioner")), user, choices)
    tz = svc.clinic_zone(session, user.actor.clinic_id)
    ref = str(form.get("patient"))
    patient_id = None
    if not ref:
        form.add("patient", "enter the patient's external id")
    else:
        try:
            patient_id = find_patient(session, user.actor, ref).id
        except NotFound:
            form.add("patient", f"no patient of this clinic has the id {ref!r}")
    start = _start(form, tz)
    minutes = _minutes(form)
    if form.ok and patient_id is not None and start is not None and minutes is not None:
        try:
            row = svc.book(
                session,
                actor=user.actor,
                patient_id=patient_id,
                practitioner_id=prac,
                start=start,
                duration_min=minutes,
                note=str(form.get("note")),
            )
            return see_other(_url(start.date(), prac, "day", booked=row.id))
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, FIELDS)
    day = start.date() if start is not None else _day(None, session, user.actor.clinic_id)
    ctx = _context(session, user, day=day, practitioner=prac, view="day", form=form)
    return render(request, "clinic/appointments.html", ctx, status_code=422, user=user)


def _version(form: FormState) -> int | None:
    raw = str(form.get("version"))
    return int(raw) if raw.isdigit() else None


def _refused(
    request: Request, session: Session, user: PageUser, appointment_id: int, message: str
) -> Response:
    view = svc.get(session, actor=user.actor, appointment_id=appointment_id)
    ctx = _context(session, user, day=view.local_day, practitioner=view.practitioner_id, view="day")
    ctx["refused"] = {"id": appointment_id, "message": message}
    return render(request, "clinic/appointments.html", ctx, status_code=422, user=user)


@router.post("/clinic/appointments/{appointment_id}/move", dependencies=[SameOrigin])
def move_page(
    request: Request,
    appointment_id: int,
    user: StaffUser,
    session: WriteSession,
    posted: PostedForm,
) -> Response:
    form = FormState.from_form(posted)
    try:
        current = svc.get(session, actor=user.actor, appointment_id=appointment_id)
    except NotFound:
        return not_found(request, user, "appointment")
    start = _start(form, current.timezone)
    minutes = _minutes(form)
    if start is None or minutes is None:
        return _refused(request, session, user, appointment_id, "; ".join(form.errors.values()))
    try:
        row = svc.move(
            session,
            actor=user.actor,
            appointment_id=appointment_id,
            version=_version(form),
            start=start,
            duration_min=minutes,
        )
    except ValidationError as exc:
        return _refused(
            request, session, user, appointment_id, "; ".join(e.message for e in exc.errors)
        )
    except Conflict:
        return _refused(
            request,
            session,
            user,
            appointment_id,
            "someone changed this appointment meanwhile; here it is as it is now",
        )
    return see_other(_url(start.date(), row.practitioner_id, "day", moved=row.id))


@router.post("/clinic/appointments/{appointment_id}/cancel", dependencies=[SameOrigin])
def cancel_page(
    request: Request,
    appointment_id: int,
    user: StaffUser,
    session: WriteSession,
    posted: PostedForm,
) -> Response:
    form = FormState.from_form(posted)
    try:
        row = svc.cancel(
            session, actor=user.actor, appointment_id=appointment_id, version=_version(form)
        )
    except NotFound:
        return not_found(request, user, "appointment")
    except Conflict:
        return _refused(
            request,
            session,
            user,
            appointment_id,
            "someone changed this appointment meanwhile; here it is as it is now",
        )
    view = svc.get(session, actor=user.actor, appointment_id=row.id)
    return see_other(_url(view.local_day, row.practitioner_id, "day", cancelled=row.id))


# ---- the calendar feed --------------------------------------------------------------------


@router.get("/calendar/{token}.ics")
def calendar_ics(token: str, session: ReadSession, settings: SettingsDep) -> Response:
    """The practitioner's appointments for calendar apps; the token is the credential (no
    login), a revoked or unknown one answers 404. No health data (services/calendar_feed)."""
    try:
        body = calendar_feed.render(session, token=token, base_url=settings.base_url)
    except NotFound:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.post("/clinic/appointments/feed", dependencies=[SameOrigin])
def create_feed(
    request: Request,
    user: StaffUser,
    session: WriteSession,
    posted: PostedForm,
    settings: SettingsDep,
) -> Response:
    """A new secret URL, shown once (only its hash is kept); the old one stops working."""
    form = FormState.from_form(posted)
    choices = svc.practitioners(session, actor=user.actor)
    prac = _practitioner(str(form.get("practitioner")), user, choices)
    try:
        token = calendar_feed.create(session, actor=user.actor, practitioner_id=prac)
    except (Forbidden, NotFound):
        return not_found(request, user, "calendar feed")
    day = svc.clinic_today(session, user.actor.clinic_id)
    ctx = _context(session, user, day=day, practitioner=prac, view="day")
    ctx["feed_url"] = f"{settings.base_url.rstrip('/')}/calendar/{token}.ics"
    return render(request, "clinic/appointments.html", ctx, user=user)


@router.post("/clinic/appointments/feed/revoke", dependencies=[SameOrigin])
def revoke_feed(user: StaffUser, session: WriteSession, posted: PostedForm) -> Response:
    form = FormState.from_form(posted)
    choices = svc.practitioners(session, actor=user.actor)
    prac = _practitioner(str(form.get("practitioner")), user, choices)
    calendar_feed.revoke(session, actor=user.actor, practitioner_id=prac)
    day = svc.clinic_today(session, user.actor.clinic_id)
    return see_other(_url(day, prac, "day", revoked=1))


@router.post("/clinic/appointments/zone", dependencies=[SameOrigin])
def set_zone(
    request: Request, user: StaffUser, session: WriteSession, posted: PostedForm
) -> Response:
    """The clinic's time zone (admins): days, appointments and feeds are in it."""
    form = FormState.from_form(posted)
    try:
        svc.set_clinic_zone(session, actor=user.actor, timezone=str(form.get("timezone")))
    except Forbidden:
        return not_found(request, user, "setting")
    except ValidationError as exc:
        day = svc.clinic_today(session, user.actor.clinic_id)
        choices = svc.practitioners(session, actor=user.actor)
        ctx = _context(
            session, user, day=day, practitioner=_practitioner(None, user, choices), view="day"
        )
        ctx["zone_error"] = "; ".join(e.message for e in exc.errors)
        ctx["zone_value"] = str(form.get("timezone"))
        return render(request, "clinic/appointments.html", ctx, status_code=422, user=user)
    return see_other("/clinic/appointments?zone=saved")


@router.post("/clinic/appointments/{appointment_id}/link", dependencies=[SameOrigin])
def link_page(
    request: Request,
    appointment_id: int,
    user: StaffUser,
    session: WriteSession,
    posted: PostedForm,
) -> Response:
    """Link the session recorded from this appointment (offered in the day view)."""
    form = FormState.from_form(posted)
    raw = str(form.get("session_id"))
    try:
        row = svc.link_session(
            session,
            actor=user.actor,
            appointment_id=appointment_id,
            version=_version(form),
            session_id=int(raw) if raw.isdigit() else 0,
        )
    except NotFound:
        return not_found(request, user, "appointment")
    except (ValidationError, Conflict) as exc:
        return _refused(request, session, user, appointment_id, str(exc))
    view = svc.get(session, actor=user.actor, appointment_id=row.id)
    return see_other(_url(view.local_day, row.practitioner_id, "day", linked=row.id))
