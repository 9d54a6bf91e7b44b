"""FHIR R4 export and import of a patient on both engines: round trip, codes, refusals, access."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.errors import ValidationError
from acuhead.interop import fhir
from acuhead.services import accounts, interop
from acuhead.services.actors import Actor
from acuhead.store.contacts import contact_of
from acuhead.store.db import Database
from acuhead.store.models import Patient

from .factories import World
from .records import NOTE, clinic_health_rows, load_rich


def _two_clinics(db: Database) -> tuple[int, int]:
    with db.write() as s:
        return accounts.create_clinic(s, name="X").id, accounts.create_clinic(s, name="Y").id


def _export(db: Database, clinic: int, pid: int) -> dict[str, Any]:
    with db.write() as s:
        return interop.export_fhir(s, actor=Actor.system(clinic), patient_id=pid)


def _import(db: Database, clinic: int, bundle: Any, pid: int | None = None) -> int:
    with db.write() as s:
        patient, _ = interop.import_fhir(
            s, actor=Actor.system(clinic), bundle=bundle, patient_id=pid
        )
        return patient.id


def _entries(bundle: dict[str, Any], rtype: str) -> list[tuple[int, dict[str, Any]]]:
    return [
        (i, e["resource"])
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == rtype
    ]


def _local_code(resource: dict[str, Any]) -> str | None:
    return fhir._first_code(resource.get("code"), fhir.CODES)


@pytest.fixture
def exported(db: Database) -> tuple[int, int, int, dict[str, Any]]:
    x, y = _two_clinics(db)
    pid = load_rich(db, x)
    return x, y, pid, _export(db, x, pid)


def test_export_import_export_gives_the_same_bundle(
    db: Database, exported: tuple[int, int, int, dict[str, Any]]
) -> None:
    x, y, pid, first = exported
    # into another clinic (a new patient there) and back out: byte-for-byte the same JSON
    other = _import(db, y, json.loads(json.dumps(first)))
    second = _export(db, y, other)
    assert json.dumps(second, sort_keys=True) == json.dumps(first, sort_keys=True)
    # and again into the same patient: an import merges, nothing is duplicated
    _import(db, x, first, pid)
    assert _export(db, x, pid) == first


def test_bundle_carries_the_documented_codes(
    exported: tuple[int, int, int, dict[str, Any]],
) -> None:
    *_, bundle = exported
    assert bundle["type"] == "collection"
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)  # the R4B model accepts what we wrote
    ((_, patient),) = _entries(bundle, "Patient")
    assert patient["identifier"] == [{"system": fhir.PATIENT_ID_SYSTEM, "value": "EXT-7731-ZETA"}]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1986-09-14")

    observations = [r for _, r in _entries(bundle, "Observation")]
    attacks = [r for r in observations if _local_code(r) == "attack-peak-pain"]
    assert len(attacks) == 4
    first = attacks[0]
    assert {"system": fhir.LOINC, "code": "72514-3"}.items() <= first["code"]["coding"][0].items()
    assert first["valueQuantity"]["value"] == 7
    assert first["effectivePeriod"]["start"] == "2025-03-02T06:30:00+01:00"
    sides = [c for c in first["component"] if fhir._first_code(c["code"], fhir.CODES) == "side"]
    assert sides[0]["valueCodeableConcept"]["coding"][0]["code"] == "left"
    by_code = {(_local_code(r), r["effectiveDateTime"]): r for r in observations
               if "effectiveDateTime" in r}  # fmt: skip
    assert by_code["stress", "2025-03-02"]["valueQuantity"]["value"] == 7
    assert by_code["sleep-hours", "2025-03-02"]["valueQuantity"]["code"] == "h"
    assert by_code["headache-day", "2025-03-03"]["valueBoolean"] is False
    assert by_code["headache-day", "2025-03-02"]["note"] == [{"text": NOTE}]
    assert ("migraine-day", "2025-03-02") in by_code

    meds = [r for _, r in _entries(bundle, "MedicationStatement")]
    assert len(meds) == 3
    assert meds[0]["medicationCodeableConcept"] == {
        "coding": [{"system": fhir.value_system("medication-class"), "code": "triptan"}],
        "text": "sumatriptan",
    }
    (_, proc), _second = _entries(bundle, "Procedure")
    assert [s["coding"][0]["code"] for s in proc["bodySite"]] == ["GB20", "EX-HN5", "GV20", "LR3"]
    assert proc["bodySite"][0]["coding"][0]["system"] == fhir.POINT_SYSTEM
    events = [r for _, r in _entries(bundle, "AdverseEvent")]
    assert [e["severity"]["coding"][0]["code"] for e in events] == ["mild", "severe"]
    assert [e["seriousness"]["coding"][0]["code"] for e in events] == ["non-serious", "serious"]
    pains = [r for r in observations if _local_code(r) in ("pain-before-session",
                                                          "pain-after-session")]  # fmt: skip
    assert [p["valueQuantity"]["value"] for p in pains] == [4, 1]
    assert len(_entries(bundle, "QuestionnaireResponse")) == 5
    conditions = [r for _, r in _entries(bundle, "Condition")]
    assert conditions, "the read-out found ICHD-3 diagnoses"
    for c in conditions:
        systems = [x["system"] for x in c["code"]["coding"]]
        assert systems[0] == fhir.ICHD3_SYSTEM and fhir.SNOMED in systems


def _attack_index(bundle: dict[str, Any]) -> int:
    return next(i for i, r in _entries(bundle, "Observation")
                if _local_code(r) == "attack-peak-pain")  # fmt: skip


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        (12, "valueQuantity.value", "at most 10; got 12"),
        ("twelve", "valueQuantity.value", "twelve"),
    ],
)
def test_an_invalid_resource_is_refused_by_entry_resource_and_field_and_nothing_is_imported(
    db: Database,
    exported: tuple[int, int, int, dict[str, Any]],
    value: object,
    field: str,
    words: str,
) -> None:
    _x, y, _pid, bundle = exported
    bad = copy.deepcopy(bundle)
    i = _attack_index(bad)
    bad["entry"][i]["resource"]["valueQuantity"]["value"] = value
    with pytest.raises(ValidationError) as caught:
        _import(db, y, bad)
    messages = [str(e) for e in caught.value.errors]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"entry[{i}] Observation.{field}: "), messages
    assert words in messages[0]
    assert clinic_health_rows(db, y) == 0


def test_every_problem_is_listed_and_a_late_one_still_blocks_the_whole_import(
    db: Database, exported: tuple[int, int, int, dict[str, Any]]
) -> None:
    _x, y, _pid, bundle = exported
    bad = copy.deepcopy(bundle)
    (q, qr), *_ = _entries(bad, "QuestionnaireResponse")
    qr["item"][1]["answer"][0]["valueInteger"] = 7  # not a HIT-6 answer
    (p, proc), *_ = _entries(bad, "Procedure")
    proc["bodySite"][0]["coding"][0]["code"] = "ZZ99"
    bad["entry"].append({"resource": {"resourceType": "Practitioner"}})
    with pytest.raises(ValidationError) as caught:
        _import(db, y, bad)
    paths = {e.path for e in caught.value.errors}
    assert f"entry[{len(bad['entry']) - 1}] Practitioner" in paths
    bad["entry"].pop()
    with pytest.raises(ValidationError) as caught:
        _import(db, y, bad)
    paths = {e.path for e in caught.value.errors}
    assert paths == {
        f"entry[{q}] QuestionnaireResponse.item[1].answer[0]",
        f"entry[{p}] Procedure.bodySite[0].coding[0].code",
    }
    assert clinic_health_rows(db, y) == 0


def test_a_bundle_with_a_wrong_total_or_no_patient_is_refused(
    db: Database, exported: tuple[int, int, int, dict[str, Any]]
) -> None:
    _x, y, _pid, bundle = exported
    bad = copy.deepcopy(bundle)
    (_q, qr), *_ = _entries(bad, "QuestionnaireResponse")
    total = next(k for k, item in enumerate(qr["item"]) if item["linkId"] == "total")
    qr["item"][total]["answer"][0]["valueInteger"] = 70
    with pytest.raises(ValidationError, match="does not match the answers"):
        _import(db, y, bad)
    bad = copy.deepcopy(bundle)
    bad["entry"] = [e for e in bad["entry"] if e["resource"]["resourceType"] != "Patient"]
    with pytest.raises(ValidationError, match="exactly one Patient"):
        _import(db, y, bad)
    assert clinic_health_rows(db, y) == 0


# ---- over HTTP: the patient's own download ----------------------------------------------


def test_a_patient_downloads_their_whole_record_as_json_and_fhir(
    db: Database, world: World, app_client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    load_rich(db, world.clinic_x, patient_id=world.patient_a)
    headers = login(world.patient_a_email)
    url = f"/api/v1/patients/{world.patient_a}/export"
    r = app_client.get(url, params={"format": "fhir"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert "attachment" in r.headers["content-disposition"]
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) > 30
    r = app_client.get(url, params={"format": "json"}, headers=headers)
    assert r.status_code == 200
    doc = r.json()
    assert doc["format"] == "acuhead.diary/1" and len(doc["attacks"]) == 4
    assert len(doc["sessions"]) == 2
    r = app_client.get(url, params={"format": "csv-attacks"}, headers=headers)
    assert r.status_code == 200 and r.text.startswith("start,end,date")
    r = app_client.get(url, params={"format": "xml"}, headers=headers)
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("who", "status"),
    [("patient_b_email", 404), ("prac_y", 404), ("prac_x", 200), ("admin_x", 200)],
)
def test_who_may_download_a_record(
    world: World,
    app_client: TestClient,
    login: Callable[[str], dict[str, str]],
    who: str,
    status: int,
) -> None:
    r = app_client.get(
        f"/api/v1/patients/{world.patient_a}/export",
        params={"format": "fhir"},
        headers=login(getattr(world, who)),
    )
    assert r.status_code == status, r.text
    assert app_client.get(f"/api/v1/patients/{world.patient_a}/export").status_code == 401


def test_staff_import_a_bundle_over_http_and_a_bad_one_answers_422_naming_the_field(
    db: Database, world: World, app_client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    pid = load_rich(db, world.clinic_y)
    bundle = _export(db, world.clinic_y, pid)
    prac = login(world.prac_x)
    url = f"/api/v1/patients/{world.patient_b}/import"
    before = clinic_health_rows(db, world.clinic_x)
    bad = copy.deepcopy(bundle)
    i = _attack_index(bad)
    bad["entry"][i]["resource"]["valueQuantity"]["value"] = 11
    r = app_client.post(url, content=json.dumps(bad), headers=prac)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == f"entry[{i}] Observation.valueQuantity.value"
    assert clinic_health_rows(db, world.clinic_x) == before
    r = app_client.post(url, content=json.dumps(bundle), headers=login(world.patient_b_email))
    assert r.status_code == 403
    r = app_client.post(url, content=json.dumps(bundle), headers=prac)
    assert r.status_code == 200, r.text
    assert r.json()["format"] == "fhir"
    assert r.json()["counts"]["attacks"] == 4 and r.json()["counts"]["questionnaires"] == 5


# ---- the command line ---------------------------------------------------------------------


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_exports_fhir_and_imports_it_into_another_clinic(
    cli: CliRunner, db: Database, tmp_path: Path
) -> None:
    x, y = _two_clinics(db)
    load_rich(db, x)
    r = cli.invoke(app, ["export", "EXT-7731-ZETA", "--format", "fhir", "--clinic", str(x)])
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)
    path = tmp_path / "bundle.json"
    path.write_text(r.stdout)
    r = cli.invoke(app, ["import", str(path), "--clinic", str(y)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["format"] == "fhir"
    r = cli.invoke(app, ["export", "EXT-7731-ZETA", "--format", "fhir", "--clinic", str(y)])
    assert json.loads(r.stdout) == first
    bad = copy.deepcopy(first)
    bad["entry"][_attack_index(bad)]["resource"]["valueQuantity"]["value"] = 99
    path.write_text(json.dumps(bad))
    r = cli.invoke(app, ["import", str(path), "--clinic", str(y)])
    assert r.exit_code == 2
    assert "Observation.valueQuantity.value" in r.output


def test_the_puerperium_safety_fact_round_trips(db: Database) -> None:
    """SNNOOP10 P6, pregnancy or puerperium (CLINICAL.md 2 item 11): the fact survives
    export to FHIR and import into another clinic."""
    x, y = _two_clinics(db)
    doc = {"format": "acuhead.diary/1",
           "patient": {"external_id": "pp-1", "safety": {"puerperium": True}}}  # fmt: skip
    with db.write() as s:
        _, patient, _ = interop.import_text(s, actor=Actor.system(x), data=json.dumps(doc))
        pid = patient.id
    bundle = _export(db, x, pid)
    assert '"puerperium"' in json.dumps(bundle)
    other = _import(db, y, bundle)
    with db.read() as s:
        stored = s.get(Patient, other)
        assert stored is not None and stored.safety["puerperium"] is True


def test_contact_details_travel_in_the_patient_resource_and_come_back(db: Database) -> None:
    """The phone, e-mail and postal address the clinic keeps are part of the record (a
    data-subject copy carries them, README "Data rights"): in FHIR they are the Patient's
    ``telecom`` (system phone / email) and ``address`` (text), and an import into another
    clinic stores them again."""
    x, y = _two_clinics(db)
    contact = {"phone": "+49 30 1234567", "email": "mia@example.org", "address": "Hauptstr. 1"}
    doc = {"format": "acuhead.diary/1", "patient": {"external_id": "ct-1", "contact": contact}}
    with db.write() as s:
        _, patient, _ = interop.import_text(s, actor=Actor.system(x), data=json.dumps(doc))
        pid = patient.id
    bundle = _export(db, x, pid)
    ((_, resource),) = _entries(bundle, "Patient")
    assert resource["telecom"] == [
        {"system": "phone", "value": "+49 30 1234567"},
        {"system": "email", "value": "mia@example.org"},
    ]
    assert resource["address"] == [{"text": "Hauptstr. 1"}]
    other = _import(db, y, bundle)
    with db.read() as s:
        assert contact_of(s, other) == contact
    # A Bundle whose Patient has no telecom or address leaves the stored details alone.
    del resource["telecom"], resource["address"]
    _import(db, y, bundle, other)
    with db.read() as s:
        assert contact_of(s, other) == contact


def test_a_bad_phone_in_the_patient_resource_is_refused_with_its_place(db: Database) -> None:
    x, y = _two_clinics(db)
    doc = {"format": "acuhead.diary/1", "patient": {"external_id": "ct-2"}}
    with db.write() as s:
        _, patient, _ = interop.import_text(s, actor=Actor.system(x), data=json.dumps(doc))
    bundle = _export(db, x, patient.id)
    i, resource = _entries(bundle, "Patient")[0]
    resource["telecom"] = [{"system": "phone", "value": "call me maybe"}]
    with pytest.raises(ValidationError) as refused:
        _import(db, y, bundle)
    assert any(e.path.startswith(f"entry[{i}] Patient.telecom") for e in refused.value.errors), (
        refused.value.errors
    )
