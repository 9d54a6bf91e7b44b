"""Screenshots of every page at phone (360 px) and desktop (1280 px) width.

    python -m tests.browser.screenshots [--out artifacts/screenshots]    (or: make screenshots)

Builds a throw-away SQLite database with a small demo clinic (the demo logins), opens an intake
red-flag alert for the demo patient so the practitioner pages show one, starts a live server
and drives Debian's Chromium. Writes NAME-360.png and NAME-1280.png for each page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from acuhead import demo
from acuhead.services import appointments, safety
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database, upgrade
from acuhead.store.models import Clinic, Patient, User

from .support import launch, live_server, wait_outbox_sent

WIDTHS = (360, 1280)
PATIENT = ("patient@demo.acuhead.test", "demo-patient-2026")
PRACTITIONER = ("practitioner@demo.acuhead.test", "demo-practitioner-2026")
ADMIN = ("admin@demo.acuhead.test", "demo-admin-2026")


def prepare(path: Path) -> tuple[str, int]:
    url = f"sqlite:///{path}"
    db = Database(url)
    upgrade(db)
    result = demo.generate(db, patients=8, days=240, seed=11)
    with db.write() as s:
        user = s.scalars(select(User).where(User.email == PATIENT[0])).one()
        patient = s.scalars(select(Patient).where(Patient.user_id == user.id)).one()
        safety.record_intake_screen(
            s,
            actor=Actor.system(result.clinic_id),
            patient_id=patient.id,
            answers={"pattern_change": True, "new_drug": True},
            notes="Headaches changed in the last two months; started a new contraceptive.",
        )
        pid = patient.id
        book_today(s, result.clinic_id)
    db.dispose()
    return url, pid


def book_today(s: Any, clinic_id: int) -> None:
    """A Berlin clinic's day: four of the practitioner's patients booked today, so the
    dashboard shows its day list and the appointments page a full day."""
    clinic = s.get(Clinic, clinic_id)
    clinic.timezone = "Europe/Berlin"
    prac = s.scalars(select(User).where(User.email == PRACTITIONER[0])).one()
    actor = Actor(prac.id, clinic_id, Role(prac.role))
    today = appointments.clinic_today(s, clinic_id)
    patients = s.scalars(
        select(Patient.id).where(Patient.clinic_id == clinic_id).order_by(Patient.id).limit(4)
    ).all()
    for n, (patient_id, at) in enumerate(
        zip(patients, (dt.time(8, 30), dt.time(9, 30), dt.time(11), dt.time(14, 15)), strict=False)
    ):
        appointments.book(
            s,
            actor=actor,
            patient_id=patient_id,
            practitioner_id=prac.id,
            start=dt.datetime.combine(today, at),
            duration_min=45 if n else 60,
            note="First visit: bring the medication list" if n == 0 else "",
        )


def log_in(page: Any, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def shoot(
    browser: Any,
    base: str,
    out: Path,
    login: tuple[str, str] | None,
    pages: list[tuple[str, str, str | None]],
) -> list[Path]:
    written = []
    for width in WIDTHS:
        context = browser.new_context(base_url=base, viewport={"width": width, "height": 900})
        page = context.new_page()
        if login:
            log_in(page, *login)
        for name, url, action in pages:
            page.goto(url)
            if action == "yes":
                page.get_by_label("Yes").check()
                page.locator('[data-region="temporal"]').click()
                page.locator('[data-region="frontal"]').click()
            elif action == "error":
                page.get_by_role("button", name="Log in").click()
            elif action == "consent":
                page.get_by_role("button", name="Record the consent").click()
            elif action == "erase-wrong":
                page.get_by_label("to confirm").fill("not-this-patient")
                page.get_by_role("button", name="Erase the patient").click()
            page.wait_for_load_state("networkidle")
            path = out / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
        context.close()
    return written


def shoot_patient_app(browser: Any, base: str, out: Path) -> list[Path]:
    """The patient app (issue 14): the quick log, an ongoing attack, the offline banner with
    what waits to be sent, and the dark theme. Each width ends its attack again."""
    written = []

    def snap(page: Any, name: str, width: int) -> None:
        path = out / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)

    for width in WIDTHS:
        context = browser.new_context(base_url=base, viewport={"width": width, "height": 900})
        page = context.new_page()
        log_in(page, *PATIENT)
        page.evaluate("() => navigator.serviceWorker.ready")
        page.reload()
        page.wait_for_function("() => !!navigator.serviceWorker.controller")
        snap(page, "app-quick-log", width)
        page.get_by_role("button", name="Migraine now").click()
        wait_outbox_sent(page)
        page.reload()
        snap(page, "app-ongoing", width)
        context.set_offline(True)
        page.reload()
        page.locator("#ongoing").get_by_role("button", name="7", exact=True).click()
        page.locator("#outbox").wait_for(state="visible")
        snap(page, "app-offline", width)
        context.set_offline(False)
        wait_outbox_sent(page)
        page.get_by_role("button", name="It ended").click()
        wait_outbox_sent(page)
        context.close()
        dark = browser.new_context(
            base_url=base, viewport={"width": width, "height": 900}, color_scheme="dark"
        )
        page = dark.new_page()
        log_in(page, *PATIENT)
        snap(page, "app-dark", width)
        page.goto("/diary?full=1")
        snap(page, "app-dark-form", width)
        dark.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", default="artifacts/screenshots", type=Path)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url, pid = prepare(Path(tmp) / "screens.sqlite3")
        with live_server(url, log=Path(tmp) / "server.log") as server, sync_playwright() as p:
            browser = launch(p)
            written = shoot(
                browser,
                server.url,
                out,
                None,
                [
                    ("login", "/login", None),
                    ("login-error", "/login", "error"),
                    ("about", "/about/acupuncture-for-headache", None),
                ],
            )
            written += shoot(
                browser,
                server.url,
                out,
                PATIENT,
                [
                    ("diary-today", "/diary", None),
                    ("diary-attack-form", "/diary", "yes"),
                    ("diary-overview", "/diary/overview", None),
                    ("diary-questionnaires", "/diary/questionnaires", None),
                    ("diary-hit6", "/diary/questionnaires/hit6", None),
                    ("diary-midas", "/diary/questionnaires/midas", None),
                    ("diary-settings", "/diary/settings", None),
                ],
            )
            written += shoot_patient_app(browser, server.url, out)
            written += shoot(
                browser,
                server.url,
                out,
                PRACTITIONER,
                [
                    ("clinic-dashboard", "/clinic", None),  # the day list first
                    ("clinic-appointments", "/clinic/appointments", None),
                    ("clinic-appointments-week", "/clinic/appointments?view=week", None),
                    ("clinic-search", "/clinic/search?q=demo", None),
                    ("clinic-patient", f"/clinic/patients/{pid}", None),
                    ("clinic-intake", f"/clinic/patients/{pid}/intake", None),
                    ("care-assessment", f"/clinic/patients/{pid}/assessment", None),
                    ("care-prescription", f"/clinic/patients/{pid}/prescription", None),
                    ("care-session", f"/clinic/patients/{pid}/sessions/new", None),
                    ("clinic-letter", f"/clinic/patients/{pid}/letter", None),
                    ("care-history", f"/clinic/patients/{pid}/sessions", None),
                    ("care-quick-session", f"/clinic/patients/{pid}/sessions/quick", None),
                    ("clinic-record", f"/clinic/patients/{pid}/record", None),
                ],
            )
            written += shoot(
                browser,
                server.url,
                out,
                ADMIN,
                [
                    ("admin-overview", "/admin", None),
                    ("admin-users", "/admin/users", None),
                    ("admin-invitations", "/admin/invitations", None),
                    ("admin-schedule", "/admin/schedule", None),
                    ("admin-report", "/admin/report", None),
                    ("admin-data", "/admin/data", None),
                    ("admin-patient-data", f"/admin/patients/{pid}/data", "consent"),
                    ("admin-erase-refused", f"/admin/patients/{pid}/data", "erase-wrong"),
                ],
            )
            browser.close()
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
