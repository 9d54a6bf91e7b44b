"""Shared by the browser tests and the screenshot script: Debian's Chromium, a prepared
SQLite database and a live server. Never downloads a browser: Playwright drives
/usr/bin/chromium from Debian's package."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from acuhead.domain.diary import DiaryDay
from acuhead.domain.redflags import CATALOGUE
from acuhead.services import diary, safety
from acuhead.services.actors import Actor
from acuhead.store.db import Database, upgrade

try:  # under pytest, tests/ is on sys.path
    from integration.factories import World, make_world
    from integration.live import LiveServer
except ImportError:  # python -m tests.browser.screenshots
    from tests.integration.factories import World, make_world
    from tests.integration.live import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Any) -> Any:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run 'make browser-deps' (Debian chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def prepare_world(path: Path, template: Path | None = None) -> tuple[str, World]:
    """A migrated SQLite file with the test world, a week of diary for patient A and an open
    intake red-flag alert for patient B."""
    if template is not None:
        shutil.copy(template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    if template is None:
        upgrade(db)
    world = make_world(db)
    with db.write() as s:
        actor = Actor.system(world.clinic_x)
        today = diary.local_today("Europe/Berlin")
        for k in (3, 4, 5, 6):
            diary.upsert_day(
                s,
                actor=actor,
                patient_id=world.patient_a,
                day=DiaryDay(date=today - dt.timedelta(days=k), headache=False, stress=3),
            )
        # Patient B's age is known, so SNNOOP10 O (onset after 65) can be checked
        # (CLINICAL.md 2 item 5) and the alert below is the one thing that blocks planning.
        b = diary.get_patient(s, actor=actor, patient_id=world.patient_b)
        diary.update_patient(
            s,
            actor=actor,
            patient_id=world.patient_b,
            version=b.version,
            changes={"birth_date": dt.date(1985, 4, 2)},
        )
        safety.record_intake_screen(
            s,
            actor=actor,
            patient_id=world.patient_b,
            # A complete screen (all 15 items asked): only the thunderclap answer is "yes",
            # so the open alert is the one thing that blocks planning (docs/safety-gate.md).
            answers={f.code: f.code == "O_onset_sudden" for f in CATALOGUE},
        )
    db.dispose()
    return url, world


@contextmanager
def live_server(url: str, log: Path | None = None) -> Iterator[LiveServer]:
    # Generous: on a loaded CI machine importing the app alone can take several seconds.
    server = LiveServer(url, log=log).start(timeout=120)
    try:
        yield server
    finally:
        server.stop()


# How many entries wait in the patient app's outbox (IndexedDB, static/js/diary-app.js).
_OUTBOX_COUNT = """async () => {
  const db = await new Promise((ok, fail) => {
    const req = indexedDB.open("acuhead-outbox", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("items", { keyPath: "id" })
      .createIndex("created", "created");
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
  const n = await new Promise((ok) => {
    const c = db.transaction("items", "readonly").objectStore("items").count();
    c.onsuccess = () => ok(c.result);
  });
  db.close();
  return n;
}"""


def wait_outbox_sent(page: Any, timeout: float = 20.0) -> None:
    """Wait until everything the page queued has been sent (the outbox is empty); the
    outbox's box alone cannot say so, it is hidden before an entry is first listed."""
    import time

    deadline = time.monotonic() + timeout
    while page.evaluate(_OUTBOX_COUNT) != 0:
        if time.monotonic() > deadline:
            raise AssertionError("the outbox was not sent")
        page.wait_for_timeout(200)
