"""Patient pages: questionnaires when due, and reminder settings.

``/diary/questionnaires`` puts what is due first, then what comes next, then the patient's own
history with scores and bands; ``/diary/questionnaires/{instrument}`` is one form per
instrument of the registry (``domain/instruments/``), rendered from its spec by
``questionnaires/form.html`` (or by the spec's own template, which extends it);
``/diary/settings`` switches reminder e-mails on or off.

Licensed wording (CLINICAL.md 0.5, 4.1): for an instrument whose spec says ``licensed_items``
acuhead ships no item text; its questions are shown by number with their answer choices, and
with the clinic's own licensed texts when it has loaded them:
``<data dir>/licensed/clinic-<id>/<instrument>-items.txt`` (or one file for every clinic,
``<data dir>/licensed/<instrument>-items.txt``), one text per line or a JSON list. Where the
spec allows it, a total from a licensed paper form can be entered instead.

Every read and write goes through the services, which check that the record is the logged-in
patient's own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from acuhead.domain import questionnaires as q
from acuhead.domain.instruments import REGISTRY, InstrumentSpec, Item
from acuhead.domain.instruments.spec import count_words, load_item_texts
from acuhead.errors import NotFound, ValidationError
from acuhead.services import clinical, questionnaire_due, reminders
from acuhead.services import diary as svc
from acuhead.store.models import Patient, QuestionnaireRow
from acuhead.web.deps import SettingsDep, WriteSession
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
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Question:
    """One question as the form shows it: its field name, its legend or label, the choices
    (value, words) of a radio question, or the hint of a number question."""

    name: str
    legend: str
    options: tuple[tuple[str, str], ...]
    hint: str


# --- licensed item texts -------------------------------------------------------------------


def licensed_texts(data_dir: Path, clinic_id: int, spec: InstrumentSpec) -> tuple[str, ...]:
    """The clinic's own item texts for a licensed instrument, or () when none are loaded.

    A broken file is reported in the log (file name only) and the form falls back to numbers.
    """
    if not spec.licensed_items:
        return ()
    name = f"{spec.id}-items.txt"
    for path in (
        data_dir / "licensed" / f"clinic-{clinic_id}" / name,
        data_dir / "licensed" / name,
    ):
        if not path.is_file():
            continue
        try:
            return load_item_texts(path.read_text("utf-8"), spec)
        except (OSError, UnicodeDecodeError, ValueError, ValidationError):
            log.warning("licensed item file %s is unreadable or invalid; showing numbers", name)
            return ()
    return ()


def _question(spec: InstrumentSpec, n: int, item: Item, text: str) -> Question:
    scored = spec.scored_items
    if not item.scored:
        label = f"{item.key.upper()}. {text}"
    elif item.choices and len(scored) == 1:
        label = text
    elif item.choices:
        label = f"Question {n} of {len(scored)}" + (f": {text}" if text else "")
    else:
        label = f"{n}. {text}"
    options = tuple((c.code, c.label) for c in item.choices)
    hint = (
        ""
        if item.choices
        else f"{item.low} to {item.high}" + (f" {item.unit}" if item.unit else "")
    )
    return Question(item.key, label, options, hint)


def _questions(spec: InstrumentSpec, texts: tuple[str, ...]) -> list[Question]:
    out = []
    for n, item in enumerate(spec.scored_items, start=1):
        text = texts[n - 1] if len(texts) == len(spec.scored_items) else item.text
        out.append(_question(spec, n, item, "" if spec.licensed_items and not texts else text))
    return out


# --- helpers -------------------------------------------------------------------------------


def _patient(session: Any, user: PageUser) -> Patient | None:
    pid = user.actor.patient_id
    if pid is None:
        return None
    try:
        return svc.get_patient(session, actor=user.actor, patient_id=pid)
    except NotFound:
        return None


def _instrument(name: str) -> InstrumentSpec | None:
    try:
        return q.parse_instrument(name)
    except ValidationError:
        return None


def _whole(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) <= 4 else None


@dataclass(frozen=True, slots=True)
class HistoryLine:
    row: QuestionnaireRow
    label: str
    score: str
    meaning: str
    concern: str = ""  # its safety item needs a clinician: what the patient reads (staff: alert)


def _history_line(row: QuestionnaireRow) -> HistoryLine:
    spec = q.parse_instrument(row.instrument)
    meaning = clinical.band_label(row)
    if spec.since_treatment:  # the answer is the meaning; its number is no score
        score = "–"
    else:
        low, high = spec.score_range
        score = f"{int(row.total)} (range {low}–{high})"
        if row.total_entered:
            score += ", total from paper"
    concern = ""
    found = q.safety_concern(spec, row.answers or {}, row.completed_on)
    if spec.safety_item and found and found.answered:  # never "you told us" for no answer
        concern = spec.safety_item.patient_note
    return HistoryLine(row, spec.label, score, meaning, concern)


# --- the list --------------------------------------------------------------------------------


@router.get("/diary/questionnaires")
def questionnaire_list(
    request: Request,
    user: PatientUser,
    session: WriteSession,
    settings: SettingsDep,
    saved: str | None = None,
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user)
    status = questionnaire_due.patient_status(session, actor=user.actor, patient_id=patient.id)
    rows = clinical.list_questionnaires(session, actor=user.actor, patient_id=patient.id)
    history = [_history_line(r) for r in reversed(rows)]
    just_saved = next((h for h in history if saved and str(h.row.id) == saved), None)
    scheduled = {s.instrument for s in status}
    ctx = {
        "due": [s for s in status if s.is_due],
        "upcoming": [s for s in status if not s.is_due],
        "others": [i for i in REGISTRY if i not in scheduled],
        "history": history,
        "saved": just_saved,
        "reminders_on": reminders.email_reminders_enabled(session, actor=user.actor),
        "mail_configured": bool(settings.smtp_host.strip()),
    }
    return render(request, "questionnaires/list.html", ctx, user=user)


# --- one form per instrument -----------------------------------------------------------------


def _form_context(
    settings: Any, patient: Patient, spec: InstrumentSpec, form: FormState
) -> dict[str, Any]:
    texts = licensed_texts(Path(settings.data_dir), patient.clinic_id, spec)
    scored = spec.scored_items
    return {
        "instrument": spec,
        "form": form,
        "intro": spec.intro,
        "recall": spec.recall_prompt,
        "licensed_note": "" if texts else spec.licensed_note,
        "questions": _questions(spec, texts),
        "numbers": not any(i.choices for i in scored),
        "recorded": [_question(spec, 0, i, i.text) for i in spec.recorded_items],
        "recorded_legend": (
            f"{count_words(len(spec.recorded_items)).capitalize()} more question"
            + ("s" if len(spec.recorded_items) != 1 else "")
        ),
        "total_range": spec.score_range,
    }


def _template(spec: InstrumentSpec) -> str:
    return spec.template or "questionnaires/form.html"


@router.get("/diary/questionnaires/{name}")
def questionnaire_form(
    request: Request, name: str, user: PatientUser, session: WriteSession, settings: SettingsDep
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user)
    spec = _instrument(name)
    if spec is None:
        return not_found(request, user, "questionnaire")
    ctx = _form_context(settings, patient, spec, FormState())
    return render(request, _template(spec), ctx, user=user)


def _number_answer(form: FormState, item: Item, n: int | None) -> int | None:
    """A typed number, or None with the problem marked beside the field."""
    raw = str(form.get(item.key))
    unit = f" of {item.unit}" if item.unit else ""
    which = f"question {n}" if n is not None else f"question {item.key.upper()}"
    value = _whole(raw)
    if not raw:
        if item.scored:
            form.add(item.key, f"Enter a number{unit} for {which} (0 if none).")
    elif value is None:
        form.add(
            item.key,
            f"{which[0].upper()}{which[1:]}: enter a whole number{unit}, "
            f"{item.low} to {item.high}.",
        )
    return value


def _answers(spec: InstrumentSpec, form: FormState) -> dict[str, Any] | None:
    """The service payload from the form, or None with the missing answers marked."""
    scored = spec.scored_items
    count = count_words(len(scored))
    if spec.total_entry and str(form.get("total")):
        if any(form.get(i.key) for i in scored):
            form.add(
                "total", f"Enter either the {count} answers or the total from paper, not both."
            )
            return None
        total = _whole(str(form.get("total")))
        if total is None:
            low, high = spec.score_range
            form.add("total", f"Enter the total as a whole number, {low} to {high}.")
            return None
        return {"total": total}
    answers: list[Any] = []
    for n, item in enumerate(scored, start=1):
        if not item.choices:
            answers.append(_number_answer(form, item, n))
            continue
        raw = str(form.get(item.key))
        if not raw:
            form.add(
                item.key,
                "Choose an answer." if len(scored) == 1 else f"Choose an answer for question {n}.",
            )
        answers.append(int(raw) if raw.isdigit() else raw)
    payload: dict[str, Any] = {"items": answers}
    for item in spec.recorded_items:
        if str(form.get(item.key)):
            payload[item.key] = _number_answer(form, item, None)
    if spec.total_entry and not form.ok:
        form.add("_form", f"Answer all {count} questions, or enter the total from the paper form.")
    return payload if form.ok else None


def _error_fields(spec: InstrumentSpec) -> dict[str, str]:
    """Where the domain's error paths sit on the form."""
    fields = {f"items[{n}]": i.key for n, i in enumerate(spec.scored_items)}
    fields.update({i.key: i.key for i in spec.recorded_items})
    return {**fields, "total": "total"}


@router.post("/diary/questionnaires/{name}", dependencies=[SameOrigin])
def save_questionnaire(
    request: Request,
    name: str,
    user: PatientUser,
    posted: PostedForm,
    session: WriteSession,
    settings: SettingsDep,
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user, status_code=404)
    spec = _instrument(name)
    if spec is None:
        return not_found(request, user, "questionnaire")
    form = FormState.from_form(posted)
    payload = _answers(spec, form)
    row: QuestionnaireRow | None = None
    if payload is not None:
        try:
            with session.begin_nested():
                row = clinical.record_questionnaire(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    instrument=spec.id,
                    completed_on=svc.local_today(patient.timezone),
                    answers=payload,
                )
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, _error_fields(spec))
    if row is None:
        if form.ok:  # defensive: nothing saved must never look like success
            form.add("_form", "The answers could not be saved; please check them.")
        ctx = _form_context(settings, patient, spec, form)
        return render(request, _template(spec), ctx, status_code=422, user=user)
    return see_other(f"/diary/questionnaires?saved={row.id}")


# --- reminder settings -----------------------------------------------------------------------


@router.get("/diary/settings")
def settings_page(
    request: Request,
    user: PatientUser,
    session: WriteSession,
    settings: SettingsDep,
    saved: str | None = None,
) -> Response:
    ctx = {
        "reminders_on": reminders.email_reminders_enabled(session, actor=user.actor),
        "mail_configured": bool(settings.smtp_host.strip()),
        "saved": bool(saved),
    }
    return render(request, "questionnaires/settings.html", ctx, user=user)


@router.post("/diary/settings", dependencies=[SameOrigin])
def save_settings(user: PatientUser, posted: PostedForm, session: WriteSession) -> Response:
    reminders.set_email_reminders(
        session, actor=user.actor, enabled=posted.get("email_reminders") == "on"
    )
    return see_other("/diary/settings?saved=1")
