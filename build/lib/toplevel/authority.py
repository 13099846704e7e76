"""A root certificate authority: the top-level node's self-signed root and the certificates it issues."""

from __future__ import annotations

import time
from pathlib import Path

from registry.trust import Grant, KeyStore, SigningKey, issue_certificate, key_handle

__all__ = ["ROOT_PREFIX", "RootAuthority"]

ROOT_PREFIX = "88"
ROOT_LIFETIME = 20 * 365 * 86400
NODE_LIFETIME = 2 * 365 * 86400


class RootAuthority:
    """The root of trust: one key, a self-signed ``everything`` certificate, node certificates."""

    def __init__(self, keys: KeyStore, prefix: str = ROOT_PREFIX) -> None:
        self.keys = keys
        self.prefix = prefix

    @classmethod
    def open(
        cls, directory: str | Path, passphrase: str | None = None, *, alg: str = "ES256"
    ) -> RootAuthority:
        """The authority kept in ``directory``, created with a new key and root certificate if empty."""
        authority = cls(KeyStore(directory, passphrase))
        if authority.keys.active() is None:
            authority.keys.generate(alg)
            signer = authority._signer()
            authority.keys.set_certificate(signer.kid, authority._self_sign(signer))
        return authority

    def _signer(self) -> SigningKey:
        signer = self.keys.active()
        assert signer is not None, "RootAuthority.open creates the root key"
        return signer

    @property
    def root_id(self) -> str:
        """The root key's identity, ``300:0.NA/88``."""
        return f"{self._signer().info.index}:{key_handle(self.prefix)}"

    def _self_sign(self, signer: SigningKey) -> str:
        root_id = f"{signer.info.index}:{key_handle(self.prefix)}"
        return issue_certificate(
            signer.key,
            signer.alg,
            root_id,
            root_id,
            signer.public_jwk(),
            [Grant(key_handle(self.prefix), "everything")],
            lifetime_seconds=ROOT_LIFETIME,
        )

    def root_certificate(self) -> str:
        """The self-signed root certificate verifiers are configured with (``--root FILE``)."""
        signer = self._signer()
        certificate = next(k.certificate for k in self.keys.list() if k.kid == signer.kid)
        return certificate or self._self_sign(signer)

    def issue_certificate(
        self,
        subject_id: str,
        subject_jwk: dict,
        perms: list[Grant],
        *,
        lifetime_seconds: int = NODE_LIFETIME,
        now: int | None = None,
    ) -> str:
        """A certificate for any subject key, signed by the root."""
        signer = self._signer()
        return issue_certificate(
            signer.key,
            signer.alg,
            self.root_id,
            subject_id,
            subject_jwk,
            perms,
            lifetime_seconds=lifetime_seconds,
            now=int(time.time()) if now is None else now,
        )

    def certify_node(
        self,
        node_code: str,
        node_jwk: dict,
        key_index: int = 300,
        *,
        lifetime_seconds: int = NODE_LIFETIME,
        now: int | None = None,
    ) -> str:
        """A secondary node's certificate: ``derivedPrefixes`` on its code."""
        handle = key_handle(node_code)
        return self.issue_certificate(
            f"{key_index}:{handle}",
            node_jwk,
            [Grant(handle, "derivedPrefixes")],
            lifetime_seconds=lifetime_seconds,
            now=now,
        )
