"""SM2 signing and verification of a digest by OpenSSL 3's libcrypto, the one the system ships.

OpenSSL's SM2 (``crypto/sm2/sm2_sign.c``) multiplies with the constant-time Montgomery ladder,
inverts with Fermat's little theorem and draws the nonce from its OS-seeded DRBG; GmSSL's
fast path (``sm2_z256_point_mul_generator``) branches on the nonce and indexes a table with it.
``cryptography`` exposes SM3 and SM4 but not SM2, so the few EVP calls needed are declared
here: a key is a PKCS#8 or SubjectPublicKeyInfo DER that libcrypto decodes into an
``EVP_PKEY`` once; each signature is one ``EVP_PKEY_sign`` over the digest ``e``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from ctypes import POINTER, byref, c_char_p, c_int, c_long, c_size_t, c_ubyte, c_ulong, c_void_p

__all__ = ["OpenSSLError", "PrivateKey", "PublicKey", "version"]


class OpenSSLError(RuntimeError):
    """libcrypto is missing, too old, or refused an operation (with its own reason)."""


_PROTOTYPES = (
    ("OpenSSL_version_num", c_ulong, []),
    ("OpenSSL_version", c_char_p, [c_int]),
    ("ERR_get_error", c_ulong, []),
    ("ERR_error_string_n", None, [c_ulong, c_char_p, c_size_t]),
    ("ERR_clear_error", None, []),
    ("d2i_AutoPrivateKey", c_void_p, [c_void_p, POINTER(POINTER(c_ubyte)), c_long]),
    ("d2i_PUBKEY", c_void_p, [c_void_p, POINTER(POINTER(c_ubyte)), c_long]),
    ("i2d_PUBKEY", c_int, [c_void_p, POINTER(POINTER(c_ubyte))]),
    ("EVP_PKEY_is_a", c_int, [c_void_p, c_char_p]),
    ("EVP_PKEY_free", None, [c_void_p]),
    ("EVP_PKEY_CTX_new_from_pkey", c_void_p, [c_void_p, c_void_p, c_char_p]),
    ("EVP_PKEY_CTX_free", None, [c_void_p]),
    ("EVP_PKEY_sign_init", c_int, [c_void_p]),
    ("EVP_PKEY_sign", c_int, [c_void_p, c_void_p, POINTER(c_size_t), c_char_p, c_size_t]),
    ("EVP_PKEY_verify_init", c_int, [c_void_p]),
    ("EVP_PKEY_verify", c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t]),
    ("CRYPTO_free", None, [c_void_p, c_char_p, c_int]),
)
_MAX_SIGNATURE = 72  # DER of two 256-bit integers


@functools.cache
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("crypto")
    if name is None:
        raise OpenSSLError("SM2 needs OpenSSL 3's libcrypto, and none was found on this system")
    lib = ctypes.CDLL(name)
    try:
        for symbol, restype, argtypes in _PROTOTYPES:
            function = getattr(lib, symbol)
            function.restype, function.argtypes = restype, argtypes
    except AttributeError as exc:
        raise OpenSSLError(f"{name} is not OpenSSL 3 (SM2 needs 3.0 or later): {exc}") from exc
    if lib.OpenSSL_version_num() < 0x30000000:
        raise OpenSSLError(f"SM2 needs OpenSSL 3.0 or later, not {version()}")
    return lib


def version() -> str:
    """The libcrypto in use, as it names itself (``OpenSSL 3.0.19 27 Jan 2026``)."""
    return _lib().OpenSSL_version(0).decode()


def _failure(what: str) -> OpenSSLError:
    lib = _lib()
    code, reasons = lib.ERR_get_error(), []
    while code:
        buffer = ctypes.create_string_buffer(256)
        lib.ERR_error_string_n(code, buffer, len(buffer))
        reasons.append(buffer.value.decode(errors="replace"))
        code = lib.ERR_get_error()
    return OpenSSLError(f"{what}: {'; '.join(reasons) or 'no reason given'}")


def _decode(decoder: str, data: bytes) -> c_void_p:
    lib = _lib()
    source = (c_ubyte * len(data)).from_buffer_copy(data)
    cursor = ctypes.cast(source, POINTER(c_ubyte))
    pkey = getattr(lib, decoder)(None, byref(cursor), len(data))
    if not pkey:
        raise _failure("libcrypto cannot read the SM2 key")
    if lib.EVP_PKEY_is_a(pkey, b"SM2") != 1:
        lib.EVP_PKEY_free(pkey)
        raise OpenSSLError("libcrypto did not read the key as an SM2 key")
    return c_void_p(pkey)


class _Key:
    __slots__ = ("_pkey",)

    def __init__(self, pkey: c_void_p) -> None:
        self._pkey = pkey

    def __del__(self) -> None:
        if getattr(self, "_pkey", None):
            _lib().EVP_PKEY_free(self._pkey)
            self._pkey = None

    def _context(self) -> c_void_p:
        context = _lib().EVP_PKEY_CTX_new_from_pkey(None, self._pkey, None)
        if not context:
            raise _failure("libcrypto cannot use the SM2 key")
        return c_void_p(context)


class PublicKey(_Key):
    """An SM2 public key held by libcrypto, from its SubjectPublicKeyInfo DER."""

    __slots__ = ()

    @classmethod
    def from_spki(cls, spki: bytes) -> PublicKey:
        """Decode ``spki``; the caller has checked the point is on the curve."""
        return cls(_decode("d2i_PUBKEY", spki))

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        """Does the DER ``signature`` sign the 32-byte ``digest`` ``e``?"""
        lib = _lib()
        context = self._context()
        try:
            if lib.EVP_PKEY_verify_init(context) != 1:
                raise _failure("libcrypto cannot start an SM2 verification")
            answer = lib.EVP_PKEY_verify(context, signature, len(signature), digest, len(digest))
        finally:
            lib.EVP_PKEY_CTX_free(context)
        # 0 is a signature that does not verify; below 0 one libcrypto could not parse —
        # both a no, and neither is left on the thread's error queue.
        lib.ERR_clear_error()
        return answer == 1


class PrivateKey(_Key):
    """An SM2 private key held by libcrypto, from PKCS#8 DER."""

    __slots__ = ()

    @classmethod
    def from_pkcs8(cls, pkcs8: bytes) -> PrivateKey:
        """Decode ``pkcs8`` (libcrypto works out the public point if the DER lacks it)."""
        return cls(_decode("d2i_AutoPrivateKey", pkcs8))

    def spki(self) -> bytes:
        """The SubjectPublicKeyInfo DER of this key's public point."""
        lib = _lib()
        out = POINTER(c_ubyte)()
        length = lib.i2d_PUBKEY(self._pkey, byref(out))
        if length <= 0:
            raise _failure("libcrypto cannot write the SM2 public key")
        try:
            return ctypes.string_at(out, length)
        finally:
            lib.CRYPTO_free(out, None, 0)

    def sign_digest(self, digest: bytes) -> bytes:
        """The DER signature of the 32-byte ``digest`` ``e`` (nonce from libcrypto's DRBG)."""
        lib = _lib()
        context = self._context()
        signature = ctypes.create_string_buffer(_MAX_SIGNATURE)
        length = c_size_t(_MAX_SIGNATURE)
        try:
            if lib.EVP_PKEY_sign_init(context) != 1:
                raise _failure("libcrypto cannot start an SM2 signature")
            if lib.EVP_PKEY_sign(context, signature, byref(length), digest, len(digest)) != 1:
                raise _failure("libcrypto could not make the SM2 signature")
        finally:
            lib.EVP_PKEY_CTX_free(context)
        return signature.raw[: length.value]
