"""Times shown in the reader's zone: practitioner pages in the clinic's, patient pages in the
patient's own (issue 15: a Berlin clinic was shown UTC times).

Stored instants are naive UTC (``*_utc`` columns). The clinic's zone is
``services.clinics.clinic_zone`` (re-exported here for the pages): the one rule the dashboard,
the appointments and every page share.
The ``clinic_time`` filter reads ``clinic_zone`` from the page's context, so a template writes
``{{ alert.opened|clinic_time }}`` and names the zone once, in the page's heading or footer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import pass_context
from jinja2.runtime import Context

from acuhead.services.clinics import UTC, clinic_zone
from acuhead.web.pages.base import templates

__all__ = ["UTC", "clinic_zone", "in_zone", "zone_label"]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC)


def in_zone(value: dt.datetime | None, zone: str) -> dt.datetime | None:
    """A stored naive-UTC (or aware) instant as wall-clock time in ``zone``."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(_zone(zone))


def zone_label(zone: str) -> str:
    """ "Berlin time", "UTC": how a page names the zone its times are in."""
    if zone == UTC:
        return UTC
    return zone.rsplit("/", 1)[-1].replace("_", " ") + " time"


@pass_context
def _clinic_time(ctx: Context, value: Any, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    zone = str(ctx.get("clinic_zone") or ctx.get("patient_zone") or UTC)
    local = in_zone(value, zone)
    assert local is not None
    return local.strftime(fmt)


templates.env.filters["clinic_time"] = _clinic_time
templates.env.globals["zone_label"] = zone_label
