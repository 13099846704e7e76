"""The node's sealer: signs with the active key of a key store, following rotations as they happen."""

from __future__ import annotations

import time

from .._errors import InvalidValue, NodeError
from .._grammar import Handle
from .._values import HandleValue
from .keys import KeyStore
from .sealing import SealingPool, SealItems, seal_each, seal_in_process
from .signer import RecordSigner

__all__ = ["KeyWatchingSigner"]


class KeyWatchingSigner:
    """The node's sealer: signs with the active key, and picks up ``idnode keys rotate`` (or a
    first ``keys generate``) without a restart by re-reading the key index when it changes.

    Batches are signed in ``pool``'s processes when there is one.
    """

    def __init__(
        self,
        store: KeyStore,
        node_code: str,
        *,
        lifetime_seconds: int,
        recheck_seconds: float,
        pool: SealingPool | None = None,
        digest_alg: str | None = None,
    ) -> None:
        self.store = store
        # None: SM3 digests for an SM2 key, SHA-256 for the others (see RecordSigner).
        self.digest_alg = digest_alg
        self.node_code = node_code
        self.lifetime_seconds = lifetime_seconds
        self.recheck_seconds = recheck_seconds
        self.pool = pool
        self._stamp: int | None = None
        self._checked = float("-inf")
        self._signer: RecordSigner | None = None
        self._reload()

    def _reload(self) -> None:
        stamp = self.store.stamp()
        if stamp == self._stamp:
            return
        active = self.store.active()
        known = [self.store.load(info.kid) for info in self.store.list() if not info.active]
        self._signer = (
            None
            if active is None
            else RecordSigner(
                self.node_code,
                active,
                known,
                lifetime_seconds=self.lifetime_seconds,
                digest_alg=self.digest_alg,
            )
        )
        self._stamp = stamp

    @property
    def signer(self) -> RecordSigner | None:
        """The signer in use now (None until the node has a key)."""
        now = time.monotonic()
        if now - self._checked >= self.recheck_seconds:
            self._checked = now
            self._reload()
        return self._signer

    def __call__(self, handle: Handle, values: list[HandleValue]) -> list[HandleValue]:
        signer = self.signer
        if signer is not None:
            return signer(handle, values)
        signed = [v.index for v in values if v.type == "HS_SIGNATURE"]
        if signed:
            raise InvalidValue(
                f"value index {signed[0]} (HS_SIGNATURE) cannot be verified: this node has no"
                " signing key yet (idnode keys generate)",
                handle=str(handle),
            )
        return values

    async def seal_many(self, items: SealItems) -> list[str | NodeError]:
        """A batch sealed as ``__call__`` seals one record, in the pool when there is one."""
        signer = self.signer
        if signer is None:
            return seal_each(self, items)
        if self.pool is None:
            return seal_in_process(signer, items)
        return await self.pool.seal(signer, items)

    def close(self) -> None:
        """Stop the pool's processes."""
        if self.pool is not None:
            self.pool.close()
