"""The top-level node's error dialects: Handle REST under its directory, plain JSON elsewhere.

Its prefix directory (``/api/handles``) answers as Handle REST does, ``{"responseCode", "handle",
"message"}``; the rest of its API in plain JSON, ``{"error", "message"}``. Both dialects and the
handlers are the shared ones in ``httpapi``; only which prefix speaks which is the top-level's.
"""

from __future__ import annotations

from fastapi import FastAPI

from httpapi import handle_dialect, plain_dialect
from httpapi import install_error_handlers as install_dialects

__all__ = ["install_error_handlers"]

DIRECTORY_PATH = "/api/handles"


def install_error_handlers(app: FastAPI) -> None:
    """Turn every error the app raises, or FastAPI and Starlette raise for it, into a response."""
    install_dialects(app, {DIRECTORY_PATH: handle_dialect, "/": plain_dialect})
