"""The patient app's icons are made by the project (web/icons.py) and the checked-in files
are exactly what it draws (issue 14)."""

from __future__ import annotations

import struct
import zlib

from acuhead.web import icons


def test_the_checked_in_192_px_icon_is_what_the_module_draws() -> None:
    assert (icons.ICON_DIR / "icon-192.png").read_bytes() == icons.png(192)


def test_both_icons_are_valid_rgba_pngs_of_their_size() -> None:
    for size in icons.SIZES:
        data = (icons.ICON_DIR / f"icon-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
        assert (width, height, depth, colour) == (size, size, 8, 6)
        # The IDAT decompresses to one filter byte plus 4 bytes per pixel on every row.
        start = data.index(b"IDAT") + 4
        length = struct.unpack(">I", data[start - 8 : start - 4])[0]
        raw = zlib.decompress(data[start : start + length])
        assert len(raw) == size * (1 + 4 * size)
