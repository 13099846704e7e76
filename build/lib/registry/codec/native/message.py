"""A message: the 24-byte header, the body, the credential section, and the request digest.

``decode_message`` keeps the header and body exactly as received (``signed``): a response's
request digest covers those bytes, never a re-encoding of them.
"""

from __future__ import annotations

import hashlib
import struct
import time
from dataclasses import dataclass, field

from .codes import HEADER_SIZE, HashCode, OpFlag, ResponseCode
from .wire import ProtocolError, Reader, int4

__all__ = [
    "DEFAULT_LIFETIME",
    "Header",
    "Message",
    "decode_message",
    "digest_prefix",
    "digest_prefix_of",
    "encode_message",
    "expiry",
    "split_digest",
]

_HEADER = struct.Struct(">IIIhBBII")
_NO_CREDENTIAL = b"\x00\x00\x00\x00"
# How long an answer stays valid for the client (clients send now + 12 h too).
DEFAULT_LIFETIME = 12 * 3600


@dataclass(frozen=True, slots=True)
class Header:
    """The fixed part of a message."""

    opcode: int
    response_code: int = ResponseCode.RESERVED
    flags: int = 0
    site_serial: int = -1
    recursion: int = 0
    expiration: int = 0
    body_length: int = 0

    def has(self, flag: OpFlag) -> bool:
        return bool(self.flags & flag)

    def encode(self, body_length: int) -> bytes:
        return _HEADER.pack(
            self.opcode & 0xFFFFFFFF,
            self.response_code & 0xFFFFFFFF,
            self.flags & 0xFFFFFFFF,
            self.site_serial,
            self.recursion & 0xFF,
            0,
            self.expiration & 0xFFFFFFFF,
            body_length,
        )


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded message; ``signed`` is its header and body as received."""

    header: Header
    body: bytes
    credential: bytes = b""
    signed: bytes = field(default=b"", repr=False)

    @property
    def opcode(self) -> int:
        return self.header.opcode

    @property
    def is_request(self) -> bool:
        return self.header.response_code == ResponseCode.RESERVED


def decode_message(data: bytes) -> Message:
    """Header, body and credential of ``data`` (one whole message); ``ProtocolError`` otherwise."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"message header is {HEADER_SIZE} bytes; got {len(data)}")
    opcode, code, flags, serial, recursion, _, expiration, body_length = _HEADER.unpack_from(data)
    end = HEADER_SIZE + body_length
    if end > len(data):
        raise ProtocolError(
            f"body length {body_length} runs past the message ({len(data) - HEADER_SIZE} bytes)"
        )
    credential = b""
    if end < len(data):
        # A credential section: a length and the credential (clients send a length of 0).
        reader = Reader(data, end)
        credential = reader.sized("credential")
        reader.done("the credential")
    header = Header(opcode, code, flags, serial, recursion, expiration, body_length)
    return Message(header, bytes(data[HEADER_SIZE:end]), credential, bytes(data[:end]))


def encode_message(header: Header, body: bytes, credential: bytes = b"") -> bytes:
    """Header (with the body's length), body and credential section."""
    section = int4(len(credential)) + credential if credential else _NO_CREDENTIAL
    return header.encode(len(body)) + body + section


def digest_prefix(request: Message, version: tuple[int, int]) -> bytes:
    """``digest_prefix_of`` the request's header and body as received."""
    return digest_prefix_of(request.signed, version)


def digest_prefix_of(signed: bytes, version: tuple[int, int]) -> bytes:
    """The request digest a response at ``version`` starts with when the request set RRDG.

    SHA-256 from 2.7 on, SHA-1 from 2.1, before that the old length-prefixed MD5
    (``AbstractResponse.takeDigestOfRequest``).
    """
    if version >= (2, 7):
        return bytes((HashCode.SHA256,)) + hashlib.sha256(signed).digest()
    if version >= (2, 1):
        return bytes((HashCode.SHA1,)) + hashlib.sha1(signed).digest()
    return int4(16) + hashlib.md5(signed).digest()


_DIGEST_SIZES = {HashCode.MD5: 16, HashCode.SHA1: 20, HashCode.SHA256: 32}


def split_digest(message: Message) -> tuple[bytes, Reader]:
    """A response's request digest (empty without RRDG) and a reader over the rest of its body."""
    reader = Reader(message.body)
    if not message.header.has(OpFlag.RRDG) or message.is_request:
        return b"", reader
    code = reader.byte("digest hash code")
    if code == HashCode.MD5_OLD_FORMAT:
        reader.offset -= 1
        digest = reader.sized("request digest", 64)
        return int4(len(digest)) + digest, reader
    size = _DIGEST_SIZES.get(code)  # type: ignore[call-overload]
    if size is None:
        raise ProtocolError(f"unknown request digest hash code {code}")
    return bytes((code,)) + reader.raw(size, "request digest"), reader


def expiry(now: float | None = None, lifetime: int = DEFAULT_LIFETIME) -> int:
    """An expiration ``lifetime`` seconds from ``now`` (Unix seconds)."""
    return int(time.time() if now is None else now) + lifetime
