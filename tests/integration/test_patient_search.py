"""Patient search on both engines: by name, external id or birth date (ISO and German
format), tenant-scoped (another clinic's patient is never found), paged, staff only; and the
search box is on every practitioner page."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from acuhead.errors import Forbidden, ValidationError
from acuhead.services import diary
from acuhead.services import patient_search as search
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import User

from .factories import World
from .test_pages import page_login


@pytest.fixture
def people(db: Database, world: World) -> dict[str, int]:
    out = {}
    with db.write() as s:
        x, y = Actor.system(world.clinic_x), Actor.system(world.clinic_y)
        out["anna"] = diary.create_patient(
            s,
            actor=x,
            external_id="K-0042",
            display_name="Anna Müller",
            birth_date=dt.date(1980, 3, 4),
        ).id
        out["hans"] = diary.create_patient(
            s,
            actor=x,
            external_id="K-0043",
            display_name="Hans Mueller",
            birth_date=dt.date(1975, 12, 1),
        ).id
        out["pct"] = diary.create_patient(s, actor=x, external_id="100%_sure").id
        # another clinic: same name, same birth date, same external id pattern
        out["other"] = diary.create_patient(
            s,
            actor=y,
            external_id="K-0042",
            display_name="Anna Müller",
            birth_date=dt.date(1980, 3, 4),
        ).id
    return out


def _prac(db: Database, email: str) -> Actor:
    with db.read() as s:
        u = s.scalars(select(User).where(User.email == email)).one()
        return Actor(u.id, u.clinic_id, Role(u.role))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("anna", ["anna"]),
        ("MÜLLER", ["anna"]),  # case ignored
        ("mue", ["hans"]),
        ("k-004", ["anna", "hans"]),
        ("K-0043", ["hans"]),
        ("1980-03-04", ["anna"]),
        ("04.03.1980", ["anna"]),
        ("4.3.1980", ["anna"]),
        ("01.12.1975", ["hans"]),
        ("%", ["pct"]),  # a wildcard character is matched literally
        ("_", ["pct"]),
        ("nobody", []),
    ],
)
def test_search_finds_only_this_clinic(
    db: Database, world: World, people: dict[str, int], query: str, expected: list[str]
) -> None:
    prac = _prac(db, world.prac_x)
    with db.read() as s:
        found = search.search(s, actor=prac, query=query)
    assert sorted(f.patient_id for f in found.items) == sorted(people[k] for k in expected)
    assert people["other"] not in {f.patient_id for f in found.items}
    other = _prac(db, world.prac_y)
    with db.read() as s:
        theirs = search.search(s, actor=other, query=query)
    assert {f.patient_id for f in theirs.items} <= {people["other"]}


def test_search_pages_and_refuses(db: Database, world: World) -> None:
    with db.write() as s:
        x = Actor.system(world.clinic_x)
        for i in range(45):
            diary.create_patient(
                s, actor=x, external_id=f"P-{i:03d}", display_name=f"Petra {i:03d}"
            )
    prac = _prac(db, world.prac_x)
    with db.read() as s:
        first = search.search(s, actor=prac, query="petra")
        last = search.search(s, actor=prac, query="petra", page=3)
        beyond = search.search(s, actor=prac, query="petra", page=9)
    assert (first.total, first.pages, len(first.items), len(last.items)) == (45, 3, 20, 5)
    assert first.items[0].external_id == "P-000" and last.items[-1].external_id == "P-044"
    assert beyond.page == 3
    with db.read() as s, pytest.raises(ValidationError, match="not a date"):
        search.search(s, actor=prac, query="31.02.1980")
    patient = Actor(None, world.clinic_x, Role.PATIENT, patient_id=world.patient_a)
    with db.read() as s, pytest.raises(Forbidden):
        search.search(s, actor=patient, query="A-1")


def test_search_page_and_box_on_practitioner_pages(
    app_client: TestClient, db: Database, world: World, people: dict[str, int]
) -> None:
    page_login(app_client, world.prac_x)
    for url in ("/clinic", "/clinic/appointments", f"/clinic/patients/{world.patient_a}"):
        html = app_client.get(url).text
        assert 'action="/clinic/search"' in html and 'id="nav-search"' in html, url
    r = app_client.get("/clinic/search", params={"q": "04.03.1980"})
    assert r.status_code == 200
    assert f"/clinic/patients/{people['anna']}" in r.text
    assert f"/clinic/patients/{people['other']}" not in r.text
    assert "1 patient found" in r.text
    book = app_client.get("/clinic/appointments?patient=K-0042")
    assert 'name="patient" type="text" value="K-0042"' in book.text  # prefilled from the list
    assert "/clinic/appointments?patient=K-0042#book" in r.text
    bad = app_client.get("/clinic/search", params={"q": "31.02.1980"})
    assert bad.status_code == 422 and "not a date in the calendar" in bad.text
    app_client.cookies.clear()
    page_login(app_client, world.patient_a_email)
    assert 'id="nav-search"' not in app_client.get("/diary").text
    r = app_client.get("/clinic/search?q=anna", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/diary"
