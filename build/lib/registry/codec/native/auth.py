"""The bodies of authentication: the challenge (code 402), its answer (opcode 200), the
verification request other servers send (opcode 201) and the IDIS login (opcode 2001).

Bodies only, after any request digest (the message framing writes and reads that). Sources:
``Encoder.encodeChallenge``/``decodeChallengeAnswer``/``…VerifyAuthRequest``, and the IDIS
``MsgConverter.convertLoginIDSystemReqToBytes`` (``bytes`` handle, 4-byte index).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .admin import reader_of
from .codes import ResponseCode
from .wire import ProtocolError, Reader, sized

__all__ = [
    "NONCE_BYTES",
    "PUBLIC_KEY_AUTH",
    "SECRET_KEY_AUTH",
    "ChallengeAnswer",
    "LoginRequest",
    "VerifyRequest",
    "decode_challenge",
    "decode_challenge_answer",
    "decode_login",
    "decode_verify_request",
    "decode_verify_response",
    "encode_challenge",
    "encode_challenge_answer",
    "encode_login",
    "encode_verify_request",
    "encode_verify_response",
]

NONCE_BYTES = 16
SECRET_KEY_AUTH = "HS_SECKEY"
PUBLIC_KEY_AUTH = "HS_PUBKEY"
_AUTH_TYPES = (SECRET_KEY_AUTH, PUBLIC_KEY_AUTH)
_MAX_HANDLE = 1024
_MAX_NONCE = 256
_MAX_SIGNED = 8192
_DIGEST_SIZES = {1: 16, 2: 20, 3: 32}


def encode_challenge(nonce: bytes) -> bytes:
    """A challenge's body after the request digest: ``bytes`` nonce."""
    return sized(nonce)


def decode_challenge(body: bytes | Reader) -> bytes:
    """The nonce of a challenge body (after its request digest)."""
    reader = reader_of(body)
    return reader.sized("challenge nonce", _MAX_NONCE)


@dataclass(frozen=True, slots=True)
class ChallengeAnswer:
    """Opcode 200: who answers (``index:handle``), how, and the signed or MACed response."""

    auth_type: str
    handle: str
    index: int
    signed: bytes


def _identity(reader: Reader, what: str) -> str:
    raw = reader.sized(what, _MAX_HANDLE)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} is not UTF-8", ResponseCode.INVALID_HANDLE) from exc


def decode_challenge_answer(body: bytes | Reader) -> ChallengeAnswer:
    """Read an answer; an unknown auth type is refused (code 404, invalid credential)."""
    reader = reader_of(body)
    raw_type = reader.sized("auth type", 64)
    handle = _identity(reader, "user id handle")
    index = reader.sint4("user id index")
    signed = reader.sized("signed response", _MAX_SIGNED)
    auth_type = raw_type.decode("latin-1")
    if auth_type not in _AUTH_TYPES:
        raise ProtocolError(
            f"auth type {auth_type!r} is not one of {', '.join(_AUTH_TYPES)}",
            ResponseCode.INVALID_CREDENTIAL,
        )
    if index < 0:
        raise ProtocolError(f"user id index {index} is negative", ResponseCode.INVALID_CREDENTIAL)
    return ChallengeAnswer(auth_type, handle, index, signed)


def encode_challenge_answer(answer: ChallengeAnswer) -> bytes:
    return (
        sized(answer.auth_type.encode())
        + sized(answer.handle.encode())
        + struct.pack(">i", answer.index)
        + sized(answer.signed)
    )


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """Opcode 201: does ``signed`` answer ``nonce`` and ``digest`` for secret key ``index:handle``?"""

    handle: str
    index: int
    nonce: bytes
    digest_alg: int
    digest: bytes
    signed: bytes


def decode_verify_request(body: bytes | Reader) -> VerifyRequest:
    reader = reader_of(body)
    handle = _identity(reader, "handle")
    index = reader.sint4("index")
    nonce = reader.sized("nonce", _MAX_NONCE)
    alg = reader.byte("request digest algorithm")
    if alg == 0:  # the old form: the byte read was the top of a 4-byte length
        reader.offset -= 1
        digest = reader.sized("request digest", 64)
    elif alg in _DIGEST_SIZES:
        digest = reader.raw(_DIGEST_SIZES[alg], "request digest")
    else:
        raise ProtocolError(f"request digest algorithm {alg} is unknown")
    signed = reader.sized("signed response", _MAX_SIGNED)
    return VerifyRequest(handle, index, nonce, alg, digest, signed)


def encode_verify_request(request: VerifyRequest) -> bytes:
    digest = (
        sized(request.digest)
        if request.digest_alg == 0
        else bytes([request.digest_alg]) + request.digest
    )
    return (
        sized(request.handle.encode())
        + struct.pack(">i", request.index)
        + sized(request.nonce)
        + digest
        + sized(request.signed)
    )


def encode_verify_response(valid: bool) -> bytes:
    return b"\x01" if valid else b"\x00"


def decode_verify_response(body: bytes | Reader) -> bool:
    return bool(reader_of(body).byte("verification result") & 0x01)


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """IDIS opcode 2001: the identity a TCP connection logs in as."""

    handle: str
    index: int


def decode_login(body: bytes | Reader) -> LoginRequest:
    """Read a login body; trailing bytes are tolerated (the SDKs add fields we ignore)."""
    reader = reader_of(body)
    handle = _identity(reader, "login handle")
    index = reader.sint4("login index")
    if index < 0:
        raise ProtocolError(f"login index {index} is negative", ResponseCode.INVALID_CREDENTIAL)
    return LoginRequest(handle, index)


def encode_login(request: LoginRequest) -> bytes:
    return sized(request.handle.encode()) + struct.pack(">i", request.index)
