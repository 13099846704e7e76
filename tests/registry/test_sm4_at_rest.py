"""SM4-GCM sealing at rest: cipher-login verifiers and the secret box, beside AES-GCM."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

import gmssl_pyx
import pytest
from cryptography.exceptions import InvalidTag

from registry.trust import CipherKey, SecretBox, cipher_password
from registry.trust.gm import SM4GCM, derive_sm4_key
from registry.trust.secretbox import is_sealed

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def test_sm4_gcm_agrees_with_gmssl() -> None:
    key, nonce, aad, data = os.urandom(16), os.urandom(12), b"user", b"sha256 hex verifier"
    sealed = SM4GCM(key).encrypt(nonce, data, aad)
    ciphertext, tag = gmssl_pyx.sm4_gcm_encrypt(key, nonce, aad, data)
    assert sealed == ciphertext + tag
    assert gmssl_pyx.sm4_gcm_decrypt(key, nonce, aad, sealed[:-16], sealed[-16:]) == data
    with pytest.raises(InvalidTag):
        SM4GCM(key).decrypt(nonce, sealed, b"another user")
    with pytest.raises(InvalidTag):
        SM4GCM(key).decrypt(nonce, sealed[:10], aad)


def test_cipher_verifiers_are_sealed_with_sm4_in_the_gm_profile() -> None:
    gm = CipherKey("node secret", "SM4")
    stored = gm.seal("300:88.118.8/ACME", "pw")
    assert stored.startswith("sm4gcm1$")
    given = cipher_password("pw", NOW.date())
    assert gm.check("300:88.118.8/ACME", stored, given, now=NOW)
    assert not gm.check("300:88.118.8/OTHER", stored, given, now=NOW)
    # It really is SM4-GCM under the derived key: GmSSL opens it.
    raw = base64.b64decode(stored.partition("$")[2])
    key = derive_sm4_key(b"idnode cipher verifier sm4", b"node secret")
    verifier = gmssl_pyx.sm4_gcm_decrypt(
        key, raw[:12], b"300:88.118.8/ACME", raw[12:-16], raw[-16:]
    )
    assert len(verifier) == 64


def test_verifiers_sealed_under_either_cipher_stay_readable() -> None:
    aes, sm4 = CipherKey("node secret"), CipherKey("node secret", "SM4")
    given = cipher_password("pw", NOW.date())
    old = aes.seal("u", "pw")
    assert old.startswith("aesgcm1$")
    assert sm4.check("u", old, given, now=NOW)
    assert aes.check("u", sm4.seal("u", "pw"), given, now=NOW)
    assert not CipherKey("other secret", "SM4").check("u", sm4.seal("u", "pw"), given, now=NOW)
    tampered = sm4.seal("u", "pw")[:-4] + "AAAA"
    assert not sm4.check("u", tampered, given, now=NOW)
    with pytest.raises(ValueError, match="sealing"):
        CipherKey("s", "DES")


def test_the_secret_box_seals_with_sm4_and_opens_both() -> None:
    key = os.urandom(32)
    sm4, aes = SecretBox(key, "SM4"), SecretBox(key)
    sealed = sm4.seal("sync-token", "sync")
    assert sealed.startswith("sm4sealed1$") and is_sealed(sealed)
    assert aes.open(sealed, "sync") == "sync-token"
    assert sm4.open(aes.seal("t", "sync"), "sync") == "t"
    assert sm4.open(sealed, "other purpose") is None
    assert SecretBox(os.urandom(32), "SM4").open(sealed, "sync") is None
