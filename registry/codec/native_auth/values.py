"""Handle values on the wire (``Encoder.encodeHandleValue``/``decodeHandleValue``), as requests
carry them and as our ``HandleValue`` stores them.

Wire: 4-byte index, 4-byte timestamp, 1-byte TTL type (0 relative, 1 absolute), 4-byte TTL,
1-byte permissions (0x8 admin read, 0x4 admin write, 0x2 public read, 0x1 public write),
``bytes`` type, ``bytes`` data, then a 4-byte count of (``bytes`` handle, 4-byte index)
references. Data becomes our ``admin`` (HS_ADMIN), ``vlist`` (HS_VLIST), ``string`` (UTF-8 text)
or ``base64`` (anything else) format. Absolute TTLs and references have no place in our values:
they are refused (code 202) rather than silently changed.
"""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime

from ..._errors import InvalidValue
from ..._values import HandleValue, parse_value
from ..binary import value_body
from ..rest import ResponseCode
from ._wire import ProtocolError, Reader
from .admin import decode_admin, decode_vlist

__all__ = ["decode_value", "encode_value", "read_values", "wire_timestamp"]

_MAX_TYPE = 1024
_MAX_DATA = 262_144
_PERMISSIONS = ("0", "1")


def wire_timestamp(stamp: str | None) -> int:
    """Seconds since 1970 of our ISO 8601 timestamp (0 when there is none)."""
    if not stamp:
        return 0
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return int(moment.timestamp())


def encode_value(value: HandleValue) -> bytes:
    """A value as ``Encoder.encodeHandleValue`` writes it."""
    return struct.pack(">iI", value.index, wire_timestamp(value.timestamp)) + value_body(value)


def _data(kind: str, raw: bytes) -> tuple[str, object]:
    if kind == "HS_ADMIN":
        return "admin", decode_admin(raw).to_stored()
    if kind == "HS_VLIST":
        refs = decode_vlist(raw)
        return "vlist", [{"handle": ref.handle, "index": ref.index} for ref in refs]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", base64.b64encode(raw).decode("ascii")
    return "string", text


def decode_value(reader: Reader) -> HandleValue:
    """One value from ``reader``; a ``ProtocolError`` (202 for a bad value) says what is wrong."""
    index = reader.i32("value index")
    reader.u32("value timestamp")  # the server stamps its own
    ttl_type = reader.u8("value TTL type")
    ttl = reader.i32("value TTL")
    mask = reader.u8("value permissions")
    kind_raw = reader.bytes_("value type", _MAX_TYPE)
    data = reader.bytes_("value data", _MAX_DATA)
    references = reader.count("value references", 8)
    for _ in range(references):
        reader.bytes_("reference handle", 1024)
        reader.i32("reference index")
    where = f"value index {index}"
    if index <= 0:
        raise ProtocolError(f"{where}: indexes must be positive", ResponseCode.INVALID_VALUE)
    if ttl_type != 0:
        raise ProtocolError(
            f"{where}: only relative TTLs (type 0) are kept; got TTL type {ttl_type}",
            ResponseCode.INVALID_VALUE,
        )
    if references:
        raise ProtocolError(
            f"{where}: value references are not supported", ResponseCode.INVALID_VALUE
        )
    try:
        kind = kind_raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{where}: type is not UTF-8", ResponseCode.INVALID_VALUE) from exc
    fmt, payload = _data(kind, data)
    permissions = "".join(_PERMISSIONS[bool(mask & bit)] for bit in (0x8, 0x4, 0x2, 0x1))
    item = {
        "index": index,
        "type": kind,
        "data": {"format": fmt, "value": payload},
        "ttl": ttl,
        "permissions": permissions,
    }
    try:
        return parse_value(item)
    except InvalidValue as exc:
        raise ProtocolError(exc.message, ResponseCode.INVALID_VALUE) from exc


def read_values(reader: Reader) -> tuple[HandleValue, ...]:
    """A 4-byte count, then that many values."""
    # The smallest value is 26 bytes (empty type and data, no references).
    count = reader.count("values", 26)
    return tuple(decode_value(reader) for _ in range(count))
