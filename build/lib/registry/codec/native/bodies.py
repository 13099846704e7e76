"""Message bodies, one encoder and one decoder per kind: resolution, errors, site info.

Response encoders take the request digest prefix (``message.digest_prefix``; empty when the
request did not set RRDG) and put it first, as every Handle.Net response body does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .codes import MAX_HANDLE_LENGTH
from .site import SiteInfo, decode_site
from .values import WireValue, decode_values
from .wire import ProtocolError, Reader, int4, int_array, sized, sized_array

__all__ = [
    "Resolution",
    "ResolutionRequest",
    "check_handle",
    "decode_error",
    "decode_handle_request",
    "decode_resolution",
    "decode_resolution_request",
    "decode_site_response",
    "encode_error",
    "encode_handle_request",
    "encode_resolution",
    "encode_resolution_request",
    "encode_site_response",
    "index_or_type_match",
]


@dataclass(frozen=True, slots=True)
class ResolutionRequest:
    """A handle and the indexes and types wanted (none of either: all values)."""

    handle: bytes
    indexes: tuple[int, ...] = ()
    types: tuple[bytes, ...] = ()


def encode_resolution_request(request: ResolutionRequest) -> bytes:
    return sized(request.handle) + int_array(request.indexes) + sized_array(request.types)


def _handle(reader: Reader) -> bytes:
    return reader.sized("handle", MAX_HANDLE_LENGTH)


def decode_resolution_request(reader: Reader) -> ResolutionRequest:
    """Handle, indexes and types; bytes after them are left alone (id-pointer-sdk adds some)."""
    handle = _handle(reader)
    indexes = reader.int_array("requested indexes")
    types = reader.sized_array("requested types")
    return ResolutionRequest(handle, indexes, types)


@dataclass(frozen=True, slots=True)
class Resolution:
    """A successful resolution's handle and values."""

    handle: bytes
    values: tuple[WireValue, ...]


def encode_resolution(handle: bytes, values: Sequence[bytes], digest: bytes = b"") -> bytes:
    """[digest], ``bytes`` handle, int4 count, the values already encoded."""
    return b"".join((digest, sized(handle), int4(len(values)), *values))


def decode_resolution(reader: Reader) -> Resolution:
    handle = _handle(reader)
    values = decode_values(reader)
    reader.done("the resolution's values")
    return Resolution(handle, values)


def encode_error(message: str | bytes, digest: bytes = b"") -> bytes:
    """[digest], ``bytes`` message: the body of every error response but 402 and referrals."""
    raw = message.encode() if isinstance(message, str) else message
    return digest + sized(raw)


def decode_error(reader: Reader) -> str:
    """The error message of an error response (empty when there is none)."""
    if reader.remaining == 0:
        return ""
    return reader.sized("error message").decode(errors="replace")


def encode_handle_request(handle: bytes) -> bytes:
    """A body that is one handle: GET_SITE_INFO ("/"), DELETE_HANDLE, LIST_HANDLES."""
    return sized(handle)


def decode_handle_request(reader: Reader) -> bytes:
    return _handle(reader)


def encode_site_response(site: SiteInfo | bytes, digest: bytes = b"") -> bytes:
    """[digest] and the site's HS_SITE data."""
    return digest + (site if isinstance(site, bytes) else site.encode())


def decode_site_response(reader: Reader) -> SiteInfo:
    return decode_site(reader.raw(reader.remaining, "site"))


def index_or_type_match(
    value_index: int, value_type: bytes, indexes: Iterable[int], types: Iterable[bytes]
) -> bool:
    """Handle.Net's filter: no filter, a listed index, or a listed type.

    Types compare case-insensitively; ``X.`` matches ``X`` and every ``X.*`` type.
    """
    indexes = tuple(indexes)
    types = tuple(types)
    if not indexes and not types:
        return True
    if value_index in indexes:
        return True
    folded = value_type.lower()
    for wanted in types:
        wanted = wanted.lower()
        if folded == wanted or (
            wanted.endswith(b".") and (folded.startswith(wanted) or folded == wanted[:-1])
        ):
            return True
    return False


def check_handle(handle: bytes) -> str:
    """The handle as text; ``ProtocolError`` (102 invalid handle) when it is not UTF-8."""
    try:
        return handle.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError("handle is not valid UTF-8", 102) from exc
