"""The faster attack reader (issue 13 item 5: enum members remembered per tuple of values,
"Z" read by ``fromisoformat`` itself, no aura or dose loop for an attack without them) refuses
the same bad inputs with the same located messages as the code before it: no string-to-bool,
no bool-to-int, dates from 1900 to today + 1 (issue 13 item 12). The expected messages were
taken from the code before the change."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from acuhead.errors import ValidationError
from acuhead.interop.document import parse

BASE = {"start": "2025-03-01T10:00", "end": "2025-03-01T12:00"}
CASES: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    ({"peak_intensity": "5"}, [("attacks[1].peak_intensity", "must be of type integer; got '5'")]),
    (
        {"peak_intensity": True},
        [("attacks[1].peak_intensity", "must be of type integer; got True")],
    ),
    ({"peak_intensity": 11}, [("attacks[1].peak_intensity", "must be at most 10; got 11")]),
    ({"photophobia": "yes"}, [("attacks[1].photophobia", "must be of type boolean; got 'yes'")]),
    ({"photophobia": 1}, [("attacks[1].photophobia", "must be of type boolean; got 1")]),
    ({"vomiting": None}, [("attacks[1].vomiting", "must be of type boolean; got None")]),
    ({"side": "up"}, [("attacks[1].side", "must be one of: left, right, both; got 'up'")]),
    ({"side": True}, [("attacks[1].side", "must be one of: left, right, both; got True")]),
    (
        {"locations": ["temporal", "nowhere"]},
        [
            (
                "attacks[1].locations[1]",
                "must be one of: frontal, temporal, occipital, vertex, orbital, neck; "
                "got 'nowhere'",
            )
        ],
    ),
    (
        {"locations": "temporal"},
        [("attacks[1].locations", "must be of type array; got 'temporal'")],
    ),
    ({"locations": ["temporal", "temporal"]}, [("attacks[1].locations", "has repeated entries")]),
    (
        {"quality": [1]},
        [("attacks[1].quality[0]", "must be one of: pulsating, pressing, stabbing, other; got 1")],
    ),
    (
        {"quality": [["pressing"]]},
        [
            (
                "attacks[1].quality[0]",
                "must be one of: pulsating, pressing, stabbing, other; got ['pressing']",
            )
        ],
    ),
    (
        {"nausea": True},
        [("attacks[1].nausea", "must be one of: none, mild, moderate, severe; got True")],
    ),
    (
        {"nausea": "MILD"},
        [("attacks[1].nausea", "must be one of: none, mild, moderate, severe; got 'MILD'")],
    ),
    (
        {"start": "2025-13-01T10:00"},
        [("attacks[1].start", "is not a date-time from 1900 on; got '2025-13-01T10:00'")],
    ),
    (
        {"start": "1899-12-31T10:00", "end": None},
        [("attacks[1].start", "is not a date-time from 1900 on; got '1899-12-31T10:00'")],
    ),
    (
        {"start": "9999-12-31T10:00", "end": None},
        [("attacks[1].start", "is not a date-time from 1900 on; got '9999-12-31T10:00'")],
    ),
    ({"end": "2025-03-01T09:00"}, [("attacks[1].end", "2025-03-01T09:00 is before start")]),
    (
        {"readings": [{"at": "2025-03-01T13:00", "intensity": 4}]},
        [("attacks[1].readings[0].at", "is outside the attack")],
    ),
    (
        {"readings": [{"at": "2025-03-01T11:00", "intensity": "4"}]},
        [("attacks[1].readings[0].intensity", "must be of type integer; got '4'")],
    ),
    (
        {"medications": [{"name": "x", "class": "nope"}]},
        [
            (
                "attacks[1].medications[0].class",
                "must be one of: simple_analgesic, nsaid, paracetamol, triptan, ergot, opioid, "
                "combination_analgesic, gepant, ditan, antiemetic, other; got 'nope'",
            )
        ],
    ),
    (
        {"medications": [{"name": "x", "class": "nsaid", "effect": "great"}]},
        [("attacks[1].medications[0].effect", "must be one of: none, partial, good; got 'great'")],
    ),
    (
        {"medications": [{"name": "x", "class": "nsaid", "taken_at": "yesterday"}]},
        [
            (
                "attacks[1].medications[0].taken_at",
                "is not a date-time like 2026-02-02T06:30:00; got 'yesterday'",
            ),
            (
                "attacks[1].medications[0].taken_at",
                "is not a date-time from 1900 on; got 'yesterday'",
            ),
        ],
    ),
    (
        {"aura": [{"type": "smell"}]},
        [
            (
                "attacks[1].aura[0].type",
                "must be one of: visual, sensory, speech, motor, brainstem, retinal; got 'smell'",
            )
        ],
    ),
    (
        {"aura": [{"type": "visual", "unilateral": "yes"}]},
        [("attacks[1].aura[0].unilateral", "must be of type boolean; got 'yes'")],
    ),
    (
        {"triggers": [""]},
        [("attacks[1].triggers[0]", "length must be within limits (minLength 1)")],
    ),
    ({"warning_signs": [3]}, [("attacks[1].warning_signs[0]", "must be of type string; got 3")]),
    ({"colour": "red"}, [("attacks[1].colour", "is not a known key")]),
]


def _errors(attack: dict[str, Any]) -> list[tuple[str, str]]:
    # A good attack first with the same lists, so the bad one meets remembered members.
    good = {**BASE, "start": "2025-02-01T10:00", "end": None, "locations": ["temporal"]}
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "t", "timezone": "Europe/Berlin"},
        "attacks": [good, attack],
    }
    try:
        parse(doc, today=dt.date(2026, 1, 1))
    except ValidationError as exc:
        return [(e.path, e.message) for e in exc.errors]
    return []


@pytest.mark.parametrize(("patch", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_a_bad_attack_is_refused_with_the_located_messages_as_before(
    patch: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert _errors({**BASE, **patch}) == expected


def test_good_attacks_read_the_same_members_from_a_remembered_tuple() -> None:
    doc = {
        "format": "acuhead.diary/1",
        "patient": {"external_id": "t", "timezone": "Europe/Berlin"},
        "attacks": [
            {
                **BASE,
                "start": f"2025-03-0{d}T10:00",
                "end": f"2025-03-0{d}T11:00Z",
                "locations": ["temporal", "orbital"],
                "side": "left",
                "nausea": "mild",
                "medications": [{"name": "x", "class": "nsaid", "effect": "good"}],
            }
            for d in (1, 2)
        ],
    }
    first, second = parse(doc, today=dt.date(2026, 1, 1)).diary.attacks
    assert [x.value for x in second.locations] == ["temporal", "orbital"]
    assert first.locations == second.locations and first.side == second.side
    assert second.end == dt.datetime(2025, 3, 2, 12, 0)  # 11:00 UTC on Berlin's clock
    assert second.medications[0].effect is not None
    assert second.medications[0].effect.value == "good"
