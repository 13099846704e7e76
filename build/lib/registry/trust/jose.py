"""JWS and JWK through joserfc: the only module that touches the JOSE library."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from .._errors import InvalidValue
from .gm import JWS_ALG as SM2_ALG
from .gm import SM2Error, SM2Key, SM2PublicKey, is_sm2_jwk

__all__ = [
    "ALGORITHMS",
    "BadSignature",
    "Key",
    "check_algorithm",
    "check_public_jwk",
    "export_pem",
    "generate_key",
    "import_jwk",
    "import_pem",
    "jws_signer",
    "public_jwk",
    "read_jws",
    "sign_jws",
    "verify_jws",
]

Key = ECKey | OKPKey | RSAKey | SM2Key
# "Ed25519" is RFC 9864's fully specified name for EdDSA over Ed25519 (joserfc deprecates "EdDSA").
# "SM2256" is the IDIS SDK's name for SM2 with SM3 (DER signature, the default user id).
ALGORITHMS = ("ES256", "Ed25519", "RS256", SM2_ALG)
_ALIASES = {
    "EDDSA": "Ed25519",
    "ED25519": "Ed25519",
    "ES256": "ES256",
    "RS256": "RS256",
    "SM2": SM2_ALG,
    "SM2256": SM2_ALG,
    "SM2SM3": SM2_ALG,
    "SM3WITHSM2": SM2_ALG,
}
_KEY_TYPES: dict[str, type[Key]] = {"EC": ECKey, "OKP": OKPKey, "RSA": RSAKey}


class BadSignature(Exception):
    """A JWS that does not verify with the key it was checked against."""


def check_algorithm(name: str) -> str:
    """The canonical name of a supported signing algorithm (``EdDSA`` means Ed25519)."""
    canonical = _ALIASES.get(name.upper()) if isinstance(name, str) else None
    if canonical is None:
        raise InvalidValue(f"unsupported signing algorithm {name!r}; use one of {list(ALGORITHMS)}")
    return canonical


def generate_key(alg: str) -> Key:
    """A new private key for ``alg``."""
    alg = check_algorithm(alg)
    if alg == "ES256":
        return ECKey.generate_key("P-256")
    if alg == "Ed25519":
        return OKPKey.generate_key("Ed25519")
    if alg == SM2_ALG:
        return SM2Key.generate()
    return RSAKey.generate_key(2048)


def import_pem(pem: bytes, password: str | None) -> Key:
    """Load a PKCS#8 PEM private key (encrypted when ``password`` is given)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        private = load_pem_private_key(pem, password.encode() if password else None)
    except UnsupportedAlgorithm:
        # The SM2 curve is not one cryptography knows: ours reads it (an SM2Error is a ValueError).
        return SM2Key.from_pem(pem, password)
    for key_type in (ECKey, OKPKey, RSAKey):
        try:
            return key_type.import_key(private)
        except (JoseError, TypeError, ValueError):
            continue
    raise InvalidValue("the PEM file holds a key of an unsupported type")


def export_pem(key: Key) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM, for handing it to a process of our own."""
    return key.as_pem(private=True)


def import_jwk(jwk: Any) -> Key | SM2PublicKey:
    """A public key from its JWK object; ``InvalidValue`` when it is not one."""
    if isinstance(jwk, Mapping) and is_sm2_jwk(dict(jwk)):
        try:
            return SM2PublicKey.from_jwk(dict(jwk))
        except SM2Error as exc:
            raise InvalidValue(f"publicKey is not a valid SM2 JWK: {exc}") from exc
    if not isinstance(jwk, Mapping) or jwk.get("kty") not in _KEY_TYPES:
        raise InvalidValue("publicKey must be a JWK object with kty EC, OKP, RSA or SM2")
    try:
        return _KEY_TYPES[jwk["kty"]].import_key(dict(jwk))
    except KeyError as exc:
        # joserfc raises KeyError for an EC curve (or a member) it does not know.
        raise InvalidValue(
            f"publicKey is not a valid JWK: unsupported curve {jwk.get('crv')!r} or a missing member"
        ) from exc
    except (JoseError, TypeError, ValueError) as exc:
        raise InvalidValue(f"publicKey is not a valid JWK: {exc}") from exc


def check_public_jwk(jwk: Any) -> dict[str, Any]:
    """``jwk`` if it is a valid public JWK; ``InvalidValue`` naming the problem otherwise."""
    # The IDIS SDK's SM2 JWK carries the public key (X.509) in "d": import_jwk checks it is one.
    if isinstance(jwk, Mapping) and jwk.get("kty") != "SM2":
        private = sorted(set(jwk) & {"d", "p", "q", "dp", "dq", "qi", "k"})
        if private:
            raise InvalidValue(
                f"publicKey must be a public JWK; it holds private members {private}"
            )
    import_jwk(jwk)
    return dict(jwk)


def public_jwk(key: Key, alg: str) -> dict[str, Any]:
    """The public half of ``key`` as a JWK with its ``kid`` (RFC 7638 thumbprint) and ``alg``."""
    jwk = key.as_dict(private=False)
    jwk.pop("kid", None)
    return {**jwk, "kid": key.thumbprint(), "alg": alg}


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _b64(raw: bytes) -> bytes:
    # base64.urlsafe_b64encode, without its checks and second copy: this runs twice a signature.
    return binascii.b2a_base64(raw, newline=False).translate(_URL_SAFE).rstrip(b"=")


@functools.lru_cache(maxsize=64)
def _header_segment(alg: str, kid: str) -> bytes:
    return _b64(orjson.dumps({"alg": alg, "kid": kid}))


_ES256 = ec.ECDSA(hashes.SHA256())
_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()


def _es256(private: ec.EllipticCurvePrivateKey) -> Callable[[bytes], bytes]:
    def sign(signing_input: bytes) -> bytes:
        # RFC 7518 wants r || s, each 32 bytes; OpenSSL gives DER.
        r, s = decode_dss_signature(private.sign(signing_input, _ES256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def _raw_signer(private: Any, alg: str) -> Callable[[bytes], bytes] | None:
    """RFC 7518 signature bytes straight from ``cryptography``; None for a key it does not fit."""
    if alg == "ES256" and isinstance(private, ec.EllipticCurvePrivateKey):
        return _es256(private) if private.curve.name == "secp256r1" else None
    if alg == "Ed25519" and isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign
    if alg == "RS256" and isinstance(private, rsa.RSAPrivateKey):
        return functools.partial(private.sign, padding=_PKCS1, algorithm=_SHA256)
    return None


def jws_signer(key: Key, alg: str, kid: str) -> Callable[[Mapping[str, Any]], str]:
    """A function making compact JWSs of claims signed with ``key``: one per key, kept by callers.

    Every write signs a record: joserfc's generic path costs several times the signature
    itself, so the three algorithms we issue sign here directly (same compact form), with
    everything that depends only on the key worked out once.
    """
    raw = (
        key.sign if isinstance(key, SM2Key) else _raw_signer(getattr(key, "private_key", None), alg)
    )
    if raw is None:
        header = {"alg": alg, "kid": kid}

        def generic(claims: Mapping[str, Any]) -> str:
            return jws.serialize_compact(header, orjson.dumps(claims), key, algorithms=[alg])

        return generic
    prefix = _header_segment(alg, kid) + b"."

    def sign(claims: Mapping[str, Any]) -> str:
        signing_input = prefix + _b64(orjson.dumps(claims))
        return (signing_input + b"." + _b64(raw(signing_input))).decode("ascii")

    return sign


def sign_jws(key: Key, alg: str, kid: str, claims: Mapping[str, Any]) -> str:
    """A compact JWS of ``claims`` signed with ``key``."""
    return jws_signer(key, alg, kid)(claims)


def read_jws(token: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, NOT verified; ``InvalidValue`` when malformed."""
    if not isinstance(token, str):
        raise InvalidValue("a JWS must be a string in compact serialisation")
    try:
        obj = jws.extract_compact(token.encode())
        claims = orjson.loads(obj.payload)
    except (JoseError, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidValue(f"not a compact JWS with JSON claims: {exc}") from exc
    if not isinstance(claims, dict):
        raise InvalidValue("JWS claims must be a JSON object")
    return dict(obj.headers()), claims


def verify_jws(token: str, jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The claims of ``token`` once its signature verifies with ``jwk``; else ``BadSignature``."""
    header, _ = read_jws(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise BadSignature(f"JWS algorithm {alg!r} is not accepted")
    key = import_jwk(jwk)
    if alg == SM2_ALG or isinstance(key, SM2PublicKey):
        return _verify_sm2(token, key, alg)
    try:
        obj = jws.deserialize_compact(token, key, algorithms=[alg])
    except (JoseError, ValueError) as exc:
        raise BadSignature(str(exc) or type(exc).__name__) from exc
    return orjson.loads(obj.payload)


def _verify_sm2(token: str, key: Key | SM2PublicKey, alg: str) -> dict[str, Any]:
    if alg != SM2_ALG or not isinstance(key, SM2PublicKey):
        raise BadSignature(f"a JWS signed with {alg} cannot verify with this key (SM2 needs both)")
    signing_input, _, signature = token.rpartition(".")
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        key.verify(raw, signing_input.encode("ascii"))
    except SM2Error as exc:
        raise BadSignature(str(exc)) from exc
    except (ValueError, binascii.Error) as exc:
        raise BadSignature("the JWS signature is not base64url") from exc
    _, claims = read_jws(token)
    return claims
