"""The patient app's attack pages: "migraine now", finish it later, edit, delete and undo.

Made for use during an attack (issue 14): one tap starts an attack now, with no end and no
invented rating; from the diary's first screen the patient then adds how bad it is, the
medicine taken (usual medicines first) and "it ended", each one tap. Every write carries an
idempotency key (``idempotency_key`` field) so the phone's offline queue can send it again
safely, and every change to a stored attack carries the version it was based on (428 without,
409 if it changed meanwhile: the page shows both and the patient chooses).

A request that asks for JSON (``Accept: application/json``, the offline queue) gets the
answer as JSON; a plain form post gets a redirect back to the diary.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from acuhead.domain.diary import Attack, IntensityReading, MedClass, MedicationDose
from acuhead.errors import Conflict, FieldError, NotFound, ValidationError, VersionRequired
from acuhead.interop.document import attack_to_dict, parse_attack
from acuhead.services import diary as svc
from acuhead.services import idempotency
from acuhead.store.mapping import attack_from_row
from acuhead.store.models import AttackRow, IdempotencyKeyRow, Patient
from acuhead.web.deps import WriteSession
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

KEY_FIELD = "idempotency_key"
MED_LABELS = dict(f.MED_CLASSES)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _patient(session: Any, user: PageUser) -> Patient | None:
    pid = user.actor.patient_id
    if pid is None:
        return None
    try:
        return svc.get_patient(session, actor=user.actor, patient_id=pid)
    except NotFound:
        return None


def _instant(raw: str, field: str) -> dt.datetime | None:
    """A moment the phone sent (ISO 8601 with offset, as ``Date.toISOString`` writes it)."""
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(FieldError(field, "is not a date and time")) from None
    if moment.tzinfo is None:
        raise ValidationError(FieldError(field, "needs a time zone offset"))
    return moment


def _score(raw: str, field: str = "intensity") -> int | None:
    if raw == "":
        return None
    if not raw.isdigit() or not 0 <= int(raw) <= 10:
        raise ValidationError(FieldError(field, "choose a number from 0 to 10"))
    return int(raw)


def _version(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


def _fields(posted: FormData) -> dict[str, str]:
    return {k: str(v).strip() for k, v in posted.items() if k != KEY_FIELD}


def _summary(row: AttackRow) -> dict[str, Any]:
    a = attack_from_row(row)
    return {
        "attack_id": row.id,
        "version": row.version,
        "start": a.start.strftime("%H:%M"),
        "ended": a.end is not None or a.duration_min is not None,
        "peak": a.peak,
    }


def _resolve(session: Any, patient: Patient, ref: str) -> int:
    """An attack id, or the idempotency key that created it (the offline queue knows only the
    key of an attack it started before it had a connection)."""
    if ref.isdigit():
        return int(ref)
    found = session.scalars(
        select(IdempotencyKeyRow).where(
            IdempotencyKeyRow.patient_id == patient.id, IdempotencyKeyRow.key == ref
        )
    ).first()
    if found is None or "attack_id" not in found.response:
        raise NotFound("this headache has not been recorded yet")
    return int(found.response["attack_id"])


_NOW_VERSION = re.compile(r"\(now (\d+)\)")


def stored_text(row: AttackRow) -> str:
    """What is stored now, in words, for the patient choosing between it and their change."""
    a = attack_from_row(row)
    parts = [f"Stored now: from {a.start:%H:%M}"]
    parts.append(f"to {a.end:%H:%M}" if a.end is not None else "no end yet")
    if a.peak is not None:
        parts.append(f"worst {a.peak}/10")
    if a.medications:
        parts.append("took " + ", ".join(m.name for m in a.medications))
    return ", ".join(parts) + "."


def _error_answer(
    request: Request,
    user: PageUser,
    exc: Exception,
    back: str,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Errors of the quick actions: JSON for the queue, a short page for a plain form. A
    conflict names the version stored now, so the patient can choose to apply theirs on it."""
    if isinstance(exc, VersionRequired):
        status, message = 428, str(exc)
    elif isinstance(exc, Conflict):
        status, message = 409, str(exc)
    elif isinstance(exc, NotFound):
        status, message = 404, str(exc)
    elif isinstance(exc, ValidationError):
        status, message = 422, "; ".join(e.message for e in exc.errors)
    else:  # pragma: no cover - only the errors above are passed in
        raise exc
    if wants_json(request):
        body: dict[str, Any] = {"detail": message}
        if isinstance(exc, ValidationError):
            body["errors"] = [{"field": e.path, "msg": e.message} for e in exc.errors]
        found = _NOW_VERSION.search(message) if isinstance(exc, Conflict) else None
        if found:
            body["current_version"] = int(found.group(1))
        body.update(extra or {})
        return JSONResponse(body, status_code=status)
    if status == 409:
        message = (
            "This headache was changed somewhere else (another phone or tab) since this page "
            "was loaded. Nothing was overwritten: look at it again below, then make your change."
        )
    return render(
        request,
        "diary/quick_error.html",
        {"message": message, "back": back},
        status_code=status,
        user=user,
    )


def _done(request: Request, answer: dict[str, Any], status: int, target: str) -> Response:
    if wants_json(request):
        return JSONResponse(answer, status_code=status)
    return see_other(target)


@router.post("/diary/attacks/now", dependencies=[SameOrigin])
def migraine_now(
    request: Request, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    """One tap: an attack that began when the patient tapped (``started``, sent by the phone,
    which may have queued it offline), else now. ``intensity`` is the one optional follow-up."""
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    fields = _fields(posted)
    try:
        started = _instant(fields.get("started", ""), "started")
        intensity = _score(fields.get("intensity", ""))

        def write() -> dict[str, Any]:
            row = svc.start_attack_now(
                session,
                actor=user.actor,
                patient_id=patient.id,
                started=started,
                intensity=intensity,
            )
            return _summary(row)

        with session.begin_nested():  # an error leaves nothing half-written behind
            answer, _ = idempotency.once(
                session,
                actor=user.actor,
                patient_id=patient.id,
                key=idempotency.check_key(str(posted.get(KEY_FIELD, "")), KEY_FIELD),
                operation="page attack now",
                body=fields,
                status_code=201,
                work=write,
            )
    except (ValidationError, Conflict) as exc:
        return _error_answer(request, user, exc, "/diary")
    return _done(request, answer, 201, "/diary")


def _quick_change(
    request: Request,
    user: PageUser,
    posted: FormData,
    session: Any,
    ref: str,
    operation: str,
    change: Any,
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    fields = _fields(posted)
    attack_id: int | None = None
    try:
        attack_id = _resolve(session, patient, ref)

        def write() -> dict[str, Any]:
            row = svc.revise_attack(
                session,
                actor=user.actor,
                patient_id=patient.id,
                attack_id=attack_id,
                version=_version(fields.get("version", "")),
                change=lambda attack, tz: change(attack, tz, fields),
            )
            return _summary(row)

        with session.begin_nested():  # an error leaves nothing half-written behind
            answer, _ = idempotency.once(
                session,
                actor=user.actor,
                patient_id=patient.id,
                key=idempotency.check_key(str(posted.get(KEY_FIELD, "")), KEY_FIELD),
                operation=f"page attack {operation} {ref}",
                body=fields,
                status_code=200,
                work=write,
            )
    except Conflict as exc:
        row = session.get(AttackRow, attack_id) if attack_id is not None else None
        extra = {"stored": stored_text(row)} if row is not None else {}
        return _error_answer(request, user, exc, "/diary", extra)
    except (ValidationError, NotFound) as exc:
        return _error_answer(request, user, exc, "/diary")
    return _done(request, answer, 200, "/diary")


def _add_reading(attack: Attack, tz: str, fields: dict[str, str]) -> Attack:
    """ "How bad is it now": a reading at that moment; the worst so far follows from it."""
    value = _score(fields.get("intensity", ""))
    if value is None:
        raise ValidationError(FieldError("intensity", "choose a number from 0 to 10"))
    at = svc.local_moment(_instant(fields.get("at", ""), "at"), tz)
    if at < attack.start:
        at = attack.start  # a phone clock a little behind: the attack had begun
    peak = max(value, attack.peak) if attack.peak is not None else None
    return replace(
        attack,
        readings=(*attack.readings, IntensityReading(at, value)),
        peak_intensity=peak,
    )


def _end(attack: Attack, tz: str, fields: dict[str, str]) -> Attack:
    end = svc.local_moment(_instant(fields.get("ended", ""), "ended"), tz)
    if end <= attack.start:
        raise ValidationError(FieldError("ended", "is before the headache started"))
    return replace(attack, end=end, duration_min=None)


def _medication(attack: Attack, tz: str, fields: dict[str, str]) -> Attack:
    name = fields.get("med_name", "")
    if not name or len(name) > 100:
        raise ValidationError(FieldError("med_name", "name the medicine (at most 100 characters)"))
    try:
        med_class = MedClass(fields.get("med_class", ""))
    except ValueError:
        raise ValidationError(FieldError("med_class", "choose the kind of medicine")) from None
    taken = svc.local_moment(_instant(fields.get("taken", ""), "taken"), tz)
    if taken < attack.start:
        taken = attack.start
    dose = MedicationDose(name=name, med_class=med_class, taken_at=taken)
    return replace(attack, medications=(*attack.medications, dose), treated=True)


@router.post("/diary/attacks/{ref}/reading", dependencies=[SameOrigin])
def add_reading(
    request: Request, ref: str, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    return _quick_change(request, user, posted, session, ref, "reading", _add_reading)


@router.post("/diary/attacks/{ref}/end", dependencies=[SameOrigin])
def end_attack(
    request: Request, ref: str, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    return _quick_change(request, user, posted, session, ref, "end", _end)


@router.post("/diary/attacks/{ref}/medication", dependencies=[SameOrigin])
def add_medication(
    request: Request, ref: str, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    return _quick_change(request, user, posted, session, ref, "medication", _medication)


# ---- the full form for one attack ----------------------------------------------------------


def _edit_values(attack: Attack) -> dict[str, Any]:
    values = f.attack_values(attack)
    values["attack_date"] = attack.start.date().isoformat()
    values["warning"] = list(attack.warning_signs)
    if attack.medications:
        m = attack.medications[0]
        values["med_effect"] = m.effect.value if m.effect else ""
    return values


def _edit_page(
    request: Request,
    user: PageUser,
    row: AttackRow,
    form: FormState,
    *,
    status_code: int = 200,
    version: int | str | None = None,
) -> Response:
    attack = attack_from_row(row)
    return render(
        request,
        "diary/attack_edit.html",
        {
            "row": row,
            "attack": attack,
            "form": form,
            "f": f,
            "version": row.version if version is None else version,
            "ongoing": attack.end is None and attack.duration_min is None,
        },
        status_code=status_code,
        user=user,
    )


@router.get("/diary/attacks/{attack_id}/edit")
def edit_attack_page(
    request: Request, attack_id: int, user: PatientUser, session: WriteSession
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    try:
        row = svc.get_attack(session, actor=user.actor, patient_id=patient.id, attack_id=attack_id)
    except NotFound:
        return not_found(request, user, "headache record")
    return _edit_page(request, user, row, FormState(values=_edit_values(attack_from_row(row))))


def merge_edit(
    stored: Attack, form_doc: dict[str, Any], drop_readings: frozenset[int] = frozenset()
) -> dict[str, Any]:
    """The stored attack with what the form edits replaced: what the form does not show
    (further medicines and aura symptoms, osmophobia, triggers ...) is kept, and so are the
    pain readings except those the patient ticked to remove."""
    stored = replace(
        stored,
        readings=tuple(r for k, r in enumerate(stored.readings) if k not in drop_readings),
    )
    doc = attack_to_dict(stored)
    for key in ("end", "side", "nausea", "peak_intensity"):
        doc.pop(key, None)
    if "end" in form_doc:
        doc.pop("duration_min", None)
    for key, value in form_doc.items():
        if key == "triggers":
            continue
        if key == "medications":
            value = value + doc.get("medications", [])[1:]
        if key == "aura":
            value = value + doc.get("aura", [])[1:]
        doc[key] = value
    if "medications" not in form_doc and doc.get("medications"):
        doc["medications"] = doc["medications"][1:]  # the first was cleared on the form
    if "aura" not in form_doc and doc.get("aura"):
        doc["aura"] = doc["aura"][1:]
    if "peak_intensity" not in form_doc and stored.readings:
        # The worst pain left "not sure": the readings still say how bad it was at least.
        doc["peak_intensity"] = max(r.intensity for r in stored.readings)
    return doc


@router.post("/diary/attacks/{attack_id}/edit", dependencies=[SameOrigin])
def edit_attack(
    request: Request, attack_id: int, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    try:
        row = svc.get_attack(session, actor=user.actor, patient_id=patient.id, attack_id=attack_id)
    except NotFound:
        return not_found(request, user, "headache record")
    form = FormState.from_form(posted, multi=f.MULTI | {"drop_reading"})
    version = _version(str(form.get("version")))
    try:
        day = dt.date.fromisoformat(str(form.get("attack_date")))
    except ValueError:
        form.add("attack_date", "Choose the day it started.")
        day = row.start_local.date()
    form_doc = f.parse_attack_fields(form, day)
    if form.ok:
        try:
            with session.begin_nested():
                stored = attack_from_row(row)
                drop = form.values.get("drop_reading", [])
                dropped = frozenset(int(x) for x in drop if str(x).isdigit())
                doc = merge_edit(stored, form_doc, dropped)
                attack = parse_attack(doc, timezone=patient.timezone)
                svc.update_attack(
                    session,
                    actor=user.actor,
                    patient_id=patient.id,
                    attack_id=attack_id,
                    attack=attack,
                    version=version,
                )
        except ValidationError as exc:
            apply_field_errors(form, exc.errors, {**f.ERROR_FIELDS, "readings*": "start_time"})
        except Conflict:
            session.refresh(row)
            form.add(
                "_form",
                "This headache was changed somewhere else while you were editing. Your answers "
                "are still below; what is stored now is shown above them. Save again to keep "
                "yours.",
            )
            return _edit_page(request, user, row, form, status_code=409, version=row.version)
    if not form.ok:
        return _edit_page(request, user, row, form, status_code=422, version=version or "")
    target = "/diary" if day == svc.local_today(patient.timezone) else f"/diary?date={day}"
    return see_other(target + ("&" if "?" in target else "?") + "saved=1")


# ---- delete, with a confirmation and an undo ----------------------------------------------


@router.get("/diary/attacks/{attack_id}/delete")
def confirm_delete(
    request: Request, attack_id: int, user: PatientUser, session: WriteSession
) -> Response:
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    try:
        row = svc.get_attack(session, actor=user.actor, patient_id=patient.id, attack_id=attack_id)
    except NotFound:
        return not_found(request, user, "headache record")
    return render(
        request,
        "diary/attack_delete.html",
        {"row": row, "attack": attack_from_row(row), "deleted": False},
        user=user,
    )


@router.post("/diary/attacks/{attack_id}/delete", dependencies=[SameOrigin])
def delete_attack(
    request: Request, attack_id: int, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    """Delete after the confirmation; the answer holds the record so "Undo" can put it back."""
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    try:
        row = svc.get_attack(session, actor=user.actor, patient_id=patient.id, attack_id=attack_id)
        attack = attack_from_row(row, tz=patient.timezone)
        svc.delete_attack(session, actor=user.actor, patient_id=patient.id, attack_id=attack_id)
    except NotFound:
        return not_found(request, user, "headache record")
    return render(
        request,
        "diary/attack_delete.html",
        {
            "attack": attack,
            "deleted": True,
            "undo": json.dumps(attack_to_dict(attack), separators=(",", ":")),
            "undo_key": str(uuid.uuid4()),
        },
        user=user,
    )


@router.post("/diary/attacks/restore", dependencies=[SameOrigin])
def restore_attack(
    request: Request, user: PatientUser, posted: PostedForm, session: WriteSession
) -> Response:
    """Undo a delete: the record the delete page carried, checked like any new attack."""
    patient = _patient(session, user)
    if patient is None:
        return not_found(request, user)
    try:
        doc = json.loads(str(posted.get("attack", "")))
        if not isinstance(doc, dict):
            raise ValueError
    except ValueError:
        return _error_answer(
            request, user, ValidationError(FieldError("attack", "cannot be read")), "/diary"
        )
    try:
        attack = parse_attack(doc, timezone=patient.timezone)

        def write() -> dict[str, Any]:
            row = svc.create_attack(session, actor=user.actor, patient_id=patient.id, attack=attack)
            return _summary(row)

        idempotency.once(
            session,
            actor=user.actor,
            patient_id=patient.id,
            key=idempotency.check_key(str(posted.get(KEY_FIELD, "")), KEY_FIELD),
            operation="page attack restore",
            body=doc,
            status_code=201,
            work=write,
        )
    except (ValidationError, Conflict) as exc:
        return _error_answer(request, user, exc, "/diary")
    day = attack.start.date()
    target = "/diary" if day == svc.local_today(patient.timezone) else f"/diary?date={day}"
    return see_other(target)


def usual_meds(session: Any, user: PageUser, patient: Patient) -> list[dict[str, str]]:
    """The patient's usual medicines for the two-tap dose buttons."""
    return [
        {"name": name, "class": med.value, "label": MED_LABELS.get(med.value, name)}
        for name, med in svc.usual_medications(session, actor=user.actor, patient_id=patient.id)
    ]
