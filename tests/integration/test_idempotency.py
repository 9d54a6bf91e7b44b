"""Idempotency keys on diary writes (issue 14): a replay gives the first answer and writes
nothing; a key reused for another body is refused; two at once make one row. Both engines."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from acuhead.services import idempotency
from acuhead.store.db import Database
from acuhead.store.models import AttackRow, DiaryDayRow, IdempotencyKeyRow, Patient, utcnow

from .factories import World

Login = Callable[[str], dict[str, str]]
KEY = "0b7c6a52-5d2f-4b8e-9d7e-2f1c3a4b5c6d"
ATTACK = {"start": "2026-02-04T08:00", "peak_intensity": 6}


def _count(db: Database, model: type[AttackRow] | type[DiaryDayRow]) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count(model.id))) or 0)


def test_an_attack_sent_again_with_its_key_is_stored_once_with_the_same_answer(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    h = {**login(world.patient_a_email), "Idempotency-Key": KEY}
    url = f"/api/v1/patients/{world.patient_a}/attacks"
    first = app_client.post(url, json=ATTACK, headers=h)
    again = app_client.post(url, json=ATTACK, headers=h)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert _count(db, AttackRow) == 1
    # Without a key, the same body is a second attack (keys are the client's promise).
    other = app_client.post(url, json=ATTACK, headers=login(world.patient_a_email))
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert _count(db, AttackRow) == 2


def test_a_key_reused_for_a_different_body_is_refused_and_writes_nothing(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    h = {**login(world.patient_a_email), "Idempotency-Key": KEY}
    url = f"/api/v1/patients/{world.patient_a}/attacks"
    assert app_client.post(url, json=ATTACK, headers=h).status_code == 201
    changed = app_client.post(url, json={**ATTACK, "peak_intensity": 7}, headers=h)
    assert changed.status_code == 422
    assert "different request" in changed.text and "Idempotency-Key" in changed.text
    assert _count(db, AttackRow) == 1
    # The same key on another route is another request too.
    day = app_client.put(
        f"/api/v1/patients/{world.patient_a}/days/2026-02-04", json={"headache": True}, headers=h
    )
    assert day.status_code == 422
    assert _count(db, DiaryDayRow) == 0


def test_keys_belong_to_one_patient(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    """Patient B using A's key writes B's own attack: a key never reveals another's answer."""
    a = app_client.post(
        f"/api/v1/patients/{world.patient_a}/attacks",
        json=ATTACK,
        headers={**login(world.patient_a_email), "Idempotency-Key": KEY},
    )
    b = app_client.post(
        f"/api/v1/patients/{world.patient_b}/attacks",
        json=ATTACK,
        headers={**login(world.patient_b_email), "Idempotency-Key": KEY},
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert _count(db, AttackRow) == 2


def test_a_day_sent_again_with_its_key_answers_as_the_first_time_not_428(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    """Without the key the second PUT of a new day answers 428 (it exists now); with it, the
    phone that never heard the first answer gets that answer."""
    h = {**login(world.patient_a_email), "Idempotency-Key": KEY}
    url = f"/api/v1/patients/{world.patient_a}/days/2026-02-04"
    first = app_client.put(url, json={"headache": False, "notes": "fine"}, headers=h)
    again = app_client.put(url, json={"headache": False, "notes": "fine"}, headers=h)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.json()["version"] == 1
    plain = app_client.put(url, json={"headache": False}, headers=login(world.patient_a_email))
    assert plain.status_code == 428
    assert _count(db, DiaryDayRow) == 1


def test_a_malformed_key_is_a_422_naming_the_header(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    h = {**login(world.patient_a_email), "Idempotency-Key": "bad key!"}
    r = app_client.post(f"/api/v1/patients/{world.patient_a}/attacks", json=ATTACK, headers=h)
    assert r.status_code == 422 and "Idempotency-Key" in r.text
    assert _count(db, AttackRow) == 0


def test_twenty_concurrent_requests_with_one_key_make_one_attack(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    h = {**login(world.patient_a_email), "Idempotency-Key": KEY}
    url = f"/api/v1/patients/{world.patient_a}/attacks"
    n = 20
    start = threading.Barrier(n)

    def one(_: int) -> httpx.Response:
        start.wait()
        return app_client.post(url, json=ATTACK, headers=h)

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(one, range(n)))
    codes = Counter(r.status_code for r in answers)
    assert codes == {201: n}, (codes, [r.text for r in answers if r.status_code != 201][:2])
    assert len({r.json()["id"] for r in answers}) == 1
    assert _count(db, AttackRow) == 1
    with db.read() as s:
        assert s.scalar(select(func.count(IdempotencyKeyRow.id))) == 1


def _attack(app_client: TestClient, world: World, login: Login) -> tuple[str, dict[str, str]]:
    h = login(world.patient_a_email)
    made = app_client.post(f"/api/v1/patients/{world.patient_a}/attacks", json=ATTACK, headers=h)
    assert made.status_code == 201, made.text
    return f"/api/v1/patients/{world.patient_a}/attacks/{made.json()['id']}", h


def test_an_attack_edit_sent_again_with_its_key_answers_as_the_first_time_not_409(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    """The edit moved the version on: without the key the same PUT again is a 409; with it,
    the phone that lost the answer gets the first answer and nothing changes again."""
    url, h = _attack(app_client, world, login)
    edit = {**ATTACK, "peak_intensity": 8, "version": 1}
    first = app_client.put(url, json=edit, headers={**h, "Idempotency-Key": KEY})
    again = app_client.put(url, json=edit, headers={**h, "Idempotency-Key": KEY})
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.json()["version"] == 2
    assert app_client.get(url, headers=h).json()["version"] == 2
    assert app_client.put(url, json=edit, headers=h).status_code == 409
    other = app_client.put(
        url, json={**edit, "peak_intensity": 9}, headers={**h, "Idempotency-Key": KEY}
    )
    assert other.status_code == 422 and "different request" in other.text
    assert app_client.get(url, headers=h).json()["peak_intensity"] == 8


def test_an_attack_delete_sent_again_with_its_key_answers_204_not_404(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    url, h = _attack(app_client, world, login)
    url2, _ = _attack(app_client, world, login)  # made first: SQLite may reuse a deleted id
    first = app_client.delete(url, headers={**h, "Idempotency-Key": KEY})
    again = app_client.delete(url, headers={**h, "Idempotency-Key": KEY})
    assert first.status_code == again.status_code == 204, again.text
    assert again.content == b""
    assert _count(db, AttackRow) == 1
    assert app_client.delete(url, headers=h).status_code == 404
    # The key of one attack's delete is not another attack's delete.
    other = app_client.delete(url2, headers={**h, "Idempotency-Key": KEY})
    assert other.status_code == 422
    assert _count(db, AttackRow) == 1


def _age_keys(db: Database, days: int) -> None:
    """Make every stored key ``days`` old (as if written then)."""
    with db.write() as s:
        for row in s.scalars(select(IdempotencyKeyRow)):
            row.created_utc = utcnow() - dt.timedelta(days=days)


def _old_key(db: Database, patient_id: int, key: str, days: int) -> None:
    with db.write() as s:
        patient = s.get(Patient, patient_id)
        assert patient is not None
        s.add(
            IdempotencyKeyRow(
                clinic_id=patient.clinic_id,
                patient_id=patient_id,
                key=key,
                fingerprint="0" * 64,
                status_code=201,
                response={},
                created_utc=utcnow() - dt.timedelta(days=days),
            )
        )


def _keys(db: Database) -> set[tuple[int, str]]:
    with db.read() as s:
        return {(r.patient_id, r.key) for r in s.scalars(select(IdempotencyKeyRow))}


def test_keys_older_than_the_retention_period_are_deleted_as_new_keys_are_written(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    """ACUHEAD_IDEMPOTENCY_DAYS defaults to 30: keys of 31 days go (the writer's own and other
    patients'), keys of 29 days stay."""
    _old_key(db, world.patient_a, "a-old-31-days", 31)
    _old_key(db, world.patient_b, "b-old-31-days", 31)
    _old_key(db, world.patient_b, "b-kept-29-days", 29)
    h = {**login(world.patient_a_email), "Idempotency-Key": KEY}
    made = app_client.post(f"/api/v1/patients/{world.patient_a}/attacks", json=ATTACK, headers=h)
    assert made.status_code == 201, made.text
    assert _keys(db) == {(world.patient_b, "b-kept-29-days"), (world.patient_a, KEY)}


def test_a_replay_inside_the_period_still_gets_the_first_answer_after_pruning(
    app_client: TestClient, db: Database, world: World, login: Login
) -> None:
    h = {**login(world.patient_a_email), "Idempotency-Key": KEY}
    url = f"/api/v1/patients/{world.patient_a}/attacks"
    first = app_client.post(url, json=ATTACK, headers=h)
    assert first.status_code == 201
    _age_keys(db, 29)
    _old_key(db, world.patient_b, "b-old-31-days", 31)
    # Another new key prunes; the 29-day-old one survives and still answers the replay.
    other = {**h, "Idempotency-Key": "another-key-1234"}
    assert app_client.post(url, json={**ATTACK, "peak_intensity": 3}, headers=other).status_code
    assert _keys(db) == {(world.patient_a, KEY), (world.patient_a, "another-key-1234")}
    again = app_client.post(url, json=ATTACK, headers=h)
    assert again.status_code == 201 and again.json() == first.json()
    assert _count(db, AttackRow) == 2


def test_the_prune_deletes_a_bounded_batch_of_other_patients_keys(
    db: Database, world: World
) -> None:
    """One write never deletes more than PRUNE_BATCH of the others' expired keys."""
    for i in range(idempotency.PRUNE_BATCH + 5):
        _old_key(db, world.patient_b, f"b-old-key-{i:04d}", 40)
    with db.write() as s:
        idempotency.prune(s, patient_id=world.patient_a, before=utcnow() - dt.timedelta(days=30))
    assert len(_keys(db)) == 5
