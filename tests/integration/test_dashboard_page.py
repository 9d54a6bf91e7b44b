"""The clinic dashboard lists what needs attention beyond red flags and silent diaries: the
questionnaires the clinic's schedule says are due, and recent adverse events (issue 6)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from acuhead.store.db import Database
from acuhead.store.models import QuestionnaireSchedule

from .factories import World
from .test_api_care import API, FULL_SESSION, Login
from .test_pages import page_login


def _section(html: str, section_id: str) -> str:
    """The card with this id: a section, or a collapsed ``<details>`` list (issue 15)."""
    start = html.index(f'id="{section_id}"')
    ends = [i for i in (html.find("</section>", start), html.find("</details>", start)) if i > 0]
    return html[start : min(ends)]


def test_dashboard_lists_due_questionnaires_and_recent_adverse_events(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    with db.write() as s:
        s.add(QuestionnaireSchedule(clinic_id=world.clinic_x, instrument="hit6", every_days=28))
    h = login(world.prac_x)
    # Three days before patient A's own today (Berlin): with the machine's date, a run between
    # 23:00 and 24:00 UTC saw A four days overdue.
    a_today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    start = (a_today - dt.timedelta(days=3)).isoformat() + "T10:00:00"
    r = app_client.post(
        f"{API}/patients/{world.patient_a}/sessions",
        json={**FULL_SESSION, "start": start},
        headers=h,
    )
    assert r.status_code == 201, r.text

    page_login(app_client, world.prac_x)
    html = app_client.get("/clinic").text
    due = _section(html, "due")
    # HIT-6 is first due when care starts (the session 3 days ago); patient B has no session,
    # so for B care started at registration today.
    assert f"/clinic/patients/{world.patient_a}" in due and "HIT-6 3 days overdue" in due
    assert f"/clinic/patients/{world.patient_b}" in due and "HIT-6 due today" in due
    events = _section(html, "adverse-events")
    assert "haematoma, mild" in events and f"/clinic/patients/{world.patient_a}" in events

    # Clinic Y's practitioner sees none of clinic X's patients in either list.
    app_client.cookies.clear()
    page_login(app_client, world.prac_y)
    html_y = app_client.get("/clinic").text
    assert "No questionnaire is due." in _section(html_y, "due")
    assert "None recorded." in _section(html_y, "adverse-events")
