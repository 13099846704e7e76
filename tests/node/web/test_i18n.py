"""Languages: negotiation from ?lang=, the cookie and Accept-Language; complete catalogs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from starlette.requests import Request

from node.web import DEFAULT_LOCALE, LOCALES, negotiate, negotiate_headers, translations

ROOT = Path(__file__).resolve().parents[3]


def _request(query: str = "", cookie: str | None = None, accept: str | None = None) -> Request:
    headers = []
    if cookie is not None:
        headers.append((b"cookie", f"lang={cookie}".encode()))
    if accept is not None:
        headers.append((b"accept-language", accept.encode()))
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": query.encode(),
            "headers": headers,
        }
    )


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("", None, None, ("zh_CN", False)),
        ("", None, "en-US,en;q=0.9", ("en", False)),
        ("", None, "zh-CN,zh;q=0.9,en;q=0.8", ("zh_CN", False)),
        ("", None, "fr-FR, en;q=0.5", ("en", False)),
        ("", None, "en;q=0.2, zh-TW;q=0.8", ("zh_CN", False)),
        ("", None, "de, fr", ("zh_CN", False)),
        ("", None, "en;q=0", ("zh_CN", False)),
        ("", None, "en;q=bogus, zh", ("zh_CN", False)),
        ("", None, ";;;,,,q=", ("zh_CN", False)),
        ("", "en", "zh-CN", ("en", False)),
        ("", "xx", "en", ("en", False)),
        ("lang=en", "zh_CN", "zh-CN", ("en", True)),
        ("lang=zh_CN", None, "en", ("zh_CN", True)),
        ("lang=zh-CN", None, "en", ("zh_CN", True)),
        ("lang=klingon", None, "en", ("en", False)),
    ],
)
def test_negotiation(query, cookie, accept, expected) -> None:
    assert negotiate(_request(query, cookie, accept)) == expected


def test_chinese_is_the_default_and_english_is_offered() -> None:
    assert DEFAULT_LOCALE == "zh_CN" and set(LOCALES) == {"zh_CN", "en"}


def test_every_message_of_the_pages_has_a_chinese_translation() -> None:
    """What ``pybabel extract -F babel.cfg`` finds in node/ is all in the zh_CN catalogs."""
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(ROOT / "node"), method_map, options)
    }
    assert len(found) > 5
    chinese = translations("zh_CN")
    missing = sorted(m for m in found if chinese.gettext(m) == m)
    assert not missing, missing


def test_fuzz_any_language_headers_give_a_supported_locale() -> None:
    rng = random.Random(21)
    pieces = ["en", "zh", "-CN", "-Hans", ";q=", "0.5", "1", "0", ",", " ", "*", "lang=", "=",
              ";", '"', "x" * 40, "é", "\x7f", "q=abc", "zh_CN", "9e999", "nan"]  # fmt: skip
    for _ in range(3000):
        cookie = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        accept = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        headers = [(b"cookie", cookie.encode()), (b"accept-language", accept.encode())]
        assert negotiate_headers(headers) in LOCALES
        assert negotiate(_request("", cookie, accept))[0] in LOCALES
