"""China's commercial cryptography (商用密码): SM2 signatures, SM3 digests, SM4 sealing."""

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
