"""What an instrument is, as data: its items, choices, scoring rule, bands, codes and licence.

Why: a questionnaire used to be an enum member plus an ``if``/``elif`` branch in a dozen files
(API schema, form, schedule, outcome panel, report, FHIR ...). Now each instrument is one
``InstrumentSpec`` in its own module of this package, and every layer loops over the registry
(``acuhead.domain.instruments.REGISTRY``). Adding an instrument is adding a module here and,
when the generic form is not enough, a template.

Scoring is one function, :func:`score_answers`, driven by the spec: each scored item is read
(a choice word or its points, or a whole number in a range), reversed where the spec says so,
summed, and the total is placed in a band. Items a spec records but does not score (MIDAS A and
B) are checked and kept. Errors are collected so a person can fix the whole form at once; paths
are 0-based like JSON (``items[1]``) and messages count questions from 1 as the form does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acuhead.errors import FieldError, ValidationError

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def count_words(n: int) -> str:
    """ "six" for 6: how a form speaks of its own number of questions."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer option: a stable ``code``, the words people see, and the points it scores."""

    code: str
    label: str
    points: int


@dataclass(frozen=True, slots=True)
class Item:
    """One question of an instrument.

    ``key`` names the answer in storage, in the form and (for recorded items) in API payloads;
    ``link_id`` is its FHIR ``linkId``. ``text`` is the wording shown to the patient, or ""
    when the wording is licensed and comes from the clinic's own file. An item has either
    ``choices`` or a whole-number range ``low``..``high`` (with an optional ``unit``).
    ``reversed``: scored as (lowest + highest) - answer. ``scored=False``: recorded, not summed.
    """

    key: str
    link_id: str
    name: str  # how messages name it: "question 2", "question A (headache days)"
    text: str = ""
    choices: tuple[Choice, ...] = ()
    low: int = 0
    high: int = 0
    unit: str = ""
    reversed: bool = False
    scored: bool = True
    loinc: str | None = None

    @property
    def lowest(self) -> int:
        return min(c.points for c in self.choices) if self.choices else self.low

    @property
    def highest(self) -> int:
        return max(c.points for c in self.choices) if self.choices else self.high

    @property
    def range_text(self) -> str:
        return f"{self.low}-{self.high}" + (f" {self.unit}" if self.unit else "")

    def item_score(self, value: int) -> int:
        return self.lowest + self.highest - value if self.reversed else value


@dataclass(frozen=True, slots=True)
class Band:
    """Totals ``low``..``high`` (inclusive); ``code`` is what is stored, ``label`` what is shown."""

    low: int
    high: int
    code: str
    label: str


@dataclass(frozen=True, slots=True)
class PairLimit:
    """Two scored items (0-based) whose answers together may not exceed ``most`` (MIDAS Q1+Q2)."""

    first: int
    second: int
    most: int
    why: str


@dataclass(frozen=True, slots=True)
class SafetyItem:
    """An item whose every answer above its lowest needs a clinician's attention, whatever the
    total (PHQ-9 item 9, thoughts of self-harm). ``concern``: what such an answer reports, in
    staff words; ``action``: what staff must do about it; ``source``: where the rule comes
    from; ``patient_note``: what the patient reads once such an answer is saved. The rule
    itself is ``domain.questionnaires.safety_concern``."""

    key: str
    concern: str
    action: str
    source: str
    patient_note: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class InstrumentSpec:
    """Everything acuhead knows about one instrument. Equal (and hashed) by ``id`` alone.

    ``since_treatment``: the instrument asks about change since treatment began (a global
    impression of change): it has no baseline, is first due one interval after the first
    session, and its "total" is the number of the answer, not a score to compare.
    ``improved_bands``: for such an instrument, the answers that count as "improved" in the
    practice report. ``total_entry``: a total from a licensed paper form may be typed in
    instead of the answers. ``licensed_items``: the item wording is not shipped; a clinic with
    a licence loads its own texts (``<data dir>/licensed/[clinic-<id>/]<id>-items.txt``).
    ``safety_item``: the item whose answer above "not at all" opens an alert for the clinic's
    staff (``domain.questionnaires.safety_concern``).
    """

    id: str
    label: str  # what people see: "HIT-6"
    title: str  # full name
    recall_period: str  # stored with every answer
    recall_prompt: str  # the form's reminder of the period
    intro: str  # the form's first sentence, in patient words
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    source: str  # where the scoring and bands come from (CLINICAL.md section, paper)
    licence: str
    bands_canonical: bool = True
    default_interval_days: int | None = None  # what a new clinic is offered (None: off)
    interval_hint: str = ""  # "28 days = every 4 weeks"
    loinc: str | None = None  # LOINC panel code, when one is verified
    pair_limits: tuple[PairLimit, ...] = ()
    total_entry: bool = False
    licensed_items: bool = False
    licensed_note: str = ""
    items_legend: str = ""  # heading over number questions ("In the last 3 months ...")
    since_treatment: bool = False
    improved_bands: frozenset[str] = frozenset()
    template: str | None = None  # its own form template, where the generic one is not enough
    aliases: tuple[str, ...] = ()
    safety_item: SafetyItem | None = None  # an answer above its lowest alerts the clinic

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InstrumentSpec) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"InstrumentSpec({self.id!r})"

    @property
    def value(self) -> str:
        """The id, under the name templates and callers of the old enum used."""
        return self.id

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.scored)

    @property
    def recorded_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if not i.scored)

    @property
    def score_range(self) -> tuple[int, int]:
        """Lowest and highest possible total, pair limits included."""
        scored = self.scored_items
        paired = {i for p in self.pair_limits for i in (p.first, p.second)}
        high = sum(it.highest for n, it in enumerate(scored) if n not in paired)
        for p in self.pair_limits:
            high += min(p.most, scored[p.first].highest + scored[p.second].highest)
        return sum(it.lowest for it in scored), high

    @property
    def possible_totals(self) -> frozenset[int]:
        """Every total some set of answers gives (a typed-in total must be one of them)."""
        sums = {0}
        for it in self.scored_items:
            options = (
                {it.item_score(c.points) for c in it.choices}
                if it.choices
                else set(range(it.low, it.high + 1))
            )
            sums = {s + o for s in sums for o in options}
        low, high = self.score_range
        return frozenset(s for s in sums if low <= s <= high)

    def split(self, answers: Mapping[str, Any]) -> tuple[list[int], dict[str, int]]:
        """Stored answers by key, split into the scored ones (item order) and the recorded."""
        scored = [answers[i.key] for i in self.scored_items if i.key in answers]
        return scored, {i.key: answers[i.key] for i in self.recorded_items if i.key in answers}

    def band(self, total: int) -> Band:
        for b in self.bands:
            if b.low <= total <= b.high:
                return b
        raise ValidationError(
            FieldError("total", f"{self.label} total {total} is outside {self.score_range}")
        )

    def band_label(self, code: str) -> str:
        """The words for a stored band code (the code itself if this version does not know it)."""
        return next((b.label for b in self.bands if b.code == code), code.replace("_", " "))


@dataclass(frozen=True, slots=True)
class QuestionnaireScore:
    """A scored questionnaire.

    ``items`` are the scored answers in numbers (points, days, the choice's number) in item
    order; ``item_scores`` are what was summed (after reversal). Both are empty when a total
    was typed in from a paper form (``total_entered``). ``recorded`` holds the answers kept but
    not scored, as (key, value). ``band_canonical`` is False when the band comes from secondary
    sources, not the authors.
    """

    instrument: InstrumentSpec
    total: int
    band: str
    band_label: str
    recall_period: str
    items: tuple[int, ...]
    item_scores: tuple[int, ...]
    score_range: tuple[int, int]
    band_canonical: bool = True
    total_entered: bool = False
    recorded: tuple[tuple[str, int], ...] = ()

    @property
    def answers(self) -> dict[str, int]:
        """Every answer by item key: what the store keeps."""
        keys = [i.key for i in self.instrument.scored_items]
        return {**dict(zip(keys, self.items, strict=False)), **dict(self.recorded)}


# --- reading answers -------------------------------------------------------------------------


def whole(value: object) -> int | None:
    """A whole number, or None. Booleans are refused (True is not 1 answer); 5.0 from JSON is 5."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def label_key(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").replace("_", " ").split())


def _read(item: Item, raw: object) -> int | None:
    """The answer's number, or None when it is not one of the item's answers."""
    if item.choices:
        if isinstance(raw, str):
            key = label_key(raw)
            return next(
                (c.points for c in item.choices if key in (c.code, label_key(c.label))), None
            )
        value = whole(raw)
        return value if value in {c.points for c in item.choices} else None
    value = whole(raw)
    return value if value is not None and item.low <= value <= item.high else None


def _problem(spec: InstrumentSpec, n: int, item: Item, raw: object) -> str:
    """Why an answer was refused, in the words of the form."""
    if not item.choices:
        return f"{spec.label} {item.name} must be {item.range_text}; got {raw!r}"
    points = [c.points for c in item.choices]
    words = [c.label.lower() for c in item.choices]
    if len(spec.scored_items) == 1:
        return (
            f"{spec.label} answer must be {points[0]} ({words[0]}) to {points[-1]} "
            f"({words[-1]}); got {raw!r}"
        )
    if points == list(range(points[0], points[0] + len(points))):
        return (
            f"{spec.label} answer {n} must be {points[0]}-{points[-1]} ({', '.join(words)}); "
            f"got {raw!r}"
        )
    return (
        f"{spec.label} answer {n} must be one of {', '.join(words)} "
        f"(or its points {', '.join(map(str, points))}); got {raw!r}"
    )


def _check_count(spec: InstrumentSpec, values: object) -> Sequence[object]:
    expected = len(spec.scored_items)
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValidationError(FieldError("items", f"{spec.label} answers must be a list"))
    if len(values) != expected:
        raise ValidationError(
            FieldError("items", f"{spec.label} needs exactly {expected} answers; got {len(values)}")
        )
    return values


def _result(
    spec: InstrumentSpec,
    total: int,
    items: tuple[int, ...],
    item_scores: tuple[int, ...],
    *,
    entered: bool = False,
    recorded: tuple[tuple[str, int], ...] = (),
) -> QuestionnaireScore:
    band = spec.band(total)
    return QuestionnaireScore(
        spec,
        total,
        band.code,
        band.label,
        spec.recall_period,
        items,
        item_scores,
        spec.score_range,
        band_canonical=spec.bands_canonical,
        total_entered=entered,
        recorded=recorded,
    )


def score_total(spec: InstrumentSpec, total: object) -> QuestionnaireScore:
    """A total typed in from a licensed paper form (only where ``spec.total_entry``).

    A total that no set of answers produces is an arithmetic slip on the paper form, so it is
    refused (HIT-6: 37, 39 and 77, CLINICAL.md 4.1)."""
    low, high = spec.score_range
    value = whole(total)
    if value is None or not low <= value <= high:
        raise ValidationError(
            FieldError("total", f"{spec.label} total must be {low}-{high}; got {total!r}")
        )
    if value not in spec.possible_totals:
        n = count_words(len(spec.scored_items))
        raise ValidationError(
            FieldError(
                "total",
                f"no set of {n} {spec.label} answers adds up to {value}; please re-add the form",
            )
        )
    return _result(spec, value, (), (), entered=True)


def score_items(
    spec: InstrumentSpec, answers: object, recorded: Mapping[str, object] | None = None
) -> QuestionnaireScore:
    """Score the scored items (in order) and check the recorded ones (by key)."""
    values = _check_count(spec, answers)
    errors: list[FieldError] = []
    read: list[int | None] = []
    for n, (item, raw) in enumerate(zip(spec.scored_items, values, strict=True)):
        value = _read(item, raw)
        if value is None:
            errors.append(FieldError(f"items[{n}]", _problem(spec, n + 1, item, raw)))
        read.append(value)
    for p in spec.pair_limits:
        x, y = read[p.first], read[p.second]
        if x is not None and y is not None and x + y > p.most:
            unit = spec.scored_items[p.second].unit
            errors.append(
                FieldError(
                    f"items[{p.second}]",
                    f"{spec.label} questions {p.first + 1} and {p.second + 1} together must be "
                    f"at most {p.most}{' ' + unit if unit else ''} ({p.why}); "
                    f"got {x} + {y} = {x + y}",
                )
            )
    kept: list[tuple[str, int]] = []
    for item in spec.recorded_items:
        raw = (recorded or {}).get(item.key)
        if raw is None:
            continue
        value = _read(item, raw)
        if value is None:
            errors.append(FieldError(item.key, _problem(spec, 0, item, raw)))
        else:
            kept.append((item.key, value))
    if errors:
        raise ValidationError(errors)
    answered = tuple(v for v in read if v is not None)
    scores = tuple(item.item_score(v) for item, v in zip(spec.scored_items, answered, strict=True))
    return _result(spec, sum(scores), answered, scores, recorded=tuple(kept))


def score_answers(spec: InstrumentSpec, payload: Mapping[str, Any]) -> QuestionnaireScore:
    """Score an API/CLI/import payload: ``{"items": [...]}`` plus the recorded items by key,
    or ``{"total": n}`` where the spec allows a typed-in total."""
    if not isinstance(payload, Mapping):
        raise ValidationError(f"{spec.label} answers must be an object such as {{'items': [...]}}")
    allowed = {"items", *(i.key for i in spec.recorded_items)}
    if spec.total_entry:
        allowed.add("total")
    errors: list[FieldError] = []
    for key in payload:
        if key == "total" and key not in allowed:
            errors.append(
                FieldError(
                    "total", f"{spec.label} is scored from its answers; send 'items', not a total"
                )
            )
        elif key not in allowed:
            errors.append(
                FieldError(
                    str(key), f"not a {spec.label} field; expected {', '.join(sorted(allowed))}"
                )
            )
    if errors:
        raise ValidationError(errors)
    if spec.total_entry:
        if ("items" in payload) == ("total" in payload):
            n = count_words(len(spec.scored_items))
            raise ValidationError(
                FieldError("", f"{spec.label} needs either the {n} answers ('items') or a 'total'")
            )
        if "total" in payload:
            return score_total(spec, payload["total"])
    if "items" not in payload:
        raise ValidationError(FieldError("items", f"{spec.label} answers are required"))
    return score_items(spec, payload["items"], payload)


def from_answers(spec: InstrumentSpec, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The payload for :func:`score_answers` from stored answers by item key."""
    payload: dict[str, Any] = {"items": [answers.get(i.key) for i in spec.scored_items]}
    payload.update({i.key: answers[i.key] for i in spec.recorded_items if i.key in answers})
    return payload


# --- licensed item texts ---------------------------------------------------------------------


def load_item_texts(text: str, spec: InstrumentSpec) -> tuple[str, ...]:
    """Read a clinic's own licensed item texts: exactly one non-empty, distinct text per item.

    Accepted forms: a JSON list of strings, a JSON object ``{"items": [...]}``, or plain text
    with one item per line (blank lines and lines starting with ``#`` ignored). acuhead never
    ships licensed wording (CLINICAL.md 0.5, 4.1 licensing).
    """
    count = len(spec.scored_items)
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise ValidationError(
            f"the item file is empty; it must list the {count} licensed {spec.label} items"
        )
    entries: list[object]
    if body[0] in "[{":
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"the item file is not valid JSON (line {exc.lineno}, column {exc.colno}): "
                f"{exc.msg}"
            ) from None
        if isinstance(parsed, dict):
            if "items" not in parsed:
                raise ValidationError(
                    FieldError("items", 'a JSON object must hold the texts under "items"')
                )
            parsed = parsed["items"]
        if not isinstance(parsed, list):
            raise ValidationError(FieldError("items", "the item texts must be a list"))
        entries = parsed
    else:
        entries = [
            line.strip()
            for line in body.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    if len(entries) != count:
        raise ValidationError(
            FieldError(
                "items",
                f"expected exactly {count} {spec.label} item texts; found {len(entries)}",
            )
        )
    errors: list[FieldError] = []
    texts: list[str] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, str):
            errors.append(FieldError(f"items[{i}]", f"item {i + 1} must be text; got {entry!r}"))
        elif not entry.strip():
            errors.append(FieldError(f"items[{i}]", f"item {i + 1} is empty"))
        elif entry.strip() in texts:
            errors.append(
                FieldError(
                    f"items[{i}]", f"item {i + 1} repeats item {texts.index(entry.strip()) + 1}"
                )
            )
        else:
            texts.append(entry.strip())
    if errors:
        raise ValidationError(errors)
    return tuple(texts)
