"""PHQ-9 and GAD-7, added through the instrument registry alone, work end to end on both
engines: the API scores and refuses them naming the item, the patient fills them in on pages
rendered from the spec, the schedule offers them, FHIR carries them out and back in.

Scoring facts: PHQ-9 Kroenke 2001 (0-27; 10-14 moderate), GAD-7 Spitzer 2006 (0-21; 5-9 mild).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from acuhead.services import clinical, interop, schedules
from acuhead.services.actors import Actor
from acuhead.store.db import Database

from .factories import World
from .test_pages import SAME, check_markup, page_login

Login = Callable[[str], dict[str, str]]


def test_api_scores_phq9_and_gad7_and_names_the_refused_item(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    url = f"/api/v1/patients/{world.patient_a}/questionnaires"
    body: dict[str, Any] = {
        "instrument": "phq9",
        "completed_on": "2026-02-01",
        "items": [3, 3, 2, 1, 1, 0, 0, 0, 0],
    }
    r = app_client.post(url, headers=h, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["total"], out["band"]) == (10, "moderate")  # Kroenke 2001: 10-14 moderate
    assert out["band_label"] == "moderate depression symptoms"
    assert out["answers"] == {f"q{n}": v for n, v in enumerate(body["items"], start=1)}
    assert out["items"] == body["items"] and out["extra"] == {}

    r = app_client.post(url, headers=h, json={**body, "items": [0] * 8 + [4]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "items[8]"
    assert "PHQ-9 answer 9 must be 0-3" in r.json()["detail"][0]["msg"]
    r = app_client.post(url, headers=h, json={**body, "a": 3})  # MIDAS's key, not PHQ-9's
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "a"
    r = app_client.post(url, headers=h, json={**body, "instrument": "sf36"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "instrument"
    assert "unknown questionnaire" in r.json()["detail"][0]["msg"]

    r = app_client.post(
        url,
        headers=h,
        json={"instrument": "gad7", "completed_on": "2026-02-02", "items": ["several days"] * 7},
    )
    assert r.status_code == 201 and (r.json()["total"], r.json()["band"]) == (7, "mild")
    listed = app_client.get(url, params={"instrument": "gad7"}, headers=h).json()
    assert [q["instrument"] for q in listed] == ["gad7"]
    assert app_client.get(url, params={"instrument": "sf36"}, headers=h).status_code == 422
    schema = app_client.get("/openapi.json").json()["components"]["schemas"]
    assert {"phq9", "gad7"} <= set(schema["QuestionnaireIn"]["properties"]["instrument"]["enum"])


def test_patient_fills_in_phq9_and_gad7_on_pages_built_from_the_spec(
    app_client: TestClient, world: World, db: Database
) -> None:
    client = app_client
    page_login(client, world.patient_a_email)
    html = client.get("/diary/questionnaires").text
    assert 'href="/diary/questionnaires/phq9"' in html and "PHQ-9" in html
    html = client.get("/diary/questionnaires/phq9").text
    check_markup(html)
    assert "<legend>Question 1 of 9: Little interest or pleasure in doing things</legend>" in html
    assert "> More than half the days</label>" in html
    assert "thoughts of harming yourself" in html  # PHQ-9's own template: item 9 needs help now
    gad = client.get("/diary/questionnaires/gad7").text
    check_markup(gad)
    assert "Question 7 of 7: Feeling afraid as if something awful might happen" in gad
    assert "thoughts of harming yourself" not in gad

    r = client.post("/diary/questionnaires/phq9", data={"q1": "nearly_every_day"}, headers=SAME)
    assert r.status_code == 422
    assert 'id="q9-error">Choose an answer for question 9.' in r.text
    assert 'value="nearly_every_day" checked' in r.text

    answers = {f"q{n}": "several_days" for n in range(1, 10)} | {"q1": "nearly_every_day"}
    r = client.post("/diary/questionnaires/phq9", data=answers, headers=SAME)
    assert r.status_code == 200
    assert "Saved, thank you. PHQ-9: 11 (range 0–27) – moderate depression symptoms." in r.text
    with db.read() as s:
        rows = clinical.list_questionnaires(
            s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a
        )
    assert [(r.instrument, r.total, r.band, r.answers["q1"]) for r in rows] == [
        ("phq9", 11, "moderate", 3)
    ]


def test_schedule_offers_every_registered_instrument(db: Database, world: World) -> None:
    with db.write() as s:
        items = schedules.list_schedule(s, actor=Actor.system(world.clinic_x))
    labels = {i.instrument: i.label for i in items}
    assert labels["phq9"] == "PHQ-9" and labels["gad7"] == "GAD-7"
    assert {i.instrument: i.recall_period for i in items}["gad7"] == "2 weeks"


def test_fhir_carries_phq9_out_and_back_in(db: Database, world: World) -> None:
    actor = Actor.system(world.clinic_x)
    with db.write() as s:
        clinical.record_questionnaire(
            s,
            actor=actor,
            patient_id=world.patient_a,
            instrument="PHQ-9",
            completed_on=dt.date(2026, 2, 1),
            answers={"items": [1, 1, 1, 1, 1, 1, 1, 1, 0]},
        )
        bundle = interop.export_fhir(s, actor=actor, patient_id=world.patient_a)
    responses = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    (qr,) = responses
    assert qr["questionnaire"] == "urn:acuhead:questionnaire:phq9"
    items = {i["linkId"]: i for i in qr["item"]}
    assert [k for k in items if k.isdigit()] == [str(n) for n in range(1, 10)]
    assert items["1"]["text"] == "Little interest or pleasure in doing things"
    assert items["total"]["answer"][0]["valueInteger"] == 8
    other = Actor.system(world.clinic_y)  # into another clinic: everything is read back
    with db.write() as s:
        patient, _ = interop.import_fhir(s, actor=other, bundle=bundle)
        back = clinical.list_questionnaires(s, actor=other, patient_id=patient.id)
    assert [(r.instrument, r.total, r.band) for r in back] == [("phq9", 8, "mild")]
