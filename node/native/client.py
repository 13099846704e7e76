"""A small native Handle protocol client (asyncio) over TCP or UDP, built on the codec.

    async with HandleClient("127.0.0.1", 2641) as client:
        resolution = await client.resolve("88.118.8/abc")

``request`` sends any opcode and body and returns the decoded answers (several when the server
answers with CONT), so new operations are a body encoder away. Answers other than success raise
``HandleError`` with the response code and message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from registry.codec import native
from registry.codec.native import Envelope, Header, Message, OpCode, OpFlag, ResponseCode

__all__ = ["HandleClient", "HandleError", "Reply"]

CLIENT_VERSION = native.SERVER_VERSION
# Handle.Net's resolver sends RECU | CACR | PUBL for a query; RRDG lets us check the answer.
QUERY_FLAGS = OpFlag.RECU | OpFlag.PUBL | OpFlag.RRDG


class HandleError(Exception):
    """A server's answer other than success: its response code and message."""

    def __init__(self, code: int, message: str) -> None:
        try:
            name = ResponseCode(code).name
        except ValueError:
            name = "UNKNOWN"
        super().__init__(f"{code} {name}" + (f": {message}" if message else ""))
        self.code = code
        self.name = name
        self.message = message


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: its envelope, message, request digest and a reader after the digest."""

    envelope: Envelope
    message: Message
    digest: bytes

    @property
    def code(self) -> int:
        return self.message.header.response_code

    def reader(self) -> native.Reader:
        return native.split_digest(self.message)[1]


class _Datagrams(asyncio.DatagramProtocol):
    """Collects answer datagrams by request id and reassembles multi-packet answers."""

    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[tuple[Envelope, bytes]]] = {}
        self.chunks: dict[int, dict[int, bytes]] = {}

    def datagram_received(self, data: bytes, addr: object) -> None:
        try:
            envelope = native.decode_envelope(data)
        except native.ProtocolError:
            return
        future = self.waiting.get(envelope.request_id)
        if future is None or future.done():
            return
        payload = data[native.ENVELOPE_SIZE :]
        if not envelope.truncated:
            future.set_result((envelope, payload))
            return
        parts = self.chunks.setdefault(envelope.request_id, {})
        parts[envelope.message_id] = payload
        count = -(-envelope.length // native.MAX_UDP_DATA)
        if len(parts) == count and all(i in parts for i in range(count)):
            del self.chunks[envelope.request_id]
            future.set_result((envelope, b"".join(parts[i] for i in range(count))))


class HandleClient:
    """A connection to one Handle server (TCP, or UDP with ``udp=True``)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 2641, *, udp: bool = False, timeout: float = 5.0
    ) -> None:
        self.host = host
        self.port = port
        self.udp = udp
        self.timeout = timeout
        self._ids = itertools.count(random.randrange(1, 2**30))
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._datagrams = _Datagrams()

    async def __aenter__(self) -> HandleClient:
        if self.udp:
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: self._datagrams, remote_addr=(self.host, self.port)
            )
        else:
            async with asyncio.timeout(self.timeout):
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None:
            self._transport.close()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    async def request(
        self, opcode: int, body: bytes, *, flags: int = 0, session_id: int = 0
    ) -> list[Reply]:
        """Send one request; its answers (several while the server sets CONT)."""
        request_id = next(self._ids) & 0x7FFFFFFF or 1
        header = Header(opcode, flags=flags, expiration=native.expiry())
        message = native.encode_message(header, body)
        sent = native.decode_message(message)
        envelope = Envelope(
            *CLIENT_VERSION, *CLIENT_VERSION, session_id, request_id, 0, len(message)
        )
        async with self._lock:
            if self.udp:
                replies = [await self._udp_exchange(envelope, message)]
            else:
                replies = await self._tcp_exchange(envelope, message)
        checked = []
        for reply_envelope, data in replies:
            reply = native.decode_message(data)
            digest, _ = native.split_digest(reply)
            if digest and digest != native.digest_prefix(
                sent, (reply_envelope.major, reply_envelope.minor)
            ):
                raise native.ProtocolError("the answer's request digest does not match the request")
            checked.append(Reply(reply_envelope, reply, digest))
        return checked

    async def _tcp_exchange(
        self, envelope: Envelope, message: bytes
    ) -> list[tuple[Envelope, bytes]]:
        assert self._reader is not None and self._writer is not None
        self._writer.write(envelope.encode() + message)
        await self._writer.drain()
        answers = []
        while True:
            async with asyncio.timeout(self.timeout):
                head = await self._reader.readexactly(native.ENVELOPE_SIZE)
            reply = native.decode_envelope(head)
            async with asyncio.timeout(self.timeout):
                data = await self._reader.readexactly(reply.length)
            if reply.request_id != envelope.request_id:
                continue
            answers.append((reply, data))
            if not native.decode_message(data).header.has(OpFlag.CONT):
                return answers

    async def _udp_exchange(self, envelope: Envelope, message: bytes) -> tuple[Envelope, bytes]:
        assert self._transport is not None
        future = asyncio.get_running_loop().create_future()
        self._datagrams.waiting[envelope.request_id] = future
        try:
            # Handle.Net's resolver retries a UDP request after 0.5, 1 and 1.5 s.
            for wait in (0.5, 1.0, 1.5, self.timeout):
                for datagram in native.chunk(envelope, message):
                    self._transport.sendto(datagram)
                try:
                    async with asyncio.timeout(wait):
                        return await asyncio.shield(future)
                except TimeoutError:
                    continue
            raise TimeoutError(f"no answer from {self.host}:{self.port} over UDP")
        finally:
            self._datagrams.waiting.pop(envelope.request_id, None)
            self._datagrams.chunks.pop(envelope.request_id, None)

    async def resolve(
        self,
        handle: str,
        *,
        indexes: Sequence[int] = (),
        types: Sequence[str] = (),
        public_only: bool = True,
    ) -> native.Resolution:
        """The handle's values; ``HandleError`` (100 not found, 200 no values, …) otherwise."""
        wanted = native.ResolutionRequest(
            handle.encode(), tuple(indexes), tuple(t.encode() for t in types)
        )
        flags = QUERY_FLAGS if public_only else QUERY_FLAGS & ~OpFlag.PUBL
        (reply,) = await self.request(
            OpCode.RESOLUTION, native.encode_resolution_request(wanted), flags=flags
        )
        _raise_unless_success(reply)
        return native.decode_resolution(reply.reader())

    async def site_info(self) -> native.SiteInfo:
        """The server's site (GET_SITE_INFO)."""
        (reply,) = await self.request(
            OpCode.GET_SITE_INFO, native.encode_handle_request(b"/"), flags=OpFlag.RRDG
        )
        _raise_unless_success(reply)
        return native.decode_site_response(reply.reader())


def _raise_unless_success(reply: Reply) -> None:
    if reply.code != ResponseCode.SUCCESS:
        raise HandleError(reply.code, native.decode_error(reply.reader()))
