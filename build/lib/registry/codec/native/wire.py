"""The primitives of Handle's binary encoding: big-endian integers, sized byte strings, arrays.

``Reader`` walks a byte string and raises ``ProtocolError`` on anything that does not fit (a
length past the end, a negative or oversized count), so no ``IndexError`` or ``struct.error``
escapes a decoder. Writers are plain functions returning bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from .codes import MAX_ARRAY_SIZE, ResponseCode

__all__ = [
    "ProtocolError",
    "Reader",
    "int2",
    "int4",
    "int_array",
    "sized",
    "sized_array",
]

_INT2 = struct.Struct(">H")
_INT4 = struct.Struct(">I")
_SINT4 = struct.Struct(">i")


class ProtocolError(Exception):
    """A message that cannot be decoded; ``code`` is the response code to answer with."""

    def __init__(self, message: str, code: int = ResponseCode.PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = int(code)


def int2(value: int) -> bytes:
    return _INT2.pack(value & 0xFFFF)


def int4(value: int) -> bytes:
    return _INT4.pack(value & 0xFFFFFFFF)


def sized(raw: bytes) -> bytes:
    """``bytes``: a 4-byte length, then the bytes."""
    return _INT4.pack(len(raw)) + raw


def sized_array(items: Sequence[bytes]) -> bytes:
    """``bytes[]``: a 4-byte count, then each item as ``bytes``."""
    return _INT4.pack(len(items)) + b"".join(_INT4.pack(len(item)) + item for item in items)


def int_array(items: Iterable[int]) -> bytes:
    """``int[]``: a 4-byte count, then each as a 4-byte integer."""
    values = list(items)
    return _INT4.pack(len(values)) + b"".join(_SINT4.pack(v) for v in values)


class Reader:
    """A cursor over ``data``; each read checks the bytes are there."""

    __slots__ = ("data", "end", "offset")

    def __init__(self, data: bytes, offset: int = 0, end: int | None = None) -> None:
        self.data = data
        self.offset = offset
        self.end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self.end - self.offset

    def _take(self, count: int, what: str) -> int:
        start = self.offset
        if count < 0 or start + count > self.end:
            raise ProtocolError(
                f"{what} needs {count} bytes at offset {start}; only {self.end - start} remain"
            )
        self.offset = start + count
        return start

    def byte(self, what: str = "byte") -> int:
        return self.data[self._take(1, what)]

    def int2(self, what: str = "int2") -> int:
        return _INT2.unpack_from(self.data, self._take(2, what))[0]

    def int4(self, what: str = "int4") -> int:
        return _INT4.unpack_from(self.data, self._take(4, what))[0]

    def sint4(self, what: str = "int4") -> int:
        return _SINT4.unpack_from(self.data, self._take(4, what))[0]

    def raw(self, count: int, what: str = "bytes") -> bytes:
        start = self._take(count, what)
        return bytes(self.data[start : start + count])

    def sized(self, what: str = "bytes", limit: int | None = None) -> bytes:
        length = self.int4(f"length of {what}")
        if limit is not None and length > limit:
            raise ProtocolError(f"{what} is {length} bytes long; at most {limit} are allowed")
        return self.raw(length, what)

    def count(self, what: str, limit: int = MAX_ARRAY_SIZE) -> int:
        count = self.int4(f"count of {what}")
        if count > limit:
            raise ProtocolError(f"{count} {what} announced; at most {limit} are allowed")
        return count

    def int_array(self, what: str = "integers") -> tuple[int, ...]:
        count = self.count(what, min(MAX_ARRAY_SIZE, self.remaining // 4))
        return tuple(self.sint4(what) for _ in range(count))

    def sized_array(self, what: str = "byte strings") -> tuple[bytes, ...]:
        count = self.count(what, min(MAX_ARRAY_SIZE, self.remaining // 4))
        return tuple(self.sized(what) for _ in range(count))

    def done(self, what: str) -> None:
        """Refuse bytes left over after ``what``."""
        if self.offset != self.end:
            raise ProtocolError(f"{self.end - self.offset} unexpected bytes after {what}")
