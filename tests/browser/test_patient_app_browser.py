"""The patient app in a real browser (issue 14): installable, offline-first, one-tap
"migraine now" finished later, conflicts shown, a low-light theme and a 360 px phone.

Each test has a patient of its own (the live server is shared by the session)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from acuhead.services import accounts, diary
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.mapping import attack_from_row
from acuhead.store.models import AttackRow

from .conftest import Live, _console
from .support import wait_outbox_sent
from .test_pages_browser import PASSWORD, log_in

pytestmark = pytest.mark.browser

_numbers = itertools.count(1)


def new_patient(live: Live) -> tuple[str, int]:
    """A patient with a login of their own, in the live server's database."""
    n = next(_numbers)
    email = f"app{n}-{dt.datetime.now().timestamp():.0f}@x.test"
    db = Database(live.db_url)
    try:
        with db.write() as s:
            user = accounts.create_user(
                s,
                clinic_id=live.world.clinic_x,
                email=email,
                name=f"App patient {n}",
                role=Role.PATIENT,
                password=PASSWORD,
            )
            pid = diary.create_patient(
                s,
                actor=Actor.system(live.world.clinic_x),
                external_id=f"APP-{email}",
                timezone="Europe/Berlin",
                user_id=user.id,
            ).id
    finally:
        db.dispose()
    return email, pid


def attacks_of(live: Live, pid: int) -> list[AttackRow]:
    db = Database(live.db_url)
    try:
        with db.read() as s:
            return list(s.scalars(select(AttackRow).where(AttackRow.patient_id == pid)))
    finally:
        db.dispose()


def count_attacks(live: Live, pid: int) -> int:
    db = Database(live.db_url)
    try:
        with db.read() as s:
            return int(
                s.scalar(select(func.count(AttackRow.id)).where(AttackRow.patient_id == pid)) or 0
            )
    finally:
        db.dispose()


@contextmanager
def context_page(browser: Any, live: Live, *, allowed: str = "", **options: Any) -> Iterator[Any]:
    """A page in a fresh context with its own options, failing on any script or CSP error
    (but console errors matching ``allowed``, a regular expression the test expects)."""
    context = browser.new_context(base_url=live.url, **options)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: _console(msg, errors))
    yield pg
    context.close()
    unexpected = [e for e in errors if not (allowed and re.search(allowed, e))]
    assert not unexpected, unexpected


def wait_controlled(page: Any) -> None:
    page.evaluate("() => navigator.serviceWorker.ready")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("() => !!navigator.serviceWorker.controller")


def test_manifest_and_icons_load(page: Any, live: Live) -> None:
    email, _ = new_patient(live)
    log_in(page, email)
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href == "/manifest.webmanifest"
    manifest = page.request.get(href)
    assert manifest.ok and "manifest+json" in manifest.headers["content-type"]
    data = manifest.json()
    assert data["start_url"] == "/diary" and data["display"] == "standalone" and data["name"]
    sizes = set()
    for icon in data["icons"]:
        r = page.request.get(icon["src"])
        assert r.ok and r.headers["content-type"] == "image/png"
        body = r.body()
        assert body[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", body[16:24])
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add(width)
    assert sizes == {192, 512}


def test_offline_migraine_now_reaches_the_server_exactly_once(browser: Any, live: Live) -> None:
    from playwright.sync_api import expect

    email, pid = new_patient(live)
    with context_page(browser, live, viewport={"width": 360, "height": 780}) as page:
        log_in(page, email)
        expect(page).to_have_url(re.compile(r"/diary$"))
        wait_controlled(page)
        assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL").endswith(
            "/sw.js"
        )

        page.context.set_offline(True)
        page.reload()  # from the worker's copy
        expect(page.locator("#offline-banner")).to_be_visible()
        page.get_by_role("button", name="Migraine now").click()  # 1 tap
        expect(page.locator("#ongoing")).to_be_visible()
        expect(page.locator("#outbox")).to_contain_text("Headache started")
        expect(page.locator("#outbox")).to_contain_text("waiting to be sent")
        assert count_attacks(live, pid) == 0
        for _ in range(2):
            page.reload()
            expect(page.locator("#outbox-list li")).to_have_count(1)
            expect(page.locator("#ongoing")).to_be_visible()  # still shown from the outbox

        page.context.set_offline(False)
        expect(page.locator("#outbox")).to_be_hidden()  # sent on `online`
        wait_outbox_sent(page)
        assert count_attacks(live, pid) == 1
        for _ in range(2):
            page.reload()
            expect(page.get_by_role("button", name="It ended")).to_be_visible()
        assert count_attacks(live, pid) == 1
        (row,) = attacks_of(live, pid)
        a = attack_from_row(row)
        assert a.end is None and a.peak is None


def test_an_ongoing_attack_is_rated_treated_ended_and_then_edited(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    email, pid = new_patient(live)
    log_in(page, email)
    page.get_by_role("button", name="Migraine now").click()
    expect(page.get_by_role("button", name="It ended")).to_be_visible()
    page.locator("#ongoing").get_by_role("button", name="6", exact=True).click()
    expect(page.locator("#ongoing-state")).to_contain_text("6/10")
    page.get_by_text("I took medicine").click()
    page.get_by_label("Which medicine?").fill("ibuprofen 400")
    page.get_by_label("Kind", exact=True).select_option("nsaid")
    page.get_by_role("button", name="Save medicine").click()
    page.get_by_role("button", name="It ended").click()
    expect(page.get_by_role("button", name="Migraine now")).to_be_visible()
    wait_outbox_sent(page)
    (row,) = attacks_of(live, pid)
    a = attack_from_row(row)
    assert a.end is not None and a.peak == 6 and a.medications[0].name == "ibuprofen 400"
    assert row.version == 4

    # Later: the full form for it, from the day's list.
    page.goto("/diary?full=1")
    page.locator(".attack-list").get_by_role("link", name=re.compile("^Change")).click()
    expect(page).to_have_url(re.compile(rf"/diary/attacks/{row.id}/edit$"))
    expect(page.locator("#intensity-6")).to_be_checked()
    page.locator("#intensity-8").check()
    page.get_by_label("Light bothered me").check()
    page.get_by_label("Throbbing, pulsing").check()
    page.get_by_role("button", name="Save this headache").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    (row,) = attacks_of(live, pid)
    a = attack_from_row(row)
    assert a.peak == 8 and a.photophobia is True and a.medications[0].name == "ibuprofen 400"
    assert [r.intensity for r in a.readings] == [6]  # the reading made during it is kept


def test_a_conflict_is_shown_and_the_patient_chooses(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    email, pid = new_patient(live)
    log_in(page, email)
    page.get_by_role("button", name="Migraine now").click()
    wait_outbox_sent(page)
    page.reload()
    (row,) = attacks_of(live, pid)
    # Meanwhile, another phone rates it (version 1 -> 2).
    db = Database(live.db_url)
    try:
        with db.write() as s:
            stored = attack_from_row(s.get(AttackRow, row.id))  # type: ignore[arg-type]
            diary.update_attack(
                s,
                actor=Actor.system(live.world.clinic_x),
                patient_id=pid,
                attack_id=row.id,
                attack=replace(stored, peak_intensity=9),
                version=1,
            )
    finally:
        db.dispose()
    page.get_by_role("button", name="It ended").click()  # based on version 1
    item = page.locator("#outbox-list li")
    expect(item).to_contain_text("changed somewhere else")
    expect(item).to_contain_text("worst 9/10")
    assert attack_from_row(attacks_of(live, pid)[0]).end is None  # nothing overwritten
    item.get_by_role("button", name="Use mine").click()
    wait_outbox_sent(page)
    (row,) = attacks_of(live, pid)
    a = attack_from_row(row)
    assert a.end is not None and a.peak == 9


def _background(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor"))


def test_the_dark_theme_follows_the_system_and_a_remembered_switch(
    browser: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    email, _ = new_patient(live)
    with context_page(browser, live, color_scheme="dark") as page:
        log_in(page, email)
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        assert _background(page, "body") == "rgb(18, 20, 23)"
        # No pure white anywhere a patient looks: backgrounds and text.
        whites = page.evaluate(
            """() => Array.from(document.querySelectorAll('body, body *')).filter(el => {
                 const s = getComputedStyle(el);
                 return el.offsetParent !== null && (s.backgroundColor === 'rgb(255, 255, 255)'
                   || s.color === 'rgb(255, 255, 255)');
               }).map(el => el.tagName + '.' + el.className + ':' + (el.type || ''))"""
        )
        assert whites == []
        page.locator("#theme-switch").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        page.reload()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")  # remembered
        assert _background(page, "body") != "rgb(18, 20, 23)"


def test_a_360px_phone_never_scrolls_sideways_and_targets_are_44px(
    browser: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    email, _ = new_patient(live)
    with context_page(browser, live, viewport={"width": 360, "height": 740}) as page:
        log_in(page, email)
        for url in ("/diary", "/diary?full=1"):
            page.goto(url)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, (url, width)
        page.goto("/diary")
        page.get_by_role("button", name="Migraine now").click()
        expect(page.get_by_role("button", name="It ended")).to_be_visible()
        page.get_by_text("I took medicine").click()
        small = page.evaluate(
            """() => Array.from(document.querySelectorAll(
                 '#quick button, #quick summary, #quick a, .site-header button'))
               .filter(el => el.offsetParent !== null)
               .map(el => [el.textContent.trim(), el.getBoundingClientRect().height])
               .filter(([_, h]) => h < 44)"""
        )
        assert small == []
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360


def test_a_calendar_day_opens_that_day_to_fill_in(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    email, _ = new_patient(live)
    log_in(page, email)
    page.goto("/diary/overview")
    today = dt.datetime.now(dt.UTC).date()
    old = today.replace(day=1) if today.day > 3 else today - dt.timedelta(days=3)
    page.locator(f'[data-day-links] [data-date="{old.isoformat()}"]').first.click()
    expect(page).to_have_url(re.compile(rf"/diary\?date={old.isoformat()}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(old.strftime("%d %B"))


def test_a_day_saved_offline_is_sent_once_when_back_online(browser: Any, live: Live) -> None:
    from playwright.sync_api import expect

    from acuhead.store.models import DiaryDayRow

    email, pid = new_patient(live)
    with context_page(browser, live) as page:
        log_in(page, email)
        wait_controlled(page)
        page.context.set_offline(True)
        page.reload()
        page.get_by_label("No", exact=True).check()
        page.get_by_label("Notes").fill("quiet day")
        page.get_by_role("button", name=re.compile("^Save")).click()
        expect(page.locator("#outbox")).to_contain_text("Day entry")
        page.reload()
        expect(page.locator("#outbox-list li")).to_have_count(1)
        page.context.set_offline(False)
        expect(page.locator("#outbox")).to_be_hidden()
        wait_outbox_sent(page)
        page.reload()
        expect(page.locator("#outbox")).to_be_hidden()
    db = Database(live.db_url)
    try:
        with db.read() as s:
            rows = list(s.scalars(select(DiaryDayRow).where(DiaryDayRow.patient_id == pid)))
    finally:
        db.dispose()
    assert len(rows) == 1 and rows[0].notes == "quiet day" and rows[0].headache is False


def end_sessions(live: Live, email: str) -> None:
    """The session ends on the server (expired or revoked); the browser still has its cookie."""
    from sqlalchemy import delete

    from acuhead.store.models import AuthSession, User

    db = Database(live.db_url)
    try:
        with db.write() as s:
            user_id = s.scalar(select(User.id).where(User.email == email))
            assert user_id is not None
            s.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
    finally:
        db.dispose()


# The worker's answer offline for a page it did not keep (sw.js).
OFFLINE_PAGE = r"status of 503\b"


def assert_no_kept_diary(page: Any) -> None:
    """Offline, /diary shows no one's diary: the kept pages are gone."""
    from playwright.sync_api import expect

    page.context.set_offline(True)
    page.goto("/diary")
    expect(page.locator("body")).to_contain_text("this page was not kept")
    expect(page.locator("[data-patient]")).to_have_count(0)
    expect(page.get_by_role("button", name="Migraine now")).to_have_count(0)
    page.context.set_offline(False)


def test_an_expired_session_clears_the_kept_diary_on_the_next_page(
    browser: Any, live: Live
) -> None:
    """A phone passed on after the session merely expired (no logout): the next person opening
    the diary sees the login page online, and offline no kept diary."""
    from playwright.sync_api import expect

    email, _ = new_patient(live)
    with context_page(browser, live, allowed=OFFLINE_PAGE) as page:
        log_in(page, email)
        expect(page).to_have_url(re.compile(r"/diary$"))
        wait_controlled(page)
        end_sessions(live, email)
        page.goto("/diary")
        expect(page).to_have_url(re.compile(r"/login"))
        expect(page.get_by_label("Password")).to_be_visible()
        assert_no_kept_diary(page)


def test_an_outbox_send_refused_for_an_ended_session_clears_the_kept_diary(
    browser: Any, live: Live
) -> None:
    """The outbox hears that the session is gone: the kept pages go and the login page is
    shown; what waits stays tied to its patient and is sent after their next login."""
    from playwright.sync_api import expect

    email, pid = new_patient(live)
    with context_page(browser, live, allowed=OFFLINE_PAGE) as page:
        log_in(page, email)
        wait_controlled(page)
        page.context.set_offline(True)
        page.reload()
        page.get_by_role("button", name="Migraine now").click()
        expect(page.locator("#outbox")).to_contain_text("Headache started")
        end_sessions(live, email)
        page.context.set_offline(False)  # the outbox sends, the server says: log in
        expect(page).to_have_url(re.compile(r"/login"))
        expect(page.get_by_label("Password")).to_be_visible()
        assert count_attacks(live, pid) == 0
        assert_no_kept_diary(page)
        log_in(page, email)
        expect(page).to_have_url(re.compile(r"/diary"))
        wait_outbox_sent(page)
        assert count_attacks(live, pid) == 1
