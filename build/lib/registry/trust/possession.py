"""Proof of possession of a node's key, so a registered node alone can re-register or re-key.

The bootstrap credential is shared by every node, so it cannot say which node is asking. A node
already registered at the top-level node proves it is that node by signing its registration with
the key the top-level node holds for it: a JWS over the request (code, site, new key, key index)
with a time and a one-time id, so it cannot be replayed nor moved to another request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .._errors import Forbidden, InvalidValue
from .jose import BadSignature, sign_jws, verify_jws
from .keys import SigningKey

__all__ = ["PROOF_SKEW_SECONDS", "RegistrationProof", "check_registration", "sign_registration"]

PROOF_SKEW_SECONDS = 300
_PURPOSE = "idnode-node-registration"


@dataclass(frozen=True, slots=True)
class RegistrationProof:
    """A checked proof: its one-time id and when it stops being accepted (Unix seconds)."""

    jti: str
    expires: int


def _key_digest(public_key: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(orjson.dumps(dict(public_key), option=orjson.OPT_SORT_KEYS)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _bound(
    node_code: str, base_url: str, public_key: Mapping[str, Any], key_index: int
) -> dict[str, Any]:
    return {
        "purpose": _PURPOSE,
        "sub": node_code,
        "baseUrl": base_url,
        "keyIndex": key_index,
        "keyDigest": _key_digest(public_key),
    }


def sign_registration(
    signer: SigningKey,
    node_code: str,
    base_url: str,
    public_key: Mapping[str, Any],
    key_index: int,
    *,
    now: int | None = None,
) -> str:
    """The ``proof`` of a registration request, signed with the key the top-level node knows."""
    claims = {
        **_bound(node_code, base_url, public_key, key_index),
        "iat": int(time.time()) if now is None else now,
        "jti": secrets.token_urlsafe(16),
    }
    return sign_jws(signer.key, signer.alg, signer.kid, claims)


def check_registration(
    proof: str | None,
    current_key: Mapping[str, Any],
    node_code: str,
    base_url: str,
    public_key: Mapping[str, Any],
    key_index: int,
    *,
    now: int | None = None,
) -> RegistrationProof:
    """The proof, once it is signed by ``current_key`` for exactly this request and is fresh.

    ``Forbidden`` names what is wrong; whether its ``jti`` was seen before is the caller's to check.
    """
    if not proof:
        raise Forbidden(
            f"node {node_code} is already registered: re-registering needs a 'proof' signed by"
            " its current key"
        )
    try:
        claims = verify_jws(proof, current_key)
    except (BadSignature, InvalidValue) as exc:
        raise Forbidden(
            f"the proof is not signed by the current key of node {node_code}: {exc}"
        ) from None
    expected = _bound(node_code, base_url, public_key, key_index)
    wrong = sorted(name for name, value in expected.items() if claims.get(name) != value)
    if wrong:
        raise Forbidden(f"the proof was made for another request: {wrong} differ")
    moment = int(time.time()) if now is None else now
    issued, jti = claims.get("iat"), claims.get("jti")
    if type(issued) is not int or abs(moment - issued) > PROOF_SKEW_SECONDS:
        raise Forbidden(
            f"the proof's time (iat) must be within {PROOF_SKEW_SECONDS} s of the top-level's clock"
        )
    if not isinstance(jti, str) or not 8 <= len(jti) <= 64:
        raise Forbidden("the proof needs a one-time id (jti) of 8 to 64 characters")
    return RegistrationProof(jti, issued + PROOF_SKEW_SECONDS)
