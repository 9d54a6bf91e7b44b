"""Acupuncture care over the API on both engines: points, assessments, the red-flag gate,
safety confirmations, templates, courses, STRICTA sessions, adverse events and access."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from acuhead.interop.document import parse
from acuhead.services import diary, imports
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import (
    AuditEvent,
    PrescriptionRow,
    SessionVersionRow,
    TreatmentSessionRow,
)

from .factories import World, screen

Login = Callable[[str], dict[str, str]]
API = "/api/v1"

# A session with every STRICTA item filled (MacPherson et al. 2010; CLINICAL.md 6).
FULL_SESSION: dict[str, Any] = {
    "start": "2026-03-02T10:00:00",
    "style": "tcm",
    "rationale": "Shaoyang headache; liver-yang rising",
    "references": ["Li Y et al., CMAJ 2012;184(4):401"],
    "individualisation": "semi_standardised",
    "variation_notes": "GB8 added for temporal pain",
    "points": [
        {"code": "GB20", "side": "both", "depth": {"value": 0.8, "unit": "cun"}},
        {"code": "LV3", "side": "left", "depth": {"value": 15, "unit": "mm"}},
        {"code": "GV20", "depth": {"unit": "tissue", "tissue": "subcutaneous"}},
    ],
    "response_sought": ["deqi"],
    "response_obtained": ["deqi", "twitch"],
    "stimulation": {
        "method": "electro",
        "frequency_hz": [2, 100],
        "intensity_ma": 0.5,
        "waveform": "dense-disperse",
    },
    "retention_min": 30,
    "needle": {"diameter_mm": 0.25, "length_mm": 40, "material": "steel", "brand": "Seirin"},
    "co_interventions": [{"type": "cupping", "detail": "upper trapezius"}, "advice"],
    "practitioner": "licensed acupuncturist, 8 years",
    "setting": "outpatient clinic",
    "patient_information": "told to expect mild soreness",
    "pain_before": 5,
    "pain_after": 2,
    "adverse_events": [
        {"type": "haematoma", "severity": "mild", "action_taken": "pressure", "point": "LR3"}
    ],
    "notes": "tolerated well",
}


def _fields(r: Any) -> set[str]:
    return {d["field"] for d in r.json()["detail"]}


def _set_safety(client: TestClient, h: dict[str, str], patient_id: int, **flags: bool) -> None:
    version = client.get(f"{API}/patients/{patient_id}", headers=h).json()["version"]
    r = client.patch(
        f"{API}/patients/{patient_id}", json={"version": version, "safety": flags}, headers=h
    )
    assert r.status_code == 200, r.text


def test_points_need_a_login_and_accept_aliases(
    app_client: TestClient, world: World, login: Login
) -> None:
    assert app_client.get(f"{API}/points", params={"q": "lv3"}).status_code == 401
    h = login(world.patient_a_email)
    found = app_client.get(f"{API}/points", params={"q": "lv3"}, headers=h).json()
    assert [p["code"] for p in found] == ["LR3"]
    gb = app_client.get(f"{API}/points/Fengchi", headers=h).json()
    assert gb["code"] == "GB20" and "medulla" in gb["cautions"]
    head_gb = app_client.get(
        f"{API}/points", params={"channel": "GB", "region": "head"}, headers=h
    ).json()
    assert head_gb and {p["channel"] for p in head_gb} == {"GB"}
    assert {p["region"] for p in head_gb} == {"head"}
    assert app_client.get(f"{API}/points/XX99", headers=h).status_code == 404
    bad = app_client.get(f"{API}/points", params={"channel": "ZZ"}, headers=h)
    assert bad.status_code == 422 and _fields(bad) == {"channel"}


def test_an_open_red_flag_blocks_the_prescription_until_it_is_resolved(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    screen(db, world.patient_a)
    pa = login(world.patient_a_email)
    attack = {"start": "2026-02-10T08:00:00", "peak_intensity": 9, "warning_signs": ["thunderclap"]}
    assert (
        app_client.post(
            f"{API}/patients/{world.patient_a}/attacks", json=attack, headers=pa
        ).status_code
        == 201
    )
    h = login(world.prac_x)
    url = f"{API}/patients/{world.patient_a}/prescriptions"
    blocked = app_client.post(url, json={"locations": ["temporal"]}, headers=h)
    assert blocked.status_code == 409
    assert blocked.json()["blocked"] is True
    assert "medical review" in blocked.json()["detail"]
    assert "thunderclap" in blocked.json()["detail"]
    with db.read() as s:
        assert s.query(PrescriptionRow).count() == 0
    alerts = app_client.get(f"{API}/patients/{world.patient_a}/red-flags", headers=h).json()
    r = app_client.post(
        f"{API}/patients/{world.patient_a}/red-flags/{alerts[0]['id']}/resolve",
        json={"kind": "referral", "reason": "seen by GP, CT normal"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    ok = app_client.post(url, json={"locations": ["temporal"]}, headers=h)
    assert ok.status_code == 201, ok.text
    body = ok.json()
    codes = {p["code"] for p in body["points"]}
    assert codes == {"EX-HN5", "TE23", "GB8", "GB20", "TE5", "GB43"}
    assert all(p["reason"] for p in body["points"])
    assert body["ready"] is True and body["version"] == 1


def test_pregnant_patient_needs_explicit_confirmation_of_li4_and_sp6(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    h = login(world.prac_x)
    pid = world.patient_a
    _set_safety(app_client, h, pid, pregnant=True)
    screen(db, pid)  # the screen raises P6 (CLINICAL.md 2 item 11): reviewed and cleared
    p6 = app_client.get(f"{API}/patients/{pid}/red-flags", headers=h).json()[0]
    assert p6["findings"][0]["code"] == "P6_pregnancy_puerperium"
    r = app_client.post(
        f"{API}/patients/{pid}/red-flags/{p6['id']}/resolve",
        json={"kind": "clearance", "reason": "uncomplicated pregnancy, obstetrician informed"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    a = app_client.post(
        f"{API}/patients/{pid}/assessments",
        json={"locations": ["temporal"], "confirmed_pattern": "blood deficiency"},
        headers=h,
    )
    assert a.status_code == 201, a.text
    r = app_client.post(
        f"{API}/patients/{pid}/prescriptions",
        json={"assessment_id": a.json()["id"], "headache_kind": "tension-type"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    p = r.json()
    assert {"LI4", "SP6"} <= {pt["code"] for pt in p["points"]}
    to_confirm = {f["code"] for f in p["safety"] if f["action"] == "confirm"}
    assert to_confirm == {"pregnancy:LI4", "pregnancy:SP6"}
    assert p["ready"] is False
    pres_url = f"{API}/patients/{pid}/prescriptions/{p['id']}"

    # A session cannot follow a plan whose findings are not confirmed.
    prefill = app_client.get(
        f"{API}/patients/{pid}/session-prefill",
        params={"from": f"prescription:{p['id']}"},
        headers=h,
    )
    assert prefill.status_code == 200 and prefill.json()["ready"] is False
    form = prefill.json()["session"]
    assert {pt["code"] for pt in form["points"]} == {pt["code"] for pt in p["points"]}
    session_body = {**form, "start": "2026-03-02T10:00:00", "prescription_id": p["id"]}
    r = app_client.post(f"{API}/patients/{pid}/sessions", json=session_body, headers=h)
    assert r.status_code == 409 and "not ready" in r.json()["detail"]

    one = app_client.post(
        f"{pres_url}/confirm", json={"version": 1, "confirmed_codes": ["LI4"]}, headers=h
    )
    assert one.status_code == 200 and one.json()["ready"] is False
    assert one.json()["version"] == 2
    stale = app_client.post(
        f"{pres_url}/confirm", json={"version": 1, "confirmed_codes": ["SP6"]}, headers=h
    )
    assert stale.status_code == 409
    typo = app_client.post(
        f"{pres_url}/confirm", json={"version": 2, "confirmed_codes": ["SP66"]}, headers=h
    )
    assert typo.status_code == 422 and _fields(typo) == {"confirmed_codes"}
    both = app_client.post(
        f"{pres_url}/confirm", json={"version": 2, "confirmed_codes": ["pregnancy:SP6"]}, headers=h
    )
    assert both.status_code == 200 and both.json()["ready"] is True
    assert [c["code"] for c in both.json()["confirmed"]] == ["pregnancy:LI4", "pregnancy:SP6"]
    assert app_client.get(pres_url, headers=h).json()["ready"] is True

    r = app_client.post(f"{API}/patients/{pid}/sessions", json=session_body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["prescription_id"] == p["id"]


def test_a_red_flag_opened_after_planning_blocks_confirmation(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    h = login(world.prac_x)
    pid = world.patient_a
    screen(db, pid)
    _set_safety(app_client, h, pid, anticoagulant=True)
    p = app_client.post(
        f"{API}/patients/{pid}/prescriptions", json={"locations": ["frontal"]}, headers=h
    ).json()
    assert p["ready"] is False and "bleeding_risk" in {f["code"] for f in p["safety"]}
    attack = {"start": "2026-02-11T08:00:00", "peak_intensity": 8, "warning_signs": ["fever"]}
    r = app_client.post(f"{API}/patients/{pid}/attacks", json=attack, headers=h)
    assert r.status_code == 201
    r = app_client.post(
        f"{API}/patients/{pid}/prescriptions/{p['id']}/confirm",
        json={"version": 1, "confirmed_codes": ["bleeding_risk"]},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["blocked"] is True
    assert (
        app_client.get(f"{API}/patients/{pid}/prescriptions", headers=h).json()[0]["ready"] is False
    )


def test_pacemaker_blocks_electro_stimulation_but_not_manual(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    h = login(world.prac_x)
    pid = world.patient_b
    screen(db, pid)
    _set_safety(app_client, h, pid, pacemaker=True)
    url = f"{API}/patients/{pid}/prescriptions"
    electro = app_client.post(url, json={"locations": ["temporal"], "electro": True}, headers=h)
    assert electro.status_code == 201, electro.text
    e = electro.json()
    blocked = [f for f in e["safety"] if f["action"] == "blocked"]
    assert [f["code"] for f in blocked] == ["electro_pacemaker"]
    assert e["ready"] is False
    r = app_client.post(
        f"{url}/{e['id']}/confirm",
        json={"version": 1, "confirmed_codes": ["electro_pacemaker"]},
        headers=h,
    )
    assert r.status_code == 422
    assert app_client.get(f"{url}/{e['id']}", headers=h).json()["ready"] is False
    manual = app_client.post(url, json={"locations": ["temporal"]}, headers=h).json()
    assert manual["stimulation"]["method"] == "manual"
    assert manual["ready"] is True
    assert "pacemaker" in {f["code"] for f in manual["safety"]}


def test_session_validation_names_every_bad_path_and_stores_nothing(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    h = login(world.prac_x)
    bad = {
        **FULL_SESSION,
        "retention_min": 200,
        "stimulation": {"method": "electro", "frequency_hz": [2, 300], "intensity_ma": 50},
        "pain_before": -1,
        "pain_after": 11,
    }
    r = app_client.post(f"{API}/patients/{world.patient_a}/sessions", json=bad, headers=h)
    assert r.status_code == 422
    assert _fields(r) == {
        "retention_min",
        "stimulation.frequency_hz[1]",
        "stimulation.intensity_ma",
        "pain_before",
        "pain_after",
    }
    no_start = {k: v for k, v in FULL_SESSION.items() if k != "start"}
    r = app_client.post(f"{API}/patients/{world.patient_a}/sessions", json=no_start, headers=h)
    assert r.status_code == 422 and _fields(r) == {"start"}
    typo = {**FULL_SESSION, "retention": 30}
    r = app_client.post(f"{API}/patients/{world.patient_a}/sessions", json=typo, headers=h)
    assert r.status_code == 422 and _fields(r) == {"retention"}
    with db.read() as s:
        assert s.query(TreatmentSessionRow).count() == 0


def test_patients_read_only_their_own_sessions(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.prac_x)
    url = f"{API}/patients/{world.patient_a}/sessions"
    created = app_client.post(url, json=FULL_SESSION, headers=h)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]

    pa = login(world.patient_a_email)
    own = app_client.get(url, headers=pa).json()
    assert [s["id"] for s in own["items"]] == [sid] and own["total"] == 1
    assert app_client.get(f"{url}/{sid}", headers=pa).json()["pain_after"] == 2
    assert app_client.post(url, json=FULL_SESSION, headers=pa).status_code == 403
    assert app_client.get(f"{API}/adverse-events", headers=pa).status_code == 403

    pb = login(world.patient_b_email)
    assert app_client.get(url, headers=pb).status_code == 404
    assert app_client.get(f"{url}/{sid}", headers=pb).status_code == 404
    py = login(world.prac_y)
    assert app_client.get(url, headers=py).status_code == 404
    assert app_client.get(f"{url}/{sid}", headers=py).status_code == 404
    assert app_client.get(f"{API}/adverse-events", headers=py).json()["total"] == 0
    # A session id of patient A is not reachable through patient B's URL either.
    other = f"{API}/patients/{world.patient_b}/sessions/{sid}"
    assert app_client.get(other, headers=h).status_code == 404


def test_adverse_events_are_listed_and_serious_ones_flagged(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.prac_x)
    url = f"{API}/patients/{world.patient_a}/sessions"
    pneumo = {
        **FULL_SESSION,
        "start": "2026-03-09T10:00:00",
        "adverse_events": [
            {"type": "pneumothorax", "severity": "moderate", "action_taken": "sent to A&E"}
        ],
    }
    assert app_client.post(url, json=FULL_SESSION, headers=h).status_code == 201
    assert app_client.post(url, json=pneumo, headers=h).status_code == 201
    contradiction = {
        **pneumo,
        "start": "2026-03-16T10:00:00",
        "adverse_events": [{"type": "pneumothorax", "severity": "moderate", "serious": False}],
    }
    r = app_client.post(url, json=contradiction, headers=h)
    assert r.status_code == 422 and _fields(r) == {"adverse_events[0].serious"}

    every = app_client.get(f"{API}/adverse-events", headers=h).json()
    assert [(e["type"], e["serious"]) for e in every["items"]] == [
        ("pneumothorax", True),
        ("haematoma", False),
    ]
    serious = app_client.get(f"{API}/adverse-events", params={"serious": True}, headers=h).json()
    assert [e["type"] for e in serious["items"]] == ["pneumothorax"]
    assert serious["items"][0]["action_taken"] == "sent to A&E"
    since = app_client.get(
        f"{API}/adverse-events", params={"since": "2026-03-05"}, headers=h
    ).json()
    assert since["total"] == 1


def test_a_session_corrected_later_replaces_its_adverse_events(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.prac_x)
    url = f"{API}/patients/{world.patient_a}/sessions"
    sid = app_client.post(url, json=FULL_SESSION, headers=h).json()["id"]
    later = {
        **FULL_SESSION,
        "version": 1,
        "adverse_events": [{"type": "fainting", "severity": "severe", "action_taken": "lay down"}],
    }
    r = app_client.put(f"{url}/{sid}", json=later, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert r.json()["adverse_events"][0]["serious"] is True  # severe -> serious (derived)
    assert app_client.put(f"{url}/{sid}", json=later, headers=h).status_code == 409
    events = app_client.get(f"{API}/adverse-events", headers=h).json()["items"]
    assert [e["type"] for e in events] == ["fainting"]


def test_next_session_starts_from_the_previous_one_within_a_course(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.prac_x)
    base = f"{API}/patients/{world.patient_a}"
    none_yet = app_client.get(f"{base}/session-prefill", params={"from": "previous"}, headers=h)
    assert none_yet.status_code == 404
    course = app_client.post(
        f"{base}/courses",
        json={"planned_sessions": 20, "sessions_per_week": 2.5, "start": "2026-03-01"},
        headers=h,
    )
    assert course.status_code == 201, course.text
    cid = course.json()["id"]
    bad_course = app_client.post(
        f"{base}/courses",
        json={"planned_sessions": 0, "sessions_per_week": 20, "start": "2026-03-01"},
        headers=h,
    )
    assert bad_course.status_code == 422
    assert _fields(bad_course) == {"planned_sessions", "sessions_per_week"}
    first = {**FULL_SESSION, "course_id": cid}
    assert app_client.post(f"{base}/sessions", json=first, headers=h).status_code == 201

    pre = app_client.get(f"{base}/session-prefill", params={"from": "previous"}, headers=h)
    assert pre.status_code == 200
    form = pre.json()
    assert form["from"] == "previous" and form["course_id"] == cid
    carried = form["session"]
    assert "pain_before" not in carried and "adverse_events" not in carried
    assert carried["stimulation"]["frequency_hz"] == [2, 100]
    assert [p["code"] for p in carried["points"]] == ["GB20", "LR3", "GV20"]
    second = {**carried, "start": "2026-03-05T10:00:00", "pain_before": 3, "course_id": cid}
    r = app_client.post(f"{base}/sessions", json=second, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["needle_count"] == 2 + 1 + 1
    courses = app_client.get(f"{base}/courses", headers=h).json()
    assert [(c["id"], c["delivered_sessions"]) for c in courses] == [(cid, 2)]
    wrong = app_client.get(f"{base}/session-prefill", params={"from": "yesterday"}, headers=h)
    assert wrong.status_code == 422 and _fields(wrong) == {"from"}
    other = {**second, "start": "2026-03-06T10:00:00", "course_id": cid + 1000}
    r = app_client.post(f"{base}/sessions", json=other, headers=h)
    assert r.status_code == 422 and _fields(r) == {"course_id"}


def test_assessment_reads_the_diary_and_the_practitioner_overrides(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    screen(db, world.patient_a)
    pa = login(world.patient_a_email)
    for day in ("2026-02-02", "2026-02-03", "2026-02-04"):
        r = app_client.put(
            f"{API}/patients/{world.patient_a}/days/{day}",
            json={"headache": True, "neck_tension": 8},
            headers=pa,
        )
        assert r.status_code == 200
    h = login(world.prac_x)
    url = f"{API}/patients/{world.patient_a}/assessments"
    r = app_client.post(
        url,
        json={
            "locations": ["Temporal "],
            "signs": ["irritability"],
            "tongue": "red sides",
            "pulse": "wiry",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["locations"] == ["temporal"]
    derived = {d["sign"]: d["basis"] for d in a["derived_signs"]}
    assert "neck tension" in derived and "8.0/10" in derived["neck tension"]
    assert a["patterns"][0]["pattern"] == "liver_yang_rising"
    assert a["working_pattern"] == "liver_yang_rising" and a["confirmed_pattern"] is None
    assert a["signs"] == ["irritability"]
    over = app_client.post(
        f"{url}/{a['id']}/confirm", json={"confirmed_pattern": "liver fire"}, headers=h
    )
    assert over.status_code == 200 and over.json()["working_pattern"] == "liver_fire"
    bad = app_client.post(
        f"{url}/{a['id']}/confirm", json={"confirmed_pattern": "dragon"}, headers=h
    )
    assert bad.status_code == 422 and _fields(bad) == {"confirmed_pattern"}
    bad_loc = app_client.post(url, json={"locations": ["elbow"]}, headers=h)
    assert bad_loc.status_code == 422 and _fields(bad_loc) == {"locations[0]"}
    # The plan built from this assessment uses the overridden pattern's points (LR2, GB43).
    p = app_client.post(
        f"{API}/patients/{world.patient_a}/prescriptions",
        json={"assessment_id": a["id"]},
        headers=h,
    ).json()
    pattern_points = {pt["code"] for pt in p["points"] if "pattern" in pt["groups"]}
    assert pattern_points == {"LR2", "GB43"}
    assert p["assessment_id"] == a["id"]
    # Patients may read their assessment but not write one; clinic Y sees nothing.
    assert app_client.get(url, headers=pa).status_code == 200
    assert app_client.post(url, json={}, headers=pa).status_code == 403
    assert app_client.get(url, headers=login(world.prac_y)).status_code == 404


def test_templates_are_saved_from_a_plan_and_reused_within_the_clinic(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    screen(db, world.patient_a)
    h = login(world.prac_x)
    url = f"{API}/patients/{world.patient_a}/prescriptions"
    plan = app_client.post(url, json={"locations": ["occipital"]}, headers=h).json()
    t = app_client.post(
        f"{API}/prescription-templates",
        json={"name": "Occipital base", "prescription_id": plan["id"]},
        headers=h,
    )
    assert t.status_code == 201, t.text
    assert [p["code"] for p in t.json()["points"]] == [p["code"] for p in plan["points"]]
    dup = app_client.post(
        f"{API}/prescription-templates",
        json={"name": "Occipital base", "points": [{"code": "GB20", "side": "both"}]},
        headers=h,
    )
    assert dup.status_code == 409
    typo = app_client.post(
        f"{API}/prescription-templates",
        json={"name": "Typo", "points": [{"code": "GB20", "side": "both"}, {"code": "QQ1"}]},
        headers=h,
    )
    assert typo.status_code == 422 and _fields(typo) == {"points[1].code"}
    listed = app_client.get(f"{API}/prescription-templates", headers=h).json()
    assert [x["name"] for x in listed] == ["Occipital base"]

    reused = app_client.post(url, json={"template_id": t.json()["id"]}, headers=h)
    assert reused.status_code == 201, reused.text
    r = reused.json()
    assert r["template"] == "Occipital base"
    assert {p["group"] for p in r["points"]} == {"template"}
    assert [p["code"] for p in r["points"]] == [p["code"] for p in plan["points"]]

    py = login(world.prac_y)
    assert app_client.get(f"{API}/prescription-templates", headers=py).json() == []
    assert (
        app_client.get(f"{API}/prescription-templates/{t.json()['id']}", headers=py).status_code
        == 404
    )
    pa = login(world.patient_a_email)
    assert app_client.get(f"{API}/prescription-templates", headers=pa).status_code == 403
    renamed = app_client.put(
        f"{API}/prescription-templates/{t.json()['id']}",
        json={"name": "Neck", "points": [{"code": "ub10", "side": "both"}], "version": 1},
        headers=h,
    )
    assert renamed.status_code == 200 and renamed.json()["points"] == [
        {"code": "BL10", "side": "both"}
    ]
    gone = app_client.delete(f"{API}/prescription-templates/{t.json()['id']}", headers=h)
    assert gone.status_code == 204
    assert app_client.get(f"{API}/prescription-templates", headers=h).json() == []


def test_stricta_fields_round_trip_through_export_and_import(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    h = login(world.prac_x)
    base = f"{API}/patients/{world.patient_a}"
    cid = app_client.post(
        f"{base}/courses",
        json={"planned_sessions": 12, "sessions_per_week": 1.5, "start": "2026-03-01"},
        headers=h,
    ).json()["id"]
    r = app_client.post(f"{base}/sessions", json={**FULL_SESSION, "course_id": cid}, headers=h)
    assert r.status_code == 201, r.text
    # An offset time is stored as the patient's wall-clock time (Europe/Berlin: UTC+1 in March).
    utc = {**FULL_SESSION, "start": "2026-03-09T09:00:00+00:00", "adverse_events": []}
    assert app_client.post(f"{base}/sessions", json=utc, headers=h).status_code == 201

    x = Actor.system(world.clinic_x)
    with db.write() as s:
        first = diary.export_document(s, actor=x, patient_id=world.patient_a)
    assert [x["start"] for x in first["sessions"]] == ["2026-03-02T10:00:00", "2026-03-09T10:00:00"]
    assert first["course"] == {
        "planned_sessions": 12,
        "sessions_per_week": 1.5,
        "start": "2026-03-01",
    }
    s0 = first["sessions"][0]
    for key, value in FULL_SESSION.items():
        if key not in ("points", "co_interventions", "adverse_events"):
            assert s0[key] == value, key
    assert s0["points"][1] == {"code": "LR3", "side": "left", "depth": {"value": 15, "unit": "mm"}}
    assert s0["co_interventions"][1] == {"type": "advice", "detail": ""}
    assert s0["adverse_events"][0]["point"] == "LR3" and s0["needle_count"] == 4

    with db.write() as s:  # back into the same patient: replaced by start, nothing doubled
        _, counts = imports.import_document(s, actor=x, doc=parse(first))
        assert counts["sessions"] == 2 and counts["courses"] == 1
        again = diary.export_document(s, actor=x, patient_id=world.patient_a)
    assert again == first

    y = Actor.system(world.clinic_y)
    with db.write() as s:  # into another clinic: a new patient with the same record
        row, _ = imports.import_document(s, actor=y, doc=parse(first))
        copied = diary.export_document(s, actor=y, patient_id=row.id)
    assert copied["sessions"] == first["sessions"] and copied["course"] == first["course"]
    sessions = app_client.get(f"{base}/sessions", headers=h).json()["items"]
    assert [s["course_id"] for s in sessions] == [cid, cid]


def test_a_session_correction_needs_its_version_and_keeps_the_previous_one(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    """Issue 15: without the version read, 428 (not a generic 422); a stale one, 409; each
    accepted correction keeps the record as it was in ``session_versions``."""
    h = login(world.prac_x)
    url = f"{API}/patients/{world.patient_a}/sessions"
    sid = app_client.post(url, json={**FULL_SESSION, "notes": "first"}, headers=h).json()["id"]
    no_version = app_client.put(f"{url}/{sid}", json={**FULL_SESSION, "notes": "x"}, headers=h)
    assert no_version.status_code == 428, no_version.text
    ok = app_client.put(
        f"{url}/{sid}", json={**FULL_SESSION, "notes": "second", "version": 1}, headers=h
    )
    assert ok.status_code == 200 and ok.json()["notes"] == "second"
    stale = app_client.put(
        f"{url}/{sid}", json={**FULL_SESSION, "notes": "lost", "version": 1}, headers=h
    )
    assert stale.status_code == 409
    with db.read() as s:
        kept = s.scalars(select(SessionVersionRow).where(SessionVersionRow.session_id == sid)).all()
        assert [(v.version, v.record["notes"]) for v in kept] == [(1, "first")]
        assert kept[0].changed_by is not None
        verbs = s.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "treatment_session", AuditEvent.entity_id == str(sid)
            )
        ).all()
        assert "update" in verbs


def test_a_template_change_needs_the_version_it_was_based_on(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    """A template edited by two practitioners at once: without the version read, 428; with a
    stale one, 409; either way the stored template is untouched."""
    h = login(world.prac_x)
    url = f"{API}/prescription-templates"
    made = app_client.post(
        url, json={"name": "Neck", "points": [{"code": "GB20", "side": "both"}]}, headers=h
    )
    assert made.status_code == 201 and made.json()["version"] == 1
    tid = made.json()["id"]
    change = {"name": "Neck", "points": [{"code": "BL10", "side": "both"}], "notes": "x"}

    no_version = app_client.put(f"{url}/{tid}", json=change, headers=h)
    assert no_version.status_code == 428, no_version.text
    ok = app_client.put(f"{url}/{tid}", json={**change, "version": 1}, headers=h)
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2 and ok.json()["notes"] == "x"
    stale = app_client.put(
        f"{url}/{tid}",
        json={"name": "Lost", "points": [{"code": "LI4", "side": "left"}], "version": 1},
        headers=h,
    )
    assert stale.status_code == 409, stale.text

    stored = app_client.get(f"{url}/{tid}", headers=h).json()
    assert (stored["name"], stored["points"], stored["notes"], stored["version"]) == (
        "Neck",
        [{"code": "BL10", "side": "both"}],
        "x",
        2,
    )
    with db.read() as s:
        verbs = s.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "prescription_template", AuditEvent.entity_id == str(tid)
            )
        ).all()
    assert sorted(verbs).count("update") == 1
