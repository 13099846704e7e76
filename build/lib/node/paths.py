"""Handles named in a request path, decoded once, strictly, from the bytes the client sent.

The server hands the app a path it has already percent-decoded, replacing bytes that are not
UTF-8 with U+FFFD, and Starlette's ``path`` parameter stops at a newline (a trailing ``%0A``
vanished; one inside matched no route). Routes that take a handle use the ``handle_path``
parameter type, which matches any character, and read the handle from ``raw_path`` through
the grammar's one decoder, so every frontend sees the same identifier.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.types import Scope

from registry import Handle

__all__ = ["HANDLE_PATH", "path_text"]

HANDLE_PATH = "handle_path"


class _AnyCharacters(Convertor[str]):
    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Before any router that names the type is built (they import this module).
register_url_convertor(HANDLE_PATH, _AnyCharacters())


def path_text(scope: Scope, mount: str) -> str:
    """The path after ``mount``, percent-decoded once as UTF-8 (``InvalidIdentifier`` if not)."""
    raw: bytes | None = scope.get("raw_path")
    start = mount.encode()
    if raw is not None:
        raw = raw.partition(b"?")[0]
        if raw.startswith(start):
            return Handle.decode_url(raw[len(start) :])
    return scope["path"][len(mount) :]
