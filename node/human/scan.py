"""The identifier in what a person typed or a scanner read into the landing page's search box.

Rules, in order: an identifier as it is (``88.118.8/X``, or ``hdl:88.118.8/X``); a web address
whose path names one (``https://<any node or proxy>/88.118.8/X``, ``…/api/handles/88.118.8/X``,
``…?handle=88.118.8/X``). Anything else, a GS1 Digital Link (``https://id.gs1.org/01/…``)
included, maps to no identifier of this system and is refused with a clear message.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from registry import Handle, InvalidInput

__all__ = ["MAX_SCAN", "identifier_from"]

MAX_SCAN = 2048
_SCHEMES = ("hdl:", "handle:", "idis:")
_QUERY_NAMES = ("handle", "id", "identifier")


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
        candidates.append(unquote(path, errors="strict"))
    for candidate in candidates:
        try:
            return Handle.parse(candidate)
        except (InvalidInput, UnicodeDecodeError):
            continue
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
        found = _from_url(text)
        if found is None:
            raise InvalidInput("no rule maps this web address to an identifier")
        return found
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    return Handle.parse(text)
