"""Diary endpoints: days, attacks, medications, regimens; validation answers 422 with the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from .factories import World

Login = Callable[[str], dict[str, str]]

MIGRAINE: dict[str, Any] = {
    "start": "2026-02-02T22:30:00",
    "end": "2026-02-03T09:00:00",
    "peak_intensity": 7,
    "side": "left",
    "locations": ["temporal"],
    "quality": ["pulsating"],
    "aggravated_by_activity": True,
    "nausea": "moderate",
    "photophobia": True,
    "phonophobia": True,
    "aura": [{"type": "visual", "duration_min": 20, "gradual_spread": True}],
    "medications": [
        {
            "name": "sumatriptan",
            "class": "triptan",
            "taken_at": "2026-02-02T23:00:00",
            "effect": "good",
        }
    ],
    "readings": [{"at": "2026-02-02T23:30:00", "intensity": 7}],
    "triggers": ["stress"],
}


def _fields(r: Any) -> list[str]:
    return [d["field"] for d in r.json()["detail"]]


def test_patient_records_a_day_and_corrects_it_with_a_version(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    url = f"/api/v1/patients/{world.patient_a}/days/2026-02-02"
    r = app_client.put(url, json={"headache": True, "stress": 7, "sleep_hours": 5.5}, headers=h)
    assert r.status_code == 200
    assert r.json()["version"] == 1
    r = app_client.put(url, json={"headache": True, "stress": 6, "version": 1}, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["stress"] == 6
    stale = app_client.put(url, json={"headache": False, "version": 1}, headers=h)
    assert stale.status_code == 409
    assert app_client.get(url, headers=h).json()["stress"] == 6


def test_an_attack_over_midnight_is_stored_with_both_local_dates(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    r = app_client.post(f"/api/v1/patients/{world.patient_a}/attacks", json=MIGRAINE, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["local_dates"] == ["2026-02-02", "2026-02-03"]
    assert body["medications"][0]["class"] == "triptan"
    meds = app_client.get(f"/api/v1/patients/{world.patient_a}/medications", headers=h).json()
    assert meds["total"] == 1 and meds["items"][0]["taken_day"] == "2026-02-02"


def test_attack_validation_names_the_field_and_the_reason(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    url = f"/api/v1/patients/{world.patient_a}/attacks"
    r = app_client.post(url, json={**MIGRAINE, "peak_intensity": 11}, headers=h)
    assert r.status_code == 422 and "peak_intensity" in _fields(r)
    assert "10" in r.json()["detail"][0]["msg"]
    r = app_client.post(
        url, json={**MIGRAINE, "end": "2026-02-02T20:00:00", "readings": []}, headers=h
    )
    assert r.status_code == 422 and _fields(r) == ["end"]
    assert "before start" in r.json()["detail"][0]["msg"]
    future = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    r = app_client.post(
        url,
        json={
            **MIGRAINE,
            "start": f"{future}T08:00:00",
            "end": None,
            "readings": [],
            "medications": [],
        },
        headers=h,
    )
    assert r.status_code == 422 and _fields(r) == ["start"]
    r = app_client.post(url, json={**MIGRAINE, "nausea": "lots"}, headers=h)
    assert r.status_code == 422 and "nausea" in _fields(r)
    r = app_client.post(
        url, json={**MIGRAINE, "medications": [{"name": "x", "class": "magic"}]}, headers=h
    )
    assert r.status_code == 422 and any("class" in f for f in _fields(r))
    r = app_client.post(url, json={"peak_intensity": 5}, headers=h)
    assert r.status_code == 422 and _fields(r) == ["start"]
    assert app_client.get(url, headers=h).json()["total"] == 0


def test_day_validation_refuses_future_and_out_of_range_values(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    r = app_client.put(
        f"/api/v1/patients/{world.patient_a}/days/{future}", json={"headache": False}, headers=h
    )
    assert r.status_code == 422 and _fields(r) == ["date"]
    r = app_client.put(
        f"/api/v1/patients/{world.patient_a}/days/2026-01-01",
        json={"headache": False, "stress": 11},
        headers=h,
    )
    assert r.status_code == 422 and "stress" in _fields(r)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    r = app_client.put(
        f"/api/v1/patients/{world.patient_a}/days/{tomorrow}", json={"headache": False}, headers=h
    )
    assert r.status_code == 200


def test_days_are_paginated_and_filtered_by_date(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    for d in range(1, 11):
        r = app_client.put(
            f"/api/v1/patients/{world.patient_a}/days/2026-03-{d:02d}",
            json={"headache": d % 2 == 0},
            headers=h,
        )
        assert r.status_code == 200
    page = app_client.get(
        f"/api/v1/patients/{world.patient_a}/days",
        params={"start": "2026-03-03", "end": "2026-03-08", "limit": 4},
        headers=h,
    ).json()
    assert page["total"] == 6
    assert [x["date"] for x in page["items"]] == [f"2026-03-0{d}" for d in range(3, 7)]
    page2 = app_client.get(
        f"/api/v1/patients/{world.patient_a}/days",
        params={"start": "2026-03-03", "end": "2026-03-08", "limit": 4, "offset": 4},
        headers=h,
    ).json()
    assert [x["date"] for x in page2["items"]] == ["2026-03-07", "2026-03-08"]


def test_attack_update_uses_optimistic_versions(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    base = f"/api/v1/patients/{world.patient_a}/attacks"
    created = app_client.post(base, json=MIGRAINE, headers=h).json()
    url = f"{base}/{created['id']}"
    r = app_client.put(url, json={**MIGRAINE, "peak_intensity": 5, "version": 1}, headers=h)
    assert r.status_code == 200 and r.json()["peak_intensity"] == 5 and r.json()["version"] == 2
    r = app_client.put(url, json={**MIGRAINE, "peak_intensity": 9, "version": 1}, headers=h)
    assert r.status_code == 409
    assert app_client.get(url, headers=h).json()["peak_intensity"] == 5
    assert app_client.delete(url, headers=h).status_code == 204
    assert app_client.get(url, headers=h).status_code == 404


def test_practitioner_records_a_preventive_regimen(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.prac_x)
    url = f"/api/v1/patients/{world.patient_a}/regimens"
    r = app_client.post(
        url,
        json={"name": "propranolol", "kind": "drug", "start": "2026-01-10", "stop": "2026-01-01"},
        headers=h,
    )
    assert r.status_code == 422 and _fields(r) == ["stop"]
    r = app_client.post(
        url, json={"name": "propranolol", "kind": "drug", "start": "2026-01-10"}, headers=h
    )
    assert r.status_code == 201
    assert [x["name"] for x in app_client.get(url, headers=h).json()] == ["propranolol"]


def test_practitioner_creates_and_edits_a_patient(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.prac_x)
    r = app_client.post(
        "/api/v1/patients", headers=h, json={"external_id": "C-9", "timezone": "Mars/Olympus"}
    )
    assert r.status_code == 422 and _fields(r) == ["timezone"]
    r = app_client.post(
        "/api/v1/patients",
        headers=h,
        json={"external_id": "C-9", "timezone": "Europe/Vienna", "safety": {"pregnant": True}},
    )
    assert r.status_code == 201
    pid = r.json()["id"]
    dup = app_client.post("/api/v1/patients", headers=h, json={"external_id": "C-9"})
    assert dup.status_code == 409
    r = app_client.patch(
        f"/api/v1/patients/{pid}", headers=h, json={"version": 1, "display_name": "C. Nine"}
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    assert r.json()["safety"]["pregnant"] is True
    assert (
        app_client.patch(
            f"/api/v1/patients/{pid}", headers=h, json={"version": 1, "display_name": "late"}
        ).status_code
        == 409
    )
