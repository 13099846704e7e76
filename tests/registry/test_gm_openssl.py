"""SM2 through the system's libcrypto: vectors, GmSSL agreeing both ways, refusals with reasons."""

from __future__ import annotations

import ctypes.util

import gmssl_pyx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from registry.trust.gm import SM2Key, sm3
from registry.trust.gm import _openssl as libcrypto
from registry.trust.gm.sm2 import GX, GY, N, P

from .gm_vectors import OPENSSL_KEY, OPENSSL_VECTORS


def _multiply(d: int) -> tuple[int, int]:
    """d·G by double-and-add in affine coordinates, written from the curve's formulas."""
    a = P - 3
    result: tuple[int, int] | None = None
    addend: tuple[int, int] | None = (GX, GY)
    while d:
        if d & 1:
            result = _add(result, addend, a)
        addend = _add(addend, addend, a)
        d >>= 1
    assert result is not None
    return result


def _add(p1: tuple[int, int] | None, p2: tuple[int, int] | None, a: int) -> tuple[int, int] | None:
    if p1 is None or p2 is None:
        return p1 or p2
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None
    if p1 == p2:
        slope = (3 * x1 * x1 + a) * pow(2 * y1, -1, P) % P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return x3, (slope * (x1 - x3) - y1) % P


def test_it_reports_the_libcrypto_it_uses() -> None:
    assert libcrypto.version().startswith("OpenSSL 3.")


@pytest.mark.parametrize(("digest", "signature"), OPENSSL_VECTORS)
def test_openssls_published_signatures_verify_and_a_changed_digest_does_not(
    digest: str, signature: str
) -> None:
    public = libcrypto.PublicKey.from_spki(SM2Key.from_pem(OPENSSL_KEY).public.spki())
    assert public.verify_digest(bytes.fromhex(digest), bytes.fromhex(signature))
    assert not public.verify_digest(bytes.fromhex(digest[:-2] + "00"), bytes.fromhex(signature))


def test_gmssl_and_libcrypto_verify_each_others_signatures() -> None:
    key = SM2Key.generate()
    e = sm3(b"88.118.8/JXDY2106023")
    ours = libcrypto.PrivateKey.from_pkcs8(key.pkcs8()).sign_digest(e)
    assert gmssl_pyx.sm2_verify_sm3_digest(key.public.point(), e, ours)
    theirs = gmssl_pyx.sm2_sign_sm3_digest(key._d, e)
    assert libcrypto.PublicKey.from_spki(key.public.spki()).verify_digest(e, theirs)


def test_a_generated_key_is_in_range_and_its_point_is_d_times_g() -> None:
    for _ in range(3):
        key = SM2Key.generate()
        d = int.from_bytes(key._d, "big")
        assert 1 <= d <= N - 2
        assert (key.public.x, key.public.y) == _multiply(d)


def test_libcrypto_works_out_the_public_point_of_a_bare_private_key() -> None:
    key = SM2Key.generate()
    bare = SM2Key.from_pem(OPENSSL_KEY)
    assert libcrypto.PrivateKey.from_pkcs8(key.pkcs8()).spki() == key.public.spki()
    assert (bare.public.x, bare.public.y) == _multiply(int.from_bytes(bare._d, "big"))


def test_garbage_and_keys_of_other_curves_are_refused_with_a_reason() -> None:
    with pytest.raises(libcrypto.OpenSSLError, match="cannot read the SM2 key"):
        libcrypto.PrivateKey.from_pkcs8(b"\x30\x03\x02\x01\x00")
    p256 = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = p256.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(libcrypto.OpenSSLError, match="not read the key as an SM2 key"):
        libcrypto.PrivateKey.from_pkcs8(pkcs8)
    spki = p256.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(libcrypto.OpenSSLError, match="not read the key as an SM2 key"):
        libcrypto.PublicKey.from_spki(spki)


def test_a_malformed_signature_is_a_plain_no_and_leaves_no_error_behind() -> None:
    key = SM2Key.generate()
    public = libcrypto.PublicKey.from_spki(key.public.spki())
    for junk in (b"", b"\x30\x02\x02\x00", b"\x30" * 80, key.sign(b"other")):
        assert not public.verify_digest(sm3(b"message"), junk)
    lib = libcrypto._lib()
    assert lib.ERR_get_error() == 0


def test_a_system_without_libcrypto_is_told_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    libcrypto._lib.cache_clear()
    try:
        with pytest.raises(libcrypto.OpenSSLError, match="needs OpenSSL 3's libcrypto"):
            libcrypto.version()
    finally:
        libcrypto._lib.cache_clear()
