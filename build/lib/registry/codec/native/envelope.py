"""The 20-byte envelope in front of every message, and UDP's split into 492-byte chunks."""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from .codes import ENVELOPE_SIZE, MAX_MESSAGE_LENGTH, MAX_UDP_DATA, SERVER_VERSION, EnvelopeFlag
from .wire import ProtocolError

__all__ = ["Envelope", "chunk", "chunk_frame", "decode_envelope", "reply_version"]

_ENVELOPE = struct.Struct(">BBBBIIII")
_SUGGESTED_MAJOR = 0x03
_TRUNCATED = int(EnvelopeFlag.TRUNCATED)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Version, flags, ids and length of one message (or one datagram of it)."""

    major: int
    minor: int
    suggest_major: int
    suggest_minor: int
    session_id: int
    request_id: int
    message_id: int
    length: int
    flags: int = 0

    @property
    def truncated(self) -> bool:
        return bool(self.flags & _TRUNCATED)

    def encode(self) -> bytes:
        flags = (self.flags & 0xFC) | (self.suggest_major & _SUGGESTED_MAJOR)
        return _ENVELOPE.pack(
            self.major & 0xFF,
            self.minor & 0xFF,
            flags,
            self.suggest_minor & 0xFF,
            self.session_id & 0xFFFFFFFF,
            self.request_id & 0xFFFFFFFF,
            self.message_id & 0xFFFFFFFF,
            self.length & 0xFFFFFFFF,
        )


def decode_envelope(data: bytes, max_length: int = MAX_MESSAGE_LENGTH) -> Envelope:
    """The envelope at the start of ``data``; ``ProtocolError`` if short or its length is out of range."""
    if len(data) < ENVELOPE_SIZE:
        raise ProtocolError(f"envelope is {ENVELOPE_SIZE} bytes; got {len(data)}")
    major, minor, flags, suggest_minor, session, request, message_id, length = (
        _ENVELOPE.unpack_from(data)
    )
    suggest_major = flags & _SUGGESTED_MAJOR
    if suggest_major == 0:
        # An old client suggests nothing: its own version stands.
        suggest_major, suggest_minor = major, minor
    if length > max_length:
        raise ProtocolError(f"message length {length} is over the limit of {max_length} bytes")
    return Envelope(
        major,
        minor,
        suggest_major,
        suggest_minor,
        session,
        request,
        message_id,
        length,
        flags & 0xFC,
    )


def reply_version(request: Envelope) -> tuple[int, int]:
    """The version to answer at: the lower of what the client suggests and ours.

    A client suggesting a major version other than 2 is answered at ours.
    """
    if request.suggest_major != SERVER_VERSION[0]:
        return SERVER_VERSION
    return min((request.suggest_major, request.suggest_minor), SERVER_VERSION)


def chunk(envelope: Envelope, message: bytes, size: int = MAX_UDP_DATA) -> list[bytes]:
    """``message`` as datagrams: every chunk but the last exactly ``size`` bytes.

    Several chunks carry the truncated flag and their index as the message id.
    """
    envelope = replace(envelope, length=len(message))
    if len(message) <= size:
        return [replace(envelope, message_id=0).encode() + message]
    flags = envelope.flags | EnvelopeFlag.TRUNCATED
    return [
        replace(envelope, flags=flags, message_id=index).encode() + message[offset : offset + size]
        for index, offset in enumerate(range(0, len(message), size))
    ]


def chunk_frame(frame: bytes, size: int = MAX_UDP_DATA) -> list[bytes]:
    """``chunk`` for a whole frame (envelope and message) already encoded."""
    if len(frame) <= ENVELOPE_SIZE + size:
        return [frame]
    head = bytearray(frame[:ENVELOPE_SIZE])
    head[2] |= EnvelopeFlag.TRUNCATED
    chunks = []
    for index, offset in enumerate(range(ENVELOPE_SIZE, len(frame), size)):
        head[12:16] = index.to_bytes(4)
        chunks.append(bytes(head) + frame[offset : offset + size])
    return chunks
