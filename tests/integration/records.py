"""A patient record that uses every field the interop formats carry (FHIR, CSV, research)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from acuhead.interop import document
from acuhead.services import clinical, imports
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import Patient

NOTE = "Quarrel with landlord Zebulon about the flat"
SYMPTOM = "zigzag lines spreading from the centre"

RICH: dict[str, Any] = {
    "format": "acuhead.diary/1",
    "patient": {
        "external_id": "EXT-7731-ZETA",
        "name": "Ottilie Quenstedt",
        "birth_date": "1986-09-14",
        "sex": "female",
        "timezone": "Europe/Berlin",
        "safety": {"pregnant": False, "anticoagulant": True, "needle_phobia": False},
    },
    "days": [
        {
            "date": "2025-03-02",
            "headache": True,
            "stress": 7,
            "sleep_hours": 5.5,
            "neck_tension": 6,
            "menstruating": False,
            "notes": NOTE,
            "triggers": ["stress", "poor sleep", "landlord Zebulon"],
        },
        {"date": "2025-03-03", "headache": False, "stress": 4, "sleep_hours": 7.0},
        {"date": "2025-03-04", "headache": True, "menstruating": True},
        {"date": "2025-03-30", "headache": True, "stress": 2, "neck_tension": 0},
    ],
    "attacks": [
        {
            "start": "2025-03-02T06:30:00",
            "end": "2025-03-02T19:00:00",
            "peak_intensity": 7,
            "readings": [
                {"at": "2025-03-02T07:00:00", "intensity": 5},
                {"at": "2025-03-02T09:00:00", "intensity": 7},
            ],
            "side": "left",
            "locations": ["temporal", "orbital"],
            "quality": ["pulsating"],
            "aggravated_by_activity": True,
            "nausea": "moderate",
            "vomiting": False,
            "photophobia": True,
            "phonophobia": True,
            "osmophobia": False,
            "aura": [
                {
                    "type": "visual",
                    "symptom": SYMPTOM,
                    "duration_min": 25,
                    "onset": "2025-03-02T06:00:00",
                    "gradual_spread": True,
                    "unilateral": True,
                    "positive": True,
                    "headache_within_60_min": True,
                }
            ],
            "cranial_autonomic": ["lacrimation"],
            "restlessness": False,
            "treated": True,
            "triggers": ["stress"],
            "warning_signs": ["pattern_change"],
            "medications": [
                {
                    "name": "sumatriptan",
                    "class": "triptan",
                    "taken_at": "2025-03-02T07:15:00",
                    "dose": "50 mg",
                    "effect": "partial",
                },
                {"name": "ibuprofen", "class": "nsaid", "effect": "good"},
            ],
        },
        {
            "start": "2025-03-04T14:00:00",
            "end": "2025-03-04T18:30:00",
            "peak_intensity": 3,
            "side": "both",
            "locations": ["frontal", "neck"],
            "quality": ["pressing"],
            "nausea": "none",
            "medications": [{"name": "paracetamol", "class": "paracetamol"}],
        },
        {"date": "2025-03-30", "duration_min": 240},
        {"start": "2025-03-29T23:30:00", "end": "2025-03-30T04:00:00", "peak_intensity": 5},
    ],
    "sessions": [
        {
            "start": "2025-03-10T10:00:00",
            "style": "tcm",
            "rationale": "Liver yang rising; local and distal points",
            "references": ["Linde 2016 Cochrane", "Li 2012"],
            "individualisation": "semi_standardised",
            "points": [
                {"code": "GB20", "side": "both", "depth": {"value": 0.8, "unit": "cun"}},
                {"code": "EX-HN5", "side": "left"},
                {"code": "GV20"},
                {"code": "LR3", "side": "both", "depth": {"unit": "tissue", "tissue": "muscle"}},
            ],
            "response_sought": ["deqi"],
            "response_obtained": ["deqi", "twitch"],
            "stimulation": {
                "method": "electro",
                "frequency_hz": [2, 100],
                "intensity_ma": 0.5,
                "waveform": "dense-disperse",
            },
            "retention_min": 30,
            "needle": {"diameter_mm": 0.25, "length_mm": 40, "material": "stainless steel"},
            "co_interventions": [{"type": "moxibustion", "detail": "GV20, 5 min"}],
            "practitioner": "licensed acupuncturist, 10 years",
            "setting": "private practice",
            "pain_before": 4,
            "pain_after": 1,
            "adverse_events": [
                {
                    "type": "haematoma",
                    "severity": "mild",
                    "serious": False,
                    "action_taken": "pressure for two minutes",
                    "point": "LR3",
                    "note": "resolved the same day",
                },
                {"type": "fainting", "severity": "severe", "serious": True, "hospitalised": True},
            ],
            "notes": "Patient Ottilie relaxed well",
        },
        {"start": "2025-03-17T10:00:00", "points": [{"code": "LI4", "side": "right"}]},
    ],
}


def rich_doc(external_id: str = "EXT-7731-ZETA", **patient: Any) -> dict[str, Any]:
    doc = copy.deepcopy(RICH)
    doc["patient"]["external_id"] = external_id
    doc["patient"].update(patient)
    return doc


def load_rich(db: Database, clinic_id: int, patient_id: int | None = None, **patient: Any) -> int:
    """Import the rich record with questionnaires into a clinic (a new patient, or into
    ``patient_id``); returns the patient id."""
    actor = Actor.system(clinic_id)
    with db.write() as s:
        doc = document.parse(rich_doc(**patient))
        p, _ = imports.import_document(s, actor=actor, doc=doc, patient_id=patient_id)
        pid = p.id
        day = dt.date(2025, 3, 31)
        for instrument, answers in (
            ("hit6", {"items": [6, 8, 10, 11, 13, 13]}),
            ("hit6", {"total": 58}),
            ("midas", {"items": [1, 2, 0, 4, 5], "a": 12, "b": 6}),
            ("pss10", {"items": [1, 2, 3, 4, 0, 1, 2, 3, 4, 0]}),
            ("pgic", {"items": [2]}),
        ):
            clinical.record_questionnaire(
                s,
                actor=actor,
                patient_id=pid,
                instrument=instrument,
                completed_on=day,
                answers=answers,
            )
            day += dt.timedelta(days=1) if instrument == "hit6" else dt.timedelta(0)
    return pid


def patient_row(db: Database, pid: int) -> Patient:
    with db.read() as s:
        row = s.get(Patient, pid)
        assert row is not None
        return row


def rows_referencing_patient(db: Database, pid: int) -> dict[str, int]:
    """Rows in every table with a ``patient_id`` column that point at the patient."""
    from sqlalchemy import func, select

    from acuhead.store.models import Base

    out: dict[str, int] = {}
    with db.read() as s:
        for table in Base.metadata.sorted_tables:
            if "patient_id" in table.c:
                n = s.scalar(
                    select(func.count()).select_from(table).where(table.c.patient_id == pid)
                )
                out[table.name] = int(n or 0)
    return out


def clinic_health_rows(db: Database, clinic_id: int) -> int:
    """Rows a clinic holds outside accounts and the audit trail (what an import writes)."""
    from sqlalchemy import func, select

    from acuhead.store.models import Base

    skip = {"users", "auth_sessions", "audit_events", "login_attempts", "clinics"}
    total = 0
    with db.read() as s:
        for table in Base.metadata.sorted_tables:
            if table.name not in skip and "clinic_id" in table.c:
                total += int(
                    s.scalar(
                        select(func.count())
                        .select_from(table)
                        .where(table.c.clinic_id == clinic_id)
                    )
                    or 0
                )
    return total
