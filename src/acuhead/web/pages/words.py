"""What pages say in place of the project's internal references (issue 15: "CLINICAL.md 7.1",
"P10_painkiller_or_new_drug" in the interface).

The domain cites its sources for code readers ("Li Y et al., CMAJ 2012 (CLINICAL.md 5.6)");
a practitioner needs the publication, not the section of a file of this repository. Texts are
also stored (a prescription's reasons, an alert's evidence), so changing the domain's strings
would not clean what was saved before. Every ``{{ ... }}`` of every page therefore passes
:func:`public_text` (the templates' ``finalize``), which drops references to the project's
documents and red-flag item codes in brackets, and leaves everything else as it was. It only
removes a document name followed by a section number, so free text a practitioner types is
not changed in practice.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

from acuhead.domain.redflags import CATALOGUE
from acuhead.web.pages.base import templates

_NUM = r"\d+(?:\.[0-9a-z]+)?(?: extras)?"
_DOC = (
    r"(?:(?:per|via|as summarised in|see|after) )?"
    r"\b(?:CLINICAL|DESIGN|USERS|ARCHITECTURE)\.md"
    rf"(?: section)?(?: {_NUM}(?:(?:, | and ){_NUM})*)?"
)
_WHOLE_BRACKET = re.compile(rf"\s*\(\s*{_DOC}\s*\)")  # " (CLINICAL.md 7.3)"
_IN_LIST = re.compile(rf"\s*[;,]\s*{_DOC}")  # "; CLINICAL.md 7.3" at the end of a list
_LEADING = re.compile(rf"{_DOC}\s*[;,]?\s*")  # "CLINICAL.md 7.2 [R]" -> "[R]"
_CODES = re.compile(
    r"\s*\((?:" + "|".join(re.escape(f.code) for f in CATALOGUE if "_" in f.code) + r")\)"
)
_EMPTY = re.compile(r"\s*\(\s*\)")
_DANGLING = re.compile(r"\s*[;,]\s*(?=[.)\]]|$)")
_NESTED_OPEN = re.compile(r"\(\(")


def public_text(text: str) -> str:
    """``text`` without references to the project's documents or red-flag codes in brackets."""
    if ".md" not in text and "_" not in text:
        return text
    out = _CODES.sub("", text)
    if ".md" in out:
        out = _WHOLE_BRACKET.sub("", out)
        out = _IN_LIST.sub("", out)
        out = _LEADING.sub("", out)
        out = _EMPTY.sub("", out)
        out = _NESTED_OPEN.sub("(", out).replace("))", ")") if "((" in out else out
        out = _DANGLING.sub("", out)
    return out


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return public_text(value)
    return value


templates.env.finalize = _finalize
