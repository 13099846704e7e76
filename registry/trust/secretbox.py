"""Secrets the node must send again (the top-level sync token), sealed before they are stored.

A token that is only checked can be kept as a hash; one the node itself presents cannot. So it is
sealed with AES-GCM under a key kept outside the database, in a 0600 file beside the node's
signing keys: a copy of the database (a dump, a backup, a file readable by others) holds nothing
that works against the top-level node.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._errors import InvalidInput

__all__ = ["SecretBox", "is_sealed"]

_SCHEME = "sealed1$"
_KEY_BYTES = 32


def is_sealed(stored: str) -> bool:
    """True when ``stored`` is a sealed secret, not one kept in the clear by an older version."""
    return stored.startswith(_SCHEME)


class SecretBox:
    """Seals and opens short secrets, each bound to what it is (its ``purpose``)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def at(cls, path: str | Path) -> SecretBox:
        """The box whose key is in file ``path``, created (0600, in a 0700 directory) if missing."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(_KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            # Several processes may start at once: the first link wins, the others read it.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
            tmp.unlink()
        key = path.read_bytes()
        if len(key) != _KEY_BYTES:
            raise InvalidInput(f"{path} does not hold a {_KEY_BYTES}-byte sealing key")
        return cls(key)

    def seal(self, secret: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), purpose.encode())
        return _SCHEME + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str, purpose: str) -> str | None:
        """The secret, or None when it was sealed under another key or is damaged."""
        if not is_sealed(stored):
            return None
        try:
            raw = base64.b64decode(stored[len(_SCHEME) :], validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except (InvalidTag, ValueError):
            return None
