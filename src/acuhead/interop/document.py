"""The diary document (``"format": "acuhead.diary/1"``): one JSON shape for import, export
and the CLI commands that read a diary.

Validation runs in two passes: the published JSON Schema (shape, ranges, codes), then the
rules a schema cannot say (end before start, dates in the future, duplicate days). Every
problem is reported with its JSON path, e.g. ``attacks[1].peak_intensity``, and all of them
at once, so a person can fix a file in one go.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from acuhead.domain import questionnaires as qmod
from acuhead.domain.contact import check_contact
from acuhead.domain.diary import (
    Attack,
    AuraSymptom,
    AuraType,
    Diary,
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
from acuhead.domain.instruments import REGISTRY
from acuhead.domain.tcm.channels import parse_location
from acuhead.domain.tcm.patterns import parse_pattern
from acuhead.errors import FieldError, ValidationError
from acuhead.interop.care import care_errors

FORMAT = "acuhead.diary/1"


@cache
def schema() -> dict[str, Any]:
    text = (resources.files("acuhead") / "schemas" / "diary-1.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    # The questionnaire entry is completed from the instrument registry, so a new instrument
    # needs no edit here: its id, the longest list of answers, and recorded items by key.
    entry = loaded["$defs"]["questionnaire"]["properties"]
    entry["instrument"] = {"enum": [s.id for s in REGISTRY]}
    entry["items"]["maxItems"] = max(len(s.scored_items) for s in REGISTRY)
    for key in sorted({i.key for s in REGISTRY for i in s.recorded_items}):
        entry[key] = {"type": "integer"}
    return loaded


@dataclass(frozen=True, slots=True)
class DiaryDocument:
    """A parsed document: the diary the engine reads plus the blocks later issues own."""

    external_id: str
    name: str
    diary: Diary
    extras: Mapping[str, Any] = field(default_factory=dict)  # sessions, course, questionnaires…
    # Which keys the ``patient`` block (and its ``safety``) gave: an import sets only those and
    # keeps every stored value the document leaves out (a missing safety fact is not "no").
    patient_keys: frozenset[str] = frozenset()
    safety_keys: frozenset[str] = frozenset()
    questionnaires: tuple[QuestionnaireEntry, ...] = ()
    assessment: AssessmentEntry | None = None
    # ``patient.contact``: the fields it gave, checked (None: the file has no contact block).
    contact: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class QuestionnaireEntry:
    """One entry of ``questionnaires``, scored again by ``domain.questionnaires``."""

    completed_on: dt.date
    score: qmod.QuestionnaireScore


@dataclass(frozen=True, slots=True)
class AssessmentEntry:
    """The ``assessment`` block: the practitioner's findings; scores are recomputed on import."""

    locations: tuple[str, ...]
    signs: tuple[str, ...]
    tongue: str
    pulse: str
    confirmed_pattern: str | None
    # Planning options `acuhead prescribe` reads beside the findings (not stored by an import).
    planning: tuple[str, ...] = ()


# Dates before this year are typing slips (birth, onset, questionnaires, regimens).
EARLIEST = dt.date(1900, 1, 1)


def json_path(parts: Iterable[str | int]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


@cache
def _format_checker() -> Any:
    from jsonschema import FormatChecker

    def _local(value: object) -> bool:
        return not isinstance(value, str) or _local_datetime(value)

    checker = FormatChecker()
    checker.checks("local-date-time")(_local)
    return checker


def _local_datetime(value: str) -> bool:
    """A real date-time (the pattern alone lets 2026-13-45T99:99 through) in a range that
    time-zone arithmetic can handle."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return EARLIEST.year <= parsed.year < dt.MAXYEAR


@cache
def _fast_validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(
        schema(), validate_formats=True, formats={"local-date-time": _local_datetime}
    )


class _Short:
    """A value as an error message quotes it: cut to 80 characters (a message must not carry
    a whole 20 MB section back)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        text = repr(self.value)
        return text if len(text) <= 80 else text[:77] + "..."


def _schema_errors(doc: Any) -> list[FieldError]:
    # A compiled validator answers "valid?" ~100x faster (0.2 s for 100,000 attacks against
    # 22 s, benchmarks/import_scale.py); the slower one names every problem of a bad document.
    if _fast_validator().is_valid(doc):
        return []
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema(), format_checker=_format_checker())
    errors: list[FieldError] = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path = list(err.absolute_path)
        value = _Short(err.instance)
        kind = err.validator
        if kind == "required":
            missing = str(err.message).split("'")[1]
            errors.append(FieldError(json_path([*path, missing]), "is required"))
            continue
        if kind == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for key in extra:
                errors.append(FieldError(json_path([*path, key]), "is not a known key"))
            continue
        if kind == "enum":
            allowed = ", ".join(map(str, err.validator_value))
            msg = f"must be one of: {allowed}; got {value!r}"
        elif kind == "const":
            msg = f"must be {err.validator_value!r}; got {value!r}"
        elif kind == "type":
            msg = f"must be of type {err.validator_value}; got {value!r}"
        elif kind == "minimum":
            msg = f"must be at least {err.validator_value}; got {value!r}"
        elif kind == "maximum":
            msg = f"must be at most {err.validator_value}; got {value!r}"
        elif kind == "format" and err.validator_value == "local-date-time":
            msg = f"is not a date-time from {EARLIEST.year} on; got {value!r}"
        elif kind == "format":
            msg = f"is not a valid {err.validator_value} (YYYY-MM-DD); got {value!r}"
        elif kind == "pattern":
            msg = f"is not a date-time like 2026-02-02T06:30:00; got {value!r}"
        elif (
            kind == "anyOf"
            and isinstance(err.instance, dict)
            and "peak_intensity" in str(err.schema)
        ):
            msg = "an attack needs 'start' (or 'duration_min' with 'date')"
        elif kind in ("minLength", "maxLength"):
            msg = f"length must be within limits ({kind} {err.validator_value})"
        elif kind == "uniqueItems":
            msg = "has repeated entries"
        else:
            msg = err.message
        errors.append(FieldError(json_path(path), msg))
    return errors


def _dt(text: str | None, tz: ZoneInfo) -> dt.datetime | None:
    """Parse a document time into the patient's local wall-clock time (naive)."""
    if text is None:
        return None
    value = dt.datetime.fromisoformat(text)  # "Z" read as UTC since Python 3.11
    if value.tzinfo is not None:
        value = value.astimezone(tz).replace(tzinfo=None)
    return value


def parse(doc: Any, *, today: dt.date | None = None, timezone: str | None = None) -> DiaryDocument:
    """Validate and parse a document. Raises ValidationError listing every located problem.

    ``timezone``: the zone to read the document's times in when its ``patient`` block has no
    ``timezone`` (an import into a stored patient passes the stored zone; default UTC).
    """
    errors = _schema_errors(doc)
    if errors:
        raise ValidationError(errors)
    p = doc["patient"]
    zone = p.get("timezone", timezone or "UTC")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            FieldError("patient.timezone", f"unknown time zone {zone!r}")
        ) from None
    local_today = today or dt.datetime.now(tz).date()
    latest = local_today + dt.timedelta(days=1)  # today+1 in the patient's zone is still valid
    birth = dt.date.fromisoformat(p["birth_date"]) if p.get("birth_date") else None
    if birth is not None:
        _check_range(birth, "patient.birth_date", local_today, errors)
    safety = p.get("safety", {})
    contact = (
        check_contact(p["contact"], errors, prefix="patient.contact") if "contact" in p else None
    )
    patient = PatientFacts(
        birth_date=birth,
        sex=Sex(p.get("sex", "unknown")),
        timezone=tz.key,
        safety=SafetyProfile(**{k: v for k, v in safety.items() if v is not None}),
    )

    days: list[DiaryDay] = []
    seen: dict[dt.date, int] = {}
    for i, d in enumerate(doc.get("days", [])):
        date = dt.date.fromisoformat(d["date"])
        _check_range(date, f"days[{i}].date", latest, errors)
        if date in seen:
            errors.append(FieldError(f"days[{i}].date", f"{date} repeats days[{seen[date]}]"))
        seen[date] = i
        days.append(
            DiaryDay(
                date=date,
                headache=d["headache"],
                stress=d.get("stress"),
                sleep_hours=d.get("sleep_hours"),
                neck_tension=d.get("neck_tension"),
                menstruating=d.get("menstruating"),
                notes=d.get("notes", ""),
                triggers=tuple(d.get("triggers", ())),
                recorded_at=_dt(d.get("recorded_at"), tz),
            )
        )

    attacks: list[Attack] = []
    for i, a in enumerate(doc.get("attacks", [])):
        attack = _parse_attack(a, f"attacks[{i}]", tz, latest, errors)
        if attack is not None:
            attacks.append(attack)

    regimens: list[Regimen] = []
    regimen_latest = local_today + dt.timedelta(days=366)  # a planned course may start ahead
    for i, r in enumerate(doc.get("regimens", [])):
        start = dt.date.fromisoformat(r["start"])
        stop = dt.date.fromisoformat(r["stop"]) if r.get("stop") else None
        _check_range(start, f"regimens[{i}].start", regimen_latest, errors)
        if stop is not None:
            _check_range(stop, f"regimens[{i}].stop", regimen_latest, errors)
        if stop is not None and stop < start:
            errors.append(FieldError(f"regimens[{i}].stop", "is before start"))
        regimens.append(Regimen(r["name"], RegimenKind(r["kind"]), start, stop, r.get("dose")))

    # Sessions and course (issue 4): STRICTA checks, located as sessions[i].field.
    errors.extend(care_errors(doc, timezone=tz.key, latest=latest))
    if isinstance(doc.get("course"), Mapping) and "start" in doc["course"]:
        try:
            course_start = dt.date.fromisoformat(str(doc["course"]["start"]))
        except ValueError:
            pass  # reported by the course checks
        else:
            _check_range(course_start, "course.start", regimen_latest, errors)
    onset = (doc.get("red_flags") or {}).get("first_headache_onset")
    if onset:
        _check_range(dt.date.fromisoformat(onset), "red_flags.first_headache_onset", latest, errors)
    questionnaires = _parse_questionnaires(doc.get("questionnaires", []), latest, errors)
    assessment = _parse_assessment(doc.get("assessment"), errors)
    if errors:
        raise ValidationError(errors)
    # red_flags: an SNNOOP10 intake block (`acuhead prescribe` reads it; an import stores it).
    extras = {
        k: doc[k] for k in ("sessions", "session_versions", "course", "red_flags") if k in doc
    }
    return DiaryDocument(
        external_id=p["external_id"],
        name=p.get("name", ""),
        diary=Diary(
            patient=patient, days=tuple(days), attacks=tuple(attacks), regimens=tuple(regimens)
        ),
        extras=extras,
        patient_keys=frozenset(p),
        safety_keys=frozenset(safety),
        questionnaires=tuple(questionnaires),
        assessment=assessment,
        contact=contact,
    )


def _check_range(value: dt.date, path: str, latest: dt.date, errors: list[FieldError]) -> None:
    """A date from 1900 to ``latest`` (today, or today + 1 for diary entries: clock skew)."""
    if value < EARLIEST:
        errors.append(FieldError(path, f"{value} is before {EARLIEST.year}"))
    elif value > latest:
        errors.append(FieldError(path, f"{value} is in the future (latest {latest})"))


def _parse_questionnaires(
    raw: Sequence[Mapping[str, Any]], latest: dt.date, errors: list[FieldError]
) -> list[QuestionnaireEntry]:
    """``questionnaires[i]``: ``instrument``, ``completed_on`` and the answers as the API takes
    them (``items``; ``total`` from a paper form where the instrument allows it; recorded
    items by their key), each checked against the instrument's spec."""
    out: list[QuestionnaireEntry] = []
    for i, q in enumerate(raw):
        path = f"questionnaires[{i}]"
        completed = dt.date.fromisoformat(q["completed_on"])
        _check_range(completed, f"{path}.completed_on", latest, errors)
        payload = {k: v for k, v in q.items() if k not in ("instrument", "completed_on")}
        try:
            scored = qmod.score(q["instrument"], payload)
        except ValidationError as exc:
            errors.extend(
                FieldError(f"{path}.{e.path}" if e.path else path, e.message) for e in exc.errors
            )
            continue
        out.append(QuestionnaireEntry(completed, scored))
    return out


def _parse_assessment(raw: Any, errors: list[FieldError]) -> AssessmentEntry | None:
    if raw is None:
        return None
    found: list[FieldError] = []
    locations: list[str] = []
    for i, text in enumerate(raw.get("locations", [])):
        try:
            locations.append(parse_location(text, f"assessment.locations[{i}]").value)
        except ValidationError as exc:
            found.extend(exc.errors)
    pattern = raw.get("confirmed_pattern")
    if pattern is not None:
        try:
            pattern = parse_pattern(pattern, "assessment.confirmed_pattern").value
        except ValidationError as exc:
            found.extend(exc.errors)
    errors.extend(found)
    if found:
        return None
    return AssessmentEntry(
        locations=tuple(dict.fromkeys(locations)),
        signs=tuple(s.strip() for s in raw.get("signs", []) if s.strip()),
        tongue=raw.get("tongue", "").strip(),
        pulse=raw.get("pulse", "").strip(),
        confirmed_pattern=pattern,
        planning=tuple(k for k in ("electro", "headache_kind") if k in raw),
    )


E = TypeVar("E", bound=enum.Enum)


def _members(kind: type[E], values: Iterable[Any]) -> tuple[E, ...]:
    """``tuple(kind(v) for v in values)``, remembered for each tuple of values (an import's
    attacks repeat a few lists: ``["temporal"]``, ``["pulsating", "pressing"]``; 433,000
    calls per 100,000 attacks). A value that is no member raises as the ``Enum`` call does
    (not remembered); unhashable values go through the call each time."""
    key = tuple(values)
    try:
        return _members_of(kind, key)
    except TypeError:  # an unhashable value: the enum call says what is wrong with it
        return tuple(kind(v) for v in key)


@functools.lru_cache(maxsize=4096)
def _members_of(kind: type[E], values: tuple[Any, ...]) -> tuple[E, ...]:
    """The members of a tuple of values, through the enum's value table (a dict lookup; the
    ``Enum`` call costs several Python frames). The cache is bounded: only tuples of valid
    values get into it (``(1,)`` equals ``(True,)``, but neither is a member's value)."""
    table = kind._value2member_map_
    return tuple(
        cast(E, table[v]) if v.__hash__ is not None and v in table else kind(v) for v in values
    )


def _member(kind: type[E], value: Any) -> E:
    """``kind(value)`` through the enum's value table for a string (every member's value
    here is one), else the call itself."""
    if type(value) is str:
        found = kind._value2member_map_.get(value)
        if found is not None:
            return cast(E, found)
    return kind(value)


def _parse_attack(
    a: Mapping[str, Any], path: str, tz: ZoneInfo, latest: dt.date, errors: list[FieldError]
) -> Attack | None:
    start = _dt(a.get("start"), tz)
    if start is None:
        if "date" not in a:
            errors.append(
                FieldError(f"{path}.start", "give 'start', or 'date' with 'duration_min'")
            )
            return None
        start = dt.datetime.combine(dt.date.fromisoformat(a["date"]), dt.time())
    end = _dt(a.get("end"), tz)
    if end is not None and end < start:
        errors.append(FieldError(f"{path}.end", f"{end:%Y-%m-%dT%H:%M} is before start"))
    if start.date() > latest:
        errors.append(FieldError(f"{path}.start", f"{start:%Y-%m-%d} is in the future"))
    elif start.date() < EARLIEST:
        errors.append(FieldError(f"{path}.start", f"{start:%Y-%m-%d} is before {EARLIEST.year}"))
    readings = []
    for j, r in enumerate(a.get("readings", [])):
        at = _dt(r["at"], tz)
        assert at is not None
        if at < start or (end is not None and at > end):
            errors.append(FieldError(f"{path}.readings[{j}].at", "is outside the attack"))
        readings.append(IntensityReading(at, r["intensity"]))
    aura = (
        ()
        if not a.get("aura")
        else tuple(
            AuraSymptom(
                type=_member(AuraType, s["type"]),
                symptom=s.get("symptom", ""),
                onset=_dt(s.get("onset"), tz),
                duration_min=s.get("duration_min"),
                gradual_spread=s.get("gradual_spread"),
                unilateral=s.get("unilateral"),
                positive=s.get("positive"),
                headache_within_60_min=s.get("headache_within_60_min"),
            )
            for s in a.get("aura", [])
        )
    )
    meds = (
        ()
        if not a.get("medications")
        else tuple(
            MedicationDose(
                name=m["name"],
                med_class=_member(MedClass, m["class"]),
                taken_at=_dt(m.get("taken_at"), tz),
                dose=m.get("dose"),
                effect=_member(Effect, m["effect"]) if m.get("effect") else None,
            )
            for m in a.get("medications", [])
        )
    )
    return Attack(
        start=start,
        end=end,
        duration_min=a.get("duration_min"),
        peak_intensity=a.get("peak_intensity"),
        readings=tuple(readings),
        side=_member(Side, a["side"]) if a.get("side") else None,
        locations=_members(Location, a.get("locations", ())),
        quality=_members(Quality, a.get("quality", ())),
        aggravated_by_activity=a.get("aggravated_by_activity"),
        nausea=_member(Nausea, a["nausea"]) if a.get("nausea") else None,
        vomiting=a.get("vomiting"),
        photophobia=a.get("photophobia"),
        phonophobia=a.get("phonophobia"),
        osmophobia=a.get("osmophobia"),
        aura=aura,
        cranial_autonomic=tuple(a.get("cranial_autonomic", ())),
        restlessness=a.get("restlessness"),
        triggers=tuple(a.get("triggers", ())),
        medications=meds,
        treated=a.get("treated"),
        warning_signs=tuple(a.get("warning_signs", ())),
    )


def parse_attack(data: Mapping[str, Any], *, timezone: str, today: dt.date | None = None) -> Attack:
    """One attack in document shape (as the API receives it), with the document's checks."""
    tz = ZoneInfo(timezone)
    latest = (today or dt.datetime.now(tz).date()) + dt.timedelta(days=1)
    errors: list[FieldError] = []
    attack = _parse_attack(data, "", tz, latest, errors)
    if errors or attack is None:
        raise ValidationError([FieldError(e.path.lstrip("."), e.message) for e in errors])
    return attack


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != () and v != []}


def attack_to_dict(a: Attack) -> dict[str, Any]:
    return _drop_none(
        {
            "start": _iso(a.start),
            "end": _iso(a.end),
            "duration_min": a.duration_min if a.end is None else None,
            "peak_intensity": a.peak_intensity,
            "readings": [{"at": _iso(r.at), "intensity": r.intensity} for r in a.readings],
            "side": a.side.value if a.side else None,
            "locations": [x.value for x in a.locations],
            "quality": [x.value for x in a.quality],
            "aggravated_by_activity": a.aggravated_by_activity,
            "nausea": a.nausea.value if a.nausea else None,
            "vomiting": a.vomiting,
            "photophobia": a.photophobia,
            "phonophobia": a.phonophobia,
            "osmophobia": a.osmophobia,
            "aura": [
                _drop_none(
                    {
                        "type": s.type.value,
                        "symptom": s.symptom or None,
                        "onset": _iso(s.onset),
                        "duration_min": s.duration_min,
                        "gradual_spread": s.gradual_spread,
                        "unilateral": s.unilateral,
                        "positive": s.positive,
                        "headache_within_60_min": s.headache_within_60_min,
                    }
                )
                for s in a.aura
            ],
            "cranial_autonomic": list(a.cranial_autonomic),
            "restlessness": a.restlessness,
            "treated": a.treated,
            "triggers": list(a.triggers),
            "warning_signs": list(a.warning_signs),
            "medications": [
                _drop_none(
                    {
                        "name": m.name,
                        "class": m.med_class.value,
                        "taken_at": _iso(m.taken_at),
                        "dose": m.dose,
                        "effect": m.effect.value if m.effect else None,
                    }
                )
                for m in a.medications
            ],
        }
    )


def day_to_dict(d: DiaryDay) -> dict[str, Any]:
    out = _drop_none(
        {
            "date": d.date.isoformat(),
            "stress": d.stress,
            "sleep_hours": d.sleep_hours,
            "neck_tension": d.neck_tension,
            "menstruating": d.menstruating,
            "notes": d.notes or None,
            "triggers": list(d.triggers),
            "recorded_at": _iso(d.recorded_at),
        }
    )
    out["headache"] = d.headache
    return out


def to_document(
    *, external_id: str, diary: Diary, name: str = "", extras: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    p = diary.patient
    patient: dict[str, Any] = {
        "external_id": external_id,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "sex": p.sex.value,
        "timezone": p.timezone,
        "safety": {k: getattr(p.safety, k) for k in SafetyProfile.__dataclass_fields__},
    }
    if name:
        patient["name"] = name
    doc: dict[str, Any] = {
        "format": FORMAT,
        "patient": patient,
        "days": [day_to_dict(d) for d in sorted(diary.days, key=lambda d: d.date)],
        "attacks": [attack_to_dict(a) for a in sorted(diary.attacks, key=lambda a: a.start)],
        "regimens": [
            _drop_none(
                {
                    "name": r.name,
                    "kind": r.kind.value,
                    "start": r.start.isoformat(),
                    "stop": r.stop.isoformat() if r.stop else None,
                    "dose": r.dose,
                }
            )
            for r in diary.regimens
        ],
    }
    for key, value in (extras or {}).items():
        doc[key] = value
    return doc


# The deepest a diary document or FHIR Bundle nests is about ten levels; past this a body is
# refused before it is parsed (1,000 levels made the parser raise RecursionError: a 500).
MAX_DEPTH = 64
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# Strings and every other non-bracket run in one pass (one 20 MB copy, not two): a maximal run
# of strings and text between brackets is removed at once (a quote that opens no string
# too, as `_NOT_BRACKET` removed it). Equal to `_NOT_BRACKET` after
# `_STRING` (tests/unit/test_import_shortcuts.py).
_NOT_BRACKET_OR_STRING = re.compile(r'(?:"[^"\\]*(?:\\.[^"\\]*)*"|[^\[\]{}"]+|")+')
_INNERMOST = re.compile(r"\[\]|\{\}")


class NestingTooDeep(ValidationError):
    """A JSON text nested deeper than :data:`MAX_DEPTH` (the web edge answers 400)."""


def nesting_depth(text: str, *, limit: int = MAX_DEPTH) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings ignored),
    counted up to ``limit + 1``. Each pass drops the innermost pairs, in C: no Python loop over
    a 20 MB body."""
    brackets = _NOT_BRACKET_OR_STRING.sub("", text)
    depth = 0
    while brackets and depth <= limit:
        shorter = _INNERMOST.sub("", brackets)
        if shorter == brackets:  # unbalanced: the parser reports it
            break
        brackets = shorter
        depth += 1
    return depth


def load_text(text: str, *, source: str = "document") -> Any:
    """Parse JSON text, turning a syntax error into a located ValidationError."""
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise NestingTooDeep(
            FieldError("", f"{source} nests more than {MAX_DEPTH} levels deep; refused unread")
        )
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - MAX_DEPTH is far below the parser's limit
        raise NestingTooDeep(FieldError("", f"{source} nests too deep")) from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            FieldError(
                "", f"{source} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
            )
        ) from None


def errors_as_list(errors: Sequence[FieldError]) -> list[dict[str, str]]:
    return [{"path": e.path, "message": e.message} for e in errors]
