"""De-identified research export: Parquet tables a research team can pool across clinics.

What leaves the clinic is decided by an allow-list (``schemas()``: table -> columns and types);
a row with any other key is refused before anything is written. Nothing else is transformed
silently:

* **Patient ids** are pseudonyms: ``HMAC-SHA256(clinic_key, "patient|<id>")``, 32 hex digits.
  ``clinic_key = HMAC-SHA256(ACUHEAD_SECRET_KEY, "acuhead-research-v1|clinic|<clinic id>")``,
  so the same patient keeps the same pseudonym across exports of one clinic, pseudonyms of two
  clinics cannot be linked, and nobody without the server's secret can recompute them. The
  clinic itself appears as ``site`` (``HMAC-SHA256(secret, "acuhead-research-v1|site|<id>")``,
  12 hex digits).
* **Dates** are shifted per patient by a keyed offset of whole weeks, 1 to 26 weeks either way
  (``HMAC-SHA256(clinic_key, "shift|<id>")``): the same for every date and time of one patient
  (intervals and weekdays survive), different between patients, never zero.
* **Age** is given as a band (``<18``, ``18-29``, ``30-39`` ... ``60-69``, ``70+``) at the
  patient's first recorded diary day; the birth date never leaves.
* **Free text is dropped**: names, e-mail, external ids, notes, aura symptom text, medication
  names and doses, adverse-event actions and notes, session rationale, practitioner and setting,
  regimen names; triggers are kept only when they are from the curated list.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

FORMAT = "acuhead.research/1"
_CONTEXT = "acuhead-research-v1"
MAX_SHIFT_WEEKS = 26
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 17, "<18"),
    (18, 29, "18-29"),
    (30, 39, "30-39"),
    (40, 49, "40-49"),
    (50, 59, "50-59"),
    (60, 69, "60-69"),
    (70, None, "70+"),
)


def _mac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def clinic_key(secret_key: str, clinic_id: int) -> bytes:
    """The clinic's research key, derived from the server secret and the clinic id."""
    return _mac(secret_key.encode("utf-8"), f"{_CONTEXT}|clinic|{clinic_id}")


def site_code(secret_key: str, clinic_id: int) -> str:
    return _mac(secret_key.encode("utf-8"), f"{_CONTEXT}|site|{clinic_id}").hex()[:12]


def pseudonym(key: bytes, patient_id: int) -> str:
    return _mac(key, f"patient|{patient_id}").hex()[:32]


def shift_days(key: bytes, patient_id: int) -> int:
    """The patient's date offset: +-1 to +-26 whole weeks, never 0."""
    n = int.from_bytes(_mac(key, f"shift|{patient_id}")[:8], "big")
    weeks = n % MAX_SHIFT_WEEKS + 1
    sign = -1 if (n >> 32) % 2 else 1
    return sign * 7 * weeks


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    for lo, hi, label in AGE_BANDS:
        if age >= lo and (hi is None or age <= hi):
            return label
    return None


def consent_covers(scope: str, wanted: str = "research") -> bool:
    """Whether a consent's scope text names ``wanted`` as a word (``"research, registry"``)."""
    return wanted.lower() in {w for w in re.split(r"[\s,;|]+", scope.lower()) if w}


@cache
def schemas() -> Mapping[str, Any]:
    """The allow-list: every table and column that may be written, with its Arrow type."""
    import pyarrow as pa

    patient = ("patient", pa.string())
    return {
        "patients": pa.schema(
            [patient, ("site", pa.string()), ("sex", pa.string()), ("age_band", pa.string())]
        ),
        "days": pa.schema(
            [
                patient,
                ("date", pa.date32()),
                ("headache", pa.bool_()),
                ("stress", pa.int32()),
                ("sleep_hours", pa.float64()),
                ("neck_tension", pa.int32()),
                ("menstruating", pa.bool_()),
                ("triggers", pa.list_(pa.string())),
                ("migraine_day", pa.bool_()),
                ("headache_day", pa.bool_()),
                ("acute_medication_day", pa.bool_()),
            ]
        ),
        "attacks": pa.schema(
            [
                patient,
                ("attack", pa.int32()),
                ("start", pa.timestamp("s")),
                ("end", pa.timestamp("s")),
                ("duration_min", pa.int32()),
                ("peak_intensity", pa.int32()),
                ("ichd3_code", pa.string()),
                ("side", pa.string()),
                ("locations", pa.list_(pa.string())),
                ("quality", pa.list_(pa.string())),
                ("aggravated_by_activity", pa.bool_()),
                ("nausea", pa.string()),
                ("vomiting", pa.bool_()),
                ("photophobia", pa.bool_()),
                ("phonophobia", pa.bool_()),
                ("osmophobia", pa.bool_()),
                ("aura_types", pa.list_(pa.string())),
                ("restlessness", pa.bool_()),
                ("treated", pa.bool_()),
                ("triggers", pa.list_(pa.string())),
            ]
        ),
        "medications": pa.schema(
            [
                patient,
                ("attack", pa.int32()),
                ("taken", pa.timestamp("s")),
                ("class", pa.string()),
                ("effect", pa.string()),
            ]
        ),
        "regimens": pa.schema(
            [patient, ("kind", pa.string()), ("start", pa.date32()), ("stop", pa.date32())]
        ),
        "sessions": pa.schema(
            [
                patient,
                ("session", pa.int32()),
                ("start", pa.timestamp("s")),
                ("style", pa.string()),
                ("points", pa.list_(pa.string())),
                ("needle_count", pa.int32()),
                ("retention_min", pa.int32()),
                ("stimulation", pa.string()),
                ("frequency_hz", pa.list_(pa.float64())),
                ("pain_before", pa.int32()),
                ("pain_after", pa.int32()),
                ("adverse_events", pa.int32()),
            ]
        ),
        "adverse_events": pa.schema(
            [
                patient,
                ("session", pa.int32()),
                ("type", pa.string()),
                ("severity", pa.string()),
                ("serious", pa.bool_()),
                ("hospitalised", pa.bool_()),
            ]
        ),
        "questionnaires": pa.schema(
            [
                patient,
                ("instrument", pa.string()),
                ("completed_on", pa.date32()),
                ("total", pa.float64()),
                ("band", pa.string()),
            ]
        ),
        "diagnoses": pa.schema([patient, ("code", pa.string()), ("status", pa.string())]),
    }


def check_allowed(tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Refuse any table or column outside the allow-list (a programming error, never data)."""
    allowed = schemas()
    for name, rows in tables.items():
        if name not in allowed:
            raise ValueError(f"table {name!r} is not on the research allow-list")
        columns = set(allowed[name].names)
        for row in rows:
            extra = set(row) - columns
            if extra:
                raise ValueError(f"{name}: columns {sorted(extra)} are not on the allow-list")


def write_tables(
    out_dir: Path, tables: Mapping[str, Sequence[Mapping[str, Any]]], *, site: str
) -> dict[str, int]:
    """Write one Parquet file per allow-listed table (empty ones too) and a manifest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_allowed(tables)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, schema in schemas().items():
        rows = list(tables.get(name, ()))
        table = pa.Table.from_pylist(rows, schema=schema)
        pq.write_table(table, out_dir / f"{name}.parquet")
        counts[name] = len(rows)
    manifest = {
        "format": FORMAT,
        "site": site,
        "tables": {n: {"rows": counts[n], "columns": list(s.names)} for n, s in schemas().items()},
        "pseudonyms": "HMAC-SHA256 with a per-clinic key derived from the server secret",
        "dates": f"shifted per patient by 1-{MAX_SHIFT_WEEKS} whole weeks either way",
        "ages": "banded at the first recorded diary day",
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return counts
