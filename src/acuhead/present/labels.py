"""Words for outcome figures that more than one reader prints: the page's outcome panel and
the physician letter say "responder" and "uncertain days" the same way. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping

from acuhead.analytics.results import ResponderBasis
from acuhead.present.format import DASH


def responder_text(flags: Mapping[str, bool | None] | None) -> str:
    """The highest threshold met ("≥50 %"), "under 30 %", or "–" when it cannot be judged."""
    if not flags or any(v is None for v in flags.values()):
        return DASH
    met = [int(k) for k, v in flags.items() if v]
    if not met:
        return f"under {min(int(k) for k in flags)} %"
    return f"\u2265{max(met)} %"


def uncertain_text(basis: ResponderBasis | None) -> str:
    """Uncertain migraine days left out of the responder figures, or "" when there are none.
    Takes the typed result only: the panel and the letter both read it."""
    if basis is None:
        return ""
    parts = []
    for side, name in ((basis.baseline, "baseline"), (basis.block, "endpoint block")):
        n = side.uncertain_days if side is not None else 0
        if n:
            parts.append(f"{n} uncertain day{'s' if n != 1 else ''} in the {name}")
    if not parts:
        return ""
    return (
        "Responders are computed on days whose migraine status is known; "
        + " and ".join(parts)
        + " (missing attack details) are left out."
    )
