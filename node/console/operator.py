"""The node operator's view (admin token login): enterprises, prefixes, sync and keys."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from registry import NodeError

from ..context import NodeContext, get_context
from ..keys import key_store
from ..sync.status import sync_status
from .pages import page, require_operator
from .sessions import BASE

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get(f"{BASE}/operator")
async def operator(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_operator(request, context)
    settings = context.settings
    try:
        keys = [info.as_dict() for info in key_store(settings).list()]
        key_problem = None
    except NodeError as exc:
        keys, key_problem = [], exc.message
    return page(
        request,
        context,
        "console/operator.html",
        session=session,
        node_code=settings.node_code,
        enterprises=await context.enterprises.list(),
        sync=await sync_status(context.db, settings.toplevel_url, context.sync),
        keys=keys,
        key_problem=key_problem,
        sign_records=settings.sign_records,
        cache=context.resolver.stats(),
    )
