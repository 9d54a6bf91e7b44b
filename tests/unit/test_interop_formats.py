"""The pure parts of the interop formats: FHIR extensions and ids, CSV cells and files, the
research export's pseudonyms, date shifts and age bands."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from acuhead.errors import ValidationError
from acuhead.interop import csv_io, fhir, research

# ---- FHIR ---------------------------------------------------------------------------------


def test_extension_encoding_round_trips_nested_values_and_drops_empties() -> None:
    value = {
        "style": "tcm",
        "needle_count": 7,
        "references": ["a", "b"],
        "response_obtained": ["deqi"],
        "stimulation": {"method": "electro", "frequency_hz": [2, 100.5], "waveform": ""},
        "co_interventions": [{"type": "heat", "detail": "lamp"}],
        "needle": None,
        "rationale": "",
    }
    (ext,) = fhir.encode_extension("urn:x", value)
    assert ext["url"] == "urn:x"
    assert {"url": "needle_count", "valueInteger": 7} in ext["extension"]
    assert [e["url"] for e in ext["extension"]].count("references") == 2
    assert fhir.decode_extension(ext["extension"]) == {
        "style": "tcm",
        "needle_count": 7,
        "references": ["a", "b"],
        "response_obtained": ["deqi"],
        "stimulation": {"method": "electro", "frequency_hz": [2, 100.5]},
        "co_interventions": [{"type": "heat", "detail": "lamp"}],
    }


def test_resource_ids_are_deterministic_uuids_per_patient_and_key() -> None:
    a = fhir.resource_id("P-1", "attack/2025-03-02T06:30:00")
    assert a == fhir.resource_id("P-1", "attack/2025-03-02T06:30:00")
    assert a != fhir.resource_id("P-2", "attack/2025-03-02T06:30:00")
    assert a != fhir.resource_id("P-1", "attack/2025-03-02T06:31:00")
    assert len(a) == 36 and a[14] == "5"  # a version-5 UUID


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "identifier": [{"system": fhir.PATIENT_ID_SYSTEM, "value": "P-1"}],
        "extension": [{"url": fhir.EXT + "timezone", "valueString": "Europe/Berlin"}],
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:p", "resource": patient}]
        + [{"resource": r} for r in resources],
    }


def _day(code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": fhir.CODES, "code": code}]},
        "subject": {"reference": "urn:uuid:p"},
        "effectiveDateTime": "2025-03-02",
        **value,
    }


def test_a_minimal_foreign_bundle_reads_into_a_diary_document() -> None:
    found = fhir.from_bundle(
        _bundle(
            _day("headache-day", valueBoolean=True),
            _day("stress", valueQuantity={"value": 6}),
        )
    )
    doc = found.document
    assert doc.external_id == "P-1" and doc.diary.patient.timezone == "Europe/Berlin"
    (day,) = doc.diary.days
    assert (day.date, day.headache, day.stress) == (dt.date(2025, 3, 2), True, 6)


@pytest.mark.parametrize(
    ("bundle", "path", "words"),
    [
        ({"resourceType": "Patient"}, "Bundle", "expected a FHIR Bundle"),
        ({"resourceType": "Bundle", "type": "batch", "entry": []}, "Bundle.type", "collection"),
        (_bundle(_day("mood", valueBoolean=True)), "entry[1] Observation.code", "mood"),
        (_bundle(_day("stress", valueQuantity={"value": 11})),
         "entry[1] Observation.valueQuantity.value", "at most 10"),
        (_bundle(_day("stress", valueQuantity={"value": 1}, colour="red")),
         "entry[1] Observation.colour", "not a FHIR R4 element"),
        (_bundle({**_day("stress", valueQuantity={"value": 1}), "subject": {"reference": "x"}}),
         "entry[1] Observation.subject", "must reference a Patient"),
        (_bundle(_day("stress", valueQuantity={"value": 1})),
         "Bundle (a headache-day Observation for 2025-03-02)", "is required"),
    ],
)  # fmt: skip
def test_bundle_problems_are_located(bundle: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        fhir.from_bundle(bundle)
    hits = [e for e in caught.value.errors if e.path == path]
    assert hits, [str(e) for e in caught.value.errors]
    assert words in hits[0].message


def test_snomed_codes_are_only_the_certain_ones() -> None:
    assert fhir.SNOMED_FOR_ICHD3["1.1"][0] == "56097005"
    assert fhir.SNOMED_FOR_ICHD3["1.2"][0] == "4473006"
    assert fhir.SNOMED_FOR_ICHD3["1.3"][0] == "37796009"  # parent: chronic migraine unverified
    assert "3.1" not in fhir.SNOMED_FOR_ICHD3 and "8.2" not in fhir.SNOMED_FOR_ICHD3


# ---- CSV ----------------------------------------------------------------------------------


def test_cells_read_spreadsheet_spellings() -> None:
    assert csv_io._convert("bool", " YES ") is True and csv_io._convert("bool", "0") is False
    assert csv_io._convert("float", "7,5") == 7.5
    assert csv_io._convert("int", "7.0") == 7
    assert csv_io._convert("datetime", "2025-03-02 06:30") == "2025-03-02T06:30:00"
    assert csv_io._convert("codes", "Temporal | ORBITAL") == ["temporal", "orbital"]
    for kind, text in (("bool", "maybe"), ("int", "7.5"), ("date", "02/03/2025")):
        with pytest.raises(csv_io.CellError):
            csv_io._convert(kind, text)


def test_nested_records_escape_their_separators() -> None:
    meds = [
        {"name": "a|b, c=d \\ e", "class": "other", "dose": "1,5 mg"},
        {"name": "x", "class": "nsaid", "effect": "good"},
    ]
    cell = csv_io._cell("records", meds, "medications")
    assert csv_io._records("medications", cell) == meds
    with pytest.raises(csv_io.CellError, match="item 1: unknown field 'colour'"):
        csv_io._records("medications", "colour=red")


def test_the_separator_bom_and_excel_hint_are_understood() -> None:
    for text in (
        "\ufeffdate;headache\r\n2025-03-01;yes\r\n",
        "date\theadache\n2025-03-01\tyes\n",
        "sep=;\ndate;headache\n2025-03-01;yes\n",
        "date,headache\r\n2025-03-01,yes\r\n",
    ):
        table = csv_io.read_table(text.encode())
        assert table.kind == "days" and table.columns == ("date", "headache")
        ((line, cells),) = table.rows
        assert cells == ("2025-03-01", "yes")
        assert line == (3 if text.startswith("sep=") else 2)


def test_line_numbers_count_physical_lines_across_quoted_newlines() -> None:
    text = 'date,headache,notes\n2025-03-01,yes,"two\nlines"\n\n2025-03-02,maybe,\n'
    patient = {"external_id": "P", "timezone": "UTC"}
    with pytest.raises(ValidationError) as caught:
        csv_io.parse(text, patient=patient)
    assert [str(e) for e in caught.value.errors] == [
        "line 5, column headache: must be yes or no; got 'maybe'"
    ]


def test_windows_1252_text_is_read() -> None:
    data = "date,headache,notes\n2025-03-01,yes,Kopfschmerz nach Café\n".encode("cp1252")
    patient = {"external_id": "P", "timezone": "UTC"}
    found = csv_io.parse(data, patient=patient, today=dt.date(2025, 4, 1))
    assert found.document.diary.days[0].notes == "Kopfschmerz nach Café"


# ---- research ------------------------------------------------------------------------------


def test_pseudonyms_are_keyed_per_clinic_and_stable() -> None:
    k1, k2 = research.clinic_key("s" * 40, 1), research.clinic_key("s" * 40, 2)
    assert research.pseudonym(k1, 7) == research.pseudonym(k1, 7)
    assert research.pseudonym(k1, 7) != research.pseudonym(k2, 7)
    assert research.pseudonym(k1, 7) != research.pseudonym(k1, 8)
    assert research.clinic_key("t" * 40, 1) != k1
    assert research.site_code("s" * 40, 1) != research.site_code("s" * 40, 2)


def test_date_shifts_are_whole_weeks_never_zero_and_spread() -> None:
    key = research.clinic_key("s" * 40, 1)
    shifts = [research.shift_days(key, pid) for pid in range(1, 400)]
    assert all(s != 0 and s % 7 == 0 and abs(s) <= 182 for s in shifts)
    assert min(shifts) < 0 < max(shifts)
    assert len(set(shifts)) > 30


@pytest.mark.parametrize(
    ("age", "band"),
    [(None, None), (17, "<18"), (18, "18-29"), (29, "18-29"), (30, "30-39"), (69, "60-69"),
     (70, "70+"), (101, "70+")],
)  # fmt: skip
def test_age_bands(age: int | None, band: str | None) -> None:
    assert research.age_band(age) == band


def test_consent_scope_is_matched_as_a_word() -> None:
    assert research.consent_covers("research")
    assert research.consent_covers("Registry, Research")
    assert not research.consent_covers("registry")
    assert not research.consent_covers("no-research-please")


def test_the_allow_list_refuses_other_columns() -> None:
    with pytest.raises(ValueError, match="not on the allow-list"):
        research.check_allowed({"patients": [{"patient": "x", "name": "Ottilie"}]})
    with pytest.raises(ValueError, match="table 'notes'"):
        research.check_allowed({"notes": []})
