"""The practice report's reads of ``block_aggregates`` (issue 17) give what the day-unit scan
gives, to the last bit, on both engines: the per-patient endpoints (baseline and primary
block), the trend's sums (whole numbers, summed by the database on the stored path) and the
whole report JSON, for the default windows under several compliance
policies and primary blocks, for the clinic and for one practitioner's patients.

The cohort is built by hand through the services: patients with a full, a thin and no
baseline, blocks of high and low compliance, a primary block that is empty inside the
follow-up and one beyond it, a patient with a day whose migraine status is uncertain, two
practitioners and none, an untreated patient and another clinic's patient. About a third of
the diary days are headache days without an attack (migraine status uncertain, so left out of
the responder's denominators) and six per patient are migraine days.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
from typing import Any

import pytest
from sqlalchemy import Float, Integer, bindparam, select, update

from acuhead.analytics import cohort as cohort_module
from acuhead.analytics import report as report_module
from acuhead.analytics.cohort import (
    Endpoints,
    Scope,
    adverse_events,
    cohort_blocks,
    session_relief_by_patient,
    sleep_units,
    sleep_units_sql,
    stored_cohort,
    stored_trend_sums,
    trend_scale,
    trend_sums,
    trend_windows,
)
from acuhead.domain.diary import DiaryDay
from acuhead.domain.outcomes import Block, OutcomeConfig
from acuhead.services import accounts, diary, outcomes
from acuhead.services.actors import Actor, Role
from acuhead.store.db import Database
from acuhead.store.models import Patient, User

from .factories import PASSWORD, World
from .test_block_aggregates import migraine
from .test_outcomes import add_session

ANCHOR = dt.date(2026, 3, 2)
D = dt.date

# Per patient: (days from the anchor with a diary entry, practitioner: 0 none / 1 X / 2 new).
# Day ranges are half-open; the windows are baseline -28..-1 and blocks of 28 from day 0.
PLANS: dict[str, tuple[list[range], int]] = {
    "full": ([range(-28, 112)], 1),  # every window complete
    "thin_baseline": ([range(-20, 0), range(0, 84)], 1),  # 20 of 28 baseline days: low
    "gap": ([range(-28, 28), range(60, 112)], 2),  # block 1 partly, block 2 (primary) full
    "empty_primary": ([range(-28, 50), range(84, 90)], 2),  # block 2 empty, block 3 not
    "short": ([range(-28, 40)], 0),  # follow-up ends in block 1: no primary block at all
    "no_baseline": ([range(0, 90)], 0),  # diary only from the first session on
    "edges": ([range(-28, -27), range(-1, 1), range(27, 29), range(55, 57), range(83, 84)], 1),
}


def _entry(rng: random.Random, d: D) -> DiaryDay:
    return DiaryDay(
        date=d,
        headache=rng.random() < 0.35,
        stress=rng.choice([None, *range(11)]),
        neck_tension=rng.choice([None, *range(11)]),
        sleep_hours=rng.choice([None, 5.0, 6.5, 7.25, 8.0, 9.5]),
    )


@pytest.fixture
def varied(db: Database, world: World) -> dict[str, int]:
    sx, sy = Actor.system(world.clinic_x), Actor.system(world.clinic_y)
    rng = random.Random(17)
    ids: dict[str, int] = {}
    with db.write() as s:
        prac_x = s.scalars(select(User.id).where(User.email == world.prac_x)).one()
        other = accounts.create_user(
            s,
            clinic_id=world.clinic_x,
            email="prac2@x.test",
            name="Prac Two",
            role=Role.PRACTITIONER,
            password=PASSWORD,
        ).id
        pracs = {0: None, 1: prac_x, 2: other}
        for n, (name, (ranges, prac)) in enumerate(PLANS.items()):
            pid = diary.create_patient(s, actor=sx, external_id=f"V-{name}").id
            ids[name] = pid
            s.execute(update(Patient).where(Patient.id == pid).values(practitioner_id=pracs[prac]))
            for r in ranges:
                for k in r:
                    d = ANCHOR + dt.timedelta(days=k + n)  # anchors a day apart
                    diary.upsert_day(s, actor=sx, patient_id=pid, day=_entry(rng, d))
            for k in rng.sample([k for r in ranges for k in r], 6):  # migraine days
                start = dt.datetime.combine(ANCHOR + dt.timedelta(days=k + n), dt.time(9))
                diary.create_attack(s, actor=sx, patient_id=pid, attack=migraine(start))
            # Pain scores on some sessions: both, none, or (the last patient) only one side.
            first = dt.datetime.combine(ANCHOR + dt.timedelta(days=n), dt.time(10))
            add_session(s, pid, first, 6 + n % 3, 2 + n % 4)
            later = first + dt.timedelta(days=7)
            add_session(s, pid, later, *((5, None) if n == len(PLANS) - 1 else (None, None)))
            if n % 2:
                add_session(s, pid, later + dt.timedelta(days=7), 4, 4 - n % 3)
        untreated = diary.create_patient(s, actor=sx, external_id="V-untreated").id
        diary.upsert_day(s, actor=sx, patient_id=untreated, day=_entry(rng, ANCHOR))
        for k in range(-28, 84):
            d = ANCHOR + dt.timedelta(days=k)
            diary.upsert_day(s, actor=sy, patient_id=world.patient_y, day=_entry(rng, d))
        add_session(s, world.patient_y, dt.datetime.combine(ANCHOR, dt.time(9)), 7, 1)
    ids["prac_x"], ids["prac_two"] = prac_x, other
    return ids


CONFIGS = [
    OutcomeConfig(),
    OutcomeConfig(prorate_low_compliance=True),
    OutcomeConfig(min_compliance=0.5),
    OutcomeConfig(min_compliance=1.0, primary_block=1),
    OutcomeConfig(primary_block=0),
    OutcomeConfig(primary_block=3),
    OutcomeConfig(primary_block=7),  # beyond everyone's follow-up
]


def _scan_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference: every window from the day-unit scan, as before the aggregates."""
    for module in (cohort_module, report_module):
        monkeypatch.setattr(module, "aggregated_windows", lambda _config: False)


def _block_key(b: Block | None) -> tuple[Any, ...] | None:
    """What a window means to the report: an empty window is as good as none."""
    if b is None or not b.counts.recorded_days:
        return None
    return (b.index, b.anchor, b.counts, b.days, b.low_compliance, b.evaluable)


def _endpoint_keys(rows: list[Endpoints]) -> list[tuple[Any, ...]]:
    return [
        (e.patient_id, e.practitioner_id, _block_key(e.baseline), _block_key(e.target))
        for e in rows
    ]


def test_the_stored_reads_equal_the_scan_to_the_last_bit(
    db: Database, world: World, varied: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One cohort (built once per engine: it takes a few hundred diary writes), every config:
    the endpoints and trend sums of each scope, then the whole report of the clinic and of
    each practitioner."""
    actor = Actor.system(world.clinic_x)
    scopes = [
        Scope(world.clinic_x),
        Scope(world.clinic_x, practitioner_id=varied["prac_two"]),
        Scope(world.clinic_y),
    ]

    def reports(config: OutcomeConfig) -> list[dict[str, Any]]:
        out = []
        with db.write() as s:
            for prac in (None, varied["prac_x"], varied["prac_two"]):
                r = outcomes.practice_report(s, actor=actor, practitioner_id=prac, config=config)
                j = r.to_json()
                j.pop("generated_utc")
                out.append(j)
        return out

    stored: dict[int, Any] = {}
    with db.read() as s:
        for k, config in enumerate(CONFIGS):
            stored[k] = [
                (stored_cohort(s, sc, config), stored_trend_sums(s, sc, config)) for sc in scopes
            ]
    stored_reports = {k: reports(config) for k, config in enumerate(CONFIGS)}
    _scan_only(monkeypatch)
    for k, config in enumerate(CONFIGS):
        with db.read() as s:
            for scope, ((endpoints, relief, sessions), sums) in zip(scopes, stored[k], strict=True):
                assert relief == session_relief_by_patient(s, scope)
                assert sessions == adverse_events(s, scope).sessions
                scanned = cohort_blocks(s, scope, config)
                expected = [Endpoints.of(pb, config) for pb in scanned]
                assert _endpoint_keys(endpoints) == _endpoint_keys(expected), (config, scope)
                # Compared exactly: whole numbers (sleep in billionths of an hour, rounded by
                # the database on the stored path and by Python on the scan).
                assert sums == trend_sums(trend_windows(scanned), trend_scale(config)), (
                    config,
                    scope,
                )
        scanned_reports = reports(config)
        assert stored_reports[k] == scanned_reports, config
        assert repr(stored_reports[k]) == repr(scanned_reports), config
    default = stored[0]
    clinic_x = default[0][0].endpoints
    assert len(clinic_x) == len(PLANS)  # the untreated patient and clinic Y are not in it
    assert {e.practitioner_id for e in default[1][0].endpoints} == {varied["prac_two"]}
    assert min(default[0][1]) == -1 and max(default[0][1]) >= 3  # baseline, blocks 0..3
    first = stored_reports[0][0]
    assert first["patients_treated"] == len(PLANS)
    assert first["trend"] and len(first["by_practitioner"]) == 3
    # The configs differ where they should: the scan is not trivially equal to itself.
    assert stored_reports[1][0] != first and stored_reports[4][0] != first


def test_the_database_counts_sleep_in_billionths_of_an_hour_as_python_does(db: Database) -> None:
    """The stored path rounds each patient's sleep mean in SQL, the scan path in Python: the
    same whole number for every sum and count, sums of hours with tenths and odd counts
    included (they are no exact binary fractions)."""
    rng = random.Random(23)
    pairs: list[tuple[float, int]] = []
    for _ in range(3000):
        n = rng.randint(1, 28)
        total = sum(rng.choice([4.1, 5.0, 6.3, 6.5, 7.25, 7.7, 8.0, 9.9, 11.35]) for _ in range(n))
        pairs.append((total, n))
    pairs += [(7.5, 1), (22.0, 3), (20.0, 3), (24.0 * 28, 28), (0.1 * 3, 3)]
    with db.read() as s:
        dialect = s.get_bind().dialect.name
        total_p, n_p = bindparam("total", type_=Float), bindparam("n", type_=Integer)
        stmt = select(sleep_units_sql(total_p, n_p, dialect))
        got = [s.execute(stmt, {"total": t, "n": n}).scalar_one() for t, n in pairs]
    assert got == [sleep_units(t, n) for t, n in pairs]


def test_the_report_is_built_with_the_cycle_collector_paused_and_restores_it(
    db: Database, varied: dict[str, int], world: World
) -> None:
    """The report pauses Python's cyclic collector while it builds (a quarter of its time at
    registry scale went to the collector's walks) and turns it back on afterwards, also when
    the report fails part-way."""
    seen: list[bool] = []
    with db.read() as s:
        report_module.practice_report(
            s, clinic_id=world.clinic_x, progress=lambda _: seen.append(gc.isenabled())
        )
    assert seen and not any(seen)
    assert gc.isenabled()

    def fail(_: str) -> None:
        raise RuntimeError("stopped part-way")

    with db.read() as s, pytest.raises(RuntimeError):
        report_module.practice_report(s, clinic_id=world.clinic_x, progress=fail)
    assert gc.isenabled()
