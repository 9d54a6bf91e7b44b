"""The clinical engine over HTTP: ICHD-3 read-out, red-flag alerts, questionnaires."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from acuhead.domain.instruments import REGISTRY
from acuhead.services import clinical, gate, safety
from acuhead.store.models import QuestionnaireRow, RedFlagAlertRow
from acuhead.web.deps import CurrentActor, WriteSession
from acuhead.web.schemas import PastDate, Strict, UtcDateTime

router = APIRouter(tags=["clinical"])


class IntakeScreenIn(Strict):
    answers: dict[str, StrictBool] = Field(
        description="SNNOOP10 item codes or aliases (e.g. 'thunderclap', 'fever') -> yes/no"
    )
    first_headache_onset: PastDate | None = None
    notes: str = Field(default="", max_length=4000)


class ResolveIn(Strict):
    """A red-flag alert: "referral" or "clearance"; a self-harm alert: "contacted" or
    "referral" (422 for a kind the alert does not take)."""

    kind: Literal["referral", "clearance", "contacted"]
    reason: str = Field(min_length=1, max_length=4000)


class AlertOut(BaseModel):
    id: int
    kind: Literal["red_flag", "self_harm"] = Field(
        description="red_flag: SNNOOP10 findings, blocks planning; self_harm: a questionnaire's "
        "safety item answered above its lowest (or not answered): contact the patient today"
    )
    source: str
    attack_id: int | None
    open: bool
    opened_utc: UtcDateTime
    findings: list[dict[str, Any]]
    resolution_kind: str | None
    resolved_by_name: str | None
    resolved_utc: UtcDateTime | None
    resolution_reason: str | None


# Built from the registry: the instrument ids, the longest list of scored answers, and every
# recorded (not scored) item key, so a new instrument needs no change here. What a body may
# hold for one instrument (which keys, whole numbers, ranges) is then checked against its spec
# by the domain, which answers 422 naming the item and the reason.
INSTRUMENT_IDS = tuple(s.id for s in REGISTRY)
MAX_ITEMS = max(len(s.scored_items) for s in REGISTRY)
RECORDED_KEYS = tuple(sorted({i.key for s in REGISTRY for i in s.recorded_items}))


def _known_instrument(value: str) -> str:
    if value not in INSTRUMENT_IDS:
        raise ValueError(f"unknown questionnaire; expected one of {', '.join(INSTRUMENT_IDS)}")
    return value


InstrumentId = Annotated[
    str,
    AfterValidator(_known_instrument),
    WithJsonSchema({"type": "string", "enum": list(INSTRUMENT_IDS)}),
]


class QuestionnaireIn(Strict):
    """One questionnaire: ``items`` (the scored answers in order) or, where the instrument
    allows it, ``total`` from a paper form; recorded questions by their key (e.g. ``a``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": "integer"},
            "description": "recorded, unscored items by key: " + ", ".join(RECORDED_KEYS),
        },
    )

    instrument: InstrumentId
    completed_on: PastDate
    items: list[StrictInt | str] | None = Field(default=None, max_length=MAX_ITEMS)
    total: StrictInt | None = None


class QuestionnaireOut(BaseModel):
    id: int
    instrument: str
    completed_on: dt.date
    recall_period: str
    items: list[int] | None
    extra: dict[str, Any]
    answers: dict[str, Any]
    total: float
    band: str
    band_label: str
    total_entered: bool


def alert_out(r: RedFlagAlertRow) -> AlertOut:
    return AlertOut(
        id=r.id,
        kind=r.kind,  # the column holds one of the two (validated by pydantic)
        source=r.source,
        attack_id=r.attack_id,
        open=r.resolution_kind is None,
        opened_utc=r.opened_utc,
        findings=list(r.findings),
        resolution_kind=r.resolution_kind,
        resolved_by_name=r.resolved_by_name,
        resolved_utc=r.resolved_utc,
        resolution_reason=r.resolution_reason,
    )


def questionnaire_out(r: QuestionnaireRow) -> QuestionnaireOut:
    items, recorded = clinical.scored_answers(r)
    return QuestionnaireOut(
        id=r.id,
        instrument=r.instrument,
        completed_on=r.completed_on,
        recall_period=r.recall_period,
        items=items,
        extra=recorded,
        answers=dict(r.answers or {}),
        total=r.total,
        band=r.band,
        band_label=clinical.band_label(r),
        total_entered=r.total_entered,
    )


@router.get("/patients/{patient_id}/classification")
def classification(
    patient_id: int,
    actor: CurrentActor,
    session: WriteSession,
    start: Annotated[dt.date | None, Query()] = None,
    end: Annotated[dt.date | None, Query()] = None,
    policy: Annotated[str, Query(max_length=40)] = "vdArend2023",
) -> dict[str, Any]:
    """Each attack's ICHD-3 code with the criteria met and not met, the patient-level
    diagnoses with their evidence, the diary-day units and the red-flag alerts."""
    return clinical.readout(
        session, actor=actor, patient_id=patient_id, start=start, end=end, policy=policy
    )


@router.get("/patients/{patient_id}/red-flags", response_model=list[AlertOut])
def list_alerts(
    patient_id: int, actor: CurrentActor, session: WriteSession, only_open: bool = False
) -> list[AlertOut]:
    rows = safety.list_alerts(session, actor=actor, patient_id=patient_id, only_open=only_open)
    return [alert_out(r) for r in rows]


@router.post("/patients/{patient_id}/red-flags/intake", response_model=AlertOut | None)
def intake_screen(
    patient_id: int, body: IntakeScreenIn, actor: CurrentActor, session: WriteSession
) -> AlertOut | None:
    """Screen the 15 SNNOOP10 items; any 'yes' opens an alert that blocks treatment planning."""
    row = safety.record_intake_screen(
        session,
        actor=actor,
        patient_id=patient_id,
        answers=body.answers,
        first_headache_onset=body.first_headache_onset,
        notes=body.notes,
    )
    return alert_out(row) if row else None


@router.post("/patients/{patient_id}/red-flags/{alert_id}/resolve", response_model=AlertOut)
def resolve(
    patient_id: int, alert_id: int, body: ResolveIn, actor: CurrentActor, session: WriteSession
) -> AlertOut:
    """Record a referral or a documented clearance (who, when and why are kept)."""
    row = safety.resolve_alert(
        session,
        actor=actor,
        patient_id=patient_id,
        alert_id=alert_id,
        kind=body.kind,
        reason=body.reason,
    )
    return alert_out(row)


class ClearFlagIn(Strict):
    code: str = Field(min_length=1, max_length=60)
    kind: Literal["referral", "clearance"]
    reason: str = Field(min_length=1, max_length=4000)


@router.get("/patients/{patient_id}/planning-check", status_code=204)
def planning_check(patient_id: int, actor: CurrentActor, session: WriteSession) -> None:
    """204 when treatment may be planned; 409 with the reasons otherwise (docs/safety-gate.md:
    no current intake screen, an open red flag, or a flag the record shows)."""
    gate.ensure_planning_allowed(session, actor=actor, patient_id=patient_id)


@router.get("/patients/{patient_id}/readiness")
def readiness(patient_id: int, actor: CurrentActor, session: WriteSession) -> dict[str, Any]:
    """The safety gate's answer: ``ready``, the screen's status and each blocking reason."""
    return gate.readiness(session, actor=actor, patient_id=patient_id).as_dict()


@router.post("/patients/{patient_id}/red-flags/clear", response_model=AlertOut, status_code=201)
def clear_record_flag(
    patient_id: int, body: ClearFlagIn, actor: CurrentActor, session: WriteSession
) -> AlertOut:
    """Refer or clear, with a reason, a flag the record raises (pregnancy, medication overuse,
    thunderclap readings, progressive pattern, onset after 65); kept as a resolved alert."""
    row = gate.clear_record_flag(
        session,
        actor=actor,
        patient_id=patient_id,
        code=body.code,
        kind=body.kind,
        reason=body.reason,
    )
    return alert_out(row)


@router.post(
    "/patients/{patient_id}/questionnaires", response_model=QuestionnaireOut, status_code=201
)
def record_questionnaire(
    patient_id: int, body: QuestionnaireIn, actor: CurrentActor, session: WriteSession
) -> QuestionnaireOut:
    answers = body.model_dump(exclude={"instrument", "completed_on"}, exclude_none=True)
    row = clinical.record_questionnaire(
        session,
        actor=actor,
        patient_id=patient_id,
        instrument=body.instrument,
        completed_on=body.completed_on,
        answers=answers,
    )
    return questionnaire_out(row)


@router.get("/patients/{patient_id}/questionnaires", response_model=list[QuestionnaireOut])
def list_questionnaires(
    patient_id: int,
    actor: CurrentActor,
    session: WriteSession,
    instrument: Annotated[InstrumentId | None, Query()] = None,
) -> list[QuestionnaireOut]:
    rows = clinical.list_questionnaires(
        session, actor=actor, patient_id=patient_id, instrument=instrument
    )
    return [questionnaire_out(r) for r in rows]


class LetterIn(Strict):
    """What the sender types when making a letter (both optional; the letter has defaults)."""

    recipient: str | None = Field(
        default=None, description="the physician and practice; default: the treating physician"
    )
    question: str | None = Field(default=None, description="what the clinic asks, briefly")


def _letter_response(pdf: bytes, patient_id: int) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="headache-summary-{patient_id}.pdf"'
        },
    )


@router.get(
    "/patients/{patient_id}/letter.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the letter as PDF"}},
)
def physician_letter(patient_id: int, actor: CurrentActor, session: WriteSession) -> Response:
    """A one-page PDF summary for the patient's physician (the patient may download theirs),
    to the treating physician with the default question."""
    from acuhead.services.letters import physician_letter_pdf

    return _letter_response(
        physician_letter_pdf(session, actor=actor, patient_id=patient_id), patient_id
    )


@router.post(
    "/patients/{patient_id}/letter.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the letter as PDF"}},
)
def physician_letter_for(
    patient_id: int, body: LetterIn, actor: CurrentActor, session: WriteSession
) -> Response:
    """The letter to a named recipient with the clinic's question (sent in the body, so the
    free text never sits in a URL)."""
    from acuhead.services.letters import physician_letter_pdf

    pdf = physician_letter_pdf(
        session,
        actor=actor,
        patient_id=patient_id,
        recipient=body.recipient,
        question=body.question,
    )
    return _letter_response(pdf, patient_id)
