"""Patient pages: questionnaires when due (HIT-6, MIDAS, PSS-10, PGIC) and reminder settings.

``/diary/questionnaires`` puts what is due first, then what comes next, then the patient's own
history with scores and bands; ``/diary/questionnaires/{instrument}`` is one form per
instrument; ``/diary/settings`` switches reminder e-mails on or off.

Licensed wording (CLINICAL.md 0.5, 4.1): acuhead ships no HIT-6 item text, and no PSS-10 or
MIDAS form wording either (nothing copied from other works). HIT-6 and PSS-10 questions are
shown by number with their answer choices, and with the clinic's own licensed texts when it
has loaded them: ``<data dir>/licensed/clinic-<id>/<instrument>-items.txt`` (or one file for
every clinic, ``<data dir>/licensed/<instrument>-items.txt``), one text per line or a JSON
list. A HIT-6 total from a licensed paper form can always be entered instead. MIDAS counts
days, so each question is described in our own words by what it counts.

Every read and write goes through the services, which check that the record is the logged-in
patient's own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from acuhead.domain import questionnaires as q
from acuhead.domain.questionnaires import Instrument
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

HIT6_OPTIONS = (
    ("never", "Never"),
    ("rarely", "Rarely"),
    ("sometimes", "Sometimes"),
    ("very_often", "Very often"),
    ("always", "Always"),
)
PSS10_OPTIONS = (
    ("0", "Never"),
    ("1", "Almost never"),
    ("2", "Sometimes"),
    ("3", "Fairly often"),
    ("4", "Very often"),
)
PGIC_OPTIONS = tuple(
    (str(n), label[0].upper() + label[1:]) for n, (_, label) in enumerate(q.PGIC_CHOICES, start=1)
)

# MIDAS, described in our own words by what each answer counts (CLINICAL.md 4.2).
MIDAS_QUESTIONS = (
    ("q1", "Days you missed work or school because of headaches."),
    (
        "q2",
        "Days you did go to work or school but got half as much done, or less, because of "
        "headaches. Leave out the days you counted in question 1.",
    ),
    ("q3", "Days you did no housework at all because of headaches."),
    (
        "q4",
        "Days you got half as much housework done, or less, because of headaches. Leave out "
        "the days you counted in question 3.",
    ),
    (
        "q5",
        "Days you missed time with family or friends, or a leisure activity, because of headaches.",
    ),
)
MIDAS_EXTRA = (
    ("a", "Days you had a headache at all (a headache over several days counts each day).", 90),
    (
        "b",
        "On those days, how bad was the pain on average? 0 no pain, 10 the worst imaginable.",
        10,
    ),
)

INTRO: dict[Instrument, str] = {
    Instrument.HIT6: (
        "How headaches have affected your daily life over the last 4 weeks. Six questions, "
        "each answered never, rarely, sometimes, very often or always."
    ),
    Instrument.MIDAS: (
        "How many days headaches kept you from work, study, housework and time with others "
        "in the last 3 months. Answer with a number of days; 0 is fine."
    ),
    Instrument.PSS10: (
        "How often you felt stressed or in control during the last month. Ten questions, "
        "each answered from never to very often."
    ),
    Instrument.PGIC: "One question about how things have changed since your treatment began.",
}
LICENSED_NOTE: dict[Instrument, str] = {
    Instrument.HIT6: (
        "The wording of the HIT-6 questions is licensed, so your clinic gives them to you on "
        "paper. Answer each numbered question here, or enter the total from the paper form."
    ),
    Instrument.PSS10: (
        "Your clinic gives you the ten PSS-10 questions on paper. Answer each numbered "
        "question here."
    ),
}
RECALL = {
    Instrument.HIT6: "Think of the last 4 weeks.",
    Instrument.MIDAS: "Think of the last 3 months.",
    Instrument.PSS10: "Think of the last month.",
    Instrument.PGIC: "Think of the time since your treatment began.",
}
PGIC_QUESTION = (
    "Since your treatment began, how would you describe the change in your headaches and in "
    "how you feel overall?"
)
ITEM_COUNTS = {Instrument.HIT6: q.HIT6_ITEMS, Instrument.PSS10: q.PSS10_ITEMS}


@dataclass(frozen=True, slots=True)
class Question:
    """One radio question: its field name, number and the licensed text when loaded."""

    name: str
    number: int
    text: str


# --- licensed item texts -------------------------------------------------------------------


def _parse_items(body: str, count: int) -> tuple[str, ...]:
    """A JSON list (or ``{"items": [...]}``) or one text per line; exactly ``count`` texts."""
    text = body.lstrip("\ufeff").strip()
    entries: list[Any]
    if text[:1] in ("[", "{"):
        parsed = json.loads(text)
        entries = parsed.get("items", []) if isinstance(parsed, dict) else parsed
    else:
        entries = [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    texts = tuple(str(e).strip() for e in entries if isinstance(e, str) and e.strip())
    if len(texts) != count or len(set(texts)) != count:
        raise ValueError(f"expected {count} distinct item texts")
    return texts


def licensed_texts(data_dir: Path, clinic_id: int, instrument: Instrument) -> tuple[str, ...]:
    """The clinic's own item texts for a licensed instrument, or () when none are loaded.

    A broken file is reported in the log (file name only) and the form falls back to numbers.
    """
    count = ITEM_COUNTS.get(instrument)
    if count is None:
        return ()
    name = f"{instrument.value}-items.txt"
    for path in (
        data_dir / "licensed" / f"clinic-{clinic_id}" / name,
        data_dir / "licensed" / name,
    ):
        if not path.is_file():
            continue
        try:
            body = path.read_text("utf-8")
            if instrument is Instrument.HIT6:
                return q.load_licensed_item_texts(body)
            return _parse_items(body, count)
        except (OSError, UnicodeDecodeError, ValueError, ValidationError):
            log.warning("licensed item file %s is unreadable or invalid; showing numbers", name)
            return ()
    return ()


def _questions(instrument: Instrument, texts: tuple[str, ...]) -> list[Question]:
    count = ITEM_COUNTS.get(instrument, 1)
    return [
        Question(f"q{n}", n, texts[n - 1] if len(texts) == count else "")
        for n in range(1, count + 1)
    ]


# --- helpers -------------------------------------------------------------------------------


def _patient(session: Any, user: PageUser) -> Patient | None:
    pid = user.actor.patient_id
    if pid is None:
        return None
    try:
        return svc.get_patient(session, actor=user.actor, patient_id=pid)
    except NotFound:
        return None


def _instrument(name: str) -> Instrument | None:
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


def _history_line(row: QuestionnaireRow) -> HistoryLine:
    inst = q.parse_instrument(row.instrument)
    meaning = clinical.band_label(row)
    if inst is Instrument.PGIC:
        score = "–"
        meaning = meaning.replace("_", " ")
    else:
        low, high = {
            Instrument.HIT6: (q.HIT6_MIN, q.HIT6_MAX),
            Instrument.MIDAS: (0, q.MIDAS_MAX_TOTAL),
            Instrument.PSS10: (0, 40),
        }[inst]
        score = f"{int(row.total)} (range {low}–{high})"
        if row.total_entered:
            score += ", total from paper"
    return HistoryLine(row, inst.label, score, meaning)


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
        "others": [i for i in Instrument if i not in scheduled],
        "history": history,
        "saved": just_saved,
        "reminders_on": reminders.email_reminders_enabled(session, actor=user.actor),
        "mail_configured": bool(settings.smtp_host.strip()),
    }
    return render(request, "questionnaires/list.html", ctx, user=user)


# --- one form per instrument -----------------------------------------------------------------


def _form_context(
    settings: Any, patient: Patient, instrument: Instrument, form: FormState
) -> dict[str, Any]:
    texts = licensed_texts(Path(settings.data_dir), patient.clinic_id, instrument)
    return {
        "instrument": instrument,
        "I": Instrument,
        "form": form,
        "intro": INTRO[instrument],
        "recall": RECALL[instrument],
        "licensed_note": "" if texts else LICENSED_NOTE.get(instrument, ""),
        "questions": _questions(instrument, texts),
        "hit6_options": HIT6_OPTIONS,
        "pss10_options": PSS10_OPTIONS,
        "pgic_options": PGIC_OPTIONS,
        "pgic_question": PGIC_QUESTION,
        "midas_questions": MIDAS_QUESTIONS,
        "midas_extra": MIDAS_EXTRA,
        "hit6_min": q.HIT6_MIN,
        "hit6_max": q.HIT6_MAX,
    }


@router.get("/diary/questionnaires/{name}")
def questionnaire_form(
    request: Request, name: str, user: PatientUser, session: WriteSession, settings: SettingsDep
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return render(request, "diary/no_diary.html", user=user)
    instrument = _instrument(name)
    if instrument is None:
        return not_found(request, user, "questionnaire")
    ctx = _form_context(settings, patient, instrument, FormState())
    return render(request, "questionnaires/form.html", ctx, user=user)


def _answers(instrument: Instrument, form: FormState) -> dict[str, Any] | None:
    """The service payload from the form, or None with the missing answers marked."""
    if instrument is Instrument.MIDAS:
        items: list[Any] = []
        for n, (field, _) in enumerate(MIDAS_QUESTIONS, start=1):
            raw = str(form.get(field))
            value = _whole(raw)
            if not raw:
                form.add(field, f"Enter a number of days for question {n} (0 if none).")
            elif value is None:
                form.add(field, f"Question {n}: enter a whole number of days, 0 to 90.")
            items.append(value)
        payload: dict[str, Any] = {"items": items}
        for field, _, top in MIDAS_EXTRA:
            raw = str(form.get(field))
            if raw:
                value = _whole(raw)
                if value is None:
                    form.add(field, f"Question {field.upper()}: enter a whole number, 0 to {top}.")
                payload[field] = value
        return payload if form.ok else None
    if instrument is Instrument.HIT6 and str(form.get("total")):
        answered = [n for n in range(1, q.HIT6_ITEMS + 1) if form.get(f"q{n}")]
        if answered:
            form.add("total", "Enter either the six answers or the total from paper, not both.")
            return None
        total = _whole(str(form.get("total")))
        if total is None:
            form.add("total", f"Enter the total as a whole number, {q.HIT6_MIN} to {q.HIT6_MAX}.")
            return None
        return {"total": total}
    count = ITEM_COUNTS.get(instrument, 1)
    answers: list[Any] = []
    for n in range(1, count + 1):
        raw = str(form.get(f"q{n}"))
        if not raw:
            form.add(
                f"q{n}",
                "Choose an answer." if count == 1 else f"Choose an answer for question {n}.",
            )
        answers.append(int(raw) if raw.isdigit() else raw)
    if instrument is Instrument.HIT6 and not form.ok:
        form.add("_form", "Answer all six questions, or enter the total from the paper form.")
    return {"items": answers} if form.ok else None


ERROR_FIELDS = {
    **{f"items[{i}]": f"q{i + 1}" for i in range(10)},
    "total": "total",
    "a": "a",
    "b": "b",
}


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
    instrument = _instrument(name)
    if instrument is None:
        return not_found(request, user, "questionnaire")
    form = FormState.from_form(posted)
    payload = _answers(instrument, form)
    row: QuestionnaireRow | None = None
    if payload is not None:
        try:
            with session.begin_nested():
                row = clinical.record_questionnaire(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    instrument=instrument.value,
                    completed_on=svc.local_today(patient.timezone),
                    answers=payload,
                )
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, ERROR_FIELDS)
    if row is None:
        if form.ok:  # defensive: nothing saved must never look like success
            form.add("_form", "The answers could not be saved; please check them.")
        ctx = _form_context(settings, patient, instrument, form)
        return render(request, "questionnaires/form.html", ctx, status_code=422, user=user)
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
