"""Sync status over HTTP, for monitoring (admin token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from httpapi import json_response

from ..admin.endpoints import require_admin
from ..context import NodeContext, get_context
from .status import sync_status

__all__ = ["router"]

router = APIRouter(prefix="/admin/sync", tags=["Node administration"])


@router.get("", dependencies=[Depends(require_admin)], summary="Sync lag and last error")
async def show_status(context: NodeContext = Depends(get_context)) -> Response:
    return json_response(await sync_status(context.db, context.settings.toplevel_url, context.sync))
