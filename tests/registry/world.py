"""A root, a certified node key and the records a verifier fetches, for signing tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from registry import HandleValue
from registry.trust import (
    Grant,
    KeyStore,
    RecordSigner,
    SigningKey,
    issue_certificate,
    verify_record,
)
from toplevel import RootAuthority

__all__ = ["HANDLE", "NODE_KEYS", "World", "sample_values"]

HANDLE = "88.118.8/JXDY2106023"
NODE_KEYS = "0.NA/88.118"


class World:
    """A root, a certified node key, and the prefix records a verifier fetches."""

    def __init__(self, tmp: Path, alg: str = "ES256") -> None:
        self.root = RootAuthority.open(tmp / "root", alg=alg)
        self.node = self._key(tmp / "node", alg)
        self.node_cert = self.root.certify_node("88.118", self.node.public_jwk(), 300)
        self.records: dict[str, list[HandleValue]] = {}
        self.publish_node(self.node_cert)
        self.signer = RecordSigner("88.118", self.node)
        self.fetched: list[str] = []

    @staticmethod
    def _key(directory: Path, alg: str = "ES256") -> SigningKey:
        store = KeyStore(directory)
        store.generate(alg)
        active = store.active()
        assert active is not None
        return active

    def publish_node(self, *certs: str) -> None:
        self.records[NODE_KEYS] = [
            HandleValue(300, "HS_PUBKEY", "key", self.node.public_jwk()),
            *(HandleValue(400 + i, "HS_CERT", "string", c) for i, c in enumerate(certs)),
        ]

    async def fetch(self, handle: str) -> Sequence[HandleValue] | None:
        self.fetched.append(handle)
        return self.records.get(handle)

    def enterprise(
        self, tmp: Path, prefix: str, alg: str = "ES256"
    ) -> tuple[RecordSigner, HandleValue]:
        """An enterprise key (``alg``) certified by the node, and its HS_CERT value."""
        key = self._key(tmp / f"enterprise-{prefix}", alg)
        cert = issue_certificate(
            self.node.key,
            self.node.alg,
            f"300:{NODE_KEYS}",
            f"300:0.NA/{prefix}",
            key.public_jwk(),
            [Grant(f"0.NA/{prefix}", "handlesUnderThisPrefix")],
            lifetime_seconds=86400,
        )
        return RecordSigner(prefix, key), HandleValue(450, "HS_CERT", "string", cert)

    async def verify(self, values: Sequence[HandleValue], **kwargs):
        root = kwargs.pop("root", self.root.root_certificate())
        return await verify_record(HANDLE, values, root, self.fetch, **kwargs)


def sample_values() -> list[HandleValue]:
    return [
        HandleValue(1, "URL", "string", "https://example.com/p/1"),
        HandleValue(2, "EMAIL", "string", "qa@example.com"),
    ]
