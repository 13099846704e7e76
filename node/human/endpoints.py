"""Human resolution: what a phone that scanned a QR code sees."""

from __future__ import annotations

import dns.exception
import dns.name
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from httpapi import PLAIN_STATUS, error_headers, lookup
from registry import Handle, HandleNotFound, InvalidInput, NodeError
from registry.codec import handle_to_name

from ..auth import client_address
from ..context import NodeContext, get_context
from ..headers import stale_headers
from ..paths import HANDLE_PATH, path_text
from .links import redirect_target
from .page import PAGE_HEADERS, error_page, record_page

__all__ = ["human_dialect", "router"]

router = APIRouter(tags=["Human resolution"])


async def resolve_for_humans(
    handle: str, request: Request, context: NodeContext = Depends(get_context)
) -> Response:
    parsed = Handle.parse(path_text(request.scope, "/"))
    if context.resolution_limits.active:
        context.resolution_limits.check(client_address(request), str(parsed))
    resolution = await context.resolver.lookup(parsed)
    record = resolution.record()
    if record is None:
        raise HandleNotFound(f"The identifier {parsed} is not registered.", handle=str(parsed))
    record = record.public()
    url = redirect_target(record)
    headers = stale_headers(resolution)
    if url is not None and "noredirect" not in request.query_params:
        return RedirectResponse(url, status_code=302, headers=headers)
    page = record_page(record, _dns_name(context, parsed))
    return HTMLResponse(page, headers={**PAGE_HEADERS, **(headers or {})})


def _dns_name(context: NodeContext, handle: Handle) -> str | None:
    """The handle's name on the node's DNS frontend, when it runs one and the name fits."""
    settings = context.settings
    if not settings.dns_port:
        return None
    try:
        return handle_to_name(handle, dns.name.from_text(settings.dns_zone)).to_text()
    except (InvalidInput, dns.exception.DNSException):
        return None


router.add_api_route(
    f"/{{handle:{HANDLE_PATH}}}",
    resolve_for_humans,
    methods=["GET"],
    summary="Redirect to a handle's http(s) URL, or show its record as HTML",
)
# HEAD answers as GET does, without the body (outside the schema: one operation per path).
router.add_api_route(
    f"/{{handle:{HANDLE_PATH}}}", resolve_for_humans, methods=["HEAD"], include_in_schema=False
)


# The page title for each HTTP status a person may meet; the status is the plain dialect's.
_TITLES = {
    400: "Not a valid identifier",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Identifier not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported content type",
    429: "Too many attempts",
    503: "Temporarily unavailable",
}


def human_dialect(request: Request, exc: NodeError) -> Response:
    """Errors as small HTML pages, with the HTTP status every other dialect gives the error."""
    status = lookup(PLAIN_STATUS, exc)
    title = _TITLES.get(status, "Something went wrong")
    headers = {**PAGE_HEADERS, **(error_headers(exc) or {})}
    return HTMLResponse(error_page(title, exc.message), status, headers)
