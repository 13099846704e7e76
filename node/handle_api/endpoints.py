"""Handle REST API: ``/api/handles`` as Handle.Net servers and the hdl.handle.net proxy speak it."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from httpapi import json_response
from registry import Handle as HandleId
from registry import (
    HandleNotFound,
    InvalidInput,
    Prefix,
    Principal,
    Role,
    codec,
    parse_index,
    parse_values,
)
from resolver import FORWARDED_HEADER

from ..auth import client_address, get_principal
from ..bodies import read_json
from ..context import NodeContext, get_context
from ..headers import stale_headers
from ..paths import HANDLE_PATH, path_text
from .openapi import DELETE_QUERY, GET_QUERY, LIST_QUERY, PUT_BODY, PUT_QUERY

__all__ = ["MOUNT", "router", "values_from_body"]

MOUNT = "/api/handles/"
router = APIRouter(prefix=MOUNT.rstrip("/"), tags=["Handle REST API"])
ROUTE = f"/{{handle:{HANDLE_PATH}}}"
# page and pageSize: within a signed 64-bit integer, ASCII digits only (int() takes "٣" too).
_INTEGER = re.compile(r"-?[0-9]{1,18}")


def _bool_param(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes", ""):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidInput(f"query parameter {name} must be true or false, got {raw!r}")


def _index_params(request: Request, *, allow_various: bool = False) -> list[int] | str | None:
    raw = request.query_params.getlist("index")
    if not raw:
        return None
    if allow_various and "various" in raw:
        return "various"
    return [parse_index(item, "index parameter") for item in raw]


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not _INTEGER.fullmatch(raw):
        shown = f"{raw[:20]!r}..." if len(raw) > 20 else repr(raw)
        raise InvalidInput(
            f"query parameter {name} must be an integer of at most 18 ASCII digits, got {shown}"
        )
    return int(raw)


def _done(handle: str, status: int = 200) -> Response:
    return Response(codec.done_body(handle), status, media_type="application/json")


def values_from_body(body: Any, handle: str | None) -> Any:
    """The ``values`` list of a PUT body (or the body itself, a bare list)."""
    if isinstance(body, list):
        return body
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object with a 'values' list")
    if "values" not in body:
        raise InvalidInput("request body has no 'values' list")
    named = body.get("handle")
    if named is not None and handle is not None and HandleId.parse(named) != HandleId.parse(handle):
        raise InvalidInput(f"body names handle {named!r} but the URL names {handle!r}")
    return body["values"]


@router.get("", summary="List the handles under a prefix", openapi_extra=LIST_QUERY)
async def list_handles(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(get_principal),
) -> Response:
    raw_prefix = request.query_params.get("prefix")
    if not raw_prefix:
        raise InvalidInput("query parameter prefix is required, e.g. ?prefix=88.118.8")
    prefix = Prefix.parse(raw_prefix)
    page = _int_param(request, "page")
    page_size = _int_param(request, "pageSize")
    total, handles = await context.records.page(principal, prefix, page, page_size)
    body: dict[str, Any] = {
        "responseCode": int(codec.ResponseCode.SUCCESS),
        "prefix": str(prefix),
        "totalCount": str(total),
    }
    if page is not None:
        body["page"] = page
    if page_size is not None:
        body["pageSize"] = page_size
    body["handles"] = handles
    return json_response(body)


@router.get(ROUTE, summary="Resolve a handle", openapi_extra=GET_QUERY)
@router.head(ROUTE, include_in_schema=False)
async def get_handle(handle: str, request: Request) -> Response:
    # Dependencies resolved by hand: FastAPI would run the sync get_context in a thread.
    context: NodeContext = request.app.state.node
    principal = await get_principal(request, context)
    parsed = HandleId.parse(path_text(request.scope, MOUNT))
    if principal.role is Role.ANONYMOUS and context.resolution_limits.active:
        context.resolution_limits.check(client_address(request), str(parsed))
    indexes = _index_params(request) or ()
    types = request.query_params.getlist("type")
    # A request another node forwarded is answered from our own storage only (no loops).
    recursive = FORWARDED_HEADER not in request.headers
    resolution = await context.resolver.lookup(parsed, recursive=recursive)
    if not resolution.exists:
        raise HandleNotFound(f"handle {parsed} does not exist", handle=str(parsed))
    private = principal.can_read_private(parsed)
    status, body = context.resolver.answer(resolution.entry, private, indexes, types)
    return Response(body, status, stale_headers(resolution), media_type="application/json")


@router.put(
    ROUTE,
    summary="Create or change a handle",
    status_code=201,
    openapi_extra={**PUT_BODY, "parameters": PUT_QUERY},
)
async def put_handle(
    handle: str,
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(get_principal),
) -> Response:
    limit = context.settings.max_body_bytes
    handle = path_text(request.scope, MOUNT)
    if _bool_param(request, "mintNewSuffix", False):
        prefix_text, _, stem = handle.partition("/")
        prefix = Prefix.parse(prefix_text)
        if stem:
            HandleId.check_suffix(stem)
        values = parse_values(values_from_body(await read_json(request, limit), None))
        minted = await context.records.mint(principal, prefix, stem, values)
        return _done(str(minted), 201)
    parsed = HandleId.parse(handle)
    overwrite = _bool_param(request, "overwrite", True)
    indexes = _index_params(request, allow_various=True)
    values = parse_values(
        values_from_body(await read_json(request, limit), handle), allow_empty=indexes is not None
    )
    created = await context.records.put(
        principal,
        parsed,
        values,
        overwrite=overwrite,
        indexes=indexes,
        seen=context.resolver.seen(str(parsed)),
    )
    return _done(str(parsed), 201 if created else 200)


@router.delete(ROUTE, summary="Delete a handle or some of its values", openapi_extra=DELETE_QUERY)
async def delete_handle(
    handle: str,
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(get_principal),
) -> Response:
    parsed = HandleId.parse(path_text(request.scope, MOUNT))
    indexes = _index_params(request)
    await context.records.delete(principal, parsed, indexes)
    return _done(str(parsed))
