"""Single registrations answered before any routing, for callers proven recently.

``PUT /api/handles/<handle>`` and ``POST /identityv2/data`` without query parameters, from a
caller whose ``Authorization`` header ``known_principal`` recognises without I/O (the admin
token, a token or password proven recently), are answered here, called by the hot path
(``hot.py``): the same parsing and the same registry calls as the endpoints
(``handle_api.endpoints.put_handle``, ``snms.endpoints.create``), the same answers and errors in
each API's own dialect, without the middleware stack, routing and dependency solving that cost a
write about as much CPU as its storage did. Anything else goes on to the FastAPI app.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from httpapi import handle_error
from registry import Handle, NodeError, Principal, codec, parse_values

from .auth import acting, known_principal
from .bodies import read_json
from .context import NodeContext
from .handle_api.endpoints import MOUNT, values_from_body
from .headers import NOSNIFF
from .paths import path_text
from .snms.auth import require_login
from .snms.envelope import envelope, snms_dialect
from .snms.schemas import parse_draft

__all__ = ["SNMS_CREATE", "hot_write", "write_principal"]

SNMS_CREATE = "/identityv2/data"
_JSON = (b"content-type", b"application/json")


def write_principal(
    scope: Scope, authorization: bytes, context: NodeContext, client: str
) -> Principal | None:
    """The caller of a write the hot path may answer; ``None`` leaves it to the app (which also
    answers malformed or refused credentials in the API's own words)."""
    try:
        if scope["path"] == SNMS_CREATE:
            # SNMS clients may send the bare token, as ``snms_principal`` takes it.
            text = authorization.decode("latin-1").strip()
            if text and " " not in text:
                return context.enterprises.remembered_token(text)
        return known_principal(authorization, context, client)
    except NodeError:
        return None


async def hot_write(
    scope: Scope, receive: Receive, send: Send, context: NodeContext, principal: Principal
) -> int:
    """Answer the write; its HTTP status."""
    request = Request(scope, receive)
    acting(request, principal)
    if scope["path"] == SNMS_CREATE:
        return await _snms_create(request, send, context, principal)
    return await _handle_put(request, send, context, principal)


async def _handle_put(
    request: Request, send: Send, context: NodeContext, principal: Principal
) -> int:
    try:
        key = path_text(request.scope, MOUNT)
        parsed = Handle.parse(key)
        body = await read_json(request, context.settings.max_body_bytes)
        values = parse_values(values_from_body(body, key))
        created = await context.records.put(
            principal, parsed, values, seen=context.resolver.seen(str(parsed))
        )
    except NodeError as exc:
        # Named as the app's route names it: the path as the server decoded it.
        status, answer, extra = handle_error(exc, request.scope["path"][len(MOUNT) :])
        headers = [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
        await _send(send, status, answer, headers)
        return status
    status = 201 if created else 200
    await _send(send, status, codec.done_body(str(parsed)), [])
    return status


async def _snms_create(
    request: Request, send: Send, context: NodeContext, principal: Principal
) -> int:
    try:
        require_login(principal)
        draft = parse_draft(await read_json(request, context.settings.max_body_bytes))
        (refused,) = await context.batches.create_many(principal, [draft])
        if refused is not None:
            raise refused
        response = envelope({"handle": str(draft.handle)})
    except NodeError as exc:
        response = snms_dialect(request, exc)
    await _send_response(send, response)
    return response.status_code


async def _send(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode()), NOSNIFF, *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_response(send: Send, response: Any) -> None:
    headers = [*response.raw_headers, NOSNIFF]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
