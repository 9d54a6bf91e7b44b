"""CSV export and import of a patient's diary days and attacks (two files, one table each).

The columns are the diary document's keys (docs/diary-document.md, "CSV"), so a CSV row is
converted to the document's shape and checked by ``document.parse``: one set of rules whatever
the format. A problem is reported by line and column (``line 7, column peak_intensity: must be
at most 10; got 12``), every problem at once, and an import with any problem imports nothing.

Cells: dates and times ISO 8601 (``2026-02-02``, ``2026-02-02T06:30``; a space instead of ``T``
is accepted); booleans ``yes``/``no`` (``true``/``false``, ``1``/``0`` are read too); an empty
cell is "not recorded"; lists joined with ``|``; nested records (``readings``, ``aura``,
``medications``) as ``key=value`` fields joined with ``,`` and records joined with ``|``, where
a literal ``\\``, ``|``, ``,`` or ``=`` in a value is written ``\\\\``, ``\\|``, ``\\,``, ``\\=``.

Spreadsheet quirks tolerated on import: a UTF-8 byte-order mark (or Windows-1252 text that is
not UTF-8), ``;`` or tab instead of ``,`` (detected from the header line), Windows line ends,
decimal commas (``7,5``), upper-case codes (``Left``), blank rows and surrounding spaces.
Export writes UTF-8 without a BOM, ``,``-separated, with CRLF line ends (RFC 4180).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acuhead.errors import FieldError, ValidationError

DAY_COLUMNS = (
    "date",
    "headache",
    "stress",
    "sleep_hours",
    "neck_tension",
    "menstruating",
    "triggers",
    "notes",
)
ATTACK_COLUMNS = (
    "start",
    "end",
    "date",
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
    "restlessness",
    "treated",
    "triggers",
    "warning_signs",
    "cranial_autonomic",
    "readings",
    "aura",
    "medications",
)

_TRUE = frozenset({"yes", "y", "true", "1", "ja", "oui", "si"})
_FALSE = frozenset({"no", "n", "false", "0", "nein", "non"})

# Nested records: field -> kind ("int", "bool", "datetime", "code", "text").
RECORD_FIELDS: Mapping[str, Mapping[str, str]] = {
    "readings": {"at": "datetime", "intensity": "int"},
    "aura": {
        "type": "code",
        "symptom": "text",
        "onset": "datetime",
        "duration_min": "int",
        "gradual_spread": "bool",
        "unilateral": "bool",
        "positive": "bool",
        "headache_within_60_min": "bool",
    },
    "medications": {
        "name": "text",
        "class": "code",
        "taken_at": "datetime",
        "dose": "text",
        "effect": "code",
    },
}
COLUMN_KINDS: Mapping[str, str] = {
    "date": "date",
    "headache": "bool",
    "stress": "int",
    "sleep_hours": "float",
    "neck_tension": "int",
    "menstruating": "bool",
    "notes": "text",
    "triggers": "list",
    "start": "datetime",
    "end": "datetime",
    "duration_min": "int",
    "peak_intensity": "int",
    "side": "code",
    "locations": "codes",
    "quality": "codes",
    "aggravated_by_activity": "bool",
    "nausea": "code",
    "vomiting": "bool",
    "photophobia": "bool",
    "phonophobia": "bool",
    "osmophobia": "bool",
    "restlessness": "bool",
    "treated": "bool",
    "warning_signs": "list",
    "cranial_autonomic": "list",
    "readings": "records",
    "aura": "records",
    "medications": "records",
}


# ---- cells --------------------------------------------------------------------------------


class CellError(ValueError):
    pass


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise CellError(f"must be yes or no; got {text!r}")


def _int(text: str) -> int:
    t = text.strip().replace(",", ".")
    try:
        value = float(t)
    except ValueError:
        raise CellError(f"must be a whole number; got {text!r}") from None
    if not value.is_integer():
        raise CellError(f"must be a whole number; got {text!r}")
    return int(value)


def _float(text: str) -> float:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise CellError(f"must be a number; got {text!r}") from None


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise CellError(f"must be a date like 2026-02-02 (ISO 8601); got {text!r}") from None


def _datetime(text: str) -> str:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CellError(
            f"must be a date-time like 2026-02-02T06:30 (ISO 8601); got {text!r}"
        ) from None
    return value.isoformat(timespec="seconds")


def _list(text: str) -> list[str]:
    return [_unescape(x).strip() for x in _split(text, "|") if x.strip()]


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` except where it is escaped with a backslash; unescape the parts."""
    parts: list[str] = []
    buf: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            buf.append("\\" + nxt)
        elif ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _escape(text: str) -> str:
    return re.sub(r"([\\|,=])", r"\\\1", text)


def _records(column: str, text: str) -> list[dict[str, Any]]:
    kinds = RECORD_FIELDS[column]
    out: list[dict[str, Any]] = []
    for n, raw in enumerate(_split(text, "|"), start=1):
        if not raw.strip():
            continue
        record: dict[str, Any] = {}
        for pair in _split(raw, ","):
            if not pair.strip():
                continue
            key_value = _split(pair, "=")
            if len(key_value) != 2:
                raise CellError(f"item {n}: expected key=value; got {_unescape(pair).strip()!r}")
            key = _unescape(key_value[0]).strip().lower()
            value = _unescape(key_value[1]).strip()
            if key not in kinds:
                raise CellError(f"item {n}: unknown field {key!r}; expected {', '.join(kinds)}")
            if value == "":
                continue
            try:
                record[key] = _convert(kinds[key], value)
            except CellError as exc:
                raise CellError(f"item {n}, {key}: {exc}") from None
        out.append(record)
    return out


def _convert(kind: str, text: str) -> Any:
    if kind == "bool":
        return _bool(text)
    if kind == "int":
        return _int(text)
    if kind == "float":
        return _float(text)
    if kind == "date":
        return _date(text)
    if kind == "datetime":
        return _datetime(text)
    if kind == "code":
        return text.strip().lower()
    if kind == "codes":
        return [x.lower() for x in _list(text)]
    if kind == "list":
        return _list(text)
    return text


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _cell(kind: str, value: Any, column: str) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return _yes_no(value)
    if kind in ("list", "codes"):
        return "|".join(_escape(str(x)) for x in value)
    if kind == "records":
        kinds = RECORD_FIELDS[column]
        items = []
        for record in value:
            fields = []
            for key, k in kinds.items():
                if record.get(key) is None or record.get(key) == "":
                    continue
                v = record[key]
                fields.append(f"{key}={_escape(_yes_no(v) if k == 'bool' else str(v))}")
            items.append(",".join(fields))
        return "|".join(items)
    return str(value)


# ---- export -------------------------------------------------------------------------------


# OWASP "CSV Injection": a spreadsheet runs a cell that begins with one of these as a formula
# (=HYPERLINK(...) in a note). Such a text cell is written with a single quote in front, which
# the spreadsheet shows as text; import takes the quote off again. Numbers, dates and codes
# never begin with one (no negative values in these files), so only text cells are touched.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_KINDS = frozenset({"text", "list", "codes", "records"})


def neutralise(cell: str) -> str:
    """A text cell as exported: ``'`` before a leading ``= + - @``, tab or carriage return, and
    before a leading ``'`` too, so that :func:`restore` gives back exactly what was stored."""
    if cell.startswith((*FORMULA_START, "'")):
        return "'" + cell
    return cell


def restore(cell: str) -> str:
    """The inverse of :func:`neutralise` on import: one leading ``'`` before a formula start
    (or before another quote) is taken off."""
    if cell.startswith("'") and cell[1:].startswith((*FORMULA_START, "'")):
        return cell[1:]
    return cell


def _write(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for row in rows:
        w.writerow(
            [
                neutralise(cell) if COLUMN_KINDS[c] in TEXT_KINDS else cell
                for c in columns
                for cell in (_cell(COLUMN_KINDS[c], row.get(c), c),)
            ]
        )
    return buf.getvalue()


def days_to_csv(days: Sequence[Mapping[str, Any]]) -> str:
    """The ``days`` of a diary document as CSV text."""
    return _write(DAY_COLUMNS, days)


def attacks_to_csv(attacks: Sequence[Mapping[str, Any]]) -> str:
    """The ``attacks`` of a diary document as CSV text."""
    return _write(ATTACK_COLUMNS, attacks)


# ---- import -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvTable:
    kind: str  # "days" | "attacks"
    columns: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line number, cells)


def decode(data: bytes | str) -> str:
    """Text from a file's bytes: UTF-8 (BOM or not), else Windows-1252 as Excel writes it."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_columns(line: str, sep: str) -> list[str]:
    row = next(csv.reader([line], delimiter=sep), [])
    return [c.strip().lower().removeprefix("\ufeff") for c in row]


def read_table(data: bytes | str) -> CsvTable:
    """Read the header and rows; detect the separator and whether it holds days or attacks."""
    text = decode(data)
    first = text.splitlines()[0] if text.strip() else ""
    line = 1
    hint = re.fullmatch(r"\s*sep=(.)\s*", first)  # Excel's "sep=;" first line
    if hint:
        sep = hint.group(1)
        text = text.split("\n", 1)[1] if "\n" in text else ""
        line = 2
    else:
        known = set(DAY_COLUMNS) | set(ATTACK_COLUMNS)
        sep = max(
            (",", ";", "\t"), key=lambda s: sum(c in known for c in _header_columns(first, s))
        )
    offset = line - 1
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] | None = None
    rows: list[tuple[int, tuple[str, ...]]] = []
    for cells in reader:
        if header is None:
            header = [c.strip().lower() for c in cells]
        elif any(c.strip() for c in cells):
            rows.append((line, tuple(cells)))
        line = reader.line_num + 1 + offset
    if not header or not any(header):
        raise ValidationError(
            FieldError(f"line {offset + 1}", "the file is empty; expected a header row")
        )
    allowed: tuple[str, ...]
    if "headache" in header:
        kind, allowed = "days", DAY_COLUMNS
    elif "start" in header or "peak_intensity" in header:
        kind, allowed = "attacks", ATTACK_COLUMNS
    else:
        raise ValidationError(
            FieldError(
                f"line {offset + 1}",
                "not a diary CSV: a days file has the columns "
                f"{', '.join(DAY_COLUMNS)}; an attacks file {', '.join(ATTACK_COLUMNS)}",
            )
        )
    errors = [
        FieldError(f"line {offset + 1}, column {c or '(empty)'}", f"is not a {kind} column")
        for c in header
        if c not in allowed
    ]
    repeated = sorted({c for c in header if header.count(c) > 1})
    errors += [
        FieldError(f"line {offset + 1}, column {c}", "appears more than once") for c in repeated
    ]
    if errors:
        raise ValidationError(errors)
    return CsvTable(kind, tuple(header), tuple(rows))


@dataclass(frozen=True, slots=True)
class CsvDocument:
    kind: str
    rows: int
    document: Any  # interop.document.DiaryDocument


def parse(
    data: bytes | str, *, patient: Mapping[str, Any], today: dt.date | None = None
) -> CsvDocument:
    """Read a days or attacks CSV into a diary document for ``patient`` (its document block).

    Raises ValidationError with every problem located as ``line N, column C``.
    """
    from acuhead.interop import document

    table = read_table(data)
    errors: list[FieldError] = []
    items: list[dict[str, Any]] = []
    lines: list[int] = []
    bad_cells: set[tuple[int, str]] = set()
    for line, cells in table.rows:
        if len(cells) > len(table.columns):
            errors.append(
                FieldError(
                    f"line {line}",
                    f"has {len(cells)} cells but the header has {len(table.columns)} columns",
                )
            )
            continue
        item: dict[str, Any] = {}
        for column, raw in zip(table.columns, cells, strict=False):
            if not raw.strip():
                continue
            kind = COLUMN_KINDS[column]
            text = restore(raw) if kind in TEXT_KINDS else raw
            try:
                item[column] = _records(column, text) if kind == "records" else _convert(kind, text)
            except CellError as exc:
                errors.append(FieldError(f"line {line}, column {column}", str(exc)))
                bad_cells.add((line, column))
        items.append(item)
        lines.append(line)
    doc = {"format": document.FORMAT, "patient": dict(patient), table.kind: items}
    try:
        parsed = document.parse(doc, today=today)
    except ValidationError as exc:
        for e in exc.errors:
            located = _locate(e, table.kind, lines)
            if located is None:
                errors.append(e)
                continue
            line, column, where = located
            if (line, column) in bad_cells:
                continue  # already reported from the cell itself
            message = re.sub(
                rf"{table.kind}\[(\d+)\]",
                lambda m: f"line {lines[int(m.group(1))]}",
                e.message,
            )
            errors.append(FieldError(f"line {line}, column {column}{where}", message))
    if errors:
        errors.sort(key=_line_of)
        raise ValidationError(errors)
    return CsvDocument(table.kind, len(items), parsed)


def _line_of(e: FieldError) -> tuple[int, str]:
    m = re.match(r"line (\d+)", e.path)
    return (int(m.group(1)) if m else 0, e.path)


_PATH = re.compile(r"^(days|attacks)\[(\d+)\]\.?([a-z_]*)(?:\[(\d+)\])?\.?(.*)$")


def _locate(e: FieldError, kind: str, lines: Sequence[int]) -> tuple[int, str, str] | None:
    """A document path as (line, column, detail): ``attacks[2].aura[0].duration_min`` ->
    (line of row 2, "aura", " (item 1, duration_min)")."""
    m = _PATH.match(e.path)
    if m is None or m.group(1) != kind or int(m.group(2)) >= len(lines):
        return None
    line = lines[int(m.group(2))]
    column = m.group(3) or ("start" if kind == "attacks" else "date")
    detail = ""
    if m.group(4) is not None:
        detail = f" (item {int(m.group(4)) + 1}" + (f", {m.group(5)})" if m.group(5) else ")")
    return line, column, detail
