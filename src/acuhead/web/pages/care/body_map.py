"""The clickable body map of the headache points and the checkbox list it drives.

Why the body map is only a helper: the checkbox list of points is the form's real control
(labelled, usable by keyboard and screen reader, sent without JavaScript). The drawing is
aria-hidden; a click on a point only ticks or unticks the matching box
(``static/js/body-map.js``) and the drawing shows what is ticked. Positions are drawn for
orientation, not as needling locations: the catalogue's location text is the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from acuhead.domain.tcm.points import Point, catalogue
from acuhead.domain.tcm.prescribe import is_midline


@dataclass(frozen=True, slots=True)
class MapView:
    """One drawing of the body map: its outline is drawn in ``care/_points.html`` by ``key``;
    ``spots`` place the points (a paired point seen from the front or back appears twice)."""

    key: str
    title: str
    height: int  # the viewBox is 0 0 200 height
    spots: tuple[tuple[str, int, int], ...]


# The points of the headache rules (CLINICAL.md 7.1, 7.2, 7.4 via domain.tcm), at plausible places
# on simple drawings. The patient faces the viewer in "face", so their right is on the left.
BODY_MAP: tuple[MapView, ...] = (
    MapView(
        "face",
        "Face",
        230,
        (
            ("BL7", 90, 36),
            ("BL7", 110, 36),
            ("GV24", 100, 45),
            ("ST8", 60, 62),
            ("ST8", 140, 62),
            ("GB14", 77, 78),
            ("GB14", 123, 78),
            ("EX-HN4", 77, 93),
            ("EX-HN4", 123, 93),
            ("BL2", 88, 96),
            ("BL2", 112, 96),
            ("EX-HN3", 100, 102),
            ("TE23", 63, 99),
            ("TE23", 137, 99),
            ("EX-HN5", 49, 108),
            ("EX-HN5", 151, 108),
        ),
    ),
    MapView(
        "side",
        "Side of the head",
        230,
        (
            ("GV20", 114, 30),
            ("EX-HN1", 96, 32),
            ("EX-HN1", 132, 34),
            ("GV19", 148, 46),
            ("ST8", 68, 52),
            ("GB8", 118, 78),
            ("TE23", 63, 90),
            ("EX-HN5", 73, 101),
            ("GB20", 152, 140),
        ),
    ),
    MapView(
        "back",
        "Back of the head, neck and shoulders",
        250,
        (
            ("GV19", 100, 28),
            ("GV16", 100, 110),
            ("GB20", 80, 114),
            ("GB20", 120, 114),
            ("BL10", 90, 129),
            ("BL10", 110, 129),
            ("GV14", 100, 160),
            ("GB21", 46, 166),
            ("GB21", 154, 166),
            ("BL12", 88, 184),
            ("BL12", 112, 184),
            ("BL17", 88, 232),
            ("BL17", 112, 232),
        ),
    ),
    MapView(
        "hand",
        "Right hand and forearm, back",
        260,
        (
            ("LI4", 66, 118),
            ("SI3", 141, 104),
            ("LU7", 66, 192),
            ("TE5", 100, 200),
            ("TE8", 100, 236),
        ),
    ),
    MapView(
        "leg",
        "Right lower leg and foot, front",
        285,
        (
            ("SP10", 132, 12),
            ("GB34", 66, 70),
            ("SP9", 134, 66),
            ("ST36", 90, 86),
            ("ST40", 80, 134),
            ("SP6", 121, 164),
            ("KI3", 135, 202),
            ("GB40", 88, 204),
            ("BL62", 74, 212),
            ("LR3", 118, 232),
            ("GB41", 84, 234),
            ("LR2", 122, 256),
            ("ST44", 106, 258),
            ("GB43", 80, 256),
        ),
    ),
)
MAP_CODES: tuple[str, ...] = tuple(dict.fromkeys(code for v in BODY_MAP for code, _, _ in v.spots))

# The checkbox list is grouped by the catalogue's region, so it reads in body order.
REGION_GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("head", "Head and face", frozenset({"head", "face", "ear"})),
    ("neck", "Neck, shoulders and back", frozenset({"neck", "shoulder", "upper_back"})),
    ("arm", "Arm and hand", frozenset({"arm", "hand"})),
    ("leg", "Leg and foot", frozenset({"leg", "foot"})),
    ("trunk", "Chest, abdomen and lower back", frozenset()),  # everything else
)


def _group_of(point: Point) -> str:
    return next((key for key, _, regions in REGION_GROUPS if point.region in regions), "trunk")


def caution_label(value: str) -> str:
    return value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class PointItem:
    """One row of the points list (and the spots with the same code on the drawing)."""

    code: str
    pinyin: str
    hanzi: str
    cautions: tuple[str, ...]
    midline: bool
    on_map: bool


def point_groups(codes: Sequence[str]) -> list[tuple[str, str, list[PointItem]]]:
    """The map's points plus ``codes`` (plan or session points), grouped by body region."""
    cat = catalogue()
    wanted = list(dict.fromkeys([*codes, *MAP_CODES]))
    groups: dict[str, list[PointItem]] = {key: [] for key, _, _ in REGION_GROUPS}
    for code in wanted:
        point = cat.get(code)
        if point is None:
            continue
        groups[_group_of(point)].append(
            PointItem(
                code=point.code,
                pinyin=point.pinyin,
                hanzi=point.hanzi,
                cautions=tuple(caution_label(c.value) for c in point.cautions),
                midline=is_midline(point.code),
                on_map=point.code in MAP_CODES,
            )
        )
    return [(key, label, groups[key]) for key, label, _ in REGION_GROUPS if groups[key]]


def map_context(codes: Sequence[str], checked: Sequence[str]) -> dict[str, Any]:
    cat = catalogue()
    return {
        "body_map": BODY_MAP,
        "point_names": {c: cat[c].pinyin for c in MAP_CODES},
        "point_groups": point_groups(codes),
        "checked_points": set(checked),
    }
