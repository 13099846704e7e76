"""The SNMS management API that CAICT secondary nodes expose to enterprises."""

from fastapi import APIRouter

from . import endpoints, templates
from .envelope import snms_dialect

__all__ = ["router", "snms_dialect"]

router = APIRouter()
router.include_router(endpoints.router)
router.include_router(templates.router)
