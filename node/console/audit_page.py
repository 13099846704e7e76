"""The operator's audit log page: who did which administrative action, filtered and paged
(newest first) through the ``AuditService`` the admin API reads."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from httpapi import PLAIN_STATUS, lookup
from registry import AuditPage, InvalidInput, NodeError, parse_moment

from ..context import NodeContext, get_context
from .pages import page, require_operator
from .sessions import BASE

__all__ = ["AUDIT_PAGE_SIZE", "router"]

router = APIRouter(include_in_schema=False)
AUDIT_PAGE_SIZE = 50
FILTERS = ("since", "until", "actor", "action", "target")
_MAX_FILTER = 300


def _before(text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        raise InvalidInput(f"before must be an entry id, got {text[:40]!r}")
    return int(text)


def _summary(summary: dict[str, Any]) -> str:
    """``key: value`` per line, values as JSON (``null``: removed)."""
    return "\n".join(f"{key}: {orjson.dumps(summary[key]).decode()}" for key in sorted(summary))


async def _find(context: NodeContext, filters: dict[str, str], before: str) -> AuditPage:
    return await context.audit.find(
        since=parse_moment(filters["since"]) if filters["since"] else None,
        until=parse_moment(filters["until"]) if filters["until"] else None,
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        target=filters["target"] or None,
        before=_before(before),
        limit=AUDIT_PAGE_SIZE,
    )


@router.get(f"{BASE}/operator/audit")
async def audit_log(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_operator(request, context)
    query = request.query_params
    filters = {name: query.get(name, "").strip()[:_MAX_FILTER] for name in FILTERS}
    before = query.get("before", "").strip()
    status, problem = 200, None
    try:
        found = await _find(context, filters, before)
    except NodeError as exc:
        status, problem, found = lookup(PLAIN_STATUS, exc), exc.message, AuditPage([], None)
    kept = {name: value for name, value in filters.items() if value}
    entries = [
        {
            **entry.as_dict(),
            "summary": _summary(entry.summary),
        }
        for entry in found.entries
    ]
    return page(
        request,
        context,
        "console/audit.html",
        status,
        session=session,
        filters=filters,
        entries=entries,
        problem=problem,
        paged=bool(before) and problem is None,
        first_url=f"{BASE}/operator/audit?{urlencode(kept)}",
        next_url=None
        if found.next is None
        else f"{BASE}/operator/audit?{urlencode({**kept, 'before': found.next})}",
    )
