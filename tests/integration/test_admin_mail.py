"""Invitation links e-mailed from the admin pages, against a real SMTP server (aiosmtpd on
127.0.0.1), on both engines.

The promises: with mail configured, the forms that create an account offer "also e-mail the
link" (ticked by default) and the message arrives with the link, its expiry and nothing else
personal but the recipient's address; the link is still shown once to the admin. Without mail
the box is not there. A refused or impossible send loses nothing: the page says so and shows
the link, which works.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from acuhead.config import Settings
from acuhead.services import diary, invitations
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import Clinic, Invitation, User
from acuhead.web.app import create_app

from .factories import World
from .test_admin import LINK, _admin, _field_error, _id
from .test_pages import SAME, check_markup, page_login
from .test_reminders import Inbox, body_of, free_port

BASE = "https://clinic.example"
SENDER = "Clinic <noreply@clinic.example>"
CLINIC_NAME = "Lindenhof Migraine and Acupuncture Clinic"
# Words that would tell a reader of the mailbox more than "an account is waiting".
PERSONAL = (
    "Lindenhof", "migraine", "headache", "acupunct", "acuhead", "diary", "patient",
    "practitioner", "admin", "Admin X", "Prac X", "diagnos", "Europe/", "Vienna",
)  # fmt: skip
SENT = "It was also e-mailed to"
FAILED = "could not be sent"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _settings(port: int) -> Settings:
    return Settings(
        env="test",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        mail_from=SENDER,
        base_url=BASE + "/",
    )


@pytest.fixture
def mail_client(db: Database, world: World, smtp: tuple[Inbox, int]) -> Iterator[TestClient]:
    """An admin of clinic X logged in, on a server whose mail goes to ``smtp``."""
    with db.write() as s:
        s.execute(update(Clinic).where(Clinic.id == world.clinic_x).values(name=CLINIC_NAME))
    with TestClient(create_app(_settings(smtp[1]), db), base_url="http://testserver") as client:
        page_login(client, world.admin_x)
        yield client


@dataclass(frozen=True)
class Form:
    page: str
    action: str
    box: str
    data: dict[str, str]
    address: str
    personal: tuple[str, ...]  # what this form typed that must stay out of the mail


FORMS = {
    "staff": Form(
        "/admin/users",
        "/admin/users",
        "send_email",
        {"name": "Dr Quill Harrow", "email": "Quill@Example.test", "role": "practitioner"},
        "quill@example.test",
        ("Quill Harrow", "Harrow"),
    ),
    "new patient": Form(
        "/admin/invitations",
        "/admin/invitations/new-patient",
        "send_email",
        {
            "external_id": "MRN-4711",
            "display_name": "Clara Zorn",
            "email": "clara@example.test",
            "timezone": "Europe/Vienna",
            "practitioner_id": "",
        },
        "clara@example.test",
        ("MRN-4711", "4711", "Clara", "Zorn"),
    ),
    "existing patient": Form(
        "/admin/invitations",
        "/admin/invitations/existing-patient",
        "patient_send_email",
        {"patient": "IMP-3", "patient_email": "imp@example.test"},
        "imp@example.test",
        ("IMP-3", "Ida Imported"),
    ),
}


def _checkbox(html: str, name: str) -> str | None:
    """The <input> of the e-mail box, or None when the page does not offer it."""
    m = re.search(rf'<input type="checkbox" id="{name}" name="{name}"[^>]*>', html)
    return m.group(0) if m else None


def _pending(db: Database, world: World, email: str) -> list[invitations.PendingLink]:
    with db.read() as s:
        return [
            p
            for p in invitations.pending_links(s, actor=_admin(db, world.clinic_x))
            if p.email == email
        ]


@pytest.mark.parametrize("which", FORMS)
def test_the_link_is_emailed_with_its_expiry_and_nothing_else_personal(
    mail_client: TestClient, db: Database, world: World, smtp: tuple[Inbox, int], which: str
) -> None:
    form, inbox, c = FORMS[which], smtp[0], mail_client
    with db.write() as s:
        diary.create_patient(
            s, actor=Actor.system(world.clinic_x), external_id="IMP-3", display_name="Ida Imported"
        )
    page = c.get(form.page)
    check_markup(page.text)
    box = _checkbox(page.text, form.box)
    assert box is not None and "checked" in box  # offered, and on by default

    r = c.post(form.action, data=dict(form.data, **{form.box: "yes"}), headers=SAME)
    assert r.status_code == 200, r.text
    check_markup(r.text)
    token = LINK.search(r.text)
    assert token, "the link is still shown to the admin"
    assert f"{SENT} {form.address}." in r.text and FAILED not in r.text

    (mail,) = inbox.messages
    assert mail["To"] == form.address and mail["From"] == SENDER
    body = body_of(mail)
    assert f"{BASE}/invite/{token.group(1)}\n" in body
    with db.read() as s:
        expires = s.scalars(
            select(Invitation.expires_utc)
            .join(User, User.id == Invitation.user_id)
            .where(User.email == form.address)
        ).one()
    assert f"until {expires:%d %b %Y %H:%M} UTC" in body
    # beyond the recipient's address (the To header, checked above), nothing about them
    others = "\n".join(f"{k}: {v}" for k, v in mail.items() if k.lower() != "to")
    everything = others + "\n" + body.replace(form.address, "")
    for word in (*PERSONAL, *form.personal):
        assert word.lower() not in everything.lower(), word
    # no address but the recipient's and the configured sender's (the Message-ID is none)
    headers = "\n".join(f"{k}: {v}" for k, v in mail.items() if k.lower() != "message-id")
    addresses = set(re.findall(r"[\w.+-]+@[\w.-]+", headers + "\n" + body))
    assert addresses == {form.address, "noreply@clinic.example"}
    # the e-mailed link is the one the admin saw, and it works
    c.cookies.clear()
    assert c.get(f"/invite/{token.group(1)}").status_code == 200


def test_an_unticked_box_sends_nothing_and_a_form_sent_back_keeps_the_box(
    mail_client: TestClient, smtp: tuple[Inbox, int]
) -> None:
    inbox, c = smtp[0], mail_client
    data = {"name": "Dr Quill Harrow", "email": "quill@example.test", "role": "admin"}
    r = c.post("/admin/users", data=data, headers=SAME)
    assert r.status_code == 200 and LINK.search(r.text)
    assert SENT not in r.text and FAILED not in r.text
    assert inbox.messages == []
    # a form sent back with a mistake keeps the box as the admin left it
    r = c.post("/admin/users", data=dict(data, name=""), headers=SAME)
    assert r.status_code == 422 and _field_error(r.text, "name") == "Enter the person's name."
    box = _checkbox(r.text, "send_email")
    assert box is not None and "checked" not in box
    r = c.post("/admin/users", data=dict(data, name="", send_email="yes"), headers=SAME)
    box = _checkbox(r.text, "send_email")
    assert box is not None and "checked" in box
    assert inbox.messages == []


def test_a_refused_send_keeps_the_invitation_and_says_so(
    mail_client: TestClient, db: Database, world: World, smtp: tuple[Inbox, int]
) -> None:
    inbox, c = smtp[0], mail_client
    inbox.refuse.add("clara@example.test")
    data = dict(FORMS["new patient"].data, send_email="yes")
    r = c.post("/admin/invitations/new-patient", data=data, headers=SAME)
    assert r.status_code == 200, r.text
    check_markup(r.text)
    assert 'id="mail-failed"' in r.text
    assert f"The e-mail to clara@example.test {FAILED}." in r.text and SENT not in r.text
    token = LINK.search(r.text)
    assert token, "the link is shown to pass on by hand"
    assert inbox.messages == []
    (pending,) = _pending(db, world, "clara@example.test")
    assert pending.purpose == "invite"
    c.cookies.clear()
    assert c.get(f"/invite/{token.group(1)}").status_code == 200


def test_an_unreachable_mail_server_keeps_the_invitation_and_says_so(
    db: Database, world: World
) -> None:
    settings = _settings(free_port())  # nothing listens there
    with TestClient(create_app(settings, db), base_url="http://testserver") as c:
        page_login(c, world.admin_x)
        data = {"name": "Dr Quill Harrow", "email": "quill@example.test", "role": "practitioner"}
        r = c.post("/admin/users", data=dict(data, send_email="yes"), headers=SAME)
        assert r.status_code == 200, r.text
        assert 'id="mail-failed"' in r.text and LINK.search(r.text)
    assert len(_pending(db, world, "quill@example.test")) == 1
    with db.read() as s:
        role = s.scalars(select(User.role).where(User.email == "quill@example.test")).one()
    assert role == Role.PRACTITIONER.value


def test_without_mail_the_box_is_absent_and_only_the_link_is_shown(
    db: Database, world: World, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]  # listening, but this server is not told about it
    settings = Settings(env="test", smtp_host="", base_url=BASE)
    with TestClient(create_app(settings, db), base_url="http://testserver") as c:
        page_login(c, world.admin_x)
        users, invites = c.get("/admin/users").text, c.get("/admin/invitations").text
        assert 'action="/admin/users"' in users and 'action="/admin/invitations/new-patient"' in (
            invites
        )
        assert _checkbox(users, "send_email") is None and "e-mail the link" not in users
        assert _checkbox(invites, "send_email") is None
        assert _checkbox(invites, "patient_send_email") is None
        assert "e-mail the link" not in invites
        # a box ticked anyway (an old page) is ignored: the link is shown, nothing is sent
        data = dict(FORMS["new patient"].data, send_email="yes")
        r = c.post("/admin/invitations/new-patient", data=data, headers=SAME)
        assert r.status_code == 200 and LINK.search(r.text)
        assert SENT not in r.text and FAILED not in r.text
    assert inbox.messages == []
    assert _id(db, "clara@example.test") > 0


def test_a_reset_link_mail_says_so_and_nothing_more() -> None:
    link = invitations.IssuedLink(
        "tok", 1, 2, invitations.Purpose.RESET, dt.datetime(2026, 12, 4, 9, 5)
    )
    mail = invitations.link_mail(link, to="x@example.test", base_url=BASE + "/")
    assert (mail.to, mail.subject) == ("x@example.test", "A link to choose a new password")
    assert "A new password was asked for your account at the clinic." in mail.body
    assert f"\n{BASE}/invite/tok\n" in mail.body
    assert "until 04 Dec 2026 09:05 UTC." in mail.body
    assert "x@example.test" not in mail.body
