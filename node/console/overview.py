"""The enterprise's dashboard and statistics: records, registrations and resolutions per day,
top identifiers, the cache hit ratio and the node's sync state, charted as SVG."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from registry import RecordStats, last_days

from ..context import NodeContext, get_context
from ..sync.status import sync_status
from .charts import bar_chart
from .identifiers import record_path
from .pages import page, redirect, require_enterprise
from .sessions import BASE, session_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_DAY_CHOICES = (7, 30)


@router.get(BASE)
async def console_root() -> Response:
    return RedirectResponse(f"{BASE}/", status_code=308)


async def _sync(context: NodeContext) -> dict[str, Any]:
    return await sync_status(context.db, context.settings.toplevel_url, context.sync)


@router.get(f"{BASE}/")
async def dashboard(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    found = await session_of(request, context)
    if found is not None and found.operator:
        return redirect(f"{BASE}/operator")
    session = await require_enterprise(request, context)
    principal = session.principal
    stats = RecordStats(context.db)
    registrations = await stats.registrations(principal, 7)
    return page(
        request,
        context,
        "console/dashboard.html",
        session=session,
        prefixes=sorted(principal.prefixes),
        total=await stats.total(principal),
        week=sum(count for _, count in registrations),
        chart=bar_chart(registrations),
        sync=await _sync(context),
    )


@router.get(f"{BASE}/stats")
async def statistics(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    principal = session.principal
    raw = request.query_params.get("days", "30")
    days = int(raw) if raw.isdigit() and int(raw) in _DAY_CHOICES else 30
    dates = last_days(days)
    registrations = await RecordStats(context.db).registrations(principal, days)
    resolver = context.resolver
    resolutions = resolver.tally.per_day(dates)
    cache = resolver.stats()
    top = [
        {"handle": handle, "count": count, "link": record_path(handle)}
        for handle, count in resolver.tally.top(10, frozenset(principal.prefixes))
    ]
    return page(
        request,
        context,
        "console/stats.html",
        session=session,
        days=days,
        day_choices=_DAY_CHOICES,
        registrations=bar_chart(registrations),
        resolutions=bar_chart(resolutions),
        top=top,
        cache_ratio=cache["cacheHitRatio"],
        cache_total=int(cache["resolutions"]),
        sync=await _sync(context),
    )
