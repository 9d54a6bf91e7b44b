"""The patient's day form: defaults, "same as yesterday", and parsing what was submitted.

The form is built for speed (USERS.md: a day in a few taps). Values travel as the raw strings
the browser sent, so a form shown again after an error holds exactly what was typed.

Reading of unticked boxes: a question the patient saw and left unticked (light or noise
sensitivity, worse with activity, vomiting) is recorded as "no". Questions that have a
"not recorded" choice (nausea, stress, neck tension, sleep) keep "unknown" when left empty,
so the ICHD-3 engine can tell a gap from a negative finding.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from acuhead.domain.diary import (
    CURATED_TRIGGERS,
    Attack,
    AuraType,
    DiaryDay,
    Effect,
    Location,
    MedClass,
    Nausea,
    Quality,
)
from acuhead.web.pages.base import FormState

MULTI = frozenset({"loc", "quality", "trigger", "warning"})
EDIT_DAYS = 7  # today and the six days before it can be fixed

LOCATIONS: tuple[tuple[str, str], ...] = (
    (Location.FRONTAL.value, "Forehead"),
    (Location.TEMPORAL.value, "Temples / sides"),
    (Location.ORBITAL.value, "Around the eye"),
    (Location.VERTEX.value, "Top of the head"),
    (Location.OCCIPITAL.value, "Back of the head"),
    (Location.NECK.value, "Neck"),
)
SIDES = (("left", "Left"), ("right", "Right"), ("both", "Both sides"))
QUALITIES = (
    (Quality.PULSATING.value, "Throbbing, pulsing"),
    (Quality.PRESSING.value, "Pressing, tight band"),
    (Quality.STABBING.value, "Stabbing"),
    (Quality.OTHER.value, "Other"),
)
NAUSEA = (
    ("", "Not sure"),
    (Nausea.NONE.value, "None"),
    (Nausea.MILD.value, "Mild"),
    (Nausea.MODERATE.value, "Moderate"),
    (Nausea.SEVERE.value, "Severe"),
)
AURA_TYPES = (
    (AuraType.VISUAL.value, "Seeing things (zigzags, flashes, blind spots)"),
    (AuraType.SENSORY.value, "Tingling or numbness"),
    (AuraType.SPEECH.value, "Trouble finding or saying words"),
)
MED_CLASSES: tuple[tuple[str, str], ...] = (
    ("", "No medicine"),
    (MedClass.PARACETAMOL.value, "Paracetamol"),
    (MedClass.NSAID.value, "Ibuprofen, naproxen or other NSAID"),
    (MedClass.SIMPLE_ANALGESIC.value, "Aspirin or other simple painkiller"),
    (MedClass.COMBINATION_ANALGESIC.value, "Combination painkiller (e.g. with caffeine)"),
    (MedClass.TRIPTAN.value, "Triptan (e.g. sumatriptan)"),
    (MedClass.GEPANT.value, "Gepant (e.g. rimegepant)"),
    (MedClass.DITAN.value, "Ditan (lasmiditan)"),
    (MedClass.ERGOT.value, "Ergotamine"),
    (MedClass.OPIOID.value, "Opioid (e.g. codeine, tramadol)"),
    (MedClass.ANTIEMETIC.value, "Anti-sickness medicine"),
    (MedClass.OTHER.value, "Other"),
)
EFFECTS = (
    ("", "Not sure yet"),
    (Effect.GOOD.value, "Helped well"),
    (Effect.PARTIAL.value, "Helped a little"),
    (Effect.NONE.value, "Did not help"),
)
# SNNOOP10 warning signs a patient can report with an attack (aliases in domain.redflags).
WARNINGS = (
    ("thunderclap", "It reached full strength within a minute"),
    ("new_deficit", "Weakness, numbness, confusion or trouble speaking that did not pass"),
    ("fever", "Fever or feeling generally ill"),
    ("head_injury", "It began after a blow to the head or neck"),
    ("positional", "Much worse when standing up or when lying down"),
    ("cough_triggered", "Brought on by coughing, sneezing or straining"),
    ("painful_eye", "A painful red eye"),
    ("pattern_change", "It is different from my usual headaches"),
)
TRIGGERS = CURATED_TRIGGERS
SCORES = tuple(str(i) for i in range(11))

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_ALLOWED = {
    "loc": {v for v, _ in LOCATIONS},
    "side": {v for v, _ in SIDES},
    "quality": {v for v, _ in QUALITIES},
    "nausea": {v for v, _ in NAUSEA},
    "aura_type": {v for v, _ in AURA_TYPES},
    "med_class": {v for v, _ in MED_CLASSES},
    "med_effect": {v for v, _ in EFFECTS},
    "trigger": set(TRIGGERS),
    "warning": {v for v, _ in WARNINGS},
}

# Where the service's and document checks' error paths belong on this form.
ERROR_FIELDS = {
    "date": "_form",
    "start": "start_time",
    "end": "end_time",
    "peak_intensity": "intensity",
    "side": "side",
    "locations": "loc",
    "nausea": "nausea",
    "medications[0].name": "med_name",
    "medications[0].class": "med_class",
    "medications[0].taken_at": "med_time",
    "medications*": "med_name",
    "aura*": "aura_type",
    "stress": "stress",
    "sleep_hours": "sleep_hours",
    "neck_tension": "neck_tension",
}


def _hm(t: dt.datetime | dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def day_values(day: DiaryDay | None) -> dict[str, Any]:
    if day is None:
        return {}
    return {
        "headache": "yes" if day.headache else "no",
        "stress": "" if day.stress is None else str(day.stress),
        "sleep_hours": "" if day.sleep_hours is None else f"{day.sleep_hours:g}",
        "neck_tension": "" if day.neck_tension is None else str(day.neck_tension),
        "menstruating": "on" if day.menstruating else "",
        "notes": day.notes,
        "trigger": [t for t in day.triggers if t in TRIGGERS],
        "trigger_other": ", ".join(t for t in day.triggers if t not in TRIGGERS),
    }


def attack_values(attack: Attack) -> dict[str, Any]:
    """The attack's features as form values (clock times only, so they can be copied)."""
    values: dict[str, Any] = {
        "start_time": _hm(attack.start),
        "end_time": _hm(attack.end) if attack.end is not None else "",
        # No rating recorded stays empty: the form never offers an invented "5" (issue 14).
        "intensity": str(attack.peak) if attack.peak is not None else "",
        "loc": [x.value for x in attack.locations],
        "side": attack.side.value if attack.side else "",
        "quality": [x.value for x in attack.quality],
        "nausea": attack.nausea.value if attack.nausea else "",
        "vomiting": "on" if attack.vomiting else "",
        "photophobia": "on" if attack.photophobia else "",
        "phonophobia": "on" if attack.phonophobia else "",
        "activity": "on" if attack.aggravated_by_activity else "",
    }
    if attack.aura:
        values["aura"] = "on"
        values["aura_type"] = attack.aura[0].type.value
        d = attack.aura[0].duration_min
        values["aura_minutes"] = "" if d is None else str(d)
    if attack.medications:
        m = attack.medications[0]
        values["med_class"] = m.med_class.value
        values["med_name"] = m.name
        values["med_time"] = _hm(m.taken_at) if m.taken_at else ""
        values["med_effect"] = m.effect.value if m.effect else ""
    return values


def default_values(day: dt.date, today: dt.date, now: dt.datetime) -> dict[str, Any]:
    return {
        "headache": "",
        "start_time": _hm(now) if day == today else "",
        "intensity": "",  # not rated until the patient picks a number (issue 14)
        "nausea": "none",
        "aura_type": AuraType.VISUAL.value,
    }


def _int(state: FormState, name: str, lo: int, hi: int, label: str) -> int | None:
    raw = str(state.get(name))
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        state.add(name, f"{label} must be a whole number.")
        return None
    if not lo <= value <= hi:
        state.add(name, f"{label} must be between {lo} and {hi}.")
        return None
    return value


def _time(state: FormState, name: str, on: dt.date, label: str) -> dt.datetime | None:
    raw = str(state.get(name))
    if raw == "":
        return None
    m = _TIME.match(raw)
    if not m:
        state.add(name, f"{label}: use hours and minutes, for example 14:30.")
        return None
    return dt.datetime.combine(on, dt.time(int(m.group(1)), int(m.group(2))))


def _choices(state: FormState, name: str) -> list[str]:
    value = state.values.get(name, [])
    items = value if isinstance(value, list) else [value]
    allowed = _ALLOWED[name]
    bad = [v for v in items if v not in allowed]
    if bad:
        state.add(name, "Choose from the listed options.")
    return [v for v in items if v in allowed]


def _choice(state: FormState, name: str) -> str:
    value = str(state.get(name))
    if value not in _ALLOWED[name]:
        state.add(name, "Choose from the listed options.")
        return ""
    return value


def _box(state: FormState, name: str) -> bool:
    return state.get(name) not in ("", None)


def parse_day(
    state: FormState, day: dt.date, *, want_attack: bool
) -> tuple[DiaryDay | None, dict[str, Any] | None]:
    """The day entry and, when a headache is being added, the attack in document shape.

    Errors go into ``state``; the caller checks ``state.ok`` before saving anything."""
    headache = str(state.get("headache"))
    if headache not in ("yes", "no"):
        state.add("headache", "Did you have a headache on this day? Choose yes or no.")
    stress = _int(state, "stress", 0, 10, "Stress")
    neck = _int(state, "neck_tension", 0, 10, "Neck tension")
    sleep: float | None = None
    raw_sleep = str(state.get("sleep_hours")).replace(",", ".")
    if raw_sleep:
        try:
            sleep = float(raw_sleep)
        except ValueError:
            state.add("sleep_hours", "Hours of sleep must be a number, for example 7.5.")
        else:
            if not 0 <= sleep <= 24:
                state.add("sleep_hours", "Hours of sleep must be between 0 and 24.")
                sleep = None
    notes = str(state.get("notes"))
    if len(notes) > 4000:
        state.add("notes", "Notes can be at most 4000 characters.")
    triggers = _choices(state, "trigger")
    other = [t.strip().lower() for t in str(state.get("trigger_other")).split(",") if t.strip()]
    if any(len(t) > 60 for t in other):
        state.add("trigger_other", "Each trigger can be at most 60 characters.")
    all_triggers = tuple(dict.fromkeys([*triggers, *other]))
    entry = None
    if headache in ("yes", "no"):
        entry = DiaryDay(
            date=day,
            headache=headache == "yes",
            stress=stress,
            sleep_hours=sleep,
            neck_tension=neck,
            menstruating=True if _box(state, "menstruating") else None,
            notes=notes,
            triggers=all_triggers,
        )
    if headache != "yes" or not want_attack:
        return entry, None
    return entry, parse_attack_fields(state, day, all_triggers)


def parse_attack_fields(
    state: FormState, day: dt.date, triggers: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The attack questions of the form in document shape (errors go into ``state``).

    The worst pain is optional: a patient who skipped it has no rating recorded, and the
    attack's migraine status stays uncertain rather than built on a made-up number (the
    old form posted its slider's starting "5" as "worst 5/10"; CLINICAL.md 0.4)."""
    start = _time(state, "start_time", day, "Start")
    if start is None and "start_time" not in state.errors:
        state.add("start_time", "When did it start? An estimate is fine.")
    end = _time(state, "end_time", day, "End")
    if start is not None and end is not None and end <= start:
        end += dt.timedelta(days=1)  # ended after midnight
    intensity = _int(state, "intensity", 0, 10, "Worst pain")
    doc: dict[str, Any] = {
        "start": start.isoformat(timespec="minutes") if start else None,
        "end": end.isoformat(timespec="minutes") if end else None,
        "peak_intensity": intensity,
        "locations": _choices(state, "loc"),
        "quality": _choices(state, "quality"),
        "photophobia": _box(state, "photophobia"),
        "phonophobia": _box(state, "phonophobia"),
        "aggravated_by_activity": _box(state, "activity"),
        "vomiting": _box(state, "vomiting"),
        "triggers": list(triggers),
        "warning_signs": _choices(state, "warning"),
    }
    side = _choice(state, "side") if state.get("side") else ""
    if side:
        doc["side"] = side
    nausea = _choice(state, "nausea")
    if nausea:
        doc["nausea"] = nausea
    if _box(state, "aura"):
        aura: dict[str, Any] = {"type": _choice(state, "aura_type") or AuraType.VISUAL.value}
        minutes = _int(state, "aura_minutes", 0, 4320, "Aura minutes")
        if minutes is not None:
            aura["duration_min"] = minutes
        doc["aura"] = [aura]
    med_class = _choice(state, "med_class")
    med_name = str(state.get("med_name"))
    if med_class or med_name:
        if not med_class:
            state.add("med_class", "Which kind of medicine was it?")
        if not med_name:
            state.add("med_name", "Write the medicine's name, for example ibuprofen 400.")
        elif len(med_name) > 100:
            state.add("med_name", "The name can be at most 100 characters.")
        taken = _time(state, "med_time", day, "Time taken")
        if taken is not None and start is not None and taken < start:
            taken += dt.timedelta(days=1)
        med: dict[str, Any] = {"name": med_name, "class": med_class or "other"}
        if taken is not None:
            med["taken_at"] = taken.isoformat(timespec="minutes")
        effect = _choice(state, "med_effect")
        if effect:
            med["effect"] = effect
        doc["medications"] = [med]
        doc["treated"] = True
    return {k: v for k, v in doc.items() if v is not None}
