"""Administering a Handle server as an identity: answering its challenges, then CREATE, DELETE,
ADD/REMOVE/MODIFY_VALUE and LIST_HANDLES, over a ``HandleClient``.

    async with HandleClient(host, port) as client:
        admin = AdminClient(client, SecretKeyAuth("88.118.8/ADMIN", 300, b"demo-password"))
        await admin.create("88.118.8/X1", values)

A request answered with 402 is answered in turn with the identity's proof over the challenge's
nonce and the request's digest (as Handle.Net's ``SecretKeyAuthenticationInfo`` and
``PublicKeyAuthenticationInfo`` do): a PBKDF2-HMAC-SHA1 MAC for a secret key, a SHA-256
signature for an RSA or DSA private key. ``login`` authenticates a TCP connection the IDIS way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa

from registry import HandleValue
from registry.codec import native
from registry.codec.native import OpCode, OpFlag, ResponseCode
from registry.codec.native.admin_bodies import (
    RemoveValues,
    ValuesRequest,
    decode_create_response,
    decode_list_response,
    encode_remove_values,
    encode_values_request,
)
from registry.codec.native.auth import (
    PUBLIC_KEY_AUTH,
    SECRET_KEY_AUTH,
    ChallengeAnswer,
    LoginRequest,
    decode_challenge,
    encode_challenge_answer,
    encode_login,
)
from registry.codec.native.keys import (
    MacAlg,
    PublicAnswer,
    SecretAnswer,
    encode_public_answer,
    encode_secret_answer,
)
from registry.trust import mac_of

from .client import HandleClient, HandleError, Reply

__all__ = ["AdminClient", "Auth", "PrivateKeyAuth", "SecretKeyAuth"]


class Auth(Protocol):
    """An identity that can answer a challenge."""

    auth_type: str
    handle: str
    index: int

    def sign(self, nonce: bytes, digest: bytes) -> bytes: ...


@dataclass(frozen=True)
class SecretKeyAuth:
    """An HS_SECKEY identity: answers with PBKDF2-HMAC-SHA1 (10,000 rounds, 160 bits)."""

    handle: str
    index: int
    secret: bytes
    auth_type: str = SECRET_KEY_AUTH

    def sign(self, nonce: bytes, digest: bytes) -> bytes:
        shape = SecretAnswer(MacAlg.PBKDF2_HMAC_SHA1, b"", os.urandom(16), 10_000, 160)
        mac = mac_of(shape, self.secret, nonce + digest)
        return encode_secret_answer(
            SecretAnswer(shape.alg, mac, shape.salt, shape.iterations, shape.key_bits)
        )


@dataclass(frozen=True)
class PrivateKeyAuth:
    """An HS_PUBKEY identity: answers with a SHA-256 signature by its RSA or DSA private key."""

    handle: str
    index: int
    key: rsa.RSAPrivateKey | dsa.DSAPrivateKey
    auth_type: str = PUBLIC_KEY_AUTH

    def sign(self, nonce: bytes, digest: bytes) -> bytes:
        data = nonce + digest
        if isinstance(self.key, rsa.RSAPrivateKey):
            signature = self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = self.key.sign(data, hashes.SHA256())
        return encode_public_answer(PublicAnswer("SHA256", signature))


def _check(replies: Sequence[Reply]) -> None:
    for reply in replies:
        if reply.code != ResponseCode.SUCCESS:
            raise HandleError(reply.code, native.decode_error(reply.reader()))


class AdminClient:
    """Administration requests as ``auth``, answering the server's challenges."""

    def __init__(self, client: HandleClient, auth: Auth) -> None:
        self.client = client
        self.auth = auth

    async def request(self, opcode: int, body: bytes, *, flags: int = 0) -> list[Reply]:
        """Send a request; answer a 402 with the identity's proof; the final answers."""
        # Without RRDG: the answer to a challenged request carries the digest of the request,
        # not of the answer that released it, and the client checks digests against what it
        # sent last. The challenge carries the digest anyway.
        replies = await self.client.request(opcode, body, flags=flags & ~OpFlag.RRDG)
        first = replies[0]
        if first.code != ResponseCode.AUTHENTICATION_NEEDED:
            return replies
        nonce = decode_challenge(first.reader())
        if not first.digest:
            raise HandleError(first.code, "the challenge carries no request digest")
        signed = self.auth.sign(nonce, first.digest[1:])
        answer = ChallengeAnswer(self.auth.auth_type, self.auth.handle, self.auth.index, signed)
        return await self.client.request(
            OpCode.RESPONSE_TO_CHALLENGE,
            encode_challenge_answer(answer),
            session_id=first.envelope.session_id,
        )

    async def login(self) -> None:
        """The IDIS login (2001): later requests on this TCP connection need no challenge."""
        body = encode_login(LoginRequest(self.auth.handle, self.auth.index))
        _check(await self.request(OpCode.LOGIN_ID_SYSTEM, body))

    async def create(
        self,
        handle: str,
        values: Sequence[HandleValue],
        *,
        overwrite: bool = False,
        mint: bool = False,
    ) -> str:
        """Create ``handle`` (with ``mint``: under a suffix the server adds); the handle made."""
        flags = (OpFlag.OVRW if overwrite else 0) | (OpFlag.MINT if mint else 0)
        body = encode_values_request(ValuesRequest(handle, tuple(values)))
        replies = await self.request(OpCode.CREATE_HANDLE, body, flags=flags)
        _check(replies)
        return decode_create_response(replies[0].reader()) or handle

    async def delete(self, handle: str) -> None:
        body = native.encode_handle_request(handle.encode())
        _check(await self.request(OpCode.DELETE_HANDLE, body))

    async def add_values(
        self, handle: str, values: Sequence[HandleValue], *, overwrite: bool = False
    ) -> None:
        body = encode_values_request(ValuesRequest(handle, tuple(values)))
        flags = OpFlag.OVRW if overwrite else 0
        _check(await self.request(OpCode.ADD_VALUE, body, flags=flags))

    async def modify_values(self, handle: str, values: Sequence[HandleValue]) -> None:
        body = encode_values_request(ValuesRequest(handle, tuple(values)))
        _check(await self.request(OpCode.MODIFY_VALUE, body))

    async def remove_values(self, handle: str, indexes: Sequence[int]) -> None:
        body = encode_remove_values(RemoveValues(handle, tuple(indexes)))
        _check(await self.request(OpCode.REMOVE_VALUE, body))

    async def list_handles(self, prefix: str) -> list[str]:
        body = native.encode_handle_request(f"0.NA/{prefix}".encode())
        replies = await self.request(OpCode.LIST_HANDLES, body)
        _check(replies)
        return [handle for reply in replies for handle in decode_list_response(reply.reader())]
