"""The SNMS cipher login: ``sha256(sha256(password) + "yyyy-MM-dd")``, checked without the password.

The same key seals the password itself for the native protocol (``seal_secret``): an HS_SECKEY
challenge answer is a MAC keyed by the secret, so only the secret can check it.

The node keeps only an scrypt hash of each password, which cannot give back ``sha256(password)``.
So when a credential is issued, its verifier ``sha256(password)`` is sealed with AES-GCM (SM4-GCM in
the gm profile) under the node's credential key (never stored in the clear, bound to the username)
and opened only to check a cipher login. The stored form names its algorithm, so verifiers sealed
under either stay readable when the profile changes. Without a credential key the node stores no
verifier and refuses cipher logins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import UTC, date, datetime, timedelta, timezone

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .gm import SM4GCM, derive_sm4_key

__all__ = ["CHINA_TIME", "CipherKey", "cipher_days", "cipher_password"]

# CAICT nodes compute the day in China Standard Time.
CHINA_TIME = timezone(timedelta(hours=8), "CST")
_SCHEME = "aesgcm1"
_SM4_SCHEME = "sm4gcm1"
SEALINGS = ("AES", "SM4")
# A sealed native secret names its cipher too: the verifier scheme -> the secret's stored scheme.
_SECRET_SCHEMES = {_SCHEME: "native1", _SM4_SCHEME: "nativesm4gcm1"}
_SECRET_AEADS = {secret: verifier for verifier, secret in _SECRET_SCHEMES.items()}
_SECRET_PURPOSE = b"idnode native secret\0"


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def cipher_password(password: str, day: date) -> str:
    """What an SNMS client sends as the password of ``/identity/token/v1`` on ``day``."""
    return _sha256_hex(_sha256_hex(password) + day.isoformat())


def cipher_days(now: datetime | None = None) -> tuple[date, ...]:
    """The days a cipher password may name: today in China, and its neighbours for clock skew."""
    today = (now or datetime.now(UTC)).astimezone(CHINA_TIME).date()
    return (today, today - timedelta(days=1), today + timedelta(days=1))


class CipherKey:
    """Seals and opens cipher-login verifiers with a key only the node holds."""

    def __init__(self, secret: str, sealing: str = "AES") -> None:
        if sealing not in SEALINGS:
            raise ValueError(f"sealing must be one of {list(SEALINGS)}")
        aes = AESGCM(hashlib.sha256(b"idnode cipher verifier\0" + secret.encode()).digest())
        sm4 = SM4GCM(derive_sm4_key(b"idnode cipher verifier sm4", secret.encode()))
        self._aeads: dict[str, AESGCM | SM4GCM] = {_SCHEME: aes, _SM4_SCHEME: sm4}
        self._scheme = _SM4_SCHEME if sealing == "SM4" else _SCHEME

    def seal(self, username: str, password: str) -> str:
        """The stored form of ``sha256(password)``, bound to ``username``, naming its cipher."""
        nonce = os.urandom(12)
        aead = self._aeads[self._scheme]
        sealed = aead.encrypt(nonce, _sha256_hex(password).encode(), username.encode())
        return f"{self._scheme}${base64.b64encode(nonce + sealed).decode()}"

    def seal_secret(self, username: str, password: str) -> str:
        """The stored form of the password itself, bound to ``username`` (native HS_SECKEY).

        Sealed with this key's cipher (SM4-GCM in the gm profile); the stored form names it.
        """
        nonce = os.urandom(12)
        aead = self._aeads[self._scheme]
        sealed = aead.encrypt(nonce, password.encode(), _SECRET_PURPOSE + username.encode())
        return f"{_SECRET_SCHEMES[self._scheme]}${base64.b64encode(nonce + sealed).decode()}"

    def open_secret(self, username: str, stored: str | None) -> str | None:
        """The password sealed by ``seal_secret`` for ``username`` under either cipher, or None."""
        scheme, _, blob = (stored or "").partition("$")
        aead = self._aeads.get(_SECRET_AEADS.get(scheme, ""))
        if aead is None:
            return None
        try:
            raw = base64.b64decode(blob, validate=True)
            opened = aead.decrypt(raw[:12], raw[12:], _SECRET_PURPOSE + username.encode())
        except (InvalidTag, ValueError):
            return None
        return opened.decode()

    def check(
        self, username: str, stored: str | None, given: str, now: datetime | None = None
    ) -> bool:
        """True when ``given`` is the cipher password of ``username`` for a day in ``cipher_days``."""
        if not stored:
            return False
        scheme, _, blob = stored.partition("$")
        aead = self._aeads.get(scheme)
        if aead is None:
            return False
        try:
            raw = base64.b64decode(blob, validate=True)
            verifier = aead.decrypt(raw[:12], raw[12:], username.encode()).decode()
        except (InvalidTag, ValueError):
            return False
        given = given.strip().lower()
        matches = [
            hmac.compare_digest(_sha256_hex(verifier + day.isoformat()), given)
            for day in cipher_days(now)
        ]
        return any(matches)
