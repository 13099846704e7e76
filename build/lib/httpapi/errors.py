"""The one place errors become responses, one table per API dialect.

A dialect owns a path prefix (``/api/handles`` speaks Handle REST, ``/admin`` plain JSON, …) and
turns any ``NodeError`` raised under it into its own response shape. The app factory says which
dialect owns which prefix; errors under no dialect's prefix use the plain JSON dialect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
    PayloadTooLarge,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)

from .responses import json_response

__all__ = [
    "PLAIN_STATUS",
    "Dialect",
    "error_headers",
    "install_error_handlers",
    "lookup",
    "plain_dialect",
]

logger = logging.getLogger("idnode.http")

Dialect = Callable[[Request, NodeError], Response]
T = TypeVar("T")


def lookup(table: dict[type[NodeError], T], exc: NodeError) -> T:
    """The entry for the most specific class of ``exc`` in ``table``."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    raise KeyError(type(exc))


PLAIN_STATUS: dict[type[NodeError], int] = {
    TooManyAttempts: 429,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    Unavailable: 503,
    NodeError: 500,
}


def plain_dialect(request: Request, exc: NodeError) -> Response:
    """``{"error": <kind>, "message": ...}`` with the HTTP status of the error's kind."""
    status = lookup(PLAIN_STATUS, exc)
    return json_response(
        {"error": type(exc).__name__, "message": exc.message}, status, error_headers(exc)
    )


def error_headers(exc: NodeError) -> dict[str, str] | None:
    """Headers every dialect adds: how to authenticate, when to retry."""
    if isinstance(exc, TooManyAttempts):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": 'Basic realm="idnode", Bearer'}
    if isinstance(exc, Unavailable):
        return {"Retry-After": "5"}
    return None


def _dialect_for(request: Request) -> Dialect:
    path = request.url.path
    for prefix, dialect in request.app.state.error_dialects:
        if path.startswith(prefix):
            return dialect
    return plain_dialect


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(item) for item in error.get("loc", ()) if item != "body")
        parts.append(f"{location or 'body'}: {error.get('msg')}")
    return "; ".join(parts) or "the request is malformed"


def install_error_handlers(app: FastAPI, dialects: dict[str, Dialect]) -> None:
    """Route every error raised under a path prefix through that prefix's dialect."""
    app.state.error_dialects = sorted(dialects.items(), key=lambda item: len(item[0]), reverse=True)

    async def on_node_error(request: Request, exc: NodeError) -> Response:
        return _dialect_for(request)(request, exc)

    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _dialect_for(request)(request, InvalidInput(_validation_message(exc)))

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
        return _dialect_for(request)(request, error)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        response = _dialect_for(request)(
            request, NodeError("internal error; the change was not applied")
        )
        # Starlette re-raises after this response and the server then closes the connection;
        # saying so lets a client's pool drop it instead of failing its next request on it.
        response.headers["Connection"] = "close"
        return response

    app.add_exception_handler(NodeError, on_node_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
