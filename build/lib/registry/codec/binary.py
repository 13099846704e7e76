"""Handle.Net's binary encoding of a value, and the SHA-256 (or SM3) digests signatures carry.

A signature's digest of a value covers Handle's ``Encoder.encodeHandleValue`` output after
its first eight bytes (index and timestamp): ttlType (1 byte), ttl (4), permissions (1),
type and data (each a 4-byte length and the bytes), references (a 4-byte count, then for
each a length-prefixed handle and a 4-byte index). All integers are big-endian.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes

from .._values import DEFAULT_TTL, HandleValue, Permissions

__all__ = [
    "DIGEST_ALG",
    "DIGEST_ALGS",
    "data_bytes",
    "digest_stored",
    "digest_stored_values",
    "digest_value",
    "digest_values",
    "value_body",
]

DIGEST_ALG = "SHA-256"
# SM3 (GB/T 32905) for China's commercial-cryptography profile.
SM3 = "SM3"
DIGEST_ALGS = (DIGEST_ALG, SM3)
# Handle's per-value permission bits (Encoder.PERM_ADMIN_READ ... PERM_PUBLIC_WRITE).
_ADMIN_READ, _ADMIN_WRITE, _PUBLIC_READ, _PUBLIC_WRITE = 0x8, 0x4, 0x2, 0x1
_TTL_RELATIVE = 0


def _sized(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def data_bytes(value: HandleValue) -> bytes:
    """The bytes Handle stores as a value's data, for each of our data formats."""
    fmt, data = value.format, value.value
    if fmt == "base64":
        return base64.b64decode(data)
    if fmt == "hex":
        return bytes.fromhex(data)
    if fmt == "admin":
        # Encoder.encodeAdminRecord: 2-byte permission mask, admin handle, admin index.
        mask = int(data["permissions"], 2)
        return (
            struct.pack(">H", mask)
            + _sized(data["handle"].encode())
            + struct.pack(">I", data["index"])
        )
    if fmt == "vlist":
        # Encoder.encodeValueReferenceList: a count, then (handle, index) pairs.
        parts = [struct.pack(">I", len(data))]
        for entry in data:
            parts.append(_sized(entry["handle"].encode()) + struct.pack(">I", entry["index"]))
        return b"".join(parts)
    if isinstance(data, str):
        return data.encode()
    # site and key objects have no Handle binary form here: their canonical JSON stands in.
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


_HEADER = struct.Struct(">BIBI")
_LENGTH = struct.Struct(">I")
_NO_REFERENCES = b"\x00\x00\x00\x00"


def _mask(permissions: Permissions) -> int:
    return (
        (_ADMIN_READ if permissions.admin_read else 0)
        | (_ADMIN_WRITE if permissions.admin_write else 0)
        | (_PUBLIC_READ if permissions.public_read else 0)
        | (_PUBLIC_WRITE if permissions.public_write else 0)
    )


def _body(kind: str, data: bytes, ttl: int, mask: int) -> bytes:
    kind_bytes = kind.encode()
    return b"".join(
        (
            _HEADER.pack(_TTL_RELATIVE, ttl, mask, len(kind_bytes)),
            kind_bytes,
            _LENGTH.pack(len(data)),
            data,
            _NO_REFERENCES,
        )
    )


def value_body(value: HandleValue) -> bytes:
    """``Encoder.encodeHandleValue(value)`` without its index and timestamp."""
    data = value.value.encode() if value.format == "string" else data_bytes(value)
    return _body(value.type, data, value.ttl, _mask(value.permissions))


def _sm3(body: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(body)
    return digest.finalize()


def _digest(body: bytes, alg: str = DIGEST_ALG) -> str:
    raw = hashlib.sha256(body).digest() if alg == DIGEST_ALG else _sm3(body)
    return binascii.b2a_base64(raw, newline=False).decode()


# A batch repeats the same short values (product name, batch number, template version) in
# every record; the digest skips index and timestamp, so it depends only on this key.
_DIGESTS: dict[tuple[object, ...], str] = {}
_DIGEST_CACHE_SIZE = 4096
_CACHED_DATA_LENGTH = 128


def _string_digest(kind: str, text: str, ttl: int, mask: int, alg: str = DIGEST_ALG) -> str:
    if len(text) > _CACHED_DATA_LENGTH:
        return _digest(_body(kind, text.encode(), ttl, mask), alg)
    key = (kind, text, ttl, mask, alg)
    digest = _DIGESTS.get(key)
    if digest is None:
        digest = _digest(_body(kind, text.encode(), ttl, mask), alg)
        if len(_DIGESTS) >= _DIGEST_CACHE_SIZE:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


def digest_value(value: HandleValue, alg: str = DIGEST_ALG) -> str:
    """The base64 digest (SHA-256 or SM3) of a value, as Handle's ``HandleValueDigester`` makes it."""
    if value.format != "string":
        return _digest(value_body(value), alg)
    return _string_digest(value.type, value.value, value.ttl, _mask(value.permissions), alg)


def digest_stored(stored: Mapping[str, Any], alg: str = DIGEST_ALG) -> str:
    """``digest_value`` of a value in its stored form (``HandleValue.to_storage``), unbuilt."""
    data = stored["data"]
    if data["format"] != "string":
        return digest_value(HandleValue.from_storage(stored), alg)
    text = stored.get("permissions", "1110")
    mask = _STORED_MASKS.get(text)
    if mask is None:
        mask = _STORED_MASKS[text] = _mask(Permissions.parse(text))
    return _string_digest(stored["type"], data["value"], stored.get("ttl", DEFAULT_TTL), mask, alg)


# The stored permissions texts seen so far (sixteen at most: parsed, so validated, once each).
_STORED_MASKS: dict[str, int] = {}


def digest_values(values: Iterable[HandleValue], alg: str = DIGEST_ALG) -> dict[str, object]:
    """The ``digests`` claim of a signature over ``values``."""
    digests = [{"index": v.index, "digest": digest_value(v, alg)} for v in values]
    return {"alg": alg, "digests": digests}


def digest_stored_values(
    stored: Iterable[Mapping[str, Any]], alg: str = DIGEST_ALG
) -> dict[str, object]:
    """``digest_values`` of values in their stored form."""
    digests = [{"index": s["index"], "digest": digest_stored(s, alg)} for s in stored]
    return {"alg": alg, "digests": digests}
