"""The bodies of administration (``Encoder.*HandleRequest``, ``*ValueRequest``, list handles).

CREATE (100), ADD_VALUE (102), MODIFY_VALUE (104): ``bytes`` handle, a 4-byte count, values.
DELETE (101): ``bytes`` handle (``bodies.decode_handle_request``). REMOVE_VALUE (103): ``bytes``
handle, ``int[]`` indexes. LIST_HANDLES (105): ``bytes`` prefix handle (``0.NA/<prefix>``);
each answer ``bytes[]`` handles, in messages of ``LIST_CHUNK`` with CONT on all but the last.
A CREATE answer may carry the handle created (``bytes``): how a MINT request learns its suffix.

Values sent to be stored become registry values: HS_ADMIN data our ``admin`` format, HS_VLIST
our ``vlist``, UTF-8 text ``string``, anything else ``base64``. Absolute TTLs and references have
no place in our values: refused (202) rather than silently changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..._errors import InvalidValue
from ..._values import HandleValue, parse_value
from .admin import decode_admin, decode_vlist, reader_of
from .bodies import check_handle
from .codes import MAX_HANDLE_LENGTH, ResponseCode
from .values import WireValue, decode_values, encode_value, to_handle_value
from .wire import ProtocolError, Reader, int4, int_array, sized, sized_array

__all__ = [
    "LIST_CHUNK",
    "RemoveValues",
    "ValuesRequest",
    "decode_create_response",
    "decode_list_response",
    "decode_remove_values",
    "decode_values_request",
    "encode_create_response",
    "encode_list_response",
    "encode_remove_values",
    "encode_values_request",
    "list_chunks",
    "stored_value",
]

LIST_CHUNK = 50


def _handle(reader: Reader) -> str:
    return check_handle(reader.sized("handle", MAX_HANDLE_LENGTH))


def stored_value(wire: WireValue) -> HandleValue:
    """A value a client sent, as the registry stores it; ``ProtocolError`` (202) if it cannot be."""
    where = f"value index {wire.index}"
    if wire.index <= 0:
        raise ProtocolError(f"{where}: indexes must be positive", ResponseCode.INVALID_VALUE)
    if wire.ttl_type != 0:
        raise ProtocolError(
            f"{where}: only relative TTLs (type 0) are kept; got TTL type {wire.ttl_type}",
            ResponseCode.INVALID_VALUE,
        )
    if wire.references:
        raise ProtocolError(
            f"{where}: value references are not supported", ResponseCode.INVALID_VALUE
        )
    try:
        value = to_handle_value(wire)
    except ProtocolError as exc:
        raise ProtocolError(exc.message, ResponseCode.INVALID_VALUE) from exc
    fmt, data = value.format, value.value
    if value.type == "HS_ADMIN":
        fmt, data = "admin", decode_admin(wire.data).to_stored()
    elif value.type == "HS_VLIST":
        refs = decode_vlist(wire.data)
        fmt, data = "vlist", [{"handle": ref.handle, "index": ref.index} for ref in refs]
    item = {
        "index": value.index,
        "type": value.type,
        "data": {"format": fmt, "value": data},
        "ttl": value.ttl,
        "permissions": str(value.permissions),
    }
    try:
        return parse_value(item)
    except InvalidValue as exc:
        raise ProtocolError(exc.message, ResponseCode.INVALID_VALUE) from exc


@dataclass(frozen=True, slots=True)
class ValuesRequest:
    """CREATE, ADD_VALUE or MODIFY_VALUE: a handle and values."""

    handle: str
    values: tuple[HandleValue, ...]


def decode_values_request(body: bytes | Reader) -> ValuesRequest:
    """Read a CREATE/ADD/MODIFY body; duplicate indexes are refused (201, as Handle.Net)."""
    reader = reader_of(body)
    handle = _handle(reader)
    values = tuple(stored_value(wire) for wire in decode_values(reader))
    seen: set[int] = set()
    for value in values:
        if value.index in seen:
            raise ProtocolError(
                f"index {value.index} appears more than once", ResponseCode.VALUE_ALREADY_EXISTS
            )
        seen.add(value.index)
    return ValuesRequest(handle, values)


def encode_values_request(request: ValuesRequest) -> bytes:
    encoded = b"".join(encode_value(v) for v in request.values)
    return sized(request.handle.encode()) + int4(len(request.values)) + encoded


@dataclass(frozen=True, slots=True)
class RemoveValues:
    handle: str
    indexes: tuple[int, ...]


def decode_remove_values(body: bytes | Reader) -> RemoveValues:
    reader = reader_of(body)
    handle = _handle(reader)
    return RemoveValues(handle, reader.int_array("indexes"))


def encode_remove_values(request: RemoveValues) -> bytes:
    return sized(request.handle.encode()) + int_array(request.indexes)


def encode_create_response(handle: str | None, digest: bytes = b"") -> bytes:
    """A CREATE answer's body: [digest], then the handle created, if any."""
    return digest + (b"" if handle is None else sized(handle.encode()))


def decode_create_response(reader: Reader) -> str | None:
    """The handle a CREATE answer names, or ``None`` (after the digest)."""
    if not reader.remaining:
        return None
    return _handle(reader)


def list_chunks(
    handles: Sequence[str], digest: bytes = b"", size: int = LIST_CHUNK
) -> Iterator[tuple[bytes, bool]]:
    """Each LIST_HANDLES answer body and whether more follow (CONT); one empty list if none."""
    if not handles:
        yield encode_list_response((), digest), False
        return
    for start in range(0, len(handles), size):
        chunk = handles[start : start + size]
        yield encode_list_response(chunk, digest), start + size < len(handles)


def encode_list_response(handles: Sequence[str], digest: bytes = b"") -> bytes:
    return digest + sized_array([handle.encode() for handle in handles])


def decode_list_response(reader: Reader) -> tuple[str, ...]:
    return tuple(check_handle(raw) for raw in reader.sized_array("handles"))
