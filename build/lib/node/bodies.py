"""Reading request bodies: JSON only, bounded in size, parsed once."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from registry import InvalidInput, PayloadTooLarge, UnsupportedMediaType

__all__ = ["read_json"]

logger = logging.getLogger("idnode")


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body; 415 for another content type, 413 past ``limit`` bytes."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"request body must be JSON (Content-Type: application/json), got {content_type or 'none'!r}"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"request body of {declared} bytes is over the limit of {limit} bytes"
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        # Nobody is left to answer; nothing was written. Not a server error.
        logger.info(
            "client went away after %d bytes of the body of %s %s; nothing written",
            size,
            request.method,
            request.url.path,
        )
        raise InvalidInput("the client closed the connection before the body was complete") from exc
    body = b"".join(chunks)
    if not body:
        raise InvalidInput("request body is empty; a JSON object was expected")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from exc
