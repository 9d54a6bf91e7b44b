"""A patient's document carries the earlier versions of their own treatment sessions
(``session_versions``, kept when a session is corrected) and an import restores them: all or
nothing, located problems, unknown keys refused. Both engines."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from acuhead.errors import ValidationError
from acuhead.services import care, diary, imports
from acuhead.services.actors import Actor
from acuhead.store.db import Database
from acuhead.store.models import Patient, SessionVersionRow, TreatmentSessionRow

from .factories import World

SESSION: dict[str, Any] = {
    "start": "2026-03-02T10:00:00",
    "points": [{"code": "GB20", "side": "both"}],
    "pain_before": 5,
    "notes": "first",
}


def _export(db: Database, actor: Actor, patient_id: int) -> dict[str, Any]:
    with db.write() as s:
        return diary.export_document(s, actor=actor, patient_id=patient_id)


def _import(db: Database, actor: Actor, doc: dict[str, Any], pid: int | None = None) -> int:
    with db.write() as s:
        _, patient, _ = imports.import_text(s, actor=actor, data=json.dumps(doc), patient_id=pid)
        return patient.id


def _corrected_twice(db: Database, world: World) -> None:
    x = Actor.system(world.clinic_x)
    with db.write() as s:
        row = care.create_treatment_session(s, actor=x, patient_id=world.patient_a, data=SESSION)
        sid = row.id
    for version, notes in ((1, "second"), (2, "third")):
        with db.write() as s:
            care.update_treatment_session(
                s,
                actor=x,
                patient_id=world.patient_a,
                session_id=sid,
                version=version,
                data={**SESSION, "notes": notes, "pain_after": version},
            )


def test_earlier_session_versions_travel_with_the_document_and_come_back(
    db: Database, world: World
) -> None:
    x, y = Actor.system(world.clinic_x), Actor.system(world.clinic_y)
    assert "session_versions" not in _export(db, x, world.patient_a)
    _corrected_twice(db, world)
    doc = _export(db, x, world.patient_a)
    assert [s["notes"] for s in doc["sessions"]] == ["third"]
    earlier = doc["session_versions"]
    assert [(v["start"], v["version"], v["session"]["notes"]) for v in earlier] == [
        ("2026-03-02T10:00:00", 1, "first"),
        ("2026-03-02T10:00:00", 2, "second"),
    ]
    assert earlier[0]["session"].get("pain_after") is None
    assert earlier[1]["session"]["pain_after"] == 1

    _import(db, x, doc, world.patient_a)  # the same patient: replaced, nothing doubled
    assert _export(db, x, world.patient_a) == doc
    copied = _import(db, y, doc)  # another clinic: a new patient with the same history
    again = _export(db, y, copied)
    assert again["session_versions"] == earlier and again["sessions"] == doc["sessions"]
    with db.read() as s:
        (current,) = s.scalars(
            select(TreatmentSessionRow).where(TreatmentSessionRow.patient_id == copied)
        ).all()
        assert current.version == 3  # after the versions it keeps, as in the source
        kept = s.scalars(
            select(SessionVersionRow.version).where(SessionVersionRow.session_id == current.id)
        ).all()
        assert sorted(kept) == [1, 2]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"extra": 1}, "session_versions[0].extra"),
        ({"start": "2026-03-03T10:00:00"}, "session_versions[0].start"),
        ({"version": 0}, "session_versions[0].version"),
        ({"version": 2}, "session_versions[1].version"),  # repeats the next entry's
        ({"session": {**SESSION, "points": [{"code": "QQ1"}]}}, "session_versions[0].session"),
    ],
)
def test_a_bad_version_entry_is_refused_with_its_path_and_nothing_is_written(
    db: Database, world: World, change: dict[str, Any], path: str
) -> None:
    x, y = Actor.system(world.clinic_x), Actor.system(world.clinic_y)
    _corrected_twice(db, world)
    doc = _export(db, x, world.patient_a)
    doc["session_versions"][0] = {**doc["session_versions"][0], **change}
    with pytest.raises(ValidationError) as refused:
        _import(db, y, doc)
    paths = {e.path for e in refused.value.errors}
    assert any(p == path or p.startswith(path + ".") for p in paths), paths
    with db.read() as s:
        assert s.scalar(select(func.count()).where(Patient.clinic_id == world.clinic_y)) == 1
        other = select(func.count()).where(SessionVersionRow.clinic_id == world.clinic_y)
        assert s.scalar(other) == 0


# ---- an import that meets a stored session merges into its history (issue 13: lose nothing) --


def _history(db: Database, patient_id: int) -> tuple[int, list[tuple[int, str]], str]:
    """The session's version, its kept versions (number, notes) and its current notes."""
    with db.read() as s:
        (row,) = s.scalars(
            select(TreatmentSessionRow).where(TreatmentSessionRow.patient_id == patient_id)
        ).all()
        kept = s.execute(
            select(SessionVersionRow.version, SessionVersionRow.record)
            .where(SessionVersionRow.session_id == row.id)
            .order_by(SessionVersionRow.version)
        ).all()
        return row.version, [(v, r.get("notes")) for v, r in kept], row.record.get("notes")


def test_an_import_that_changes_a_stored_session_keeps_the_stored_one_as_an_earlier_version(
    db: Database, world: World
) -> None:
    """A file with a different record at a stored session's start corrects it, as an edit
    does: the stored history stays and the record it replaces is kept as the next version."""
    x = Actor.system(world.clinic_x)
    _corrected_twice(db, world)
    assert _history(db, world.patient_a) == (3, [(1, "first"), (2, "second")], "third")
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "A-1"},
        "sessions": [{**SESSION, "notes": "from the paper file"}],
    }
    with db.read() as s:
        doc["patient"]["external_id"] = s.get(Patient, world.patient_a).external_id  # type: ignore[union-attr]
    _import(db, x, doc, world.patient_a)
    assert _history(db, world.patient_a) == (
        4,
        [(1, "first"), (2, "second"), (3, "third")],
        "from the paper file",
    )


def test_importing_a_session_as_it_is_stored_changes_nothing(db: Database, world: World) -> None:
    x = Actor.system(world.clinic_x)
    _corrected_twice(db, world)
    doc = _export(db, x, world.patient_a)
    del doc["session_versions"]  # a file that carries the sessions only
    _import(db, x, doc, world.patient_a)
    assert _history(db, world.patient_a) == (3, [(1, "first"), (2, "second")], "third")


def test_a_version_in_the_file_that_contradicts_a_stored_one_is_refused_with_its_path(
    db: Database, world: World
) -> None:
    x = Actor.system(world.clinic_x)
    _corrected_twice(db, world)
    doc = _export(db, x, world.patient_a)
    first = doc["session_versions"][0]
    doc["session_versions"][0] = {**first, "session": {**first["session"], "notes": "other"}}
    with pytest.raises(ValidationError) as refused:
        _import(db, x, doc, world.patient_a)
    assert [e.path for e in refused.value.errors] == ["session_versions[0].session"]
    assert "version 1" in refused.value.errors[0].message
    assert _history(db, world.patient_a) == (3, [(1, "first"), (2, "second")], "third")
