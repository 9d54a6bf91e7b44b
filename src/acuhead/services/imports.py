"""Importing a patient's record (diary document, FHIR Bundle, days/attacks CSV) into the store.

An import runs in two steps:

1. :func:`read_import` decodes and validates the file, reads the target patient (404 first;
   the stored time zone to read times in when the file names none) and its diary, and builds
   every row to write (:class:`Plan`): attacks and their children in the driver's form, and
   the day units of the merged diary with the ICHD-3 classification of each attack, the
   costly part. Nothing is written, so on SQLite it runs before the write lock is taken:
   other writers wait only for step 2 (issue 13 item 5).
2. :func:`write_import` writes them in one transaction, all or nothing; if the diary or the
   patient's facts changed since step 1 it builds the rows again inside the transaction.

Merging: a field the file leaves out keeps its stored value (``timezone``, ``birth_date``,
``sex``, ``name`` and each safety fact: a safety fact is never cleared by omission; ``false``
clears it). Days are replaced by date, an attack replaces a stored one with the same start,
regimens are matched by name and start, sessions by start, the course by its start date,
questionnaires by instrument and date; an assessment is added unless it repeats the latest one.

Bulk writes are split so that no statement carries more bind parameters than either engine
takes (PostgreSQL 65,535; SQLite 32,766 since 3.32): 100,000 attacks used to answer 500 on
PostgreSQL (benchmarks/import_scale.py has the figures).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Row,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from acuhead.domain import questionnaires, redflags
from acuhead.domain.daycount import AttackDates, attack_dates, classify_placed
from acuhead.domain.dayunits import VD_AREND_2023
from acuhead.domain.diagnosis import migraine_status
from acuhead.domain.diary import Attack, Diary, DiaryDay, PatientFacts, SafetyProfile
from acuhead.domain.tcm.patterns import assess, parse_pattern
from acuhead.domain.tcm.restore import scores_as_list
from acuhead.errors import FieldError, ValidationError
from acuhead.gcpause import cycle_collection_paused
from acuhead.interop import csv_io, fhir
from acuhead.interop.document import (
    EARLIEST,
    AssessmentEntry,
    DiaryDocument,
    QuestionnaireEntry,
    load_text,
    parse,
    to_document,
)
from acuhead.services import care_documents, safety
from acuhead.services.actors import Actor, Role, load_patient, require_staff
from acuhead.services.diary import (
    create_patient,
    latest_assessment,
    load_diary,
    practitioner_signs,
)
from acuhead.store import block_aggregates
from acuhead.store import day_units as units
from acuhead.store.audit import audit
from acuhead.store.bulk import (
    MAX_BIND_PARAMS,
    bulk_insert,
    chunks,
    converter,
)
from acuhead.store.contacts import write_contact
from acuhead.store.db import Database
from acuhead.store.mapping import (
    ATTACK_COLUMNS,
    AURA_COLUMNS,
    DAY_COLUMNS,
    MEDICATION_COLUMNS,
    READING_COLUMNS,
    attack_from_parts,
    day_from_row,
    patient_facts,
    to_utc,
)
from acuhead.store.models import (
    AssessmentRow,
    AttackRow,
    AuraSymptomRow,
    DayUnitRow,
    DiaryDayRow,
    IntensityReadingRow,
    MedicationDoseRow,
    Patient,
    QuestionnaireRow,
    RegimenRow,
    utcnow,
)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


@dataclass(frozen=True, slots=True)
class PreparedImport:
    """A validated file, ready to be written (step 1)."""

    fmt: str  # "json" | "fhir" | "csv"
    doc: DiaryDocument
    kind: str  # what the audit row names: "diary", "fhir", "csv_days", "csv_attacks"
    text: str  # to read again if the stored zone changed before step 2 ("": never)
    source: str
    zone: str  # the zone the file's times were read in
    questionnaires: tuple[QuestionnaireEntry, ...] = ()
    plan: Plan | None = None  # the rows to write, made in step 1
    now: dt.datetime = dt.datetime.min  # the recording time of what is written

    @classmethod
    def of(cls, doc: DiaryDocument) -> PreparedImport:
        """An already parsed diary document."""
        return cls(
            "json",
            doc,
            "diary",
            "",
            "document",
            doc.diary.patient.timezone,
            doc.questionnaires,
            now=utcnow(),
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """What step 1 made of the file against the stored diary as it read it: the insert rows
    (values already in the driver's form), the red-flag history and the day units of the
    merged diary, with the ICHD-3 classification of every attack (the costly part). Step 2
    uses them when the diary and the patient's facts are still as read (``fingerprint``),
    else makes them again inside its transaction."""

    fingerprint: tuple[Any, ...]
    facts: PatientFacts
    kept: tuple[Attack, ...]  # stored attacks the file does not replace
    replaced: tuple[dt.datetime, ...]  # starts of the stored attacks the file replaces
    attacks: tuple[tuple[Any, ...], ...]  # ATTACK_FIELDS values
    children: Mapping[str, tuple[tuple[int, tuple[Any, ...]], ...]]  # (attack index, values)
    # day_units rows (patient and clinic ids set in step 2); None: the file changes nothing
    # they count (no days, no attacks, the same patient facts), so they stay as stored.
    units: tuple[tuple[Any, ...], ...] | None
    # The merged diary's migraine diagnosis from its attacks (`diagnosis.migraine_status`),
    # stored as patients.migraine_diagnosed with the day units it decided (issue 12 item 6).
    migraine_by_attacks: bool | None = None


# ---- step 1: read ------------------------------------------------------------------------------


def _stored(
    session: Session, actor: Actor, patient_id: int | None, external_id: Any
) -> Patient | None:
    """The patient an import goes to, if stored (its zone and facts are what a file that
    leaves them out keeps)."""
    if patient_id is not None:
        return load_patient(session, actor, patient_id)
    if not isinstance(external_id, str):
        return None
    found: Patient | None = session.scalars(
        select(Patient).where(
            Patient.clinic_id == actor.clinic_id, Patient.external_id == external_id
        )
    ).first()
    return found


def merged_facts(stored: Patient | None, doc: DiaryDocument) -> PatientFacts:
    """The patient's facts once ``doc`` is merged into ``stored`` (see :func:`_merge_patient`)."""
    facts = doc.diary.patient
    if stored is None:
        return facts
    base = patient_facts(stored)
    keys = doc.patient_keys
    safety = {k: getattr(base.safety, k) for k in SafetyProfile.__dataclass_fields__}
    safety.update({k: getattr(facts.safety, k) for k in doc.safety_keys})
    return PatientFacts(
        birth_date=facts.birth_date if "birth_date" in keys else base.birth_date,
        sex=facts.sex if "sex" in keys else base.sex,
        timezone=facts.timezone if "timezone" in keys else base.timezone,
        safety=SafetyProfile(**safety),
    )


def _with_plan(
    session: Session, prepared: PreparedImport, stored: Patient | None
) -> PreparedImport:
    now = utcnow()
    facts = merged_facts(stored, prepared.doc)
    pid = stored.id if stored is not None else None
    same = stored is not None and patient_facts(stored) == facts
    plan = make_plan(session, prepared.doc, facts, pid, now, same_facts=same)
    return replace(prepared, plan=plan, now=now)


def _bundle_external_id(raw: Mapping[str, Any]) -> Any:
    """The external id a Bundle's Patient carries (to find the stored patient's zone)."""
    for entry in raw.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(res, Mapping) and res.get("resourceType") == "Patient":
            for ident in res.get("identifier") or []:
                if isinstance(ident, Mapping) and ident.get("system") == fhir.PATIENT_ID_SYSTEM:
                    return ident.get("value")
    return None


def read_import(
    session: Session,
    *,
    actor: Actor,
    data: bytes | str,
    source: str = "file",
    patient_id: int | None = None,
) -> PreparedImport:
    """Validate a file (step 1); ``session`` is only read. Raises ValidationError with every
    located problem, NotFound for a patient the actor may not see."""
    with cycle_collection_paused():
        return _read_import(session, actor, data, source, patient_id)


def _read_import(
    session: Session, actor: Actor, data: bytes | str, source: str, patient_id: int | None
) -> PreparedImport:
    require_staff(actor)
    if patient_id is not None:
        load_patient(session, actor, patient_id)  # 404 before any parsing
    text_ = csv_io.decode(data)
    if not text_.lstrip().startswith(("{", "[")):
        if patient_id is None:
            raise ValidationError(
                FieldError("patient", "a CSV import needs the patient it belongs to")
            )
        patient = load_patient(session, actor, patient_id)
        found = csv_io.parse(text_, patient=_patient_block(patient))
        prepared = PreparedImport(
            "csv", found.document, f"csv_{found.kind}", text_, source, patient.timezone
        )
        return _with_plan(session, prepared, patient)
    raw = load_text(text_, source=source)
    if isinstance(raw, dict) and raw.get("resourceType") == "Bundle":
        stored = _stored(session, actor, patient_id, _bundle_external_id(raw))
        bundle = fhir.from_bundle(raw, timezone=stored.timezone if stored else None)
        zone = bundle.document.diary.patient.timezone
        latest = dt.datetime.now(ZoneInfo(zone)).date() + dt.timedelta(days=1)
        late = [
            FieldError(f"{q.where}.authored", f"{q.completed_on} is in the future")
            for q in bundle.questionnaires
            if q.completed_on > latest
        ] + [
            FieldError(f"{q.where}.authored", f"{q.completed_on} is before {EARLIEST.year}")
            for q in bundle.questionnaires
            if q.completed_on < EARLIEST
        ]
        if late:
            raise ValidationError(late)
        answers = tuple(QuestionnaireEntry(q.completed_on, q.score) for q in bundle.questionnaires)
        prepared = PreparedImport("fhir", bundle.document, "fhir", text_, source, zone, answers)
        return _with_plan(session, prepared, stored)
    p = raw.get("patient") if isinstance(raw, dict) else None
    stored = _stored(
        session, actor, patient_id, p.get("external_id") if isinstance(p, dict) else None
    )
    doc = parse(raw, timezone=stored.timezone if stored else None)
    _refuse_what_is_not_stored(doc)
    prepared = PreparedImport(
        "json", doc, "diary", text_, source, doc.diary.patient.timezone, doc.questionnaires
    )
    return _with_plan(session, prepared, stored)


def _refuse_what_is_not_stored(doc: DiaryDocument) -> None:
    """Parts of the document that ``acuhead prescribe`` reads and a record does not store
    (clearances written in a file, planning options): refused with their path rather than
    accepted and dropped. The rest of ``red_flags`` is imported (`safety.import_intake_block`)."""
    errors = []
    block = doc.extras.get("red_flags")
    if isinstance(block, dict) and "cleared" in block:
        errors.append(
            FieldError(
                "red_flags.cleared",
                "a clearance is recorded with POST /api/v1/patients/{id}/red-flags/clear (who, "
                "when and why); an import does not take it",
            )
        )
    for key in doc.assessment.planning if doc.assessment else ():
        errors.append(
            FieldError(
                f"assessment.{key}",
                "a planning option of `acuhead prescribe`, not part of a stored assessment",
            )
        )
    if errors:
        raise ValidationError(errors)


def _patient_block(patient: Patient) -> dict[str, Any]:
    """The document's ``patient`` block for a stored patient (CSV rows carry none)."""
    empty = Diary(patient=patient_facts(patient), days=(), attacks=(), regimens=())
    block: dict[str, Any] = to_document(
        external_id=patient.external_id, diary=empty, name=patient.display_name
    )["patient"]
    return block


# ---- step 2: write -----------------------------------------------------------------------------


def _target(
    session: Session, actor: Actor, prepared: PreparedImport, patient_id: int | None
) -> Patient:
    doc = prepared.doc
    facts = doc.diary.patient
    if patient_id is not None:
        return load_patient(session, actor, patient_id)
    found = session.scalars(
        select(Patient).where(
            Patient.clinic_id == actor.clinic_id, Patient.external_id == doc.external_id
        )
    ).first()
    if found is not None:
        return found
    return create_patient(
        session,
        actor=actor,
        external_id=doc.external_id,
        display_name=doc.name,
        birth_date=facts.birth_date,
        sex=facts.sex,
        timezone=facts.timezone,
        safety=facts.safety,
    )


def _merge_patient(patient: Patient, doc: DiaryDocument) -> None:
    """Set what the file gave; keep every stored value it left out (safety facts included)."""
    facts = doc.diary.patient
    keys = doc.patient_keys
    if "name" in keys and doc.name.strip():
        patient.display_name = doc.name.strip()
    if "birth_date" in keys:
        patient.birth_date = facts.birth_date
    if "sex" in keys:
        patient.sex = facts.sex.value
    if "timezone" in keys:
        patient.timezone = facts.timezone
    if doc.safety_keys:
        stored = dict(patient.safety or {})
        merged = {k: bool(stored.get(k, False)) for k in SafetyProfile.__dataclass_fields__}
        for key in doc.safety_keys:
            merged[key] = bool(getattr(facts.safety, key))
        patient.safety = merged
    patient.version += 1


def write_import(
    session: Session, *, actor: Actor, prepared: PreparedImport, patient_id: int | None = None
) -> tuple[Patient, dict[str, int]]:
    """Merge a prepared file into the record inside the caller's transaction (step 2), with
    the collector paused as in step 1: the plan's objects are all alive, and on SQLite other
    writers wait for this step."""
    with cycle_collection_paused():
        return _write_import(session, actor, prepared, patient_id)


def _write_import(
    session: Session, actor: Actor, prepared: PreparedImport, patient_id: int | None
) -> tuple[Patient, dict[str, int]]:
    require_staff(actor)
    patient = _target(session, actor, prepared, patient_id)
    stale = "timezone" not in prepared.doc.patient_keys and patient.timezone != prepared.zone
    if stale and prepared.text:
        # The stored zone changed since step 1 (or the patient is new): read the times again.
        prepared = read_import(
            session, actor=actor, data=prepared.text, source=prepared.source, patient_id=patient.id
        )
    doc = prepared.doc
    _merge_patient(patient, doc)
    if doc.contact and write_contact(session, patient, doc.contact):  # patient.contact block
        audit(session, actor, "import", "patient_contact", patient.id, patient_id=patient.id)
    session.flush()
    counts = _write_diary(session, actor, patient, prepared)
    # The intake screen (issue 12): "yes" answers open an alert; a dated staff screen is recorded.
    block = doc.extras.get("red_flags")
    if isinstance(block, dict) and block:
        safety.import_intake_block(session, actor=actor, patient=patient, block=block)
    counts.update(
        care_documents.import_care(session, actor=actor, patient=patient, extras=doc.extras)
    )
    counts["questionnaires"] = _write_questionnaires(
        session, actor, patient, prepared.questionnaires
    )
    counts["assessments"] = _write_assessment(session, actor, patient, doc.assessment)
    audit(session, actor, "import", "diary", patient_id=patient.id)
    if prepared.kind != "diary":
        audit(session, actor, "import", prepared.kind, patient_id=patient.id)
    return patient, counts


def import_text(
    session: Session,
    *,
    actor: Actor,
    data: bytes | str,
    source: str = "file",
    patient_id: int | None = None,
) -> tuple[str, Patient, dict[str, int]]:
    """Both steps in one transaction (the caller's)."""
    prepared = read_import(session, actor=actor, data=data, source=source, patient_id=patient_id)
    patient, counts = write_import(session, actor=actor, prepared=prepared, patient_id=patient_id)
    return prepared.fmt, patient, counts


def import_file(
    db: Database,
    *,
    actor: Actor,
    data: bytes | str,
    source: str = "file",
    patient_id: int | None = None,
) -> tuple[str, int, str, dict[str, int]]:
    """Step 1 in a read session, step 2 in a write transaction: on SQLite the write lock is
    held only while the rows are written. Returns (format, patient id, external id, counts)."""
    with db.read() as session:
        prepared = read_import(
            session, actor=actor, data=data, source=source, patient_id=patient_id
        )
    with db.write() as session:
        patient, counts = write_import(
            session, actor=actor, prepared=prepared, patient_id=patient_id
        )
        return prepared.fmt, patient.id, patient.external_id, counts


def import_document(
    session: Session,
    *,
    actor: Actor,
    doc: DiaryDocument,
    patient_id: int | None = None,
) -> tuple[Patient, dict[str, int]]:
    """Merge a parsed document into a patient's diary, inside the caller's transaction (what
    a document leaves out keeps its stored value)."""
    return write_import(
        session, actor=actor, prepared=PreparedImport.of(doc), patient_id=patient_id
    )


# ---- the diary, in bulk --------------------------------------------------------------------------


# The columns written per row, in order (ids and tenant keys are put in front in step 2).
ATTACK_FIELDS = (
    "start_utc",
    "end_utc",
    "start_local",
    "end_local",
    "duration_min",
    "peak_intensity",
    "side",
    "locations",
    "quality",
    "aggravated_by_activity",
    "nausea",
    "vomiting",
    "photophobia",
    "phonophobia",
    "osmophobia",
    "cranial_autonomic",
    "restlessness",
    "triggers",
    "warning_signs",
    "treated",
    "recorded_utc",
    "version",
)
CHILD_FIELDS: Mapping[str, tuple[str, ...]] = {
    "intensity_readings": ("at_local", "intensity"),
    "aura_symptoms": (
        "type",
        "symptom",
        "onset_local",
        "duration_min",
        "gradual_spread",
        "unilateral",
        "positive",
        "headache_within_60_min",
    ),
    "medication_doses": ("name", "med_class", "taken_local", "taken_day", "dose", "effect"),
}
_MODELS: Mapping[str, Any] = {
    "attacks": AttackRow,
    "intensity_readings": IntensityReadingRow,
    "aura_symptoms": AuraSymptomRow,
    "medication_doses": MedicationDoseRow,
    "day_units": DayUnitRow,
}


def _fingerprint(session: Session, patient_id: int | None) -> tuple[Any, ...]:
    """Changes whenever a day or an attack of the patient is added, changed or removed."""
    if patient_id is None:
        return (0, None, None, None) * 2  # as for a patient with no rows yet
    out: list[Any] = []
    for model in (DiaryDayRow, AttackRow):
        out.extend(
            session.execute(
                select(
                    func.count(model.id),
                    func.sum(model.version),
                    func.max(model.id),
                    func.max(model.recorded_utc),
                ).where(model.patient_id == patient_id)
            ).one()
        )
    return tuple(out)


def _attack_values(a: Attack, tz: str, now: dt.datetime) -> tuple[Any, ...]:
    """An attack's ATTACK_FIELDS values (as ``mapping.fill_attack_row`` writes them)."""
    return (
        to_utc(a.start, tz),
        to_utc(a.end, tz) if a.end else None,
        a.start,
        a.end,
        a.duration_min,
        a.peak,
        a.side.value if a.side else None,
        [x.value for x in a.locations],
        [x.value for x in a.quality],
        a.aggravated_by_activity,
        a.nausea.value if a.nausea else None,
        a.vomiting,
        a.photophobia,
        a.phonophobia,
        a.osmophobia,
        list(a.cranial_autonomic),
        a.restlessness,
        list(a.triggers),
        list(a.warning_signs),
        a.treated,
        now,
        1,
    )


_JSON_LISTS = ("locations", "quality", "cranial_autonomic", "triggers", "warning_signs")
_ATTACK_FLAGS = (
    "aggravated_by_activity",
    "vomiting",
    "photophobia",
    "phonophobia",
    "osmophobia",
    "restlessness",
    "treated",
)


def _copy_attack_rows(
    attacks: Sequence[Attack], placed: Sequence[AttackDates], now: dt.datetime
) -> list[tuple[Any, ...]]:
    """The ATTACK_FIELDS rows of the file's attacks for COPY on PostgreSQL, in their final
    form, with the values `_converter` and `_json_text_columns` gave `_attack_values` rows
    (tests/integration/test_imports.py compares the stored rows).

    Each attack's start and end in UTC are those `attack_dates` worked out for the day units
    (``placed``, in file order). The five lists of an attack are tuples of enum members or
    strings that repeat from attack to attack (``(Location.TEMPORAL,)``, ``()``): each
    distinct tuple is written as JSON text once and the text reused, keyed by the tuple itself
    (no list is built per attack). Only tuples of strings are remembered; any other goes to
    ``json.dumps`` each time (``(1,)`` and ``(True,)`` are equal keys but different JSON).
    Flags go to the driver as they are (SQLAlchemy's PostgreSQL step returns a bool or None
    unchanged), after the same check it makes: anything but True, False and None refused.
    """
    texts: dict[tuple[Any, ...], str] = {}

    def as_json(values: tuple[Any, ...]) -> str:
        found = texts.get(values)
        if found is not None:
            return found
        plain = [v.value if isinstance(v, enum.Enum) else v for v in values]
        text_ = json.dumps(plain)
        if all(type(v) is str for v in plain):
            texts[values] = text_
        return text_

    rows = []
    for a, d in zip(attacks, placed, strict=True):
        rows.append(
            (
                d.start_utc,
                d.end_utc if a.end is not None else None,
                a.start,
                a.end,
                a.duration_min,
                a.peak,
                a.side.value if a.side else None,
                as_json(a.locations),
                as_json(a.quality),
                a.aggravated_by_activity,
                a.nausea.value if a.nausea else None,
                a.vomiting,
                a.photophobia,
                a.phonophobia,
                a.osmophobia,
                as_json(a.cranial_autonomic),
                a.restlessness,
                as_json(a.triggers),
                as_json(a.warning_signs),
                a.treated,
                now,
                1,
            )
        )
    _check_flags(rows)
    return rows


_FLAG_AT = tuple(ATTACK_FIELDS.index(f) for f in _ATTACK_FLAGS)
_FLAG_TYPES = frozenset({bool, type(None)})


def _check_flags(rows: Sequence[tuple[Any, ...]]) -> None:
    """SQLAlchemy's check of a Boolean column's value, over all rows at once: a value that is
    not True, False or None is refused (a string such as "yes" would otherwise reach COPY,
    whose text form reads it as true). The document's schema refuses such values first, with
    their path (issue 13 item 12); this is the last line."""
    for i in _FLAG_AT:
        kinds = {type(row[i]) for row in rows}
        if not kinds <= _FLAG_TYPES:
            bad = next(row[i] for row in rows if type(row[i]) not in _FLAG_TYPES)
            raise TypeError(f"Not a boolean value: {bad!r}")


def _child_values(a: Attack) -> Iterator[tuple[str, tuple[Any, ...]]]:
    for x in a.readings:
        yield "intensity_readings", (x.at, x.intensity)
    for s in a.aura:
        yield (
            "aura_symptoms",
            (
                s.type.value,
                s.symptom,
                s.onset,
                s.duration_min,
                s.gradual_spread,
                s.unilateral,
                s.positive,
                s.headache_within_60_min,
            ),
        )
    for m in a.medications:
        yield (
            "medication_doses",
            (
                m.name,
                m.med_class.value,
                m.taken_at,
                (m.taken_at or a.start).date(),
                m.dose,
                m.effect.value if m.effect else None,
            ),
        )


def make_plan(
    session: Session,
    doc: DiaryDocument,
    facts: PatientFacts,
    patient_id: int | None,
    now: dt.datetime,
    *,
    same_facts: bool = False,
) -> Plan:
    """Read the stored diary (``patient_id``; None for a new patient) and build every row the
    import writes. Writes nothing. ``same_facts``: the file leaves the patient's facts as they
    are, so without days or attacks the stored day units stay."""
    fingerprint = _fingerprint(session, patient_id)
    diary = doc.diary
    if same_facts and not diary.days and not diary.attacks:
        return Plan(fingerprint, facts, (), (), (), {t: () for t in CHILD_FIELDS}, None)
    starts = {a.start for a in diary.attacks}
    stored_days: dict[dt.date, DiaryDay] = {}
    kept: list[Attack] = []
    kept_recorded: list[dt.datetime | None] = []
    replaced: set[dt.datetime] = set()
    if patient_id is not None:
        conn = session.connection()
        for r in conn.execute(select(*DAY_COLUMNS).where(DiaryDayRow.patient_id == patient_id)):
            stored_days[r.day] = day_from_row(r)
        found, recorded = _stored_attacks(session, patient_id)
        for a, rec in zip(found, recorded, strict=True):
            if a.start not in starts:
                kept.append(a)
                kept_recorded.append(rec)
            else:
                replaced.add(a.start)
    # The merged diary, as it will be stored.
    days = dict(stored_days)
    for d in diary.days:
        was = stored_days.get(d.date)
        at = d.recorded_at or (was.recorded_at if was is not None else now)
        days[d.date] = replace(d, recorded_at=at)
    cutoffs = VD_AREND_2023.cutoffs
    merged = sorted(
        [
            (a.start, 0, i, a, rec)
            for i, (a, rec) in enumerate(zip(kept, kept_recorded, strict=True))
        ]
        + [(a.start, 1, i, a, now) for i, a in enumerate(diary.attacks)],
        key=lambda x: (x[0], x[1], x[2]),
    )
    # Each attack on the patient's clock once, for its classification and the day units.
    dates = [attack_dates(m[3], facts) for m in merged]
    classified = {k: classify_placed(m[3], facts, dates[k], cutoffs) for k, m in enumerate(merged)}
    whole = Diary(
        patient=facts,
        days=tuple(sorted(days.values(), key=lambda d: d.date)),
        attacks=tuple(m[3] for m in merged),
    )
    # Probable migraine counts only in a patient with a migraine diagnosis (ICHD-3 1.5): the
    # answer for the merged diary decides the day units and is stored beside them.
    has_migraine, by_attacks = migraine_status(whole, classifications=classified)
    unit_rows = units.compute_rows(
        whole,
        clinic_id=0,
        patient_id=0,
        attack_recorded_utc=[m[4] for m in merged],
        classifications=classified,
        has_migraine=has_migraine,
        dates=dates,
    )
    convert_units = converter(session, "day_units", units.COLUMNS)
    convert_child = {t: converter(session, t, f) for t, f in CHILD_FIELDS.items()}
    children: dict[str, list[tuple[int, tuple[Any, ...]]]] = {t: [] for t in CHILD_FIELDS}
    if session.get_bind().dialect.name == "postgresql":
        # The file's attacks are the merged diary's entries marked 1 (in start order there;
        # ``m[2]`` is the place in the file).
        placed: list[AttackDates | None] = [None] * len(diary.attacks)
        for k, m in enumerate(merged):
            if m[1] == 1:
                placed[m[2]] = dates[k]
        rows = _copy_attack_rows(diary.attacks, cast(list[AttackDates], placed), now)
    else:
        convert_attack = converter(session, "attacks", ATTACK_FIELDS)
        rows = [convert_attack(_attack_values(a, facts.timezone, now)) for a in diary.attacks]
    for i, a in enumerate(diary.attacks):
        if a.readings or a.aura or a.medications:
            for table, values in _child_values(a):
                children[table].append((i, convert_child[table](values)))
    return Plan(
        fingerprint=fingerprint,
        facts=facts,
        kept=tuple(kept),
        replaced=tuple(sorted(replaced)),
        attacks=tuple(rows),
        children={t: tuple(v) for t, v in children.items()},
        units=tuple(convert_units(r) for r in unit_rows),
        migraine_by_attacks=by_attacks,
    )


def _write_diary(
    session: Session, actor: Actor, patient: Patient, prepared: PreparedImport
) -> dict[str, int]:
    conn = session.connection()
    diary = prepared.doc.diary
    counts = {"days": len(diary.days), "attacks": len(diary.attacks), "regimens": 0}
    now = prepared.now if prepared.now != dt.datetime.min else utcnow()
    facts = patient_facts(patient)
    plan = prepared.plan
    if plan is None or plan.facts != facts or plan.fingerprint != _fingerprint(session, patient.id):
        # Changed since step 1 (or no step 1): build the rows again, inside the transaction.
        plan = make_plan(session, prepared.doc, facts, patient.id, now)

    # Days: replaced by date (an update keeps the row and bumps its version).
    days_t = _table(DiaryDayRow)
    stored_days = {
        r.day: r.id
        for r in conn.execute(
            select(days_t.c.id, days_t.c.day).where(days_t.c.patient_id == patient.id)
        )
    }
    updates: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    inserts: list[dict[str, Any]] = []
    for d in diary.days:
        values = _day_values(d, now)
        if d.date in stored_days:
            # An update keeps the stored recording time unless the file gives one.
            if d.recorded_at is None:
                del values["recorded_utc"]
            row = {"row_id": stored_days[d.date], **{f"v_{k}": v for k, v in values.items()}}
            updates[d.recorded_at is not None].append(row)
        else:
            inserts.append(
                {"clinic_id": patient.clinic_id, "patient_id": patient.id, "version": 1, **values}
            )
    for group in updates.values():
        if not group:
            continue
        names = [k.removeprefix("v_") for k in group[0] if k != "row_id"]
        stmt = (
            update(days_t)
            .where(days_t.c.id == bindparam("row_id"))
            .values(version=days_t.c.version + 1, **{k: bindparam(f"v_{k}") for k in names})
        )
        for part in chunks(group, len(group[0])):
            conn.execute(stmt, list(part))
    for part in chunks(inserts, len(inserts[0]) if inserts else 1):
        conn.execute(insert(days_t), list(part))

    # Attacks: one with the same start replaces the stored one (its child rows cascade); the
    # plan names the stored ones (a new patient's 100,000 attacks replace nothing).
    attacks_t = _table(AttackRow)
    for some in chunks(plan.replaced, 1):
        conn.execute(
            delete(attacks_t).where(
                attacks_t.c.patient_id == patient.id, attacks_t.c.start_local.in_(list(some))
            )
        )
    ids = _new_ids(session, "attacks", len(diary.attacks))
    cid, pid = patient.clinic_id, patient.id
    bulk_insert(
        session,
        "attacks",
        ("id", "clinic_id", "patient_id", *ATTACK_FIELDS),
        [(ids[i], cid, pid, *values) for i, values in enumerate(plan.attacks)],
        json_as_text=True,  # `_copy_attack_rows` wrote the JSON text on PostgreSQL
    )
    for table, fields in CHILD_FIELDS.items():
        lead: tuple[str, ...] = ("clinic_id", "attack_id")
        if table == "medication_doses":
            lead = ("clinic_id", "patient_id", "attack_id")
        rows = [
            (cid, pid, ids[i], *values) if len(lead) == 3 else (cid, ids[i], *values)
            for i, values in plan.children[table]
        ]
        bulk_insert(session, table, (*lead, *fields), rows)

    # Regimens: matched by name and start.
    for r in diary.regimens:
        session.execute(
            delete(RegimenRow).where(
                RegimenRow.patient_id == patient.id,
                RegimenRow.name == r.name,
                RegimenRow.start == r.start,
            )
        )
        session.add(
            RegimenRow(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                name=r.name,
                kind=r.kind.value,
                start=r.start,
                stop=r.stop,
                dose=r.dose,
            )
        )
        counts["regimens"] += 1
    session.flush()

    _screen(session, actor, patient, plan.kept, diary.attacks, ids)
    if plan.units is not None:
        units_t = _table(DayUnitRow)
        conn.execute(delete(units_t).where(units_t.c.patient_id == patient.id))
        rows = [(pid, r[1], cid, *r[3:]) for r in plan.units]
        bulk_insert(session, "day_units", units.COLUMNS, rows)
        patient.migraine_diagnosed = plan.migraine_by_attacks
        block_aggregates.rebuild_patient(session, patient.id)  # issue 17: same transaction
    return counts


def _day_values(d: DiaryDay, now: dt.datetime) -> dict[str, Any]:
    return {
        "day": d.date,
        "headache": d.headache,
        "stress": d.stress,
        "sleep_hours": d.sleep_hours,
        "neck_tension": d.neck_tension,
        "menstruating": d.menstruating,
        "notes": d.notes,
        "triggers": list(d.triggers),
        "recorded_utc": d.recorded_at if d.recorded_at is not None else now,
    }


def _new_ids(session: Session, table: str, n: int) -> list[int]:
    """``n`` fresh primary keys, so child rows can be inserted with their attacks in bulk.

    PostgreSQL hands them out from the table's sequence (safe beside concurrent writers);
    on SQLite this transaction is the only writer (BEGIN IMMEDIATE), so the next free ones are
    taken."""
    if n == 0:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # The sequence is looked up once: `pg_get_serial_sequence` inside the select ran once
        # per row (0.6-0.7 of the server's CPU seconds for 100,000 ids against 0.08). The ids
        # come straight from the driver: through SQLAlchemy's result they took ~1 s more.
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
            found = cur.fetchone()
            assert found is not None and found[0] is not None
            cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (found[0], n))
            return [int(x) for (x,) in cur.fetchall()]
    top = conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()  # noqa: S608 - constant
    return list(range(int(top) + 1, int(top) + 1 + n))


def _stored_attacks(
    session: Session, patient_id: int
) -> tuple[list[Attack], list[dt.datetime | None]]:
    """The patient's stored attacks with their recording times, as plain rows."""
    conn = session.connection()
    rows = conn.execute(
        select(*ATTACK_COLUMNS, AttackRow.recorded_utc)
        .where(AttackRow.patient_id == patient_id)
        .order_by(AttackRow.start_local, AttackRow.id)
    ).all()
    if not rows:
        return [], []
    children: list[dict[int, list[Row[Any]]]] = []
    for columns, model in (
        (READING_COLUMNS, IntensityReadingRow),
        (AURA_COLUMNS, AuraSymptomRow),
        (MEDICATION_COLUMNS, MedicationDoseRow),
    ):
        by_attack: dict[int, list[Row[Any]]] = {}
        stmt = (
            select(*columns)
            .join(AttackRow, AttackRow.id == model.attack_id)
            .where(AttackRow.patient_id == patient_id)
            .order_by(model.attack_id, model.id)
        )
        for row in conn.execute(stmt):
            by_attack.setdefault(row.attack_id, []).append(row)
        children.append(by_attack)
    readings, aura, meds = children
    attacks = [
        attack_from_parts(
            r,
            sorted(readings.get(r.id, []), key=lambda x: x.at_local),
            aura.get(r.id, []),
            meds.get(r.id, []),
        )
        for r in rows
    ]
    return attacks, [r.recorded_utc for r in rows]


def _screen(
    session: Session,
    actor: Actor,
    patient: Patient,
    kept: Sequence[Attack],
    new: Sequence[Attack],
    ids: Sequence[int],
) -> None:
    """Red-flag screening of each imported attack with warning signs or aura.

    The aura rules of ``redflags.screen_attack`` ask only whether an earlier attack had any
    aura, or a motor one; so each attack is screened against the first of each (kept in one
    pass over the attacks in start order), not against every earlier attack: the same findings
    in linear time.
    """
    facts = patient_facts(patient)
    first_aura: Attack | None = None
    first_motor: Attack | None = None
    merged = sorted(
        [(a.start, 0, i, a) for i, a in enumerate(kept)]
        + [(a.start, 1, i, a) for i, a in enumerate(new)],
        key=lambda x: (x[0], x[1], x[2]),
    )
    for _start, is_new, i, attack in merged:
        if is_new and (attack.warning_signs or attack.aura):
            history = [x for x in (first_aura, first_motor) if x is not None]
            findings = redflags.screen_attack(attack, facts, history=history)
            if findings:
                safety._open(  # the one place alerts are opened
                    session, actor, patient, "attack", findings, attack_id=ids[i]
                )
        if attack.aura and first_aura is None:
            first_aura = attack
        if first_motor is None and any(s.type.value == "motor" for s in attack.aura):
            first_motor = attack


# ---- questionnaires and the assessment -----------------------------------------------------------


def _write_questionnaires(
    session: Session, actor: Actor, patient: Patient, entries: Sequence[QuestionnaireEntry]
) -> int:
    """Each instrument and date given replaces the stored ones of that instrument and date. A
    safety item answered above its lowest opens the self-harm alert, as the form and the API
    do (``safety.record_concern``: once per response, so importing a file again adds none)."""
    pairs = {(q.score.instrument.id, q.completed_on) for q in entries}
    for instrument, completed_on in sorted(pairs):
        session.execute(
            delete(QuestionnaireRow).where(
                QuestionnaireRow.patient_id == patient.id,
                QuestionnaireRow.instrument == instrument,
                QuestionnaireRow.completed_on == completed_on,
            )
        )
    for q in entries:
        s = q.score
        session.add(
            QuestionnaireRow(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                instrument=s.instrument.id,
                completed_on=q.completed_on,
                recall_period=s.recall_period,
                answers=s.answers,
                total=s.total,
                band=s.band,
                total_entered=s.total_entered,
            )
        )
    session.flush()
    for q in entries:
        concern = questionnaires.safety_concern(q.score.instrument, q.score.answers, q.completed_on)
        if concern is not None:
            safety.record_concern(session, actor=actor, patient=patient, concern=concern)
    return len(entries)


def _assessment_key(row: AssessmentRow) -> tuple[Any, ...]:
    return (
        tuple(row.locations or ()),
        tuple(practitioner_signs(row)),
        row.tongue or "",
        row.pulse or "",
        row.confirmed_pattern,
    )


def _write_assessment(
    session: Session, actor: Actor, patient: Patient, entry: AssessmentEntry | None
) -> int:
    """Store the document's assessment, scored against the imported diary, unless the latest
    stored one has the same findings (so export -> import adds nothing)."""
    if entry is None:
        return 0
    key = (entry.locations, entry.signs, entry.tongue, entry.pulse, entry.confirmed_pattern)
    latest = latest_assessment(session, patient.id)
    if latest is not None and _assessment_key(latest) == key:
        return 0
    diary = load_diary(session, actor=actor, patient_id=patient.id)
    pattern = parse_pattern(entry.confirmed_pattern) if entry.confirmed_pattern else None
    value = assess(entry.signs, entry.tongue, entry.pulse, diary=diary, confirmed_pattern=pattern)
    row = AssessmentRow(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        practitioner_id=actor.user_id if actor.role == Role.PRACTITIONER else None,
        locations=list(entry.locations),
        signs=[{"sign": s, "source": "practitioner"} for s in value.signs]
        + [{"sign": d.sign, "source": "diary", "basis": d.basis} for d in value.derived_signs],
        tongue=value.tongue,
        pulse=value.pulse,
        scores=scores_as_list(value.scores),
        confirmed_pattern=pattern.value if pattern else None,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "import", "assessment", row.id, patient_id=patient.id)
    return 1


__all__ = [
    "MAX_BIND_PARAMS",
    "PreparedImport",
    "chunks",
    "import_document",
    "import_file",
    "import_text",
    "read_import",
    "write_import",
]
