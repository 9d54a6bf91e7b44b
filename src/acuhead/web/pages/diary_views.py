"""The patient's own views (issue 14): what seems to go with their attacks, a letter for their
doctor, and their preventive medicines.

Everything is the logged-in patient's own record: the services check it (a patient sees only
their own), and no route takes a patient id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from acuhead.analytics.results import TriggerFactor
from acuhead.domain.diary import Regimen, RegimenKind
from acuhead.domain.triggers import DEFAULT_TRIGGER_CONFIG, Verdict
from acuhead.errors import Conflict, NotFound, ValidationError
from acuhead.services import diary as svc
from acuhead.services import letters, outcomes
from acuhead.store.models import Patient
from acuhead.web.deps import WriteSession
from acuhead.web.pages.base import (
    FormState,
    PageUser,
    PatientUser,
    PostedForm,
    SameOrigin,
    apply_field_errors,
    not_found,
    render,
    see_other,
)

router = APIRouter()


def _patient(session: Any, user: PageUser) -> Patient | None:
    pid = user.actor.patient_id
    if pid is None:
        return None
    try:
        return svc.get_patient(session, actor=user.actor, patient_id=pid)
    except NotFound:
        return None


# ---- what seems to go with my attacks -----------------------------------------------------


def factor_words(factor: str, label: str) -> str:
    """A factor as a patient would say it (the analysis' own labels are for clinicians)."""
    cfg = DEFAULT_TRIGGER_CONFIG
    if factor == "stress_high":
        return f"a day with high stress ({cfg.stress_threshold} or more out of 10)"
    if factor == "poor_sleep":
        return f"a night with less than {cfg.sleep_threshold_hours:g} hours of sleep"
    if factor == "menstruation":
        return "a day of your period"
    return f"a day with {label}" if not factor.startswith("trigger:") else f'"{label}"'


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{round(value * 100)} %"


@dataclass(frozen=True, slots=True)
class FactorLine:
    """One factor in plain words: a heading, what was seen, and the verdict as a badge."""

    words: str
    sentence: str
    badge: str
    tone: str  # for the badge colour: warn | ok | info | muted


def plain(result: TriggerFactor) -> FactorLine:
    """The analysis' verdict for one factor, in plain words; "not enough data" stays that."""
    words = factor_words(result.factor, result.label)
    seen = (
        f"An attack started on the day or the next after {_percent(result.exposed_risk)} "
        f"of {result.exposed_days} such days, and after {_percent(result.unexposed_risk)} "
        f"of {result.unexposed_days} other days."
    )
    verdict = Verdict(result.verdict)
    if verdict == Verdict.NOT_ENOUGH_DATA:
        return FactorLine(
            words,
            f"Not enough data yet to say anything: {result.reason}",
            "not enough data",
            "muted",
        )
    if verdict == Verdict.ASSOCIATED:
        return FactorLine(
            words,
            seen + " Attacks seem to come more often after it.",
            "seems to go with attacks",
            "warn",
        )
    if verdict == Verdict.INVERSELY_ASSOCIATED:
        return FactorLine(
            words,
            seen + " Attacks seem to come less often after it.",
            "fewer attacks after it",
            "ok",
        )
    return FactorLine(words, seen + " No clear link so far.", "no clear link", "info")


@router.get("/diary/triggers")
def my_triggers(request: Request, user: PatientUser, session: WriteSession) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user)
    data = outcomes.patient_triggers(
        session, actor=user.actor, patient_id=patient.id, config=DEFAULT_TRIGGER_CONFIG
    )
    lines = [plain(r) for r in data.factors]
    order = {"warn": 0, "ok": 1, "info": 2, "muted": 3}
    lines.sort(key=lambda line: order[line.tone])
    return render(request, "diary/triggers.html", {"lines": lines}, user=user)


# ---- a letter for my doctor ----------------------------------------------------------------


@router.get("/diary/letter.pdf")
def my_letter(request: Request, user: PatientUser, session: WriteSession) -> Response:
    """The same letter the practitioner sends (services/letters.py), of the patient's own
    record only: the route takes no patient id."""
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    pdf = letters.physician_letter_pdf(session, actor=user.actor, patient_id=patient.id)
    today = svc.local_today(patient.timezone)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="letter-for-my-doctor-{today}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# ---- preventive medicines -------------------------------------------------------------------


def _medicines_page(
    request: Request, user: PageUser, session: Any, patient: Patient, form: FormState, status: int
) -> Response:
    rows = svc.list_regimens(session, actor=user.actor, patient_id=patient.id)
    return render(
        request,
        "diary/medicines.html",
        {"regimens": rows, "form": form, "today": svc.local_today(patient.timezone)},
        status_code=status,
        user=user,
    )


@router.get("/diary/medicines")
def my_medicines(request: Request, user: PatientUser, session: WriteSession) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user)
    today = svc.local_today(patient.timezone)
    form = FormState(values={"start": today.isoformat()})
    return _medicines_page(request, user, session, patient, form, 200)


def _date(form: FormState, name: str, label: str, required: bool) -> dt.date | None:
    raw = str(form.get(name))
    if not raw:
        if required:
            form.add(name, f"{label}: choose a date.")
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        form.add(name, f"{label}: choose a date.")
        return None


@router.post("/diary/medicines", dependencies=[SameOrigin])
def add_medicine(
    request: Request, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    """A preventive medicine the patient takes every day (not one taken for an attack)."""
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    form = FormState.from_form(posted)
    name = str(form.get("name"))
    if not name or len(name) > 100:
        form.add("name", "Write the medicine's name (at most 100 characters).")
    dose = str(form.get("dose"))
    if len(dose) > 50:
        form.add("dose", "The dose can be at most 50 characters.")
    start = _date(form, "start", "Started", True)
    stop = _date(form, "stop", "Stopped", False)
    if form.ok and start is not None:
        try:
            svc.create_regimen(
                session,
                actor=user.actor,
                patient_id=patient.id,
                regimen=Regimen(name, RegimenKind.DRUG, start, stop, dose or None),
            )
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, {"stop": "stop", "start": "start"})
    if not form.ok:
        return _medicines_page(request, user, session, patient, form, 422)
    return see_other("/diary/medicines?saved=1")


# ---- my reminder time ------------------------------------------------------------------------


def _reminder_page(
    request: Request, user: PageUser, form: FormState, version: int, status: int = 200
) -> Response:
    return render(
        request,
        "diary/reminder.html",
        {"form": form, "version": version},
        status_code=status,
        user=user,
    )


@router.get("/diary/reminder")
def my_reminder(request: Request, user: PatientUser, session: WriteSession) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user)
    minute, version = svc.reminder_minute(session, actor=user.actor, patient_id=patient.id)
    value = "" if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"
    return _reminder_page(request, user, FormState(values={"reminder_time": value}), version)


@router.post("/diary/reminder", dependencies=[SameOrigin])
def set_reminder(
    request: Request, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    """The time of day the e-mail diary reminder may come (empty: the clinic's default)."""
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    form = FormState.from_form(posted)
    raw = str(form.get("reminder_time"))
    raw_version = str(form.get("version"))
    version = int(raw_version) if raw_version.isdigit() else None
    minute: int | None = None
    if raw:
        try:
            t = dt.time.fromisoformat(raw)
            minute = t.hour * 60 + t.minute
        except ValueError:
            form.add("reminder_time", "Use hours and minutes, for example 20:00.")
    if form.ok:
        try:
            svc.set_reminder_minute(
                session, actor=user.actor, patient_id=patient.id, minute=minute, version=version
            )
        except Conflict:
            form.add(
                "_form",
                "Your reminder time was changed somewhere else meanwhile. It is shown again "
                "below as you chose it: save again to keep it.",
            )
            _, version = svc.reminder_minute(session, actor=user.actor, patient_id=patient.id)
            return _reminder_page(request, user, form, version, 409)
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, {"reminder_time": "reminder_time"})
    if not form.ok:
        return _reminder_page(request, user, form, version or 0, 422)
    return see_other("/diary/reminder?saved=1")
