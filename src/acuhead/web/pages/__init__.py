"""Server-rendered HTML pages (Jinja2 + htmx), mounted beside the JSON API.

``router`` gathers them all; ``acuhead.web.app.create_app`` includes it once.
"""

from __future__ import annotations

from fastapi import APIRouter

from acuhead.web.pages import (
    about,
    admin,
    appointments,
    auth,
    care,
    clinic,
    diary,
    diary_app,
    diary_attacks,
    diary_views,
    letter,
    questionnaires,
    words,
    zones,
)
from acuhead.web.pages.base import STATIC_DIR

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(questionnaires.router)  # before diary's POST /diary/{day}
router.include_router(diary_app.router)
router.include_router(diary_attacks.router)
router.include_router(diary_views.router)
router.include_router(diary.router)
router.include_router(appointments.router)  # before clinic's /clinic/... pages
router.include_router(clinic.router)
router.include_router(letter.router)
router.include_router(about.router)
router.include_router(admin.router)
router.include_router(care.router)

# ``words`` and ``zones`` register the templates' text filter and time-zone helpers.
__all__ = ["STATIC_DIR", "router", "words", "zones"]
