"""Health for load balancers and orchestrators: ``/healthz`` (alive), ``/readyz`` (ready).

``/healthz`` is liveness: 200 while the process serves HTTP, touching nothing else, so a database
outage never gets healthy processes restarted (they serve cached answers meanwhile). ``/readyz``
is readiness: 503 with a ``reason`` while the node cannot do its job, which is when

- ``database``: storage does not answer a trivial query;
- ``schema``: the database is not migrated to the revision this node needs (``idnode migrate``;
  picked up without a restart);
- ``sync``: sync is on (``IDNODE_TOPLEVEL_URL``) and the oldest outbox row not yet acknowledged by
  the top-level node is older than ``IDNODE_READY_MAX_SYNC_LAG_SECONDS`` (0: not checked).

Both answer HEAD too (outside the schema: one operation per path), so load balancers that check
with HEAD do not fall through to the page route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from httpapi import json_response
from migrations.runner import require_schema
from registry import Unavailable

from .context import NodeContext, get_context

__all__ = ["readiness", "router"]

router = APIRouter(tags=["Operations"])


@router.head("/healthz", include_in_schema=False)
@router.get("/healthz", summary="200 while the process serves (liveness)")
async def healthz(context: NodeContext = Depends(get_context)) -> Response:
    return json_response({"status": "ok", "nodeCode": context.settings.node_code})


@router.head("/readyz", include_in_schema=False)
@router.get(
    "/readyz",
    summary="200 when the database is reachable and migrated and sync is not stuck (readiness)",
)
async def readyz(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    problem = await readiness(context, request.app.state)
    if problem is not None:
        return json_response({"status": "unavailable", **problem}, 503)
    return json_response({"status": "ok", "nodeCode": context.settings.node_code})


async def readiness(context: NodeContext, state: Any) -> dict[str, str] | None:
    """Why the node is not ready (``reason`` and ``message``), or None when it is.

    ``state.schema_ready`` remembers a migrated schema: it is checked again only while it is not.
    """
    try:
        if not state.schema_ready:
            try:
                await require_schema(context.db)
            except Unavailable as exc:
                await context.db.ping()  # an outage is a database problem, not a schema one
                return {"reason": "schema", "message": exc.message}
            state.schema_ready = True
        await context.db.ping()
    except Unavailable as exc:
        return {"reason": "database", "message": exc.message}
    limit = context.settings.ready_max_sync_lag_seconds
    if context.sync is None or limit <= 0:
        return None
    try:
        status = await context.sync.status()
    except Unavailable as exc:
        return {"reason": "database", "message": exc.message}
    if status["lagSeconds"] <= limit:
        return None
    error = status.get("lastError")
    return {
        "reason": "sync",
        "message": f"sync is stuck: {status['pendingRows']} outbox row(s) waiting, the oldest"
        f" {status['lagSeconds']:.0f} s (more than {limit:g} s)"
        + (f"; last error: {error}" if error else ""),
    }
