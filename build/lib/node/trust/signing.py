"""The records that publish the node's keys and certificates, and certificates for enterprises."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from registry import (
    ADMIN,
    EntityNotFound,
    Handle,
    HandleNotFound,
    HandleValue,
    InvalidInput,
    Permissions,
    Prefix,
)
from registry.trust import (
    Certificate,
    Grant,
    KeyStore,
    check_public_jwk,
    issue_certificate,
    key_handle,
)

from ..keys import key_store
from ..settings import Settings

if TYPE_CHECKING:
    from registry import RecordService

    from ..context import NodeContext

__all__ = [
    "certify_enterprise",
    "install_certificate",
    "key_store",
    "publish_enterprise_certificate",
    "publish_keys",
    "put_merged",
]

FIRST_CERT_INDEX = 400
ENTERPRISE_LIFETIME = 365 * 86400


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


async def publish_keys(records: RecordService, settings: Settings) -> list[HandleValue]:
    """Write the node's public keys (HS_PUBKEY 300+) and certificates (HS_CERT 400+) to ``0.NA/<code>``."""
    values = _key_values(key_store(settings))
    if not values:
        raise InvalidInput("the node has no keys yet; run: idnode keys generate")
    handle = Handle.parse(key_handle(settings.node_code))
    await put_merged(records, handle, values)
    return values


async def put_merged(records: RecordService, handle: Handle, values: list[HandleValue]) -> None:
    """Add or replace ``values`` in ``handle``'s record, creating it when it does not exist."""
    try:
        await records.put(ADMIN, handle, values, indexes="various")
    except HandleNotFound:
        await records.put(ADMIN, handle, values)


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
    await put_merged(context.records, handle, values)
    return str(handle), cert
