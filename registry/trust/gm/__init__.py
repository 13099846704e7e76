"""China's commercial cryptography (商用密码): SM2 signatures, SM3 digests, SM4 sealing.

Why these implementations (issue 16): SM3 and SM4 come from OpenSSL through ``cryptography``,
already a dependency. ``cryptography`` has no SM2, so SM2 signing and verification come from
the system's OpenSSL 3 libcrypto (``_openssl``: a few EVP calls through ``ctypes``), the most
scrutinised SM2 there is: its scalar multiplication is a constant-time ladder and its nonce comes
from an OS-seeded DRBG. GmSSL 3 through ``gmssl-pyx`` (the implementation the IDIS SDK loads
through JNI) signed here first and is some 30 % faster, but its ``sm2_z256`` fast path branches
on the nonce and indexes a table with it — a timing leak of the kind that recovers ECDSA keys —
and it writes to stderr on every failed verification; it stays as the independent implementation
the tests check interoperation against, with OpenSSL's command line. Rejected: the pure-Python
``gmssl`` (predictable nonce, no checks); ``gmssl-python`` (ctypes over a libgmssl that Debian
does not package); ``gmssl-fast`` (one release, no user-id parameter, ~1,000 signatures/s);
``smcryptopy`` (one release in 2024, ~40 signatures/s); ``tongsuopy`` (no release since 2023).
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
