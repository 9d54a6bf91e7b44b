"""The acupuncture point catalogue: codes, names, regions, needling notes and safety cautions.

Why a catalogue: every other TCM rule in acuhead (location -> channel, pattern -> points, the
safety checks a prescription passes) speaks in point codes. Clinics write those codes in many
legacy spellings ("LV3", "SJ 5", "Du20", "Fengchi"), so input is normalised to one canonical code
here, once, and everything downstream can compare codes as plain strings.

Sources (cited again, row by row, in ``data/points.csv``):

- The 361 standard channel points, their codes, pinyin and channel: WHO Standard Acupuncture
  Point Locations in the Western Pacific Region (2008); counts per channel in CLINICAL.md 7.0.
- Extra points for headache (EX-HN1, EX-HN3, EX-HN4, EX-HN5, EX-HN7, EX-HN14, EX-HN15, EX-B2):
  WHO 1991 nomenclature, CLINICAL.md 7.0 [R]. Yintang stays EX-HN3; GB/T 12346-2006 calls it
  GV29, which is accepted as an alias (WHO 2008 keeps the Governor vessel at 28 points, and so do
  the counts here).
- Auricular points: GB/T 13734-2008 codes, CLINICAL.md 7.0 and 7.2 [R].
- Cautions: CLINICAL.md 7.3. They are flags for the clinician to confirm, never hard blocks (the
  product stance in 7.3: "forbidden" pregnancy points showed no excess harm in trials).
- Legacy code prefixes: CLINICAL.md 7.0, with one correction: French "IG" (intestin grele) is the
  Small Intestine, not the Large Intestine ("GI", gros intestin).

Locations, depths and angles are acuhead's own wording. Depth is stored as a textbook range, never
as a "safe" depth: measured skin-to-danger depths vary widely between people (CLINICAL.md 7.3).

Chinese names are in simplified characters throughout.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from types import MappingProxyType

from acuhead.errors import FieldError, ValidationError

__all__ = [
    "CHANNEL_COUNTS",
    "CHANNEL_ORDER",
    "LEGACY_PREFIXES",
    "REGIONS",
    "Caution",
    "Point",
    "catalogue",
    "lookup",
    "normalise_code",
    "search",
]


class Caution(StrEnum):
    """Why a point needs care (CLINICAL.md 7.3); shown to the clinician before needling."""

    PREGNANCY = "pregnancy"  # traditionally forbidden or "careful" in pregnancy
    PNEUMOTHORAX = "pneumothorax"  # over the lung: chest, upper back, shoulder top
    MEDULLA = "medulla"  # suboccipital points where deep upward needling reaches the brainstem
    EYE = "eye_region"  # inside or at the rim of the orbit
    ARTERY = "large_artery"  # beside a large palpable artery
    NO_MOXA = "no_moxa"  # moxibustion traditionally avoided
    TRACHEA = "trachea"  # CV22: trachea and great vessels behind the sternum
    EAR_INFECTION = "ear_infection"  # auricular: perichondritis risk with indwelling needles


@dataclass(frozen=True, slots=True)
class Point:
    """One acupuncture point as the catalogue ships it.

    ``location``, ``depth`` and ``angle`` are empty when acuhead has not written them yet; they are
    filled for every point used in headache care and for every point that carries a caution.
    """

    code: str
    pinyin: str
    hanzi: str
    channel: str
    region: str
    location: str
    depth: str
    angle: str
    cautions: tuple[Caution, ...]
    headache_use: str
    aliases: tuple[str, ...]


# WHO 2008 standard points per channel, in the traditional order of the qi circulation
# (CLINICAL.md 7.0). The order is also the display/sort order of search results.
CHANNEL_COUNTS: Mapping[str, int] = MappingProxyType(
    {
        "LU": 11,
        "LI": 20,
        "ST": 45,
        "SP": 21,
        "HT": 9,
        "SI": 19,
        "BL": 67,
        "KI": 27,
        "PC": 9,
        "TE": 23,
        "GB": 44,
        "LR": 14,
        "GV": 28,
        "CV": 24,
    }
)

# Standard channels first, then extra points and auricular points.
CHANNEL_ORDER: tuple[str, ...] = (*CHANNEL_COUNTS, "EX", "EAR")

REGIONS: frozenset[str] = frozenset(
    {
        "head",
        "face",
        "neck",
        "shoulder",
        "chest",
        "abdomen",
        "upper_back",
        "lower_back",
        "sacrum",
        "arm",
        "hand",
        "leg",
        "foot",
        "ear",
    }
)

# Channel prefixes found in clinics' notes (CLINICAL.md 7.0), upper-cased, -> WHO prefix.
# Older English texts: LV/LIV, SJ/TB/TW/TH, UB/B, P/PE/CS/MH, K/KID, H/HE/C, DU, REN/RN.
# French: VB (vesicule biliaire), GI (gros intestin) = LI, IG (intestin grele) = SI,
# MC (maitre du coeur) = PC, TR (triple rechauffeur) = TE, RP (rate-pancreas) = SP.
# Single letters that mean different channels in English and French (E, F, R, V, and "P"
# as the French lung) are left out, except "P" which English-speaking clinics use for the
# Pericardium ("P6").
LEGACY_PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        "LV": "LR",
        "LIV": "LR",
        "SJ": "TE",
        "TB": "TE",
        "TW": "TE",
        "TH": "TE",
        "TR": "TE",
        "UB": "BL",
        "B": "BL",
        "P": "PC",
        "PE": "PC",
        "CS": "PC",
        "MH": "PC",
        "MC": "PC",
        "K": "KI",
        "KID": "KI",
        "H": "HT",
        "HE": "HT",
        "C": "HT",
        "DU": "GV",
        "REN": "CV",
        "RN": "CV",
        "VB": "GB",
        "GI": "LI",
        "IG": "SI",
        "RP": "SP",
    }
)

# Extra-point groups in the WHO order: head/neck, chest/abdomen, back, upper and lower limb.
_EX_GROUPS: tuple[str, ...] = ("HN", "CA", "B", "UE", "LE")

_DATA_PACKAGE = "acuhead.domain.tcm"
_DATA_FILE = "data/points.csv"
_COLUMNS: tuple[str, ...] = (
    "code",
    "channel",
    "pinyin",
    "hanzi",
    "region",
    "location",
    "depth",
    "angle",
    "cautions",
    "headache_use",
    "aliases",
    "alt_names",
    "source",
)

# A code after _compact(): letters, a number without leading zeros mattering, optional letter
# suffix (auricular "AH6a"). EX codes compact to "EXHN5".
_CODE_RE = re.compile(r"([A-Z]+)0*(\d+)([A-Z]?)")
_EX_CODE_RE = re.compile(r"EX-([A-Z]+)(\d+)")
_EAR_CODE_RE = re.compile(r"([A-Z]+)(\d+)([a-z]?)")


def _compact(text: str) -> str:
    """Upper-case and drop separators, so "lv-3", "LV 3" and "Lv.3" all read "LV3"."""
    return re.sub(r"[\s\-._/]+", "", text).upper()


def _fold(text: str) -> str:
    """Case-, diacritic- and punctuation-insensitive form of a name ("Zhonglüshu", "Fu'ai")."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", stripped.lower())


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip())


@dataclass(frozen=True, slots=True)
class _Index:
    """Everything derived from the CSV, built once: the points and the input look-up tables."""

    points: Mapping[str, Point]
    by_compact: Mapping[str, str]  # compacted canonical code or alias -> canonical code
    by_name: Mapping[str, tuple[str, ...]]  # folded pinyin / other name -> canonical codes
    alt_names: Mapping[str, tuple[str, ...]]  # canonical code -> other names (for search)


def _legacy_aliases(code: str, channel: str) -> tuple[str, ...]:
    """Legacy spellings of a standard point code, e.g. LR3 -> ("LV3", "LIV3")."""
    number = code[len(channel) :]
    return tuple(f"{old}{number}" for old, new in LEGACY_PREFIXES.items() if new == channel)


def _read_rows() -> list[tuple[int, dict[str, str]]]:
    text = resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    numbered = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if not line.lstrip().startswith("#")
    ]
    numbered = [(n, line) for n, line in numbered if line.strip()]
    reader = csv.reader(line for _, line in numbered)
    header = tuple(next(reader))
    if header != _COLUMNS:
        raise ValueError(f"{_DATA_FILE}: columns {header} != expected {_COLUMNS}")
    rows: list[tuple[int, dict[str, str]]] = []
    for (line_no, _), cells in zip(numbered[1:], reader, strict=True):
        if len(cells) != len(_COLUMNS):
            raise ValueError(
                f"{_DATA_FILE}:{line_no}: {len(cells)} cells, expected {len(_COLUMNS)}"
            )
        rows.append((line_no, dict(zip(_COLUMNS, cells, strict=True))))
    return rows


@functools.cache
def _index() -> _Index:
    """Parse and check the CSV once. Data errors raise ValueError naming the line: they are bugs
    in the shipped file, not user input, so they should fail the test suite loudly."""
    points: dict[str, Point] = {}
    by_compact: dict[str, str] = {}
    names: dict[str, list[str]] = {}
    alt_names: dict[str, tuple[str, ...]] = {}
    for line_no, row in _read_rows():
        where = f"{_DATA_FILE}:{line_no}"
        code, channel, region = row["code"], row["channel"], row["region"]
        if channel not in CHANNEL_ORDER:
            raise ValueError(f"{where}: unknown channel {channel!r}")
        if region not in REGIONS:
            raise ValueError(f"{where}: unknown region {region!r}")
        if code in points:
            raise ValueError(f"{where}: duplicate code {code}")
        try:
            cautions = tuple(Caution(c) for c in _split(row["cautions"]))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        aliases = _split(row["aliases"])
        if channel in CHANNEL_COUNTS:
            aliases += _legacy_aliases(code, channel)
        point = Point(
            code=code,
            pinyin=row["pinyin"],
            hanzi=row["hanzi"],
            channel=channel,
            region=region,
            location=row["location"],
            depth=row["depth"],
            angle=row["angle"],
            cautions=cautions,
            headache_use=row["headache_use"],
            aliases=aliases,
        )
        points[code] = point
        alt_names[code] = _split(row["alt_names"])
        for name in (point.pinyin, *alt_names[code]):
            names.setdefault(_fold(name), []).append(code)

    for code in points:
        by_compact[_compact(code)] = code
    for point in points.values():
        for alias in point.aliases:
            key = _compact(alias)
            if key in by_compact and by_compact[key] != point.code:
                raise ValueError(
                    f"{_DATA_FILE}: alias {alias!r} of {point.code} collides with {by_compact[key]}"
                )
            by_compact[key] = point.code

    return _Index(
        points=MappingProxyType(points),
        by_compact=MappingProxyType(by_compact),
        by_name=MappingProxyType({k: tuple(v) for k, v in names.items()}),
        alt_names=MappingProxyType(alt_names),
    )


def catalogue() -> Mapping[str, Point]:
    """All points keyed by canonical code, in channel order (read-only, loaded once)."""
    return _index().points


def _resolve_code(compact: str) -> str | None:
    """Canonical code for a compacted code-like text, trying legacy prefixes; None if unknown."""
    match = _CODE_RE.fullmatch(compact)
    if match is None:
        return None
    prefix, number, suffix = match.groups()
    by_compact = _index().by_compact
    candidates = [f"{prefix}{number}{suffix}"]
    if prefix in LEGACY_PREFIXES:
        candidates.append(f"{LEGACY_PREFIXES[prefix]}{number}{suffix}")
    for candidate in candidates:
        if candidate in by_compact:
            return by_compact[candidate]
    return None


def normalise_code(text: str) -> str:
    """The canonical code for a code, legacy code, alias or name of a point.

    Accepts any case and separators ("lv-3", "Du 20", "ex-hn-5"), legacy channel prefixes
    (``LEGACY_PREFIXES``), recorded aliases ("GV29" -> "EX-HN3") and names ("Fengchi",
    "fengchi", "Zhonglushu"). A name two points share ("Wangu": SI4 and GB12) is refused with
    both candidates listed, because guessing would silently needle the wrong point.

    Raises ``ValidationError`` with a ``FieldError`` on path ``"code"``.
    """
    stripped = text.strip()
    index = _index()
    code = _resolve_code(_compact(stripped))
    if code is not None:
        return code
    candidates = index.by_name.get(_fold(stripped), ())
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        listed = ", ".join(
            f"{c} ({index.points[c].pinyin} {index.points[c].hanzi})" for c in candidates
        )
        message = f"ambiguous point name '{stripped}': could be {listed}; use the code"
        raise ValidationError(FieldError("code", message))
    raise ValidationError(FieldError("code", f"unknown point '{stripped}'"))


def lookup(text: str) -> Point:
    """The point for any accepted spelling (see ``normalise_code``)."""
    return catalogue()[normalise_code(text)]


def _sort_key(point: Point) -> tuple[int, str, int, str]:
    """Channel order, then group (EX area / auricular area), then number (GB2 < GB10), suffix."""
    channel_rank = CHANNEL_ORDER.index(point.channel)
    if point.channel == "EX":
        ex = _EX_CODE_RE.fullmatch(point.code)
        if ex is None:
            return (channel_rank, "~", 0, point.code)
        group, number = ex.groups()
        group_rank = _EX_GROUPS.index(group) if group in _EX_GROUPS else len(_EX_GROUPS)
        return (channel_rank, f"{group_rank:02d}", int(number), "")
    if point.channel == "EAR":
        # Auricular areas have no agreed order of their own: alphabetical keeps it stable.
        ear = _EAR_CODE_RE.fullmatch(point.code)
        if ear is None:
            return (channel_rank, "~", 0, point.code)
        area, number, suffix = ear.groups()
        return (channel_rank, area, int(number), suffix)
    return (channel_rank, "", int(point.code[len(point.channel) :]), "")


def _channel_filter(channel: str) -> str:
    key = channel.strip().upper()
    key = LEGACY_PREFIXES.get(key, key)
    if key not in CHANNEL_ORDER:
        allowed = ", ".join(CHANNEL_ORDER)
        raise ValidationError(
            FieldError("channel", f"unknown channel '{channel}'; expected one of {allowed}")
        )
    return key


def _region_filter(region: str) -> str:
    key = re.sub(r"[\s\-]+", "_", region.strip().lower())
    if key not in REGIONS:
        allowed = ", ".join(sorted(REGIONS))
        raise ValidationError(
            FieldError("region", f"unknown region '{region}'; expected one of {allowed}")
        )
    return key


def _matches(point: Point, folded: str, alt_names: tuple[str, ...], query: str) -> bool:
    if folded and (
        folded in _fold(point.pinyin)
        or any(folded in _fold(name) for name in alt_names)
        or folded == _fold(point.region)
    ):
        return True
    return bool(query) and query in point.hanzi


def search(
    query: str = "", *, channel: str | None = None, region: str | None = None
) -> list[Point]:
    """Points matching a free-text query, optionally within one channel and/or region.

    The query matches a code or alias exactly (any accepted spelling, e.g. "lv3"), a channel
    ("GB", "LV"), a region ("upper back"), part of a pinyin or other name ignoring case and
    tone marks ("chi" finds Fengchi, Quchi ...), or part of the Chinese name. An empty query
    lists everything the filters allow. Results are in channel order, then point number.

    Unknown channel or region filters raise ``ValidationError`` rather than returning nothing,
    so a typo is not mistaken for "no such points".
    """
    index = _index()
    wanted_channel = _channel_filter(channel) if channel is not None else None
    wanted_region = _region_filter(region) if region is not None else None
    query = query.strip()
    folded = _fold(query)

    exact: str | None = None
    query_channel: str | None = None
    if query:
        compact = _compact(query)
        exact = _resolve_code(compact)
        query_channel = LEGACY_PREFIXES.get(compact, compact)
        if query_channel not in CHANNEL_ORDER:
            query_channel = None

    found: list[Point] = []
    for point in index.points.values():
        if wanted_channel is not None and point.channel != wanted_channel:
            continue
        if wanted_region is not None and point.region != wanted_region:
            continue
        if query and not (
            point.code == exact
            or point.channel == query_channel
            or _matches(point, folded, index.alt_names[point.code], query)
        ):
            continue
        found.append(point)
    return sorted(found, key=_sort_key)
