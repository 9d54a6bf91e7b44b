"""Clinic admin: one-time links to set a password, accounts, patient invitations, the
questionnaire schedule and the practice report page, on both engines.

What must hold: only the SHA-256 of a link's token is stored; a link works once, for a week,
and a newer one retires the older; an unusable link says why without saying whose it was;
using it sets the password, activates the account and ends its old sessions. Admin pages are
for the clinic's admins (the report also for practitioners), another clinic's account is a
404, and forms keep what was typed with the message next to the field.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html as html_lib
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acuhead import demo
from acuhead.domain.outcomes import OutcomeConfig
from acuhead.errors import Conflict, Forbidden, NotFound, ValidationError
from acuhead.services import accounts, diary, invitations, outcomes, schedules
from acuhead.services.actors import Actor, Role
from acuhead.services.invitations import LinkExpired, LinkUnknown, LinkUsed, Purpose
from acuhead.services.schedules import ScheduleEntry
from acuhead.store.db import Database
from acuhead.store.models import AuditEvent, Invitation, Patient, QuestionnaireSchedule, User

from .factories import PASSWORD, World
from .test_pages import SAME, check_markup, page_login

NEW_PASSWORD = "a-new-long-passphrase"
LINK = re.compile(r"http://testserver/invite/([A-Za-z0-9_\-]+)")

ADMIN_GETS = ("/admin", "/admin/users", "/admin/invitations", "/admin/schedule")


def _id(db: Database, email: str) -> int:
    with db.read() as s:
        return int(s.scalars(select(User.id).where(User.email == email)).one())


def _admin(db: Database, clinic_id: int) -> Actor:
    with db.read() as s:
        uid = s.scalars(
            select(User.id).where(User.clinic_id == clinic_id, User.role == "admin")
        ).first()
    return Actor(uid, clinic_id, Role.ADMIN)


def _link_from(html: str) -> str:
    m = LINK.search(html)
    assert m, "no absolute invitation link on the page"
    return m.group(1)


def _field_error(html: str, name: str) -> str:
    m = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">([^<]*)</p>', html)
    return html_lib.unescape(m.group(1)) if m else ""


def _api_me(client: TestClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/auth/me", headers=headers).status_code


# ---- who may open what ---------------------------------------------------------------------


def test_admin_pages_are_for_admins_and_the_report_for_staff(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    for url in (*ADMIN_GETS, "/admin/report"):
        r = c.get(url, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login?next=" + url), url
    r = c.post("/admin/users", data={"name": "x"}, headers=SAME, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    page_login(c, world.patient_a_email)
    for url in (*ADMIN_GETS, "/admin/report"):
        r = c.get(url, follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (303, "/diary"), url
    c.cookies.clear()

    page_login(c, world.prac_x)
    for url in ADMIN_GETS:
        r = c.get(url, follow_redirects=False)
        assert r.status_code == 403 and "Admins only" in r.text, url
    prac_a = _id(db, world.patient_a_email)
    r = c.post(f"/admin/users/{prac_a}/link", headers=SAME, follow_redirects=False)
    assert r.status_code == 403
    r = c.post(
        "/admin/schedule", data={"hit6-every_days": "28", "hit6-active": "yes"}, headers=SAME
    )
    assert r.status_code == 403
    assert c.get("/admin/report").status_code == 200
    # the admin link is in the navigation of admins only
    assert 'href="/admin"' not in c.get("/clinic").text
    c.cookies.clear()
    page_login(c, world.admin_x)
    assert 'href="/admin"' in c.get("/clinic").text
    for url in (*ADMIN_GETS, "/admin/report"):
        assert c.get(url).status_code == 200, url


def test_another_clinics_accounts_and_links_answer_404(
    app_client: TestClient, world: World, db: Database
) -> None:
    with db.write() as s:
        accounts.create_user(
            s,
            clinic_id=world.clinic_y,
            email="admin@y.test",
            name="Admin Y",
            role=Role.ADMIN,
            password=PASSWORD,
        )
        link = invitations.issue_link(
            s, actor=_admin(db, world.clinic_x), user_id=_id(db, world.prac_x)
        )
    prac_x = _id(db, world.prac_x)
    page_login(app_client, "admin@y.test")
    for path in ("link", "deactivate", "reactivate"):
        r = app_client.post(f"/admin/users/{prac_x}/{path}", headers=SAME)
        assert r.status_code == 404 and "Not found" in r.text, path
    r = app_client.post(f"/admin/invitations/{link.invitation_id}/revoke", headers=SAME)
    assert r.status_code == 404
    assert "prac@x.test" not in app_client.get("/admin/users?show=all").text
    # the services say the same, whatever the edge
    admin_y = _admin(db, world.clinic_y)
    with db.write() as s:
        with pytest.raises(NotFound):
            invitations.issue_link(s, actor=admin_y, user_id=prac_x)
        with pytest.raises(NotFound):
            invitations.set_active(s, actor=admin_y, user_id=prac_x, active=False)
        with pytest.raises(NotFound):
            invitations.revoke_link(s, actor=admin_y, invitation_id=link.invitation_id)
        with pytest.raises(ValidationError, match="no such patient in this clinic"):
            invitations.invite_existing_patient(
                s, actor=admin_y, patient_ref=str(world.patient_a), email="new@y.test"
            )
        with pytest.raises(Forbidden):
            invitations.issue_link(
                s, actor=Actor(prac_x, world.clinic_x, Role.PRACTITIONER), user_id=prac_x
            )
    with db.read() as s:
        row = s.get(Invitation, link.invitation_id)
        assert (
            row is not None
            and row.used_utc is None
            and row.expires_utc > dt.datetime.now(dt.UTC).replace(tzinfo=None)
        )


# ---- links ---------------------------------------------------------------------------------


def test_a_new_practitioner_sets_their_password_with_the_link_and_can_log_in(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    page_login(c, world.admin_x)
    r = c.post(
        "/admin/users",
        data={"name": "Dr Neu", "email": "Neu@X.test", "role": "practitioner"},
        headers=SAME,
    )
    assert r.status_code == 200, r.text
    token = _link_from(r.text)
    assert len(token) >= 43  # 256 random bits
    check_markup(r.text)
    with db.read() as s:
        user = s.scalars(select(User).where(User.email == "neu@x.test")).one()
        assert (user.role, user.active, user.password_hash) == ("practitioner", False, None)
        (row,) = s.scalars(select(Invitation).where(Invitation.user_id == user.id)).all()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.purpose == "invite"
        assert (
            dt.timedelta(days=6, hours=23)
            < row.expires_utc - row.created_utc
            <= dt.timedelta(days=7)
        )
        audit = [(a.action, a.entity, a.entity_id) for a in s.scalars(select(AuditEvent))]
    assert ("invite", "user", str(user.id)) in audit
    assert not any(token in str(a) for a in audit)
    # not yet able to log in
    r = c.post(
        "/api/v1/auth/login", json={"email": "neu@x.test", "password": NEW_PASSWORD}, headers=SAME
    )
    assert r.status_code == 401

    c.cookies.clear()
    r = c.get(f"/invite/{token}")
    assert r.status_code == 200 and "neu@x.test" in r.text
    assert r.headers["Referrer-Policy"] == "no-referrer"
    check_markup(r.text)
    r = c.post(f"/invite/{token}", data={"password": "short", "confirm": "short"}, headers=SAME)
    assert r.status_code == 422
    assert _field_error(r.text, "password") == ("The password must have at least 10 characters.")
    assert 'value="short"' not in r.text  # a password is never echoed back
    r = c.post(
        f"/invite/{token}",
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
        headers=SAME,
    )
    assert r.status_code == 422
    assert _field_error(r.text, "confirm") == "The confirmation does not match the password."
    r = c.post(
        f"/invite/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, headers=SAME
    )
    assert r.status_code == 200 and "Your password is saved" in r.text
    assert "acuhead_session=" in r.headers["set-cookie"]
    assert c.get("/clinic").status_code == 200  # logged in straight away
    with db.read() as s:
        user = s.scalars(select(User).where(User.email == "neu@x.test")).one()
        assert user.active and user.password_hash
        assert s.scalars(select(Invitation.used_utc)).one() is not None
    # the link works once
    r = c.post(
        f"/invite/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, headers=SAME
    )
    assert r.status_code == 410 and "already been used" in r.text
    assert c.get(f"/invite/{token}").status_code == 410
    c.cookies.clear()
    assert page_login(c, "neu@x.test", NEW_PASSWORD) == "/clinic"


def test_accepting_an_invitation_hashes_the_password_once_before_the_transaction(
    app_client: TestClient, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes tens of milliseconds of CPU and memory: the write transaction (on SQLite
    the one writer) must not wait on it, and it must run once per accepted invitation."""
    with db.write() as s:
        _, link = invitations.create_staff(
            s,
            actor=_admin(db, world.clinic_x),
            email="once@x.test",
            name="Dr Once",
            role=Role.PRACTITIONER,
        )
    events: list[str] = []
    hasher = accounts._hasher

    class Counting:
        def hash(self, password: str) -> str:
            events.append("hash")
            return hasher.hash(password)

        def verify(self, stored: str, password: str) -> bool:
            return hasher.verify(stored, password)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    write = db.write

    @contextlib.contextmanager
    def watched_write() -> Iterator[Session]:
        events.append("begin")
        with write() as session:
            yield session
        events.append("end")

    monkeypatch.setattr(db, "write", watched_write)
    c = app_client
    c.cookies.clear()
    r = c.post(
        f"/invite/{link.token}", data={"password": "short", "confirm": "short"}, headers=SAME
    )
    assert r.status_code == 422 and "hash" not in events  # refused before any hashing
    events.clear()
    r = c.post(
        f"/invite/{link.token}",
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        headers=SAME,
    )
    assert r.status_code == 200 and "Your password is saved" in r.text
    assert events == ["hash", "begin", "end"]
    c.cookies.clear()
    assert page_login(c, "once@x.test", NEW_PASSWORD) == "/clinic"
    assert events.count("hash") == 1  # logging in verifies; it does not hash again


def test_unusable_links_say_why_and_never_whose(db: Database, world: World) -> None:
    admin = _admin(db, world.clinic_x)
    prac = _id(db, world.prac_x)
    long_ago = dt.datetime(2020, 1, 1)
    with db.write() as s:
        expired = invitations.issue_link(s, actor=admin, user_id=prac, now=long_ago)
        older = invitations.issue_link(s, actor=admin, user_id=prac, purpose=Purpose.RESET)
        newer = invitations.issue_link(s, actor=admin, user_id=prac, purpose=Purpose.RESET)
    with db.write() as s:
        for token, error in (
            ("nope", LinkUnknown),
            ("", LinkUnknown),
            ("x" * 500, LinkUnknown),
            (expired.token, LinkExpired),
            (older.token, LinkExpired),  # replaced by the newer link
        ):
            with pytest.raises(error) as info:
                invitations.open_link(s, token=token)
            assert "prac" not in str(info.value)
        assert invitations.open_link(s, token=newer.token).user.id == prac
        invitations.redeem_link(s, token=newer.token, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    with db.write() as s, pytest.raises(LinkUsed):
        invitations.redeem_link(s, token=newer.token, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    with db.write() as s, pytest.raises(LinkUnknown):
        invitations.redeem_link(s, token="nope" * 3, password=NEW_PASSWORD, confirm=NEW_PASSWORD)


def test_password_rules_when_redeeming(db: Database, world: World) -> None:
    admin = _admin(db, world.clinic_x)
    with db.write() as s:
        link = invitations.issue_link(s, actor=admin, user_id=_id(db, world.prac_x))
    cases = {
        ("123456789", "123456789"): ["password: must have at least 10 characters"],
        ("prac@x.test", "prac@x.test"): ["password: must not be your e-mail address"],
        ("x" * 1001, "x" * 1001): ["password: must have at most 1000 characters"],
        (NEW_PASSWORD, "other-password"): ["confirm: does not match the password"],
    }
    for (password, confirm), expected in cases.items():
        with db.write() as s, pytest.raises(ValidationError) as info:
            invitations.redeem_link(s, token=link.token, password=password, confirm=confirm)
        assert [str(e) for e in info.value.errors] == expected
    with db.read() as s:
        assert s.get(Invitation, link.invitation_id).used_utc is None  # type: ignore[union-attr]


def test_a_reset_link_ends_old_sessions_and_replaces_the_password(
    app_client: TestClient, world: World, db: Database, login: Callable[[str], dict[str, str]]
) -> None:
    old_session = login(world.patient_a_email)
    c = app_client
    page_login(c, world.admin_x)
    patient_user = _id(db, world.patient_a_email)
    r = c.post(f"/admin/users/{patient_user}/link", headers=SAME)
    assert r.status_code == 200 and "Password-reset link" in r.text
    token = _link_from(r.text)
    c.cookies.clear()
    r = c.post(
        f"/invite/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, headers=SAME
    )
    assert r.status_code == 200 and 'href="/diary"' in r.text
    assert _api_me(c, old_session) == 401
    assert c.get("/diary").status_code == 200
    r = c.post(
        "/api/v1/auth/login",
        json={"email": world.patient_a_email, "password": PASSWORD},
        headers=SAME,
    )
    assert r.status_code == 401
    with db.read() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"reset_link", "redeem", "login"} <= actions


def test_deactivate_and_reactivate_an_account(
    app_client: TestClient, world: World, db: Database, login: Callable[[str], dict[str, str]]
) -> None:
    prac_session = login(world.prac_x)
    prac = _id(db, world.prac_x)
    with db.write() as s:
        pending = invitations.issue_link(
            s, actor=_admin(db, world.clinic_x), user_id=prac, purpose=Purpose.RESET
        )
    c = app_client
    page_login(c, world.admin_x)
    r = c.post(
        f"/admin/users/{prac}/deactivate",
        data={"show": "staff"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/admin/users?show=staff&done=deactivated#user-{prac}"
    page = c.get(r.headers["location"]).text
    assert "deactivated" in page and "Reactivate" in page
    assert _api_me(c, prac_session) == 401
    r = c.post(
        "/api/v1/auth/login", json={"email": world.prac_x, "password": PASSWORD}, headers=SAME
    )
    assert r.status_code == 401
    with db.write() as s, pytest.raises(LinkExpired):
        invitations.open_link(s, token=pending.token)
    # no reset link for a deactivated account: reactivating is a visible step of its own
    r = c.post(f"/admin/users/{prac}/link", headers=SAME)
    assert r.status_code == 422 and "reactivate it first" in r.text
    # an admin cannot lock themself out
    me = _id(db, world.admin_x)
    r = c.post(f"/admin/users/{me}/deactivate", headers=SAME)
    assert r.status_code == 422 and "You cannot deactivate your own account." in r.text
    r = c.post(f"/admin/users/{prac}/reactivate", headers=SAME, follow_redirects=False)
    assert r.status_code == 303
    r = c.post(
        "/api/v1/auth/login", json={"email": world.prac_x, "password": PASSWORD}, headers=SAME
    )
    assert r.status_code == 200
    with db.read() as s:
        actions = [a for a in s.scalars(select(AuditEvent.action)) if a.endswith("activate")]
    assert actions == ["deactivate", "reactivate"]


def test_users_page_lists_the_clinic_and_keeps_the_form_on_errors(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    page_login(c, world.admin_x)
    r = c.get("/admin/users")
    check_markup(r.text)
    assert "prac@x.test" in r.text and "a@x.test" not in r.text  # staff by default
    assert "prac@y.test" not in r.text
    r = c.get("/admin/users?show=patients")
    assert "a@x.test" in r.text and "prac@x.test" not in r.text
    r = c.post(
        "/admin/users",
        data={"name": "Dr Twice", "email": "PRAC@x.test", "role": "practitioner"},
        headers=SAME,
    )
    assert r.status_code == 422
    assert _field_error(r.text, "email") == "Another account already uses this e-mail address."
    assert 'value="Dr Twice"' in r.text and 'value="PRAC@x.test"' in r.text
    check_markup(r.text)
    r = c.post("/admin/users", data={"name": "", "email": "", "role": "patient"}, headers=SAME)
    assert r.status_code == 422
    assert _field_error(r.text, "name") == "Enter the person's name."
    assert _field_error(r.text, "role") == "Choose practitioner or admin."
    r = c.post(
        "/admin/users",
        data={"name": "New Admin", "email": "boss@x.test", "role": "admin"},
        headers=SAME,
    )
    assert r.status_code == 200
    boss_token = _link_from(r.text)
    with db.read() as s:
        assert s.scalars(select(User.role).where(User.email == "boss@x.test")).one() == "admin"
    page = c.get("/admin/users").text
    assert "invited" in page and "Withdraw the invitation" in page
    # withdrawing an invitation nobody used: the link stops working
    boss = _id(db, "boss@x.test")
    r = c.post(f"/admin/users/{boss}/deactivate", headers=SAME, follow_redirects=False)
    assert r.status_code == 303
    assert c.get(f"/invite/{boss_token}").status_code == 410
    assert "Withdraw the invitation" not in c.get("/admin/users").text
    # cross-site posts are refused
    r = c.post(
        "/admin/users",
        data={"name": "Evil", "email": "evil@x.test", "role": "admin"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403


# ---- patient invitations -------------------------------------------------------------------


def test_inviting_a_new_patient_creates_the_record_the_login_and_a_link(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    page_login(c, world.admin_x)
    r = c.get("/admin/invitations")
    # the time zone most of the clinic's patients have is offered first
    assert r.status_code == 200 and 'id="timezone"' in r.text and 'value="Europe/Berlin"' in r.text
    check_markup(r.text)
    bad = {
        "external_id": "A-1",  # patient A has it
        "display_name": "Clara",
        "email": "not-an-address",
        "timezone": "Mars/Olympus",
        "practitioner_id": "",
    }
    r = c.post("/admin/invitations/new-patient", data=bad, headers=SAME)
    assert r.status_code == 422
    assert _field_error(r.text, "external_id") == "Another patient already has this id."
    assert _field_error(r.text, "email") == "Must be an e-mail address."
    assert _field_error(r.text, "timezone") == "Unknown time zone 'Mars/Olympus'."
    assert 'value="Clara"' in r.text and 'value="Mars/Olympus"' in r.text
    check_markup(r.text)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 3  # nothing written

    good = dict(bad, external_id="C-7", email="clara@example.test", timezone="Europe/Vienna")
    good["practitioner_id"] = str(_id(db, world.prac_x))
    r = c.post("/admin/invitations/new-patient", data=good, headers=SAME)
    assert r.status_code == 200, r.text
    token = _link_from(r.text)
    with db.read() as s:
        patient = s.scalars(select(Patient).where(Patient.external_id == "C-7")).one()
        user = s.get(User, patient.user_id)
        assert user is not None and (user.role, user.email, user.active) == (
            "patient",
            "clara@example.test",
            False,
        )
        assert (patient.timezone, patient.display_name) == ("Europe/Vienna", "Clara")
    page = c.get("/admin/invitations").text
    assert "clara@example.test" in page and "Links not used yet" in page
    # the patient sets a password and lands in their diary
    c.cookies.clear()
    r = c.post(
        f"/invite/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, headers=SAME
    )
    assert r.status_code == 200 and 'href="/diary"' in r.text
    assert c.get("/diary").status_code == 200
    c.cookies.clear()
    page_login(c, world.admin_x)
    assert "clara@example.test" not in c.get("/admin/invitations").text  # no longer pending


def test_inviting_an_existing_patient_without_a_login(
    app_client: TestClient, world: World, db: Database
) -> None:
    with db.write() as s:
        diary.create_patient(s, actor=Actor.system(world.clinic_x), external_id="IMP-3")
    c = app_client
    page_login(c, world.admin_x)
    cases = {
        "Y-1": "No such patient in this clinic.",  # clinic Y's patient
        "A-1": "This patient already has a login.",
        "": "Enter the patient's external id or acuhead number.",
    }
    for ref, message in cases.items():
        r = c.post(
            "/admin/invitations/existing-patient",
            data={"patient": ref, "patient_email": "imp@example.test"},
            headers=SAME,
        )
        assert r.status_code == 422, ref
        assert _field_error(r.text, "patient") == message, ref
        assert 'value="imp@example.test"' in r.text
    r = c.post(
        "/admin/invitations/existing-patient",
        data={"patient": "IMP-3", "patient_email": "imp@example.test"},
        headers=SAME,
    )
    assert r.status_code == 200
    _link_from(r.text)
    with db.read() as s:
        patient = s.scalars(select(Patient).where(Patient.external_id == "IMP-3")).one()
        assert patient.user_id == _id(db, "imp@example.test")
        pending = invitations.pending_links(
            s, actor=_admin(db, world.clinic_x), roles=(Role.PATIENT,)
        )
    assert [(p.email, p.patient_id) for p in pending] == [("imp@example.test", patient.id)]
    # withdrawing the link
    r = c.post(
        f"/admin/invitations/{pending[0].invitation_id}/revoke",
        headers=SAME,
        follow_redirects=False,
    )
    assert r.headers["location"] == "/admin/invitations?done=revoked#pending"
    with db.read() as s:
        assert invitations.pending_links(s, actor=_admin(db, world.clinic_x)) == []


# ---- questionnaire schedule ----------------------------------------------------------------


def test_schedule_form_validates_next_to_the_field_and_saves(
    app_client: TestClient, world: World, db: Database
) -> None:
    c = app_client
    page_login(c, world.admin_x)
    r = c.get("/admin/schedule")
    assert r.status_code == 200
    check_markup(r.text)
    form = {
        "hit6-every_days": "3",
        "hit6-active": "yes",
        "midas-every_days": "twelve",
        "midas-active": "yes",
        "pss10-every_days": "",
        "pss10-active": "yes",
        "pgic-every_days": "400",
    }
    r = c.post("/admin/schedule", data=form, headers=SAME)
    assert r.status_code == 422
    # every field's mistake in the one answer, whatever kind it is
    assert _field_error(r.text, "midas-every_days") == "Enter a whole number of days, e.g. 28."
    assert _field_error(r.text, "hit6-every_days") == "Must be between 7 and 365 days; got 3."
    assert _field_error(r.text, "pss10-every_days") == "Enter how many days apart."
    assert _field_error(r.text, "pgic-every_days") == "Must be between 7 and 365 days; got 400."
    assert 'value="3"' in r.text and 'value="twelve"' in r.text and 'value="400"' in r.text
    check_markup(r.text)
    r = c.post("/admin/schedule", data=dict(form, **{"midas-every_days": "84"}), headers=SAME)
    assert r.status_code == 422
    assert _field_error(r.text, "midas-every_days") == ""
    assert _field_error(r.text, "hit6-every_days") == "Must be between 7 and 365 days; got 3."
    assert 'value="3"' in r.text and 'value="84"' in r.text
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(QuestionnaireSchedule)) == 0

    ok = {"hit6-every_days": "28", "hit6-active": "yes", "midas-every_days": "84"}
    r = c.post("/admin/schedule", data=dict(ok, **{"midas-active": "yes"}), headers=SAME,
               follow_redirects=False)  # fmt: skip
    assert (r.status_code, r.headers["location"]) == (303, "/admin/schedule?saved=1")
    with db.read() as s:
        rows = {
            q.instrument: (q.every_days, q.active, q.version)
            for q in s.scalars(select(QuestionnaireSchedule))
        }
    assert rows == {"hit6": (28, True, 1), "midas": (84, True, 1)}
    # switching MIDAS off keeps its interval; a stale form is refused, not merged
    r = c.post(
        "/admin/schedule",
        data=dict(ok, **{"hit6-version": "1", "midas-version": "1"}),
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = c.post(
        "/admin/schedule",
        data=dict(ok, **{"hit6-version": "1", "midas-version": "1", "midas-active": "yes"}),
        headers=SAME,
    )
    assert r.status_code == 422 and "changed by someone else" in r.text
    with db.read() as s:
        rows = {
            q.instrument: (q.every_days, q.active, q.version)
            for q in s.scalars(select(QuestionnaireSchedule))
        }
    assert rows == {"hit6": (28, True, 1), "midas": (84, False, 2)}
    assert "every 28 days" in c.get("/admin").text


def _schedule_rows(db: Database) -> dict[str, tuple[int, bool, int]]:
    with db.read() as s:
        return {
            q.instrument: (q.every_days, bool(q.active), q.version)
            for q in s.scalars(select(QuestionnaireSchedule))
        }


def _schedule_audits(db: Database) -> int:
    with db.read() as s:
        stmt = select(func.count()).where(AuditEvent.entity == "questionnaire_schedule")
        return int(s.scalar(stmt) or 0)


def test_schedule_form_reports_a_word_and_a_range_at_once_and_changes_nothing(
    app_client: TestClient, world: World, db: Database
) -> None:
    with db.write() as s:
        schedules.apply_default_schedule(s, actor=_admin(db, world.clinic_x))
    before, audits = _schedule_rows(db), _schedule_audits(db)
    assert before == {"hit6": (28, True, 1), "midas": (84, True, 1)}
    c = app_client
    page_login(c, world.admin_x)
    form = {
        "hit6-every_days": "four weeks",  # cannot be read as a number
        "hit6-active": "yes",
        "hit6-version": "1",
        "midas-every_days": "500",  # a number, out of range
        "midas-active": "yes",
        "midas-version": "1",
    }
    r = c.post("/admin/schedule", data=form, headers=SAME)
    assert r.status_code == 422
    assert _field_error(r.text, "hit6-every_days") == "Enter a whole number of days, e.g. 28."
    assert _field_error(r.text, "midas-every_days") == "Must be between 7 and 365 days; got 500."
    # both listed at the top, each tied to its own field, with what was typed kept
    assert r.text.count('<li><a href="#hit6-every_days">') == 1
    assert r.text.count('<li><a href="#midas-every_days">') == 1
    assert 'value="four weeks"' in r.text and 'value="500"' in r.text
    assert 'aria-describedby="hit6-every_days-hint hit6-every_days-error"' in r.text
    check_markup(r.text)
    assert _schedule_rows(db) == before
    assert _schedule_audits(db) == audits


def test_schedule_service_reports_every_entry_at_once(db: Database, world: World) -> None:
    admin = _admin(db, world.clinic_x)
    with db.write() as s:
        with pytest.raises(ValidationError) as info:
            schedules.set_schedule(
                s,
                actor=admin,
                entries={
                    "hit6": ScheduleEntry("28 days", True),
                    "midas": ScheduleEntry("0", True),
                    "pss10": ScheduleEntry(" ", True),
                    "pgic": ScheduleEntry("2.5", False),
                },
            )
        assert [(e.path, e.message) for e in info.value.errors] == [
            ("hit6.every_days", "enter a whole number of days, e.g. 28"),
            ("midas.every_days", "must be between 7 and 365 days; got 0"),
            ("pss10.every_days", "enter how many days apart"),
            ("pgic.every_days", "enter a whole number of days, e.g. 28"),
        ]
        # text that reads as a number is taken as one; blank and off stores nothing
        schedules.set_schedule(
            s,
            actor=admin,
            entries={"hit6": ScheduleEntry(" 14 ", True), "pgic": ScheduleEntry("", False)},
        )
    assert _schedule_rows(db) == {"hit6": (14, True, 1)}


def test_schedule_service_rules(db: Database, world: World) -> None:
    admin = _admin(db, world.clinic_x)
    with db.write() as s:
        with pytest.raises(ValidationError) as info:
            schedules.set_schedule(
                s,
                actor=admin,
                entries={
                    "hit7": ScheduleEntry(28, True),
                    "hit6": ScheduleEntry(6, True),
                    "midas": ScheduleEntry(366, False),
                },
            )
        assert [e.path for e in info.value.errors] == [
            "hit7.instrument",
            "hit6.every_days",
            "midas.every_days",
        ]
        with pytest.raises(Forbidden):
            schedules.set_schedule(
                s,
                actor=Actor(None, world.clinic_x, Role.PRACTITIONER),
                entries={"hit6": ScheduleEntry(28, True)},
            )
        # bounds are inclusive; one row per (clinic, instrument)
        schedules.set_schedule(
            s,
            actor=admin,
            entries={"hit6": ScheduleEntry(7, True), "midas": ScheduleEntry(365, True)},
        )
        schedules.set_schedule(s, actor=admin, entries={"hit6": ScheduleEntry(28, True, 1)})
        with pytest.raises(Conflict):
            schedules.set_schedule(s, actor=admin, entries={"hit6": ScheduleEntry(14, True, 1)})
    with db.write() as s:
        items = {i.instrument: i for i in schedules.list_schedule(s, actor=admin)}
        assert (items["hit6"].every_days, items["hit6"].version) == (28, 2)
        assert items["pgic"].every_days is None and not items["pgic"].active
        # clinic Y is untouched, and a clinic with a schedule keeps it
        assert schedules.apply_default_schedule(s, actor=admin) == 0
        assert schedules.apply_default_schedule(s, actor=Actor.system(world.clinic_y)) == 2
        count = s.scalar(
            select(func.count())
            .select_from(QuestionnaireSchedule)
            .where(QuestionnaireSchedule.clinic_id == world.clinic_x)
        )
    assert count == 2


# ---- practice report -----------------------------------------------------------------------


def test_report_page_shows_the_service_figures(app_client: TestClient, db: Database) -> None:
    result = demo.generate(db, patients=16, days=160, seed=4, end=dt.date(2026, 6, 30))
    with db.read() as s:
        sched = {
            q.instrument: (q.every_days, q.active)
            for q in s.scalars(
                select(QuestionnaireSchedule).where(
                    QuestionnaireSchedule.clinic_id == result.clinic_id
                )
            )
        }
    assert sched == {"hit6": (28, True), "midas": (84, True)}  # the demo clinic's default
    c = app_client
    r = c.post(
        "/login",
        data={"email": "admin@demo.acuhead.test", "password": "demo-admin-2026"},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303
    admin = _admin(db, result.clinic_id)
    with db.write() as s:
        whole = outcomes.practice_report(s, actor=admin).to_json()
        prac_id = int(whole["by_practitioner"][0]["practitioner_id"])
        one = outcomes.practice_report(
            s, actor=admin, practitioner_id=prac_id, config=OutcomeConfig(primary_block=1)
        ).to_json()

    def shown(html: str, report: dict[str, object]) -> None:
        change = report["migraine_days_change"]
        assert isinstance(change, dict)
        assert f'data-key="patients_treated">{report["patients_treated"]}<' in html
        assert f'data-key="evaluable_at_block">{report["evaluable_at_block"]}<' in html
        assert f'data-key="migraine_days_change">{change["mean"]:.2f}<' in html
        assert f"{change['ci_low']:.2f} to {change['ci_high']:.2f}" in html

    r = c.get("/admin/report")
    assert r.status_code == 200
    check_markup(r.text)
    assert whole["patients_treated"] > 0
    shown(r.text, whole)
    rate = whole["responders"]["50"]["rate"]
    assert f"{rate * 100:.1f} %" in r.text
    assert "<svg" in r.text and 'class="trend-window"' in r.text
    assert "CLINICAL.md" not in r.text  # benchmarks cite their source, not the design notes
    r = c.get(f"/admin/report?practitioner_id={prac_id}&block=1")
    assert r.status_code == 200 and "weeks 5-8" in r.text
    shown(r.text, one)
    r = c.get("/admin/report?practitioner_id=999999&block=40")
    assert r.status_code == 422
    assert _field_error(r.text, "practitioner_id") == (
        "Choose a practitioner of this clinic from the list."
    )
    assert _field_error(r.text, "block").startswith("Choose a window")
    # practitioners read it too
    c.cookies.clear()
    page_login(c, "practitioner@demo.acuhead.test", "demo-practitioner-2026")
    r = c.get("/admin/report")
    assert r.status_code == 200
    shown(r.text, whole)
    assert 'href="/admin"' not in r.text
