"""From a received message to the messages answering it: one table of handlers by opcode.

``Dispatcher.respond`` decodes the header, checks version and expiry, runs the handler the
opcode names, and encodes its ``Answer`` (or several, for CONT-chunked answers) at the
negotiated version with the request digest when RRDG asks for it. Every failure becomes an
error answer here, in one place: ``ProtocolError`` with its own code, ``NodeError`` through
``error_code``, anything else as 2 (logged with its traceback).
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from registry import (
    AlreadyExists,
    Forbidden,
    HandleAlreadyExists,
    HandleNotFound,
    InvalidIdentifier,
    InvalidInput,
    InvalidValue,
    NodeError,
    NotFound,
    Unauthenticated,
    Unavailable,
    ValueAlreadyExists,
    ValuesNotFound,
)
from registry.codec import native
from registry.codec.native import Envelope, Header, Message, OpFlag, ProtocolError, ResponseCode

__all__ = [
    "Answer",
    "Connection",
    "Dispatcher",
    "FastHandler",
    "Handler",
    "Request",
    "error_code",
]

logger = logging.getLogger("idnode.native")

# Flags a response carries over from its request (Handle.Net's AbstractResponse does the same).
_ECHOED = int(OpFlag.AUTH | OpFlag.RECU | OpFlag.KPAL | OpFlag.PUBL | OpFlag.CACR)
_RRDG = int(OpFlag.RRDG)
# Plain structs rather than the codec's objects: this runs for every answer.
_HEADER = struct.Struct(">IIIhBBII")
_ENVELOPE = struct.Struct(">BBBBIIII")
_SUGGEST, _SUGGEST_MINOR = native.SERVER_VERSION
_NO_CREDENTIAL = bytes(4)


@dataclass
class Connection:
    """Where requests come from: a TCP connection, or one UDP peer; ``state`` is for handlers.

    Authentication bound to a connection (the IDIS login) lives in ``state``.
    """

    transport: str  # "tcp" or "udp"
    peer: str
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Request:
    """One decoded request and where it came from."""

    envelope: Envelope
    message: Message
    connection: Connection
    version: tuple[int, int]

    @property
    def header(self) -> Header:
        return self.message.header

    @property
    def body(self) -> native.Reader:
        """A fresh reader over the body."""
        return native.Reader(self.message.body)

    def has(self, flag: OpFlag) -> bool:
        return self.message.header.has(flag)


@dataclass(frozen=True, slots=True)
class Answer:
    """A response's code and body (without the request digest, which is added for it).

    ``flags`` are added to the echoed ones (CONT for all but the last of several answers);
    ``session_id`` replaces the request's (a 402 challenge names a new session). ``request``
    answers another request than the one received (a challenged request, once its challenge is
    answered: its opcode, flags and digest); ``digest`` adds the request digest even without
    RRDG (a challenge always carries it).
    """

    code: int
    body: bytes
    flags: int = 0
    session_id: int | None = None
    request: Message | None = None
    digest: bool = False

    @classmethod
    def error(cls, code: int, message: str = "") -> Answer:
        return cls(int(code), native.encode_error(message))


Handler = Callable[[Request], Awaitable[Answer | Sequence[Answer]]]
# Answers from the raw body and op flags without waiting when it can (a cache hit); None leaves
# the request to the opcode's handler.
FastHandler = Callable[[bytes, int, "Connection"], "Answer | None"]

_ERROR_CODES: tuple[tuple[type[NodeError], int], ...] = (
    (HandleNotFound, ResponseCode.HANDLE_NOT_FOUND),
    (ValuesNotFound, ResponseCode.VALUES_NOT_FOUND),
    (HandleAlreadyExists, ResponseCode.HANDLE_ALREADY_EXISTS),
    (ValueAlreadyExists, ResponseCode.VALUE_ALREADY_EXISTS),
    (InvalidIdentifier, ResponseCode.INVALID_HANDLE),
    (InvalidValue, ResponseCode.INVALID_VALUE),
    (InvalidInput, ResponseCode.PROTOCOL_ERROR),
    (Unauthenticated, ResponseCode.AUTHENTICATION_FAILED),
    (Forbidden, ResponseCode.INSUFFICIENT_PERMISSIONS),
    (NotFound, ResponseCode.HANDLE_NOT_FOUND),
    (AlreadyExists, ResponseCode.HANDLE_ALREADY_EXISTS),
    (Unavailable, ResponseCode.SERVER_TOO_BUSY),
)


def error_code(exc: NodeError) -> int:
    """The native response code of a domain error (2 when nothing closer fits)."""
    for kind, code in _ERROR_CODES:
        if isinstance(exc, kind):
            return int(code)
    return int(ResponseCode.ERROR)


class Dispatcher:
    """Answers messages through ``handlers`` (opcode → handler); add more with ``register``."""

    def __init__(
        self,
        handlers: dict[int, Handler] | None = None,
        *,
        site_serial: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.handlers: dict[int, Handler] = dict(handlers or {})
        self.fast: dict[int, FastHandler] = {}
        self.site_serial = site_serial
        self.clock = clock

    def register(self, opcode: int, handler: Handler, fast: FastHandler | None = None) -> None:
        """Answer ``opcode`` with ``handler``; ``fast`` answers it without waiting when it can."""
        self.handlers[opcode] = handler
        if fast is not None:
            self.fast[opcode] = fast
        else:
            self.fast.pop(opcode, None)

    def respond_now(
        self, envelope: Envelope, data: bytes, connection: Connection
    ) -> list[bytes] | None:
        """The answer to ``data`` when its opcode's fast handler has it at hand, else ``None``.

        Reads the header straight from the bytes (this is every cache hit's path); ``None``
        sends the request down ``respond``, which also answers every problem.
        """
        if len(data) < native.HEADER_SIZE:
            return None
        opcode, code, flags, _, recursion, _, expiration, length = _HEADER.unpack_from(data)
        fast = self.fast.get(opcode)
        end = native.HEADER_SIZE + length
        if (
            fast is None
            or code
            or (expiration and expiration < self.clock())
            # No credential, or an empty one; anything else takes the full path.
            or (len(data) != end and data[end:] != _NO_CREDENTIAL)
        ):
            return None
        try:
            answer = fast(data[native.HEADER_SIZE : end], flags, connection)
        except (ProtocolError, NodeError):
            return None
        if answer is None:
            return None
        version = native.reply_version(envelope)
        digest = b""
        if flags & _RRDG and version >= (2, 1):
            digest = native.digest_prefix_of(data[:end], version)
        return [self._pack(envelope, version, opcode, flags, recursion, digest, answer)]

    async def respond(self, envelope: Envelope, data: bytes, connection: Connection) -> list[bytes]:
        """The frames (envelope and message each) answering ``data``, one whole message."""
        version = native.reply_version(envelope)
        try:
            message = native.decode_message(data)
        except ProtocolError as exc:
            logger.info(
                "native %s %s: malformed message: %s",
                connection.transport,
                connection.peer,
                exc.message,
            )
            header = Header(0, ResponseCode.RESERVED)
            return [
                self._frame(envelope, version, header, None, Answer.error(exc.code, exc.message))
            ]
        request = Request(envelope, message, connection, version)
        answers = await self._answers(request)
        if isinstance(answers, Answer):
            answers = [answers]
        return [
            self._frame(envelope, version, (a.request or message).header, a.request or message, a)
            for a in answers
        ]

    def refusal(self, raw: bytes, code: int, message: str) -> bytes:
        """An error answer (envelope and message) to bytes whose envelope did not decode.

        The ids are echoed when the bytes reach that far, so the client can match the answer.
        """
        padded = raw[: native.ENVELOPE_SIZE].ljust(native.ENVELOPE_SIZE, b"\x00")
        session, request_id = int.from_bytes(padded[4:8]), int.from_bytes(padded[8:12])
        version = native.SERVER_VERSION
        envelope = Envelope(
            version[0], version[1], version[0], version[1], session, request_id, 0, 0
        )
        return self._frame(envelope, version, Header(0), None, Answer.error(code, message))

    async def _answers(self, request: Request) -> Answer | Sequence[Answer]:
        header = request.header
        where = f"{request.connection.transport} {request.connection.peer}"
        if not request.message.is_request:
            logger.info(
                "native %s: a response (code %d) sent as a request", where, header.response_code
            )
            return Answer.error(ResponseCode.PROTOCOL_ERROR, "expected a request, got a response")
        if request.envelope.major != 2 and request.envelope.suggest_major != 2:
            logger.info(
                "native %s: unsupported version %d.%d",
                where,
                request.envelope.major,
                request.envelope.minor,
            )
            return Answer.error(
                ResponseCode.PROTOCOL_ERROR, "only protocol version 2 is spoken here"
            )
        if header.expiration and header.expiration < self.clock():
            logger.info("native %s: expired request (opcode %d)", where, header.opcode)
            return Answer.error(ResponseCode.ERROR, "the request has expired")
        handler = self.handlers.get(header.opcode)
        if handler is None:
            logger.info("native %s: unsupported opcode %d", where, header.opcode)
            return Answer.error(
                ResponseCode.OPERATION_NOT_SUPPORTED, f"opcode {header.opcode} is not supported"
            )
        try:
            return await handler(request)
        except ProtocolError as exc:
            logger.info("native %s: bad request (opcode %d): %s", where, header.opcode, exc.message)
            return Answer.error(exc.code, exc.message)
        except NodeError as exc:
            code = error_code(exc)
            if code == ResponseCode.SERVER_TOO_BUSY:
                logger.warning("native %s: %s", where, exc.message)
            return Answer.error(code, exc.message)
        except Exception:
            logger.exception("native %s: opcode %d failed", where, header.opcode)
            return Answer.error(ResponseCode.ERROR, "internal error")

    def _frame(
        self,
        envelope: Envelope,
        version: tuple[int, int],
        request: Header,
        message: Message | None,
        answer: Answer,
    ) -> bytes:
        """Envelope, header, [digest], body and an empty credential, as one frame."""
        digest = b""
        if message is not None and (request.flags & _RRDG or answer.digest) and version >= (2, 1):
            digest = native.digest_prefix(message, version)
        return self._pack(
            envelope, version, request.opcode, request.flags, request.recursion, digest, answer
        )

    def _pack(
        self,
        envelope: Envelope,
        version: tuple[int, int],
        opcode: int,
        request_flags: int,
        recursion: int,
        digest: bytes,
        answer: Answer,
    ) -> bytes:
        flags = (request_flags & _ECHOED) | answer.flags
        if digest:
            flags |= _RRDG
        body = digest + answer.body if digest else answer.body
        head = _HEADER.pack(
            opcode & 0xFFFFFFFF,
            answer.code,
            flags,
            self.site_serial,
            recursion & 0xFF,
            0,
            int(self.clock()) + native.DEFAULT_LIFETIME,
            len(body),
        )
        session = envelope.session_id if answer.session_id is None else answer.session_id
        length = native.HEADER_SIZE + len(body) + 4
        return (
            _ENVELOPE.pack(
                version[0],
                version[1],
                _SUGGEST,
                _SUGGEST_MINOR,
                session,
                envelope.request_id,
                0,
                length,
            )
            + head
            + body
            + _NO_CREDENTIAL
        )
