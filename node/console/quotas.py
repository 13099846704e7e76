"""The operator's quota page: an enterprise's quotas, what it uses of them, and the form that
sets or removes them through ``QuotaService`` (so the change is audited as ``quota.set``)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from httpapi import PLAIN_STATUS, lookup
from registry import QUOTA_KINDS, EntityNotFound, NodeError

from ..context import NodeContext, get_context
from ..web import N_
from .pages import form_of_request, page, redirect, require_operator
from .sessions import BASE, Session

__all__ = ["parse_limits", "router"]

router = APIRouter(include_in_schema=False)

# What each quota is called on the page, in ``QUOTA_KINDS`` order.
LABELS = {
    "daily_resolutions": N_("Resolutions per day"),
    "daily_registrations": N_("Registrations per day"),
    "identifiers": N_("Identifiers"),
    "prefixes": N_("Prefixes"),
}
_NOT_A_LIMIT = N_("Enter a whole number of 0 or more, or leave it empty for no limit.")
_MAX_DIGITS = 19


def parse_limits(form: Mapping[str, str]) -> tuple[dict[str, int | None], dict[str, str]]:
    """The limits a quota form asks for (empty: no limit) and, per field, what is wrong."""
    limits: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for kind in QUOTA_KINDS:
        text = str(form.get(kind, "")).strip()
        if not text:
            limits[kind] = None
        elif text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS:
            limits[kind] = int(text)
        else:
            problems[kind] = _NOT_A_LIMIT
    return limits, problems


def _enterprise_id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS):
        raise EntityNotFound(f"enterprise {text[:40]!r} does not exist")
    return int(text)


async def _page(
    request: Request,
    context: NodeContext,
    session: Session,
    enterprise_id: int,
    status_code: int = 200,
    *,
    entered: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    problem: str | None = None,
) -> Response:
    quota = (await context.quotas.get(enterprise_id)).as_dict()
    usage = await context.quotas.usage(enterprise_id)
    enterprise = next((e for e in await context.enterprises.list() if e.id == enterprise_id), None)
    if entered is None:
        entered = {kind: "" if quota[kind] is None else str(quota[kind]) for kind in QUOTA_KINDS}
    return page(
        request,
        context,
        "console/quotas.html",
        status_code,
        session=session,
        enterprise_id=enterprise_id,
        enterprise_name=enterprise.name if enterprise is not None else "",
        kinds=[(kind, LABELS[kind]) for kind in QUOTA_KINDS],
        quota=quota,
        usage=usage,
        day=context.quotas.day(),
        entered=entered,
        problems=problems or {},
        problem=problem,
        done=request.query_params.get("done"),
    )


@router.get(BASE + "/operator/enterprises/{enterprise}/quotas")
async def quotas(
    enterprise: str, request: Request, context: NodeContext = Depends(get_context)
) -> Response:
    session = await require_operator(request, context)
    return await _page(request, context, session, _enterprise_id(enterprise))


@router.post(BASE + "/operator/enterprises/{enterprise}/quotas")
async def set_quotas(
    enterprise: str, request: Request, context: NodeContext = Depends(get_context)
) -> Response:
    session = await require_operator(request, context)
    form = await form_of_request(request)
    enterprise_id = _enterprise_id(enterprise)
    here = f"{BASE}/operator/enterprises/{enterprise_id}/quotas"
    if form.get("action") == "remove":
        limits: dict[str, int | None] = dict.fromkeys(QUOTA_KINDS)
        problems: dict[str, str] = {}
    else:
        limits, problems = parse_limits(form)
    entered = {kind: str(form.get(kind, ""))[:40] for kind in QUOTA_KINDS}
    if problems:
        return await _page(
            request, context, session, enterprise_id, 400, entered=entered, problems=problems
        )
    current = (await context.quotas.get(enterprise_id)).as_dict()
    changes = {kind: limit for kind, limit in limits.items() if current[kind] != limit}
    if not changes:
        return redirect(f"{here}?done=unchanged")
    try:
        await context.quotas.set(enterprise_id, changes)
    except NodeError as exc:
        status = lookup(PLAIN_STATUS, exc)
        return await _page(
            request, context, session, enterprise_id, status, entered=entered, problem=exc.message
        )
    return redirect(f"{here}?done=saved")
