"""The top-level node's one place errors become responses.

Its prefix directory (``/api/handles``) answers in Handle REST form, ``{"responseCode", "handle",
"message"}``; the rest of its API in plain JSON, ``{"error", "message"}``. The tables cover the
errors of ``registry``'s tree; the most specific class of an error picks its entry.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from registry import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidInput,
    NodeError,
    NotFound,
    Unauthenticated,
    Unavailable,
    codec,
)

from .responses import json_response

__all__ = ["HANDLE_STATUS", "PLAIN_STATUS", "install_error_handlers"]

logger = logging.getLogger("idnode.toplevel")

T = TypeVar("T")

DIRECTORY_PATH = "/api/handles"

PLAIN_STATUS: dict[type[NodeError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    Unavailable: 503,
    NodeError: 500,
}

# error class → HTTP status of a directory error; its Handle response code is the codec's.
HANDLE_STATUS: dict[type[NodeError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    Unavailable: 503,
    NodeError: 500,
}


def _lookup(table: dict[type[NodeError], T], exc: NodeError) -> T:
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    raise KeyError(type(exc))


def _headers(exc: NodeError) -> dict[str, str] | None:
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": 'Basic realm="idnode", Bearer'}
    if isinstance(exc, Unavailable):
        return {"Retry-After": "5"}
    return None


def error_response(request: Request, exc: NodeError) -> Response:
    """``exc`` in the form of the API its path belongs to."""
    if request.url.path.startswith(DIRECTORY_PATH):
        handle = (
            exc.handle
            or request.path_params.get("handle")
            or request.query_params.get("prefix", "")
        )
        body = codec.error_body(codec.error_code(exc), handle, exc.message)
        return Response(
            body, _lookup(HANDLE_STATUS, exc), _headers(exc), media_type="application/json"
        )
    body = {"error": type(exc).__name__, "message": exc.message}
    return json_response(body, _lookup(PLAIN_STATUS, exc), _headers(exc))


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(item) for item in error.get("loc", ()) if item != "body")
        parts.append(f"{location or 'body'}: {error.get('msg')}")
    return "; ".join(parts) or "the request is malformed"


def install_error_handlers(app: FastAPI) -> None:
    """Turn every error the app raises, or FastAPI and Starlette raise for it, into a response."""

    async def on_node_error(request: Request, exc: NodeError) -> Response:
        return error_response(request, exc)

    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, InvalidInput(_validation_message(exc)))

    async def on_http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            error: NodeError = NotFound(f"no such endpoint: {request.method} {request.url.path}")
        elif exc.status_code == 405:
            return json_response(
                {"error": "MethodNotAllowed", "message": f"{request.method} is not allowed here"},
                405,
                dict(exc.headers or {}),
            )
        else:
            error = InvalidInput(str(exc.detail))
        return error_response(request, error)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, NodeError("internal error; the change was not applied"))

    app.add_exception_handler(NodeError, on_node_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
