"""Issue 15, session history: the history page (readable STRICTA, notes shown and escaped,
latest first), correcting a session (audited, the previous version kept, 428/409 on the
version), and the quick session form (about ten controls, the previous session's points, a
valid STRICTA record through the same use case as the full form). Both engines."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from acuhead.domain.sessions import validate_session
from acuhead.services import care, diary
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import AuditEvent, SessionVersionRow, TreatmentSessionRow

from .factories import World, screen
from .test_pages import SAME, check_markup, page_login

SESSION: dict[str, Any] = {
    "style": "tcm",
    "points": [
        {"code": "GB20", "side": "both", "depth": {"value": 0.8, "unit": "cun"}},
        {"code": "LI4", "side": "left"},
        {"code": "GV20"},
    ],
    "stimulation": {"method": "electro", "frequency_hz": [2, 100], "intensity_ma": 0.5},
    "retention_min": 25,
    "response_sought": ["deqi"],
    "response_obtained": ["deqi"],
    "pain_before": 6,
    "pain_after": 3,
    "practitioner": "Prac X",
    "adverse_events": [{"type": "haematoma", "severity": "mild", "action_taken": "pressure"}],
}


def add_session(db: Database, world: World, start: str, **extra: Any) -> int:
    with db.write() as s:
        row = care.create_treatment_session(
            s,
            actor=Actor.system(world.clinic_x),
            patient_id=world.patient_a,
            data={**SESSION, "start": start, **extra},
        )
        return row.id


def base(world: World) -> str:
    return f"/clinic/patients/{world.patient_a}/sessions"


def visible_text(html: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_history_shows_sessions_latest_first_in_words_with_their_notes(
    app_client: TestClient, world: World, db: Database
) -> None:
    add_session(db, world, "2026-03-02T09:30:00", notes="first visit <b>neck</b>")
    add_session(db, world, "2026-03-09T10:00:00", notes="second visit, calmer")
    c = app_client
    page_login(c, world.prac_x)
    r = c.get(base(world))
    assert r.status_code == 200
    html = r.text
    check_markup(html)
    assert html.index("second visit, calmer") < html.index("first visit")  # latest first
    assert "first visit &lt;b&gt;neck&lt;/b&gt;" in html  # escaped, never markup
    text = visible_text(html)
    assert "GB20 Fengchi, both sides, 0.8 cun deep" in text
    assert "LI4 Hegu, left" in text
    assert "Electro-stimulation 2/100 Hz, 0.5 mA" in text
    assert "needles kept in for 25 minutes" in text
    assert "6 before, 3 after" in text
    assert "haematoma (bruise), mild: pressure" in text
    assert "Traditional Chinese medicine (TCM)" in text
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)
    # The patient page links to it.
    assert f'href="{base(world)}"' in c.get(f"/clinic/patients/{world.patient_a}").text


def test_history_is_for_this_clinic_s_staff_only(
    app_client: TestClient, world: World, db: Database
) -> None:
    add_session(db, world, "2026-03-02T09:30:00")
    c = app_client
    page_login(c, world.prac_y)
    assert c.get(base(world)).status_code == 404
    c.cookies.clear()
    page_login(c, world.patient_a_email)
    assert c.get(base(world), follow_redirects=False).status_code == 303


def test_correcting_a_session_keeps_the_previous_version_and_needs_the_version(
    app_client: TestClient, world: World, db: Database
) -> None:
    sid = add_session(db, world, "2026-03-02T09:30:00", notes="as first written")
    c = app_client
    page_login(c, world.prac_x)
    edit = f"{base(world)}/{sid}/edit"
    html = c.get(edit).text
    check_markup(html)
    assert 'name="version" value="1"' in html
    assert "as first written</textarea>" in html
    assert '<option value="6" selected>' in html or 'name="pain_before" value="6"' in html

    def form(version: str | None, notes: str) -> dict[str, Any]:
        f: dict[str, Any] = {
            "start_date": "2026-03-02",
            "start_time": "09:30",
            "practitioner": "Prac X",
            "style": "tcm",
            "point": ["GB20", "LI4"],
            "side-GB20": "both",
            "side-LI4": "left",
            "depth_unit": "cun",
            "pain_before": "6",
            "pain_after": "2",
            "notes": notes,
        }
        if version is not None:
            f["version"] = version
        return f

    r = c.post(edit, data=form(None, "no version"), headers=SAME)
    assert r.status_code == 428
    r = c.post(edit, data=form("1", "corrected: pain after was 2"), headers=SAME,
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    r = c.post(edit, data=form("1", "a stale tab"), headers=SAME)
    assert r.status_code == 409
    assert "a stale tab</textarea>" in r.text  # nothing typed is lost
    with db.read() as s:
        row = s.get(TreatmentSessionRow, sid)
        assert row is not None and row.version == 2 and row.pain_after == 2
        assert row.record["notes"] == "corrected: pain after was 2"
        (old,) = s.scalars(select(SessionVersionRow)).all()
        assert (old.version, old.record["notes"], old.record["pain_after"]) == (
            1, "as first written", 3,
        )  # fmt: skip
        audited = s.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "treatment_session", AuditEvent.entity_id == str(sid)
            )
        ).all()
        assert "update" in audited
    html = c.get(base(world)).text
    assert "corrected: pain after was 2" in html
    assert "Corrected 1 time" in html and "as first written" in html


def test_quick_session_prefills_the_last_points_and_stores_a_valid_stricta_record(
    app_client: TestClient, world: World, db: Database
) -> None:
    screen(db, world.patient_a)
    add_session(db, world, "2026-03-02T09:30:00")
    c = app_client
    page_login(c, world.prac_x)
    quick = f"{base(world)}/quick"
    html = c.get(quick).text
    check_markup(html)
    assert 'value="GB20, LI4, GV20"' in html
    controls = re.findall(r"<(?:input|select|textarea)\b(?![^>]*type=\"hidden\")", html)
    assert len(controls) <= 11, len(controls)  # ~ten controls (the radio pair counts twice)
    assert f'href="{base(world)}/new?from=previous"' in html  # the full form, one click away

    today = diary.local_today("Europe/Berlin").isoformat()
    bad = {"start_date": today, "start_time": "08:15", "points": "GB20, Nowhere",
           "pain_before": "12", "adverse": "yes", "notes": "kept"}  # fmt: skip
    r = c.post(quick, data=bad, headers=SAME)
    assert r.status_code == 422
    check_markup(r.text)
    for field in ("points", "pain_before", "ae_type", "ae_severity"):
        assert f'id="{field}-error"' in r.text, field
    assert "kept</textarea>" in r.text

    good = {"start_date": today, "start_time": "08:15", "points": "GB20, LI4, PC6",
            "pain_before": "5", "pain_after": "2", "adverse": "yes", "ae_type": "dizziness",
            "ae_severity": "mild", "notes": "quick note <i>"}  # fmt: skip
    r = c.post(quick, data=good, headers=SAME, follow_redirects=False)
    assert r.status_code == 303, r.text
    with db.read() as s:
        row = s.scalars(select(TreatmentSessionRow).order_by(TreatmentSessionRow.id.desc())).first()
        assert row is not None
        record = validate_session(row.record)  # a complete STRICTA record
        assert [p.code for p in record.points] == ["GB20", "LI4", "PC6"]
        gb20 = record.points[0]
        assert gb20.depth is not None and gb20.depth.value == 0.8  # carried from last time
        assert record.retention_min == 25 and record.stimulation.method == "electro"
        assert (row.pain_before, row.pain_after) == (5, 2)
        assert [e.type.value for e in record.adverse_events] == ["dizziness"]
        assert record.response_obtained == ()  # the visit's own data is not carried
    history = c.get(r.headers["location"]).text
    assert "quick note &lt;i&gt;" in history
    assert history.index("quick note") < history.index("02 Mar 2026")  # the latest first


def test_quick_session_without_an_earlier_one_and_with_an_open_red_flag(
    app_client: TestClient, world: World, db: Database
) -> None:
    """The same warnings as the full form (the gate's answer; recording what was done is not
    planning, so it is not refused), and a first session is a valid record too."""
    c = app_client
    page_login(c, world.prac_x)
    html = c.get(f"{base(world)}/quick").text
    assert "Not ready to plan treatment" in html  # no intake screen yet: the gate says so
    today = diary.local_today("Europe/Berlin").isoformat()
    r = c.post(f"{base(world)}/quick", headers=SAME, follow_redirects=False,
               data={"start_date": today, "start_time": "08:00", "points": "GB20",
                     "adverse": "no"})  # fmt: skip
    assert r.status_code == 303, r.text
    with db.read() as s:
        (row,) = s.scalars(select(TreatmentSessionRow)).all()
        assert validate_session(row.record).practitioner == "Prac X"


def test_a_session_with_more_events_than_the_form_shows_is_not_corrected_there(
    app_client: TestClient, world: World, db: Database
) -> None:
    """The form has three event rows: saving it would drop the fourth, so it refuses."""
    events = [{"type": t, "severity": "mild"} for t in ("pain", "bleeding", "nausea", "dizziness")]
    sid = add_session(db, world, "2026-03-02T09:30:00", adverse_events=events)
    c = app_client
    page_login(c, world.prac_x)
    edit = f"{base(world)}/{sid}/edit"
    assert "has 4 adverse events" in c.get(edit).text
    form = {"version": "1", "start_date": "2026-03-02", "start_time": "09:30", "style": "tcm",
            "point": ["GB20"], "depth_unit": "cun"}  # fmt: skip
    r = c.post(edit, headers=SAME, data=form)
    assert r.status_code == 422 and "has 4 adverse events" in r.text
    with db.read() as s:
        row = s.get(TreatmentSessionRow, sid)
        assert row is not None and row.version == 1 and len(row.record["adverse_events"]) == 4
