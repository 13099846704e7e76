"""HS_SECKEY and HS_PUBKEY: the key data, and the signed responses that prove holding a key.

Secret keys (``SecretKeyAuthenticationInfo``, ``Util.doMac``): the answer to a challenge is one
algorithm byte and a MAC over ``nonce ‖ request digest`` — 0x22 PBKDF2-HMAC-SHA1 (protocol ≥ 2.7,
with the client's salt, iterations and key length), 0x12/0x13 HMAC-SHA1/SHA-256, 0x03/0x02/0x01
SHA-256/SHA-1/MD5 of ``key ‖ data ‖ key``; before 2.1 a bare MD5 with no algorithm byte. The
key is the HS_SECKEY value's data: the secret itself, or its "hashed" form (lower-case hex of its
SHA-1, ``Encoder.encodeSecretKey``) when the client was told to hash it.

Public keys (``Util.getPublicKeyFromBytes``): ``bytes`` key type, 2 reserved bytes, then for
``RSA_PUB_KEY`` exponent and modulus, for ``DSA_PUB_KEY`` q, p, g, y (each ``bytes``, a
big-endian two's-complement integer), for IDIS ``SM2_PUB_KEY`` one ``bytes`` holding a
SubjectPublicKeyInfo as DER or PEM text. The answer is ``bytes`` hash algorithm id + ``bytes``
signature. Only parsing here: checking a MAC or a signature is ``registry``'s native auth.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from enum import IntEnum

from .admin import reader_of
from .codes import ResponseCode
from .wire import ProtocolError, Reader, sized

__all__ = [
    "MAX_PBKDF2_ITERATIONS",
    "DsaKey",
    "MacAlg",
    "PublicAnswer",
    "PublicKeyBlob",
    "RsaKey",
    "SecretAnswer",
    "Sm2Key",
    "decode_public_answer",
    "decode_public_key",
    "decode_secret_answer",
    "encode_public_answer",
    "encode_public_key",
    "encode_secret_answer",
    "hashed_secret",
]

# A client picks the PBKDF2 work; Handle.Net uses 10,000. Far more only costs the node CPU.
MAX_PBKDF2_ITERATIONS = 100_000
_MAX_SALT = 256
_MAX_MAC = 512
_MAX_INTEGER_BYTES = 2048  # 16,384-bit integers
_MAX_SIGNATURE = 4096
_MAX_KEY_TYPE = 64
RSA_TYPE, DSA_TYPE, SM2_TYPE = "RSA_PUB_KEY", "DSA_PUB_KEY", "SM2_PUB_KEY"


class MacAlg(IntEnum):
    """The first byte of a secret-key answer (``Common.HASH_CODE_*``)."""

    MD5_OLD_FORMAT = 0x00
    MD5 = 0x01
    SHA1 = 0x02
    SHA256 = 0x03
    HMAC_SHA1 = 0x12
    HMAC_SHA256 = 0x13
    PBKDF2_HMAC_SHA1 = 0x22


@dataclass(frozen=True, slots=True)
class SecretAnswer:
    """A secret-key answer: the MAC and, for PBKDF2, the client's parameters."""

    alg: MacAlg
    mac: bytes
    salt: bytes = b""
    iterations: int = 0
    key_bits: int = 0


def hashed_secret(secret: bytes) -> bytes:
    """The "hashed" form of a secret key: lower-case hex of its SHA-1 (as clients send it)."""
    return hashlib.sha1(secret).hexdigest().encode()


def decode_secret_answer(signed: bytes, *, old_format: bool = False) -> SecretAnswer:
    """Read a secret-key answer; ``old_format`` is a message below version 2.1 (bare MD5)."""
    if old_format:
        return SecretAnswer(MacAlg.MD5_OLD_FORMAT, bytes(signed))
    reader = Reader(signed)
    code = reader.byte("secret-key answer algorithm")
    try:
        alg = MacAlg(code)
    except ValueError as exc:
        raise ProtocolError(
            f"secret-key answer: unknown MAC algorithm 0x{code:02x}",
            ResponseCode.AUTHENTICATION_FAILED,
        ) from exc
    if alg is not MacAlg.PBKDF2_HMAC_SHA1:
        return SecretAnswer(alg, reader.raw(reader.remaining, "MAC"))
    salt = reader.sized("PBKDF2 salt", _MAX_SALT)
    iterations = reader.sint4("PBKDF2 iterations")
    key_bits = reader.sint4("PBKDF2 key length")
    mac = reader.sized("PBKDF2 MAC", _MAX_MAC)
    reader.done("secret-key answer")
    if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
        raise ProtocolError(
            f"secret-key answer: {iterations} PBKDF2 iterations is outside"
            f" 1..{MAX_PBKDF2_ITERATIONS}",
            ResponseCode.AUTHENTICATION_FAILED,
        )
    if not 8 <= key_bits <= 4096 or key_bits % 8:
        raise ProtocolError(
            f"secret-key answer: PBKDF2 key length {key_bits} bits is not a whole number of"
            " bytes from 8 to 4096 bits",
            ResponseCode.AUTHENTICATION_FAILED,
        )
    return SecretAnswer(alg, mac, salt, iterations, key_bits)


def encode_secret_answer(answer: SecretAnswer) -> bytes:
    if answer.alg is MacAlg.MD5_OLD_FORMAT:
        return answer.mac
    if answer.alg is not MacAlg.PBKDF2_HMAC_SHA1:
        return bytes([answer.alg]) + answer.mac
    return (
        bytes([answer.alg])
        + sized(answer.salt)
        + struct.pack(">ii", answer.iterations, answer.key_bits)
        + sized(answer.mac)
    )


@dataclass(frozen=True, slots=True)
class RsaKey:
    e: int
    n: int


@dataclass(frozen=True, slots=True)
class DsaKey:
    p: int
    q: int
    g: int
    y: int


@dataclass(frozen=True, slots=True)
class Sm2Key:
    """An IDIS SM2 key: SubjectPublicKeyInfo, DER (or the PEM text the Java SDK writes)."""

    spki: bytes


PublicKeyBlob = RsaKey | DsaKey | Sm2Key


def _integer(reader: Reader, what: str) -> int:
    raw = reader.sized(what, _MAX_INTEGER_BYTES)
    if not raw:
        raise ProtocolError(f"{what} is empty", ResponseCode.INVALID_VALUE)
    # Java's BigInteger(1, bytes): the magnitude, whatever the sign bit says.
    return int.from_bytes(raw, "big")


def _twos(number: int) -> bytes:
    # BigInteger.toByteArray of a positive number: minimal, with a 0 byte if the top bit is set.
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def decode_public_key(data: bytes) -> PublicKeyBlob:
    """Read HS_PUBKEY data; a ``ProtocolError`` (202) names an unknown type or a bad blob."""
    reader = Reader(data)
    try:
        kind = reader.sized("public key type", _MAX_KEY_TYPE).decode("latin-1")
        reader.int2("public key flags")
        if kind == RSA_TYPE:
            e = _integer(reader, "RSA exponent")
            n = _integer(reader, "RSA modulus")
            reader.done("RSA public key")
            return RsaKey(e, n)
        if kind == DSA_TYPE:
            q = _integer(reader, "DSA q")
            p = _integer(reader, "DSA p")
            g = _integer(reader, "DSA g")
            y = _integer(reader, "DSA y")
            reader.done("DSA public key")
            return DsaKey(p, q, g, y)
        if kind == SM2_TYPE:
            spki = reader.sized("SM2 key", 8192)
            reader.done("SM2 public key")
            return Sm2Key(spki)
    except ProtocolError as exc:
        raise ProtocolError(f"HS_PUBKEY data: {exc.message}", ResponseCode.INVALID_VALUE) from exc
    raise ProtocolError(
        f"HS_PUBKEY data: unknown public key type {kind!r}"
        f" (known: {RSA_TYPE}, {DSA_TYPE}, {SM2_TYPE})",
        ResponseCode.INVALID_VALUE,
    )


def encode_public_key(key: PublicKeyBlob) -> bytes:
    """HS_PUBKEY data as Handle.Net writes it (``Util.getBytesFromPublicKey``)."""
    flags = b"\x00\x00"
    if isinstance(key, RsaKey):
        return sized(RSA_TYPE.encode()) + flags + sized(_twos(key.e)) + sized(_twos(key.n))
    if isinstance(key, DsaKey):
        parts = (key.q, key.p, key.g, key.y)
        return sized(DSA_TYPE.encode()) + flags + b"".join(sized(_twos(part)) for part in parts)
    return sized(SM2_TYPE.encode()) + flags + sized(key.spki)


@dataclass(frozen=True, slots=True)
class PublicAnswer:
    """A public-key answer: the hash algorithm's id (``SHA256``, ``SHA1``, ``SM3``…) and signature."""

    hash_alg: str
    signature: bytes


_HASH_CODES = {0x01: "MD5", 0x02: "SHA1", 0x03: "SHA256"}


def decode_public_answer(signed: bytes | Reader) -> PublicAnswer:
    """Read a public-key answer; hash ids are normalised (``SHA-256`` → ``SHA256``)."""
    reader = reader_of(signed)
    raw = reader.sized("signature hash algorithm", 32)
    signature = reader.sized("signature", _MAX_SIGNATURE)
    if len(raw) == 1 and raw[0] in _HASH_CODES:
        alg = _HASH_CODES[raw[0]]
    else:
        try:
            alg = raw.decode("ascii").upper().replace("-", "")
        except UnicodeDecodeError as exc:
            raise ProtocolError(
                "signature hash algorithm is not ASCII", ResponseCode.AUTHENTICATION_FAILED
            ) from exc
    return PublicAnswer(alg, signature)


def encode_public_answer(answer: PublicAnswer) -> bytes:
    return sized(answer.hash_alg.encode()) + sized(answer.signature)
