"""The appointments API on both engines: 201/422 with field and reason/404/428/409."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from acuhead.store.db import Database
from acuhead.store.models import Clinic

from .factories import World

Login = Callable[[str], dict[str, str]]


def _berlin(db: Database, clinic_id: int) -> None:
    with db.write() as s:
        clinic = s.get(Clinic, clinic_id)
        assert clinic is not None
        clinic.timezone = "Europe/Berlin"


def test_book_move_cancel(app_client: TestClient, login: Login, world: World, db: Database) -> None:
    _berlin(db, world.clinic_x)
    h = login(world.prac_x)
    # A start without an offset is the clinic's wall-clock time.
    r = app_client.post(
        "/api/v1/appointments",
        json={"patient_id": world.patient_a, "start": "2026-03-30T09:00", "duration_min": 60},
        headers=h,
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["start"] == "2026-03-30T09:00:00+02:00" and a["version"] == 1
    clash = app_client.post(
        "/api/v1/appointments",
        json={"patient_id": world.patient_b, "start": "2026-03-30T07:30:00Z", "duration_min": 30},
        headers=h,
    )
    assert clash.status_code == 422
    err = clash.json()["detail"][0]
    assert err["field"] == "start" and "09:00 to 10:00" in err["msg"]
    gap = app_client.post(
        "/api/v1/appointments",
        json={"patient_id": world.patient_b, "start": "2026-03-29T02:30"},
        headers=h,
    )
    assert gap.status_code == 422 and "does not exist" in gap.text
    short = app_client.post(
        "/api/v1/appointments",
        json={"patient_id": world.patient_b, "start": "2026-03-30T12:00", "duration_min": 1},
        headers=h,
    )
    assert short.status_code == 422 and "duration_min" in short.text

    url = f"/api/v1/appointments/{a['id']}"
    assert app_client.patch(url, json={"start": "2026-03-30T11:00"}, headers=h).status_code == 428
    moved = app_client.patch(url, json={"version": 1, "start": "2026-03-30T11:00"}, headers=h)
    assert moved.status_code == 200 and moved.json()["start"] == "2026-03-30T11:00:00+02:00"
    stale = app_client.post(f"{url}/cancel", json={"version": 1}, headers=h)
    assert stale.status_code == 409
    done = app_client.post(f"{url}/cancel", json={"version": 2}, headers=h)
    assert done.status_code == 200 and done.json()["status"] == "cancelled"

    day = app_client.get("/api/v1/appointments?day=2026-03-30", headers=h)
    assert day.status_code == 200 and day.json() == []


def test_tenant_and_patient_access(
    app_client: TestClient, login: Login, world: World, db: Database
) -> None:
    h = login(world.prac_x)
    r = app_client.post(
        "/api/v1/appointments",
        json={"patient_id": world.patient_a, "start": "2026-05-04T08:00:00Z"},
        headers=h,
    )
    aid = r.json()["id"]
    other = login(world.prac_y)
    assert app_client.get(f"/api/v1/appointments/{aid}", headers=other).status_code == 404
    assert app_client.get("/api/v1/appointments?day=2026-05-04", headers=other).json() == []
    a = login(world.patient_a_email)
    b = login(world.patient_b_email)
    assert app_client.get(f"/api/v1/appointments/{aid}", headers=a).status_code == 200
    assert app_client.get(f"/api/v1/appointments/{aid}", headers=b).status_code == 404
    mine = app_client.get(f"/api/v1/patients/{world.patient_a}/appointments", headers=a)
    assert [x["id"] for x in mine.json()] == [aid]
    assert (
        app_client.get(f"/api/v1/patients/{world.patient_a}/appointments", headers=b).status_code
        == 404
    )
    assert app_client.get("/api/v1/appointments", headers=a).status_code == 403
    cancel = app_client.post(f"/api/v1/appointments/{aid}/cancel", json={"version": 1}, headers=a)
    assert cancel.status_code == 403
    stranger = app_client.post(
        "/api/v1/appointments",
        json={"patient_id": world.patient_y, "start": "2026-05-04T08:00:00Z"},
        headers=h,
    )
    assert stranger.status_code == 404
