"""The clinical engine through the API and CLI: read-out, red-flag gate, questionnaires."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.domain.redflags import CATALOGUE

from .factories import World

Login = Callable[[str], dict[str, str]]
# A copy of ../shared/examples/diary-document.json, so the suite needs nothing outside the repo.
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "diary-document.json"


def migraine(start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "peak_intensity": 7,
        "side": "left",
        "locations": ["temporal"],
        "quality": ["pulsating"],
        "aggravated_by_activity": True,
        "nausea": "moderate",
        "vomiting": False,
        "photophobia": True,
        "phonophobia": True,
        **extra,
    }


def test_read_out_labels_each_attack_and_counts_days_over_midnight(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    base = f"/api/v1/patients/{world.patient_a}"
    app_client.put(f"{base}/days/2026-02-01", json={"headache": False}, headers=h)
    r = app_client.post(
        f"{base}/attacks", json=migraine("2026-02-02T20:00:00", "2026-02-03T08:00:00"), headers=h
    )
    assert r.status_code == 201
    out = app_client.get(f"{base}/classification", headers=h).json()
    assert out["attacks"][0]["code"] == "1.1"
    assert out["attacks"][0]["criteria"]["C"] is True
    days = {d["date"]: d for d in out["days"]}
    assert days["2026-02-01"]["migraine_day"] is False and days["2026-02-01"]["recorded"] is True
    assert days["2026-02-02"]["migraine_day"] is True
    assert days["2026-02-03"]["migraine_day"] is True
    # One attack is not five: the patient-level code can only be probable or absent.
    assert all(d["code"] != "1.1" or d["status"] == "probable" for d in out["diagnoses"])


def test_read_out_of_another_patient_is_not_found(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_b_email)
    assert (
        app_client.get(f"/api/v1/patients/{world.patient_a}/classification", headers=h).status_code
        == 404
    )


def test_red_flag_blocks_planning_until_cleared_with_a_reason(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.prac_x)
    base = f"/api/v1/patients/{world.patient_a}"
    # No screen is not the same as no red flags (CLINICAL.md 2): screen needed.
    unscreened = app_client.get(f"{base}/planning-check", headers=h)
    assert unscreened.status_code == 409
    assert [b["code"] for b in unscreened.json()["reasons"]] == ["screen_needed"]
    answers = {f.code: False for f in CATALOGUE} | {"O_onset_sudden": True}
    r = app_client.post(f"{base}/red-flags/intake", headers=h, json={"answers": answers})
    assert r.status_code == 200, r.text
    alert = r.json()
    assert alert["open"] is True and alert["findings"][0]["code"] == "O_onset_sudden"
    blocked = app_client.get(f"{base}/planning-check", headers=h)
    assert blocked.status_code == 409
    assert "medical review" in blocked.json()["detail"]
    no_reason = app_client.post(
        f"{base}/red-flags/{alert['id']}/resolve",
        headers=h,
        json={"kind": "clearance", "reason": ""},
    )
    assert no_reason.status_code == 422
    ok = app_client.post(
        f"{base}/red-flags/{alert['id']}/resolve",
        headers=h,
        json={"kind": "referral", "reason": "sent to GP the same day"},
    )
    assert ok.status_code == 200 and ok.json()["resolved_by_name"] == "Prac X"
    # Patient A has no birth date: onset after 65 cannot be checked (CLINICAL.md 2 item 5).
    no_age = app_client.get(f"{base}/planning-check", headers=h)
    assert no_age.status_code == 409
    assert [b["code"] for b in no_age.json()["reasons"]] == ["screen_needed"]
    assert "birth date" in no_age.json()["detail"]
    version = app_client.get(base, headers=h).json()["version"]
    r = app_client.patch(base, headers=h, json={"version": version, "birth_date": "1985-04-02"})
    assert r.status_code == 200, r.text
    assert app_client.get(f"{base}/planning-check", headers=h).status_code == 204
    again = app_client.post(
        f"{base}/red-flags/{alert['id']}/resolve",
        headers=h,
        json={"kind": "referral", "reason": "twice"},
    )
    assert again.status_code == 409


def test_a_diary_warning_sign_opens_an_alert(
    app_client: TestClient, world: World, login: Login
) -> None:
    patient = login(world.patient_a_email)
    base = f"/api/v1/patients/{world.patient_a}"
    r = app_client.post(
        f"{base}/attacks",
        headers=patient,
        json=migraine("2026-02-05T10:00:00", "2026-02-05T18:00:00", warning_signs=["thunderclap"]),
    )
    assert r.status_code == 201
    prac = login(world.prac_x)
    alerts = app_client.get(f"{base}/red-flags", params={"only_open": True}, headers=prac).json()
    assert len(alerts) == 1 and alerts[0]["source"] == "attack"
    assert app_client.get(f"{base}/planning-check", headers=prac).status_code == 409
    # A patient cannot clear their own alert.
    r = app_client.post(
        f"{base}/red-flags/{alerts[0]['id']}/resolve",
        headers=patient,
        json={"kind": "clearance", "reason": "I feel fine"},
    )
    assert r.status_code == 403


def test_unknown_warning_sign_is_refused_by_name(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    r = app_client.post(
        f"/api/v1/patients/{world.patient_a}/attacks",
        headers=h,
        json=migraine("2026-02-05T10:00:00", "2026-02-05T18:00:00", warning_signs=["sparkly"]),
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "warning_signs[0]"


def test_questionnaires_are_scored_and_bad_answers_refused(
    app_client: TestClient, world: World, login: Login
) -> None:
    h = login(world.patient_a_email)
    url = f"/api/v1/patients/{world.patient_a}/questionnaires"
    r = app_client.post(
        url,
        headers=h,
        json={"instrument": "hit6", "completed_on": "2026-02-01", "items": ["always"] * 6},
    )
    assert r.status_code == 201 and r.json()["total"] == 78 and r.json()["band"] == "severe"
    r = app_client.post(
        url, headers=h, json={"instrument": "hit6", "completed_on": "2026-02-01", "total": 79}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "total"
    r = app_client.post(
        url,
        headers=h,
        json={"instrument": "midas", "completed_on": "2026-02-01", "items": [0, 95, 0, 0, 0]},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "items[1]"
    r = app_client.post(
        url,
        headers=h,
        json={
            "instrument": "midas",
            "completed_on": "2026-02-01",
            "items": [3, 2, 1, 0, 0],
            "a": 20,
            "b": 6,
        },
    )
    assert (
        r.status_code == 201 and r.json()["band"] == "II" and r.json()["extra"] == {"a": 20, "b": 6}
    )
    listed = app_client.get(url, params={"instrument": "midas"}, headers=h).json()
    assert [q["total"] for q in listed] == [6]


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    yield CliRunner()


def test_cli_classify_prints_codes_days_and_red_flags(runner: CliRunner, tmp_path: Path) -> None:
    r = runner.invoke(app, ["classify", str(EXAMPLE)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [a["code"] for a in out["attacks"]] == ["1.2.1.1", "2"]
    assert {d["date"] for d in out["days"]} >= {"2026-02-02", "2026-02-04"}
    assert out["red_flags"] == []
    doc = json.loads(EXAMPLE.read_text())
    doc["attacks"][1]["warning_signs"] = ["thunderclap"]
    f = tmp_path / "flag.json"
    f.write_text(json.dumps(doc))
    out = json.loads(runner.invoke(app, ["classify", str(f)]).stdout)
    assert [(x["source"], x["code"]) for x in out["red_flags"]] == [
        ("attacks[1]", "O_onset_sudden")
    ]


def test_cli_classify_names_the_bad_path(runner: CliRunner, tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["attacks"][0]["aura"][0]["type"] = "smell"
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    r = runner.invoke(app, ["classify", str(f)])
    assert r.exit_code == 2 and "attacks[0].aura[0].type" in r.output
