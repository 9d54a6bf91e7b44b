"""FHIR R4 export and import of one patient as a ``collection`` Bundle.

Built and validated with the ``fhir.resources.R4B`` models (never the package's R5 default;
R4B is wire-compatible with R4 for every resource used here). The module is pure: it turns the
diary document (``acuhead.diary/1``) plus the questionnaires and the ICHD-3 read-out into a
Bundle, and a Bundle back into a diary document and questionnaire answers. The services layer
(``services.interop``) loads and stores.

What goes where
---------------
==========================  ===============================================================
Patient                     identifier (system ``PATIENT_ID_SYSTEM``, value = external id),
                            name (text), gender, birthDate, telecom (phone, email) and
                            address (text) from the contact details; extensions
                            ``timezone`` (IANA) and ``safety`` (one boolean sub-extension per
                            safety flag)
Condition (derived)         one per ICHD-3 diagnosis of the read-out: ICHD-3 code
                            (``ICHD3_SYSTEM``) plus SNOMED CT where a code is certain
                            (``SNOMED_FOR_ICHD3``); verificationStatus ``provisional``;
                            evidence = the attack Observations the diagnosis rests on
Observation, diary day      one per recorded measure and day (effectiveDateTime = the date):
                            ``headache-day`` (valueBoolean; day notes as ``note``, triggers as
                            ``trigger`` components, ``issued`` = when it was recorded),
                            ``stress`` and ``neck-tension`` (0-10), ``sleep-hours`` (h),
                            ``menstruating`` (valueBoolean), ``migraine-day`` (derived)
Observation, attack         LOINC 72514-3 (pain 0-10) + local ``attack-peak-pain``;
                            effectivePeriod = start/end; valueQuantity = peak intensity;
                            one component per feature (codes below), intensity readings as
                            72514-3 components with an ``observed-at`` extension
MedicationStatement         one per acute dose: medicationCodeableConcept = the class as a
                            coding (``urn:acuhead:codes:medication-class``) and the name as
                            text; reasonReference = its attack; dosage.text; ``effect`` ext.
Procedure                   one per acupuncture session: performedDateTime; bodySite = the
                            points (``POINT_SYSTEM`` coding, ``point`` extension for side and
                            depth); note = session notes; every other STRICTA field in the
                            complex extension ``stricta`` (sub-extension url = the field name
                            of ``session_as_dict``; lists repeat; objects nest)
Observation, session pain   LOINC 72514-3 + local ``pain-before-session`` /
                            ``pain-after-session``; partOf = the Procedure
AdverseEvent                one per event of a session: event code
                            (``urn:acuhead:codes:adverse-event``), HL7 severity and
                            seriousness, suspectEntity = the Procedure; ``adverse-event``
                            complex extension for hospitalised, action_taken, point, note
QuestionnaireResponse       one per questionnaire: questionnaire =
                            ``urn:acuhead:questionnaire:<instrument>``; one item per answer,
                            linkId and text from the instrument's spec (``questionnaire_
                            resource`` gives the matching Questionnaire), ``total`` and
                            ``band`` (derived)
==========================  ===============================================================

Codes and URIs are defined once, below. ``urn:acuhead:codes`` is acuhead's local code system
for what a measure is (``stress``, ``side``, ``aura`` ...); the answer value sets are
``urn:acuhead:codes:<name>`` (``...:side`` has ``left``/``right``/``both``, the codes being the
diary document's own values). Extensions are ``urn:acuhead:fhir:ext:<name>``.

Identity: every resource id is ``uuid5(ID_NAMESPACE, "<external id>|<natural key>")`` (the
natural key is the date and measure of a day value, the start of an attack or session plus its
position among equal starts, ...), and ``fullUrl`` is ``urn:uuid:<id>``. Ids therefore survive
export -> import -> export, also into another clinic or database, and the export carries no
timestamp, so the same record always gives the same Bundle. (Two clinics with the same external
id give the same ids; a pooled FHIR server should key on the clinic as well.)

Import reads back what export writes and ignores what acuhead derives (Condition, the
``migraine-day`` Observation, questionnaire totals and bands are recomputed, a different total
is refused). Every resource is first validated by its R4B model; every value then passes the
diary document's checks. Problems are reported all at once, located by entry, resource and
field, e.g. ``entry[3] Observation.valueQuantity.value: must be at most 10; got 12``.

Not carried in FHIR (they stay in the diary document): the treatment course, preventive
regimens, the TCM assessment and prescriptions, and red-flag alerts.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from acuhead.domain import questionnaires as qmod
from acuhead.errors import FieldError, ValidationError

# ---- code systems, URIs, ids (the one place they are defined) ------------------------------

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
# ICHD-3 has no HL7-registered system URI; the classification's own site names it.
ICHD3_SYSTEM = "https://ichd-3.org"
CODES = "urn:acuhead:codes"
PATIENT_ID_SYSTEM = "urn:acuhead:patient-external-id"
EXT = "urn:acuhead:fhir:ext:"
QUESTIONNAIRE = "urn:acuhead:questionnaire:"
# Channel points by WHO Standard Acupuncture Point Locations (2008), extra points by the WHO
# 1991 nomenclature, auricular points by GB/T 13734-2008 (domain.tcm.points).
POINT_SYSTEM = "urn:acuhead:codes:acupuncture-point"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
ID_NAMESPACE = uuid.UUID("5b0c1f4e-2a59-5d8e-9a51-0f1e4c0a7d21")

PAIN_LOINC = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}

# SNOMED CT for ICHD-3 codes, only where the concept is certain. Exact: 1.1 migraine without aura
# (56097005), 1.2 migraine with aura (4473006), 2 tension-type headache (398057008). Subtypes
# carry their parent (1.2.1/1.2.1.1 -> 4473006; other migraine codes -> migraine 37796009;
# 2.1-2.3 -> 398057008), and every other headache code headache 25064002 (a finding true of
# each). Deliberately left out, not verified here: chronic migraine (124171000119105 is a
# candidate), cluster headache (193031009?), medication-overuse headache, probable migraine.
_MIGRAINE = ("37796009", "Migraine")
_HEADACHE = ("25064002", "Headache")
_TTH = ("398057008", "Tension-type headache")
SNOMED_FOR_ICHD3: Mapping[str, tuple[str, str]] = {
    "1.1": ("56097005", "Migraine without aura"),
    "1.2": ("4473006", "Migraine with aura"),
    "1.2.1": ("4473006", "Migraine with aura"),
    "1.2.1.1": ("4473006", "Migraine with aura"),
    "1.2.1.2": _MIGRAINE,
    "1.2.2": _MIGRAINE,
    "1.2.3": _MIGRAINE,
    "1.3": _MIGRAINE,
    "2": _TTH,
    "2.1": _TTH,
    "2.2": _TTH,
    "2.3": _TTH,
}

# Local codes (system CODES) with their display text.
DISPLAY: Mapping[str, str] = {
    "diary-day": "Headache diary day",
    "headache-attack": "Headache attack",
    "acupuncture-session": "Acupuncture session",
    "headache-day": "Headache on this day (patient-recorded)",
    "stress": "Stress (0-10)",
    "sleep-hours": "Sleep (hours)",
    "neck-tension": "Neck tension (0-10)",
    "menstruating": "Menstruating",
    "migraine-day": "Migraine day (derived by acuhead from the diary)",
    "attack-peak-pain": "Peak pain intensity of the attack (0-10)",
    "pain-before-session": "Pain before the session (0-10)",
    "pain-after-session": "Pain after the session (0-10)",
    "duration": "Duration",
    "intensity-reading": "Pain intensity reading (0-10)",
    "side": "Side",
    "location": "Location",
    "quality": "Quality",
    "aggravated-by-activity": "Aggravated by routine physical activity",
    "nausea": "Nausea",
    "vomiting": "Vomiting",
    "photophobia": "Photophobia",
    "phonophobia": "Phonophobia",
    "osmophobia": "Osmophobia",
    "aura": "Aura symptom",
    "cranial-autonomic": "Cranial autonomic symptom",
    "restlessness": "Restlessness or agitation",
    "treated": "Treated",
    "trigger": "Trigger",
    "warning-sign": "Warning sign (SNNOOP10 item)",
}
DAY_MEASURES = ("headache-day", "stress", "sleep-hours", "neck-tension", "menstruating")
# Observation codes import reads (``migraine-day`` is derived and skipped).
READ_MEASURES = (*DAY_MEASURES, "attack-peak-pain", "pain-before-session", "pain-after-session")
_DAY_KEY = {
    "headache-day": "headache",
    "stress": "stress",
    "sleep-hours": "sleep_hours",
    "neck-tension": "neck_tension",
    "menstruating": "menstruating",
}
_BOOL_FEATURES = {
    "aggravated-by-activity": "aggravated_by_activity",
    "vomiting": "vomiting",
    "photophobia": "photophobia",
    "phonophobia": "phonophobia",
    "osmophobia": "osmophobia",
    "restlessness": "restlessness",
    "treated": "treated",
}
_CODED_FEATURES = {"side": "side", "nausea": "nausea"}
_CODED_LISTS = {"location": "locations", "quality": "quality"}
_TEXT_LISTS = {
    "trigger": "triggers",
    "warning-sign": "warning_signs",
    "cranial-autonomic": "cranial_autonomic",
}
_AURA_DETAILS = (
    "onset",
    "duration_min",
    "gradual_spread",
    "unilateral",
    "positive",
    "headache_within_60_min",
)
_AE_DETAILS = ("hospitalised", "action_taken", "point", "note")
# STRICTA fields kept in the ``stricta`` extension (the rest have FHIR homes of their own).
_SESSION_NATIVE = ("start", "points", "pain_before", "pain_after", "adverse_events", "notes")
_LIST_KEYS = frozenset(
    {"references", "response_sought", "response_obtained", "frequency_hz", "co_interventions"}
)

SUPPORTED = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationStatement",
    "Procedure",
    "AdverseEvent",
    "QuestionnaireResponse",
)


def value_system(name: str) -> str:
    """The value set of a coded measure, e.g. ``urn:acuhead:codes:side``."""
    return f"{CODES}:{name}"


def resource_id(external_id: str, key: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{external_id}|{key}"))


# ---- small builders -------------------------------------------------------------------------


def _local(code: str) -> dict[str, Any]:
    return {"system": CODES, "code": code, "display": DISPLAY[code]}


def _concept(code: str, *, pain: bool = False) -> dict[str, Any]:
    codings = [PAIN_LOINC, _local(code)] if pain else [_local(code)]
    return {"coding": codings, "text": DISPLAY[code]}


def _coded(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    if text:
        out["text"] = text
    return out


def _score(value: Any) -> dict[str, Any]:
    return {"value": value, "unit": "score", "system": UCUM, "code": "{score}"}


def _minutes(value: Any) -> dict[str, Any]:
    return {"value": value, "unit": "min", "system": UCUM, "code": "min"}


def _aware(text: str | None, tz: ZoneInfo) -> str | None:
    """A document time (local wall-clock, or with an offset) as a FHIR dateTime with offset."""
    if text is None:
        return None
    value = dt.datetime.fromisoformat(str(text))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.isoformat()


def _primitive_ext(url: str, value: Any) -> dict[str, Any] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return {"url": url, "valueBoolean": value}
    if isinstance(value, int):
        return {"url": url, "valueInteger": value}
    if isinstance(value, float):
        return {"url": url, "valueDecimal": value}
    return {"url": url, "valueString": str(value)}


def encode_extension(key: str, value: Any) -> list[dict[str, Any]]:
    """A plain JSON value as (complex) extensions: lists repeat, objects nest, empties vanish."""
    if isinstance(value, list):
        return [e for item in value for e in encode_extension(key, item)]
    if isinstance(value, Mapping):
        subs = [e for k, v in value.items() for e in encode_extension(str(k), v)]
        return [{"url": key, "extension": subs}] if subs else []
    one = _primitive_ext(key, value)
    return [one] if one is not None else []


_VALUE_KEYS = (
    "valueBoolean",
    "valueInteger",
    "valueDecimal",
    "valueString",
    "valueCode",
    "valueDateTime",
    "valueUnsignedInt",
    "valuePositiveInt",
)


def decode_extension(extensions: Iterable[Any]) -> dict[str, Any]:
    """The inverse of ``encode_extension`` for the sub-extensions of one object."""
    out: dict[str, Any] = {}
    for ext in extensions:
        if not isinstance(ext, Mapping):
            continue
        key = str(ext.get("url", ""))
        if "extension" in ext:
            value: Any = decode_extension(ext.get("extension") or [])
        else:
            value = next((ext[k] for k in _VALUE_KEYS if k in ext), None)
        if key in _LIST_KEYS:
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


# ---- export ---------------------------------------------------------------------------------


@dataclass
class _Bundle:
    external_id: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)

    def key(self, base: str) -> str:
        """A natural key made unique among equal ones (two attacks with the same start)."""
        n = self.seen.get(base, 0)
        self.seen[base] = n + 1
        return base if n == 0 else f"{base}#{n}"

    def add(self, resource_type: str, key: str, body: dict[str, Any]) -> dict[str, str]:
        rid = resource_id(self.external_id, key)
        self.entries.append(
            {
                "fullUrl": f"urn:uuid:{rid}",
                "resource": {"resourceType": resource_type, "id": rid, **body},
            }
        )
        return {"reference": f"urn:uuid:{rid}"}


def to_bundle(
    doc: Mapping[str, Any],
    *,
    questionnaires: Sequence[Mapping[str, Any]] = (),
    diagnoses: Sequence[Mapping[str, Any]] = (),
    day_units: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The patient's record as a validated FHIR R4 ``collection`` Bundle (plain JSON).

    ``doc`` is a diary document as ``services.diary.export_document`` returns it; each of
    ``questionnaires`` has ``instrument``, ``completed_on``, ``answers`` (by item key),
    ``total``, ``band``, ``band_label``; ``diagnoses`` and ``day_units`` are the
    read-out's ``diagnoses`` and ``days``.
    """
    p = doc["patient"]
    tz = ZoneInfo(p.get("timezone") or "UTC")
    b = _Bundle(p["external_id"])
    patient_ext: list[dict[str, Any]] = [{"url": EXT + "timezone", "valueString": tz.key}]
    safety = p.get("safety") or {}
    if safety:
        patient_ext.append(
            {
                "url": EXT + "safety",
                "extension": [{"url": k, "valueBoolean": bool(v)} for k, v in safety.items()],
            }
        )
    patient: dict[str, Any] = {
        "extension": patient_ext,
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": p["external_id"]}],
        "gender": p.get("sex") or "unknown",
    }
    if p.get("name"):
        patient["name"] = [{"text": p["name"]}]
    if p.get("birth_date"):
        patient["birthDate"] = p["birth_date"]
    contact = p.get("contact") or {}
    telecom = [{"system": k, "value": contact[k]} for k in ("phone", "email") if contact.get(k)]
    if telecom:
        patient["telecom"] = telecom
    if contact.get("address"):
        patient["address"] = [{"text": contact["address"]}]
    subject = b.add("Patient", "patient", patient)

    attacks = list(doc.get("attacks") or [])
    attack_keys = [b.key(f"attack/{a.get('start') or a.get('date')}") for a in attacks]
    attack_refs = [{"reference": f"urn:uuid:{resource_id(b.external_id, k)}"} for k in attack_keys]

    for dx in diagnoses:
        _add_condition(b, subject, dx, attack_refs)

    units = {str(u.get("date")): u for u in day_units if u.get("recorded")}
    for day in doc.get("days") or []:
        _add_day(b, subject, day, units.get(str(day["date"])))

    for a, key in zip(attacks, attack_keys, strict=True):
        ref = _add_attack(b, subject, a, key, tz)
        for i, m in enumerate(a.get("medications") or []):
            _add_medication(b, subject, m, f"{key}/medication/{i}", ref, tz)

    for s in doc.get("sessions") or []:
        _add_session(b, subject, s, tz)

    for q in questionnaires:
        _add_questionnaire(b, subject, q)

    raw = {
        "resourceType": "Bundle",
        "id": resource_id(b.external_id, "bundle"),
        "type": "collection",
        "entry": b.entries,
    }
    return _validated(raw)


def _validated(raw: dict[str, Any]) -> dict[str, Any]:
    """The Bundle as written, once the R4B models accept it (their own serialisation is
    slower and adds nothing: the JSON is built in FHIR's shape already)."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(raw)  # raises if anything written is not valid R4
    return raw


def _add_condition(
    b: _Bundle, subject: dict[str, str], dx: Mapping[str, Any], attack_refs: list[dict[str, str]]
) -> None:
    from acuhead.domain.ichd3 import label

    code = str(dx.get("code", ""))
    if not code or code == "unclassifiable":
        return
    text = str(dx.get("label") or label(code))
    codings: list[dict[str, Any]] = [{"system": ICHD3_SYSTEM, "code": code, "display": text}]
    sct, display = SNOMED_FOR_ICHD3.get(code, _HEADACHE)
    codings.append({"system": SNOMED, "code": sct, "display": display})
    evidence = dx.get("evidence") or {}
    indexes = evidence.get("attack_indexes") if isinstance(evidence, Mapping) else None
    body: dict[str, Any] = {
        "clinicalStatus": _coded(CONDITION_CLINICAL, "active"),
        "verificationStatus": _coded(CONDITION_VERIFICATION, "provisional"),
        "code": {"coding": codings, "text": text},
        "subject": subject,
    }
    details = [attack_refs[i] for i in indexes or [] if 0 <= int(i) < len(attack_refs)]
    if details:
        body["evidence"] = [{"detail": details}]
    body["note"] = [
        {
            "text": f"Derived by acuhead from the headache diary by ICHD-3 criteria "
            f"(status: {dx.get('status', 'unknown')}); decision support, not a diagnosis "
            "made by a clinician."
        }
    ]
    b.add("Condition", b.key(f"condition/{code}"), body)


def _observation(
    subject: dict[str, str], category: str, code: str, *, pain: bool = False
) -> dict[str, Any]:
    return {
        "status": "final",
        "category": [{"coding": [_local(category)]}],
        "code": _concept(code, pain=pain),
        "subject": subject,
    }


def _add_day(
    b: _Bundle, subject: dict[str, str], day: Mapping[str, Any], unit: Mapping[str, Any] | None
) -> None:
    date = str(day["date"])
    for measure in DAY_MEASURES:
        value = day.get(_DAY_KEY[measure])
        if value is None:
            continue
        obs = _observation(subject, "diary-day", measure)
        obs["effectiveDateTime"] = date
        if measure == "headache-day" and day.get("recorded_at"):
            obs["issued"] = _instant(str(day["recorded_at"]))
        if isinstance(value, bool):
            obs["valueBoolean"] = value
        elif measure == "sleep-hours":
            obs["valueQuantity"] = {"value": value, "unit": "h", "system": UCUM, "code": "h"}
        else:
            obs["valueQuantity"] = _score(value)
        if measure == "headache-day":
            if day.get("notes"):
                obs["note"] = [{"text": day["notes"]}]
            triggers = [
                {"code": _concept("trigger"), "valueString": t} for t in day.get("triggers") or []
            ]
            if triggers:
                obs["component"] = triggers
        b.add("Observation", f"day/{date}/{measure}", obs)
    if unit is not None:
        obs = _observation(subject, "diary-day", "migraine-day")
        obs["effectiveDateTime"] = date
        if unit.get("migraine_day") is None:
            obs["dataAbsentReason"] = _coded(DATA_ABSENT, "unknown")
        else:
            obs["valueBoolean"] = bool(unit["migraine_day"])
        b.add("Observation", f"day/{date}/migraine-day", obs)


def _instant(naive_utc: str) -> str:
    """``recorded_at`` of a day is kept in UTC without an offset; FHIR ``issued`` needs one."""
    value = dt.datetime.fromisoformat(naive_utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _component(code: str, **value: Any) -> dict[str, Any]:
    return {"code": _concept(code), **value}


def _add_attack(
    b: _Bundle, subject: dict[str, str], a: Mapping[str, Any], key: str, tz: ZoneInfo
) -> dict[str, str]:
    obs = _observation(subject, "headache-attack", "attack-peak-pain", pain=True)
    start = a.get("start") or f"{a['date']}T00:00:00"
    period = {"start": _aware(start, tz)}
    if a.get("end"):
        period["end"] = _aware(a["end"], tz)
    obs["effectivePeriod"] = period
    if a.get("peak_intensity") is not None:
        obs["valueQuantity"] = _score(a["peak_intensity"])
    else:
        obs["dataAbsentReason"] = _coded(DATA_ABSENT, "unknown")
    comps: list[dict[str, Any]] = []
    if a.get("duration_min") is not None:
        comps.append(_component("duration", valueQuantity=_minutes(a["duration_min"])))
    for r in a.get("readings") or []:
        comps.append(
            {
                "extension": [{"url": EXT + "observed-at", "valueDateTime": _aware(r["at"], tz)}],
                "code": _concept("intensity-reading", pain=True),
                "valueQuantity": _score(r["intensity"]),
            }
        )
    if a.get("side"):
        comps.append(
            _component("side", valueCodeableConcept=_coded(value_system("side"), a["side"]))
        )
    for code, key_ in _CODED_LISTS.items():
        for v in a.get(key_) or []:
            comps.append(_component(code, valueCodeableConcept=_coded(value_system(code), v)))
    if a.get("nausea"):
        comps.append(
            _component("nausea", valueCodeableConcept=_coded(value_system("nausea"), a["nausea"]))
        )
    for code, key_ in _BOOL_FEATURES.items():
        if a.get(key_) is not None:
            comps.append(_component(code, valueBoolean=bool(a[key_])))
    for s in a.get("aura") or []:
        details = []
        for k in _AURA_DETAILS:
            v = s.get(k)
            if v is None:
                continue
            if k == "onset":
                details.append({"url": k, "valueDateTime": _aware(v, tz)})
            else:
                one = _primitive_ext(k, v)
                if one is not None:
                    details.append(one)
        comp = _component(
            "aura",
            valueCodeableConcept=_coded(value_system("aura-type"), s["type"], s.get("symptom")),
        )
        if details:
            comp = {"extension": [{"url": EXT + "aura", "extension": details}], **comp}
        comps.append(comp)
    for code, key_ in _TEXT_LISTS.items():
        for v in a.get(key_) or []:
            comps.append(_component(code, valueString=v))
    if comps:
        obs["component"] = comps
    return b.add("Observation", key, obs)


def _add_medication(
    b: _Bundle,
    subject: dict[str, str],
    m: Mapping[str, Any],
    key: str,
    attack: dict[str, str],
    tz: ZoneInfo,
) -> None:
    body: dict[str, Any] = {"status": "completed"}
    if m.get("effect"):
        body["extension"] = [{"url": EXT + "effect", "valueCode": m["effect"]}]
    body["medicationCodeableConcept"] = _coded(
        value_system("medication-class"), m["class"], m["name"]
    )
    body["subject"] = subject
    if m.get("taken_at"):
        body["effectiveDateTime"] = _aware(m["taken_at"], tz)
    body["reasonReference"] = [attack]
    if m.get("dose"):
        body["dosage"] = [{"text": m["dose"]}]
    b.add("MedicationStatement", key, body)


def _point_name(code: str) -> str | None:
    from acuhead.domain.tcm.points import catalogue

    point = catalogue().get(code)
    return point.pinyin if point is not None else None


def _add_session(b: _Bundle, subject: dict[str, str], s: Mapping[str, Any], tz: ZoneInfo) -> None:
    key = b.key(f"session/{s['start']}")
    start = _aware(s["start"], tz)
    stricta = {k: v for k, v in s.items() if k not in _SESSION_NATIVE}
    body: dict[str, Any] = {}
    ext = encode_extension(EXT + "stricta", stricta)
    if ext:
        body["extension"] = ext
    body.update(
        {
            "status": "completed",
            "code": _concept("acupuncture-session"),
            "subject": subject,
            "performedDateTime": start,
        }
    )
    sites = []
    for p in s.get("points") or []:
        coding: dict[str, Any] = {"system": POINT_SYSTEM, "code": p["code"]}
        name = _point_name(p["code"])
        if name:
            coding["display"] = name
        site: dict[str, Any] = {"coding": [coding], "text": p["code"]}
        extra = encode_extension(EXT + "point", {k: v for k, v in p.items() if k != "code"})
        if extra:
            site = {"extension": extra, **site}
        sites.append(site)
    if sites:
        body["bodySite"] = sites
    if s.get("notes"):
        body["note"] = [{"text": s["notes"]}]
    ref = b.add("Procedure", key, body)
    for which in ("before", "after"):
        value = s.get(f"pain_{which}")
        if value is None:
            continue
        obs = _observation(subject, "acupuncture-session", f"pain-{which}-session", pain=True)
        obs["partOf"] = [ref]
        obs["effectiveDateTime"] = start
        obs["valueQuantity"] = _score(value)
        b.add("Observation", f"{key}/pain-{which}", obs)
    for i, e in enumerate(s.get("adverse_events") or []):
        ae: dict[str, Any] = {}
        details = encode_extension(EXT + "adverse-event", {k: e.get(k) for k in _AE_DETAILS})
        if details:
            ae["extension"] = details
        ae.update(
            {
                "actuality": "actual",
                "event": _coded(value_system("adverse-event"), e["type"]),
                "subject": subject,
                "date": start,
                "seriousness": _coded(
                    AE_SERIOUSNESS, "serious" if e.get("serious") else "non-serious"
                ),
                "severity": _coded(AE_SEVERITY, e["severity"]),
                "suspectEntity": [{"instance": ref}],
            }
        )
        b.add("AdverseEvent", f"{key}/adverse-event/{i}", ae)


def _number(value: Any) -> dict[str, Any]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return {"valueInteger": value} if isinstance(value, int) else {"valueDecimal": value}


def _add_questionnaire(b: _Bundle, subject: dict[str, str], q: Mapping[str, Any]) -> None:
    """One QuestionnaireResponse, its items named and worded by the instrument's spec."""
    spec = qmod.parse_instrument(str(q["instrument"]))
    inst = spec.id
    completed = str(q["completed_on"])
    answers = q.get("answers") or {}
    items: list[dict[str, Any]] = []
    for item in spec.items:
        if answers.get(item.key) is None:
            continue
        entry: dict[str, Any] = {"linkId": item.link_id}
        if item.text and not spec.licensed_items:
            entry["text"] = item.text
        entry["answer"] = [_number(answers[item.key])]
        items.append(entry)
    items.append({"linkId": "total", "text": "Total score", "answer": [_number(q["total"])]})
    band: dict[str, Any] = {"system": value_system(f"{inst}-band"), "code": str(q["band"])}
    if q.get("band_label"):
        band["display"] = str(q["band_label"])
    items.append({"linkId": "band", "text": "Band", "answer": [{"valueCoding": band}]})
    body = {
        "questionnaire": QUESTIONNAIRE + inst,
        "status": "completed",
        "subject": subject,
        "authored": completed,
        "item": items,
    }
    b.add("QuestionnaireResponse", b.key(f"questionnaire/{inst}/{completed}"), body)


def questionnaire_resource(spec: qmod.InstrumentSpec) -> dict[str, Any]:
    """The FHIR R4 Questionnaire that acuhead's QuestionnaireResponses of ``spec`` answer,
    validated by its R4B model: url ``urn:acuhead:questionnaire:<id>``, the LOINC panel code
    where one is verified, one item per question (choice items list their answers with the
    points as ``ordinalValue``), the derived ``total`` and ``band``. Licensed wording is never
    written (CLINICAL.md 0.5): such items carry only their number."""
    from fhir.resources.R4B.questionnaire import Questionnaire

    items: list[dict[str, Any]] = []
    for n, item in enumerate(spec.items, start=1):
        entry: dict[str, Any] = {
            "linkId": item.link_id,
            "text": item.text if item.text and not spec.licensed_items else f"Question {n}",
            "type": "choice" if item.choices else "integer",
            "required": item.scored and not spec.total_entry,
        }
        if item.choices:
            entry["answerOption"] = [
                {
                    "valueCoding": {
                        "system": value_system(f"{spec.id}-answer"),
                        "code": c.code,
                        "display": c.label,
                    },
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
                            "valueDecimal": c.points,
                        }
                    ],
                }
                for c in item.choices
            ]
        items.append(entry)
    items.append({"linkId": "total", "text": "Total score", "type": "integer", "readOnly": True})
    items.append({"linkId": "band", "text": "Band", "type": "choice", "readOnly": True})
    body: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": spec.id,
        "url": QUESTIONNAIRE + spec.id,
        "name": "".join(ch for ch in spec.label if ch.isalnum()),
        "title": f"{spec.title} ({spec.label})",
        "status": "active",
        "description": f"Recall: {spec.recall_period}. Scoring: {spec.source}.",
        "copyright": spec.licence,
        "item": items,
    }
    if spec.loinc:
        body["code"] = [{"system": LOINC, "code": spec.loinc}]
    return dict(Questionnaire.model_validate(body).model_dump(mode="json", exclude_none=True))


# ---- import ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionnaireAnswers:
    """One questionnaire read from a Bundle, scored again by ``domain.questionnaires``."""

    instrument: str
    completed_on: dt.date
    score: qmod.QuestionnaireScore
    where: str  # "entry[12] QuestionnaireResponse", for errors found when storing it


@dataclass(frozen=True, slots=True)
class FhirImport:
    document: Any  # interop.document.DiaryDocument
    questionnaires: tuple[QuestionnaireAnswers, ...]
    resources: int


class _Reader:
    """Turns Bundle entries into a diary document, remembering where each value came from."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.where: dict[str, str] = {}

    def err(self, loc: str, message: str) -> None:
        self.errors.append(FieldError(loc, message))

    def at(self, doc_path: str, loc: str) -> None:
        self.where.setdefault(doc_path, loc)

    def locate(self, doc_path: str) -> str:
        """The FHIR location of a document path (the longest known prefix, the rest noted)."""
        probe = doc_path
        while probe:
            if probe in self.where:
                rest = doc_path[len(probe) :].lstrip(".")
                return f"{self.where[probe]} ({rest})" if rest else self.where[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return f"Bundle ({doc_path})" if doc_path else "Bundle"


def _pydantic_loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
    return out


def _pydantic_msg(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ")
    if err.get("type") == "missing" or "required" in msg.lower():
        return "is required"
    if err.get("type") == "extra_forbidden":
        return "is not a FHIR R4 element of this resource"
    value = err.get("input")
    if isinstance(value, str | int | float | bool):
        msg = f"{msg.rstrip('.')}; got {value!r}"
    return msg


def validate_resources(raw: Any) -> list[FieldError]:
    """Check the envelope and every entry against its R4B model; all problems, located."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError as PydanticError

    if not isinstance(raw, Mapping) or raw.get("resourceType") != "Bundle":
        return [FieldError("Bundle", "expected a FHIR Bundle (resourceType 'Bundle')")]
    errors: list[FieldError] = []
    if raw.get("type") != "collection":
        errors.append(FieldError("Bundle.type", f"must be 'collection'; got {raw.get('type')!r}"))
    entries = raw.get("entry")
    if not isinstance(entries, list):
        return [*errors, FieldError("Bundle.entry", "must be a list of entries")]
    envelope = {k: v for k, v in raw.items() if k != "entry"}
    try:
        Bundle.model_validate(envelope)
    except PydanticError as exc:
        errors += [
            FieldError(f"Bundle{_pydantic_loc(e['loc'])}", _pydantic_msg(e)) for e in exc.errors()
        ]
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            errors.append(FieldError(f"entry[{i}]", "has no resource"))
            continue
        rtype = resource.get("resourceType")
        if rtype not in SUPPORTED:
            errors.append(
                FieldError(
                    f"entry[{i}] {rtype}",
                    f"resource type {rtype!r} is not imported; acuhead reads "
                    + ", ".join(SUPPORTED),
                )
            )
            continue
        try:
            get_fhir_model_class(str(rtype)).model_validate(resource)
        except PydanticError as exc:
            errors += [
                FieldError(f"entry[{i}] {rtype}{_pydantic_loc(e['loc'])}", _pydantic_msg(e))
                for e in exc.errors()
            ]
    return errors


def _codes(concept: Any, system: str) -> list[str]:
    if not isinstance(concept, Mapping):
        return []
    return [
        str(c.get("code"))
        for c in concept.get("coding") or []
        if isinstance(c, Mapping) and c.get("system") == system and c.get("code")
    ]


def _first_code(concept: Any, system: str) -> str | None:
    found = _codes(concept, system)
    return found[0] if found else None


def _ext(resource: Mapping[str, Any], url: str) -> Mapping[str, Any] | None:
    for e in resource.get("extension") or []:
        if isinstance(e, Mapping) and e.get("url") == url:
            return e
    return None


def _quantity(res: Mapping[str, Any]) -> Any:
    q = res.get("valueQuantity")
    return q.get("value") if isinstance(q, Mapping) else None


def _date_part(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", value) else None


def _to_naive_utc(value: str) -> str:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.isoformat(timespec="seconds")


def from_bundle(
    raw: Any, *, today: dt.date | None = None, timezone: str | None = None
) -> FhirImport:
    """Read a Bundle back into a diary document and questionnaire answers.

    ``timezone``: the zone to read times in when the Patient has no time-zone extension (an
    import into a stored patient passes the stored zone).

    Raises ValidationError listing every problem (located by entry, resource and field); on
    success the caller stores the result in one transaction.
    """
    from acuhead.interop import document

    errors = validate_resources(raw)
    if errors:
        raise ValidationError(errors)
    r = _Reader()
    entries: list[Mapping[str, Any]] = list(raw["entry"])
    by_ref: dict[str, int] = {}
    for i, entry in enumerate(entries):
        res = entry["resource"]
        if entry.get("fullUrl"):
            by_ref[str(entry["fullUrl"])] = i
        if res.get("id"):
            by_ref[f"{res['resourceType']}/{res['id']}"] = i

    def loc(i: int, suffix: str = "") -> str:
        return f"entry[{i}] {entries[i]['resource']['resourceType']}{suffix}"

    def target(i: int, ref: Any, path: str, wanted: str) -> int | None:
        reference = ref.get("reference") if isinstance(ref, Mapping) else None
        j = by_ref.get(str(reference)) if reference else None
        if j is None or entries[j]["resource"]["resourceType"] != wanted:
            r.err(loc(i, path), f"must reference a {wanted} in this Bundle; got {reference!r}")
            return None
        return j

    patients = [i for i, e in enumerate(entries) if e["resource"]["resourceType"] == "Patient"]
    if len(patients) != 1:
        raise ValidationError(
            FieldError("Bundle.entry", f"needs exactly one Patient; found {len(patients)}")
        )
    pi = patients[0]
    doc: dict[str, Any] = {"format": document.FORMAT, "patient": _read_patient(r, entries, pi)}

    days: dict[str, dict[str, Any]] = {}
    day_src: dict[str, dict[str, int]] = {}  # date -> measure -> entry
    attacks: list[dict[str, Any]] = []
    attack_at: dict[int, int] = {}
    sessions: list[dict[str, Any]] = []
    session_at: dict[int, int] = {}
    later: list[int] = []  # resources that hang off an attack or a session
    answers: list[QuestionnaireAnswers] = []

    for i, entry in enumerate(entries):
        res = entry["resource"]
        rtype = res["resourceType"]
        if rtype == "Patient":
            continue
        if target(i, res.get("subject"), ".subject", "Patient") is None:
            continue
        if rtype == "Condition":
            continue  # derived from the diary; recomputed, never imported
        if rtype == "Observation":
            code = _first_code(res.get("code"), CODES)
            if code in DAY_MEASURES:
                _read_day_measure(r, res, i, loc, code, days, day_src)
            elif code == "migraine-day":
                continue  # derived
            elif code == "attack-peak-pain":
                attack_at[i] = len(attacks)
                attacks.append(_read_attack(r, res, i, loc, len(attacks)))
            elif code in ("pain-before-session", "pain-after-session"):
                later.append(i)
            else:
                r.err(
                    loc(i, ".code"),
                    f"needs a code from {CODES} naming the measure "
                    f"({', '.join(READ_MEASURES)}); got {code!r}",
                )
        elif rtype == "Procedure":
            session_at[i] = len(sessions)
            sessions.append(_read_procedure(r, res, i, loc, len(sessions)))
        elif rtype in ("MedicationStatement", "AdverseEvent"):
            later.append(i)
        elif rtype == "QuestionnaireResponse":
            found = _read_questionnaire(r, res, i, loc)
            if found is not None:
                answers.append(found)

    for i in later:
        res = entries[i]["resource"]
        rtype = res["resourceType"]
        if rtype == "MedicationStatement":
            refs = res.get("reasonReference") or [None]
            j = target(i, refs[0], ".reasonReference[0]", "Observation")
            if j is None:
                continue
            if j not in attack_at:
                r.err(loc(i, ".reasonReference[0]"), "must reference a headache attack")
                continue
            n = attack_at[j]
            _read_medication(r, res, i, loc, attacks[n], f"attacks[{n}]")
        elif rtype == "AdverseEvent":
            suspects = res.get("suspectEntity") or [{}]
            j = target(i, suspects[0].get("instance"), ".suspectEntity[0].instance", "Procedure")
            if j is None or j not in session_at:
                continue
            n = session_at[j]
            _read_adverse_event(r, res, i, loc, sessions[n], f"sessions[{n}]")
        else:  # session pain
            parts = res.get("partOf") or [None]
            j = target(i, parts[0], ".partOf[0]", "Procedure")
            if j is None or j not in session_at:
                continue
            n = session_at[j]
            key = (
                "pain_before"
                if _first_code(res.get("code"), CODES) == "pain-before-session"
                else "pain_after"
            )
            if key in sessions[n]:
                r.err(loc(i), f"repeats the {key.replace('_', ' ')} of entry[{j}]")
            sessions[n][key] = _quantity(res)
            r.at(f"sessions[{n}].{key}", loc(i, ".valueQuantity.value"))

    ordered_days = sorted(days.items())
    doc["days"] = []
    for k, (date, day) in enumerate(ordered_days):
        src = day_src[date]
        first = min(src.values())
        r.at(f"days[{k}]", loc(first))
        if "headache-day" not in src:
            r.at(f"days[{k}].headache", f"Bundle (a headache-day Observation for {date})")
        for measure, i in src.items():
            value_loc = (
                ".valueBoolean"
                if measure in ("headache-day", "menstruating")
                else ".valueQuantity.value"
            )
            r.at(f"days[{k}].{_DAY_KEY[measure]}", loc(i, value_loc))
            if measure == "headache-day":
                r.at(f"days[{k}].date", loc(i, ".effectiveDateTime"))
                r.at(f"days[{k}].notes", loc(i, ".note[0].text"))
                r.at(f"days[{k}].triggers", loc(i, ".component"))
                r.at(f"days[{k}].recorded_at", loc(i, ".issued"))
        doc["days"].append(day)
    doc["attacks"] = attacks
    if sessions:
        doc["sessions"] = sessions
    # The document's own checks run even when reading found problems, so that every problem
    # is listed at once; a value already reported where it was read is not reported twice.
    try:
        parsed = document.parse(doc, today=today, timezone=timezone)
    except ValidationError as exc:
        seen = {e.path for e in r.errors}
        for e in exc.errors:
            where = r.locate(e.path)
            if where not in seen:
                r.err(where, e.message)
        raise ValidationError(r.errors) from None
    if r.errors:
        raise ValidationError(r.errors)
    return FhirImport(parsed, tuple(answers), len(entries))


def _read_patient(r: _Reader, entries: Sequence[Mapping[str, Any]], i: int) -> dict[str, Any]:
    res = entries[i]["resource"]
    loc = f"entry[{i}] Patient"
    out: dict[str, Any] = {}
    idents = [x for x in res.get("identifier") or [] if isinstance(x, Mapping) and x.get("value")]
    ours = [x for x in idents if x.get("system") == PATIENT_ID_SYSTEM]
    chosen = (ours or idents)[0] if (ours or idents) else None
    if chosen is None:
        r.err(
            f"{loc}.identifier",
            f"needs an identifier (system {PATIENT_ID_SYSTEM}) to use as the external id",
        )
        out["external_id"] = "?"
    else:
        out["external_id"] = str(chosen["value"])
        r.at("patient.external_id", f"{loc}.identifier[{idents.index(chosen)}].value")
    names = res.get("name") or []
    if names and isinstance(names[0], Mapping):
        n = names[0]
        text = n.get("text") or " ".join([*(n.get("given") or []), n.get("family") or ""]).strip()
        if text:
            out["name"] = text
            r.at("patient.name", f"{loc}.name[0]")
    if res.get("birthDate"):
        out["birth_date"] = res["birthDate"]
        r.at("patient.birth_date", f"{loc}.birthDate")
    # What the Patient leaves out is left out of the document too, so an import keeps the
    # stored value (issue 13 item 3).
    if res.get("gender"):
        out["sex"] = res["gender"]
        r.at("patient.sex", f"{loc}.gender")
    tz = _ext(res, EXT + "timezone")
    if tz:
        out["timezone"] = str(tz.get("valueString") or tz.get("valueCode"))
        r.at("patient.timezone", f"{loc}.extension(timezone)")
    safety = _ext(res, EXT + "safety")
    if safety is not None:
        out["safety"] = decode_extension(safety.get("extension") or [])
        r.at("patient.safety", f"{loc}.extension(safety)")
    contact = _read_contact(r, res, loc)
    if contact:
        out["contact"] = contact
    r.at("patient", loc)
    return out


def _read_contact(r: _Reader, res: Mapping[str, Any], loc: str) -> dict[str, str]:
    """The document's ``patient.contact`` from the Patient's first phone and e-mail in
    ``telecom`` and its first ``address`` (its text, else its lines, city and postal code).
    What the Patient leaves out stays out, so an import keeps the stored value."""
    out: dict[str, str] = {}
    for k, t in enumerate(res.get("telecom") or []):
        kind = t.get("system") if isinstance(t, Mapping) else None
        if kind in ("phone", "email") and kind not in out and t.get("value"):
            out[kind] = str(t["value"])
            r.at(f"patient.contact.{kind}", f"{loc}.telecom[{k}].value")
    addresses = [a for a in res.get("address") or [] if isinstance(a, Mapping)]
    if addresses:
        a = addresses[0]
        parts = [*(a.get("line") or []), a.get("postalCode"), a.get("city"), a.get("country")]
        text = a.get("text") or ", ".join(str(x) for x in parts if x)
        if text:
            out["address"] = str(text)
            r.at("patient.contact.address", f"{loc}.address[0]")
    return out


def _read_day_measure(
    r: _Reader,
    res: Mapping[str, Any],
    i: int,
    loc: Callable[..., str],
    code: str,
    days: dict[str, dict[str, Any]],
    src: dict[str, dict[str, int]],
) -> None:
    date = _date_part(res.get("effectiveDateTime"))
    if date is None:
        r.err(loc(i, ".effectiveDateTime"), "is required: the diary date (YYYY-MM-DD)")
        return
    seen = src.setdefault(date, {})
    if code in seen:
        r.err(loc(i), f"repeats the {code} of {date} (entry[{seen[code]}])")
        return
    seen[code] = i
    day = days.setdefault(date, {"date": date})
    key = _DAY_KEY[code]
    if code in ("headache-day", "menstruating"):
        if not isinstance(res.get("valueBoolean"), bool):
            r.err(loc(i, ".valueBoolean"), "is required (true or false)")
            return
        day[key] = res["valueBoolean"]
    else:
        value = _quantity(res)
        if value is None:
            r.err(loc(i, ".valueQuantity.value"), "is required")
            return
        day[key] = value
    if code == "headache-day":
        notes = [n.get("text") for n in res.get("note") or [] if isinstance(n, Mapping)]
        if any(notes):
            day["notes"] = "\n".join(str(n) for n in notes if n)
        triggers = []
        for c, comp in enumerate(res.get("component") or []):
            if _first_code(comp.get("code"), CODES) != "trigger" or "valueString" not in comp:
                r.err(loc(i, f".component[{c}]"), "only 'trigger' components (valueString)")
                continue
            triggers.append(comp["valueString"])
        if triggers:
            day["triggers"] = triggers
        if res.get("issued"):
            day["recorded_at"] = _to_naive_utc(str(res["issued"]))


def _read_attack(
    r: _Reader, res: Mapping[str, Any], i: int, loc: Callable[..., str], n: int
) -> dict[str, Any]:
    path = f"attacks[{n}]"
    r.at(path, loc(i))
    a: dict[str, Any] = {}
    period = res.get("effectivePeriod") or {}
    start = period.get("start") or res.get("effectiveDateTime")
    if not start:
        r.err(loc(i, ".effectivePeriod.start"), "is required: when the attack began")
    else:
        a["start"] = start
        r.at(f"{path}.start", loc(i, ".effectivePeriod.start"))
    if period.get("end"):
        a["end"] = period["end"]
        r.at(f"{path}.end", loc(i, ".effectivePeriod.end"))
    peak = _quantity(res)
    if peak is not None:
        a["peak_intensity"] = peak
        r.at(f"{path}.peak_intensity", loc(i, ".valueQuantity.value"))
    for c, comp in enumerate(res.get("component") or []):
        here = loc(i, f".component[{c}]")
        code = _first_code(comp.get("code"), CODES)
        concept = comp.get("valueCodeableConcept")
        if code == "duration":
            a["duration_min"] = (comp.get("valueQuantity") or {}).get("value")
            r.at(f"{path}.duration_min", f"{here}.valueQuantity.value")
        elif code == "intensity-reading":
            at = _ext(comp, EXT + "observed-at")
            readings = a.setdefault("readings", [])
            r.at(f"{path}.readings[{len(readings)}].at", f"{here}.extension(observed-at)")
            r.at(f"{path}.readings[{len(readings)}]", f"{here}.valueQuantity.value")
            readings.append(
                {
                    "at": at.get("valueDateTime") if at else None,
                    "intensity": (comp.get("valueQuantity") or {}).get("value"),
                }
            )
        elif code in _CODED_FEATURES:
            a[_CODED_FEATURES[code]] = _first_code(concept, value_system(code))
            r.at(f"{path}.{_CODED_FEATURES[code]}", f"{here}.valueCodeableConcept")
        elif code in _CODED_LISTS:
            key = _CODED_LISTS[code]
            values = a.setdefault(key, [])
            r.at(f"{path}.{key}", f"{here}.valueCodeableConcept")
            r.at(f"{path}.{key}[{len(values)}]", f"{here}.valueCodeableConcept")
            values.append(_first_code(concept, value_system(code)))
        elif code in _BOOL_FEATURES:
            a[_BOOL_FEATURES[code]] = comp.get("valueBoolean")
            r.at(f"{path}.{_BOOL_FEATURES[code]}", f"{here}.valueBoolean")
        elif code in _TEXT_LISTS:
            key = _TEXT_LISTS[code]
            values = a.setdefault(key, [])
            r.at(f"{path}.{key}", f"{here}.valueString")
            r.at(f"{path}.{key}[{len(values)}]", f"{here}.valueString")
            values.append(comp.get("valueString"))
        elif code == "aura":
            aura = a.setdefault("aura", [])
            k = len(aura)
            s: dict[str, Any] = {"type": _first_code(concept, value_system("aura-type"))}
            if isinstance(concept, Mapping) and concept.get("text"):
                s["symptom"] = concept["text"]
            details = _ext(comp, EXT + "aura")
            if details is not None:
                s.update(decode_extension(details.get("extension") or []))
            r.at(f"{path}.aura[{k}]", here)
            r.at(f"{path}.aura[{k}].type", f"{here}.valueCodeableConcept")
            for key in _AURA_DETAILS:
                r.at(f"{path}.aura[{k}].{key}", f"{here}.extension(aura).{key}")
            aura.append(s)
        else:
            r.err(f"{here}.code", f"is not an attack feature acuhead records; got {code!r}")
    return a


def _read_medication(
    r: _Reader,
    res: Mapping[str, Any],
    i: int,
    loc: Callable[..., str],
    attack: dict[str, Any],
    path: str,
) -> None:
    meds = attack.setdefault("medications", [])
    here = f"{path}.medications[{len(meds)}]"
    concept = res.get("medicationCodeableConcept")
    m: dict[str, Any] = {}
    name = concept.get("text") if isinstance(concept, Mapping) else None
    if not name and isinstance(concept, Mapping):
        name = next(
            (c.get("display") for c in concept.get("coding") or [] if c.get("display")), None
        )
    m["name"] = name
    m["class"] = _first_code(concept, value_system("medication-class"))
    if res.get("effectiveDateTime"):
        m["taken_at"] = res["effectiveDateTime"]
    dosage = [d.get("text") for d in res.get("dosage") or [] if d.get("text")]
    if dosage:
        m["dose"] = dosage[0]
    effect = _ext(res, EXT + "effect")
    if effect is not None:
        m["effect"] = effect.get("valueCode") or effect.get("valueString")
    meds.append({k: v for k, v in m.items() if v is not None or k in ("name", "class")})
    r.at(here, loc(i))
    r.at(f"{here}.name", loc(i, ".medicationCodeableConcept.text"))
    r.at(f"{here}.class", loc(i, ".medicationCodeableConcept.coding"))
    r.at(f"{here}.taken_at", loc(i, ".effectiveDateTime"))
    r.at(f"{here}.dose", loc(i, ".dosage[0].text"))
    r.at(f"{here}.effect", loc(i, ".extension(effect)"))
    if m["name"] is None:
        r.err(loc(i, ".medicationCodeableConcept.text"), "is required: the medication's name")
    if m["class"] is None:
        r.err(
            loc(i, ".medicationCodeableConcept.coding"),
            f"needs a coding from {value_system('medication-class')}",
        )


def _read_procedure(
    r: _Reader, res: Mapping[str, Any], i: int, loc: Callable[..., str], n: int
) -> dict[str, Any]:
    path = f"sessions[{n}]"
    if _first_code(res.get("code"), CODES) != "acupuncture-session":
        r.err(loc(i, ".code"), f"needs the code {CODES}|acupuncture-session")
    stricta = _ext(res, EXT + "stricta")
    s: dict[str, Any] = decode_extension(stricta.get("extension") or []) if stricta else {}
    for key in s:
        r.at(f"{path}.{key}", loc(i, f".extension(stricta).{key}"))
    r.at(path, loc(i))
    start = res.get("performedDateTime") or (res.get("performedPeriod") or {}).get("start")
    s["start"] = start
    r.at(f"{path}.start", loc(i, ".performedDateTime"))
    points: list[dict[str, Any]] = []
    for k, site in enumerate(res.get("bodySite") or []):
        here = loc(i, f".bodySite[{k}]")
        code = _first_code(site, POINT_SYSTEM)
        if code is None:
            r.err(here, f"needs a coding from {POINT_SYSTEM} (the point code)")
            continue
        p: dict[str, Any] = {"code": code}
        extra = _ext(site, EXT + "point")
        if extra is not None:
            p.update(decode_extension(extra.get("extension") or []))
        r.at(f"{path}.points[{len(points)}]", here)
        r.at(f"{path}.points[{len(points)}].code", f"{here}.coding[0].code")
        points.append(p)
    s["points"] = points
    notes = [x.get("text") for x in res.get("note") or [] if x.get("text")]
    if notes:
        s["notes"] = "\n".join(notes)
        r.at(f"{path}.notes", loc(i, ".note[0].text"))
    return s


def _read_adverse_event(
    r: _Reader,
    res: Mapping[str, Any],
    i: int,
    loc: Callable[..., str],
    session: dict[str, Any],
    path: str,
) -> None:
    events = session.setdefault("adverse_events", [])
    here = f"{path}.adverse_events[{len(events)}]"
    e: dict[str, Any] = {
        "type": _first_code(res.get("event"), value_system("adverse-event")),
        "severity": _first_code(res.get("severity"), AE_SEVERITY),
        "serious": _first_code(res.get("seriousness"), AE_SERIOUSNESS) == "serious",
    }
    details = _ext(res, EXT + "adverse-event")
    if details is not None:
        e.update(decode_extension(details.get("extension") or []))
    events.append(e)
    r.at(here, loc(i))
    r.at(f"{here}.type", loc(i, ".event"))
    r.at(f"{here}.severity", loc(i, ".severity"))
    r.at(f"{here}.serious", loc(i, ".seriousness"))
    for key in _AE_DETAILS:
        r.at(f"{here}.{key}", loc(i, f".extension(adverse-event).{key}"))


def _answer(item: Mapping[str, Any]) -> Any:
    answers = item.get("answer") or [{}]
    first = answers[0] if isinstance(answers[0], Mapping) else {}
    for k in ("valueInteger", "valueDecimal", "valueString"):
        if k in first:
            return first[k]
    return None


def _read_questionnaire(
    r: _Reader, res: Mapping[str, Any], i: int, loc: Callable[..., str]
) -> QuestionnaireAnswers | None:
    canonical = str(res.get("questionnaire") or "")
    if not canonical.startswith(QUESTIONNAIRE):
        r.err(loc(i, ".questionnaire"), f"must be {QUESTIONNAIRE}<instrument>; got {canonical!r}")
        return None
    try:
        inst = qmod.parse_instrument(canonical.removeprefix(QUESTIONNAIRE))
    except ValidationError as exc:
        r.err(loc(i, ".questionnaire"), exc.errors[0].message)
        return None
    date = _date_part(res.get("authored"))
    if date is None:
        r.err(loc(i, ".authored"), "is required: the date it was completed (YYYY-MM-DD)")
        return None
    scored = {it.link_id: n for n, it in enumerate(inst.scored_items)}
    recorded = {it.link_id: it.key for it in inst.recorded_items}
    given: dict[int, tuple[Any, int]] = {}
    payload: dict[str, Any] = {}
    total: Any = None
    total_at = -1
    for k, item in enumerate(res.get("item") or []):
        link = str(item.get("linkId"))
        if link in scored:
            given[scored[link]] = (_answer(item), k)
        elif link in recorded:
            payload[recorded[link]] = _answer(item)
        elif link == "total":
            total, total_at = _answer(item), k
        elif link != "band":
            r.err(loc(i, f".item[{k}].linkId"), f"is not an item of {inst.label}; got {link!r}")
    items = [given[n][0] for n in sorted(given)]
    item_at = [given[n][1] for n in sorted(given)]
    if items:
        payload["items"] = items
    elif total is not None and inst.total_entry:
        payload["total"] = total
    try:
        result = qmod.score(inst, payload)
    except ValidationError as exc:
        for e in exc.errors:
            m = re.fullmatch(r"items\[(\d+)\]", e.path)
            if m and int(m.group(1)) < len(item_at):
                where = loc(i, f".item[{item_at[int(m.group(1))]}].answer[0]")
            elif e.path == "total" and total_at >= 0:
                where = loc(i, f".item[{total_at}].answer[0]")
            else:
                where = loc(i, f".item ({e.path})" if e.path else ".item")
            r.err(where, e.message)
        return None
    if total is not None and total_at >= 0 and float(total) != float(result.total):
        r.err(
            loc(i, f".item[{total_at}].answer[0]"),
            f"total {total} does not match the answers (they add up to {result.total})",
        )
        return None
    return QuestionnaireAnswers(inst.id, dt.date.fromisoformat(date), result, loc(i))
