"""Secrets the node must send again (the top-level sync token), sealed before they are stored.

A token that is only checked can be kept as a hash; one the node itself presents cannot. So it is
sealed with AES-GCM (SM4-GCM in the gm profile) under a key kept outside the database, in a 0600 file beside the node's
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
from .gm import SM4GCM, derive_sm4_key

__all__ = ["SecretBox", "is_sealed"]

_SCHEME = "sealed1$"
# The stored form names its cipher: AES-GCM ("sealed1$", the original) or SM4-GCM.
_SM4_SCHEME = "sm4sealed1$"
_KEY_BYTES = 32


def is_sealed(stored: str) -> bool:
    """True when ``stored`` is a sealed secret, not one kept in the clear by an older version."""
    return stored.startswith((_SCHEME, _SM4_SCHEME))


class SecretBox:
    """Seals and opens short secrets, each bound to what it is (its ``purpose``).

    ``sealing`` ("AES" or "SM4") is the cipher of new seals; either opens.
    """

    def __init__(self, key: bytes, sealing: str = "AES") -> None:
        if sealing not in ("AES", "SM4"):
            raise ValueError("sealing must be AES or SM4")
        self._aeads: dict[str, AESGCM | SM4GCM] = {
            _SCHEME: AESGCM(key),
            _SM4_SCHEME: SM4GCM(derive_sm4_key(b"idnode secret box sm4", key)),
        }
        self._scheme = _SM4_SCHEME if sealing == "SM4" else _SCHEME

    @classmethod
    def at(cls, path: str | Path, sealing: str = "AES") -> SecretBox:
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
        return cls(key, sealing)

    def seal(self, secret: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aeads[self._scheme].encrypt(nonce, secret.encode(), purpose.encode())
        return self._scheme + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str, purpose: str) -> str | None:
        """The secret, or None when it was sealed under another key or is damaged."""
        scheme = next((s for s in (_SM4_SCHEME, _SCHEME) if stored.startswith(s)), None)
        if scheme is None:
            return None
        try:
            raw = base64.b64decode(stored[len(scheme) :], validate=True)
            return self._aeads[scheme].decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except (InvalidTag, ValueError):
            return None
