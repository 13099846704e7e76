"""The Jinja2 environments (one per locale, autoescaped) and how a page becomes a response."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from .i18n import LOCALE_COOKIE, LOCALE_PARAM, LOCALES, negotiate, translations
from .timefmt import china_time

__all__ = [
    "PAGE_HEADERS",
    "SCRIPT_HEADERS",
    "STATIC_PATH",
    "environment",
    "install_web",
    "language_headers",
    "render",
    "render_text",
]

_HERE = Path(__file__).parent
STATIC_PATH = "/static"
# One year: the language cookie only remembers a choice the reader made.
_COOKIE_AGE = 365 * 24 * 3600

# Everything a page uses comes from the node itself; no inline script or style at all, and no
# script unless the page asks for its own (``render(..., scripts=True)``: files under /static).
_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": _POLICY,
    "X-Frame-Options": "DENY",
    # Which identifier a phone scanned is not the linked site's business.
    "Referrer-Policy": "no-referrer",
}
SCRIPT_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": f"{_POLICY}; script-src 'self'; connect-src 'self'",
}


def _template_dirs() -> list[Path]:
    """``node/web/templates`` (the base) first, then each slice's ``node/<slice>/templates``.

    A slice names its templates under a folder of its own (``human/record.html``), so slices
    never shadow one another, and each slice's strings are extracted into its own domain.
    """
    shared = _HERE / "templates"
    return [shared, *sorted(p for p in _HERE.parent.glob("*/templates") if p != shared)]


@functools.cache
def environment(locale: str) -> Environment:
    """The templates rendered in ``locale``: escaped by default, undefined names an error."""
    env = Environment(
        loader=FileSystemLoader(_template_dirs()),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(locale=locale, lang=locale.replace("_", "-"), static=STATIC_PATH)
    env.filters["china_time"] = lambda timestamp: china_time(timestamp, locale)
    return env


def render_text(locale: str, name: str, **context: Any) -> str:
    """Template ``name`` rendered in ``locale`` (no request: e-mails, tests)."""
    return environment(locale).get_template(name).render(context)


def _switch_links(request: Request) -> dict[str, str]:
    """The current URL with ``?lang=`` set to each locale (other parameters kept)."""
    links = {}
    for locale in LOCALES:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != LOCALE_PARAM]
        params.append((LOCALE_PARAM, locale))
        query = urlencode(params)
        links[locale] = f"{request.scope.get('raw_path', b'').decode('latin-1')}?{query}"
    return links


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    *,
    scripts: bool = False,
    **context: Any,
) -> HTMLResponse:
    """Template ``name`` in the request's language, with the page headers (CSP and friends).

    A ``?lang=`` switch is remembered in a cookie; the template sees ``locale``, ``lang``,
    ``static``, ``switch`` (the URL of this page in each language, unless ``context`` names
    its own) and ``context``.
    ``scripts``: the page loads its own scripts from ``/static`` (and may fetch same-origin).
    """
    locale, switched = negotiate(request)
    context.setdefault("switch", _switch_links(request))
    body = render_text(locale, name, **context)
    policy = SCRIPT_HEADERS if scripts else PAGE_HEADERS
    response = HTMLResponse(
        body, status_code, headers={**policy, **language_headers(locale), **(headers or {})}
    )
    if switched:
        response.set_cookie(
            LOCALE_COOKIE, locale, max_age=_COOKIE_AGE, httponly=True, samesite="lax"
        )
    return response


def language_headers(locale: str) -> dict[str, str]:
    """The headers of a page negotiated into ``locale`` (for caches and for the reader)."""
    return {"Vary": "Accept-Language, Cookie", "Content-Language": locale.replace("_", "-")}


def install_web(app: FastAPI) -> None:
    """Serve the package's static assets at ``/static`` (before the catch-all page route)."""
    app.mount(STATIC_PATH, StaticFiles(directory=_HERE / "static"), name="static")
