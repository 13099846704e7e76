"""The SNMS envelope ``{status, message, data}`` and the one table that maps errors into it.

Status 1 ok, -1 not logged in, -2 business error, -3 forbidden, -4 internal; a client over
a rate or an enterprise over a quota gets the IDIS SDKs' codes (3 busy, 603 daily requests,
604 identifiers, 605 prefixes), with HTTP 429 and ``Retry-After``, and storage that is out or
busy is 3 too (HTTP 503, ``Retry-After``), as Handle REST and the native protocol say it: a
client that retries on busy retries what is worth retrying. The HTTP status
travels with the error's kind (401, 403, 400/404/409/413/415, 500/503) so proxies and monitoring
see failures; SNMS clients read ``status``, which is always present.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from httpapi import PLAIN_STATUS, error_headers, json_response, lookup
from registry import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidInput,
    NodeError,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from registry.codec.native import QUOTA_CODES

__all__ = ["OK", "SNMS_CODES", "envelope", "snms_dialect"]

OK = 1
NOT_LOGGED_IN = -1
BUSINESS_ERROR = -2
FORBIDDEN = -3
INTERNAL = -4
BUSY = 3

# error class → SNMS status; the HTTP status is the plain dialect's for the same kind.
SNMS_CODES: dict[type[NodeError], int] = {
    Unauthenticated: NOT_LOGGED_IN,
    Forbidden: FORBIDDEN,
    InvalidInput: BUSINESS_ERROR,
    NotFound: BUSINESS_ERROR,
    AlreadyExists: BUSINESS_ERROR,
    Conflict: BUSINESS_ERROR,
    RateLimited: BUSY,
    Unavailable: BUSY,
    NodeError: INTERNAL,
}


def envelope(data: Any = None, message: str = "success", status: int = OK) -> Response:
    """A successful SNMS response."""
    return json_response({"status": status, "message": message, "data": data})


def snms_dialect(request: Request, exc: NodeError) -> Response:
    """``{"status": <-1..-4>, "message": ..., "data": null}``."""
    status = lookup(SNMS_CODES, exc)
    if isinstance(exc, QuotaExceeded):
        status = int(QUOTA_CODES[exc.kind])
    body = {"status": status, "message": exc.message, "data": None}
    return json_response(body, lookup(PLAIN_STATUS, exc), error_headers(exc))
