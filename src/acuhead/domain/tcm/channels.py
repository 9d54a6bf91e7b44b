"""Headache location -> channel, with the local and distal points tradition attaches to each.

Why this exists: the classical rule for headache is "needle near the pain, then along the channel
that crosses it" (CLINICAL.md 7.2, opening paragraph). The location a patient records in the diary
(``Location``) therefore picks the channel(s); each channel brings its distal points.

Read every mapping here as *tradition*, not as proven specificity: in the largest sham-controlled
test of the idea (Li Y et al., CMAJ 2012;184(4):401, CLINICAL.md 5.6 and 7.0) Shaoyang-specific,
Shaoyang-non-specific and Yangming point sets did about equally well. ``SPECIFICITY_CAVEAT`` carries
that sentence for any screen that shows these mappings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from acuhead.domain.diary import Location
from acuhead.errors import FieldError, ValidationError

SPECIFICITY_CAVEAT = (
    "Location-to-channel and pattern-to-point tables are acupuncture tradition. A large "
    "sham-controlled trial (Li 2012, CMAJ) found channel-specific, non-specific and other-channel "
    "point sets did about equally well: the choice of channel is not shown to matter."
)


class Channel(StrEnum):
    """The paired channel systems (six-channel names) that tradition assigns to head regions."""

    YANGMING = "yangming"  # Stomach / Large Intestine
    SHAOYANG = "shaoyang"  # Gallbladder / Triple Energizer
    TAIYANG = "taiyang"  # Bladder / Small Intestine
    JUEYIN = "jueyin"  # Liver / Pericardium
    GOVERNOR = "governor"  # Du mai (GV), runs over the vertex


CHANNEL_LABELS: Mapping[Channel, str] = MappingProxyType(
    {
        Channel.YANGMING: "Yangming (ST/LI)",
        Channel.SHAOYANG: "Shaoyang (GB/TE)",
        Channel.TAIYANG: "Taiyang (BL/SI)",
        Channel.JUEYIN: "Jueyin (LR/PC)",
        Channel.GOVERNOR: "Governor vessel (GV)",
    }
)


@dataclass(frozen=True, slots=True)
class LocationRule:
    """Which channel(s) cross a headache location, and the local points used there."""

    location: Location
    channels: tuple[Channel, ...]
    local_points: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class DistalRule:
    """Distal points chosen along a channel for a headache in that channel's territory."""

    channel: Channel
    points: tuple[str, ...]
    source: str


# Ashi (tender) points are always added by palpation; they have no code and are not listed.
LOCATION_RULES: Mapping[Location, LocationRule] = MappingProxyType(
    {
        # Forehead / supra-orbital -> Yangming; local ST8, Yintang, GB14 (CLINICAL.md 7.1 row 1).
        Location.FRONTAL: LocationRule(
            Location.FRONTAL,
            (Channel.YANGMING,),
            ("ST8", "EX-HN3", "GB14"),
            "forehead, supra-orbital: Yangming",
        ),
        # Temples / sides, incl. one-sided migraine -> Shaoyang; local Taiyang (EX-HN5),
        # TE23 towards GB8, GB20 (CLINICAL.md 7.1 row 2).
        Location.TEMPORAL: LocationRule(
            Location.TEMPORAL,
            (Channel.SHAOYANG,),
            ("EX-HN5", "TE23", "GB8", "GB20"),
            "temples and sides: Shaoyang",
        ),
        # Occiput -> Taiyang; local BL10, GV19, GB20 (CLINICAL.md 7.1 row 3).
        Location.OCCIPITAL: LocationRule(
            Location.OCCIPITAL,
            (Channel.TAIYANG,),
            ("BL10", "GV19", "GB20"),
            "occiput and nape: Taiyang",
        ),
        # Nape shares the occiput row of 7.1; GV19 sits on the scalp, so only the nape points.
        Location.NECK: LocationRule(
            Location.NECK,
            (Channel.TAIYANG,),
            ("BL10", "GB20"),
            "occiput and nape: Taiyang",
        ),
        # Vertex -> Jueyin + Governor vessel; local GV20, Sishencong (CLINICAL.md 7.1 row 4).
        Location.VERTEX: LocationRule(
            Location.VERTEX,
            (Channel.JUEYIN, Channel.GOVERNOR),
            ("GV20", "EX-HN1"),
            "vertex: Jueyin and the Governor vessel",
        ),
        # Orbital: 7.1 has no row of its own. The supra-orbital part belongs to the forehead row
        # (Yangming: Yintang, GB14); the lateral brow end (TE23) is in the temple row
        # (Shaoyang). Eye-region points (BL1, ST1, BL2: CLINICAL.md 7.3) are deliberately not
        # proposed automatically; a practitioner may add them and will see their caution.
        Location.ORBITAL: LocationRule(
            Location.ORBITAL,
            (Channel.YANGMING, Channel.SHAOYANG),
            ("EX-HN3", "GB14", "TE23"),
            "supra-orbital: Yangming; TE23 from the temples: Shaoyang",
        ),
    }
)

# Distal points per channel: CLINICAL.md 7.1. The texts are shown with each proposed point,
# so they name no file.
DISTAL_RULES: Mapping[Channel, DistalRule] = MappingProxyType(
    {
        Channel.YANGMING: DistalRule(Channel.YANGMING, ("LI4", "ST44"), "LI4 Hegu, ST44 Neiting"),
        Channel.SHAOYANG: DistalRule(Channel.SHAOYANG, ("TE5", "GB43"), "TE5 Waiguan, GB43 Xiaxi"),
        Channel.TAIYANG: DistalRule(Channel.TAIYANG, ("SI3", "BL62"), "SI3 Houxi, BL62 Shenmai"),
        # PC6 is also listed for the vertex but marked [R] (page truncated): left out.
        Channel.JUEYIN: DistalRule(Channel.JUEYIN, ("LR3",), "LR3 Taichong"),
        # The Governor vessel is treated through its local vertex points (GV20); 7.1 gives no
        # distal point of its own.
        Channel.GOVERNOR: DistalRule(Channel.GOVERNOR, (), "no distal point"),
    }
)


def parse_location(text: str, path: str = "location") -> Location:
    """Read a diary location name ("temporal", "Temporal ") or raise a located ValidationError."""
    try:
        return Location(text.strip().lower())
    except ValueError:
        allowed = ", ".join(loc.value for loc in Location)
        raise ValidationError(
            FieldError(path, f"unknown location {text!r}; expected one of {allowed}")
        ) from None


def channels_for(locations: Iterable[Location]) -> tuple[Channel, ...]:
    """Channels crossing the given locations, first-seen order, without repeats."""
    seen: dict[Channel, None] = {}
    for loc in locations:
        for ch in LOCATION_RULES[loc].channels:
            seen.setdefault(ch, None)
    return tuple(seen)


def local_points_for(location: Location) -> tuple[str, ...]:
    return LOCATION_RULES[location].local_points


def distal_points_for(channel: Channel) -> tuple[str, ...]:
    return DISTAL_RULES[channel].points
