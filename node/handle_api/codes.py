"""Handle response codes and the HTTP status each travels with (Handle.Net REST API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from registry import (
    AlreadyExists,
    Conflict,
    EntityNotFound,
    Forbidden,
    HandleAlreadyExists,
    HandleNotFound,
    InvalidIdentifier,
    InvalidInput,
    InvalidValue,
    NodeError,
    PayloadTooLarge,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValueAlreadyExists,
    ValuesNotFound,
)

from ..errors import error_headers, lookup
from ..responses import json_response

__all__ = ["HANDLE_CODES", "SUCCESS", "handle_dialect"]

SUCCESS = 1

# error class → (Handle responseCode, HTTP status)
HANDLE_CODES: dict[type[NodeError], tuple[int, int]] = {
    InvalidIdentifier: (102, 400),
    InvalidValue: (202, 400),
    PayloadTooLarge: (4, 413),
    UnsupportedMediaType: (4, 415),
    InvalidInput: (4, 400),
    TooManyAttempts: (402, 429),
    Unauthenticated: (402, 401),
    Forbidden: (400, 403),
    HandleNotFound: (100, 404),
    EntityNotFound: (100, 404),
    ValuesNotFound: (200, 400),
    HandleAlreadyExists: (101, 409),
    ValueAlreadyExists: (201, 409),
    AlreadyExists: (101, 409),
    Conflict: (4, 409),
    Unavailable: (3, 503),
    NodeError: (2, 500),
}


def handle_dialect(request: Request, exc: NodeError) -> Response:
    """``{"responseCode", "handle", "message"}``; the handle is the one the request named."""
    code, status = lookup(HANDLE_CODES, exc)
    handle = (
        exc.handle or request.path_params.get("handle") or request.query_params.get("prefix", "")
    )
    body = {"responseCode": code, "handle": handle, "message": exc.message}
    return json_response(body, status, error_headers(exc))
