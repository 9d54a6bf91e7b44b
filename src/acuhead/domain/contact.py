"""The rules for a patient's contact details (phone, e-mail, postal address).

One place for them because two doors take them in: the record editing page
(``services.patient_record``) and a diary document's ``patient.contact`` block
(``interop.document``), which a data-subject export writes and an import reads back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from acuhead.errors import FieldError

CONTACT_FIELDS = ("phone", "email", "address")
LIMITS = {"phone": 40, "email": 254, "address": 1000}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()/.-]{5,40}$")


def check_contact(
    values: Mapping[str, object], errors: list[FieldError], *, prefix: str = "contact"
) -> dict[str, str]:
    """The given fields, stripped; each problem appended to ``errors`` at ``prefix.field``.
    Only the fields in ``values`` are returned: one left out keeps its stored value."""
    out: dict[str, str] = {}
    for key in CONTACT_FIELDS:
        if key not in values:
            continue
        text = str(values[key]).strip()
        if len(text) > LIMITS[key]:
            errors.append(FieldError(f"{prefix}.{key}", f"at most {LIMITS[key]} characters"))
        elif key == "email" and text and not _EMAIL.match(text):
            errors.append(FieldError(f"{prefix}.email", "is not an e-mail address"))
        elif key == "phone" and text and not _PHONE.match(text):
            errors.append(FieldError(f"{prefix}.phone", "use digits, spaces and + ( ) - / ."))
        out[key] = text
    return out
