"""The clinic's time zone: one answer for every page, the day list and the appointments.

Issue 15: the dashboard and appointments read ``Clinic.timezone`` (default "UTC") while the
patient pages fell back to the patients' most common zone, so a clinic that never set its zone
showed two different clinic times. The rule, written down once here:

* the clinic's own setting when it has one other than UTC (an admin sets it on the
  appointments page, ``services.appointments.set_clinic_zone``);
* otherwise the zone most of its patients live in (ties: the alphabetically first), which for
  a clinic that never set one is where it is: a London clinic shows London time either way;
* UTC for a clinic with neither.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acuhead.store.models import Clinic, Patient

UTC = "UTC"


def clinic_zone(session: Session, clinic_id: int) -> str:
    """The IANA zone the clinic's times are shown and booked in (module docstring)."""
    own = session.scalar(select(Clinic.timezone).where(Clinic.id == clinic_id))
    if own and own != UTC:
        return str(own)
    common = session.execute(
        select(Patient.timezone, func.count())
        .where(Patient.clinic_id == clinic_id)
        .group_by(Patient.timezone)
        .order_by(func.count().desc(), Patient.timezone)
        .limit(1)
    ).first()
    return str(common[0]) if common and common[0] else UTC
