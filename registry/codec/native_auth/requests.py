"""The bodies of administration (``Encoder.*HandleRequest``, ``*ValueRequest``, list handles).

CREATE (100), ADD_VALUE (102), MODIFY_VALUE (104): ``bytes`` handle, a 4-byte count, values.
DELETE (101): ``bytes`` handle. REMOVE_VALUE (103): ``bytes`` handle, ``int[]`` indexes.
LIST_HANDLES (105): ``bytes`` prefix handle (``0.NA/<prefix>``); each answer ``bytes[]``
handles, in messages of ``LIST_CHUNK`` with CONT on all but the last. A CREATE answer may carry
the handle created (``bytes``), which a MINT request needs to learn its new suffix.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..._values import HandleValue
from ..rest import ResponseCode
from ._wire import ProtocolError, Reader, int_array, sized, sized_array
from .values import encode_value, read_values

__all__ = [
    "LIST_CHUNK",
    "OP_ADD_VALUE",
    "OP_CREATE_HANDLE",
    "OP_DELETE_HANDLE",
    "OP_LIST_HANDLES",
    "OP_MODIFY_VALUE",
    "OP_REMOVE_VALUE",
    "HandleOnly",
    "RemoveValues",
    "ValuesRequest",
    "decode_create_response",
    "decode_handle_request",
    "decode_list_response",
    "decode_remove_values",
    "decode_values_request",
    "encode_create_response",
    "encode_handle_request",
    "encode_list_response",
    "encode_remove_values",
    "encode_values_request",
    "list_chunks",
]

OP_CREATE_HANDLE = 100
OP_DELETE_HANDLE = 101
OP_ADD_VALUE = 102
OP_REMOVE_VALUE = 103
OP_MODIFY_VALUE = 104
OP_LIST_HANDLES = 105
LIST_CHUNK = 50
_MAX_HANDLE = 1024


def _handle(reader: Reader) -> str:
    raw = reader.bytes_("handle", _MAX_HANDLE)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("handle is not UTF-8", ResponseCode.INVALID_HANDLE) from exc


@dataclass(frozen=True, slots=True)
class ValuesRequest:
    """CREATE, ADD_VALUE or MODIFY_VALUE: a handle and values."""

    handle: str
    values: tuple[HandleValue, ...]


def decode_values_request(body: bytes) -> ValuesRequest:
    """Read a CREATE/ADD/MODIFY body; duplicate indexes are refused (201, as Handle.Net)."""
    reader = Reader(body)
    handle = _handle(reader)
    values = read_values(reader)
    seen: set[int] = set()
    for value in values:
        if value.index in seen:
            raise ProtocolError(
                f"index {value.index} appears more than once",
                ResponseCode.VALUE_ALREADY_EXISTS,
                handle=handle,
            )
        seen.add(value.index)
    return ValuesRequest(handle, values)


def encode_values_request(request: ValuesRequest) -> bytes:
    count = struct.pack(">I", len(request.values))
    return sized(request.handle) + count + b"".join(encode_value(v) for v in request.values)


@dataclass(frozen=True, slots=True)
class HandleOnly:
    """DELETE or LIST_HANDLES: just a handle (for LIST_HANDLES, ``0.NA/<prefix>``)."""

    handle: str


def decode_handle_request(body: bytes) -> HandleOnly:
    return HandleOnly(_handle(Reader(body)))


def encode_handle_request(request: HandleOnly) -> bytes:
    return sized(request.handle)


@dataclass(frozen=True, slots=True)
class RemoveValues:
    handle: str
    indexes: tuple[int, ...]


def decode_remove_values(body: bytes) -> RemoveValues:
    reader = Reader(body)
    handle = _handle(reader)
    return RemoveValues(handle, reader.int_array("indexes"))


def encode_remove_values(request: RemoveValues) -> bytes:
    return sized(request.handle) + int_array(request.indexes)


def encode_create_response(handle: str | None) -> bytes:
    """A CREATE answer's body after the digest: the handle created, or nothing."""
    return b"" if handle is None else sized(handle)


def decode_create_response(body: bytes) -> str | None:
    if not body:
        return None
    reader = Reader(body)
    return _handle(reader)


def list_chunks(handles: Sequence[str], size: int = LIST_CHUNK) -> Iterator[tuple[bytes, bool]]:
    """Each LIST_HANDLES answer body and whether more follow (CONT); one empty body if none."""
    if not handles:
        yield encode_list_response(()), False
        return
    for start in range(0, len(handles), size):
        chunk = handles[start : start + size]
        yield encode_list_response(chunk), start + size < len(handles)


def encode_list_response(handles: Sequence[str]) -> bytes:
    return sized_array(handles)


def decode_list_response(body: bytes) -> tuple[str, ...]:
    reader = Reader(body)
    handles = reader.bytes_array("handles")
    try:
        return tuple(raw.decode("utf-8") for raw in handles)
    except UnicodeDecodeError as exc:
        raise ProtocolError("a listed handle is not UTF-8") from exc
