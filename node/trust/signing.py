"""The node's signer, built from its key store, and the records that publish keys and certificates."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import (
    ADMIN,
    Certificate,
    EntityNotFound,
    Grant,
    Handle,
    HandleNotFound,
    HandleValue,
    InvalidInput,
    InvalidValue,
    KeyStore,
    NodeError,
    Permissions,
    Prefix,
    RecordSigner,
    SealingPool,
    SealItems,
    check_public_jwk,
    issue_certificate,
    key_handle,
    seal_each,
    seal_in_process,
)

from ..settings import Settings

if TYPE_CHECKING:
    from ..context import NodeContext

__all__ = [
    "KeyWatchingSigner",
    "build_signer",
    "certify_enterprise",
    "install_certificate",
    "key_store",
    "publish_enterprise_certificate",
    "publish_keys",
    "put_merged",
]

FIRST_CERT_INDEX = 400
ENTERPRISE_LIFETIME = 365 * 86400


def key_store(settings: Settings) -> KeyStore:
    """The node's key store as the settings describe it."""
    passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
    return KeyStore(settings.keys_dir, passphrase)


class KeyWatchingSigner:
    """The node's sealer: signs with the active key, and picks up ``idnode keys rotate`` (or a
    first ``keys generate``) without a restart by re-reading the key index when it changes.

    Batches are signed in ``pool``'s processes when there is one.
    """

    def __init__(self, settings: Settings, pool: SealingPool | None = None) -> None:
        self.settings = settings
        self.pool = pool
        self.store = key_store(settings)
        self._index = Path(settings.keys_dir) / "keys.json"
        self._stamp: float | None = None
        self._checked = float("-inf")
        self._signer: RecordSigner | None = None
        self._reload()

    def _reload(self) -> None:
        try:
            stamp = self._index.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        active = self.store.active()
        known = [self.store.load(info.kid) for info in self.store.list() if not info.active]
        self._signer = (
            None
            if active is None
            else RecordSigner(
                self.settings.node_code,
                active,
                known,
                lifetime_seconds=self.settings.signature_lifetime_seconds,
            )
        )
        self._stamp = stamp

    @property
    def signer(self) -> RecordSigner | None:
        """The signer in use now (None until the node has a key)."""
        now = time.monotonic()
        if now - self._checked >= self.settings.key_recheck_seconds:
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


def build_signer(settings: Settings) -> KeyWatchingSigner | None:
    """The sealer that signs every write once the node has a key; None when signing is off."""
    if not settings.sign_records:
        return None
    processes = settings.sealing_processes
    return KeyWatchingSigner(settings, SealingPool(processes) if processes else None)


def _key_values(store: KeyStore) -> list[HandleValue]:
    values = []
    certificates = []
    now = time.time()
    for info in store.list():
        jwk = store.load(info.kid).public_jwk()
        values.append(HandleValue(info.index, "HS_PUBKEY", "key", jwk, permissions=Permissions()))
        # Every key's certificate until it expires: what the older keys signed stays verifiable.
        if info.certificate and Certificate.parse(info.certificate).exp > now:
            certificates.append(info.certificate)
    for offset, certificate in enumerate(certificates):
        values.append(HandleValue(FIRST_CERT_INDEX + offset, "HS_CERT", "string", certificate))
    return values


async def publish_keys(context: NodeContext) -> list[HandleValue]:
    """Write the node's public keys (HS_PUBKEY 300+) and certificates (HS_CERT 400+) to ``0.NA/<code>``."""
    values = _key_values(key_store(context.settings))
    if not values:
        raise InvalidInput("the node has no keys yet; run: idnode keys generate")
    handle = Handle.parse(key_handle(context.settings.node_code))
    await put_merged(context, handle, values)
    return values


async def put_merged(context: NodeContext, handle: Handle, values: list[HandleValue]) -> None:
    """Add or replace ``values`` in ``handle``'s record, creating it when it does not exist."""
    try:
        await context.records.put(ADMIN, handle, values, indexes="various")
    except HandleNotFound:
        await context.records.put(ADMIN, handle, values)


def install_certificate(settings: Settings, token: str) -> str:
    """Store a certificate the top-level node issued for one of our keys; returns that key's id."""
    cert = Certificate.parse(token.strip())
    store = key_store(settings)
    for info in store.list():
        if store.load(info.kid).public_jwk().get("kid") == cert.public_jwk.get("kid"):
            store.set_certificate(info.kid, cert.token)
            return info.kid
    raise InvalidInput("the certificate's publicKey is none of this node's keys")


def certify_enterprise(
    settings: Settings,
    prefix: str,
    jwk: dict[str, Any],
    *,
    key_index: int = 300,
    lifetime_seconds: int = ENTERPRISE_LIFETIME,
    now: int | None = None,
) -> str:
    """An enterprise certificate: ``handlesUnderThisPrefix`` on its prefix, signed by the node's key."""
    jwk = check_public_jwk(jwk)
    node_prefix = Prefix.parse(settings.node_code)
    enterprise = Prefix.parse(prefix)
    if not enterprise.is_within(node_prefix) or enterprise == node_prefix:
        raise InvalidInput(f"prefix {enterprise} is not under this node's code {node_prefix}")
    store = key_store(settings)
    active = store.active()
    if active is None:
        raise InvalidInput("the node has no keys yet; run: idnode keys generate")
    handle = key_handle(enterprise)
    return issue_certificate(
        active.key,
        active.alg,
        f"{active.info.index}:{key_handle(node_prefix)}",
        f"{key_index}:{handle}",
        jwk,
        [Grant(handle, "handlesUnderThisPrefix")],
        lifetime_seconds=lifetime_seconds,
        now=int(time.time()) if now is None else now,
    )


async def publish_enterprise_certificate(
    context: NodeContext,
    prefix: str,
    jwk: dict[str, Any],
    *,
    key_index: int = 300,
    lifetime_seconds: int = ENTERPRISE_LIFETIME,
) -> tuple[str, str]:
    """Certify an enterprise's key and publish it at ``0.NA/<prefix>``; (handle, certificate)."""
    parsed = str(Prefix.parse(prefix))
    if await context.enterprises.holder_of(parsed) is None:
        raise EntityNotFound(f"prefix {parsed} is not allocated to an enterprise on this node")
    cert = certify_enterprise(
        context.settings, parsed, jwk, key_index=key_index, lifetime_seconds=lifetime_seconds
    )
    handle = Handle.parse(key_handle(parsed))
    values = [
        HandleValue(key_index, "HS_PUBKEY", "key", check_public_jwk(jwk)),
        HandleValue(FIRST_CERT_INDEX, "HS_CERT", "string", cert),
    ]
    await put_merged(context, handle, values)
    return str(handle), cert
