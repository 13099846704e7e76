"""Reading and writing Handle's binary primitives, with bounds, for the auth and admin bodies.

Big-endian integers; ``bytes`` is a 4-byte length and the bytes; ``int[]`` and ``bytes[]`` a
4-byte count and the items (``hdllib/Encoder``). Every read checks that the bytes are there, so
a length that lies is a ``ProtocolError`` naming the field, never an ``IndexError``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from ..._errors import InvalidInput
from ..rest import ResponseCode

__all__ = [
    "MAX_ARRAY",
    "ProtocolError",
    "Reader",
    "int_array",
    "sized",
    "sized_array",
]

# Encoder rejects arrays of more than this many entries (Common.MAX_ARRAY_SIZE).
MAX_ARRAY = 1_048_576
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")


class ProtocolError(InvalidInput):
    """A native-protocol body that cannot be read or is not allowed; ``code`` is the answer's."""

    def __init__(
        self,
        message: str,
        code: ResponseCode = ResponseCode.PROTOCOL_ERROR,
        *,
        handle: str | None = None,
    ) -> None:
        super().__init__(message, handle=handle)
        self.code = code


class Reader:
    """Reads primitives from ``data`` starting at ``pos``; ``end()`` refuses leftovers."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = bytes(data)
        self.pos = pos

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def _take(self, count: int, what: str) -> bytes:
        if count < 0 or count > self.remaining:
            raise ProtocolError(
                f"{what}: needs {count} bytes at offset {self.pos}, only {self.remaining} remain"
            )
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def u8(self, what: str) -> int:
        return self._take(1, what)[0]

    def u16(self, what: str) -> int:
        return _U16.unpack(self._take(2, what))[0]

    def u32(self, what: str) -> int:
        return _U32.unpack(self._take(4, what))[0]

    def i32(self, what: str) -> int:
        return _I32.unpack(self._take(4, what))[0]

    def bytes_(self, what: str, limit: int | None = None) -> bytes:
        length = self.i32(f"{what} length")
        if length < 0:
            raise ProtocolError(f"{what}: negative length {length}")
        if limit is not None and length > limit:
            raise ProtocolError(f"{what}: {length} bytes is more than the {limit} allowed")
        return self._take(length, what)

    def count(self, what: str, item_size: int) -> int:
        """An array's entry count, refused when negative, over ``MAX_ARRAY`` or past the end."""
        count = self.i32(f"{what} count")
        if not 0 <= count <= MAX_ARRAY:
            raise ProtocolError(f"{what}: count {count} is outside 0..{MAX_ARRAY}")
        if count * item_size > self.remaining:
            raise ProtocolError(
                f"{what}: {count} entries cannot fit in the {self.remaining} bytes left"
            )
        return count

    def int_array(self, what: str) -> tuple[int, ...]:
        return tuple(self.i32(what) for _ in range(self.count(what, 4)))

    def bytes_array(self, what: str) -> tuple[bytes, ...]:
        return tuple(self.bytes_(what) for _ in range(self.count(what, 4)))

    def text(self, what: str, limit: int | None = None) -> str:
        raw = self.bytes_(what, limit)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"{what} is not UTF-8") from exc

    def end(self, what: str) -> None:
        if self.remaining:
            raise ProtocolError(f"{what}: {self.remaining} unexpected bytes after the end")


def sized(raw: bytes | str) -> bytes:
    """``bytes``: a 4-byte length, then the bytes (strings as UTF-8)."""
    data = raw.encode() if isinstance(raw, str) else raw
    return _U32.pack(len(data)) + data


def sized_array(items: Iterable[bytes | str]) -> bytes:
    """``bytes[]``: a 4-byte count, then each item as ``bytes``."""
    parts = [sized(item) for item in items]
    return _U32.pack(len(parts)) + b"".join(parts)


def int_array(items: Iterable[int]) -> bytes:
    """``int[]``: a 4-byte count, then each (signed) 4-byte integer."""
    numbers = list(items)
    return _U32.pack(len(numbers)) + b"".join(_I32.pack(n) for n in numbers)
