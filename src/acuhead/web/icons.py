"""The patient app's home-screen icons, drawn here and written as PNG with zlib alone.

A web app manifest needs 192 and 512 px PNG icons (issue 14). They are made by this module,
not taken from anywhere: a dark blue tile with a light head in profile outline and a warm
spot at the temple, anti-aliased by supersampling. Run ``python -m acuhead.web.icons`` to
write them again into ``web/static/icons/`` (the files are checked in; a test compares them).
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

SIZES = (192, 512)
ICON_DIR = Path(__file__).resolve().parent / "static" / "icons"

_TILE = (29, 79, 145)  # the app's accent blue
_HEAD = (227, 230, 234)  # light grey, not pure white
_SPOT = (224, 107, 63)  # warm orange: where it hurts


def _colour(x: float, y: float) -> tuple[int, int, int]:
    """The colour at (x, y) in the unit square (0..1), the icon's design."""
    # A head: a circle for the skull, slightly off-centre, with a chin below.
    cx, cy, r = 0.5, 0.45, 0.27
    in_skull = (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    in_neck = 0.40 <= x <= 0.60 and 0.60 <= y <= 0.80
    if (x - 0.62) ** 2 + (y - 0.40) ** 2 <= 0.075**2:
        return _SPOT
    if in_skull or in_neck:
        return _HEAD
    return _TILE


def render(size: int, samples: int = 3) -> bytes:
    """RGBA rows of a ``size`` px icon; each pixel the mean of samples x samples points."""
    rows = bytearray()
    step = 1.0 / (size * samples)
    for py in range(size):
        rows.append(0)  # PNG filter type "None" for this row
        for px in range(size):
            acc = [0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    c = _colour((px * samples + sx + 0.5) * step, (py * samples + sy + 0.5) * step)
                    acc[0] += c[0]
                    acc[1] += c[1]
                    acc[2] += c[2]
            n = samples * samples
            rows.extend((acc[0] // n, acc[1] // n, acc[2] // n, 255))
    return bytes(rows)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(size: int) -> bytes:
    """A complete PNG file (8-bit RGBA, not interlaced) of the icon."""
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(render(size), 9))
        + _chunk(b"IEND", b"")
    )


def write(directory: Path = ICON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for size in SIZES:
        path = directory / f"icon-{size}.png"
        path.write_bytes(png(size))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else ICON_DIR):
        print(p)
