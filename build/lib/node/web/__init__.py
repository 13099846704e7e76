"""The shared web layer of the people-facing pages (record page, console).

Jinja2 templates (autoescaped) under ``templates/``, Babel catalogs under ``locale/`` compiled
from their ``.po`` sources at first use, static assets under ``static/`` served at ``/static/``,
and one strict Content-Security-Policy. Pages render with ``render(request, name, **context)``.
"""

from __future__ import annotations

from .i18n import (
    DEFAULT_LOCALE,
    LOCALE_COOKIE,
    LOCALE_PARAM,
    LOCALES,
    N_,
    negotiate,
    negotiate_headers,
    translations,
)
from .rendering import (
    PAGE_HEADERS,
    SCRIPT_HEADERS,
    STATIC_PATH,
    environment,
    install_web,
    language_headers,
    render,
    render_text,
)
from .timefmt import CHINA, china_time

__all__ = [
    "CHINA",
    "DEFAULT_LOCALE",
    "LOCALES",
    "LOCALE_COOKIE",
    "LOCALE_PARAM",
    "N_",
    "PAGE_HEADERS",
    "SCRIPT_HEADERS",
    "STATIC_PATH",
    "china_time",
    "environment",
    "install_web",
    "language_headers",
    "negotiate",
    "negotiate_headers",
    "render",
    "render_text",
    "translations",
]
