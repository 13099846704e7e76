"""The SNMS management API: tokens, records one by one and in batches, metadata templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from registry import Handle, InvalidInput, NodeError, Principal

from ..auth import client_address
from ..bodies import read_json
from ..context import NodeContext, get_context
from .auth import snms_user
from .envelope import envelope
from .openapi import (
    BATCH_DELETE_BODY,
    BATCH_WRITE_BODY,
    LOGIN_BODY,
    LOGIN_V1_BODY,
    RECORD_BODY,
    field_body,
)
from .schemas import (
    batch_items,
    item_handle,
    parse_draft,
    parse_handle_item,
    record_detail,
)

__all__ = ["param_or_body", "router"]

router = APIRouter(tags=["SNMS API"])
_UNREAD = object()


def _login_fields(body: Any) -> tuple[str, str]:
    if not isinstance(body, Mapping):
        raise InvalidInput('the body must be {"username": ..., "password": ...}')
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not username:
        raise InvalidInput("username is required, e.g. 300:88.118.8/ADMIN")
    if not isinstance(password, str) or not password:
        raise InvalidInput("password is required")
    return username, password


async def _token(context: NodeContext, principal: Principal) -> Response:
    lifetime = timedelta(seconds=context.settings.token_lifetime_seconds)
    token, _ = await context.enterprises.issue_token(principal, lifetime)
    return envelope({"token": token})


@router.post(
    "/identity/token",
    summary="Log in: a 24 h bearer token for a credential",
    openapi_extra=LOGIN_BODY,
)
async def token(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    username, password = _login_fields(await read_json(request, context.settings.max_body_bytes))
    principal = await context.enterprises.authenticate(
        username, password, client=client_address(request)
    )
    return await _token(context, principal)


@router.post(
    "/identity/token/v1",
    summary="Log in with password = sha256(sha256(password) + 'yyyy-MM-dd') of today (hex)",
    openapi_extra=LOGIN_V1_BODY,
)
async def token_v1(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    username, cipher = _login_fields(await read_json(request, context.settings.max_body_bytes))
    principal = await context.enterprises.authenticate_cipher(
        username, cipher, client=client_address(request)
    )
    return await _token(context, principal)


async def param_or_body(request: Request, context: NodeContext, name: str) -> Any:
    """A query parameter, or the same field of a JSON body (DELETE clients send either)."""
    value = request.query_params.get(name)
    if value is None and request.headers.get("content-type"):
        # Read once: an endpoint may ask for several fields, and the stream is read only once.
        body = getattr(request.state, "snms_body", _UNREAD)
        if body is _UNREAD:
            body = await read_json(request, context.settings.max_body_bytes)
            request.state.snms_body = body
        value = body.get(name) if isinstance(body, Mapping) else None
    if value in (None, ""):
        raise InvalidInput(f"{name} is required (query parameter ?{name}= or a JSON body field)")
    return value


@router.get(
    "/identityv2/data/detail",
    summary="A record with its template version",
    openapi_extra=field_body("handle"),
)
async def detail(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    handle = Handle.parse(await param_or_body(request, context, "handle"))
    record, version = await context.batches.read(principal, handle)
    return envelope(record_detail(record, version))


def _raise_single(results: Sequence[NodeError | None]) -> None:
    if results[0] is not None:
        raise results[0]


@router.post("/identityv2/data", summary="Register a record", openapi_extra=RECORD_BODY)
async def create(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    draft = parse_draft(await read_json(request, context.settings.max_body_bytes))
    _raise_single(await context.batches.create_many(principal, [draft]))
    return envelope({"handle": str(draft.handle)})


@router.put("/identityv2/data", summary="Replace the values of a record", openapi_extra=RECORD_BODY)
async def update(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    draft = parse_draft(await read_json(request, context.settings.max_body_bytes))
    _raise_single(await context.batches.update_many(principal, [draft]))
    return envelope({"handle": str(draft.handle)})


@router.delete("/identityv2/data", summary="Delete a record", openapi_extra=field_body("handle"))
async def delete(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    handle = Handle.parse(await param_or_body(request, context, "handle"))
    _raise_single(await context.batches.delete_many(principal, [handle]))
    return envelope({"handle": str(handle)})


def _batch_response(raw_items: Sequence[Any], results: Sequence[NodeError | None]) -> Response:
    lines = [
        {"handle": item_handle(raw), "msg": "success" if error is None else error.message}
        for raw, error in zip(raw_items, results, strict=True)
    ]
    failed = sum(error is not None for error in results)
    message = "success" if not failed else f"{failed} of {len(results)} items failed"
    return envelope(lines, message)


async def _batch(
    request: Request,
    context: NodeContext,
    principal: Principal,
    parse: Any,
    write: Any,
) -> Response:
    raw_items = batch_items(await read_json(request, context.settings.max_batch_body_bytes))
    results: list[NodeError | None] = [None] * len(raw_items)
    parsed: list[Any] = []
    positions: list[int] = []
    for position, raw in enumerate(raw_items):
        try:
            parsed.append(parse(raw))
            positions.append(position)
        except NodeError as exc:
            results[position] = exc
    for position, error in zip(positions, await write(principal, parsed), strict=True):
        results[position] = error
    return _batch_response(raw_items, results)


@router.post(
    "/identityv2/data/batchCreate",
    summary="Register up to 2000 records",
    openapi_extra=BATCH_WRITE_BODY,
)
async def batch_create(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    return await _batch(request, context, principal, parse_draft, context.batches.create_many)


@router.put(
    "/identityv2/data/batchUpdate",
    summary="Replace the values of up to 2000 records",
    openapi_extra=BATCH_WRITE_BODY,
)
async def batch_update(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    return await _batch(request, context, principal, parse_draft, context.batches.update_many)


@router.delete(
    "/identityv2/data/batchDelete",
    summary="Delete up to 2000 records",
    openapi_extra=BATCH_DELETE_BODY,
)
async def batch_delete(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    return await _batch(request, context, principal, parse_handle_item, context.batches.delete_many)
