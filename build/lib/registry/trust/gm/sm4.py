"""SM4-GCM (GB/T 32907 block cipher, GCM mode) with AESGCM's interface, through OpenSSL."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .sm2 import sm3

__all__ = ["SM4GCM", "derive_sm4_key"]

_TAG = 16


def derive_sm4_key(label: bytes, secret: bytes) -> bytes:
    """A 16-byte SM4 key from ``secret``, separated from other uses by ``label`` (SM3-based)."""
    return sm3(label + b"\0" + secret)[:16]


class SM4GCM:
    """``encrypt``/``decrypt`` as ``AESGCM`` has them: ciphertext followed by a 16-byte tag."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("an SM4 key is 16 bytes")
        self._key = key

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        """``data`` sealed under ``nonce`` (12 bytes), bound to ``associated_data``."""
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            encryptor.authenticate_additional_data(associated_data)
        return encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        """The plaintext; ``InvalidTag`` when the data, nonce, key or associated data differ."""
        if len(data) < _TAG:
            raise InvalidTag()
        decryptor = Cipher(
            algorithms.SM4(self._key), modes.GCM(nonce, data[-_TAG:], min_tag_length=_TAG)
        ).decryptor()
        if associated_data:
            decryptor.authenticate_additional_data(associated_data)
        return decryptor.update(data[:-_TAG]) + decryptor.finalize()
