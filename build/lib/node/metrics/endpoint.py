"""``GET /metrics``: the Prometheus text format, to the admin token only."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response

from registry import Unavailable

from ..admin.endpoints import require_admin
from ..sync.status import sync_status
from .families import node_families, sync_families

__all__ = ["router"]

router = APIRouter(tags=["Operations"])


class _Scraped(Collector):
    """The families gathered for one scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


@router.get(
    "/metrics",
    dependencies=[Depends(require_admin)],
    summary="Prometheus metrics (admin token)",
    response_class=Response,
)
async def metrics(request: Request) -> Response:
    state = request.app.state
    share = getattr(state, "metrics_share", None)
    families = node_families(state) if share is None else share.collect()
    context = state.node
    try:
        status = await sync_status(context.db, context.settings.toplevel_url, context.sync)
    except Unavailable:
        status = {"enabled": context.settings.toplevel_url is not None}  # the rest still counts
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scraped([*families, *sync_families(status)]))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
