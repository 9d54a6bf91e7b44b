"""Request and response bodies of the JSON API. Field names follow the diary document."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
)

from acuhead.domain.diary import (
    AuraType,
    Effect,
    Location,
    MedClass,
    Nausea,
    Quality,
    RegimenKind,
    Sex,
    Side,
)
from acuhead.services.actors import Role


def _utc_iso(value: dt.datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# Stored UTC instants go out as RFC 3339 with "Z"; local wall-clock times (a patient's diary
# times, no offset) are documented as such instead of claiming to be RFC 3339 date-times.
UtcDateTime = Annotated[dt.datetime, PlainSerializer(_utc_iso, return_type=str, when_used="json")]
LOCAL_DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"
LocalDateTime = Annotated[
    dt.datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": LOCAL_DATETIME_PATTERN,
            "description": "the patient's local wall-clock time, ISO 8601 (an offset given on "
            "input is converted to the patient's zone)",
        }
    ),
]
# Strict: JSON true is no 1 and "yes" or 1 no true (issue 13 item 12); bodies of the JSON API
# use StrictBool, StrictInt and StrictFloat for the same reason.
Score10 = Annotated[int, Field(ge=0, le=10, strict=True)]
Tag = Annotated[str, Field(min_length=1, max_length=60)]

# Plausible dates (issue 13 item 12): nothing before 1900 (typing slips such as 0001-01-01);
# a birth or an onset not in the future (a day of slack for time zones); a regimen or course
# at most a year ahead.
EARLIEST_DATE = dt.date(1900, 1, 1)
PLAN_AHEAD = dt.timedelta(days=366)


def _not_before_1900(value: dt.date) -> None:
    if value < EARLIEST_DATE:
        raise ValueError(f"{value} is before {EARLIEST_DATE.year}")


def _past_date(value: dt.date) -> dt.date:
    _not_before_1900(value)
    if value > dt.date.today() + dt.timedelta(days=1):
        raise ValueError(f"{value} is in the future")
    return value


def _plan_date(value: dt.date) -> dt.date:
    _not_before_1900(value)
    if value > dt.date.today() + PLAN_AHEAD:
        raise ValueError(f"{value} is more than a year ahead")
    return value


PastDate = Annotated[dt.date, AfterValidator(_past_date)]
PlanDate = Annotated[dt.date, AfterValidator(_plan_date)]
T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class LoginIn(Strict):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)


class UserOut(BaseModel):
    id: int
    clinic_id: int
    email: str
    name: str
    role: Role
    patient_id: int | None = None


class LoginOut(BaseModel):
    token: str
    expires_utc: UtcDateTime
    user: UserOut


class UserIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(default="", max_length=200)
    role: Role
    password: str | None = Field(default=None, min_length=10, max_length=1000)


class SafetyIn(Strict):
    pregnant: StrictBool = False
    anticoagulant: StrictBool = False
    bleeding_disorder: StrictBool = False
    pacemaker: StrictBool = False
    needle_phobia: StrictBool = False
    fainting_history: StrictBool = False
    low_bmi: StrictBool = False
    puerperium: StrictBool = False  # after childbirth (SNNOOP10 P6, CLINICAL.md 2 item 11)


class PatientIn(Strict):
    external_id: str = Field(min_length=1, max_length=100)
    display_name: str = Field(default="", max_length=200)
    birth_date: PastDate | None = None
    sex: Sex = Sex.UNKNOWN
    timezone: str = Field(default="UTC", max_length=64)
    practitioner_id: StrictInt | None = None
    safety: SafetyIn = Field(default_factory=SafetyIn)


class PatientPatch(Strict):
    version: StrictInt | None = Field(
        default=None, description="the version you read (428 without)"
    )
    display_name: str | None = Field(default=None, max_length=200)
    birth_date: PastDate | None = None
    sex: Sex | None = None
    timezone: str | None = Field(default=None, max_length=64)
    practitioner_id: StrictInt | None = None
    safety: SafetyIn | None = None


class PatientOut(BaseModel):
    id: int
    external_id: str
    display_name: str
    birth_date: dt.date | None
    sex: str
    timezone: str
    practitioner_id: int | None
    user_id: int | None
    safety: dict[str, Any]
    version: int


class DayIn(Strict):
    headache: StrictBool
    stress: Score10 | None = None
    sleep_hours: StrictFloat | None = Field(default=None, ge=0, le=24)
    neck_tension: Score10 | None = None
    menstruating: StrictBool | None = None
    notes: str = Field(default="", max_length=4000)
    triggers: list[Tag] = Field(default_factory=list, max_length=30)
    version: StrictInt | None = Field(
        default=None, description="for an update: the version you read"
    )


class DayOut(BaseModel):
    id: int
    date: dt.date
    headache: bool
    stress: int | None
    sleep_hours: float | None
    neck_tension: int | None
    menstruating: bool | None
    notes: str
    triggers: list[str]
    recorded_utc: UtcDateTime
    version: int


class ReadingIn(Strict):
    at: LocalDateTime
    intensity: Score10


class AuraIn(Strict):
    type: AuraType
    symptom: str = Field(default="", max_length=500)
    onset: LocalDateTime | None = None
    duration_min: StrictInt | None = Field(default=None, ge=0, le=4320)
    gradual_spread: StrictBool | None = None
    unilateral: StrictBool | None = None
    positive: StrictBool | None = None
    headache_within_60_min: StrictBool | None = None


class MedicationIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    med_class: MedClass = Field(alias="class")
    taken_at: LocalDateTime | None = None
    dose: str | None = Field(default=None, max_length=50)
    effect: Effect | None = None


class AttackIn(Strict):
    start: LocalDateTime | None = None
    end: LocalDateTime | None = None
    date: dt.date | None = None
    duration_min: StrictInt | None = Field(default=None, ge=0, le=43200)
    peak_intensity: Score10 | None = None
    readings: list[ReadingIn] = Field(default_factory=list, max_length=200)
    side: Side | None = None
    locations: list[Location] = Field(default_factory=list)
    quality: list[Quality] = Field(default_factory=list)
    aggravated_by_activity: StrictBool | None = None
    nausea: Nausea | None = None
    vomiting: StrictBool | None = None
    photophobia: StrictBool | None = None
    phonophobia: StrictBool | None = None
    osmophobia: StrictBool | None = None
    aura: list[AuraIn] = Field(default_factory=list, max_length=20)
    cranial_autonomic: list[Tag] = Field(default_factory=list, max_length=20)
    restlessness: StrictBool | None = None
    treated: StrictBool | None = None
    triggers: list[Tag] = Field(default_factory=list, max_length=30)
    warning_signs: list[Tag] = Field(default_factory=list, max_length=20)
    medications: list[MedicationIn] = Field(default_factory=list, max_length=20)

    def as_document(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"version"}
        )
        return data


class AttackUpdate(AttackIn):
    version: StrictInt | None = Field(
        default=None, description="the version you read (428 without)"
    )


class AttackOut(AttackIn):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: StrictInt
    version: StrictInt
    local_dates: list[dt.date]


class MedicationOut(BaseModel):
    id: int
    attack_id: int
    name: str
    med_class: MedClass
    taken_local: LocalDateTime | None
    taken_day: dt.date
    dose: str | None
    effect: Effect | None


class RegimenIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    kind: RegimenKind
    start: PlanDate
    stop: PlanDate | None = None
    dose: str | None = Field(default=None, max_length=50)


class RegimenOut(BaseModel):
    id: int
    name: str
    kind: RegimenKind
    start: dt.date
    stop: dt.date | None = None
    dose: str | None = None


class Health(BaseModel):
    status: str
    database: str
    version: str
