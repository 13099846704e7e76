"""Human resolution: what a phone that scanned a QR code sees."""

from __future__ import annotations

import functools
from urllib.parse import quote

import dns.exception
import dns.name
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from httpapi import PLAIN_STATUS, error_headers, lookup
from registry import Handle, HandleNotFound, InvalidInput, NodeError
from registry.codec import handle_to_name

from ..context import NodeContext, get_context
from ..headers import stale_headers
from ..paths import HANDLE_PATH, path_text
from ..web import N_, render
from .hot import keep_page, switch_links
from .links import redirect_target
from .page import kept_view, record_view
from .scan import MAX_SCAN, identifier_from
from .trust import RootCertificate

__all__ = ["human_dialect", "router"]

router = APIRouter(tags=["Human resolution"])


async def resolve_for_humans(
    handle: str, request: Request, context: NodeContext = Depends(get_context)
) -> Response:
    parsed = Handle.parse(path_text(request.scope, "/"))
    resolution = await context.resolver.lookup(parsed)
    headers = stale_headers(resolution)
    follow = "noredirect" not in request.query_params
    view = kept_view(resolution.entry)
    if view is None:
        record = resolution.record()
        if record is None:
            raise HandleNotFound(f"The identifier {parsed} is not registered.", handle=str(parsed))
        record = record.public()
        url = redirect_target(record)
        if url is not None and follow:  # a scan: sent on at once, the page is not worked out
            return RedirectResponse(url, status_code=302, headers=headers)
        view = await record_view(context, _root(request, context), resolution, record)
    if view.redirect is not None and follow:
        return RedirectResponse(view.redirect, status_code=302, headers=headers)
    dns_name = (
        _dns_name(str(parsed), context.settings.dns_zone) if context.settings.dns_port else None
    )
    switch = switch_links(request.scope.get("raw_path", b"/").decode("latin-1"))
    response = render(
        request, "human/record.html", 200, headers, view=view, dns_name=dns_name, switch=switch
    )
    if not resolution.stale:
        locale = response.headers["content-language"].replace("-", "_")
        keep_page(resolution.entry, locale, response.body)
    return response


def _root(request: Request, context: NodeContext) -> RootCertificate:
    """The app's one ``RootCertificate`` (made on first use: it is read or fetched lazily)."""
    state = request.app.state
    root = getattr(state, "human_root", None)
    if root is None:
        root = state.human_root = RootCertificate(context.settings)
    return root


async def landing(request: Request, q: str | None = None) -> Response:
    """The search page; ``?q=`` an identifier, or a scanned text a rule maps to one."""
    if q is None:
        return render(request, "human/landing.html")
    try:
        handle = identifier_from(q)
    except InvalidInput as exc:
        return render(request, "human/landing.html", 400, query=q[:MAX_SCAN], problem=exc.message)
    target = "/" + quote(str(handle), safe="/:") + "?noredirect"
    return RedirectResponse(target, status_code=303)


@functools.lru_cache(maxsize=4096)
def _dns_name(handle: str, zone: str) -> str | None:
    """The handle's name on the node's DNS frontend under ``zone``, when the name fits."""
    try:
        return handle_to_name(Handle.parse(handle), dns.name.from_text(zone)).to_text()
    except (InvalidInput, dns.exception.DNSException):
        return None


router.add_api_route(
    "/", landing, methods=["GET"], summary="Search for an identifier", response_class=HTMLResponse
)
# HEAD answers as GET does, without the body (outside the schema: one operation per path).
router.add_api_route("/", landing, methods=["HEAD"], include_in_schema=False)
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
    400: N_("Not a valid identifier"),
    401: N_("Sign-in needed"),
    403: N_("Not allowed"),
    404: N_("Identifier not found"),
    409: N_("Conflict"),
    413: N_("Too large"),
    415: N_("Unsupported content type"),
    429: N_("Too many attempts"),
    503: N_("Temporarily unavailable"),
}
_FALLBACK_TITLE = N_("Something went wrong")


def human_dialect(request: Request, exc: NodeError) -> Response:
    """Errors as pages in the site's style, with the HTTP status every other dialect gives."""
    status = lookup(PLAIN_STATUS, exc)
    return render(
        request,
        "error.html",
        status,
        error_headers(exc),
        title_id=_TITLES.get(status, _FALLBACK_TITLE),
        message=exc.message,
        missing=exc.handle if isinstance(exc, HandleNotFound) else None,
    )
