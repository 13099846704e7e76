"""Checking answers to native-protocol challenges: secret-key MACs and public-key signatures.

Pure functions of bytes (no storage): the server finds the identity's HS_SECKEY or HS_PUBKEY
value and asks here whether the answer proves holding it. The data signed is always
``nonce ‖ request digest``. See ``registry.codec.native.keys`` for the forms.

Public keys: RSA (PKCS#1 v1.5) and DSA (DER signatures) with SHA-1 or SHA-256, as Handle.Net
signs, and SM2 with SM3 as the IDIS SDK signs (user id = the identity's handle; ``.gm``). Other
kinds plug in through ``register_public_key_verifier``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa

from .._errors import InvalidInput
from ..codec.native.codes import ResponseCode
from ..codec.native.keys import (
    DsaKey,
    MacAlg,
    PublicAnswer,
    PublicKeyBlob,
    RsaKey,
    SecretAnswer,
    Sm2Key,
    decode_public_answer,
    decode_public_key,
    decode_secret_answer,
    encode_public_answer,
    encode_public_key,
)
from ..codec.native.wire import ProtocolError
from .gm import SM2Error, SM2PublicKey, pubkey_blob, read_pubkey_blob, verify_challenge

__all__ = [
    "PublicKeyVerifier",
    "mac_of",
    "public_key_data",
    "register_public_key_verifier",
    "secret_key_forms",
    "verify_public_answer",
    "verify_secret_answer",
]

# verifier(key, hash algorithm id, signed data, signature, signer's handle) -> matches
PublicKeyVerifier = Callable[[PublicKeyBlob, str, bytes, bytes, str], bool]
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA256": hashes.SHA256,
}


def public_key_data(pem: bytes) -> bytes:
    """HS_PUBKEY data (Handle's binary form) of an RSA, DSA or SM2 public key in PEM or DER."""
    try:
        if pem.lstrip().startswith(b"-----"):
            key = serialization.load_pem_public_key(pem)
        else:
            key = serialization.load_der_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        sm2 = _sm2_public_key(pem)
        if sm2 is not None:
            return pubkey_blob(sm2)
        raise InvalidInput(f"not a public key in PEM or DER: {exc}") from exc
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return encode_public_key(RsaKey(numbers.e, numbers.n))
    if isinstance(key, dsa.DSAPublicKey):
        numbers = key.public_numbers()
        params = numbers.parameter_numbers
        return encode_public_key(DsaKey(params.p, params.q, params.g, numbers.y))
    raise InvalidInput(
        f"{type(key).__name__.removeprefix('_')} keys are not supported; use an RSA, DSA or SM2 key"
    )


def _sm2_public_key(data: bytes) -> SM2PublicKey | None:
    try:
        if data.lstrip().startswith(b"-----"):
            return SM2PublicKey.from_pem(data)
        return SM2PublicKey.from_spki(data)
    except (SM2Error, ValueError):
        return None


def _pbkdf2_password(key: bytes) -> bytes:
    # Handle.Net turns each key byte into a char (byte & 0xFF) and Java's PBKDF2 encodes the
    # chars as UTF-8: a byte from 0x80 up becomes two.
    return key.decode("latin-1").encode("utf-8")


def mac_of(answer: SecretAnswer, key: bytes, data: bytes) -> bytes:
    """The MAC ``answer`` should carry for ``key`` over ``data`` (``Util.doMac``)."""
    alg = answer.alg
    if alg is MacAlg.PBKDF2_HMAC_SHA1:
        derived = hashlib.pbkdf2_hmac(
            "sha1", _pbkdf2_password(key), answer.salt, answer.iterations, answer.key_bits // 8
        )
        return hmac.new(derived, data, hashlib.sha1).digest()
    if alg is MacAlg.HMAC_SHA1:
        return hmac.new(key, data, hashlib.sha1).digest()
    if alg is MacAlg.HMAC_SHA256:
        return hmac.new(key, data, hashlib.sha256).digest()
    name = {MacAlg.SHA256: "sha256", MacAlg.SHA1: "sha1"}.get(alg, "md5")
    return hashlib.new(name, key + data + key).digest()


def secret_key_forms(secret: bytes) -> tuple[bytes, ...]:
    """The keys a client holding ``secret`` may MAC with: itself, or its hashed form."""
    return (secret, hashlib.sha1(secret).hexdigest().encode())


def verify_secret_answer(
    keys: tuple[bytes, ...] | list[bytes],
    nonce: bytes,
    digest: bytes,
    signed: bytes,
    *,
    old_format: bool = False,
) -> bool:
    """True when ``signed`` is a MAC over ``nonce ‖ digest`` with one of ``keys``.

    A malformed answer raises ``ProtocolError``; a wrong MAC is ``False``.
    """
    answer = decode_secret_answer(signed, old_format=old_format)
    data = nonce + digest
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(mac_of(answer, key, data), answer.mac)
    return matched


def _verify_rsa(key: PublicKeyBlob, alg: str, data: bytes, signature: bytes, _: str) -> bool:
    assert isinstance(key, RsaKey)
    public = rsa.RSAPublicNumbers(key.e, key.n).public_key()
    public.verify(signature, data, padding.PKCS1v15(), _HASHES[alg]())
    return True


def _verify_dsa(key: PublicKeyBlob, alg: str, data: bytes, signature: bytes, _: str) -> bool:
    assert isinstance(key, DsaKey)
    numbers = dsa.DSAPublicNumbers(key.y, dsa.DSAParameterNumbers(key.p, key.q, key.g))
    numbers.public_key().verify(signature, data, _HASHES[alg]())
    return True


def _verify_sm2(key: PublicKeyBlob, alg: str, data: bytes, signature: bytes, signer: str) -> bool:
    assert isinstance(key, Sm2Key)
    try:
        public = read_pubkey_blob(encode_public_key(key))
    except SM2Error as exc:
        raise ProtocolError(
            f"the SM2 HS_PUBKEY cannot be used: {exc}", ResponseCode.AUTHENTICATION_FAILED
        ) from exc
    if alg.upper() != "SM3":
        raise ProtocolError(
            f"an SM2 answer is signed over SM3, not {alg!r}", ResponseCode.AUTHENTICATION_FAILED
        )
    answer = encode_public_answer(PublicAnswer(alg, signature))
    try:
        # data is nonce || digest already; the check hashes the two together.
        verify_challenge(public, signer.encode(), data, b"", answer)
    except SM2Error:
        return False
    return True


_VERIFIERS: dict[type, PublicKeyVerifier] = {
    RsaKey: _verify_rsa,
    DsaKey: _verify_dsa,
    Sm2Key: _verify_sm2,
}


def register_public_key_verifier(
    kind: type, verifier: PublicKeyVerifier | None
) -> PublicKeyVerifier | None:
    """Let ``verifier`` check answers signed with keys of ``kind`` (e.g. ``Sm2Key``); ``None``
    removes the verifier of ``kind``. Returns the verifier it replaces, to put back."""
    previous = _VERIFIERS.pop(kind, None)
    if verifier is not None:
        _VERIFIERS[kind] = verifier
    return previous


def verify_public_answer(
    key_data: bytes, nonce: bytes, digest: bytes, signed: bytes, signer: str
) -> bool:
    """True when ``signed`` is a signature over ``nonce ‖ digest`` by the HS_PUBKEY ``key_data``.

    ``signer`` is the identity's handle (SM2 binds its signature to it). An answer or key that
    cannot be read, or an algorithm the node cannot check, raises ``ProtocolError``.
    """
    key = decode_public_key(key_data)
    answer = decode_public_answer(signed)
    verifier = _VERIFIERS.get(type(key))
    if verifier is None:
        raise ProtocolError(
            f"{type(key).__name__} public keys are not supported by this node yet",
            ResponseCode.AUTHENTICATION_FAILED,
        )
    if isinstance(key, RsaKey | DsaKey) and answer.hash_alg not in _HASHES:
        raise ProtocolError(
            f"signature hash {answer.hash_alg!r} is not supported; use SHA256 or SHA1",
            ResponseCode.AUTHENTICATION_FAILED,
        )
    try:
        return verifier(key, answer.hash_alg, nonce + digest, answer.signature, signer)
    except InvalidSignature:
        return False
    except ValueError as exc:
        # cryptography refuses keys it cannot use (a 512-bit DSA p, an even modulus...).
        raise ProtocolError(
            f"the HS_PUBKEY cannot be used: {exc}", ResponseCode.AUTHENTICATION_FAILED
        ) from exc
