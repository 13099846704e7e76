"""A DNS query's header and question read by hand, and error responses written by hand.

``screen`` reads what the answer cache needs in about a microsecond and a half: the header, the
one question (uncompressed, as every client sends it) and an optional OPT record at the very
end. Anything else (compression in the question, several records, odd counts) returns ``None``
and goes through dnspython's full parser. ``error_response`` answers a query whose question
could be read with just a header, that question byte for byte and an OPT record when the query
had one: the RCODE says what was wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "EDNS_PAYLOAD",
    "Screened",
    "answer_from_cache",
    "cache_key",
    "error_response",
    "question_end",
    "screen",
]

EDNS_PAYLOAD = 1232  # RFC 9715 / DNS flag day 2020: no IP fragmentation
MIN_PAYLOAD = 512
_HEADER = struct.Struct("!HBBHHHH")
_OPT_FIXED = struct.Struct(
    "!BHHBBHH"
)  # root name, type, class=payload, ext rcode, version, flags, rdlen
QR, OPCODE_MASK, AA, TC, RD = 0x80, 0x78, 0x04, 0x02, 0x01
CD = 0x10
DO = 0x8000


@dataclass(frozen=True, slots=True)
class Screened:
    """A plain query: its cache key, where its question ends, and the size an answer may take."""

    key: bytes
    owner: bytes  # the lower-cased owner name in wire form (what invalidation looks up)
    question_end: int
    limit: int
    edns_version: int | None


def question_end(wire: bytes) -> tuple[int, int] | None:
    """(end of the name, end of the question) of an uncompressed first question, or ``None``."""
    offset, total = 12, 0
    size = len(wire)
    while True:
        if offset >= size:
            return None
        length = wire[offset]
        if length == 0:
            break
        if length > 63:
            return None
        offset += length + 1
        total += length + 1
        if total > 254:
            return None
    name_end = offset + 1
    if name_end + 4 > size:
        return None
    return name_end, name_end + 4


def cache_key(wire: bytes) -> bytes | None:
    """The ready-answer cache's key for ``wire``: all but the id, the header and name lower-cased.

    Cheap (no label walk): the name is taken to end at the first zero byte. The key is only
    ever *stored* for a query ``screen`` read in full, whose name really ends there; a packet
    with the same key is then the same query but for its id, its name's case and its EDNS
    options (left out: a cookie would make every key unique; the answer does not depend on
    them). Lower-casing the header is harmless: no header byte of a plain query lies in the
    range lower-casing writes (0x61-0x7a), so none has another byte mapped onto it. The
    question ends 5 bytes after the name. UDP and TCP keep separate caches.
    """
    end = wire.find(0, 12)
    if end < 0:
        return None
    rest = len(wire) - end - 5
    if rest == 0:
        return wire[2:end].lower() + wire[end:]
    if (
        rest >= 11
        and wire[end + 5] == 0
        and wire[end + 6] == 0
        and wire[end + 7] == 41
        and rest == 11 + (wire[end + 14] << 8 | wire[end + 15])
    ):
        # Up to the OPT record's flags: root, type, payload size, ext. RCODE, version, flags.
        return wire[2:end].lower() + wire[end : end + 14]
    return None


def screen(wire: bytes, tcp: bool) -> Screened | None:
    """A cache key for a query the fast path can answer, or ``None`` for the full parser."""
    if len(wire) < 17:
        return None
    _id, flags1, flags2, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire)
    if flags1 & (QR | OPCODE_MASK | AA | TC) or flags2 & 0x4F or qdcount != 1 or ancount or nscount:
        return None
    ends = question_end(wire)
    if ends is None:
        return None
    name_end, end = ends
    edns_version: int | None = None
    if arcount == 0:
        if end != len(wire):
            return None
        limit = 65535 if tcp else MIN_PAYLOAD
    elif arcount == 1:
        if end + 11 > len(wire):
            return None
        root, rdtype, payload, _ext, version, _eflags, rdlen = _OPT_FIXED.unpack_from(wire, end)
        if root != 0 or rdtype != 41 or end + 11 + rdlen != len(wire) or version != 0:
            return None
        edns_version = version
        limit = 65535 if tcp else min(max(payload, MIN_PAYLOAD), EDNS_PAYLOAD)
    else:
        return None
    key = cache_key(wire)
    if key is None or wire.find(0, 12) != name_end - 1:
        return None
    owner = wire[12:name_end].lower()
    return Screened(key, owner, end, limit, edns_version)


def answer_from_cache(query: bytes, header: bytes, tail: bytes, question_end: int) -> bytes:
    """A cached answer (``header`` = its bytes 2-12, ``tail`` = after the question) for ``query``:
    the query's id and its question bytes, 0x20 case included."""
    return query[:2] + header + query[12:question_end] + tail


def error_response(wire: bytes, rcode: int) -> bytes | None:
    """A header-only answer with ``rcode`` (the question echoed when it could be read).

    ``None`` for what must not be answered: shorter than a header, or itself a response.
    """
    if len(wire) < 12:
        return None
    _id, flags1, flags2, qdcount, _an, _ns, arcount = _HEADER.unpack_from(wire)
    if flags1 & QR:
        return None
    question = b""
    opt = b""
    if qdcount == 1:
        ends = question_end(wire)
        if ends is not None:
            question = wire[12 : ends[1]]
            opt = _opt_for(wire, ends[1], arcount, rcode)
    extended, low = rcode >> 4, rcode & 0xF
    if extended and not opt:
        low = 2  # an extended RCODE needs an OPT record; SERVFAIL without one
    header = _HEADER.pack(
        _id,
        QR | (flags1 & (OPCODE_MASK | RD)),
        low | (flags2 & CD),
        1 if question else 0,
        0,
        0,
        1 if opt else 0,
    )
    return header + question + opt


def _opt_for(wire: bytes, end: int, arcount: int, rcode: int) -> bytes:
    if arcount != 1 or end + 11 > len(wire):
        return b""
    root, rdtype, _payload, _ext, _version, eflags, _rdlen = _OPT_FIXED.unpack_from(wire, end)
    if root != 0 or rdtype != 41:
        return b""
    return _OPT_FIXED.pack(0, 41, EDNS_PAYLOAD, rcode >> 4, 0, eflags & DO, 0)
