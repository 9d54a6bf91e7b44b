"""Request and response bodies of the acupuncture-care API (points, assessments, prescriptions,
templates, courses, sessions, adverse events).

Session bodies are the STRICTA record of ``acuhead.domain.sessions`` (the diary document's
session shape). Its fields are checked by ``validate_session``, which reports every problem with
its path (``stimulation.frequency_hz``, ``points[2].side``) and refuses unknown fields, so the
request model only names the link fields and passes the rest through.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from acuhead.domain.diary import Side
from acuhead.web.schemas import LocalDateTime, PlanDate, Strict, UtcDateTime

Text200 = Annotated[str, Field(min_length=1, max_length=200)]
PointCode = Annotated[str, Field(min_length=1, max_length=40)]
# Row ids are 32-bit integers on both engines (a larger one would overflow the driver).
DbId = Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]


class PointOut(BaseModel):
    code: str
    pinyin: str
    hanzi: str
    channel: str
    region: str
    location: str
    depth: str
    angle: str
    cautions: list[str]
    headache_use: str
    aliases: list[str]


# ---- assessments ------------------------------------------------------------------------------


class AssessmentIn(Strict):
    locations: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=10, description="frontal, temporal, occipital, vertex ..."
    )
    signs: list[Text200] = Field(default_factory=list, max_length=60)
    tongue: str = Field(default="", max_length=500)
    pulse: str = Field(default="", max_length=500)
    confirmed_pattern: str | None = Field(default=None, max_length=60)
    use_diary: StrictBool = Field(default=True, description="add signs derived from the diary")


class AssessmentConfirmIn(Strict):
    confirmed_pattern: str | None = Field(
        max_length=60, description="the practitioner's call; null clears it"
    )


class AssessmentOut(BaseModel):
    id: int
    patient_id: int
    practitioner_id: int | None
    created_utc: UtcDateTime
    locations: list[str]
    signs: list[str]
    tongue: str
    pulse: str
    derived_signs: list[dict[str, Any]]
    patterns: list[dict[str, Any]]
    confirmed_pattern: str | None
    working_pattern: str | None
    caveat: str


# ---- prescriptions ----------------------------------------------------------------------------


class PrescriptionIn(Strict):
    assessment_id: DbId | None = None
    template_id: DbId | None = None
    locations: list[Annotated[str, Field(max_length=40)]] | None = Field(
        default=None, max_length=10
    )
    headache_kind: str | None = Field(
        default=None, max_length=40, description="migraine, tension-type or an ICHD-3 code"
    )
    electro: StrictBool = False
    protocol: str | None = Field(default=None, max_length=60)


class PrescriptionOut(BaseModel):
    id: int
    patient_id: int
    assessment_id: int | None
    practitioner_id: int | None
    created_utc: UtcDateTime
    version: int
    ready: bool
    confirmed: list[dict[str, Any]]
    headache_kind: str | None
    locations: list[str]
    channels: list[str]
    patterns: list[dict[str, Any]]
    derived_signs: list[dict[str, Any]]
    confirmed_pattern: str | None
    working_pattern: str | None
    points: list[dict[str, Any]]
    protocol: dict[str, Any] | None
    template: str | None
    stimulation: dict[str, Any]
    safety: list[dict[str, Any]]
    notes: list[str]


class ConfirmIn(Strict):
    version: DbId
    confirmed_codes: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        min_length=1, max_length=100, description='finding codes ("pregnancy:LI4") or points'
    )


# ---- templates --------------------------------------------------------------------------------


class TemplatePointIn(Strict):
    code: PointCode
    side: Side | None = None


class TemplateIn(Strict):
    name: Text200
    points: list[TemplatePointIn] = Field(default_factory=list, max_length=100)
    prescription_id: DbId | None = Field(
        default=None, description="save the points of this prescription instead of a list"
    )
    notes: str = Field(default="", max_length=4000)


class TemplateUpdate(Strict):
    name: Text200
    points: list[TemplatePointIn] = Field(min_length=1, max_length=100)
    notes: str = Field(default="", max_length=4000)
    # Optional in the schema so that a body without it reaches the service, which answers 428
    # (send the version you read) rather than a generic 422.
    version: DbId | None = Field(default=None, description="the version you read (428 without)")


class TemplateOut(BaseModel):
    id: int
    name: str
    points: list[dict[str, Any]]
    notes: str
    created_by: int | None
    created_utc: UtcDateTime
    version: int


# ---- courses ----------------------------------------------------------------------------------


class CourseIn(Strict):
    planned_sessions: StrictInt
    sessions_per_week: StrictFloat
    start: PlanDate
    notes: str = Field(default="", max_length=4000)


class CourseOut(BaseModel):
    id: int
    patient_id: int
    planned_sessions: int
    sessions_per_week: float | None
    start: dt.date
    notes: str
    delivered_sessions: int
    created_utc: UtcDateTime


# ---- sessions ---------------------------------------------------------------------------------


class SessionIn(BaseModel):
    """A STRICTA session record plus its links. Any other field goes to ``validate_session``."""

    model_config = ConfigDict(extra="allow")
    course_id: DbId | None = None
    prescription_id: DbId | None = None

    def record(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SessionUpdate(SessionIn):
    # Optional in the schema so that a body without it reaches the service, which answers 428
    # (send the version you read) rather than a generic 422.
    version: DbId | None = Field(default=None, description="the version you read (428 without)")


class SessionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    patient_id: int
    course_id: int | None
    prescription_id: int | None
    practitioner_id: int | None
    version: int
    start: str
    start_utc: UtcDateTime
    points: list[dict[str, Any]]
    pain_before: int | None
    pain_after: int | None
    adverse_events: list[dict[str, Any]]


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int
    limit: int
    offset: int


class PrefillOut(BaseModel):
    source: str = Field(alias="from")
    session_id: int | None
    course_id: int | None
    prescription_id: int | None
    ready: bool | None
    session: dict[str, Any]

    model_config = ConfigDict(populate_by_name=True)


class AdverseEventOut(BaseModel):
    id: int
    patient_id: int
    session_id: int
    session_start: LocalDateTime
    type: str
    severity: str
    serious: bool
    action_taken: str
    created_utc: UtcDateTime


class AdverseEventPage(BaseModel):
    items: list[AdverseEventOut]
    total: int
    limit: int
    offset: int
