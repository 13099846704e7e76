"""The Handle REST error dialect: the HTTP status each error travels with; its code is the codec's.

Spoken by the node's ``/api/handles`` and by the top-level's prefix directory alike.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from registry import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidInput,
    NodeError,
    NotFound,
    PayloadTooLarge,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValuesNotFound,
    codec,
)

from .errors import error_headers, lookup

__all__ = ["HANDLE_STATUS", "handle_dialect", "handle_error"]

# error class → HTTP status (Handle.Net REST API); the response code is ``codec.error_code``.
HANDLE_STATUS: dict[type[NodeError], int] = {
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 400,
    TooManyAttempts: 429,
    Unauthenticated: 401,
    Forbidden: 403,
    ValuesNotFound: 400,
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    Unavailable: 503,
    NodeError: 500,
}


def handle_error(exc: NodeError, handle: str) -> tuple[int, bytes, dict[str, str] | None]:
    """Status, ``{"responseCode", "handle", "message"}`` bytes and headers for ``exc``."""
    body = codec.error_body(codec.error_code(exc), exc.handle or handle, exc.message)
    return lookup(HANDLE_STATUS, exc), body, error_headers(exc)


def handle_dialect(request: Request, exc: NodeError) -> Response:
    """The Handle REST error answer; the handle is the one the request named."""
    named = request.path_params.get("handle") or request.query_params.get("prefix", "")
    status, body, headers = handle_error(exc, named)
    return Response(body, status, headers, media_type="application/json")
