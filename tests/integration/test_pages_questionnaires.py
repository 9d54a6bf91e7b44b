"""Questionnaire and reminder-setting pages, without a browser, on both engines.

What a patient sees: the questionnaires due first (and a notice on the diary page), a form per
instrument whose errors sit next to the answer and keep what was typed, the saved score in the
history; and who may see it: only the patient themself, never staff, never another patient.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from acuhead.config import Settings
from acuhead.errors import Forbidden, NotFound
from acuhead.services import clinical, diary, questionnaire_due
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import QuestionnaireSchedule, User
from acuhead.web.app import create_app

from .factories import World
from .test_pages import SAME, berlin_today, check_markup, page_login

PAGES = ("/diary/questionnaires", "/diary/questionnaires/hit6", "/diary/settings")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(db: Database, data_dir: Path) -> Iterator[TestClient]:
    settings = Settings(env="test", data_dir=data_dir)
    with TestClient(create_app(settings, db), base_url="http://testserver") as c:
        yield c


def schedule(db: Database, clinic_id: int, **every: int) -> None:
    with db.write() as s:
        for instrument, days in every.items():
            s.add(
                QuestionnaireSchedule(clinic_id=clinic_id, instrument=instrument, every_days=days)
            )


def section(html: str, heading_id: str) -> str:
    """The text of one <section> of the page, found by its heading's id."""
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def test_anonymous_staff_and_patients_each_get_their_own_pages(
    client: TestClient, world: World
) -> None:
    for url in PAGES:
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url
    r = client.post("/diary/settings", data={}, headers=SAME, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = client.post("/diary/questionnaires/pgic", data={"q1": "2"}, headers=SAME)
    assert r.status_code == 200 and "Log in" in r.text  # followed to the login page, nothing saved

    page_login(client, world.prac_x)  # staff: the patient pages send them to the clinic
    for url in PAGES:
        r = client.get(url, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/clinic"), url
    r = client.post(
        "/diary/questionnaires/pgic", data={"q1": "2"}, headers=SAME, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, "/clinic")
    client.cookies.clear()

    page_login(client, world.patient_a_email)  # patients: staff pages send them to the diary
    for url in ("/clinic", f"/clinic/patients/{world.patient_a}"):
        r = client.get(url, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/diary"), url
    assert client.get("/diary/questionnaires/sf-36").status_code == 404
    with client.app.state.db.read() as s:  # type: ignore[attr-defined]
        assert (
            clinical.list_questionnaires(
                s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a
            )
            == []
        )


def test_due_questionnaires_come_first_and_show_on_the_diary_page(
    client: TestClient, world: World, db: Database
) -> None:
    schedule(db, world.clinic_x, hit6=28, midas=90, pgic=28)
    schedule(db, world.clinic_y, pss10=28)
    page_login(client, world.patient_a_email)
    html = client.get("/diary/questionnaires").text
    check_markup(html)
    due = section(html, "due-heading")
    # Registered today, no session yet: the baselines are due; PGIC waits for treatment.
    assert (
        'href="/diary/questionnaires/hit6"' in due and 'href="/diary/questionnaires/midas"' in due
    )
    assert "due today" in due and "pgic" not in due and "pss10" not in due
    assert html.index('id="due-heading"') < html.index('id="history-heading"')
    assert "No questionnaires filled in yet." in html

    diary_page = client.get("/diary").text
    notice = re.search(r'<p class="notice" id="questionnaires-due">(.*?)</p>', diary_page, re.S)
    assert notice is not None
    assert 'href="/diary/questionnaires"' in notice.group(1)
    assert "2 questionnaires are waiting" in notice.group(1)
    assert "HIT-6" in notice.group(1) and "MIDAS" in notice.group(1)

    # Once HIT-6 is answered it moves to "coming up", 28 days on.
    r = client.post("/diary/questionnaires/hit6", data={"total": "60"}, headers=SAME)
    assert r.status_code == 200
    html = r.text
    assert 'href="/diary/questionnaires/hit6"' not in section(html, "due-heading")
    upcoming = section(html, "next-heading")
    assert "HIT-6" in upcoming and "in 28 days" in upcoming
    assert "A questionnaire is waiting" in client.get("/diary").text


def test_a_saved_score_appears_in_the_history_of_that_patient_only(
    client: TestClient, world: World, db: Database
) -> None:
    page_login(client, world.patient_a_email)
    answers = {f"q{n}": "sometimes" for n in range(1, 7)}  # 6 x 10 points
    r = client.post(
        "/diary/questionnaires/hit6", data=answers, headers=SAME, follow_redirects=False
    )
    assert r.status_code == 303
    saved_url = r.headers["location"]
    assert re.fullmatch(r"/diary/questionnaires\?saved=\d+", saved_url)
    html = client.get(saved_url).text
    check_markup(html)
    assert "Saved, thank you. HIT-6: 60 (range 36–78) – severe impact." in html
    history = section(html, "history-heading")
    assert "HIT-6" in history and "60 (range 36–78)" in history and "severe impact" in history
    assert berlin_today().strftime("%d %b %Y") in history

    pss = {f"q{n}": "4" for n in range(1, 11)}  # items 4, 5, 7 and 8 are reversed: 6 x 4 = 24
    r = client.post("/diary/questionnaires/pss10", data=pss, headers=SAME)
    assert r.status_code == 200
    assert "PSS-10: 24 (range 0–40) – moderate stress (non-canonical band)" in r.text
    r = client.post("/diary/questionnaires/pgic", data={"q1": "2"}, headers=SAME)
    assert "PGIC – much improved" in r.text
    with db.read() as s:
        rows = clinical.list_questionnaires(
            s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a
        )
    assert [(r.instrument, r.total, r.band) for r in rows] == [
        ("hit6", 60, "severe"),
        ("pss10", 24, "moderate"),
        ("pgic", 2, "much_improved"),
    ]
    client.cookies.clear()

    page_login(client, world.patient_b_email)  # B sees none of it, even with A's row id
    html = client.get(saved_url).text
    assert "No questionnaires filled in yet." in html
    assert "Saved, thank you" not in html and "severe impact" not in html


def test_form_errors_sit_next_to_the_answer_and_keep_the_input(
    client: TestClient, world: World, db: Database
) -> None:
    page_login(client, world.patient_a_email)
    partial = {f"q{n}": "rarely" for n in range(1, 6)}  # question 6 left out
    r = client.post("/diary/questionnaires/hit6", data=partial, headers=SAME)
    assert r.status_code == 422
    check_markup(r.text)
    assert '<p class="field-error" id="q6-error">Choose an answer for question 6.</p>' in r.text
    assert r.text.count('value="rarely" checked') == 5
    assert "q1-error" not in r.text

    both = {**partial, "q6": "always", "total": "50"}
    r = client.post("/diary/questionnaires/hit6", data=both, headers=SAME)
    assert r.status_code == 422
    assert 'id="total-error">Enter either the six answers or the total' in r.text
    assert 'value="50"' in r.text and 'value="always" checked' in r.text

    r = client.post("/diary/questionnaires/hit6", data={"total": "37"}, headers=SAME)
    assert r.status_code == 422  # no six answers add up to 37 (domain rule)
    assert "no set of six HIT-6 answers adds up to 37" in r.text and 'value="37"' in r.text

    midas = {"q1": "60", "q2": "40", "q3": "0", "q4": "ten", "q5": "", "a": "12", "b": "11"}
    r = client.post("/diary/questionnaires/midas", data=midas, headers=SAME)
    assert r.status_code == 422
    check_markup(r.text)
    assert 'id="q4-error">Question 4: enter a whole number of days, 0 to 90.' in r.text
    assert 'id="q5-error">Enter a number of days for question 5' in r.text
    for name, value in midas.items():
        assert f'id="{name}" name="{name}" value="{value}"' in r.text, name
    midas.update(q4="5", q5="1")
    r = client.post("/diary/questionnaires/midas", data=midas, headers=SAME)
    assert r.status_code == 422  # now the domain's rules: Q1+Q2 <= 90 and B <= 10
    assert re.search(r'id="q2-error">MIDAS questions 1 and 2 together must be at most 90', r.text)
    assert re.search(r'id="b-error">MIDAS question B \(average pain\) must be 0-10', r.text)
    assert 'value="ten"' not in r.text and 'id="q4" name="q4" value="5"' in r.text

    r = client.post("/diary/questionnaires/pgic", data={"q1": "9"}, headers=SAME)
    assert r.status_code == 422 and 'id="q1-error">PGIC answer must be 1' in r.text
    r = client.post("/diary/questionnaires/pss10", data={"q1": "2"}, headers=SAME)
    assert r.status_code == 422 and 'id="q10-error">Choose an answer for question 10.' in r.text
    with db.read() as s:
        assert not clinical.list_questionnaires(
            s, actor=Actor.system(world.clinic_x), patient_id=world.patient_a
        )

    r = client.post(
        "/diary/questionnaires/hit6",
        data={"total": "60"},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403


def test_hit6_shows_numbers_unless_the_clinic_loaded_its_licensed_texts(
    client: TestClient, world: World, data_dir: Path
) -> None:
    page_login(client, world.patient_a_email)
    html = client.get("/diary/questionnaires/hit6").text
    check_markup(html)
    assert "<legend>Question 1 of 6</legend>" in html and "licensed" in html
    for label in ("Never", "Rarely", "Sometimes", "Very often", "Always"):
        assert f"> {label}</label>" in html
    # Synthetic stand-ins for a clinic's licensed file (the real wording is never shipped).
    texts = [f"Synthetic item {n}" for n in range(1, 7)]
    own = data_dir / "licensed" / f"clinic-{world.clinic_x}"
    own.mkdir(parents=True)
    (own / "hit6-items.txt").write_text("\n".join(["# licensed", *texts]), "utf-8")
    html = client.get("/diary/questionnaires/hit6").text
    assert "<legend>Question 3 of 6: Synthetic item 3</legend>" in html
    assert "gives them to you on paper" not in html
    (own / "hit6-items.txt").write_text(json.dumps(texts[:5]), "utf-8")  # broken: 5 texts
    assert "<legend>Question 3 of 6</legend>" in client.get("/diary/questionnaires/hit6").text
    for name in ("midas", "pss10", "pgic"):
        check_markup(client.get(f"/diary/questionnaires/{name}").text)


def test_a_patient_switches_reminders_off_and_on(
    client: TestClient, world: World, db: Database
) -> None:
    page_login(client, world.patient_a_email)
    html = client.get("/diary/settings").text
    check_markup(html)
    assert re.search(r'id="email_reminders" checked', html)
    assert "does not send e-mail at the moment" in html  # no SMTP host in these settings
    r = client.post("/diary/settings", data={}, headers=SAME, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/diary/settings?saved=1")
    html = client.get("/diary/settings?saved=1").text
    assert "Reminders are off" in html and 'id="email_reminders" checked' not in html
    assert "E-mail reminders are <strong>off</strong>" in client.get("/diary/questionnaires").text
    with db.read() as s:
        flags = dict(s.execute(select(User.email, User.email_reminders)).tuples().all())
    assert flags[world.patient_a_email] is False and flags[world.patient_b_email] is True
    r = client.post(
        "/diary/settings", data={"email_reminders": "on"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert r.status_code == 403
    client.post("/diary/settings", data={"email_reminders": "on"}, headers=SAME)
    with db.read() as s:
        assert s.scalar(select(User.email_reminders).where(User.email == world.patient_a_email))


def test_the_clinic_list_is_staff_only_and_one_query_for_any_number_of_patients(
    db: Database, world: World
) -> None:
    schedule(db, world.clinic_x, hit6=28)
    schedule(db, world.clinic_y, hit6=28)
    sx = Actor.system(world.clinic_x)

    def statements(run: Callable[[Session], object]) -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            with db.write() as s:
                run(s)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return sum(1 for sql in seen if sql.lstrip().upper().startswith("SELECT"))

    def clinic_list(s: Session) -> object:
        return questionnaire_due.for_clinic(s, actor=sx)

    few = statements(clinic_list)
    with db.write() as s:
        for n in range(40):
            diary.create_patient(s, actor=sx, external_id=f"many-{n}")
    assert statements(clinic_list) == few == 1

    with db.write() as s:
        due = questionnaire_due.for_clinic(s, actor=sx)
        assert {p.external_id for p in due} >= {"A-1", "B-1", "many-0"}
        assert "Y-1" not in {p.external_id for p in due}  # another clinic's patient
        assert all(d.instrument.value == "hit6" for p in due for d in p.due)
        patient_actor = Actor(None, world.clinic_x, Role.PATIENT, world.patient_a)
        with pytest.raises(Forbidden):
            questionnaire_due.for_clinic(s, actor=patient_actor)
        with pytest.raises(NotFound):  # a patient asking about another patient
            questionnaire_due.patient_status(s, actor=patient_actor, patient_id=world.patient_b)
