"""The safety gate on both engines (issue 12 items 1-4; docs/safety-gate.md).

For each patient the issue found planned without review, the same rule (services.gate ->
domain/readiness.decide) refuses the prescription builder page, the API and
``acuhead prescribe --patient``; a referral or clearance with a written reason (or, for
"screen needed", a recorded screen) then lets all three plan.

Cases and their sources:
* pregnant, no screen: SNNOOP10 P6 (CLINICAL.md 2 item 11) and no screen (CLINICAL.md 2);
* a diary with ICHD-3 8.2.2 medication overuse (CLINICAL.md 1 "8.2"): SNNOOP10 P10 (item 15);
* a 72-year-old never screened: no screen is not the same as no red flags (CLINICAL.md 2);
* a first headache at 65 years 6 months: SNNOOP10 O, onset after 65 (CLINICAL.md 2 item 5);
* a screened patient with no birth date: onset after 65 cannot be checked (CLINICAL.md 2 item 5).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.domain.diary import SafetyProfile
from acuhead.domain.readiness import add_months
from acuhead.domain.redflags import CATALOGUE
from acuhead.services import diary, gate, interop
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import Patient, PrescriptionRow

from .factories import World, screen
from .test_pages import SAME, check_markup, page_login

Login = Callable[[str], dict[str, str]]
API = "/api/v1"
TODAY = dt.date.today()


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _patient(db: Database, world: World, ext: str, **kw: Any) -> int:
    with db.write() as s:
        return diary.create_patient(s, actor=Actor.system(world.clinic_x), external_id=ext, **kw).id


def _overuse_diary(db: Database, world: World, pid: int) -> None:
    """The five whole months before this one: headache on days 1-20 and a triptan on days
    1-12 of each: ICHD-3 8.2 A (>=15 headache days) and 8.2.2 B (triptan >=10 days/month)."""
    first = add_months(TODAY.replace(day=1), -5)
    days, attacks = [], []
    d = first
    while d < TODAY.replace(day=1):
        days.append({"date": d.isoformat(), "headache": d.day <= 20})
        if d.day <= 12:
            attacks.append(
                {
                    "start": f"{d.isoformat()}T09:00:00",
                    "end": f"{d.isoformat()}T13:00:00",
                    "peak_intensity": 6,
                    "medications": [{"name": "sumatriptan", "class": "triptan"}],
                }
            )
        d += dt.timedelta(days=1)
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "moh-1", "timezone": "UTC"},
        "days": days,
        "attacks": attacks,
    }
    with db.write() as s:
        interop.import_text(
            s, actor=Actor.system(world.clinic_x), data=json.dumps(doc), patient_id=pid
        )


@dataclass(frozen=True)
class Blocked:
    pid: int
    codes: list[str]  # blocking reason codes, in order
    evidence: str  # a word the reasons must show


def _pregnant_no_screen(db: Database, world: World) -> Blocked:
    pid = _patient(
        db, world, "preg-1", birth_date=dt.date(1994, 5, 5), safety=SafetyProfile(pregnant=True)
    )
    return Blocked(pid, ["screen_needed", "P6_pregnancy_puerperium"], "pregnant")


def _moh_diary(db: Database, world: World) -> Blocked:
    pid = _patient(db, world, "moh-1", birth_date=dt.date(1980, 1, 1))
    screen(db, pid, onset=dt.date(2000, 1, 1))
    _overuse_diary(db, world, pid)
    return Blocked(pid, ["P10_painkiller_or_new_drug"], "8.2.2")


def _no_screen_72(db: Database, world: World) -> Blocked:
    birth = TODAY.replace(year=TODAY.year - 72, day=1)
    pid = _patient(db, world, "old-1", birth_date=birth)
    return Blocked(pid, ["screen_needed"], "no SNNOOP10 intake screen")


def _onset_65y6m(db: Database, world: World) -> Blocked:
    birth = TODAY.replace(year=TODAY.year - 70, day=1)
    pid = _patient(db, world, "late-1", birth_date=birth)
    onset = add_months(birth.replace(year=birth.year + 65), 6)
    screen(db, pid, onset=onset)
    return Blocked(pid, ["O_older_age"], "65 years 6 months")


def _no_birth_date_screened(db: Database, world: World) -> Blocked:
    pid = _patient(db, world, "nobd-1")
    screen(db, pid, onset=dt.date(2001, 1, 1), birth_date=None)
    return Blocked(pid, ["screen_needed"], "birth date")


CASES: dict[str, Callable[[Database, World], Blocked]] = {
    "no-birth-date-screened": _no_birth_date_screened,
    "pregnant-no-screen": _pregnant_no_screen,
    "moh-diary": _moh_diary,
    "no-screen-72-years": _no_screen_72,
    "onset-65y6m": _onset_65y6m,
}


def _count(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(PrescriptionRow)) or 0)


def _assert_blocked(
    c: TestClient, cli: CliRunner, world: World, h: dict[str, str], b: Blocked, db: Database
) -> None:
    before = _count(db)
    # API: 409 naming each reason.
    r = c.post(f"{API}/patients/{b.pid}/prescriptions", json={"locations": ["frontal"]}, headers=h)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["blocked"] is True
    assert [x["code"] for x in body["reasons"]] == b.codes
    assert b.evidence in json.dumps(body["reasons"])
    ready = c.get(f"{API}/patients/{b.pid}/readiness", headers=h).json()
    assert ready["ready"] is False and [x["code"] for x in ready["blocking"]] == b.codes
    assert c.get(f"{API}/patients/{b.pid}/planning-check", headers=h).status_code == 409
    # The builder page: the block with its reasons, no build form; a post is refused (409).
    html = c.get(f"/clinic/patients/{b.pid}/prescription").text
    check_markup(html)
    assert "Planning is blocked" in html and 'value="build"' not in html
    for code in b.codes:
        assert f'data-code="{code}"' in html
    assert b.evidence in html
    if "screen_needed" in b.codes:
        assert f'href="/clinic/patients/{b.pid}/intake"' in html
    r = c.post(
        f"/clinic/patients/{b.pid}/prescription",
        data={"intent": "build", "loc": ["frontal"]},
        headers=SAME,
    )
    assert r.status_code == 409 and "Not ready to plan" in r.text
    # The CLI: exit 6 naming the reason.
    r = cli.invoke(app, ["prescribe", "--patient", str(b.pid), "--clinic", str(world.clinic_x)])
    assert r.exit_code == 6, r.output
    said = " ".join(r.output.split())  # the error line is wrapped to the terminal width
    assert "Not ready to plan" in said and b.evidence in said
    assert _count(db) == before


def _assert_plannable(
    c: TestClient, cli: CliRunner, world: World, h: dict[str, str], pid: int, db: Database
) -> None:
    before = _count(db)
    assert c.get(f"{API}/patients/{pid}/planning-check", headers=h).status_code == 204
    r = c.post(f"{API}/patients/{pid}/prescriptions", json={"locations": ["frontal"]}, headers=h)
    assert r.status_code == 201, r.text
    html = c.get(f"/clinic/patients/{pid}/prescription").text
    assert "Planning is blocked" not in html and 'value="build"' in html
    r = c.post(
        f"/clinic/patients/{pid}/prescription",
        data={"intent": "build", "loc": ["frontal"]},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = cli.invoke(app, ["prescribe", "--patient", str(pid), "--clinic", str(world.clinic_x)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["patient_id"] == pid
    assert _count(db) == before + 3


@pytest.mark.parametrize("case", list(CASES))
def test_the_gate_blocks_builder_api_and_cli(
    case: str,
    app_client: TestClient,
    world: World,
    login: Login,
    db: Database,
    cli: CliRunner,
) -> None:
    blocked = CASES[case](db, world)
    h = login(world.prac_x)
    page_login(app_client, world.prac_x)
    _assert_blocked(app_client, cli, world, h, blocked, db)


def _api_alert_id(c: TestClient, h: dict[str, str], pid: int, code: str) -> int:
    alerts = c.get(f"{API}/patients/{pid}/red-flags?only_open=true", headers=h).json()
    (alert,) = [a for a in alerts if code in {f["code"] for f in a["findings"]}]
    return int(alert["id"])


def test_pregnant_screened_then_cleared_with_a_reason_plans(
    app_client: TestClient, world: World, login: Login, db: Database, cli: CliRunner
) -> None:
    b = _pregnant_no_screen(db, world)
    h = login(world.prac_x)
    page_login(app_client, world.prac_x)
    screen(db, b.pid, onset=dt.date(2010, 1, 1))
    # The screen is recorded; its P6 finding is an open alert now (CLINICAL.md 2 item 11).
    _assert_blocked(
        app_client, cli, world, h, Blocked(b.pid, ["P6_pregnancy_puerperium"], "pregnant"), db
    )
    alert_id = _api_alert_id(app_client, h, b.pid, "P6_pregnancy_puerperium")
    r = app_client.post(
        f"{API}/patients/{b.pid}/red-flags/{alert_id}/resolve",
        json={"kind": "clearance", "reason": "  "},
        headers=h,
    )
    assert r.status_code == 422  # a clearance needs a written reason
    r = app_client.post(
        f"{API}/patients/{b.pid}/red-flags/{alert_id}/resolve",
        json={"kind": "clearance", "reason": "headache familiar for years; obstetrician aware"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    _assert_plannable(app_client, cli, world, h, b.pid, db)


def test_medication_overuse_cleared_on_the_builder_page_plans(
    app_client: TestClient, world: World, login: Login, db: Database, cli: CliRunner
) -> None:
    b = _moh_diary(db, world)
    h = login(world.prac_x)
    page_login(app_client, world.prac_x)
    page = f"/clinic/patients/{b.pid}/prescription"
    html = app_client.get(page).text
    assert "triptan" in html and "intake" in html  # the overuse is shown: class and days
    r = app_client.post(
        page,
        data={"intent": "clear", "code": "P10_painkiller_or_new_drug", "kind": "referral"},
        headers=SAME,
    )
    assert r.status_code == 422 and "needs a reason" in r.text
    # Only a flag the record raises can be cleared this way.
    r = app_client.post(
        f"{API}/patients/{b.pid}/red-flags/clear",
        json={"code": "P6_pregnancy_puerperium", "kind": "clearance", "reason": "n/a"},
        headers=h,
    )
    assert r.status_code == 422
    r = app_client.post(
        page,
        data={
            "intent": "clear",
            "code": "P10_painkiller_or_new_drug",
            "kind": "referral",
            "reason": "GP to lead triptan withdrawal",
        },
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303 and "cleared=1" in r.headers["location"]
    alerts = app_client.get(f"{API}/patients/{b.pid}/red-flags", headers=h).json()
    (kept,) = [a for a in alerts if a["source"] == "record"]
    assert kept["resolution_kind"] == "referral" and kept["resolved_by_name"] == "Prac X"
    assert kept["resolution_reason"] == "GP to lead triptan withdrawal"
    assert "8.2.2" in kept["findings"][0]["evidence"][0]
    _assert_plannable(app_client, cli, world, h, b.pid, db)


def test_a_72_year_old_is_planned_once_screened_with_the_onset_date(
    app_client: TestClient, world: World, login: Login, db: Database, cli: CliRunner
) -> None:
    b = _no_screen_72(db, world)
    h = login(world.prac_x)
    page_login(app_client, world.prac_x)
    intake = f"/clinic/patients/{b.pid}/intake"
    # A screen without the onset date leaves "screen needed: onset date" (CLINICAL.md 2 item 5).
    r = app_client.post(
        intake, data={"flag": [], "asked": "yes"}, headers=SAME, follow_redirects=False
    )
    assert r.status_code == 303
    ready = app_client.get(f"{API}/patients/{b.pid}/readiness", headers=h).json()
    assert ready["screen"]["status"] == "onset_date_needed"
    assert ready["blocking"][0]["reason"].startswith("screen needed: onset date")
    onset = TODAY.replace(year=TODAY.year - 40, day=1).isoformat()
    r = app_client.post(
        intake,
        data={"flag": [], "asked": "yes", "first_headache_onset": onset},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303 and "screened=clear" in r.headers["location"]
    _assert_plannable(app_client, cli, world, h, b.pid, db)


def test_onset_at_65y6m_is_planned_after_a_referral(
    app_client: TestClient, world: World, login: Login, db: Database, cli: CliRunner
) -> None:
    b = _onset_65y6m(db, world)
    h = login(world.prac_x)
    page_login(app_client, world.prac_x)
    alert_id = _api_alert_id(app_client, h, b.pid, "O_older_age")
    r = app_client.post(
        f"{API}/patients/{b.pid}/red-flags/{alert_id}/resolve",
        json={"kind": "referral", "reason": "neurology: MRI normal, tension-type headache"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    _assert_plannable(app_client, cli, world, h, b.pid, db)


def test_a_screen_is_complete_only_with_all_15_items(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    # CLINICAL.md 2: the screen is 15 yes/no items; a partial one does not count.
    pid = _patient(db, world, "part-1")
    h = login(world.prac_x)
    r = app_client.post(
        f"{API}/patients/{pid}/red-flags/intake", json={"answers": {"fever": False}}, headers=h
    )
    assert r.status_code == 200
    ready = app_client.get(f"{API}/patients/{pid}/readiness", headers=h).json()
    assert ready["screen"]["status"] == "incomplete" and ready["ready"] is False
    answers = {f.code: False for f in CATALOGUE}
    r = app_client.post(
        f"{API}/patients/{pid}/red-flags/intake", json={"answers": answers}, headers=h
    )
    assert r.status_code == 200
    # Complete now, but the patient has no birth date: onset after 65 cannot be checked
    # (CLINICAL.md 2 item 5). PATCH /patients/{id} records it.
    ready = app_client.get(f"{API}/patients/{pid}/readiness", headers=h).json()
    assert ready["screen"]["status"] == "birth_date_needed" and ready["ready"] is False
    version = app_client.get(f"{API}/patients/{pid}", headers=h).json()["version"]
    r = app_client.patch(
        f"{API}/patients/{pid}",
        json={"version": version, "birth_date": "1985-04-02"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    ready = app_client.get(f"{API}/patients/{pid}/readiness", headers=h).json()
    assert ready["ready"] is True and ready["screen"]["status"] == "current"


def test_an_imported_dated_screen_counts_and_its_yes_answers_block(
    world: World, db: Database, cli: CliRunner, tmp_path: Any
) -> None:
    # A diary document's red_flags block with screened_on is a screen (docs/safety-gate.md).
    answers = {f.code: False for f in CATALOGUE}
    doc: dict[str, Any] = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "imp-1", "timezone": "UTC", "birth_date": "1990-02-02"},
        "days": [{"date": (TODAY - dt.timedelta(days=3)).isoformat(), "headache": True}],
        "red_flags": {"screened_on": "2026-13-01", "answers": answers},
    }
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc), "utf-8")
    args = ["import", str(path), "--clinic", str(world.clinic_x)]
    r = cli.invoke(app, args)
    assert r.exit_code == 2 and "red_flags.screened_on" in r.output  # located, nothing kept
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 3  # world's A, B, Y
    doc["red_flags"]["screened_on"] = (TODAY - dt.timedelta(days=10)).isoformat()
    doc["red_flags"]["first_headache_onset"] = "2008-01-01"
    path.write_text(json.dumps(doc), "utf-8")
    r = cli.invoke(app, args)
    assert r.exit_code == 0, r.output
    pid = json.loads(r.stdout)["patient_id"]
    with db.write() as s:
        result = gate.readiness(s, actor=Actor.system(world.clinic_x), patient_id=pid)
    assert result.ready is True and result.screen.status.value == "current"
    # A "yes" in an imported block opens an alert that blocks (CLINICAL.md 2: any yes refers).
    doc["red_flags"]["answers"]["positional"] = True
    path.write_text(json.dumps(doc), "utf-8")
    assert cli.invoke(app, args).exit_code == 0
    r = cli.invoke(app, ["prescribe", "--patient", str(pid), "--clinic", str(world.clinic_x)])
    assert r.exit_code == 6 and "P2: Positional headache" in " ".join(r.output.split())


def test_thunderclap_readings_block_until_cleared(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    # CLINICAL.md 2 item 4: a peak of 9-10 within one minute of onset, from the diary's own
    # intensity readings, with no warning sign ticked.
    pid = _patient(db, world, "tc-1", birth_date=dt.date(1985, 1, 1))
    screen(db, pid, onset=dt.date(2005, 1, 1))
    h = login(world.prac_x)
    day = (TODAY - dt.timedelta(days=2)).isoformat()
    attack = {
        "start": f"{day}T07:00:00",
        "end": f"{day}T15:00:00",
        "peak_intensity": 10,
        "readings": [{"at": f"{day}T07:00:40", "intensity": 10}],
    }
    r = app_client.post(f"{API}/patients/{pid}/attacks", json=attack, headers=h)
    assert r.status_code == 201, r.text
    r = app_client.post(f"{API}/patients/{pid}/prescriptions", json={}, headers=h)
    assert r.status_code == 409
    (reason,) = r.json()["reasons"]
    assert reason["code"] == "O_onset_sudden" and reason["source"] == "record"
    assert "40 s after onset" in reason["evidence"][0]
    r = app_client.post(
        f"{API}/patients/{pid}/red-flags/clear",
        json={"code": "O_onset_sudden", "kind": "referral", "reason": "ED: CT and LP normal"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert (
        app_client.post(f"{API}/patients/{pid}/prescriptions", json={}, headers=h).status_code
        == 201
    )


def test_a_screen_older_than_the_validity_period_is_needed_again(
    world: World, db: Database, cli: CliRunner, tmp_path: Any
) -> None:
    # ACUHEAD_SCREEN_VALID_MONTHS (12 by default, a product choice): an old screen is expired.
    doc: dict[str, Any] = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "exp-1", "timezone": "UTC", "birth_date": "1990-02-02"},
        "days": [{"date": (TODAY - dt.timedelta(days=3)).isoformat(), "headache": False}],
        "red_flags": {
            "screened_on": add_months(TODAY, -12).isoformat(),
            "answers": {f.code: False for f in CATALOGUE},
            "first_headache_onset": "2010-01-01",
        },
    }
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc), "utf-8")
    r = cli.invoke(app, ["import", str(path), "--clinic", str(world.clinic_x)])
    assert r.exit_code == 0, r.output
    pid = json.loads(r.stdout)["patient_id"]
    args = ["prescribe", "--patient", str(pid), "--clinic", str(world.clinic_x)]
    r = cli.invoke(app, args)
    assert r.exit_code == 6 and "older than 12 months" in " ".join(r.output.split())
    doc["red_flags"]["screened_on"] = add_months(TODAY, -11).isoformat()
    path.write_text(json.dumps(doc), "utf-8")
    assert cli.invoke(app, ["import", str(path), "--clinic", str(world.clinic_x)]).exit_code == 0
    assert cli.invoke(app, args).exit_code == 0


def test_no_birth_date_is_planned_once_the_intake_page_records_it(
    app_client: TestClient, world: World, login: Login, db: Database, cli: CliRunner
) -> None:
    """CLINICAL.md 2 item 5: an unknown age is not "under 65". The builder says "birth date"
    and links the intake page, which asks for the birth date while the record has none."""
    b = _no_birth_date_screened(db, world)
    h = login(world.prac_x)
    page_login(app_client, world.prac_x)
    ready = app_client.get(f"{API}/patients/{b.pid}/readiness", headers=h).json()
    assert ready["screen"]["status"] == "birth_date_needed"
    assert ready["blocking"][0]["reason"].startswith("screen needed: birth date")
    html = app_client.get(f"/clinic/patients/{b.pid}/prescription").text
    assert "with the patient&#39;s birth date" in html or "with the patient's birth date" in html
    intake = f"/clinic/patients/{b.pid}/intake"
    block = app_client.get(f"/clinic/patients/{b.pid}").text.split('id="readiness"')[1]
    block = block.split("</section>")[0]  # the patient page says it too, with the intake link
    assert "screen needed: birth date" in block and f'href="{intake}"' in block
    form = app_client.get(intake).text
    check_markup(form)
    assert 'name="birth_date"' in form
    future = (TODAY + dt.timedelta(days=3)).isoformat()
    r = app_client.post(
        intake, data={"flag": [], "asked": "yes", "birth_date": future}, headers=SAME
    )
    assert r.status_code == 422 and "future" in r.text
    r = app_client.post(
        intake,
        data={"flag": [], "asked": "yes", "birth_date": "1979-03-04",
              "first_headache_onset": "2001-01-01"},
        headers=SAME,
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    with db.read() as s:
        patient = s.get(Patient, b.pid)
        assert patient is not None and patient.birth_date == dt.date(1979, 3, 4)
    assert 'name="birth_date"' not in app_client.get(intake).text  # known now: not asked again
    _assert_plannable(app_client, cli, world, h, b.pid, db)


def test_puerperium_from_the_api_blocks_and_shows_on_the_builder(
    app_client: TestClient, world: World, login: Login, db: Database
) -> None:
    """SNNOOP10 P6 is pregnancy *or puerperium* (CLINICAL.md 2 item 11): the safety fact
    ``puerperium`` raises P6 from the record, and the builder's safety profile names it."""
    h = login(world.prac_x)
    page_login(app_client, world.prac_x)
    r = app_client.post(
        f"{API}/patients",
        json={"external_id": "pp-1", "birth_date": "1993-02-02",
              "safety": {"puerperium": True}},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["safety"]["puerperium"] is True
    screen(db, pid, onset=dt.date(2010, 1, 1))
    ready = app_client.get(f"{API}/patients/{pid}/readiness", headers=h).json()
    assert [b["code"] for b in ready["blocking"]] == ["P6_pregnancy_puerperium"]
    assert "puerperium" in ready["blocking"][0]["evidence"][0]
    html = app_client.get(f"/clinic/patients/{pid}/prescription").text
    profile = html.split('class="safety-profile"')[1].split("</p>")[0]
    assert "puerperium" in profile
