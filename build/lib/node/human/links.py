"""Which URL values a phone may be sent to: web addresses only."""

from __future__ import annotations

from urllib.parse import urlsplit

from registry import Record

__all__ = ["is_web_url", "redirect_target"]

_WEB_SCHEMES = frozenset({"http", "https"})


def is_web_url(text: str) -> bool:
    """True for an absolute ``http``/``https`` URL with a host and no whitespace or controls.

    Anything else (``javascript:``, ``data:``, ``file:``, ``//host``, a relative path) is shown
    as text, never followed or linked: a record's owner must not run script in, or read files
    through, the browser of whoever scans the code.
    """
    if not text.isprintable() or any(char.isspace() for char in text):
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in _WEB_SCHEMES and bool(host)


def redirect_target(record: Record) -> str | None:
    """The first public ``URL`` value of ``record`` that is a web address."""
    for value in record.values:
        if (
            value.type == "URL"
            and value.permissions.public_read
            and value.format == "string"
            and is_web_url(value.value)
        ):
            return value.value
    return None
