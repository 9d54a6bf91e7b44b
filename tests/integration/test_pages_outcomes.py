"""The outcome panel of the practitioner's patient page, on both engines.

The panel must show exactly what ``services.outcomes.patient_outcomes`` computes (the same
figures as ``acuhead outcomes`` and the practice report), say what is missing when there is no
treatment course yet, and word every trigger and mechanism as an association, never a cause.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from acuhead import demo
from acuhead.analytics.results import PatientOutcomes
from acuhead.cli import app
from acuhead.config import get_settings
from acuhead.domain.diary import DiaryDay
from acuhead.services import clinical, diary, outcomes
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import Patient, User
from acuhead.web.outcome_panel import build_panel, num, signed

from .factories import World
from .test_pages import check_markup, page_login

PRACTITIONER = "practitioner@demo.acuhead.test"
PATIENT = "patient@demo.acuhead.test"
CAUSAL = ("caused by", "is caused", "cause of", "triggered by", "due to", "leads to", "because of")


def login_demo(client: TestClient, email: str) -> None:
    client.cookies.clear()
    page_login(client, email, demo.DEMO_PASSWORDS[email][1])


def section(markup: str, start: str, end: str = "</section>") -> str:
    i = markup.index(start)
    return markup[i : markup.index(end, i)]


def row(markup: str, attr: str) -> str:
    """The markup of the table row, article or list item carrying ``attr``."""
    m = re.search(rf"<(tr|article|li)[^>]*{re.escape(attr)}[^>]*>(.*?)</\1>", markup, re.S)
    assert m, attr
    return m.group(2)


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


@pytest.fixture
def treated(db: Database) -> dict[str, Any]:
    """A demo patient 150 days into the diary, treated from day 29, with questionnaires; the
    figures the service computes for them."""
    result = demo.generate(db, patients=1, days=150, seed=5)
    actor = Actor.system(result.clinic_id)
    with db.write() as s:
        user = s.scalars(select(User.id).where(User.email == PATIENT)).one()
        pid = s.scalars(select(Patient.id).where(Patient.user_id == user)).one()
        patient = s.get(Patient, pid)
        assert patient is not None
        today = diary.local_today(patient.timezone)
        for days_ago, total in ((140, 64), (10, 55)):
            clinical.record_questionnaire(
                s,
                actor=actor,
                patient_id=pid,
                instrument="hit6",
                completed_on=today - dt.timedelta(days=days_ago),
                answers={"total": total},
            )
        clinical.record_questionnaire(
            s,
            actor=actor,
            patient_id=pid,
            instrument="pgic",
            completed_on=today - dt.timedelta(days=10),
            answers={"items": [2]},
        )
    with db.write() as s:
        out = outcomes.patient_outcomes(s, actor=actor, patient_id=pid).to_json()
    return {"pid": pid, "out": out}


def test_panel_shows_the_figures_the_service_computes(
    app_client: TestClient, treated: dict[str, Any]
) -> None:
    out = treated["out"]
    assert out["anchor"] is not None and out["blocks"], "the demo patient has a course"
    login_demo(app_client, PRACTITIONER)
    r = app_client.get(f"/clinic/patients/{treated['pid']}")
    assert r.status_code == 200
    check_markup(r.text)
    panel = section(r.text, 'id="outcomes"')

    anchor = dt.date.fromisoformat(out["anchor"])
    assert f"first session {anchor:%d %b %Y}" in panel
    assert f"{out['sessions']['count']} sessions" in panel
    # Every window, baseline and blocks: rate per 28, raw count and change for each measure,
    # compliance and late entries, with low-compliance blocks flagged.
    for window in [out["baseline"], *out["blocks"]]:
        cells = row(panel, f'data-window="{window["index"]}"')
        for key in ("migraine_days", "headache_days", "moderate_severe_days"):
            expected = f'{num(window[f"{key}_per_28"])} <span class="count">({window[key]})</span>'
            assert expected in cells, (window["label"], key)
        for key in ("acute_medication_days", "attacks"):
            assert f'<span class="count">({window[key]})</span>' in cells
        assert f"{window['recorded_days']} of {window['days']} (" in cells
        assert f"{window['late_days']} ({round(window['late_share'] * 100)}\u00a0%)" in cells
        if window["index"] >= 0:
            change = window["change"]["migraine_days_per_28"]
            if change is not None:
                assert f'<span class="change">{signed(change)}</span>' in cells
        flagged = "low compliance" in cells or "in&nbsp;progress" in cells
        assert flagged == bool(window["low_compliance"]), window["label"]

    # The endpoint and responder status at weeks 9-12.
    base, change = out["baseline"], out["change"]
    assert f'data-figure="baseline-mmd">{num(base["migraine_days_per_28"])}<' in panel
    assert f'data-figure="change-mmd">{signed(change["migraine_days_per_28"])}' in panel
    for threshold, met in out["responder"].items():
        word = {True: "yes", False: "no", None: "not known"}[met]
        assert f'data-responder="{threshold}">≥{threshold} %: {word}<' in panel

    # Questionnaires and session relief.
    hit6 = text(row(panel, 'data-instrument="HIT-6"'))
    assert out["questionnaires"]["hit6"]["change"] == -9
    assert "64" in hit6 and "55" in hit6 and "−9" in hit6
    assert "much improved" in text(row(panel, 'data-instrument="PGIC"')).replace("_", " ")
    relief = out["session_relief"]
    figure = text(section(panel, 'data-figure="session-relief"', "</p>"))
    assert num(relief["mean_relief"]) in figure
    assert f"95 % CI {num(relief['ci_low'], 1)} to {num(relief['ci_high'], 1)}" in figure

    # Mechanisms: baseline mean, change at the endpoint and the evidence grade per measure.
    for m in out["mechanisms"]["observable"]:
        article = text(row(panel, f'data-measure="{m["measure"]}"'))
        assert f"Baseline mean {num(m['baseline_mean'])}" in article
        assert f"(change {signed(m['change_at_primary'])})" in article
        if m["grade"]:
            assert m["grade"] in article
    for m in out["mechanisms"]["not_measurable"]:
        assert m["grade"] in text(row(panel, f'data-mechanism="{m["key"]}"'))

    # Triggers: an odds ratio with its interval, or "not enough data" with the minimum.
    for f in out["triggers"]["factors"]:
        cells = text(row(panel, f'data-factor="{f["factor"]}"'))
        if f["verdict"] == "not enough data":
            assert "not enough data" in cells and "(need" in cells
            assert "CI" not in cells  # no ratio is offered when the data are too thin
        else:
            assert num(f["odds_ratio"], 2) in cells
            assert f"95 % CI {num(f['ci_low'], 2)} to {num(f['ci_high'], 2)}" in cells
    assert "at least 10 days with it and 20 without" in text(panel)


def test_triggers_and_mechanisms_are_associations_never_causes(
    app_client: TestClient, treated: dict[str, Any]
) -> None:
    login_demo(app_client, PRACTITIONER)
    panel = section(app_client.get(f"/clinic/patients/{treated['pid']}").text, 'id="outcomes"')
    words = text(panel).lower()
    for phrase in CAUSAL:
        assert phrase not in words, phrase
    mechanisms = section(panel, 'id="mechanisms-heading"', 'id="triggers-heading"')
    triggers = panel[panel.index('id="triggers-heading"') :]
    assert "(association, not cause)" in mechanisms and "(association, not cause)" in triggers
    # Each measure's link with headache days is an association or "not enough data", with its
    # uncertainty when one is given.
    for measure in ("stress", "neck_tension", "sleep_hours"):
        article = text(row(panel, f'data-measure="{measure}"'))
        assert "an association, not a cause" in article or "Not enough data" in article
        if "Spearman" in article:
            assert "95 % CI" in article
    assert "not proof" in text(triggers)


def test_patient_without_a_course_is_told_what_is_needed(
    app_client: TestClient, world: World, db: Database
) -> None:
    today = diary.local_today("Europe/Berlin")
    with db.write() as s:
        for k in range(1, 6):
            diary.upsert_day(
                s,
                actor=Actor.system(world.clinic_x),
                patient_id=world.patient_a,
                day=DiaryDay(date=today - dt.timedelta(days=k), headache=k == 2, stress=4),
            )
    page_login(app_client, world.prac_x)
    r = app_client.get(f"/clinic/patients/{world.patient_a}")
    assert r.status_code == 200
    check_markup(r.text)
    panel = text(section(r.text, 'id="outcomes"'))
    assert "No treatment session is recorded yet" in panel
    assert "the baseline starts 28 days before the first session" in panel
    assert "at least 23 of those 28 days (80 %)" in panel
    assert "In the last 28 days, 5 of 28 days were recorded." in panel
    assert "Change at" not in panel  # no endpoint without a course
    assert "stress >= 7/10" in panel and "not enough data" in panel


def test_charts_mark_the_course_for_practitioner_and_patient(
    app_client: TestClient, treated: dict[str, Any]
) -> None:
    anchor = dt.date.fromisoformat(treated["out"]["anchor"])
    for who, url in (
        (PRACTITIONER, f"/clinic/patients/{treated['pid']}"),
        (PATIENT, "/diary/overview"),
    ):
        login_demo(app_client, who)
        page = app_client.get(url).text
        chart = section(page, 'id="migraine-days"')
        assert f'class="chart-course" data-start="{anchor.isoformat()}"' in chart, who
        assert 'class="chart-course-mark"' in chart and "stroke-dasharray" in chart
        assert chart.count('class="chart-session"') == treated["out"]["sessions"]["count"]
        assert f"first {anchor:%d %b %Y}" in text(chart), who
    # The patient's overview shows the chart, not the clinician's outcome panel.
    assert 'id="outcomes"' not in page


@pytest.fixture
def long_course(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A demo patient 260 days into the diary: a baseline and seven 28-day blocks, enough for a
    within-patient association (five blocks needed). The CLI reads this test's database."""
    demo.generate(db, patients=1, days=260, seed=5, end=dt.date(2026, 5, 31))
    with db.read() as s:
        user = s.scalars(select(User.id).where(User.email == PATIENT)).one()
        pid = s.scalars(select(Patient.id).where(Patient.user_id == user)).one()
    monkeypatch.setenv("ACUHEAD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield pid
    get_settings.cache_clear()


def test_outcomes_json_carries_the_association_the_panel_shows(
    app_client: TestClient, long_course: int
) -> None:
    pid = long_course
    r = app_client.post(
        "/api/v1/auth/login",
        json={"email": PRACTITIONER, "password": demo.DEMO_PASSWORDS[PRACTITIONER][1]},
    )
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    app_client.cookies.clear()
    api = app_client.get(f"/api/v1/patients/{pid}/outcomes", headers=h)
    assert api.status_code == 200, api.text
    out = api.json()
    cli = CliRunner().invoke(app, ["outcomes", str(pid), "--format", "json"])
    assert cli.exit_code == 0, cli.output
    from_cli = json.loads(cli.stdout)

    login_demo(app_client, PRACTITIONER)
    page = app_client.get(f"/clinic/patients/{pid}")
    assert page.status_code == 200
    panel = section(page.text, 'id="outcomes"')
    typed = PatientOutcomes.model_validate(out)  # the API's JSON reads back into the type
    lines = {line.measure: line for line in build_panel(typed).mechanisms}
    computed = 0
    for m, m_cli in zip(
        out["mechanisms"]["observable"], from_cli["mechanisms"]["observable"], strict=True
    ):
        assoc = m["association"]
        assert m_cli["association"] == assoc, m["measure"]  # the CLI and the API agree
        assert assoc["method"] == "spearman" and assoc["level"] == 0.95
        # The summary is of the series the JSON gives beside it: one count per usable block.
        usable = [
            b
            for b in m["by_block"]
            if b["index"] >= 0 and b["mean"] is not None and b["headache_days_per_28"] is not None
        ]
        assert assoc["n_blocks"] == len(usable)
        article = text(row(panel, f'data-measure="{m["measure"]}"'))
        if assoc["rho"] is None:
            assert "Spearman" not in article and not lines[m["measure"]].association_found
            continue
        computed += 1
        assert assoc["ci_low"] < assoc["rho"] < assoc["ci_high"]
        shown = (
            f"Spearman \u03c1 {num(assoc['rho'], 2)}, "
            f"95 % CI {num(assoc['ci_low'], 2)} to {num(assoc['ci_high'], 2)}"
        )
        assert shown in article, (m["measure"], article)
        assert f"Across {assoc['n_blocks']} blocks" in article
        assert lines[m["measure"]].association_found
        words = {
            "same direction": "same direction as headache days",
            "opposite direction": "opposite direction to headache days",
            "no clear association": "no clear association with headache days",
        }
        assert words[assoc["verdict"]] in article
    assert computed, "the 260-day demo patient has an association to show"
