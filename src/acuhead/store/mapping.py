"""Rows to domain values and back. The only place that knows both shapes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Row

from acuhead.domain.diary import (
    Attack,
    AuraSymptom,
    AuraType,
    DiaryDay,
    Effect,
    IntensityReading,
    Location,
    MedClass,
    MedicationDose,
    Nausea,
    PatientFacts,
    Quality,
    Regimen,
    RegimenKind,
    SafetyProfile,
    Sex,
    Side,
)
from acuhead.store.models import (
    AttackRow,
    AuraSymptomRow,
    DiaryDayRow,
    IntensityReadingRow,
    MedicationDoseRow,
    Patient,
    RegimenRow,
)


def to_utc(local: dt.datetime, tz: str) -> dt.datetime:
    """A patient's local wall-clock time as naive UTC (DESIGN.md: store times in UTC). A naive
    value keeps its ``fold`` (the repeated autumn hour, PEP 495); an aware one is converted."""
    if local.tzinfo is not None:
        return local.astimezone(dt.UTC).replace(tzinfo=None)
    # The wall time less the zone's offset at it: what ``astimezone`` computes for the aware
    # value, without building two intermediate datetimes (an import converts ~200,000 times).
    offset = ZoneInfo(tz).utcoffset(local)
    assert offset is not None
    return local - offset


def to_local(moment: dt.datetime, tz: str) -> dt.datetime:
    """The patient's naive wall-clock time for a local column: an aware value is converted to
    the patient's zone first (its ``fold`` then says which of a repeated hour it was)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def with_fold(
    local: dt.datetime | None, utc: dt.datetime | None, tz: str | None
) -> dt.datetime | None:
    """A stored local time with the ``fold`` the database cannot keep, restored from the stored
    UTC instant: in the repeated hour of an autumn change (01:30 twice in America/New_York) the
    second 01:30 gets ``fold=1``, so durations computed from it are elapsed time
    (docs/clinical-rules.md). Outside a repeated hour the value is returned unchanged."""
    if local is None or utc is None or tz is None:
        return local
    offset = ZoneInfo(tz).utcoffset(local)
    if local.fold == 0 and offset is not None and local - offset == utc:
        return local  # what the fold=0 reading gives: never the repeated hour's second pass
    later = local.replace(fold=1)
    if to_utc(later, tz) == utc and to_utc(local.replace(fold=0), tz) != utc:
        return later
    return local


def patient_facts(p: Patient) -> PatientFacts:
    safety = {
        k: bool(v) for k, v in (p.safety or {}).items() if k in SafetyProfile.__dataclass_fields__
    }
    return PatientFacts(
        birth_date=p.birth_date, sex=Sex(p.sex), timezone=p.timezone, safety=SafetyProfile(**safety)
    )


# The columns the functions below read, for bulk reads that fetch plain rows: only these are
# fetched, so each row costs no more parsing than the domain value needs (no UTC copies,
# versions or tenant keys). A field added to a mapping function must be added here too.
DAY_COLUMNS = (
    DiaryDayRow.day,
    DiaryDayRow.headache,
    DiaryDayRow.stress,
    DiaryDayRow.sleep_hours,
    DiaryDayRow.neck_tension,
    DiaryDayRow.menstruating,
    DiaryDayRow.notes,
    DiaryDayRow.triggers,
    DiaryDayRow.recorded_utc,
)
ATTACK_COLUMNS = (
    AttackRow.id,
    AttackRow.start_local,
    AttackRow.end_local,
    AttackRow.start_utc,
    AttackRow.end_utc,
    AttackRow.duration_min,
    AttackRow.peak_intensity,
    AttackRow.side,
    AttackRow.locations,
    AttackRow.quality,
    AttackRow.aggravated_by_activity,
    AttackRow.nausea,
    AttackRow.vomiting,
    AttackRow.photophobia,
    AttackRow.phonophobia,
    AttackRow.osmophobia,
    AttackRow.cranial_autonomic,
    AttackRow.restlessness,
    AttackRow.triggers,
    AttackRow.treated,
    AttackRow.warning_signs,
)
READING_COLUMNS = (
    IntensityReadingRow.attack_id,
    IntensityReadingRow.at_local,
    IntensityReadingRow.intensity,
)
AURA_COLUMNS = (
    AuraSymptomRow.attack_id,
    AuraSymptomRow.type,
    AuraSymptomRow.symptom,
    AuraSymptomRow.onset_local,
    AuraSymptomRow.duration_min,
    AuraSymptomRow.gradual_spread,
    AuraSymptomRow.unilateral,
    AuraSymptomRow.positive,
    AuraSymptomRow.headache_within_60_min,
)
MEDICATION_COLUMNS = (
    MedicationDoseRow.attack_id,
    MedicationDoseRow.name,
    MedicationDoseRow.med_class,
    MedicationDoseRow.taken_local,
    MedicationDoseRow.dose,
    MedicationDoseRow.effect,
)


def day_from_row(r: DiaryDayRow | Row[Any]) -> DiaryDay:
    return DiaryDay(
        date=r.day,
        headache=r.headache,
        stress=r.stress,
        sleep_hours=r.sleep_hours,
        neck_tension=r.neck_tension,
        menstruating=r.menstruating,
        notes=r.notes or "",
        triggers=tuple(r.triggers or ()),
        recorded_at=r.recorded_utc,
    )


def fill_day_row(r: DiaryDayRow, d: DiaryDay) -> None:
    r.day = d.date
    r.headache = d.headache
    r.stress = d.stress
    r.sleep_hours = d.sleep_hours
    r.neck_tension = d.neck_tension
    r.menstruating = d.menstruating
    r.notes = d.notes
    r.triggers = list(d.triggers)


E = TypeVar("E", bound=Enum)


def _member(kind: type[E], value: Any) -> E:
    """``kind(value)`` through the enum's value table: a dict lookup where the ``Enum`` call
    costs several Python frames (a registry build maps ten or so per attack, issue 17). A value
    not in the table goes through the call, which refuses it as before."""
    found = kind._value2member_map_.get(value) if type(value) is str else None
    return cast(E, found) if found is not None else kind(value)


def attack_from_row(r: AttackRow, *, tz: str | None = None) -> Attack:
    return attack_from_parts(r, r.readings, r.aura, r.medications, tz=tz)


def attack_from_parts(
    r: AttackRow | Row[Any],
    readings: Iterable[IntensityReadingRow | Row[Any]],
    aura: Iterable[AuraSymptomRow | Row[Any]],
    medications: Iterable[MedicationDoseRow | Row[Any]],
    *,
    tz: str | None = None,
) -> Attack:
    """An attack from its row and its child rows, ORM objects or plain result rows alike (a
    bulk read fetches plain rows: no ORM objects to build and track). With the patient's zone
    ``tz``, start and end get back the ``fold`` of a repeated autumn hour (`with_fold`)."""
    start_utc = getattr(r, "start_utc", None)
    end_utc = getattr(r, "end_utc", None)
    return Attack(
        start=with_fold(r.start_local, start_utc, tz) or r.start_local,
        end=with_fold(r.end_local, end_utc, tz),
        duration_min=r.duration_min,
        peak_intensity=r.peak_intensity,
        readings=tuple(IntensityReading(x.at_local, x.intensity) for x in readings),
        side=_member(Side, r.side) if r.side else None,
        locations=tuple(_member(Location, x) for x in r.locations or ()),
        quality=tuple(_member(Quality, x) for x in r.quality or ()),
        aggravated_by_activity=r.aggravated_by_activity,
        nausea=_member(Nausea, r.nausea) if r.nausea else None,
        vomiting=r.vomiting,
        photophobia=r.photophobia,
        phonophobia=r.phonophobia,
        osmophobia=r.osmophobia,
        aura=tuple(
            AuraSymptom(
                type=_member(AuraType, s.type),
                symptom=s.symptom or "",
                onset=s.onset_local,
                duration_min=s.duration_min,
                gradual_spread=s.gradual_spread,
                unilateral=s.unilateral,
                positive=s.positive,
                headache_within_60_min=s.headache_within_60_min,
            )
            for s in aura
        ),
        cranial_autonomic=tuple(r.cranial_autonomic or ()),
        restlessness=r.restlessness,
        triggers=tuple(r.triggers or ()),
        medications=tuple(
            MedicationDose(
                name=m.name,
                med_class=_member(MedClass, m.med_class),
                taken_at=m.taken_local,
                dose=m.dose,
                effect=_member(Effect, m.effect) if m.effect else None,
            )
            for m in medications
        ),
        treated=r.treated,
        warning_signs=tuple(r.warning_signs or ()),
    )


def fill_attack_row(r: AttackRow, a: Attack, *, tz: str) -> None:
    """Write an attack's fields and replace its child rows (readings, aura, medications)."""
    r.start_local = to_local(a.start, tz)
    r.end_local = to_local(a.end, tz) if a.end else None
    r.start_utc = to_utc(a.start, tz)
    r.end_utc = to_utc(a.end, tz) if a.end else None
    r.duration_min = a.duration_min
    r.peak_intensity = a.peak
    r.side = a.side.value if a.side else None
    r.locations = [x.value for x in a.locations]
    r.quality = [x.value for x in a.quality]
    r.aggravated_by_activity = a.aggravated_by_activity
    r.nausea = a.nausea.value if a.nausea else None
    r.vomiting = a.vomiting
    r.photophobia = a.photophobia
    r.phonophobia = a.phonophobia
    r.osmophobia = a.osmophobia
    r.cranial_autonomic = list(a.cranial_autonomic)
    r.restlessness = a.restlessness
    r.triggers = list(a.triggers)
    r.warning_signs = list(a.warning_signs)
    r.treated = a.treated
    r.readings = [
        IntensityReadingRow(clinic_id=r.clinic_id, at_local=x.at, intensity=x.intensity)
        for x in a.readings
    ]
    r.aura = [
        AuraSymptomRow(
            clinic_id=r.clinic_id,
            type=s.type.value,
            symptom=s.symptom,
            onset_local=s.onset,
            duration_min=s.duration_min,
            gradual_spread=s.gradual_spread,
            unilateral=s.unilateral,
            positive=s.positive,
            headache_within_60_min=s.headache_within_60_min,
        )
        for s in a.aura
    ]
    r.medications = [
        MedicationDoseRow(
            clinic_id=r.clinic_id,
            patient_id=r.patient_id,
            name=m.name,
            med_class=m.med_class.value,
            taken_local=m.taken_at,
            taken_day=(m.taken_at or a.start).date(),
            dose=m.dose,
            effect=m.effect.value if m.effect else None,
        )
        for m in a.medications
    ]


def regimen_from_row(r: RegimenRow) -> Regimen:
    return Regimen(r.name, RegimenKind(r.kind), r.start, r.stop, r.dose)
