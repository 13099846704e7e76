"""SM2 signatures with SM3 (GB/T 32918.2, GM/T 0009) through GmSSL 3, via ``gmssl_pyx``.

GmSSL makes the signature (nonce from ``/dev/urandom``, range-checked, r and s checked on
verification); everything around it is checked here first, so a bad key or signature is
refused with a reason: public points must lie on the curve with coordinates below p, private
scalars must be in [1, n-2], r and s in [1, n-1], DER strict. Keys are kept as PKCS#8 (the
form OpenSSL and GmSSL write: id-ecPublicKey with the SM2 curve), optionally encrypted with
PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) as OpenSSL 3 does by default.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
from dataclasses import dataclass
from typing import Any

import gmssl_pyx
import orjson
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from . import der

__all__ = [
    "CURVE",
    "DEFAULT_USER_ID",
    "JWS_ALG",
    "SM2Error",
    "SM2Key",
    "SM2PublicKey",
    "decode_signature",
    "is_sm2_jwk",
    "sm3",
]

DEFAULT_USER_ID = b"1234567812345678"
# The IDIS SDK's name (id-pointer-sdk JsonWebSignatureImpl): SM2 with the 256-bit SM3 digest.
JWS_ALG = "SM2256"
CURVE = "SM2"

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = P - 3
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
_CURVE_BYTES = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
_MAX_USER_ID = 8191  # ENTL is the id's length in bits, in two bytes

_EC_PUBLIC_KEY = der.encode_oid("1.2.840.10045.2.1")
_SM2_CURVE = der.encode_oid("1.2.156.10197.1.301")
_ALGORITHM = der.encode(der.SEQUENCE, _EC_PUBLIC_KEY + _SM2_CURVE)
_PBES2, _PBKDF2 = "1.2.840.113549.1.5.13", "1.2.840.113549.1.5.12"
_PRFS = {"1.2.840.113549.2.9": hashes.SHA256, "1.2.840.113549.2.7": hashes.SHA1}
_CIPHERS = {"2.16.840.1.101.3.4.1.42": 32, "2.16.840.1.101.3.4.1.2": 16}
_HMAC_SHA256 = "1.2.840.113549.2.9"
_AES256_CBC = "2.16.840.1.101.3.4.1.42"
_PBKDF2_ITERATIONS = 100_000


class SM2Error(ValueError):
    """An SM2 key or signature refused, with the reason."""


def sm3(data: bytes) -> bytes:
    """The SM3 digest of ``data`` (GB/T 32905), from OpenSSL through ``cryptography``."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: Any, name: str) -> bytes:
    if not isinstance(text, str):
        raise SM2Error(f"JWK member {name!r} must be a base64url string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SM2Error(f"JWK member {name!r} is not base64url") from exc


def decode_signature(signature: bytes) -> tuple[int, int]:
    """``(r, s)`` of a DER or 64-byte ``r || s`` signature, each checked to lie in [1, n-1]."""
    try:
        items = der.read_sequence(signature)
        if len(items) != 2:
            raise der.DERError(f"{len(items)} items where r and s were expected")
        r, s = (der.read_int(tag, content) for tag, content in items)
    except der.DERError as exc:
        # 64 bytes that are not DER are the fixed-width r || s (RFC 7518's form).
        if len(signature) != 64:
            raise SM2Error(f"the signature is not a DER SM2 signature: {exc}") from exc
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    for name, value in (("r", r), ("s", s)):
        if not 1 <= value < N:
            raise SM2Error(f"signature {name} is out of range (it must be in [1, n-1])")
    return r, s


def _der_signature(r: int, s: int) -> bytes:
    return der.encode(der.SEQUENCE, der.encode_int(r) + der.encode_int(s))


@dataclass(frozen=True, slots=True)
class SM2PublicKey:
    """A point of the SM2 curve, checked: coordinates below p, on the curve."""

    x: int
    y: int

    def __post_init__(self) -> None:
        if not (0 <= self.x < P and 0 <= self.y < P):
            raise SM2Error("the SM2 public key has a coordinate out of range (not below p)")
        if (self.y * self.y - (self.x**3 + A * self.x + B)) % P:
            raise SM2Error("the SM2 public key is not a point on the SM2 curve")

    @classmethod
    def from_point(cls, raw: bytes) -> SM2PublicKey:
        """From the 65-byte uncompressed point ``04 || x || y`` (or the 64 bytes after 04)."""
        if len(raw) == 65 and raw[0] == 4:
            raw = raw[1:]
        if len(raw) != 64:
            raise SM2Error(f"an SM2 public key is a 65-byte uncompressed point, not {len(raw)}")
        return cls(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    @classmethod
    def from_spki(cls, data: bytes) -> SM2PublicKey:
        """From an X.509 SubjectPublicKeyInfo (DER) naming the SM2 curve."""
        try:
            items = der.read_sequence(data)
            if len(items) != 2 or items[0][0] != der.SEQUENCE or items[1][0] != der.BIT_STRING:
                raise der.DERError("not an algorithm and a BIT STRING")
            _check_algorithm(items[0][1])
            bits = items[1][1]
            if not bits or bits[0] != 0:
                raise der.DERError("a BIT STRING with unused bits")
        except der.DERError as exc:
            raise SM2Error(f"not an SM2 SubjectPublicKeyInfo: {exc}") from exc
        return cls.from_point(bits[1:])

    @classmethod
    def from_pem(cls, pem: bytes) -> SM2PublicKey:
        """From a ``PUBLIC KEY`` PEM block."""
        return cls.from_spki(_unpem(pem, b"PUBLIC KEY"))

    @classmethod
    def from_jwk(cls, jwk: Any) -> SM2PublicKey:
        """From ``{"kty": "EC", "crv": "SM2", x, y}``, or the IDIS SDK's ``{"kty": "SM2", d}``.

        The SDK (``GsonUtility.PublicKeyTypeHierarchyAdapter``) puts the X.509 public key in
        ``d`` — a public key despite the name.
        """
        if not isinstance(jwk, dict):
            raise SM2Error("an SM2 JWK must be an object")
        if jwk.get("kty") == "SM2":
            return cls.from_spki(_unb64url(jwk.get("d"), "d"))
        if jwk.get("kty") != "EC" or jwk.get("crv") != CURVE:
            raise SM2Error(f"an SM2 JWK has kty EC and crv SM2, not {jwk.get('crv')!r}")
        if "d" in jwk:
            raise SM2Error("an SM2 public JWK must not hold the private member 'd'")
        x, y = (_unb64url(jwk.get(name), name) for name in ("x", "y"))
        if len(x) != 32 or len(y) != 32:
            raise SM2Error("SM2 JWK coordinates x and y must be 32 bytes each")
        return cls(int.from_bytes(x, "big"), int.from_bytes(y, "big"))

    def point(self) -> bytes:
        """The 64 bytes ``x || y``."""
        return self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    def z(self, user_id: bytes) -> bytes:
        """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA), GB/T 32918.2 §5.5."""
        if len(user_id) > _MAX_USER_ID:
            raise SM2Error(f"an SM2 user id is at most {_MAX_USER_ID} bytes")
        return _z(self.point(), user_id)

    def spki(self) -> bytes:
        """The X.509 SubjectPublicKeyInfo (DER)."""
        bits = der.encode(der.BIT_STRING, b"\x00\x04" + self.point())
        return der.encode(der.SEQUENCE, _ALGORITHM + bits)

    def pem(self) -> bytes:
        """The ``PUBLIC KEY`` PEM block, as ``openssl pkey -pubout`` writes it."""
        return _pem(self.spki(), b"PUBLIC KEY")

    def jwk(self) -> dict[str, str]:
        """``{"kty": "EC", "crv": "SM2", "x", "y"}``."""
        return {
            "kty": "EC",
            "crv": CURVE,
            "x": _b64url(self.x.to_bytes(32, "big")),
            "y": _b64url(self.y.to_bytes(32, "big")),
        }

    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint of the JWK (SHA-256 of its required members, sorted)."""
        canonical = orjson.dumps(self.jwk(), option=orjson.OPT_SORT_KEYS)
        return _b64url(hashlib.sha256(canonical).digest())

    def verify(self, signature: bytes, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> None:
        """Return if ``signature`` (DER or r||s) signs ``message`` for ``user_id``; else SM2Error."""
        r, s = decode_signature(signature)
        e = sm3(self.z(user_id) + message)
        try:
            good = gmssl_pyx.sm2_verify_sm3_digest(self.point(), e, _der_signature(r, s))
        except gmssl_pyx.GmsslInnerError as exc:
            raise SM2Error(f"the SM2 signature cannot be checked: {exc}") from exc
        if not good:
            raise SM2Error(
                "the SM2 signature does not verify: another message, key or user id was signed"
            )


class SM2Key:
    """An SM2 private key with its public key; signs SM2-with-SM3 through GmSSL."""

    __slots__ = ("_d", "public")

    def __init__(self, d: int, public: SM2PublicKey) -> None:
        if not 1 <= d <= N - 2:
            raise SM2Error("the SM2 private key is out of range (it must be in [1, n-2])")
        self._d = d.to_bytes(32, "big")
        self.public = public

    def __repr__(self) -> str:
        return f"SM2Key(kid={self.thumbprint()!r})"

    @classmethod
    def generate(cls) -> SM2Key:
        """A new key pair from GmSSL (``/dev/urandom``)."""
        public, private = gmssl_pyx.sm2_key_generate()
        return cls(int.from_bytes(private, "big"), SM2PublicKey.from_point(public))

    def sign(self, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
        """The DER SM2 signature of ``message``: SM3(Z(user_id, key) || message), signed."""
        # GmSSL signs the digest e; Z depends only on the key and the id, so it is worked out
        # once (gmssl_pyx.sm2_sign recomputes the key's public point on every call).
        e = sm3(self.public.z(user_id) + message)
        return gmssl_pyx.sm2_sign_sm3_digest(self._d, e)

    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint of the public JWK."""
        return self.public.thumbprint()

    def as_dict(self, private: bool = False) -> dict[str, str]:
        """The public JWK (private members are never exported)."""
        if private:
            raise SM2Error("SM2 private keys are exported as PKCS#8 only")
        return self.public.jwk()

    def pkcs8(self) -> bytes:
        """The unencrypted PKCS#8 PrivateKeyInfo (DER), public key included."""
        ec_private = der.encode(
            der.SEQUENCE,
            der.encode_int(1)
            + der.encode(der.OCTET_STRING, self._d)
            + der.encode(0xA1, der.encode(der.BIT_STRING, b"\x00\x04" + self.public.point())),
        )
        body = der.encode_int(0) + _ALGORITHM + der.encode(der.OCTET_STRING, ec_private)
        return der.encode(der.SEQUENCE, body)

    def as_pem(self, private: bool = True, password: str | None = None) -> bytes:
        """PKCS#8 PEM, encrypted (PBES2, AES-256-CBC) when ``password`` is given."""
        if not private:
            return self.public.pem()
        if not password:
            return _pem(self.pkcs8(), b"PRIVATE KEY")
        return _pem(_encrypt_pkcs8(self.pkcs8(), password.encode()), b"ENCRYPTED PRIVATE KEY")

    @classmethod
    def from_pkcs8(cls, data: bytes) -> SM2Key:
        """From a PKCS#8 PrivateKeyInfo whose algorithm is EC on the SM2 curve."""
        try:
            items = der.read_sequence(data)
            if len(items) < 3 or der.read_int(*items[0]) != 0 or items[1][0] != der.SEQUENCE:
                raise der.DERError("not a version-0 PrivateKeyInfo")
            _check_algorithm(items[1][1])
            if items[2][0] != der.OCTET_STRING:
                raise der.DERError("the private key is not an OCTET STRING")
            inner = der.read_sequence(items[2][1])
            if len(inner) < 2 or der.read_int(*inner[0]) != 1 or inner[1][0] != der.OCTET_STRING:
                raise der.DERError("not a version-1 ECPrivateKey")
            scalar = inner[1][1]
            point = next((content for tag, content in inner[2:] if tag == 0xA1), None)
            if point is None:
                raise SM2Error("the SM2 private key does not carry its public key")
            tag, bits, _ = der.read_one(point)
            if tag != der.BIT_STRING or not bits or bits[0] != 0:
                raise der.DERError("the public key is not a BIT STRING")
        except der.DERError as exc:
            raise SM2Error(f"not an SM2 PKCS#8 private key: {exc}") from exc
        if len(scalar) != 32:
            raise SM2Error("the SM2 private key is not 32 bytes")
        key = cls(int.from_bytes(scalar, "big"), SM2PublicKey.from_point(bits[1:]))
        # A mismatched public key would sign nothing anyone can verify: refuse it now.
        probe = b"idnode key check"
        key.public.verify(key.sign(probe), probe)
        return key

    @classmethod
    def from_pem(cls, pem: bytes, password: str | None = None) -> SM2Key:
        """From PKCS#8 PEM, ``ENCRYPTED PRIVATE KEY`` needing ``password``."""
        if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem:
            if not password:
                raise SM2Error("the SM2 key is encrypted and no passphrase was given")
            data = _decrypt_pkcs8(_unpem(pem, b"ENCRYPTED PRIVATE KEY"), password.encode())
            return cls.from_pkcs8(data)
        return cls.from_pkcs8(_unpem(pem, b"PRIVATE KEY"))


@functools.lru_cache(maxsize=256)
def _z(point: bytes, user_id: bytes) -> bytes:
    entl = (8 * len(user_id)).to_bytes(2, "big")
    return sm3(entl + user_id + _CURVE_BYTES + point)


def is_sm2_jwk(jwk: Any) -> bool:
    """Is ``jwk`` an SM2 public key (our form or the IDIS SDK's)?"""
    return isinstance(jwk, dict) and (
        jwk.get("kty") == "SM2" or (jwk.get("kty") == "EC" and jwk.get("crv") == CURVE)
    )


def _check_algorithm(content: bytes) -> None:
    oid_tag, oid, end = der.read_one(content)
    if oid_tag != der.OID or der.decode_oid(oid) != "1.2.840.10045.2.1":
        raise der.DERError("the key algorithm is not id-ecPublicKey")
    if content[end:] != _SM2_CURVE:
        raise SM2Error("the EC key is not on the SM2 curve (parameters are not the sm2 OID)")


def _pem(data: bytes, label: bytes) -> bytes:
    body = base64.encodebytes(data).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join(
        [b"-----BEGIN " + label + b"-----", *lines, b"-----END " + label + b"-----", b""]
    )


def _unpem(pem: bytes, label: bytes) -> bytes:
    begin, end = b"-----BEGIN " + label + b"-----", b"-----END " + label + b"-----"
    start = pem.find(begin)
    stop = pem.find(end, start + 1)
    if start < 0 or stop < 0:
        raise SM2Error(f"no {label.decode()} PEM block")
    try:
        return base64.b64decode(b"".join(pem[start + len(begin) : stop].split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SM2Error(f"the {label.decode()} PEM block is not base64") from exc


def _kdf(password: bytes, salt: bytes, iterations: int, length: int, prf: Any) -> bytes:
    return PBKDF2HMAC(prf(), length, salt, iterations).derive(password)


def _encrypt_pkcs8(data: bytes, password: bytes) -> bytes:
    salt, iv = os.urandom(16), os.urandom(16)
    key = _kdf(password, salt, _PBKDF2_ITERATIONS, 32, hashes.SHA256)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
    kdf_params = der.encode(
        der.SEQUENCE,
        der.encode(der.OCTET_STRING, salt)
        + der.encode_int(_PBKDF2_ITERATIONS)
        + der.encode(der.SEQUENCE, der.encode_oid(_HMAC_SHA256) + der.encode(der.NULL, b"")),
    )
    scheme = der.encode(
        der.SEQUENCE,
        der.encode(der.SEQUENCE, der.encode_oid(_PBKDF2) + kdf_params)
        + der.encode(der.SEQUENCE, der.encode_oid(_AES256_CBC) + der.encode(der.OCTET_STRING, iv)),
    )
    algorithm = der.encode(der.SEQUENCE, der.encode_oid(_PBES2) + scheme)
    return der.encode(der.SEQUENCE, algorithm + der.encode(der.OCTET_STRING, encrypted))


def _oid_of(tag: int, content: bytes) -> str:
    if tag != der.OID:
        raise der.DERError("an object identifier was expected")
    return der.decode_oid(content)


def _decrypt_pkcs8(data: bytes, password: bytes) -> bytes:
    try:
        (alg_tag, alg), (data_tag, encrypted) = der.read_sequence(data)
        oid, scheme = _split_algorithm(alg_tag, alg)
        if oid != _PBES2:
            raise SM2Error("the SM2 key is encrypted with a scheme other than PBES2")
        (kdf_tag, kdf), (enc_tag, enc) = der.read_sequence(scheme)
        kdf_oid, kdf_params = _split_algorithm(kdf_tag, kdf)
        enc_oid, iv_tlv = _split_algorithm(enc_tag, enc)
        if kdf_oid != _PBKDF2 or enc_oid not in _CIPHERS:
            raise SM2Error("the SM2 key is encrypted with an unsupported KDF or cipher")
        params = der.read_sequence(kdf_params)
        salt, iterations = params[0][1], der.read_int(*params[1])
        prf_items = [item for item in params[2:] if item[0] == der.SEQUENCE]
        prf_oid = _oid_of(*der.read_one(prf_items[0][1])[:2]) if prf_items else "1.2.840.113549.2.7"
        iv_tag, iv, _ = der.read_one(iv_tlv)
        if data_tag != der.OCTET_STRING or iv_tag != der.OCTET_STRING or len(iv) != 16:
            raise der.DERError("malformed encrypted data or IV")
        if prf_oid not in _PRFS or not 1 <= iterations <= 10_000_000:
            raise SM2Error("the SM2 key's PBKDF2 parameters are not supported")
    except (der.DERError, ValueError, IndexError) as exc:
        if isinstance(exc, SM2Error):
            raise
        raise SM2Error(f"not an encrypted PKCS#8 key: {exc}") from exc
    key = _kdf(password, salt, iterations, _CIPHERS[enc_oid], _PRFS[prf_oid])
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    try:
        padded = decryptor.update(encrypted) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise SM2Error("incorrect passphrase: the SM2 key could not be decrypted") from exc


def _split_algorithm(tag: int, content: bytes) -> tuple[str, bytes]:
    if tag != der.SEQUENCE:
        raise der.DERError("an AlgorithmIdentifier was expected")
    oid_tag, oid, end = der.read_one(content)
    return _oid_of(oid_tag, oid), content[end:]
