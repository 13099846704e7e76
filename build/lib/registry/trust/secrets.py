"""Credential secrets: scrypt hashes compared in constant time, and bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = ["hash_secret", "hash_token", "new_secret", "new_token", "verify_secret"]

_N, _R, _P, _LENGTH = 2**14, 8, 1, 32


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def new_secret() -> str:
    """A fresh random password for a credential."""
    return secrets.token_urlsafe(18)


def new_token() -> str:
    """A fresh random bearer token."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are long and random, so a plain SHA-256 is enough to keep them out of storage."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_secret(secret: str) -> str:
    """Hash a secret with scrypt: ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = Scrypt(salt=salt, length=_LENGTH, n=_N, r=_R, p=_P).derive(secret.encode())
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when ``secret`` matches ``stored``; the comparison runs in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        kdf = Scrypt(salt=base64.b64decode(salt), length=_LENGTH, n=int(n), r=int(r), p=int(p))
        kdf.verify(secret.encode(), base64.b64decode(digest))
    except (InvalidKey, ValueError):
        return False
    return True
