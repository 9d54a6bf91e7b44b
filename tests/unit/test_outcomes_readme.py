"""README "Outcomes JSON" against the JSON Schema of the typed results (issue 16).

The README is the contract people read; the models (acuhead.analytics.results) are what the
API and the CLI write. Every key the README names must be a field of the model, and every
field of the model must be named in the README, so neither can drift from the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acuhead.analytics.results import Change, PatientOutcomes, PrimaryChange, Window
from acuhead.domain.instruments import REGISTRY
from acuhead.domain.outcomes import MECHANISM_MEASURES, RESPONDER_THRESHOLDS

README = Path(__file__).resolve().parents[2] / "README.md"
TICKED = re.compile(r"`([^`]+)`")


def section() -> str:
    text = README.read_text("utf-8")
    start = text.index("## Outcomes JSON")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else len(text)]  # the last section runs to the end
    return re.sub(r"```.*?```", "", body, flags=re.S)  # commands, not keys


def per_patient_rows() -> dict[str, str]:
    """The per-patient table: first-column keys -> the meaning column."""
    block = section().split("**Per patient**", 1)[1].split("\n\n", 2)[1]
    rows: dict[str, str] = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        for key in TICKED.findall(cells[0]):
            rows[key] = "|".join(cells[1:])
    return rows


def paragraph(starts: str) -> str:
    text = section()
    start = text.index(starts)
    end = text.find("\n\n", start)
    return text[start : end if end >= 0 else None]


def schema() -> dict[str, Any]:
    return PatientOutcomes.model_json_schema(mode="serialization")


def resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    return node


def walk(
    node: dict[str, Any], defs: dict[str, Any], seen: frozenset[str] = frozenset()
) -> Iterator[tuple[str, Any]]:
    """("property", name) and ("enum", value) for everything below ``node``."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        seen = seen | {name}
    node = resolve(node, defs)
    for name, sub in node.get("properties", {}).items():
        yield "property", name
        yield from walk(sub, defs, seen)
    for value in node.get("enum", []):
        yield "enum", value
    if "const" in node:
        yield "enum", node["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            yield from walk(sub, defs, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from walk(node[key], defs, seen)


def test_every_top_level_key_is_documented_and_exists() -> None:
    documented = set(per_patient_rows())
    fields = set(schema()["properties"])
    assert documented == fields, (
        f"in the README only: {sorted(documented - fields)}; "
        f"in the model only: {sorted(fields - documented)}"
    )


def window_keys() -> set[str]:
    text = paragraph("A **window**")
    after = text.split(":", 1)[1]  # past "(`baseline`, each of `blocks`):"
    return set(TICKED.findall(after))


def test_window_keys_match_the_model() -> None:
    fields = set(Window.model_json_schema(mode="serialization")["properties"])
    assert window_keys() == fields


def test_change_keys_match_the_model() -> None:
    text = paragraph("**Change keys**")
    documented = set(TICKED.findall(text)) - {"*_per_28"}
    documented |= {k for k in window_keys() if k.endswith("_per_28")}
    assert documented == set(Change.model_json_schema(mode="serialization")["properties"])
    primary = set(PrimaryChange.model_json_schema(mode="serialization")["properties"])
    row = set(TICKED.findall(per_patient_rows()["change"]))
    assert primary == documented | row, "the primary change: the change keys and its own"


# Names the README mentions in a row that are values or keys chosen by the domain (instrument
# ids, diary measures, responder thresholds), not fields of a model.
DOMAIN_NAMES: dict[str, set[str]] = {
    "questionnaires": {s.id for s in REGISTRY},
    "mechanisms": set(MECHANISM_MEASURES),
    "responder": {str(t) for t in RESPONDER_THRESHOLDS},
}


@pytest.mark.parametrize(
    "key",
    [
        "config",
        "sessions",
        "responder",
        "responder_basis",
        "questionnaires",
        "session_relief",
        "mechanisms",
        "triggers",
    ],
)
def test_nested_keys_of_each_row_match_the_model(key: str) -> None:
    """Each row's sub-keys: a field the README leaves out, or one it names that the model does
    not have (nor the domain as a value: a verdict, an instrument id), fails."""
    full = schema()
    defs = full.get("$defs", {})
    found = list(walk(full["properties"][key], defs))
    properties = {v for kind, v in found if kind == "property"}
    values = {str(v) for kind, v in found if kind == "enum"}
    documented = {t.strip('"') for t in TICKED.findall(per_patient_rows()[key])}
    documented -= {"null", "true", "false"}
    # A row may point at another top-level key ("what `responder` was computed on").
    allowed = properties | values | DOMAIN_NAMES.get(key, set()) | set(full["properties"])
    # The questionnaire entries sit beside `note` under their instrument's id.
    assert documented <= allowed, f"README names what the model lacks: {documented - allowed}"
    missing = properties - documented
    if key == "questionnaires":
        missing -= {"date", "total", "band"} - documented  # named once, for `first`/`latest`
    assert not missing, f"fields the README does not document: {sorted(missing)}"


def test_practice_report_keys_match_the_model() -> None:
    """The practice report paragraph: every field (at any depth) is named, and every name is
    a field, a value the model can hold, or a domain key (instrument id, threshold)."""
    from acuhead.analytics.results import PracticeReport

    full = PracticeReport.model_json_schema(mode="serialization")
    defs = full.get("$defs", {})
    found = list(walk(full, defs))
    properties = {v for kind, v in found if kind == "property"}
    values = {str(v) for kind, v in found if kind == "enum"}
    documented = {t.strip('"') for t in TICKED.findall(paragraph("**Practice report**"))}
    documented -= {"acuhead report"}
    domain = DOMAIN_NAMES["questionnaires"] | DOMAIN_NAMES["responder"]
    assert documented <= properties | values | domain, documented - properties - values - domain
    assert set(full["properties"]) <= documented
    # `config` and `not_measurable` are described once, with the per-patient outcomes.
    anywhere = {t.strip('"') for t in TICKED.findall(section())}
    missing = properties - anywhere
    assert not missing, f"fields the README does not document: {sorted(missing)}"
