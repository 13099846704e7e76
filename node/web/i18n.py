"""Message catalogs and the choice of a request's language.

Each ``locale/<locale>/LC_MESSAGES/*.po`` is one domain (``web``, ``human``, ``console``, …);
all domains of a locale are merged into one ``Translations``, compiled from the ``.po`` sources
at first use, so a source checkout and an installed package behave alike with no build step.
Message ids are English; Chinese (``zh_CN``) is the default language.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "LOCALE_COOKIE",
    "LOCALE_PARAM",
    "N_",
    "negotiate",
    "negotiate_headers",
    "translations",
]

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
# ``?lang=en`` switches the language and remembers it in this cookie.
LOCALE_PARAM = "lang"
LOCALE_COOKIE = "lang"
_LOCALE_DIR = Path(__file__).parent / "locale"
# What a client may name, lower-cased, to the locale we answer in.
_ALIASES = {
    "zh": "zh_CN",
    "zh-cn": "zh_CN",
    "zh_cn": "zh_CN",
    "zh-hans": "zh_CN",
    "zh-hans-cn": "zh_CN",
    "zh-sg": "zh_CN",
    "zh-tw": "zh_CN",
    "zh-hk": "zh_CN",
    "zh-hant": "zh_CN",
    "en": "en",
}


def N_(message: str) -> str:
    """Marks ``message`` for extraction; it is translated where it is shown (``_(name)``)."""
    return message


@functools.cache
def translations(locale: str) -> NullTranslations:
    """All message domains of ``locale`` merged, compiled from their ``.po`` files once."""
    merged: NullTranslations = NullTranslations()
    for po in sorted((_LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale, domain=po.stem)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        domain = Translations(compiled, domain=po.stem)
        if isinstance(merged, Translations):
            merged.merge(domain)
        else:
            merged = domain
    return merged


def _known(tag: str) -> str | None:
    tag = tag.strip().lower()
    return _ALIASES.get(tag) or _ALIASES.get(tag.split("-", 1)[0])


@functools.lru_cache(maxsize=512)
def _accepted(header: str) -> str | None:
    """The best supported language of an ``Accept-Language`` header, by its q-values."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        locale = _known(tag)
        if locale is not None and quality > 0:
            choices.append((-quality, position, locale))
    return min(choices)[2] if choices else None


@functools.lru_cache(maxsize=512)
def _cookie_locale(header: str) -> str | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == LOCALE_COOKIE:
            return _known(value.strip('"'))
    return None


def negotiate_headers(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The locale from raw ASGI headers alone (the ``lang`` cookie, ``Accept-Language``)."""
    cookie = accept = None
    for name, value in headers:
        if name == b"cookie":
            cookie = value
        elif name == b"accept-language":
            accept = value
    if cookie is not None and (locale := _cookie_locale(cookie.decode("latin-1"))) is not None:
        return locale
    return (accept and _accepted(accept.decode("latin-1"))) or DEFAULT_LOCALE


def negotiate(request: Request) -> tuple[str, bool]:
    """The request's locale, and whether it was switched by ``?lang=`` (to remember it).

    ``?lang=`` first, then the ``lang`` cookie, then ``Accept-Language``, else Chinese.
    """
    asked = request.query_params.get(LOCALE_PARAM)
    if asked is not None and (locale := _known(asked)) is not None:
        return locale, True
    return negotiate_headers(request.scope["headers"]), False
