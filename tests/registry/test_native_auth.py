"""Checking challenge answers: MACs and signatures made by Java (Handle.Net's primitives) pass,
anything else fails; unreadable answers and unsupported keys are protocol errors."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from registry.codec.native.keys import (
    DsaKey,
    MacAlg,
    PublicAnswer,
    RsaKey,
    SecretAnswer,
    Sm2Key,
    encode_public_answer,
    encode_public_key,
    encode_secret_answer,
    hashed_secret,
)
from registry.codec.native.wire import ProtocolError
from registry.trust.gm import SM2Key, pubkey_blob, sm3
from registry.trust.native_auth import (
    public_key_data,
    register_public_key_verifier,
    secret_key_forms,
    verify_public_answer,
    verify_secret_answer,
)

# Made with javax.crypto (PBKDF2WithHmacSHA1, HmacSHA1) and java.security (SHA256withRSA,
# SHA1withRSA, SHA256withDSA) on the secret, salt and data below: the bytes a Java client sends.
JAVA = json.loads((Path(__file__).parent / "native_java_vectors.json").read_text())
KEY = bytes.fromhex(JAVA["key"])
DATA = bytes.fromhex(JAVA["data"])
NONCE, DIGEST = DATA[:16], DATA[16:]
ADMIN = "88.118.8/ADMIN"


def _pbkdf2_answer(mac: bytes) -> bytes:
    answer = SecretAnswer(MacAlg.PBKDF2_HMAC_SHA1, mac, bytes.fromhex(JAVA["salt"]), 10000, 160)
    return encode_secret_answer(answer)


def test_pbkdf2_answer_made_by_java_passes_even_for_a_non_ascii_secret() -> None:
    assert any(b >= 0x80 for b in KEY)
    signed = _pbkdf2_answer(bytes.fromhex(JAVA["pbkdf2_mac"]))
    assert verify_secret_answer([KEY], NONCE, DIGEST, signed)
    assert not verify_secret_answer([b"wrong secret"], NONCE, DIGEST, signed)
    assert not verify_secret_answer([KEY], NONCE, DIGEST[::-1], signed)


def test_older_mac_forms() -> None:
    data = NONCE + DIGEST
    forms = {
        MacAlg.SHA1: hashlib.sha1(KEY + data + KEY).digest(),
        MacAlg.SHA256: hashlib.sha256(KEY + data + KEY).digest(),
        MacAlg.MD5: hashlib.md5(KEY + data + KEY).digest(),
        MacAlg.HMAC_SHA1: hmac.new(KEY, data, "sha1").digest(),
        MacAlg.HMAC_SHA256: hmac.new(KEY, data, "sha256").digest(),
    }
    for alg, mac in forms.items():
        signed = bytes([alg]) + mac
        assert verify_secret_answer([KEY], NONCE, DIGEST, signed), alg
        assert not verify_secret_answer([KEY + b"x"], NONCE, DIGEST, signed), alg
    old = hashlib.md5(KEY + data + KEY).digest()
    assert verify_secret_answer([KEY], NONCE, DIGEST, old, old_format=True)


def test_a_client_told_to_hash_its_secret_is_accepted_through_the_hashed_form() -> None:
    hashed = hashed_secret(b"demo-password")
    data = NONCE + DIGEST
    signed = b"\x02" + hashlib.sha1(hashed + data + hashed).digest()
    assert verify_secret_answer(secret_key_forms(b"demo-password"), NONCE, DIGEST, signed)
    assert not verify_secret_answer([b"demo-password"], NONCE, DIGEST, signed)


def _rsa_blob() -> bytes:
    e, n = (int(JAVA[k], 16) for k in ("rsa_e", "rsa_n"))
    return encode_public_key(RsaKey(e, n))


@pytest.mark.parametrize(("alg", "field"), [("SHA256", "rsa_sha256_sig"), ("SHA1", "rsa_sha1_sig")])
def test_rsa_signatures_made_by_java_pass(alg: str, field: str) -> None:
    signed = encode_public_answer(PublicAnswer(alg, bytes.fromhex(JAVA[field])))
    assert verify_public_answer(_rsa_blob(), NONCE, DIGEST, signed, "88.118.8/ADMIN")
    assert not verify_public_answer(_rsa_blob(), NONCE, DIGEST[:-1] + b"?", signed, "x/y")
    other = "SHA1" if alg == "SHA256" else "SHA256"
    wrong_hash = encode_public_answer(PublicAnswer(other, bytes.fromhex(JAVA[field])))
    assert not verify_public_answer(_rsa_blob(), NONCE, DIGEST, wrong_hash, "x/y")


def test_dsa_signature_made_by_java_passes() -> None:
    p, q, g, y = (int(JAVA[f"dsa_{k}"], 16) for k in "pqgy")
    blob = encode_public_key(DsaKey(p, q, g, y))
    signed = encode_public_answer(PublicAnswer("SHA256", bytes.fromhex(JAVA["dsa_sha256_sig"])))
    assert verify_public_answer(blob, NONCE, DIGEST, signed, "88.118.8/ADMIN")
    assert not verify_public_answer(blob, DIGEST[:16], DIGEST, signed, "88.118.8/ADMIN")


def test_a_signature_by_another_key_fails() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    sig = other.sign(NONCE + DIGEST, padding.PKCS1v15(), hashes.SHA256())
    signed = encode_public_answer(PublicAnswer("SHA256", sig))
    assert not verify_public_answer(_rsa_blob(), NONCE, DIGEST, signed, "x/y")


def test_md5_signatures_are_refused() -> None:
    signed = encode_public_answer(PublicAnswer("MD5", b"sig"))
    with pytest.raises(ProtocolError, match="MD5"):
        verify_public_answer(_rsa_blob(), NONCE, DIGEST, signed, "x/y")


def _sm2_answer(key: SM2Key, signer: str, nonce: bytes = NONCE, alg: str = "SM3") -> bytes:
    # The IDIS SDK: SM2 over SM3(nonce || digest), user id = the identity's handle, DER.
    return encode_public_answer(PublicAnswer(alg, key.sign(sm3(nonce + DIGEST), signer.encode())))


def test_sm2_answers_made_as_the_idis_sdk_makes_them_verify() -> None:
    key = SM2Key.generate()
    blob = public_key_data(key.public.pem())
    assert blob == pubkey_blob(key.public)
    assert verify_public_answer(blob, NONCE, DIGEST, _sm2_answer(key, ADMIN), ADMIN)
    # Another key, another user id, another nonce: a wrong answer, not an error.
    assert not verify_public_answer(
        blob, NONCE, DIGEST, _sm2_answer(SM2Key.generate(), ADMIN), ADMIN
    )
    assert not verify_public_answer(blob, NONCE, DIGEST, _sm2_answer(key, "88.118.8/X"), ADMIN)
    assert not verify_public_answer(
        blob, NONCE, DIGEST, _sm2_answer(key, ADMIN, DIGEST[:16]), ADMIN
    )
    garbled = encode_public_answer(PublicAnswer("SM3", b"not DER"))
    assert not verify_public_answer(blob, NONCE, DIGEST, garbled, ADMIN)


@pytest.mark.parametrize(
    ("blob", "signed", "message"),
    [
        (encode_public_key(Sm2Key(b"DER")), encode_public_answer(PublicAnswer("SM3", b"s")), "SM2"),
        (None, encode_public_answer(PublicAnswer("SHA256", b"s")), "SM3"),
    ],
)
def test_an_unusable_sm2_key_or_hash_is_a_protocol_error(
    blob: bytes | None, signed: bytes, message: str
) -> None:
    blob = blob or pubkey_blob(SM2Key.generate().public)
    with pytest.raises(ProtocolError, match=message) as caught:
        verify_public_answer(blob, NONCE, DIGEST, signed, ADMIN)
    assert caught.value.code == 403


def test_another_verifier_can_be_registered_for_a_kind_and_put_back() -> None:
    blob = encode_public_key(Sm2Key(b"DER"))
    signed = encode_public_answer(PublicAnswer("SM3", b"sig"))
    seen = []

    def fake(key: object, alg: str, data: bytes, sig: bytes, signer: str) -> bool:
        seen.append((key, alg, data, sig, signer))
        return True

    built_in = register_public_key_verifier(Sm2Key, fake)
    try:
        assert verify_public_answer(blob, NONCE, DIGEST, signed, ADMIN)
    finally:
        register_public_key_verifier(Sm2Key, built_in)
    assert seen == [(Sm2Key(b"DER"), "SM3", NONCE + DIGEST, b"sig", ADMIN)]
    with pytest.raises(ProtocolError, match="SM2"):
        verify_public_answer(blob, NONCE, DIGEST, signed, ADMIN)


def test_an_unusable_key_is_a_protocol_error() -> None:
    blob = encode_public_key(RsaKey(65537, 10))  # an even, tiny modulus
    signed = encode_public_answer(PublicAnswer("SHA256", b"s"))
    with pytest.raises(ProtocolError, match="cannot be used"):
        verify_public_answer(blob, NONCE, DIGEST, signed, "x/y")
