"""Authentication on the native protocol: the 402 challenge, its answer (opcode 200), and the
IDIS login (opcode 2001) that authenticates a whole TCP connection.

A request that needs an identity and has none gets a 402 carrying a fresh nonce, the request's
digest and a new session id (``Challenges``). The answer names that session and proves holding
the identity's key over ``nonce ‖ digest``: an enterprise credential ``<i>:<prefix>/ADMIN``
(its password, kept sealed, or a registered public key), or any HS_SECKEY / HS_PUBKEY value of
a record here. The challenged request then runs as that identity and is answered with its own
opcode and digest, under the answer's request id. A login's answer binds the identity to its TCP
connection: the IDIS SDKs send later requests there without answering challenges.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from registry import (
    EnterpriseService,
    Handle,
    HandleValue,
    InvalidIdentifier,
    NodeError,
    Principal,
    RecordService,
    Role,
)
from registry.codec import native
from registry.codec.native import OpCode, OpFlag, ProtocolError, ResponseCode
from registry.codec.native.admin import ValueRef
from registry.codec.native.auth import (
    NONCE_BYTES,
    PUBLIC_KEY_AUTH,
    SECRET_KEY_AUTH,
    ChallengeAnswer,
    decode_challenge_answer,
    decode_login,
    decode_verify_request,
    encode_challenge,
    encode_verify_response,
)
from registry.trust import secret_key_forms, verify_public_answer, verify_secret_answer

from .challenges import Challenges
from .dispatch import Answer, Connection, Handler, Request, error_code

__all__ = ["IDENTITY", "Authenticator", "Identity", "Protected"]

logger = logging.getLogger("idnode.native")

IDENTITY = "identity"
ADMIN_SUFFIX = "ADMIN"
_FAILED = "unknown identity, or the answer does not prove holding its key"

Protected = Callable[[Request, "Identity"], Awaitable[Answer | Sequence[Answer]]]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who proved holding a key: the ``index:handle`` and what they may touch as a principal."""

    ref: ValueRef
    principal: Principal


def _key_bytes(value: HandleValue) -> bytes | None:
    try:
        if value.format == "string":
            return value.value.encode()
        if value.format == "base64":
            return base64.b64decode(value.value)
        if value.format == "hex":
            return bytes.fromhex(value.value)
    except (binascii.Error, ValueError):
        return None
    return None


class Authenticator:
    """Challenges, checks answers, and runs the requests they were for."""

    def __init__(
        self,
        records: RecordService,
        enterprises: EnterpriseService,
        challenges: Challenges | None = None,
    ) -> None:
        self.records = records
        self.enterprises = enterprises
        self.challenges = challenges or Challenges()
        self._protected: dict[int, Protected] = {}

    def protect(self, opcode: int, run: Protected) -> Handler:
        """A handler for ``opcode`` that runs ``run`` as an identity, challenging for one first."""
        self._protected[opcode] = run

        async def handler(request: Request) -> Answer | Sequence[Answer]:
            identity = request.connection.state.get(IDENTITY)
            if identity is None:
                return self.challenge(request)
            return await run(request, identity)

        return handler

    def handlers(self) -> dict[int, Handler]:
        """The opcodes answered here: the challenge answer and the IDIS login."""
        return {
            OpCode.RESPONSE_TO_CHALLENGE: self.answer,
            OpCode.VERIFY_CHALLENGE: self.verify_challenge,
            OpCode.LOGIN_ID_SYSTEM: self.login,
        }

    def challenge(self, request: Request) -> Answer:
        """A 402 for ``request``: a nonce, the request's digest, and a session naming both."""
        if request.version < (2, 1):
            return Answer.error(
                ResponseCode.PROTOCOL_ERROR, "authentication needs protocol version 2.1 or later"
            )
        nonce = os.urandom(NONCE_BYTES)
        digest = native.digest_prefix(request.message, request.version)[1:]
        session = self.challenges.issue(request, nonce, digest)
        return Answer(
            ResponseCode.AUTHENTICATION_NEEDED,
            encode_challenge(nonce),
            session_id=session,
            digest=True,
        )

    async def login(self, request: Request) -> Answer:
        """IDIS 2001: always a challenge (the SDKs treat anything else as a failed login)."""
        decode_login(request.body)
        return self.challenge(request)

    async def verify_challenge(self, request: Request) -> Answer:
        """Opcode 201: another server asks whether a secret-key answer it was given proves an
        identity whose HS_SECKEY lives here (``HandleServer.verifyChallenge``)."""
        asked = decode_verify_request(request.body)
        try:
            handle = Handle.parse(asked.handle)
        except InvalidIdentifier as exc:
            raise ProtocolError(exc.message, ResponseCode.INVALID_HANDLE) from exc
        client = request.connection.peer.rpartition(":")[0]
        claimed = f"{asked.index}:{handle}"
        self.enterprises.throttle.check(claimed, client)
        keys, principal = await self._secret(handle, asked.index, client)
        valid = bool(keys) and verify_secret_answer(
            keys, asked.nonce, asked.digest, asked.signed, old_format=request.version < (2, 1)
        )
        self.enterprises.native_result(claimed, client, valid and principal is not None)
        return Answer(ResponseCode.SUCCESS, encode_verify_response(valid))

    async def answer(self, request: Request) -> Answer | Sequence[Answer]:
        """Opcode 200: check the answer, then run the request it was challenged for."""
        session = request.envelope.session_id
        pending = self.challenges.take(session)
        peer = f"{request.connection.transport} {request.connection.peer}"
        if pending is None:
            logger.info("native %s: answer for unknown or expired session %d", peer, session)
            return Answer.error(
                ResponseCode.AUTHEN_TIMEOUT,
                f"no challenge is pending for session {session}: it expired, was answered"
                " already, or never was",
            )
        original = pending.request
        try:
            answer = decode_challenge_answer(request.body)
            identity = await self.verify(answer, pending.nonce, pending.digest, request)
        except (ProtocolError, NodeError) as exc:
            code = exc.code if isinstance(exc, ProtocolError) else error_code(exc)
            logger.info("native %s: authentication failed: %s", peer, exc.message)
            return replace(Answer.error(code, exc.message), request=original.message)
        logger.info("native %s: authenticated as %s", peer, identity.ref)
        if original.header.opcode == OpCode.LOGIN_ID_SYSTEM:
            if request.connection.transport == "tcp":
                request.connection.state[IDENTITY] = identity
            return Answer(ResponseCode.SUCCESS, b"", request=original.message)
        run = self._protected[original.header.opcode]
        try:
            result = await run(original, identity)
        except ProtocolError as exc:
            result = Answer.error(exc.code, exc.message)
        except NodeError as exc:
            result = Answer.error(error_code(exc), exc.message)
        answers = [result] if isinstance(result, Answer) else list(result)
        return [replace(a, request=original.message) for a in answers]

    async def verify(
        self, answer: ChallengeAnswer, nonce: bytes, digest: bytes, request: Request
    ) -> Identity:
        """The identity ``answer`` proves; ``ProtocolError`` 403 when it proves nothing."""
        try:
            handle = Handle.parse(answer.handle)
        except InvalidIdentifier as exc:
            raise ProtocolError(
                f"identity handle: {exc.message}", ResponseCode.AUTHENTICATION_FAILED
            ) from exc
        client = request.connection.peer.rpartition(":")[0]
        claimed = f"{answer.index}:{handle}"
        # Failed answers count against the identity and the client as failed logins do
        # (TooManyAttempts past the limits), whatever kind of identity it is.
        self.enterprises.throttle.check(claimed, client)
        old = request.version < (2, 1)
        if answer.auth_type == SECRET_KEY_AUTH:
            keys, principal = await self._secret(handle, answer.index, client)
            ok = bool(keys) and verify_secret_answer(
                keys, nonce, digest, answer.signed, old_format=old
            )
            index = answer.index
        else:
            assert answer.auth_type == PUBLIC_KEY_AUTH
            index, principal = await self._public(handle, answer, nonce, digest, client)
            ok = principal is not None
        ok = ok and principal is not None
        self.enterprises.native_result(claimed, client, ok)
        if not ok or principal is None:
            raise ProtocolError(f"{_FAILED} ({claimed})", ResponseCode.AUTHENTICATION_FAILED)
        return Identity(ValueRef(str(handle), index), principal)

    async def _secret(
        self, handle: Handle, index: int, client: str
    ) -> tuple[list[bytes], Principal | None]:
        if handle.suffix == ADMIN_SUFFIX:
            # An enterprise credential: its HS_SECKEY value only marks the index; the secret is
            # the password, kept sealed beside its hash.
            credential = await self.enterprises.native_credential(index, handle, client=client)
            if credential is None:
                return [], None
            if credential.secret is None:
                raise ProtocolError(
                    f"{index}:{handle} has no secret the native protocol can check (a key"
                    " credential, or a password issued before the node kept one): issue a new"
                    " credential with `idnode admin credential issue`",
                    ResponseCode.AUTHENTICATION_FAILED,
                )
            return list(secret_key_forms(credential.secret.encode())), credential.principal
        values = await self._values(handle, index, "HS_SECKEY")
        keys = [key for value in values if (key := _key_bytes(value)) is not None]
        return keys, _generic(handle, index)

    async def _public(
        self, handle: Handle, answer: ChallengeAnswer, nonce: bytes, digest: bytes, client: str
    ) -> tuple[int, Principal | None]:
        for value in await self._values(handle, answer.index, "HS_PUBKEY"):
            data = _key_bytes(value) if value.format != "string" else None
            if data is None:
                continue
            try:
                verified = verify_public_answer(data, nonce, digest, answer.signed, str(handle))
            except ProtocolError:
                if answer.index:
                    raise
                continue  # index 0 tries every key: one it cannot use is skipped
            if not verified:
                continue
            if handle.suffix != ADMIN_SUFFIX:
                return value.index, _generic(handle, value.index)
            credential = await self.enterprises.native_credential(
                value.index, handle, client=client
            )
            return value.index, None if credential is None else credential.principal
        return answer.index, None

    async def _values(self, handle: Handle, index: int, kind: str) -> list[HandleValue]:
        record = await self.records.get(handle)
        if record is None:
            return []
        return [v for v in record.values if v.type == kind and (index == 0 or v.index == index)]

    def may_read_private(self, connection: Connection, flags: int, handle: str | None) -> bool:
        """Non-public values go to an authenticated connection that did not ask for PUBL only,
        when its identity administers the handle's prefix (``None``: any handle, maybe)."""
        identity: Identity | None = connection.state.get(IDENTITY)
        if identity is None or flags & OpFlag.PUBL:
            return False
        if handle is None:
            return True
        try:
            return identity.principal.can_read_private(Handle.parse(handle))
        except InvalidIdentifier:
            return False


def _generic(handle: Handle, index: int) -> Principal:
    """An identity that is a record's key, not an enterprise credential: its rights come from
    the HS_ADMIN values of what it touches, so it owns no prefix."""
    return Principal(Role.ENTERPRISE, f"{index}:{handle}")
