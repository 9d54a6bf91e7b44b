"""Probable migraine counts as a migraine day only in a patient with migraine, and the stored day
units, the read-out and a recount agree (issue 12 item 6; ICHD-3 1.5, CLINICAL.md 1.0 "Counting
rule"), on both engines.
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from acuhead.domain.dayunits import day_units
from acuhead.domain.diary import Attack, DiaryDay, Nausea, Quality, Side
from acuhead.services import clinical, diary, outcomes
from acuhead.services.actors import Actor
from acuhead.services.letters import physician_letter_html
from acuhead.store.day_units import COLUMNS, recount_stale
from acuhead.store.db import Database, upgrade
from acuhead.store.models import DayUnitRow, Patient

from .factories import PASSWORD, World
from .test_outcomes import add_session
from .test_packed_day_units import downgrade, scratch, unit  # noqa: F401 - fixture
from .test_pages import page_login

FIRST = dt.date(2026, 1, 5)


def _attack(day: dt.date, *, probable: bool) -> Attack:
    """A 6-hour attack meeting 1.1 B-D, or (probable) missing 1.1 D only: 1.5.1."""
    start = dt.datetime.combine(day, dt.time(8, 0))
    return Attack(
        start=start,
        end=start + dt.timedelta(hours=6),
        peak_intensity=7,
        side=Side.LEFT,
        quality=(Quality.PULSATING,),
        aggravated_by_activity=True,
        nausea=Nausea.NONE if probable else Nausea.MODERATE,
        vomiting=False,
        photophobia=True,
        phonophobia=not probable,
    )


def _stored_migraine_days(db: Database, patient_id: int) -> list[dt.date]:
    with db.read() as s:
        rows = s.scalars(
            select(DayUnitRow.day)
            .where(DayUnitRow.patient_id == patient_id, DayUnitRow.migraine.is_(True))
            .order_by(DayUnitRow.day)
        )
        return list(rows)


def _readout_migraine_days(db: Database, world: World, start: dt.date) -> list[str]:
    """`acuhead classify` for a window of the diary (the patient page reads windows)."""
    with db.read() as s:
        out = clinical.readout(
            s,
            actor=Actor.system(world.clinic_x),
            patient_id=world.patient_b,
            start=start,
            end=FIRST + dt.timedelta(days=40),
        )
    return [d["date"] for d in out["days"] if d["migraine_day"]]


def _domain_migraine_days(db: Database, world: World) -> list[dt.date]:
    with db.read() as s:
        whole = diary.load_diary(s, actor=Actor.system(world.clinic_x), patient_id=world.patient_b)
    units = day_units(whole, FIRST, FIRST + dt.timedelta(days=40))
    return [u.date for u in units if u.migraine_day]


def test_probable_days_count_once_the_patient_has_migraine(db: Database, world: World) -> None:
    actor = Actor.system(world.clinic_x)
    probable_days = [FIRST + dt.timedelta(days=k) for k in range(6)]
    with db.write() as s:
        for day in probable_days:
            diary.create_attack(
                s, actor=actor, patient_id=world.patient_b, attack=_attack(day, probable=True)
            )
    # Six probable-migraine attacks and no migraine diagnosis: no migraine day anywhere.
    assert _stored_migraine_days(db, world.patient_b) == []
    assert _readout_migraine_days(db, world, FIRST) == []
    assert _domain_migraine_days(db, world) == []

    migraine_days = [FIRST + dt.timedelta(days=20 + k) for k in range(5)]
    ids = []
    with db.write() as s:
        for day in migraine_days:
            row = diary.create_attack(
                s, actor=actor, patient_id=world.patient_b, attack=_attack(day, probable=False)
            )
            ids.append(row.id)
    # The fifth attack meeting 1.1 completes ICHD-3 1.1 A: the earlier probable days count too.
    expected = probable_days + migraine_days
    assert _stored_migraine_days(db, world.patient_b) == expected
    assert _domain_migraine_days(db, world) == expected
    # A window without any definite attack still counts the probable days.
    window = FIRST + dt.timedelta(days=2)
    assert _readout_migraine_days(db, world, window) == [
        d.isoformat() for d in expected if d >= window
    ]

    with db.write() as s:
        diary.delete_attack(s, actor=actor, patient_id=world.patient_b, attack_id=ids[0])
    # Four attacks of 1.1 are no diagnosis any more: the probable days drop out again.
    assert _stored_migraine_days(db, world.patient_b) == migraine_days[1:]
    assert _domain_migraine_days(db, world) == migraine_days[1:]


def test_recount_after_the_migration_fixes_stale_rows(db: Database, world: World) -> None:
    """Migration 0065 leaves every patient's status NULL; the recount run after upgrading
    rewrites day units that were counted under the old rule (every probable day a migraine
    day)."""
    actor = Actor.system(world.clinic_x)
    day = FIRST
    with db.write() as s:
        diary.create_attack(
            s, actor=actor, patient_id=world.patient_b, attack=_attack(day, probable=True)
        )
    with db.write() as s:
        s.execute(update(DayUnitRow).values(migraine=True))  # as the old rule stored it
        s.execute(update(Patient).values(migraine_diagnosed=None))
    assert _stored_migraine_days(db, world.patient_b) == [day]
    with db.write() as s:
        assert recount_stale(s) >= 1
    assert _stored_migraine_days(db, world.patient_b) == []
    with db.read() as s:
        assert s.get(Patient, world.patient_b).migraine_diagnosed is False  # type: ignore[union-attr]


def test_migrations_0065_0070_keep_the_rows_and_mark_every_patient_for_a_recount(
    scratch: Database,  # noqa: F811 - the fixture imported above
) -> None:
    """0065 adds patients.migraine_diagnosed, 0070 day_units.migraine_uncertain (false on old
    rows) and clears every status so `acuhead db upgrade` recounts; down again keeps the rows."""
    upgrade(scratch, "0065")
    with scratch.write() as s:
        s.execute(text("INSERT INTO clinics (id, name, created_utc) VALUES (1, 'C', :t)"),
                  {"t": dt.datetime(2026, 1, 1)})  # fmt: skip
        s.execute(text(
            "INSERT INTO patients (id, clinic_id, external_id, display_name, sex, timezone,"
            " safety, version, created_utc, migraine_diagnosed)"
            " VALUES (7, 1, 'P', '', 'unknown', 'UTC', '{}', 1, :t, true)"
        ), {"t": dt.datetime(2026, 1, 1)})  # fmt: skip
        then = [c for c in COLUMNS if c != "migraine_uncertain"]
        row = {"patient_id": 7, "clinic_id": 1, **unit(FIRST, migraine=True)}
        s.execute(
            text(
                f"INSERT INTO day_units ({', '.join(then)}) "
                f"VALUES ({', '.join(':' + c for c in then)})"
            ),
            row,
        )
    upgrade(scratch)
    with scratch.read() as s:
        stored = s.execute(select(DayUnitRow.migraine, DayUnitRow.migraine_uncertain)).all()
        status = s.scalar(select(Patient.migraine_diagnosed))
    assert [tuple(r) for r in stored] == [(True, False)]
    assert status is None
    with scratch.write() as s:
        assert recount_stale(s) == 1  # no diary behind the row: the recount removes it
    with scratch.read() as s:
        assert s.scalar(select(func.count()).select_from(DayUnitRow)) == 0
        assert s.scalar(select(Patient.migraine_diagnosed)) is False
    downgrade(scratch, "0050")
    with scratch.engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM patients")) == 1


ANCHOR = dt.date(2026, 3, 2)


def test_uncertain_days_reach_the_outcomes_the_page_and_the_letter(
    db: Database, world: World, app_client: TestClient
) -> None:
    """Issue 12 item 8: a headache day without attack details is uncertain, not "no migraine";
    the outcomes give the known count beside the uncertain one, the responders say how many days
    they left out, and the page and the letter show "uncertain"."""
    actor = Actor.system(world.clinic_x)
    pid = world.patient_b
    baseline = [ANCHOR - dt.timedelta(days=28 - k) for k in range(28)]
    block_0 = [ANCHOR + dt.timedelta(days=k) for k in range(28)]
    with db.write() as s:
        for k, day in enumerate(baseline + block_0):
            uncertain = day in baseline and k in (10, 11, 12)
            diary.upsert_day(
                s, actor=actor, patient_id=pid, day=DiaryDay(date=day, headache=uncertain)
            )
        for day in (baseline[1], baseline[5], baseline[15], baseline[20], block_0[3]):
            diary.create_attack(s, actor=actor, patient_id=pid, attack=_attack(day, probable=False))
        add_session(s, pid, dt.datetime.combine(ANCHOR, dt.time(9, 30)), None, None)
    with db.write() as s:
        out = outcomes.patient_outcomes(s, actor=actor, patient_id=pid).to_json()
        letter = physician_letter_html(s, actor=actor, patient_id=pid)
    base = out["baseline"]
    assert (base["migraine_days"], base["migraine_days_uncertain"]) == (4, 3)
    assert base["migraine_known_days"] == 25
    block = out["blocks"][0]
    assert (block["migraine_days"], block["migraine_days_uncertain"]) == (1, 0)
    assert block["responder_basis"]["baseline"] == {"known_days": 25, "uncertain_days": 3}
    # 4/25 known baseline days against 1/28: a 78 % fall (over recorded days 4/28: 75 %).
    assert block["responder"] == {"30": True, "50": True, "75": True, "100": False}

    page_login(app_client, "prac@x.test", PASSWORD)
    page = app_client.get(f"/clinic/patients/{pid}")
    assert page.status_code == 200
    baseline_row = page.text.split('data-window="-1"', 1)[1].split("</tr>", 1)[0]
    assert 'data-figure="uncertain">3 uncertain<' in baseline_row
    assert "(+3 uncertain)" in letter
