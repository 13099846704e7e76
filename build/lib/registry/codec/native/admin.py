"""HS_ADMIN and HS_VLIST value data (``Encoder.encode/decodeAdminRecord``, ``…ValueReferenceList``).

HS_ADMIN: 2-byte permission mask, ``bytes`` admin handle, 4-byte admin index (an old form has two
more bytes at the end, accepted as Handle.Net does). HS_VLIST: a 4-byte count of (``bytes``
handle, 4-byte index) references. Our stored form keeps the mask as the 12-character bit string
Handle's JSON uses, most significant bit (list handles) first.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntFlag
from typing import Any

from .codes import ResponseCode
from .wire import ProtocolError, Reader, sized

__all__ = [
    "AdminPerm",
    "AdminRecord",
    "ValueRef",
    "decode_admin",
    "decode_vlist",
    "encode_admin",
    "encode_vlist",
    "reader_of",
]

_MAX_HANDLE_BYTES = 1024


def reader_of(data: bytes | Reader) -> Reader:
    """A reader over ``data`` (a body's bytes, or a reader already past its digest)."""
    return data if isinstance(data, Reader) else Reader(data)


class AdminPerm(IntFlag):
    """The permission bits of an HS_ADMIN value (``Encoder.PERM_*``)."""

    NONE = 0
    ADD_HANDLE = 0x1
    DELETE_HANDLE = 0x2
    ADD_NA = 0x4
    DELETE_NA = 0x8
    MODIFY_VALUE = 0x10
    REMOVE_VALUE = 0x20
    ADD_VALUE = 0x40
    MODIFY_ADMIN = 0x80
    REMOVE_ADMIN = 0x100
    ADD_ADMIN = 0x200
    READ_VALUE = 0x400
    LIST_HANDLES = 0x800

    @classmethod
    def from_bits(cls, text: str) -> AdminPerm:
        """From the stored bit string (``"011111110011"``, list handles first)."""
        return cls(int(text, 2) & 0xFFF)

    def bits(self) -> str:
        """The stored bit string: twelve characters, list handles first."""
        return format(int(self) & 0xFFF, "012b")


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A reference to one value of a handle: an identity ``index:handle`` (index 0: any)."""

    handle: str
    index: int

    def __str__(self) -> str:
        return f"{self.index}:{self.handle}"


@dataclass(frozen=True, slots=True)
class AdminRecord:
    """An HS_ADMIN value: who (``admin``) may do what (``perms``)."""

    perms: AdminPerm
    admin: ValueRef

    @classmethod
    def from_stored(cls, value: Mapping[str, Any]) -> AdminRecord:
        """From our stored ``admin`` data (``{handle, index, permissions}``)."""
        return cls(
            AdminPerm.from_bits(value.get("permissions", "011111110011")),
            ValueRef(value["handle"], value["index"]),
        )

    def to_stored(self) -> dict[str, Any]:
        return {
            "handle": self.admin.handle,
            "index": self.admin.index,
            "permissions": self.perms.bits(),
        }


def _handle(reader: Reader, what: str) -> str:
    raw = reader.sized(what, _MAX_HANDLE_BYTES)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} is not UTF-8", ResponseCode.INVALID_VALUE) from exc


def _invalid(exc: ProtocolError, kind: str) -> ProtocolError:
    return ProtocolError(f"{kind} data: {exc.message}", ResponseCode.INVALID_VALUE)


def decode_admin(data: bytes) -> AdminRecord:
    """Read HS_ADMIN data; a ``ProtocolError`` (code 202) names what is wrong."""
    reader = Reader(data)
    try:
        mask = reader.int2("permissions")
        handle = _handle(reader, "admin handle")
        index = reader.sint4("admin index")
        if reader.remaining != 2:  # the legacy form: two bytes more, ignored
            reader.done("HS_ADMIN")
    except ProtocolError as exc:
        raise _invalid(exc, "HS_ADMIN") from exc
    return AdminRecord(AdminPerm(mask & 0xFFF), ValueRef(handle, index))


def encode_admin(record: AdminRecord) -> bytes:
    return (
        struct.pack(">H", int(record.perms) & 0xFFF)
        + sized(record.admin.handle.encode())
        + struct.pack(">i", record.admin.index)
    )


def decode_vlist(data: bytes) -> tuple[ValueRef, ...]:
    """Read HS_VLIST data; a ``ProtocolError`` (code 202) names what is wrong."""
    reader = Reader(data)
    try:
        count = reader.count("HS_VLIST references", reader.remaining // 8)
        refs = tuple(
            ValueRef(_handle(reader, "reference handle"), reader.sint4("reference index"))
            for _ in range(count)
        )
        reader.done("HS_VLIST")
    except ProtocolError as exc:
        raise _invalid(exc, "HS_VLIST") from exc
    return refs


def encode_vlist(refs: Iterable[ValueRef]) -> bytes:
    items = list(refs)
    return struct.pack(">I", len(items)) + b"".join(
        sized(ref.handle.encode()) + struct.pack(">i", ref.index) for ref in items
    )
