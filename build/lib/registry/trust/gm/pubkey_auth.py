"""HS_PUBKEY challenge answers signed with SM2, as the IDIS SDK makes them (no I/O).

The SDK (``PublicKeyAuthenticationInfo.authenticate``, any EC key is SM2) signs
``SM3(nonce || request digest)`` with SM2, user id = the UTF-8 of the user's handle, DER, and
answers ``bytes("SM3") || bytes(signature)``. Its HS_PUBKEY data (``Util.getBytesFromPublicKey``)
is ``bytes("SM2_PUB_KEY")``, two flag bytes, then ``bytes`` of the key as X.509 PEM text (DER
and a bare point are accepted too).
"""

from __future__ import annotations

import struct

from .sm2 import SM2Error, SM2PublicKey, sm3

__all__ = ["SM2_KEY_TYPE", "SM3_HASH_ID", "pubkey_blob", "read_pubkey_blob", "verify_challenge"]

SM2_KEY_TYPE = b"SM2_PUB_KEY"
SM3_HASH_ID = b"SM3"
_INT = struct.Struct(">I")
_MAX_FIELD = 16 * 1024


def _read_bytes(data: bytes, offset: int, what: str) -> tuple[bytes, int]:
    if offset + 4 > len(data):
        raise SM2Error(f"truncated: the length of the {what} is missing")
    (length,) = _INT.unpack_from(data, offset)
    offset += 4
    if length > _MAX_FIELD or offset + length > len(data):
        raise SM2Error(f"truncated: the {what} announces {length} bytes, {len(data) - offset} left")
    return data[offset : offset + length], offset + length


def _sized(raw: bytes) -> bytes:
    return _INT.pack(len(raw)) + raw


def pubkey_blob(public: SM2PublicKey) -> bytes:
    """The IDIS SDK's HS_PUBKEY data for ``public``."""
    return _sized(SM2_KEY_TYPE) + b"\x00\x00" + _sized(public.pem())


def read_pubkey_blob(blob: bytes) -> SM2PublicKey:
    """The SM2 public key in HS_PUBKEY data; ``SM2Error`` naming what is wrong."""
    key_type, offset = _read_bytes(blob, 0, "key type")
    if key_type != SM2_KEY_TYPE:
        raise SM2Error(f"the HS_PUBKEY holds a {key_type[:32]!r} key, not SM2_PUB_KEY")
    if offset + 2 > len(blob):
        raise SM2Error("truncated: the HS_PUBKEY flags are missing")
    encoded, end = _read_bytes(blob, offset + 2, "SM2 key")
    if end != len(blob):
        raise SM2Error(f"{len(blob) - end} bytes after the SM2 key in the HS_PUBKEY")
    if encoded.lstrip().startswith(b"-----BEGIN"):
        return SM2PublicKey.from_pem(encoded)
    if encoded[:1] == b"\x30":
        return SM2PublicKey.from_spki(encoded)
    return SM2PublicKey.from_point(encoded)


def verify_challenge(
    public: SM2PublicKey | bytes,
    user_id_handle: bytes,
    nonce: bytes,
    request_digest: bytes,
    signed_response: bytes,
) -> None:
    """Return if ``signed_response`` answers the challenge for ``user_id_handle``; else SM2Error.

    ``public`` is the key or its HS_PUBKEY data; ``signed_response`` is the
    ``bytes(hash id) || bytes(signature)`` of the client's challenge answer.
    """
    key = public if isinstance(public, SM2PublicKey) else read_pubkey_blob(public)
    hash_id, offset = _read_bytes(signed_response, 0, "hash algorithm")
    if hash_id.upper() != SM3_HASH_ID:
        raise SM2Error(f"an SM2 challenge answer must use SM3, not {hash_id[:16]!r}")
    signature, end = _read_bytes(signed_response, offset, "signature")
    if end != len(signed_response):
        raise SM2Error(f"{len(signed_response) - end} bytes after the signature")
    key.verify(signature, sm3(nonce + request_digest), user_id_handle)
