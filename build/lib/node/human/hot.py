"""Record pages from the cache, before any routing (``node.hot.HotPath`` asks here first).

The first view of a cached record renders its page through the endpoint, which keeps the bytes
with the cache entry, one per language. Later anonymous ``GET``/``HEAD /<handle>`` requests
(no query, or ``?noredirect``) for a fresh entry are answered from those bytes here, or
redirected to the record's URL: no routing, dependency injection or template rendering. Any
other request, or a page not yet kept, goes on to the app.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.types import Scope

from registry import NodeError
from resolver import Entry, Resolver

from ..paths import path_text
from ..web import PAGE_HEADERS, language_headers, negotiate_headers
from .page import kept_view

__all__ = ["hot_page", "keep_page", "switch_links"]

# A handle's path: its prefix has a dot (88.118.8, 0.NA); no other route's first segment does.
_PAGE_PATH = re.compile(r"/[^/]*\.[^/]*/.")
_QUERIES = {b"": True, b"noredirect": False, b"noredirect=": False}
_NOTE = "human.page."
_READS = frozenset({"GET", "HEAD"})
_URL_SAFE = ":/%#?=@[]!$&'()*+,;"


def switch_links(raw_path: str) -> dict[str, str]:
    """A record page's language links: the same page, never redirected, in each language."""
    return {locale: f"{raw_path}?noredirect&lang={locale}" for locale in ("zh_CN", "en")}


def keep_page(entry: Entry, locale: str, body: bytes) -> None:
    """Keep a rendered page with its cache entry, for ``hot_page``."""
    entry.keep_note(_NOTE + locale, body)


def _headers(extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]


_PAGE = [*_headers(PAGE_HEADERS), (b"content-type", b"text/html; charset=utf-8")]
_LANGUAGE = {locale: _headers(language_headers(locale)) for locale in ("zh_CN", "en")}


def hot_page(
    scope: Scope, resolver: Resolver
) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
    """Status, headers and body for a page request the cache can answer, else ``None``."""
    follow = _QUERIES.get(scope["query_string"])
    if follow is None or scope["method"] not in _READS or not _PAGE_PATH.match(scope["path"]):
        return None
    try:
        entry = resolver.hot(path_text(scope, "/"))
    except NodeError:
        return None  # the endpoint explains what is wrong with the identifier
    if entry is None:
        return None
    view = kept_view(entry)
    if view is None:
        return None
    if view.redirect is not None and follow:
        # Percent-encoded as Starlette's RedirectResponse does it (the endpoint's answer).
        location = quote(view.redirect, safe=_URL_SAFE).encode("latin-1")
        return 302, [(b"location", location)], b""
    locale = negotiate_headers(scope["headers"])
    body = entry.note(_NOTE + locale)
    if not isinstance(body, bytes):
        return None
    return 200, [*_PAGE, *_LANGUAGE[locale]], body
