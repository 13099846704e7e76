"""The enterprise console at ``/console/``: HTML pages over the same services as the APIs.

Enterprises log in with their credential; the node operator logs in with the admin token.
Pages are rendered by ``node.web`` (Jinja2, Babel catalogs, strict CSP); every form carries a
CSRF token; sessions live in HttpOnly, SameSite=Strict cookies (``sessions``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from . import (
    account,
    audit_page,
    identifiers,
    login,
    operator,
    overview,
    quotas,
    templates_page,
    transfer,
)
from .pages import console_dialect, install_console_errors

__all__ = ["console_dialect", "install_console", "router"]

router = APIRouter(include_in_schema=False)
for _part in (
    login,
    overview,
    identifiers,
    templates_page,
    transfer,
    account,
    operator,
    quotas,
    audit_page,
):
    router.include_router(_part.router)


def install_console(app: FastAPI) -> None:
    """Add the console's pages and its session and CSRF error pages to ``app``."""
    app.include_router(router)
    install_console_errors(app)
