"""The identifier in what a person typed or a scanner read into the landing page's search box.

Rules, in order: an identifier as it is (``88.118.8/X``, or ``hdl:88.118.8/X``); a web address
whose path names one with a prefix of two segments or more, as every IDIS prefix has
(``https://<any node or proxy>/88.118.8/X``, ``…/api/handles/88.118.8/X``,
``…?handle=88.118.8/X``). A GS1 Digital Link (``https://id.gs1.org/01/<GTIN>/…``) is recognised
and refused by name: no rule here maps GS1 keys to identifiers. Anything else is refused too.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qs, unquote, urlsplit

from registry import Handle, InvalidInput

__all__ = ["MAX_SCAN", "identifier_from"]

MAX_SCAN = 2048
_SCHEMES = ("hdl:", "handle:", "idis:")
_QUERY_NAMES = ("handle", "id", "identifier")
# A GS1 Digital Link's primary key: an application identifier and its digits (GTIN, SSCC, …).
_GS1_PATH = re.compile(
    r"(?:^|/)(?:01|00|253|255|401|402|414|417|8003|8004|8006|8010|8013|8017|8018)/\d{4,30}(?:/|$)"
)


def _from_url(text: str) -> Handle | None:
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    query = parse_qs(parts.query)
    candidates = [value for name in _QUERY_NAMES for value in query.get(name, ())]
    path = parts.path.lstrip("/")
    if path.startswith("api/handles/"):
        path = path[len("api/handles/") :]
    if path:
        with contextlib.suppress(UnicodeDecodeError):
            candidates.append(unquote(path, errors="strict"))
    for candidate in candidates:
        try:
            handle = Handle.parse(candidate)
        except InvalidInput:
            continue
        if len(handle.prefix.segments) >= 2:
            return handle
    return None


def identifier_from(text: str) -> Handle:
    """The identifier ``text`` names; ``InvalidInput`` saying why when it names none."""
    text = text.strip()
    if not text:
        raise InvalidInput("enter an identifier")
    if len(text) > MAX_SCAN:
        raise InvalidInput(f"the text is longer than {MAX_SCAN} characters")
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        if _GS1_PATH.search(text.split("?", 1)[0]):
            raise InvalidInput(
                "this is a GS1 Digital Link; no rule on this node maps GS1 keys to identifiers"
            )
        found = _from_url(text)
        if found is None:
            raise InvalidInput("no rule maps this web address to an identifier")
        return found
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    return Handle.parse(text)
