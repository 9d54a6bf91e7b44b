"""Tables. Every row a clinic owns carries ``clinic_id``: the tenant key every query filters on,
and the distribution column should a large network shard by clinic (DESIGN.md data model rules).

Times are stored in UTC (``*_utc``); diary dates and attack wall-clock times are also kept as the
patient's local values (``*_local``), because the clinical day units are defined on local
calendar days and set-based analytics must not re-derive time zones row by row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Clinic(Base):
    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The clinic's own zone (IANA name): appointments and the day list are in it (issue 15).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # admin | practitioner | patient
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Diary and questionnaire reminders by e-mail, when the clinic has SMTP configured.
    email_reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuthSession(Base):
    """Server-side session: the cookie holds a random token, the table its SHA-256 (revocable)."""

    __tablename__ = "auth_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_utc: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_utc: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LoginAttempt(Base):
    """Failed logins per key (hashed e-mail) for throttling; no address or e-mail in clear."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("clinic_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Indexed: every request of a patient account finds its patient record by this column.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    safety: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Derived, kept by store.day_units: whether the attacks alone give a migraine diagnosis
    # (domain.diagnosis.migraine_by_attack_counts), which decides if probable migraine makes a
    # migraine day (ICHD-3 1.5). NULL: not known from the attacks (1.3 decides, or never
    # counted), so the day units are recounted from the whole diary.
    migraine_diagnosed: Mapped[bool | None] = mapped_column(Boolean)


class DiaryDayRow(Base):
    __tablename__ = "diary_days"
    __table_args__ = (
        UniqueConstraint("patient_id", "day"),
        Index("ix_diary_days_clinic_day", "clinic_id", "day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    headache: Mapped[bool] = mapped_column(Boolean)
    stress: Mapped[int | None] = mapped_column(Integer)
    sleep_hours: Mapped[float | None] = mapped_column(Float)
    neck_tension: Mapped[int | None] = mapped_column(Integer)
    menstruating: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text, default="")
    triggers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    recorded_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AttackRow(Base):
    __tablename__ = "attacks"
    __table_args__ = (Index("ix_attacks_patient_start", "patient_id", "start_local"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    start_utc: Mapped[dt.datetime] = mapped_column(DateTime)
    end_utc: Mapped[dt.datetime | None] = mapped_column(DateTime)
    start_local: Mapped[dt.datetime] = mapped_column(DateTime)
    end_local: Mapped[dt.datetime | None] = mapped_column(DateTime)
    duration_min: Mapped[int | None] = mapped_column(Integer)
    peak_intensity: Mapped[int | None] = mapped_column(Integer)
    side: Mapped[str | None] = mapped_column(String(10))
    locations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    quality: Mapped[list[Any]] = mapped_column(JSON, default=list)
    aggravated_by_activity: Mapped[bool | None] = mapped_column(Boolean)
    nausea: Mapped[str | None] = mapped_column(String(10))
    vomiting: Mapped[bool | None] = mapped_column(Boolean)
    photophobia: Mapped[bool | None] = mapped_column(Boolean)
    phonophobia: Mapped[bool | None] = mapped_column(Boolean)
    osmophobia: Mapped[bool | None] = mapped_column(Boolean)
    cranial_autonomic: Mapped[list[Any]] = mapped_column(JSON, default=list)
    restlessness: Mapped[bool | None] = mapped_column(Boolean)
    triggers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warning_signs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    treated: Mapped[bool | None] = mapped_column(Boolean)
    recorded_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    readings: Mapped[list[IntensityReadingRow]] = relationship(
        cascade="all, delete-orphan", order_by="IntensityReadingRow.at_local", lazy="selectin"
    )
    aura: Mapped[list[AuraSymptomRow]] = relationship(
        cascade="all, delete-orphan", order_by="AuraSymptomRow.id", lazy="selectin"
    )
    medications: Mapped[list[MedicationDoseRow]] = relationship(
        cascade="all, delete-orphan", order_by="MedicationDoseRow.id", lazy="selectin"
    )


class IntensityReadingRow(Base):
    __tablename__ = "intensity_readings"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    attack_id: Mapped[int] = mapped_column(ForeignKey("attacks.id", ondelete="CASCADE"), index=True)
    at_local: Mapped[dt.datetime] = mapped_column(DateTime)
    intensity: Mapped[int] = mapped_column(Integer)


class AuraSymptomRow(Base):
    __tablename__ = "aura_symptoms"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    attack_id: Mapped[int] = mapped_column(ForeignKey("attacks.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(12))
    symptom: Mapped[str] = mapped_column(Text, default="")
    onset_local: Mapped[dt.datetime | None] = mapped_column(DateTime)
    duration_min: Mapped[int | None] = mapped_column(Integer)
    gradual_spread: Mapped[bool | None] = mapped_column(Boolean)
    unilateral: Mapped[bool | None] = mapped_column(Boolean)
    positive: Mapped[bool | None] = mapped_column(Boolean)
    headache_within_60_min: Mapped[bool | None] = mapped_column(Boolean)


class MedicationDoseRow(Base):
    __tablename__ = "medication_doses"
    __table_args__ = (Index("ix_medication_doses_patient_day", "patient_id", "taken_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    attack_id: Mapped[int] = mapped_column(ForeignKey("attacks.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    med_class: Mapped[str] = mapped_column(String(30))
    taken_local: Mapped[dt.datetime | None] = mapped_column(DateTime)
    taken_day: Mapped[dt.date] = mapped_column(Date)
    dose: Mapped[str | None] = mapped_column(String(50))
    effect: Mapped[str | None] = mapped_column(String(10))


class RegimenRow(Base):
    __tablename__ = "regimens"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    start: Mapped[dt.date] = mapped_column(Date)
    stop: Mapped[dt.date | None] = mapped_column(Date)
    dose: Mapped[str | None] = mapped_column(String(50))


class AuditEvent(Base):
    """Who read or changed which patient's record, and when. Never the health data itself."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_clinic_at", "clinic_id", "at_utc"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))  # read | create | update | delete | login...
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    at_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---- clinical engine (red flags, questionnaires) ------------------------------------------


ALERT_RED_FLAG = "red_flag"
ALERT_SELF_HARM = "self_harm"


class RedFlagAlertRow(Base):
    """An alert for the clinic's staff, open until someone records what was done.

    ``kind`` "red_flag": SNNOOP10 findings (``domain.redflags``); an open one blocks treatment
    planning until a referral or clearance is recorded. ``kind`` "self_harm": a questionnaire's
    safety item (``domain.questionnaires.safety_concern``, source "questionnaire"): one finding
    with the words staff read, closed by "contacted" or "referral" with a reason; it does not
    block planning (it is no SNNOOP10 flag) but puts the patient first on the dashboard."""

    __tablename__ = "red_flag_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(
        String(20), default=ALERT_RED_FLAG, server_default=ALERT_RED_FLAG
    )  # red_flag | self_harm
    source: Mapped[str] = mapped_column(String(20))  # intake | attack | record | questionnaire
    attack_id: Mapped[int | None] = mapped_column(ForeignKey("attacks.id", ondelete="SET NULL"))
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{code, evidence, note}]
    opened_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # referral | clearance (red_flag); contacted | referral (self_harm)
    resolution_kind: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_by_name: Mapped[str | None] = mapped_column(String(200))
    resolved_utc: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class IntakeScreenRow(Base):
    """A completed SNNOOP10 intake screen (all 15 items asked), kept so the safety gate knows
    when the patient was last screened and the date of the first headache (domain/readiness)."""

    __tablename__ = "intake_screens"
    __table_args__ = (Index("ix_intake_screens_patient_day", "patient_id", "screened_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    screened_on: Mapped[dt.date] = mapped_column(Date)  # the patient's local date
    first_headache_onset: Mapped[dt.date | None] = mapped_column(Date)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("red_flag_alerts.id", ondelete="SET NULL")
    )
    screened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class QuestionnaireRow(Base):
    __tablename__ = "questionnaires"
    __table_args__ = (Index("ix_questionnaires_patient_date", "patient_id", "completed_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(10))  # an id of domain.instruments.REGISTRY
    completed_on: Mapped[dt.date] = mapped_column(Date)
    recall_period: Mapped[str] = mapped_column(String(40))
    # Every answer by its item key in the instrument's spec ({} for a total typed in from paper).
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    total: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(40))
    total_entered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---- acupuncture care ---------------------------------------------------------------------


class AssessmentRow(Base):
    """A TCM assessment: the signs recorded, the pattern scores and the practitioner's call."""

    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    locations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    signs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tongue: Mapped[str] = mapped_column(Text, default="")
    pulse: Mapped[str] = mapped_column(Text, default="")
    scores: Mapped[list[Any]] = mapped_column(JSON, default=list)
    confirmed_pattern: Mapped[str | None] = mapped_column(String(40))


class PrescriptionRow(Base):
    __tablename__ = "prescriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL")
    )
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # prescription_as_dict
    confirmed: Mapped[list[Any]] = mapped_column(JSON, default=list)
    ready: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class PrescriptionTemplateRow(Base):
    __tablename__ = "prescription_templates"
    __table_args__ = (UniqueConstraint("clinic_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    points: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{code, side}]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)  # migration 0105


class CourseRow(Base):
    """A treatment course (STRICTA 3a/3b: planned sessions, frequency)."""

    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    planned_sessions: Mapped[int] = mapped_column(Integer)
    sessions_per_week: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TreatmentSessionRow(Base):
    """One acupuncture session. The full STRICTA record is kept in ``record``; the columns
    the outcome analytics read (date, pain before/after) are kept beside it."""

    __tablename__ = "treatment_sessions"
    __table_args__ = (
        Index("ix_treatment_sessions_patient_start", "patient_id", "start_local"),
        # Every column the practice report's anchors read, in patient order per clinic
        # (analytics.cohort.stored_cohort; migration 0115).
        Index(
            "ix_treatment_sessions_clinic_anchor",
            "clinic_id",
            "patient_id",
            "start_local",
            "pain_before",
            "pain_after",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    prescription_id: Mapped[int | None] = mapped_column(
        ForeignKey("prescriptions.id", ondelete="SET NULL")
    )
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    start_utc: Mapped[dt.datetime] = mapped_column(DateTime)
    start_local: Mapped[dt.datetime] = mapped_column(DateTime)
    pain_before: Mapped[int | None] = mapped_column(Integer)
    pain_after: Mapped[int | None] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AdverseEventRow(Base):
    __tablename__ = "adverse_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    action_taken: Mapped[str] = mapped_column(Text, default="")
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---- outcomes (materialised diary-day units) ------------------------------------------------

# Packed counters of ``day_units`` (see DayUnitRow): fields of 7 bits hold a count of up to 127
# days, so a window of at most PACKED_WINDOW_DAYS days sums a packed column without a carry.
PACKED_WINDOW_DAYS = 127
# Per-day ranges a packed field holds (widths below: 127 days of the maximum fit). A day outside
# them (more attacks starting on one day than anyone records, a score outside 0-10 written past
# validation) is counted in ``unpacked_days`` and summed from its own columns instead.
PACKED_ATTACKS_MAX = 4096
PACKED_PEAK_SUM_MAX = 10 * PACKED_ATTACKS_MAX
PACKED_SCORE_MAX = 10


class PackedField(NamedTuple):
    """Where one per-window count lives: bits ``shift`` .. ``shift + width - 1`` of ``column``."""

    column: str
    shift: int
    width: int


PACKED_FIELDS: dict[str, PackedField] = {
    "recorded": PackedField("flags", 0, 7),
    "late": PackedField("flags", 7, 7),
    "migraine": PackedField("flags", 14, 7),
    "headache": PackedField("flags", 21, 7),
    "moderate_severe": PackedField("flags", 28, 7),
    "acute_med": PackedField("flags", 35, 7),
    "migraine_specific_med": PackedField("flags", 42, 7),
    "triptan": PackedField("flags", 49, 7),
    "attacks_started": PackedField("attack_pack", 0, 19),  # 127 x 4096 < 2**19
    "peak_n": PackedField("attack_pack", 19, 19),
    "peak_sum": PackedField("attack_pack", 38, 23),  # 127 x 40960 < 2**23
    "stress_sum": PackedField("mech_pack", 0, 11),  # 127 x 10 < 2**11
    "stress_n": PackedField("mech_pack", 11, 7),
    "neck_tension_sum": PackedField("mech_pack", 18, 11),
    "neck_tension_n": PackedField("mech_pack", 29, 7),
    "sleep_hours_n": PackedField("mech_pack", 36, 7),
    "unpacked_days": PackedField("mech_pack", 43, 7),
}


def _bit(name: str) -> int:
    return 1 << PACKED_FIELDS[name].shift


def _packable() -> str:
    """The day's values lie in the ranges the packed fields hold (NULL scores do)."""
    return (
        f"attacks_started BETWEEN 0 AND {PACKED_ATTACKS_MAX}"
        f" AND peak_n BETWEEN 0 AND {PACKED_ATTACKS_MAX}"
        f" AND peak_sum BETWEEN 0 AND {PACKED_PEAK_SUM_MAX}"
        f" AND COALESCE(stress, 0) BETWEEN 0 AND {PACKED_SCORE_MAX}"
        f" AND COALESCE(neck_tension, 0) BETWEEN 0 AND {PACKED_SCORE_MAX}"
    )


def packed_column_sql() -> dict[str, str]:
    """The generated columns' expressions: the same SQL text on SQLite and PostgreSQL
    (``CASE WHEN flag``, ``COALESCE``; CAST to BIGINT before a product could pass 2**31)."""
    flags = " + ".join(
        f"CASE WHEN {c} THEN {_bit(c)} ELSE 0 END"
        for c, f in PACKED_FIELDS.items()
        if f.column == "flags"
    )
    attacks = (
        f"CASE WHEN {_packable()} THEN attacks_started"
        f" + CAST(peak_n AS BIGINT) * {_bit('peak_n')}"
        f" + CAST(peak_sum AS BIGINT) * {_bit('peak_sum')} ELSE 0 END"
    )
    mech = (
        f"CASE WHEN {_packable()} THEN COALESCE(stress, 0)"
        f" + CASE WHEN stress IS NULL THEN 0 ELSE {_bit('stress_n')} END"
        f" + CAST(COALESCE(neck_tension, 0) AS BIGINT) * {_bit('neck_tension_sum')}"
        f" + CASE WHEN neck_tension IS NULL THEN 0 ELSE {_bit('neck_tension_n')} END"
        f" ELSE {_bit('unpacked_days')} END"
        f" + CASE WHEN sleep_hours IS NULL THEN 0 ELSE {_bit('sleep_hours_n')} END"
    )
    return {"flags": flags, "attack_pack": attacks, "mech_pack": mech}


PACKED_COLUMN_SQL = packed_column_sql()


class DayUnitRow(Base):
    """One recorded diary day of one patient, counted by the pure domain and kept for set-based
    outcome queries (``acuhead.analytics``): the trial day units (CLINICAL.md 1.x, policy
    ``vdArend2023``) plus what a 28-day block sums (attack starts, peak intensity, headache
    minutes, late entries) and the observable mechanism measures (CLINICAL.md 8).

    Derived data: rewritten by ``store.day_units`` after every diary change and in bulk by the
    demo generator; never edited by hand. A day with no row is *missing*, not headache-free
    (CLINICAL.md 0.4): only recorded days are stored, so ``recorded`` is true on every row today
    and queries still test it. ``day_num`` is the day as whole days since 1970-01-01, so window
    arithmetic is plain integer arithmetic on both engines. Clustered by patient on SQLite
    (WITHOUT ROWID) so a cohort scan reads each patient's days together.

    Packed counters. A registry scan spends most of its time reading columns and stepping one
    aggregate per column, so the day's counts are also kept packed into three stored generated
    columns (the database computes them; writers never name them): ``SUM(flags)`` over a window
    gives all eight day counts at once. Each field is wide enough for 127 days of its per-day
    maximum, so a window of up to :data:`PACKED_WINDOW_DAYS` days sums without a carry into the
    next field; longer windows read the plain columns. Fields (bit offset, width):

    * ``flags``: recorded 0, late 7, migraine 14, headache 21, moderate_severe 28,
      acute_med 35, migraine_specific_med 42, triptan 49 (7 bits each: 0 or 1 per day);
    * ``attack_pack``: attacks_started 0 (19 bits), peak_n 19 (19), peak_sum 38 (23): up to
      4096 attack starts a day with peak intensities 0-10 (cluster headache has up to 8 a
      day, CLINICAL.md: 4096 is far past any diary);
    * ``mech_pack``: stress sum 0 (11 bits), stress count 11 (7), neck tension sum 18 (11),
      neck tension count 29 (7), sleep-hours count 36 (7), unpacked days 43 (7).

    A day whose values lie outside those ranges packs zeros for its attack and score fields
    and counts in *unpacked days*; the window query then recounts that patient from the plain
    columns, so an impossible value costs speed, never a wrong sum. ``headache_minutes`` and
    ``sleep_hours`` are summed from their own columns.
    """

    __tablename__ = "day_units"
    __table_args__ = (
        Index("ix_day_units_clinic_day_num", "clinic_id", "day_num"),
        {"sqlite_with_rowid": False},
    )
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    day_num: Mapped[int] = mapped_column(Integer)
    recorded: Mapped[bool] = mapped_column(Boolean)
    migraine: Mapped[bool] = mapped_column(Boolean)
    headache: Mapped[bool] = mapped_column(Boolean)
    moderate_severe: Mapped[bool] = mapped_column(Boolean)
    acute_med: Mapped[bool] = mapped_column(Boolean)
    migraine_specific_med: Mapped[bool] = mapped_column(Boolean)
    triptan: Mapped[bool] = mapped_column(Boolean)
    attacks_started: Mapped[int] = mapped_column(Integer)
    peak_sum: Mapped[int] = mapped_column(Integer)
    peak_n: Mapped[int] = mapped_column(Integer)
    headache_minutes: Mapped[int] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean)
    stress: Mapped[int | None] = mapped_column(Integer)
    sleep_hours: Mapped[float | None] = mapped_column(Float)
    neck_tension: Mapped[int | None] = mapped_column(Integer)
    menstruating: Mapped[bool | None] = mapped_column(Boolean)
    # The day's migraine status is unknown (missing attack data, issue 12 item 8): ``migraine``
    # is then false and this true. Summed from its own column, not packed.
    migraine_uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[int] = mapped_column(
        BigInteger, Computed(PACKED_COLUMN_SQL["flags"], persisted=True)
    )
    attack_pack: Mapped[int] = mapped_column(
        BigInteger, Computed(PACKED_COLUMN_SQL["attack_pack"], persisted=True)
    )
    mech_pack: Mapped[int] = mapped_column(
        BigInteger, Computed(PACKED_COLUMN_SQL["mech_pack"], persisted=True)
    )


# ---- research (issue 7) -------------------------------------------------------------------


class ResearchConsentRow(Base):
    """A patient's consent to research use of their de-identified data, and its withdrawal.

    ``scope`` lists what was consented to (comma-separated words, e.g. ``research``); a consent
    counts from ``given_on`` until ``withdrawn_on`` (exclusive).
    """

    __tablename__ = "research_consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    given_on: Mapped[dt.date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(Text)
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---- web application: invitations, questionnaire schedule, reminders (issue 6) ------------


class Invitation(Base):
    """A one-time link that lets a user set their own password (invitation or reset).

    Only the SHA-256 of the token is stored, as for sessions: a database copy cannot be
    turned into working links.
    """

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20), default="invite")  # invite | reset
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_utc: Mapped[dt.datetime] = mapped_column(DateTime)
    used_utc: Mapped[dt.datetime | None] = mapped_column(DateTime)


class QuestionnaireSchedule(Base):
    """How often a clinic asks its patients to fill in an instrument (e.g. every 28 days)."""

    __tablename__ = "questionnaire_schedules"
    __table_args__ = (UniqueConstraint("clinic_id", "instrument"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(10))  # an id of domain.instruments.REGISTRY
    every_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ReminderLog(Base):
    """One row per reminder sent, so a reminder is never sent twice for the same reason.

    ``reason`` names what was due without health data, e.g. ``diary:2026-11-27`` or
    ``<instrument id>:2026-11-30``.
    """

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("user_id", "kind", "reason"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # diary | questionnaire
    reason: Mapped[str] = mapped_column(String(60))
    sent_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---- session history and contact details (issue 15) ------------------------------------------


class SessionVersionRow(Base):
    """A treatment session as it was before a correction: the record a practitioner replaced,
    kept whole, so an edit never loses what was first written (who changed it and when is in
    ``changed_by``/``changed_utc`` and in the audit trail)."""

    __tablename__ = "session_versions"
    __table_args__ = (UniqueConstraint("session_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)  # the session's version this was
    start_local: Mapped[dt.datetime] = mapped_column(DateTime)
    course_id: Mapped[int | None] = mapped_column(Integer)
    prescription_id: Mapped[int | None] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PatientContactRow(Base):
    """How the clinic reaches a patient (phone, e-mail, postal address). Its own table so the
    contact details can be kept, changed and erased without touching the clinical record; a
    change bumps the patient's ``version`` like any other change to the record."""

    __tablename__ = "patient_contacts"
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[str] = mapped_column(Text, default="")


# ---- patient app: idempotent diary writes (issue 14) ---------------------------------------


class IdempotencyKeyRow(Base):
    """One diary write a client named with its own key, and the answer it got.

    A phone that queued an entry offline sends it again until it hears an answer: the answer
    may have been lost on the way back. The key is stored in the same transaction as the
    write, once per patient, so a replay returns the first answer and writes nothing; the
    same key with a different body is refused (``fingerprint``: SHA-256 of the request)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("patient_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class PatientAppSettings(Base):
    """A patient's own choices in the patient app (issue 14), one row per patient.

    ``reminder_minute``: when the e-mail diary reminder may come, in minutes after local
    midnight (NULL: the clinic's default, a reminder about yesterday at the first run)."""

    __tablename__ = "patient_app_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), unique=True
    )
    reminder_minute: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)


# ---- appointments and calendar feeds (issue 15) --------------------------------------------


class AppointmentRow(Base):
    """A booked slot of one practitioner with one patient (domain/appointments.py).

    ``start_utc``/``end_utc`` are the instants (UTC, naive as every ``*_utc`` column);
    ``timezone`` is the clinic's zone when it was booked, so the day list and the feed show it
    in clinic time. ``session_id`` links the treatment session recorded from it. ``note`` is
    for the practitioner only: never in a feed or an e-mail.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_practitioner_start", "practitioner_id", "start_utc"),
        Index("ix_appointments_clinic_start", "clinic_id", "start_utc"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    start_utc: Mapped[dt.datetime] = mapped_column(DateTime)
    end_utc: Mapped[dt.datetime] = mapped_column(DateTime)
    duration_min: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="booked")  # booked | cancelled
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="SET NULL")
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CalendarFeedRow(Base):
    """A practitioner's secret iCalendar URL. Only the SHA-256 of its token is stored (as for
    sessions and invitations); ``revoked_utc`` set: the URL answers 404."""

    __tablename__ = "calendar_feeds"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_utc: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_utc: Mapped[dt.datetime | None] = mapped_column(DateTime)


class BlockAggregateRow(Base):
    """The sums of one patient's ``day_units`` over one outcome window (issue 17): the baseline
    (``block`` -1: the 28 days before the anchor, the first treatment session's local date) or
    a 28-day block after it (``block`` k: days ``anchor + 28k .. anchor + 28k + 27``), with the
    default windows (``OutcomeConfig``: CLINICAL.md 3). The columns are
    ``domain.outcomes.BlockCounts``' fields, so a row is one ``BlockCounts``.

    Derived data, maintained by ``store.block_aggregates`` in the transaction of every
    day-unit refresh and session write, so the report reads one row per patient x block
    instead of re-reading every diary day. Only windows holding a recorded day have a row,
    as in the day-unit scan (a day with no row is missing, CLINICAL.md 0.4).
    """

    __tablename__ = "block_aggregates"
    __table_args__ = ({"sqlite_with_rowid": False},)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    block: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    recorded_days: Mapped[int] = mapped_column(Integer)
    late_days: Mapped[int] = mapped_column(Integer)
    migraine_days: Mapped[int] = mapped_column(Integer)
    headache_days: Mapped[int] = mapped_column(Integer)
    moderate_severe_days: Mapped[int] = mapped_column(Integer)
    acute_medication_days: Mapped[int] = mapped_column(Integer)
    migraine_specific_medication_days: Mapped[int] = mapped_column(Integer)
    triptan_days: Mapped[int] = mapped_column(Integer)
    attacks: Mapped[int] = mapped_column(Integer)
    peak_sum: Mapped[int] = mapped_column(Integer)
    peak_n: Mapped[int] = mapped_column(Integer)
    headache_minutes: Mapped[int] = mapped_column(Integer)
    stress_sum: Mapped[int] = mapped_column(Integer)
    stress_n: Mapped[int] = mapped_column(Integer)
    neck_tension_sum: Mapped[int] = mapped_column(Integer)
    neck_tension_n: Mapped[int] = mapped_column(Integer)
    sleep_hours_sum: Mapped[float] = mapped_column(Float)
    sleep_hours_n: Mapped[int] = mapped_column(Integer)
    migraine_uncertain_days: Mapped[int] = mapped_column(Integer)
