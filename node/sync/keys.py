"""The node's public key as sent when onboarding (a stand-in until the trust layer's key)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from registry import SyncStore

__all__ = ["stored_public_jwk"]

_NAME = "node_public_jwk"


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()


async def stored_public_jwk(store: SyncStore) -> dict[str, Any]:
    """An ES256 public JWK kept in sync state; its private half stays beside it, unexported."""
    known = await store.get(_NAME)
    if known is not None:
        return orjson.loads(known)
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x), "y": _b64(numbers.y)}
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    await store.put("node_private_key", pem)
    await store.put(_NAME, orjson.dumps(jwk).decode())
    return jwk
