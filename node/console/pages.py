"""How a console page is answered: the session it needs, its CSRF token, its errors as pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from httpapi import PLAIN_STATUS, error_headers, lookup
from registry import InvalidInput, NodeError, PayloadTooLarge

from ..context import NodeContext
from ..web import N_, render
from .sessions import (
    BASE,
    CSRF_FIELD,
    CsrfRejected,
    LoginRequired,
    Session,
    check_csrf,
    csrf_token,
    ensure_csrf_cookie,
    session_of,
)

__all__ = [
    "console_dialect",
    "form_of_request",
    "install_console_errors",
    "page",
    "redirect",
    "require_enterprise",
    "require_operator",
]

# The page title for each HTTP status the console answers with.
_TITLES = {
    400: N_("The request was not valid"),
    401: N_("Sign-in needed"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    409: N_("Conflict"),
    413: N_("Too large"),
    429: N_("Too many attempts"),
    503: N_("Temporarily unavailable"),
}
_FALLBACK_TITLE = N_("Something went wrong")
MAX_FORM_BYTES = 256 * 1024


def page(
    request: Request,
    context: NodeContext,
    name: str,
    status_code: int = 200,
    *,
    session: Session | None = None,
    scripts: bool = False,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """A console template rendered with its CSRF token; never cached (it shows private data)."""
    token = csrf_token(request)
    response = render(
        request,
        name,
        status_code,
        {"Cache-Control": "no-store", **(headers or {})},
        scripts=scripts,
        with_script=scripts,
        csrf=token,
        csrf_field=CSRF_FIELD,
        session=session,
        base=BASE,
        **values,
    )
    ensure_csrf_cookie(request, context, response)
    return response


def redirect(path: str) -> RedirectResponse:
    """303 to a console path (after a form: the browser then GETs it)."""
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


async def form_of_request(request: Request) -> dict[str, str]:
    """The submitted URL-encoded form, its CSRF token checked first (``CsrfRejected``).

    The console's forms are small: a body over ``MAX_FORM_BYTES`` or of another type is refused.
    """
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    body = b""
    if kind == "application/x-www-form-urlencoded":
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise PayloadTooLarge(f"a console form is at most {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=2000
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("the form is not URL-encoded UTF-8 of at most 2000 fields") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    check_csrf(request, form.get(CSRF_FIELD))
    return form


async def require_enterprise(request: Request, context: NodeContext) -> Session:
    """The enterprise session of the request; ``LoginRequired`` without one."""
    session = await session_of(request, context)
    if session is None or session.operator:
        raise LoginRequired()
    return session


async def require_operator(request: Request, context: NodeContext) -> Session:
    """The operator session of the request; ``LoginRequired`` (operator login) without one."""
    session = await session_of(request, context)
    if session is None or not session.operator:
        raise LoginRequired(operator=True)
    return session


def console_dialect(request: Request, exc: NodeError) -> Response:
    """Errors under /console as pages in the console's style, with the plain dialect's status."""
    status = lookup(PLAIN_STATUS, exc)
    return page(
        request,
        request.app.state.node,
        "console/error.html",
        status,
        headers=error_headers(exc),
        title_id=_TITLES.get(status, _FALLBACK_TITLE),
        message=exc.message,
    )


def install_console_errors(app: FastAPI) -> None:
    """A missing session sends the browser to the login form; a form without its CSRF token
    gets a 403 page that says why."""

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = f"{BASE}/login"
        if exc.operator:
            target += "?operator=1"
        elif request.method == "GET":
            target += "?next=" + quote(request.url.path + _query(request), safe="")
        return redirect(target)

    async def on_csrf(request: Request, exc: Exception) -> Response:
        return page(request, request.app.state.node, "console/csrf.html", 403)

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(CsrfRejected, on_csrf)


def _query(request: Request) -> str:
    query = request.url.query
    return f"?{query}" if query else ""
