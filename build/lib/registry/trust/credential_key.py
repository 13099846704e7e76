"""The node's credential key: a random secret in the keys directory, made on first use.

It seals the verifiers the SNMS cipher login needs (see ``cipher``). Every process of one node
(``idnode serve``'s workers, ``idnode admin credential issue``) reads the same file, so whichever
starts first makes it and the others use it; ``IDNODE_CREDENTIAL_KEY`` takes its place when set.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from .._errors import InvalidInput
from .cipher import CipherKey

__all__ = ["CREDENTIAL_KEY_FILE", "ensure_credential_key"]

CREDENTIAL_KEY_FILE = "credential.key"


def ensure_credential_key(directory: str | Path, sealing: str = "AES") -> CipherKey:
    """The key kept in ``directory``, generated (mode 0600) when there is none yet.

    ``sealing`` ("AES" or "SM4") is the cipher new verifiers are sealed with.
    """
    path = Path(directory) / CREDENTIAL_KEY_FILE
    if not path.exists():
        _create(path)
    secret = path.read_text().strip()
    if not secret:
        raise InvalidInput(f"the credential key file {path} is empty; remove it or restore it")
    return CipherKey(secret, sealing)


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written in full under a name of its own, then linked into place: link fails when the file
    # exists, so of several processes starting at once exactly one key wins, and nobody reads a
    # half-written one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
