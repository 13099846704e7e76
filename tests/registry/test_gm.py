"""SM2/SM3/SM4: published vectors, interoperation with OpenSSL's command line, bad input."""

from __future__ import annotations

import base64
import contextlib
import os
import random
import shutil
import struct
import subprocess
import time
from pathlib import Path

import gmssl_pyx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from registry.trust.gm import (
    DEFAULT_USER_ID,
    SM2Error,
    SM2Key,
    SM2PublicKey,
    decode_signature,
    der,
    pubkey_blob,
    read_pubkey_blob,
    sm3,
    verify_challenge,
)
from registry.trust.gm.sm2 import A, B, N, P

from .gm_vectors import OPENSSL_KEY, OPENSSL_VECTORS

GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0


# --- SM3 (GB/T 32905-2016, appendix A) and SM4 (GB/T 32907-2016, appendix A) ---


def test_sm3_matches_the_standards_examples() -> None:
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert (
        sm3(b"abcd" * 16).hex()
        == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )
    # GmSSL's SM3 (what SM2 signing hashes with) agrees with OpenSSL's.
    assert gmssl_pyx.sm3_hash(b"abcd" * 16) == sm3(b"abcd" * 16)


def test_sm4_matches_the_standards_example() -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (encryptor.update(key) + encryptor.finalize()).hex() == (
        "681edf34d206965e86b3e94f536e4246"
    )


# --- SM2 (GB/T 32918.2, GM/T 0009 default user id) ---


def _z(public: SM2PublicKey, user_id: bytes) -> bytes:
    """Z_A of GB/T 32918.2 §5.5, written out from the standard's formula."""
    fields = (A, B, GX, GY, public.x, public.y)
    return sm3(
        struct.pack(">H", 8 * len(user_id))
        + user_id
        + b"".join(v.to_bytes(32, "big") for v in fields)
    )


@pytest.mark.parametrize(("digest", "signature"), OPENSSL_VECTORS)
def test_published_signatures_verify_on_their_digest(digest: str, signature: str) -> None:
    public = SM2Key.from_pem(OPENSSL_KEY).public
    sig = bytes.fromhex(signature)
    decode_signature(sig)
    assert gmssl_pyx.sm2_verify_sm3_digest(public.point(), bytes.fromhex(digest), sig)
    tampered = bytes.fromhex(digest[:-2] + "00")
    assert not gmssl_pyx.sm2_verify_sm3_digest(public.point(), tampered, sig)


def test_signing_uses_the_standards_z_with_the_default_user_id() -> None:
    key = SM2Key.generate()
    message = b"message digest"
    signature = key.sign(message)
    e = sm3(_z(key.public, DEFAULT_USER_ID) + message)
    assert gmssl_pyx.sm2_verify_sm3_digest(key.public.point(), e, signature)
    other = sm3(_z(key.public, b"ALICE123@YAHOO.COM") + message)
    assert not gmssl_pyx.sm2_verify_sm3_digest(key.public.point(), other, signature)
    # GmSSL's own Z (its sm2_verify computes it from the id) agrees, for any id.
    assert gmssl_pyx.sm2_verify(key.public.point(), message, signature, DEFAULT_USER_ID)
    signed_for = key.sign(message, b"88.118.8/ADMIN")
    assert gmssl_pyx.sm2_verify(key.public.point(), message, signed_for, b"88.118.8/ADMIN")
    key.public.verify(gmssl_pyx.sm2_sign(key._d, key.public.point(), message, b"x"), message, b"x")


def test_each_signature_uses_a_fresh_nonce() -> None:
    key = SM2Key.generate()
    signatures = {key.sign(b"same") for _ in range(20)}
    assert len(signatures) == 20
    assert len({decode_signature(s)[0] for s in signatures}) == 20


def test_keys_round_trip_through_encrypted_and_plain_pkcs8() -> None:
    key = SM2Key.generate()
    assert SM2Key.from_pem(key.as_pem()).thumbprint() == key.thumbprint()
    encrypted = key.as_pem(password="correct horse")
    assert encrypted.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert SM2Key.from_pem(encrypted, "correct horse").thumbprint() == key.thumbprint()
    with pytest.raises(SM2Error, match="passphrase"):
        SM2Key.from_pem(encrypted, "wrong")
    with pytest.raises(SM2Error, match="no passphrase"):
        SM2Key.from_pem(encrypted)


def test_public_forms_round_trip() -> None:
    public = SM2Key.generate().public
    assert SM2PublicKey.from_pem(public.pem()) == public
    assert SM2PublicKey.from_jwk(public.jwk()) == public
    sdk_form = {"kty": "SM2", "d": base64.urlsafe_b64encode(public.spki()).decode()}
    assert SM2PublicKey.from_jwk(sdk_form) == public
    assert read_pubkey_blob(pubkey_blob(public)) == public


# --- interoperation with OpenSSL's command line (an independent implementation) ---


def _openssl() -> str:
    path = shutil.which("openssl")
    reason = "the openssl command is missing or has no SM2"
    if path is not None:
        probe = subprocess.run(
            [path, "list", "-public-key-algorithms"], capture_output=True, text=True, check=False
        )
        if "SM2" in probe.stdout:
            return path
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, check=False, timeout=30)


def test_openssl_verifies_our_signature(tmp_path: Path) -> None:
    openssl = _openssl()
    key = SM2Key.generate()
    message = b"88.118.8/JXDY2106023 " * 10
    (tmp_path / "pub.pem").write_bytes(key.public.pem())
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(key.sign(message))
    verify = [openssl, "dgst", "-sm3", "-verify", str(tmp_path / "pub.pem")]
    ok = _run(
        *verify,
        "-sigopt",
        "distid:1234567812345678",
        "-signature",
        str(tmp_path / "sig"),
        str(tmp_path / "msg"),
    )
    assert ok.returncode == 0, ok.stderr
    assert b"Verified OK" in ok.stdout
    wrong_id = _run(
        *verify,
        "-sigopt",
        "distid:ALICE123@YAHOO.COM",
        "-signature",
        str(tmp_path / "sig"),
        str(tmp_path / "msg"),
    )
    assert wrong_id.returncode != 0


def test_we_verify_openssls_signature_and_key(tmp_path: Path) -> None:
    openssl = _openssl()
    key_path, msg, sig = tmp_path / "key.pem", tmp_path / "msg", tmp_path / "sig"
    generated = _run(
        openssl,
        "genpkey",
        "-algorithm",
        "SM2",
        "-aes256",
        "-pass",
        "pass:s3cret",
        "-out",
        str(key_path),
    )
    assert generated.returncode == 0, generated.stderr
    msg.write_bytes(b"signed by openssl")
    signed = _run(
        openssl,
        "pkeyutl",
        "-sign",
        "-rawin",
        "-digest",
        "sm3",
        "-inkey",
        str(key_path),
        "-passin",
        "pass:s3cret",
        "-pkeyopt",
        "distid:88.118.8/ADMIN",
        "-in",
        str(msg),
        "-out",
        str(sig),
    )
    assert signed.returncode == 0, signed.stderr
    key = SM2Key.from_pem(key_path.read_bytes(), "s3cret")
    key.public.verify(sig.read_bytes(), b"signed by openssl", b"88.118.8/ADMIN")
    with pytest.raises(SM2Error, match="does not verify"):
        key.public.verify(sig.read_bytes(), b"signed by openssl")
    # The public key as openssl exports it reads the same.
    exported = _run(openssl, "pkey", "-in", str(key_path), "-passin", "pass:s3cret", "-pubout")
    assert SM2PublicKey.from_pem(exported.stdout) == key.public


def test_openssl_reads_our_encrypted_key(tmp_path: Path) -> None:
    openssl = _openssl()
    key = SM2Key.generate()
    (tmp_path / "key.pem").write_bytes(key.as_pem(password="pw"))
    out = _run(openssl, "pkey", "-in", str(tmp_path / "key.pem"), "-passin", "pass:pw", "-pubout")
    assert out.returncode == 0, out.stderr
    assert SM2PublicKey.from_pem(out.stdout) == key.public


# --- bad input, each refused with its reason ---


def test_a_signature_over_other_data_or_another_user_id_is_refused() -> None:
    key = SM2Key.generate()
    signature = key.sign(b"the data")
    with pytest.raises(SM2Error, match="does not verify"):
        key.public.verify(signature, b"other data")
    with pytest.raises(SM2Error, match="does not verify"):
        key.public.verify(signature, b"the data", b"88.118.8/ADMIN")
    with pytest.raises(SM2Error, match="does not verify"):
        SM2Key.generate().public.verify(signature, b"the data")


@pytest.mark.parametrize(
    ("r", "s", "reason"),
    [
        (0, 1, "signature r is out of range"),
        (N, 1, "signature r is out of range"),
        (1, 0, "signature s is out of range"),
        (1, N + 5, "signature s is out of range"),
    ],
)
def test_r_or_s_out_of_range_is_refused(r: int, s: int, reason: str) -> None:
    raw = der.encode(der.SEQUENCE, der.encode_int(r) + der.encode_int(s))
    with pytest.raises(SM2Error, match=reason):
        SM2Key.generate().public.verify(raw, b"x")


def test_a_fixed_width_r_s_signature_is_accepted_whatever_its_first_byte() -> None:
    key = SM2Key.generate()
    for _ in range(50):
        r, s = decode_signature(key.sign(b"x"))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        key.public.verify(raw, b"x")
    # r || s whose first bytes look like a DER header still reads as r || s.
    fake = bytes([0x30, 0x3E]) + bytes(30) + (1).to_bytes(32, "big")
    assert decode_signature(fake) == (int.from_bytes(fake[:32], "big"), 1)


def test_truncated_or_padded_der_is_refused() -> None:
    key = SM2Key.generate()
    signature = key.sign(b"x")
    for bad in (signature[:-1], signature[:10], signature + b"\x00", b"\x30\x80" + signature[2:]):
        with pytest.raises(SM2Error, match="not a DER SM2 signature"):
            key.public.verify(bad, b"x")


def test_off_curve_and_out_of_range_keys_are_refused() -> None:
    public = SM2Key.generate().public
    with pytest.raises(SM2Error, match="not a point on the SM2 curve"):
        SM2PublicKey(public.x, (public.y + 1) % P)
    with pytest.raises(SM2Error, match="out of range"):
        SM2PublicKey(public.x + P, public.y)
    with pytest.raises(SM2Error, match="uncompressed point"):
        SM2PublicKey.from_point(b"\x04" + bytes(40))
    with pytest.raises(SM2Error, match="private key is out of range"):
        SM2Key(0, public)
    with pytest.raises(SM2Error, match="private key is out of range"):
        SM2Key(N - 1, public)


def test_a_jwk_with_the_wrong_curve_is_refused() -> None:
    jwk = SM2Key.generate().public.jwk()
    with pytest.raises(SM2Error, match="crv SM2, not 'P-256'"):
        SM2PublicKey.from_jwk({**jwk, "crv": "P-256"})
    with pytest.raises(SM2Error, match="private member"):
        SM2PublicKey.from_jwk({**jwk, "d": jwk["x"]})
    p256 = b"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
    spki = SM2Key.generate().public.spki().replace(bytes.fromhex("06082a811ccf5501822d"), p256)
    with pytest.raises(SM2Error, match="not on the SM2 curve"):
        SM2PublicKey.from_spki(spki)


def test_a_private_key_whose_public_half_does_not_match_is_refused() -> None:
    one, two = SM2Key.generate(), SM2Key.generate()
    mismatched = SM2Key(int.from_bytes(one._d, "big"), two.public)
    with pytest.raises(SM2Error, match="does not verify"):
        SM2Key.from_pkcs8(mismatched.pkcs8())


# --- HS_PUBKEY challenge answers as the IDIS SDK makes them ---


def _sized(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def test_an_sdk_style_challenge_answer_verifies() -> None:
    key = SM2Key.generate()
    nonce, digest, user = os.urandom(16), os.urandom(32), b"88.118.8/ADMIN"
    answer = _sized(b"SM3") + _sized(key.sign(sm3(nonce + digest), user))
    blob = pubkey_blob(key.public)
    verify_challenge(blob, user, nonce, digest, answer)
    with pytest.raises(SM2Error, match="does not verify"):
        verify_challenge(blob, b"88.118.8/OTHER", nonce, digest, answer)
    with pytest.raises(SM2Error, match="does not verify"):
        verify_challenge(blob, user, os.urandom(16), digest, answer)
    with pytest.raises(SM2Error, match="must use SM3"):
        verify_challenge(blob, user, nonce, digest, _sized(b"SHA256") + answer[7:])
    with pytest.raises(SM2Error, match="truncated"):
        verify_challenge(blob, user, nonce, digest, answer[:-3])
    # The SDK's blob may carry DER or a bare point instead of PEM.
    der_blob = _sized(b"SM2_PUB_KEY") + b"\0\0" + _sized(key.public.spki())
    verify_challenge(der_blob, user, nonce, digest, answer)
    with pytest.raises(SM2Error, match="not SM2_PUB_KEY"):
        verify_challenge(_sized(b"RSA_PUB_KEY") + blob[15:], user, nonce, digest, answer)


def test_the_native_protocol_finds_the_check_among_registry_trusts_public_names() -> None:
    from registry import trust

    key = SM2Key.generate()
    nonce, digest, user = b"n" * 16, b"d" * 32, b"88.118.8/ADMIN"
    answer = _sized(b"SM3") + _sized(key.sign(sm3(nonce + digest), user))
    blob = pubkey_blob(key.public)
    assert trust.read_sm2_pubkey_blob(blob) == key.public
    trust.verify_sm2_challenge(blob, user, nonce, digest, answer)
    with pytest.raises(trust.SM2Error):
        trust.verify_sm2_challenge(blob, user, nonce, b"x" * 32, answer)


def test_der_and_blob_readers_survive_random_bytes() -> None:
    """Bounded fuzz: random and mutated input only ever raises SM2Error."""
    rng = random.Random(16)
    key = SM2Key.generate()
    seeds = [key.sign(b"x"), key.public.spki(), pubkey_blob(key.public), key.pkcs8()]
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        seed = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            seed[rng.randrange(len(seed))] = rng.randrange(256)
        data = bytes(seed[: rng.randint(0, len(seed))])
        for reader in (
            lambda d: key.public.verify(d, b"x"),
            SM2PublicKey.from_spki,
            read_pubkey_blob,
            SM2Key.from_pkcs8,
        ):
            with contextlib.suppress(SM2Error):
                reader(data)
