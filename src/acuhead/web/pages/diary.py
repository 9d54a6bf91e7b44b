"""Patient pages: record today (or fix one of the last seven days), and see the overview.

All reads and writes go through the services (``services.diary``, ``services.clinical``,
``services.care``), which check that the diary is the logged-in patient's own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from acuhead.domain.diary import Attack, Diary, RegimenKind
from acuhead.domain.outcomes import LATE_AFTER, day_end_utc
from acuhead.errors import Conflict, NotFound, ValidationError
from acuhead.interop.document import parse_attack
from acuhead.present import charts
from acuhead.services import care, clinical, idempotency, safety
from acuhead.services import diary as svc
from acuhead.services import questionnaire_due as due
from acuhead.store.mapping import attack_from_row, day_from_row
from acuhead.store.models import AttackRow, DiaryDayRow, Patient, TreatmentSessionRow, utcnow
from acuhead.web.deps import WriteSession
from acuhead.web.pages import diary_attacks
from acuhead.web.pages import diary_form as f
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

HEATMAP_MONTHS = 4
FIRST_DAY = dt.date(1900, 1, 1)
NOT_A_DAY = "diary day (a day in the future cannot be filled in yet)"
CHART_BLOCKS = 12


@dataclass(frozen=True, slots=True)
class StripDay:
    date: dt.date
    state: str  # headache | free | missing
    selected: bool

    @property
    def label(self) -> str:
        return {"headache": "headache", "free": "no headache", "missing": "not recorded"}[
            self.state
        ]


@dataclass(frozen=True, slots=True)
class AttackLine:
    id: int
    attack: Attack

    @property
    def summary(self) -> str:
        a = self.attack
        parts = [f"from {a.start:%H:%M}"]
        if a.end is not None:
            parts.append(
                f"to {a.end:%H:%M}" + (" next day" if a.end.date() > a.start.date() else "")
            )
        elif a.duration_min is None:
            parts.append("no end yet")
        if a.peak is not None:
            parts.append(f"worst {a.peak}/10")
        if a.locations:
            parts.append(", ".join(x.value for x in a.locations))
        if a.medications:
            parts.append("took " + ", ".join(m.name for m in a.medications))
        return " · ".join(parts)


def _patient(session: Any, user: PageUser) -> Patient | None:
    pid = user.actor.patient_id
    if pid is None:
        return None
    try:
        return svc.get_patient(session, actor=user.actor, patient_id=pid)
    except NotFound:
        return None


def _parse_day(raw: str | None, today: dt.date) -> dt.date | None:
    if not raw:
        return today
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    # Any past day can be filled in or corrected (issue 14); entries made more than two days
    # after the day are marked late in the outcomes (domain.outcomes.LATE_AFTER).
    if not FIRST_DAY <= day <= today:
        return None
    return day


def _week(
    session: Any, user: PageUser, patient: Patient, today: dt.date, also: dt.date | None = None
) -> tuple[dict[dt.date, DiaryDayRow], dict[dt.date, list[AttackRow]]]:
    """The last seven days (the strip), and the day ``also`` when it is older than them and
    (for "same as the day before") the day before it."""
    start = today - dt.timedelta(days=f.EDIT_DAYS)
    day_rows, _ = svc.list_days(
        session, actor=user.actor, patient_id=patient.id, start=start, end=today
    )
    attack_rows, _ = svc.list_attacks(
        session, actor=user.actor, patient_id=patient.id, start=start, end=today
    )
    if also is not None and also < start:
        lo = also - dt.timedelta(days=1)
        more_days, _ = svc.list_days(
            session, actor=user.actor, patient_id=patient.id, start=lo, end=also
        )
        more_attacks, _ = svc.list_attacks(
            session, actor=user.actor, patient_id=patient.id, start=lo, end=also
        )
        day_rows = [*day_rows, *more_days]
        attack_rows = [*attack_rows, *more_attacks]
    by_day: dict[dt.date, list[AttackRow]] = {}
    for a in attack_rows:
        by_day.setdefault(a.start_local.date(), []).append(a)
    return {r.day: r for r in day_rows}, by_day


def _strip(
    days: dict[dt.date, DiaryDayRow],
    attacks: dict[dt.date, list[AttackRow]],
    today: dt.date,
    selected: dt.date,
) -> list[StripDay]:
    out = []
    for k in range(f.EDIT_DAYS - 1, -1, -1):
        d = today - dt.timedelta(days=k)
        row = days.get(d)
        if attacks.get(d) or (row is not None and row.headache):
            state = "headache"
        elif row is not None:
            state = "free"
        else:
            state = "missing"
        out.append(StripDay(d, state, d == selected))
    return out


def _day_context(
    user: PageUser,
    patient: Patient,
    day: dt.date,
    today: dt.date,
    days: dict[dt.date, DiaryDayRow],
    attacks: dict[dt.date, list[AttackRow]],
    form: FormState,
    **extra: Any,
) -> dict[str, Any]:
    row = days.get(day)
    late_by = day_end_utc(day, patient.timezone) + LATE_AFTER
    return {
        "late_entry": row is not None and row.recorded_utc > late_by,
        "late_now": utcnow() > late_by,
        "patient": patient,
        "day": day,
        "today": today,
        "is_today": day == today,
        "yesterday": day - dt.timedelta(days=1),
        "strip": _strip(days, attacks, today, day),
        "attacks": [AttackLine(a.id, attack_from_row(a)) for a in attacks.get(day, [])],
        "recorded": row is not None,
        "version": row.version if row is not None else "",
        "form": form,
        "f": f,
        **extra,
    }


@router.get("/diary")
def diary_page(
    request: Request,
    user: PatientUser,
    session: WriteSession,
    date: str | None = None,
    copy: str | None = None,
    saved: str | None = None,
    alert: str | None = None,
    full: str | None = None,
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user)
    today = svc.local_today(patient.timezone)
    day = _parse_day(date, today)
    if day is None:
        return not_found(request, user, NOT_A_DAY)
    days, attacks = _week(session, user, patient, today, also=day)
    now = dt.datetime.now(ZoneInfo(patient.timezone)).replace(tzinfo=None)
    values = f.default_values(day, today, now)
    notice = ""
    row = days.get(day)
    if copy:
        source = day - dt.timedelta(days=1)
        src_row = days.get(source)
        src_attacks = attacks.get(source, [])
        if src_row is None and not src_attacks:
            notice = f"Nothing was recorded on {source:%A %d %B} to copy."
        else:
            if src_row is not None:
                values.update(f.day_values(day_from_row(src_row)))
            if src_attacks:
                values.update(f.attack_values(attack_from_row(src_attacks[0])))
                values["headache"] = "yes"
            notice = (
                f"Filled in from {source:%A %d %B}. Check each answer, change what differs, "
                "then save."
            )
    elif row is not None:
        values.update(f.day_values(day_from_row(row)))
    form = FormState(values=values)
    ctx = _day_context(
        user,
        patient,
        day,
        today,
        days,
        attacks,
        form,
        notice=notice,
        saved=bool(saved),
        alert=bool(alert),
        copied=bool(copy) and "Filled in" in notice,
    )
    ctx["due_questionnaires"] = due.for_patient(session, actor=user.actor, patient_id=patient.id)
    # Asking for the form itself (a past day, "same as yesterday", just saved) shows it whole.
    wants_form = bool(full or copy or date or saved)
    ctx.update(quick_context(session, user, patient, full=wants_form))
    return render(request, "diary/today.html", ctx, user=user)


@dataclass(frozen=True, slots=True)
class Ongoing:
    """The attack going on now, as the first screen shows it."""

    id: int
    version: int
    start: str
    peak: int | None
    meds: tuple[str, ...]


def quick_context(session: Any, user: PageUser, patient: Patient, *, full: bool) -> dict[str, Any]:
    """What the first screen's "Migraine now" / ongoing-attack panel needs (issue 14). Fresh
    idempotency keys ride in each quick form, so a double tap or a resent form (no
    JavaScript) is stored once; the offline queue replaces them with its own."""
    row = svc.ongoing_attack(session, actor=user.actor, patient_id=patient.id)
    ongoing = None
    if row is not None:
        a = attack_from_row(row)
        ongoing = Ongoing(
            row.id, row.version, f"{a.start:%H:%M}", a.peak, tuple(m.name for m in a.medications)
        )
    meds = diary_attacks.usual_meds(session, user, patient)
    return {
        "ongoing": ongoing,
        "full": full,
        "usual_meds": meds,
        "new_key": str(uuid.uuid4()),
        "keys": [str(uuid.uuid4()) for _ in range(len(meds) + 3)],
    }


@router.post("/diary/{day}", dependencies=[SameOrigin])
def save_day(
    request: Request, day: str, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    asked_at = utcnow()
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user, status_code=404)
    today = svc.local_today(patient.timezone)
    when = _parse_day(day, today)
    if when is None:
        return not_found(request, user, NOT_A_DAY)
    days, attacks = _week(session, user, patient, today, also=when)
    form = FormState.from_form(posted, multi=f.MULTI)
    existing = attacks.get(when, [])
    want_attack = not existing or bool(form.get("add_attack"))
    entry, attack_doc = f.parse_day(form, when, want_attack=want_attack)
    if entry is not None and not entry.headache and existing:
        form.add(
            "headache",
            "A headache is already recorded on this day. Delete it below first, or choose yes.",
        )
    attack: Attack | None = None
    if form.ok and attack_doc is not None:
        try:
            attack = parse_attack(attack_doc, timezone=patient.timezone, today=today)
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, f.ERROR_FIELDS)
    version_raw = str(form.get("version"))
    version = int(version_raw) if version_raw.isdigit() else None
    opened = False
    try:
        key = idempotency.check_key(str(posted.get("idempotency_key", "")), "idempotency_key")
    except ValidationError as exc:
        apply_field_errors(form, exc.errors, {})
        key = None
    if form.ok and entry is not None:
        try:

            def write() -> dict[str, Any]:
                with session.begin_nested():
                    svc.upsert_day(
                        session,
                        actor=user.actor,
                        patient_id=patient.id,
                        day=entry,
                        version=version,
                        asked_at=asked_at,
                    )
                    alert = False
                    if attack is not None:
                        row = svc.create_attack(
                            session, actor=user.actor, patient_id=patient.id, attack=attack
                        )
                        alert = any(
                            a.attack_id == row.id
                            for a in safety.list_alerts(
                                session, actor=user.actor, patient_id=patient.id, only_open=True
                            )
                        )
                return {"saved": when.isoformat(), "alert": alert}

            # A day saved offline is sent again by the phone's outbox until it hears an
            # answer: with its key it is stored once (services/idempotency.py).
            fields = {k: v for k, v in form.values.items() if k != "idempotency_key"}
            answer, _ = idempotency.once(
                session,
                actor=user.actor,
                patient_id=patient.id,
                key=key,
                operation=f"page day {when.isoformat()}",
                body=fields,
                status_code=200,
                work=write,
            )
            opened = bool(answer["alert"])
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, f.ERROR_FIELDS)
        except Conflict:
            form.add(
                "_form",
                "This day was changed somewhere else while you were editing. Your answers are "
                "still below: check them and save again.",
            )
            # The version stored now (perhaps an entry made since the page was loaded), so
            # saving again replaces it knowingly.
            fresh = session.scalar(
                select(DiaryDayRow.version).where(
                    DiaryDayRow.patient_id == patient.id, DiaryDayRow.day == when
                )
            )
            form.values["version"] = "" if fresh is None else str(fresh)
    if not form.ok or entry is None:
        if diary_attacks.wants_json(request):  # the outbox: the patient sees it in the list
            conflict = "_form" in form.errors and "changed somewhere else" in form.errors["_form"]
            stored_version = str(form.values.get("version", ""))
            body: dict[str, Any] = {
                "detail": " ".join(form.errors.values()),
                "errors": [{"field": k, "msg": v} for k, v in form.errors.items()],
            }
            if conflict and stored_version.isdigit():
                body["current_version"] = int(stored_version)
            return JSONResponse(body, status_code=409 if conflict else 422)
        ctx = _day_context(user, patient, when, today, days, attacks, form, notice="")
        ctx["version"] = form.get("version")
        return render(request, "diary/today.html", ctx, status_code=422, user=user)
    query = [] if when == today else [f"date={when.isoformat()}"]
    query.append("saved=1")
    if opened:
        query.append("alert=1")
    if diary_attacks.wants_json(request):
        return JSONResponse({"saved": when.isoformat(), "alert": opened})
    return see_other("/diary?" + "&".join(query))


@router.post("/diary/{day}/attacks/{attack_id}/delete", dependencies=[SameOrigin])
def delete_attack(
    request: Request, day: str, attack_id: int, user: PatientUser, session: WriteSession
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    try:
        svc.delete_attack(session, actor=user.actor, patient_id=patient.id, attack_id=attack_id)
    except NotFound:
        return not_found(request, user, "headache record")
    today = svc.local_today(patient.timezone)
    when = _parse_day(day, today)
    target = "/diary" if when in (None, today) else f"/diary?date={when}"
    return see_other(target)


def overview_context(
    session: Any,
    user: PageUser,
    patient: Patient,
    today: dt.date,
    *,
    units: list[dict[str, Any]] | None = None,
    diary: Diary | None = None,
    sessions: Sequence[TreatmentSessionRow] | None = None,
) -> dict[str, Any]:
    """Calendar heat map, 28-day migraine-days chart and the treatment shown on it.

    A caller that already holds the read-out day units, the diary and the treatment sessions
    (the practitioner's patient page) passes them in, so nothing is loaded or classified
    twice. Otherwise the chart's year of diary is read once and serves the heat map too."""
    actor = user.actor
    if units is None:
        chart_start = today - dt.timedelta(days=CHART_BLOCKS * 28 - 1)
        if diary is None:
            diary = svc.load_diary(
                session, actor=actor, patient_id=patient.id, start=chart_start, end=today
            )
        read = clinical.readout(
            session, actor=actor, patient_id=patient.id, start=chart_start, end=today, diary=diary
        )
        units = list(read["days"])
    heat_start = (today.replace(day=1) - dt.timedelta(days=(HEATMAP_MONTHS - 1) * 28)).replace(
        day=1
    )
    if diary is None:
        diary = svc.load_diary(
            session, actor=actor, patient_id=patient.id, start=heat_start, end=today
        )
    peaks: dict[dt.date, int | None] = {}
    for a in diary.attacks:
        if a.start.date() < heat_start - dt.timedelta(days=3):
            continue
        for d in a.local_dates():
            if a.peak is not None:
                peaks[d] = max(peaks.get(d) or 0, a.peak)
    marks = charts.day_marks(units, peaks)
    blocks = charts.blocks_from_units(units, end=today, count=CHART_BLOCKS)
    while len(blocks) > 1 and blocks[0].recorded == 0:
        blocks.pop(0)  # before the diary began: nothing to show
    spans: list[charts.Span] = []
    for r in diary.regimens:
        spans.append(
            charts.Span(
                r.start,
                r.stop or today,
                r.name,
                kind="drug" if r.kind == RegimenKind.DRUG else "non_drug",
            )
        )
    if sessions is None:
        sessions, _ = care.list_treatment_sessions(
            session, actor=actor, patient_id=patient.id, limit=500
        )
    session_days = sorted({s.start_local.date() for s in sessions})
    courses = care.list_courses(session, actor=actor, patient_id=patient.id)
    for k, course in enumerate(courses):
        # A course runs from its start to its last session before the next course starts.
        nxt = courses[k + 1].start_date if k + 1 < len(courses) else None
        mine = [d for d in session_days if d >= course.start_date and (nxt is None or d < nxt)]
        end = mine[-1] if mine else course.start_date
        spans.append(charts.Span(course.start_date, max(end, course.start_date), "acupuncture"))
    if session_days and not any(s.kind == "course" for s in spans):
        spans.append(charts.Span(session_days[0], session_days[-1], "acupuncture"))
    recorded = sum(1 for u in units if u.get("recorded"))
    return {
        "months": charts.calendar_heatmap(marks, heat_start, today),
        "chart": charts.migraine_days_chart(blocks, spans=spans, sessions=session_days),
        "blocks": blocks,
        "spans": spans,
        "session_count": len(session_days),
        "first_session": session_days[0] if session_days else None,
        "last_session": session_days[-1] if session_days else None,
        "recorded_days": recorded,
        "today": today,
        "heat_start": heat_start,
    }


@router.get("/diary/overview")
def overview(request: Request, user: PatientUser, session: WriteSession) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user)
    today = svc.local_today(patient.timezone)
    ctx = overview_context(session, user, patient, today)
    ctx["patient"] = patient
    return render(request, "diary/overview.html", ctx, user=user)
