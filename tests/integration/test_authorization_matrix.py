"""Every API route x every kind of caller, generated from the app's route table.

A route missing from POLICY fails the test, so a new route cannot ship without someone
deciding who may call it. Callers: anonymous, patient A (owner of the record under test),
patient B, a practitioner and the admin of A's clinic X, and a practitioner of clinic Y.

Policies:
  public   anyone, no login
  user     any logged-in user (no patient data)
  self     patient A and the staff of clinic X
  staff    the staff of clinic X only (patients refused)
  clinic   staff only, on their own clinic's data (no patient in the path)
  admin    the admin of the clinic only
  prac     practitioners of clinic X only (clinical records are written by practitioners)
  pracs    practitioners only, each on their own clinic's data
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from .factories import World

Login = Callable[[str], dict[str, str]]

POLICY: dict[tuple[str, str], str] = {
    ("GET", "/livez"): "public",
    ("GET", "/healthz"): "public",
    ("POST", "/api/v1/auth/login"): "public",
    ("POST", "/api/v1/auth/logout"): "user",
    ("GET", "/api/v1/auth/me"): "user",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("GET", "/api/v1/patients"): "user",
    ("POST", "/api/v1/patients"): "clinic",
    ("GET", "/api/v1/patients/{patient_id}"): "self",
    ("PATCH", "/api/v1/patients/{patient_id}"): "staff",
    ("DELETE", "/api/v1/patients/{patient_id}"): "admin",
    ("GET", "/api/v1/patients/{patient_id}/days"): "self",
    ("GET", "/api/v1/patients/{patient_id}/days/{day}"): "self",
    ("PUT", "/api/v1/patients/{patient_id}/days/{day}"): "self",
    ("DELETE", "/api/v1/patients/{patient_id}/days/{day}"): "self",
    ("GET", "/api/v1/patients/{patient_id}/attacks"): "self",
    ("POST", "/api/v1/patients/{patient_id}/attacks"): "self",
    ("GET", "/api/v1/patients/{patient_id}/attacks/{attack_id}"): "self",
    ("PUT", "/api/v1/patients/{patient_id}/attacks/{attack_id}"): "self",
    ("DELETE", "/api/v1/patients/{patient_id}/attacks/{attack_id}"): "self",
    ("GET", "/api/v1/patients/{patient_id}/medications"): "self",
    ("GET", "/api/v1/patients/{patient_id}/regimens"): "self",
    ("POST", "/api/v1/patients/{patient_id}/regimens"): "self",
    ("DELETE", "/api/v1/patients/{patient_id}/regimens/{regimen_id}"): "self",
    ("GET", "/api/v1/patients/{patient_id}/classification"): "self",
    ("GET", "/api/v1/patients/{patient_id}/red-flags"): "self",
    ("POST", "/api/v1/patients/{patient_id}/red-flags/intake"): "staff",
    ("POST", "/api/v1/patients/{patient_id}/red-flags/{alert_id}/resolve"): "staff",
    ("GET", "/api/v1/patients/{patient_id}/planning-check"): "self",
    ("GET", "/api/v1/patients/{patient_id}/readiness"): "self",
    ("POST", "/api/v1/patients/{patient_id}/red-flags/clear"): "staff",
    ("POST", "/api/v1/patients/{patient_id}/questionnaires"): "self",
    ("GET", "/api/v1/patients/{patient_id}/questionnaires"): "self",
    ("GET", "/api/v1/points"): "user",
    ("GET", "/api/v1/points/{code}"): "user",
    ("POST", "/api/v1/patients/{patient_id}/assessments"): "prac",
    ("GET", "/api/v1/patients/{patient_id}/assessments"): "self",
    ("GET", "/api/v1/patients/{patient_id}/assessments/{assessment_id}"): "self",
    ("POST", "/api/v1/patients/{patient_id}/assessments/{assessment_id}/confirm"): "prac",
    ("POST", "/api/v1/patients/{patient_id}/prescriptions"): "prac",
    ("GET", "/api/v1/patients/{patient_id}/prescriptions"): "self",
    ("GET", "/api/v1/patients/{patient_id}/prescriptions/{prescription_id}"): "self",
    ("POST", "/api/v1/patients/{patient_id}/prescriptions/{prescription_id}/confirm"): "prac",
    ("GET", "/api/v1/prescription-templates"): "clinic",
    ("POST", "/api/v1/prescription-templates"): "pracs",
    ("GET", "/api/v1/prescription-templates/{template_id}"): "clinic",
    ("PUT", "/api/v1/prescription-templates/{template_id}"): "pracs",
    ("DELETE", "/api/v1/prescription-templates/{template_id}"): "pracs",
    ("POST", "/api/v1/patients/{patient_id}/courses"): "prac",
    ("GET", "/api/v1/patients/{patient_id}/courses"): "self",
    ("GET", "/api/v1/patients/{patient_id}/sessions"): "self",
    ("POST", "/api/v1/patients/{patient_id}/sessions"): "prac",
    ("GET", "/api/v1/patients/{patient_id}/session-prefill"): "prac",
    ("GET", "/api/v1/patients/{patient_id}/sessions/{session_id}"): "self",
    ("PUT", "/api/v1/patients/{patient_id}/sessions/{session_id}"): "prac",
    ("GET", "/api/v1/adverse-events"): "clinic",
    ("GET", "/api/v1/patients/{patient_id}/export"): "self",
    ("POST", "/api/v1/patients/{patient_id}/import"): "staff",
    ("GET", "/api/v1/patients/{patient_id}/consents"): "self",
    ("POST", "/api/v1/patients/{patient_id}/consents"): "staff",
    ("POST", "/api/v1/patients/{patient_id}/consents/withdraw"): "self",
    ("GET", "/api/v1/patients/{patient_id}/outcomes"): "self",
    ("GET", "/api/v1/patients/{patient_id}/letter.pdf"): "self",
    ("POST", "/api/v1/patients/{patient_id}/letter.pdf"): "self",
    ("GET", "/api/v1/reports/practice"): "clinic",
    ("GET", "/api/v1/appointments"): "clinic",
    ("POST", "/api/v1/appointments"): "staff",
    ("GET", "/api/v1/appointments/{appointment_id}"): "self",
    ("PATCH", "/api/v1/appointments/{appointment_id}"): "staff",
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): "staff",
    ("PUT", "/api/v1/appointments/{appointment_id}/session"): "staff",
    ("GET", "/api/v1/patients/{patient_id}/appointments"): "self",
}

# Valid bodies, so a refusal cannot hide behind a validation error.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/auth/login"): {"email": "nobody@x.test", "password": "wrong-password"},
    ("POST", "/api/v1/users"): {"email": "m@x.test", "role": "practitioner"},
    ("POST", "/api/v1/patients"): {"external_id": "M-1"},
    ("POST", "/api/v1/patients/{patient_id}/letter.pdf"): {"recipient": "Dr M"},
    ("PATCH", "/api/v1/patients/{patient_id}"): {"version": 1},
    ("PUT", "/api/v1/patients/{patient_id}/days/{day}"): {"headache": False},
    ("POST", "/api/v1/patients/{patient_id}/attacks"): {
        "start": "2026-01-04T08:00:00",
        "duration_min": 60,
    },
    ("PUT", "/api/v1/patients/{patient_id}/attacks/{attack_id}"): {
        "start": "2026-01-04T08:00:00",
        "duration_min": 60,
        "version": 1,
    },
    ("POST", "/api/v1/patients/{patient_id}/regimens"): {
        "name": "r",
        "kind": "drug",
        "start": "2026-01-01",
    },
    ("POST", "/api/v1/patients/{patient_id}/red-flags/intake"): {"answers": {}},
    ("POST", "/api/v1/patients/{patient_id}/red-flags/clear"): {
        "code": "P6_pregnancy_puerperium",
        "kind": "clearance",
        "reason": "reviewed",
    },
    ("POST", "/api/v1/patients/{patient_id}/red-flags/{alert_id}/resolve"): {
        "kind": "referral",
        "reason": "seen by GP",
    },
    ("POST", "/api/v1/patients/{patient_id}/questionnaires"): {
        "instrument": "hit6",
        "completed_on": "2026-01-01",
        "total": 50,
    },
    ("POST", "/api/v1/patients/{patient_id}/assessments"): {},
    ("POST", "/api/v1/patients/{patient_id}/assessments/{assessment_id}/confirm"): {
        "confirmed_pattern": "qi_deficiency"
    },
    ("POST", "/api/v1/patients/{patient_id}/prescriptions"): {},
    ("POST", "/api/v1/patients/{patient_id}/prescriptions/{prescription_id}/confirm"): {
        "version": 1,
        "confirmed_codes": ["LI4"],
    },
    ("POST", "/api/v1/prescription-templates"): {
        "name": "matrix template",
        "points": [{"code": "GB20", "side": "both"}],
    },
    ("PUT", "/api/v1/prescription-templates/{template_id}"): {
        "name": "matrix template",
        "points": [{"code": "GB20", "side": "both"}],
        "version": 1,
    },
    ("POST", "/api/v1/patients/{patient_id}/courses"): {
        "planned_sessions": 6,
        "sessions_per_week": 1,
        "start": "2026-01-01",
    },
    ("POST", "/api/v1/patients/{patient_id}/sessions"): {
        "start": "2026-01-02T10:00:00",
        "points": [{"code": "GB20", "side": "both"}],
    },
    ("PUT", "/api/v1/patients/{patient_id}/sessions/{session_id}"): {
        "version": 1,
        "start": "2026-01-02T10:00:00",
        "points": [{"code": "GB20", "side": "both"}],
    },
    ("POST", "/api/v1/patients/{patient_id}/import"): {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "A-1"},
    },
    ("POST", "/api/v1/patients/{patient_id}/consents"): {
        "scope": "research",
        "given_on": "2026-01-01",
    },
    ("POST", "/api/v1/patients/{patient_id}/consents/withdraw"): {},
    ("POST", "/api/v1/appointments"): {"patient_id": 1, "start": "2026-01-06T15:00:00Z"},
    ("PATCH", "/api/v1/appointments/{appointment_id}"): {
        "version": 1,
        "start": "2026-01-07T09:00:00Z",
    },
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): {"version": 1},
    ("PUT", "/api/v1/appointments/{appointment_id}/session"): {"version": 1, "session_id": 1},
}

ALLOWED = {
    "public": {"anon", "a", "b", "prac_x", "prac_y", "admin_x"},
    "user": {"a", "b", "prac_x", "prac_y", "admin_x"},
    "self": {"a", "prac_x", "admin_x"},
    "staff": {"prac_x", "admin_x"},
    "clinic": {"prac_x", "prac_y", "admin_x"},
    "admin": {"admin_x"},
    "prac": {"prac_x"},
    "pracs": {"prac_x", "prac_y"},
}
# Routes whose target record may be gone once an earlier allowed caller acted on it.
MAY_BE_GONE = {("POST", "/api/v1/patients/{patient_id}/consents/withdraw")}
# Denied callers first, so an allowed caller's change cannot make a later refusal look right.
ORDER = ("anon", "b", "prac_y", "a", "prac_x", "admin_x")


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]


def _ids(client: TestClient, world: World, h: dict[str, str]) -> dict[str, Any]:
    """Real sub-records of patient A, so allowed callers reach them."""
    base = f"/api/v1/patients/{world.patient_a}"

    def make(path: str, body: Any) -> int:
        r = client.post(f"{base}{path}", json=body, headers=h)
        return int(r.json()["id"]) if r.status_code == 201 else 999_999

    ids: dict[str, Any] = {"patient_id": world.patient_a, "day": "2026-01-05", "code": "GB20"}
    client.put(f"{base}/days/2026-01-05", json={"headache": True}, headers=h)
    ids["attack_id"] = make("/attacks", {"start": "2026-01-05T08:00:00", "duration_min": 90})
    ids["regimen_id"] = make("/regimens", {"name": "r", "kind": "drug", "start": "2026-01-01"})
    ids["assessment_id"] = make("/assessments", {})
    ids["prescription_id"] = make("/prescriptions", {})
    ids["session_id"] = make(
        "/sessions", {"start": "2026-01-02T10:00:00", "points": [{"code": "GB20", "side": "both"}]}
    )
    r = client.post(
        "/api/v1/prescription-templates",
        headers=h,
        json={"name": "t", "points": [{"code": "GB20", "side": "both"}]},
    )
    ids["template_id"] = r.json()["id"] if r.status_code == 201 else 999_999
    r = client.post(
        "/api/v1/appointments",
        headers=h,
        json={"patient_id": world.patient_a, "start": "2026-01-06T09:00:00Z"},
    )
    ids["appointment_id"] = r.json()["id"] if r.status_code == 201 else 999_999
    client.post(f"{base}/consents", json={"scope": "research", "given_on": "2026-01-01"}, headers=h)
    r = client.post(f"{base}/red-flags/intake", json={"answers": {"fever": True}}, headers=h)
    ids["alert_id"] = r.json()["id"] if r.status_code == 200 and r.json() else 999_999
    return ids


def test_every_route_has_a_policy_and_every_caller_gets_what_it_says(
    app_client: TestClient, world: World, login: Login
) -> None:
    routes = _routes(app_client)
    missing = [r for r in routes if r not in POLICY]
    assert missing == [], f"routes without an authorization policy: {missing}"
    stale = [r for r in POLICY if r not in routes]
    assert stale == [], f"policies for routes that no longer exist: {stale}"

    headers = {
        "anon": {},
        "a": login(world.patient_a_email),
        "b": login(world.patient_b_email),
        "prac_x": login(world.prac_x),
        "prac_y": login(world.prac_y),
        "admin_x": login(world.admin_x),
    }
    ids = _ids(app_client, world, headers["prac_x"])

    # Destructive routes last: deletions, then erasure of patient A, then logging out.
    def stage(route: tuple[str, str]) -> int:
        if route[1].endswith("/logout"):
            return 3
        if route == ("DELETE", "/api/v1/patients/{patient_id}"):
            return 2
        return 1 if route[0] == "DELETE" else 0

    routes.sort(key=stage)
    wrong: list[str] = []
    for method, path in routes:
        policy = POLICY[(method, path)]
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 999_999)), path)
        has_sub_id = (
            len(re.findall(r"\{\w+\}", path)) > 1
            or "{template_id}" in path
            or (method, path) in MAY_BE_GONE
        )
        for who in ORDER:
            if path.endswith("/logout") and who != "admin_x":
                continue  # logging out would end that caller's session for later routes
            allowed = who in ALLOWED[policy]
            r = app_client.request(
                method, url, json=BODIES.get((method, path)), headers=headers[who]
            )
            app_client.cookies.clear()
            s = r.status_code
            if allowed:
                ok = s not in (401, 403) and (s != 404 or has_sub_id)
                if policy == "public" and path.endswith("/login"):
                    ok = s in (401, 429)  # wrong password (then throttled): reachable
            else:
                ok = s == 401 if who == "anon" else s in (403, 404)
            if not ok:
                wrong.append(
                    f"{method} {path} as {who}: {s} "
                    f"({'allow' if allowed else 'deny'}) {r.text[:120]}"
                )
    assert wrong == [], "\n".join(wrong)
