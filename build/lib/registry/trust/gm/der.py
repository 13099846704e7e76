"""Just enough strict DER for SM2 keys: tag-length-value reading and writing, no I/O.

Definite, minimal lengths only; anything else (indefinite lengths, long forms that could be
short, trailing bytes) is refused with ``DERError`` naming the problem.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = [
    "BIT_STRING",
    "INTEGER",
    "NULL",
    "OCTET_STRING",
    "OID",
    "SEQUENCE",
    "DERError",
    "decode_oid",
    "encode",
    "encode_int",
    "encode_oid",
    "read_int",
    "read_one",
    "read_sequence",
]

INTEGER, BIT_STRING, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x03, 0x04, 0x05, 0x06, 0x30
_MAX_LENGTH = 1 << 16


class DERError(ValueError):
    """Bytes that are not the strict DER expected."""


def _length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode(tag: int, content: bytes) -> bytes:
    """One TLV."""
    return bytes([tag]) + _length(len(content)) + content


def encode_int(value: int) -> bytes:
    """A non-negative INTEGER."""
    if value < 0:
        raise ValueError("only non-negative integers are encoded")
    return encode(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def encode_oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return encode(OID, bytes(body))


def decode_oid(content: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's content."""
    if not content or content[-1] & 0x80:
        raise DERError("a truncated object identifier")
    arcs: list[int] = []
    value = 0
    for byte in content:
        if value == 0 and byte == 0x80:
            raise DERError("an object identifier arc with a leading zero")
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def read_one(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """``(tag, content, next offset)`` of the TLV at ``offset``."""
    if offset + 2 > len(data):
        raise DERError("truncated: a tag and length were expected")
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 3 or offset + count > len(data):
            raise DERError("an indefinite, oversized or truncated length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
        if length < 0x80 or length.bit_length() <= 8 * (count - 1):
            raise DERError("a length not in its shortest form")
    if length > _MAX_LENGTH or offset + length > len(data):
        raise DERError(f"truncated: {length} bytes of content announced, {len(data) - offset} left")
    return tag, data[offset : offset + length], offset + length


def read_sequence(data: bytes, *, whole: bool = True) -> list[tuple[int, bytes]]:
    """The ``(tag, content)`` items of the SEQUENCE ``data`` (all of it when ``whole``)."""
    tag, content, end = read_one(data)
    if tag != SEQUENCE:
        raise DERError(f"a SEQUENCE was expected, found tag 0x{tag:02x}")
    if whole and end != len(data):
        raise DERError(f"{len(data) - end} bytes after the end of the structure")
    return list(_items(content))


def _items(content: bytes) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while offset < len(content):
        tag, item, offset = read_one(content, offset)
        yield tag, item


def read_int(tag: int, content: bytes) -> int:
    """The non-negative INTEGER ``content``; ``DERError`` when it is not one, minimally encoded."""
    if tag != INTEGER:
        raise DERError(f"an INTEGER was expected, found tag 0x{tag:02x}")
    if not content:
        raise DERError("an empty INTEGER")
    if content[0] & 0x80:
        raise DERError("a negative INTEGER")
    if len(content) > 1 and content[0] == 0 and not content[1] & 0x80:
        raise DERError("an INTEGER not in its shortest form")
    return int.from_bytes(content, "big")
