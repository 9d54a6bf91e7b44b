"""Practitioner pages for acupuncture care: the TCM assessment, the prescription builder and the
treatment-session form (STRICTA), with a clickable body map of the headache points.

The pages write only through ``services.care``, so the red-flag gate, the safety confirmations
and STRICTA validation are the services' own; the pages put the services' messages next to the
fields. Another clinic's patient answers 404 (the services raise NotFound); a patient account is
sent to the diary; an admin account is refused, because clinical records are written by
practitioners (``care.require_practitioner``).

One module a page (``assessment``, ``prescription``, ``session`` with its form mapping in
``session_form``), with what they share in ``body_map`` and ``common``; ``router`` gathers the
three in the order the pages are used.
"""

from __future__ import annotations

from fastapi import APIRouter

from acuhead.web.pages.care import assessment, history, prescription, quick, session
from acuhead.web.pages.care.body_map import BODY_MAP, MAP_CODES, MapView, PointItem, point_groups

router = APIRouter()
router.include_router(assessment.router)
router.include_router(prescription.router)
router.include_router(quick.router)  # before session's /sessions/{id}/edit
router.include_router(session.router)
router.include_router(history.router)

__all__ = ["BODY_MAP", "MAP_CODES", "MapView", "PointItem", "point_groups", "router"]
