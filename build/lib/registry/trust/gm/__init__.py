"""China's commercial cryptography (商用密码): SM2 signatures, SM3 digests, SM4 sealing.

Why these implementations (issue 16): SM3 and SM4 come from OpenSSL through ``cryptography``,
already a dependency. ``cryptography`` has no SM2, so SM2 comes from GmSSL 3 (the reference
implementation the IDIS SDK itself loads through JNI) via ``gmssl-pyx``: a C extension with
wheels for CPython 3.8-3.14, released since 2023 (2.1.0 in 2026); nonces from ``/dev/urandom``,
k, r and s range checks in GmSSL. Rejected: the pure-Python ``gmssl`` (predictable nonce, no
checks); ``gmssl-python`` (ctypes over a libgmssl that Debian does not package); ``gmssl-fast``
(one release, no user-id parameter); ``smcryptopy`` (one release in 2024, ~40 signatures/s);
``tongsuopy`` (no release since 2023). OpenSSL's command line is the independent implementation
the tests check interoperation against.
"""

from .pubkey_auth import pubkey_blob, read_pubkey_blob, verify_challenge
from .sm2 import (
    CURVE,
    DEFAULT_USER_ID,
    JWS_ALG,
    SM2Error,
    SM2Key,
    SM2PublicKey,
    decode_signature,
    is_sm2_jwk,
    sm3,
)
from .sm4 import SM4GCM, derive_sm4_key

__all__ = [
    "CURVE",
    "DEFAULT_USER_ID",
    "JWS_ALG",
    "SM4GCM",
    "SM2Error",
    "SM2Key",
    "SM2PublicKey",
    "decode_signature",
    "derive_sm4_key",
    "is_sm2_jwk",
    "pubkey_blob",
    "read_pubkey_blob",
    "sm3",
    "verify_challenge",
]
