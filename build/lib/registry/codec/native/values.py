"""Handle values as they travel: ``Encoder.encodeHandleValue`` and its decoder.

A value on the wire is int4 index, int4 timestamp, then what ``registry.codec.binary``
encodes for signature digests (ttl type, ttl, permissions, type, data, references).
"""

from __future__ import annotations

import base64
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime
from time import strptime

from ..._values import HandleValue, Permissions
from ..binary import value_body
from .codes import MAX_ARRAY_SIZE, MAX_VALUES
from .wire import ProtocolError, Reader, int4, sized

__all__ = [
    "ADMIN_READ",
    "ADMIN_WRITE",
    "PUBLIC_READ",
    "PUBLIC_WRITE",
    "WireValue",
    "decode_value",
    "decode_values",
    "encode_value",
    "to_handle_value",
]

ADMIN_READ, ADMIN_WRITE, PUBLIC_READ, PUBLIC_WRITE = 0x8, 0x4, 0x2, 0x1
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class WireValue:
    """One value in Handle's binary form, fields as they travel."""

    index: int
    type: bytes
    data: bytes
    timestamp: int = 0
    ttl_type: int = 0
    ttl: int = 86400
    permissions: int = ADMIN_READ | ADMIN_WRITE | PUBLIC_READ
    references: tuple[tuple[bytes, int], ...] = ()

    @property
    def public(self) -> bool:
        return bool(self.permissions & PUBLIC_READ)

    def encode(self) -> bytes:
        refs = b"".join(sized(handle) + int4(index) for handle, index in self.references)
        return b"".join(
            (
                int4(self.index),
                int4(self.timestamp),
                bytes((self.ttl_type & 0xFF,)),
                int4(self.ttl),
                bytes((self.permissions & 0xFF,)),
                sized(self.type),
                sized(self.data),
                int4(len(self.references)),
                refs,
            )
        )


def decode_value(reader: Reader) -> WireValue:
    """The value at the reader's position."""
    index = reader.sint4("value index")
    timestamp = reader.int4("value timestamp")
    ttl_type = reader.byte("value ttl type")
    ttl = reader.sint4("value ttl")
    permissions = reader.byte("value permissions")
    kind = reader.sized("value type")
    data = reader.sized("value data")
    count = reader.count("value references", min(MAX_ARRAY_SIZE, reader.remaining // 8))
    references = tuple(
        (reader.sized("reference handle"), reader.sint4("reference index")) for _ in range(count)
    )
    return WireValue(index, kind, data, timestamp, ttl_type, ttl, permissions, references)


def decode_values(reader: Reader) -> tuple[WireValue, ...]:
    """int4 count, then that many values."""
    count = reader.count("values", MAX_VALUES)
    return tuple(decode_value(reader) for _ in range(count))


def _epoch(timestamp: str | None) -> int:
    if not timestamp:
        return 0
    try:
        return timegm(strptime(timestamp, _TIMESTAMP_FORMAT))
    except ValueError:
        return 0


def encode_value(value: HandleValue) -> bytes:
    """A registry value as ``Encoder.encodeHandleValue`` writes it."""
    return int4(value.index) + int4(_epoch(value.timestamp)) + value_body(value)


def to_handle_value(value: WireValue) -> HandleValue:
    """A wire value as a registry value: its data as text when UTF-8, else base64.

    The typed forms (HS_ADMIN, HS_VLIST, HS_SITE, keys) are left to their own codecs.
    """
    try:
        kind = value.type.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"value {value.index} has a type that is not UTF-8") from exc
    try:
        fmt, text = "string", value.data.decode()
    except UnicodeDecodeError:
        fmt, text = "base64", base64.b64encode(value.data).decode()
    stamp = None
    if value.timestamp:
        stamp = datetime.fromtimestamp(value.timestamp, UTC).strftime(_TIMESTAMP_FORMAT)
    bits = value.permissions
    permissions = Permissions(
        bool(bits & ADMIN_READ),
        bool(bits & ADMIN_WRITE),
        bool(bits & PUBLIC_READ),
        bool(bits & PUBLIC_WRITE),
    )
    return HandleValue(value.index, kind, fmt, text, value.ttl, stamp, permissions)
