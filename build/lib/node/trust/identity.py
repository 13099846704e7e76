"""The node's trust key as the top-level node sees it: presented at onboarding, then certified."""

from __future__ import annotations

import fcntl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry import EntityNotFound, RecordService
from registry.trust import SigningKey, sign_registration

from ..keys import default_alg
from ..settings import Settings
from .signing import install_certificate, key_store, publish_keys

__all__ = ["NodeIdentity", "NodeKey", "ensure_key"]

_LOCK_FILE = ".lock"


def ensure_key(settings: Settings) -> SigningKey:
    """The node's active key, generated (ES256, SM2 in the gm profile) when it has none yet."""
    store = key_store(settings)
    directory = Path(settings.keys_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Several workers start at once on a fresh machine: exactly one of them generates the key.
    with open(directory / _LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            active = store.active()
            if active is None:
                store.generate(default_alg(settings))
                active = store.active()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    assert active is not None, "KeyStore.generate activates the first key"
    return active


@dataclass(frozen=True, slots=True)
class NodeKey:
    """What onboarding presents: the key's id, its HS_PUBKEY index and its public JWK."""

    kid: str
    index: int
    jwk: dict[str, Any]


class NodeIdentity:
    """The active key sent when onboarding, and the certificate installed when it comes back."""

    def __init__(self, settings: Settings, records: RecordService) -> None:
        self.settings = settings
        self.records = records
        self._key: NodeKey | None = None

    async def key(self) -> NodeKey:
        """The active key (created on first use); reloaded only when another key became active."""
        settings = self.settings
        known = self._key
        if known is not None and any(
            info.active and info.kid == known.kid for info in key_store(settings).list()
        ):
            return known
        active = ensure_key(settings)
        self._key = NodeKey(active.kid, active.info.index, active.public_jwk())
        return self._key

    async def install(self, certificate: str) -> str:
        """Keep the certificate beside its key and publish it at ``0.NA/<code>``; the key id."""
        kid = install_certificate(self.settings, certificate)
        await publish_keys(self.records, self.settings)
        return kid

    async def prove(self, kid: str | None, code: str, base_url: str, key: NodeKey) -> str:
        """A registration proof for ``key``, signed by key ``kid`` (the one the top-level knows).

        Without ``kid`` (never onboarded), or if that key is gone, the active key signs.
        """
        settings = self.settings
        store = key_store(settings)
        try:
            signer = store.load(kid) if kid else ensure_key(settings)
        except EntityNotFound:
            signer = ensure_key(settings)
        return sign_registration(signer, code, base_url, key.jwk, key.index)
