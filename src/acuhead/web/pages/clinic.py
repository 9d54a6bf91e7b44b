"""Practitioner pages: the clinic dashboard, the patient page, red-flag review and intake.

The patient page puts what must be acted on first: the safety gate's answer
(``services.gate.readiness``: "screen needed" with the intake link, each flag the record
raises), open red-flag alerts (with the form that records a referral or a documented
clearance), then diagnoses by ICHD-3 with their evidence and any medication-overuse warning,
the calendar and migraine-days chart, the outcome panel
(``services.outcomes.patient_outcomes``, the figures of ``acuhead outcomes``, worded by
``web.outcome_panel``), then the timeline of diary days, attacks (with the ICHD-3 code and the
reasons for it), medication and treatment sessions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from acuhead.domain import redflags
from acuhead.domain.diagnosis import ICHD3_RULES
from acuhead.domain.diary import SAFETY_LABELS, SEX_LABELS, DiaryDay, MedClass, SafetyProfile, Sex
from acuhead.domain.questionnaires import CONCERN_RESOLUTIONS
from acuhead.errors import Conflict, NotFound, ValidationError, VersionRequired
from acuhead.services import care, clinical, dashboard, gate, questionnaire_due, safety
from acuhead.services import diary as svc
from acuhead.services import patient_search as patient_search_svc
from acuhead.services.outcomes import patient_outcomes
from acuhead.services.patient_record import CONTACT_FIELDS, contact_details, update_record
from acuhead.store.models import Patient
from acuhead.web import outcome_panel
from acuhead.web.deps import WriteSession
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
from acuhead.web.pages.diary import overview_context
from acuhead.web.pages.zones import clinic_zone

router = APIRouter()

TIMELINE_DAYS = 60
WINDOW_DAYS = 364
RESOLUTION_KINDS = (
    ("referral", "Referred for medical review"),
    ("clearance", "Cleared: reviewed, does not stop acupuncture care"),
)
ADVERSE_EVENT_DAYS = 30  # the dashboard lists adverse events of sessions in the last month
MED_LABELS = {m.value: m.value.replace("_", " ") for m in MedClass}
# A self-harm alert (a questionnaire's safety item) is closed by contact or referral instead.
CONCERN_KINDS = tuple(CONCERN_RESOLUTIONS.items())
ALERT_SOURCES = {
    "intake": "the intake screen",
    "diary": "the diary",
    "record": "the record",
    "questionnaire": "a questionnaire",
}


@router.get("/clinic")
def clinic_dashboard(
    request: Request,
    user: StaffUser,
    session: WriteSession,
    mine: str | None = None,
    due_page: str = "1",
) -> Response:
    """The practitioner's day: today's appointments first (each patient's gate answer,
    migraine days, questionnaires due, diary gap), then open alerts, then the long lists
    collapsed, the questionnaires list paged (issue 15: 39 rows must not dominate)."""
    day = dashboard.day_list(
        session, actor=user.actor, practitioner_id=user.actor.user_id if mine else None
    )
    board = dashboard.clinic_dashboard(session, actor=user.actor, mine_only=bool(mine))
    due_all = questionnaire_due.for_clinic(session, actor=user.actor, mine_only=bool(mine))
    size = dashboard.QUESTIONNAIRES_PAGE
    pages = max(1, -(-len(due_all) // size))
    # A page link edited by hand is read as the nearest page, never an error page.
    page = min(max(int(due_page), 1), pages) if due_page.isdigit() and len(due_page) < 6 else 1
    due = due_all[(page - 1) * size : page * size]
    since = dt.date.today() - dt.timedelta(days=ADVERSE_EVENT_DAYS)
    events, _ = care.list_adverse_events(session, actor=user.actor, since=since, limit=20)
    if mine:  # the same scope as the patient lists
        mine_ids = {p.patient_id for p in board.patients}
        events = [e for e in events if e["patient_id"] in mine_ids]
    labels = {p.patient_id: p.label for p in board.patients}
    for e in events:
        e["patient_label"] = labels.get(e["patient_id"], f"patient {e['patient_id']}")
    ctx = {
        "board": board,
        "day": day,
        "mine": bool(mine),
        "due": due,
        "due_total": len(due_all),
        "due_page": page,
        "due_pages": pages,
        "adverse_events": events,
        "adverse_event_days": ADVERSE_EVENT_DAYS,
    }
    return render(request, "clinic/dashboard.html", ctx, user=user)


@router.get("/clinic/search")
def patient_search(
    request: Request,
    user: StaffUser,
    session: WriteSession,
    q: str = "",
    page: str = "1",
) -> Response:
    """Find a patient by name, external id or birth date (1980-03-04 or 04.03.1980), in the
    user's clinic only; one match opens nothing by itself (the list shows who it is)."""
    error = ""
    result = None
    try:
        number = int(page) if page.isdigit() and len(page) < 7 else 1
        result = patient_search_svc.search(session, actor=user.actor, query=q, page=number)
    except ValidationError as exc:
        error = "; ".join(e.message for e in exc.errors)
    ctx = {"q": q, "result": result, "error": error}
    return render(request, "clinic/search.html", ctx, status_code=422 if error else 200, user=user)


@dataclass
class TimelineDay:
    date: dt.date
    entry: DiaryDay | None = None
    attacks: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    recorded: bool = False


def _overuse(diagnoses: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Drug class -> the 8.2.x diagnoses (definite or probable) that count it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for d in diagnoses:
        if not str(d["code"]).startswith("8.2"):
            continue
        for cls in d.get("evidence", {}).get("drug_classes", []):
            out.setdefault(cls, []).append(d)
    return out


def _findings(raw: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for f in raw:
        item: dict[str, Any] = dict(f)
        try:
            flag = redflags.flag(str(f["code"]))
            item.setdefault("label", flag.label)
            item.setdefault("why", flag.why)
            item.setdefault("letter", flag.letter)
        except KeyError:
            pass
        out.append(item)
    return out


def patient_context(
    session: Any,
    user: PageUser,
    patient: Patient,
    *,
    days: int = TIMELINE_DAYS,
    resolve_forms: Mapping[int, FormState] | None = None,
) -> dict[str, Any]:
    actor = user.actor
    today = svc.local_today(patient.timezone)
    # The last year: enough for the ICHD-3 course rules (> 3 months) and the 12-block chart,
    # and it keeps a many-year diary from making the page slow.
    start = today - dt.timedelta(days=WINDOW_DAYS - 1)
    # The whole diary is read once: the trigger analysis needs all of it, and the read-out,
    # timeline and charts cut their window from it (reading it was most of the page's time).
    whole = svc.load_diary(session, actor=actor, patient_id=patient.id)
    read = clinical.readout(
        session, actor=actor, patient_id=patient.id, start=start, end=today, diary=whole
    )
    diary = svc.slice_diary(whole, start, today)
    # The read-out numbers attacks after keeping those that reach into the window (an attack
    # counts on each day it touches); keep the same ones so the indexes line up.
    diary = replace(diary, attacks=tuple(a for a in diary.attacks if a.local_dates()[-1] >= start))
    classified = {int(a["index"]): a for a in read["attacks"]}
    overuse = _overuse(list(read["diagnoses"]))
    since = today - dt.timedelta(days=days - 1)
    timeline: dict[dt.date, TimelineDay] = {}

    def slot(day: dt.date) -> TimelineDay:
        if day not in timeline:
            timeline[day] = TimelineDay(day)
        return timeline[day]

    for entry in diary.days:
        if entry.date >= since:
            t = slot(entry.date)
            t.entry = entry
            t.recorded = True
    for index, attack in enumerate(diary.attacks):
        if attack.start.date() < since:
            continue
        c = classified.get(index, {})
        meds = [
            {
                "dose": m,
                "class_label": MED_LABELS.get(m.med_class.value, m.med_class.value),
                "overuse": overuse.get(m.med_class.value, []),
            }
            for m in attack.medications
        ]
        slot(attack.start.date()).attacks.append({"attack": attack, "class": c, "meds": meds})
    sessions_rows, _ = care.list_treatment_sessions(
        session, actor=actor, patient_id=patient.id, limit=500
    )
    for s in sessions_rows:
        if s.start_local.date() >= since:
            record = dict(s.record or {})
            slot(s.start_local.date()).sessions.append(
                {
                    "start": s.start_local,
                    "points": [
                        p.get("code", p) if isinstance(p, dict) else p
                        for p in record.get("points", [])
                    ],
                    "pain_before": getattr(s, "pain_before", None),
                    "pain_after": getattr(s, "pain_after", None),
                    "id": s.id,
                    "notes": str(record.get("notes") or ""),
                }
            )
    alerts = []
    for r in read["red_flags"]:
        item = dict(r)
        item["findings"] = _findings(list(r["findings"]))
        item["opened"] = dt.datetime.fromisoformat(str(r["opened_utc"]))
        alerts.append(item)
        if item["opened"].date() >= since:
            slot(item["opened"].date()).alerts.append(item)
    open_alerts = [a for a in alerts if a["open"]]
    closed_alerts = [a for a in alerts if not a["open"]]
    window = [
        u for u in read["days"] if str(u["date"]) >= (today - dt.timedelta(days=29)).isoformat()
    ]
    med_days = {
        "acute": sum(1 for u in window if u.get("acute_medication_day")),
        "triptan": sum(1 for u in window if u.get("triptan_day")),
        "headache": sum(1 for u in window if u.get("headache_day")),
        "migraine": sum(1 for u in window if u.get("migraine_day")),
        "recorded": sum(1 for u in window if u.get("recorded")),
    }
    forms = dict(resolve_forms or {})
    for a in open_alerts:
        forms.setdefault(int(a["id"]), FormState(values={"kind": "", "reason": ""}))
    ctx = overview_context(
        session, user, patient, today, units=list(read["days"]), diary=diary, sessions=sessions_rows
    )
    outcomes = patient_outcomes(session, actor=actor, patient_id=patient.id, diary=whole)
    session_days = sorted({s.start_local.date() for s in sessions_rows})
    last28 = (today - dt.timedelta(days=27)).isoformat()
    ctx.update(
        {
            "patient": patient,
            "today": today,
            "days": days,
            "timeline": [timeline[d] for d in sorted(timeline, reverse=True)],
            "diagnoses": list(read["diagnoses"]),
            "overuse_codes": sorted({str(d["code"]) for ds in overuse.values() for d in ds}),
            "open_alerts": open_alerts,
            # The safety gate's own answer (the rule every planning path uses), so the
            # practitioner sees "screen needed" and the record's flags before the builder.
            "gate": gate.readiness(session, actor=actor, patient_id=patient.id, today=today),
            "closed_alerts": closed_alerts,
            "clinic_zone": clinic_zone(session, patient.clinic_id),
            "alert_sources": ALERT_SOURCES,
            "resolution_labels": {
                "referral": "Referred",
                "clearance": "Cleared",
                "contacted": "Patient contacted",
            },
            "sex_label": "sex " + SEX_LABELS.get(Sex(patient.sex), patient.sex)
            if patient.sex in set(Sex)
            else patient.sex,
            "resolve_forms": forms,
            "resolution_kinds": RESOLUTION_KINDS,
            "concern_kinds": CONCERN_KINDS,
            "med_days": med_days,
            # ICHD-3 8.2 day thresholds as the diagnosis applies them (never restated here).
            "overuse_rules": ICHD3_RULES,
            "policy": read.get("policy", ""),
            "window_start": start,
            "outcomes": outcome_panel.build_panel(outcomes, session_days=session_days, today=today),
            "recent_recorded": sum(
                1 for u in read["days"] if u.get("recorded") and str(u["date"]) >= last28
            ),
        }
    )
    return ctx


def patient_or_none(session: Any, user: PageUser, patient_id: int) -> Patient | None:
    """The patient, or None for one the user may not see (the page then answers 404, the same
    for another clinic's patient as for an id that does not exist)."""
    try:
        return svc.get_patient(session, actor=user.actor, patient_id=patient_id)
    except NotFound:
        return None


@router.get("/clinic/patients/{patient_id}")
def patient_page(
    request: Request,
    patient_id: int,
    user: StaffUser,
    session: WriteSession,
    days: int = TIMELINE_DAYS,
    resolved: str | None = None,
    screened: str | None = None,
    session_saved: str | None = Query(None, alias="session"),
    record: str | None = None,
) -> Response:
    patient = patient_or_none(session, user, patient_id)
    if patient is None:
        return not_found(request, user, "patient")
    ctx = patient_context(session, user, patient, days=max(7, min(days, WINDOW_DAYS)))
    ctx["resolved"] = bool(resolved)
    ctx["screened"] = screened or ""
    ctx["session_saved"] = session_saved == "saved"
    ctx["record_saved"] = record == "saved"
    return render(request, "clinic/patient.html", ctx, user=user)


@router.post("/clinic/patients/{patient_id}/alerts/{alert_id}/resolve", dependencies=[SameOrigin])
def resolve_alert(
    request: Request,
    patient_id: int,
    alert_id: int,
    user: StaffUser,
    posted: PostedForm,
    session: WriteSession,
) -> Response:
    patient = patient_or_none(session, user, patient_id)
    if patient is None:
        return not_found(request, user, "patient")
    form = FormState.from_form(posted)
    kind = str(form.get("kind"))
    reason = str(form.get("reason"))
    if kind not in {k for k, _ in RESOLUTION_KINDS + CONCERN_KINDS}:
        form.add("kind", "Choose a decision.")
    if len(reason) < 5:
        form.add("reason", "Write why (at least a few words): this is kept for the record.")
    elif len(reason) > 4000:
        form.add("reason", "The reason can be at most 4000 characters.")
    if form.ok:
        try:
            with session.begin_nested():
                safety.resolve_alert(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    alert_id=alert_id,
                    kind=kind,
                    reason=reason,
                )
        except NotFound:
            return not_found(request, user, "red-flag alert")
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, {"kind": "kind", "reason": "reason"})
        except Conflict as exc:
            form.add("_form", str(exc))
    if form.ok:
        return see_other(f"/clinic/patients/{patient.id}?resolved=1#alerts")
    ctx = patient_context(session, user, patient, resolve_forms={alert_id: form})
    return render(request, "clinic/patient.html", ctx, status_code=422, user=user)


INTAKE_MULTI = frozenset({"flag"})


def _intake_ctx(patient: Patient, form: FormState) -> dict[str, Any]:
    return {"patient": patient, "form": form, "catalogue": redflags.CATALOGUE}


@router.get("/clinic/patients/{patient_id}/intake")
def intake_page(
    request: Request, patient_id: int, user: StaffUser, session: WriteSession
) -> Response:
    patient = patient_or_none(session, user, patient_id)
    if patient is None:
        return not_found(request, user, "patient")
    form = FormState(values={"flag": []})
    return render(request, "clinic/intake.html", _intake_ctx(patient, form), user=user)


@router.post("/clinic/patients/{patient_id}/intake", dependencies=[SameOrigin])
def intake_submit(
    request: Request, patient_id: int, user: StaffUser, posted: PostedForm, session: WriteSession
) -> Response:
    patient = patient_or_none(session, user, patient_id)
    if patient is None:
        return not_found(request, user, "patient")
    form = FormState.from_form(posted, multi=INTAKE_MULTI)
    codes = {f.code for f in redflags.CATALOGUE}
    ticked = set(form.values.get("flag", []))
    if ticked - codes:
        form.add("flag", "Unknown item in the list; reload the page and try again.")
    if str(form.get("asked")) != "yes":
        form.add("asked", "Confirm that you asked the patient every question.")
    onset: dt.date | None = None
    raw_onset = str(form.get("first_headache_onset"))
    if raw_onset:
        try:
            onset = dt.date.fromisoformat(raw_onset)
        except ValueError:
            form.add("first_headache_onset", "Use a date such as 2019-04-30.")
        else:
            if onset > svc.local_today(patient.timezone):
                form.add("first_headache_onset", "This date is in the future.")
    # The birth date, asked while the record has none: SNNOOP10 O (onset after 65,
    # CLINICAL.md 2 item 5) cannot be checked without it, so the safety gate waits for it.
    birth: dt.date | None = None
    raw_birth = str(form.get("birth_date")) if patient.birth_date is None else ""
    if raw_birth:
        try:
            birth = dt.date.fromisoformat(raw_birth)
        except ValueError:
            form.add("birth_date", "Use a date such as 1980-04-30.")
        else:
            if birth > svc.local_today(patient.timezone):
                form.add("birth_date", "This date is in the future.")
    notes = str(form.get("notes"))
    if len(notes) > 4000:
        form.add("notes", "Notes can be at most 4000 characters.")
    alert = None
    if form.ok:
        try:
            with session.begin_nested():
                if birth is not None:
                    svc.update_patient(
                        session,
                        actor=user.actor,
                        patient_id=patient.id,
                        version=patient.version,
                        changes={"birth_date": birth},
                    )
                alert = safety.record_intake_screen(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    answers={code: code in ticked for code in codes},
                    first_headache_onset=onset,
                    notes=notes,
                )
        except ValidationError as exc:
            apply_field_errors(
                form,
                exc.errors,
                {
                    "first_headache_onset": "first_headache_onset",
                    "birth_date": "birth_date",
                    "answers*": "flag",
                },
            )
    if not form.ok:
        return render(
            request, "clinic/intake.html", _intake_ctx(patient, form), status_code=422, user=user
        )
    outcome = "alert" if alert is not None else "clear"
    return see_other(f"/clinic/patients/{patient.id}?screened={outcome}#alerts")


# ---- editing the record -------------------------------------------------------------------

RECORD_MULTI = frozenset({"safety"})
SAFETY_FIELDS = tuple(SafetyProfile.__dataclass_fields__)
_RECORD_ERRORS = {
    "birth_date": "birth_date",
    "sex": "sex",
    "timezone": "timezone",
    "display_name": "display_name",
    "contact.phone": "phone",
    "contact.email": "email",
    "contact.address": "address",
}


def _record_ctx(session: Any, user: PageUser, patient: Patient, form: FormState) -> dict[str, Any]:
    return {
        "patient": patient,
        "form": form,
        "sexes": [(s.value, SEX_LABELS[s].capitalize()) for s in Sex],
        "safety_fields": [(name, SAFETY_LABELS.get(name, name)) for name in SAFETY_FIELDS],
        "gate": gate.readiness(session, actor=user.actor, patient_id=patient.id),
    }


@router.get("/clinic/patients/{patient_id}/record")
def record_page(
    request: Request, patient_id: int, user: StaffUser, session: WriteSession
) -> Response:
    """The record's editable facts, with the version they were read at."""
    patient = patient_or_none(session, user, patient_id)
    if patient is None:
        return not_found(request, user, "patient")
    contact = contact_details(session, actor=user.actor, patient_id=patient.id)
    flags = patient.safety or {}
    form = FormState(
        values={
            "version": str(patient.version),
            "display_name": patient.display_name or "",
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else "",
            "sex": patient.sex,
            "timezone": patient.timezone,
            **contact,
            "safety": [name for name in SAFETY_FIELDS if flags.get(name)],
        }
    )
    return render(
        request, "clinic/record.html", _record_ctx(session, user, patient, form), user=user
    )


@router.post("/clinic/patients/{patient_id}/record", dependencies=[SameOrigin])
def record_submit(
    request: Request, patient_id: int, user: StaffUser, posted: PostedForm, session: WriteSession
) -> Response:
    """Save the record (``patient_record.update_record``: audited, versioned, the safety gate
    asked again) and show the patient page with the gate's new answer."""
    patient = patient_or_none(session, user, patient_id)
    if patient is None:
        return not_found(request, user, "patient")
    form = FormState.from_form(posted, multi=RECORD_MULTI)
    changes: dict[str, Any] = {}
    raw_birth = str(form.get("birth_date"))
    if raw_birth:
        try:
            birth = dt.date.fromisoformat(raw_birth)
        except ValueError:
            form.add("birth_date", "Use a date such as 1980-04-30.")
        else:
            if birth > svc.local_today(patient.timezone):
                form.add("birth_date", "This date is in the future.")
            changes["birth_date"] = birth
    else:
        changes["birth_date"] = None
    sex = str(form.get("sex"))
    if sex not in {s.value for s in Sex}:
        form.add("sex", "Choose one of the options.")
    changes["sex"] = sex
    tz = str(form.get("timezone"))
    if not tz:
        form.add("timezone", "Enter the patient's time zone, e.g. Europe/Berlin.")
    changes["timezone"] = tz
    name = str(form.get("display_name"))
    if len(name) > 200:
        form.add("display_name", "At most 200 characters.")
    changes["display_name"] = name
    ticked = set(form.values.get("safety", []))
    if ticked - set(SAFETY_FIELDS):
        form.add("safety", "Unknown item in the list; reload the page and try again.")
    changes["safety"] = {name: name in ticked for name in SAFETY_FIELDS}
    raw_version = str(form.get("version"))
    version = int(raw_version) if raw_version.isdigit() and len(raw_version) < 10 else None
    status = 422
    if form.ok:
        try:
            with session.begin_nested():
                update_record(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    version=version,
                    changes=changes,
                    contact_details={k: str(form.get(k)) for k in CONTACT_FIELDS},
                )
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, _RECORD_ERRORS)
        except VersionRequired:
            form.add("_form", "This form is missing the version it was based on: reload the page.")
            status = 428
        except Conflict:
            form.add(
                "_form",
                "Someone changed this record after you opened it. Your changes are still in "
                "the form: open the record again in a new tab to compare, then save.",
            )
            status = 409
        else:
            return see_other(f"/clinic/patients/{patient.id}?record=saved#readiness")
    session.refresh(patient)
    return render(
        request,
        "clinic/record.html",
        _record_ctx(session, user, patient, form),
        status_code=status,
        user=user,
    )
