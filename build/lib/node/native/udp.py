"""The native protocol over UDP: single datagrams, and multi-packet requests and answers.

A request of several datagrams (flag 0x20, message id = chunk index, every chunk but the last
492 bytes) is reassembled by (source, request id) within ``reassembly_seconds``; what is
waiting is bounded in bytes and in count, and past either a new multi-packet request is
dropped. Answers longer than 492 bytes go out in 492-byte chunks. Datagrams that do not decode
are dropped, not answered: an answer to a forged source would be an amplifier.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from registry.codec import native
from registry.codec.native import EnvelopeFlag, ProtocolError

from .dispatch import Connection, Dispatcher

__all__ = ["UdpLimits", "UdpServer"]

logger = logging.getLogger("idnode.native")
_UNSUPPORTED = int(EnvelopeFlag.COMPRESSED | EnvelopeFlag.ENCRYPTED)
Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class UdpLimits:
    reassembly_seconds: float = 5.0
    max_reassembly_bytes: int = 8 * 1024 * 1024
    max_reassemblies: int = 1024
    max_message_bytes: int = native.MAX_MESSAGE_LENGTH
    max_in_flight: int = 1024


@dataclass
class _Partial:
    length: int
    count: int
    expires: float
    chunks: dict[int, bytes] = field(default_factory=dict)


class UdpServer(asyncio.DatagramProtocol):
    """One socket; answers each request to the address it came from."""

    def __init__(self, dispatcher: Dispatcher, limits: UdpLimits) -> None:
        self.dispatcher = dispatcher
        self.limits = limits
        self.transport: asyncio.DatagramTransport | None = None
        self.partials: dict[tuple[Address, int], _Partial] = {}
        self.reserved = 0
        self.in_flight: set[asyncio.Task[None]] = set()
        self.dropped = 0
        self._next_sweep = 0.0
        self._datagram = Connection("udp", "-")

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(host, port), reuse_port=reuse_port or None
        )
        return transport.get_extra_info("sockname")[1]

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        for task in list(self.in_flight):
            task.cancel()
        self.partials.clear()
        self.reserved = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not always a DatagramTransport subclass (CPython's selector transport is not).
        self.transport = transport  # type: ignore[assignment]

    def error_received(self, exc: Exception) -> None:
        logger.debug("native udp: %s", exc)

    def _drop(self, addr: Address, why: str, level: int = logging.DEBUG) -> None:
        self.dropped += 1
        logger.log(level, "native udp %s:%s: dropped: %s", addr[0], addr[1], why)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        try:
            envelope = native.decode_envelope(data, self.limits.max_message_bytes)
        except ProtocolError as exc:
            self._drop(addr, exc.message, logging.INFO)
            return
        if envelope.flags & _UNSUPPORTED:
            self._drop(addr, "compressed or encrypted", logging.INFO)
            return
        payload = data[native.ENVELOPE_SIZE :]
        if not envelope.truncated:
            if len(payload) != envelope.length:
                self._drop(
                    addr,
                    f"{len(payload)} bytes where the envelope says {envelope.length}",
                    logging.INFO,
                )
                return
            self._dispatch(envelope, payload, addr)
            return
        self._reassemble(envelope, payload, addr, now)

    def _reassemble(
        self, envelope: native.Envelope, payload: bytes, addr: Address, now: float
    ) -> None:
        size = native.MAX_UDP_DATA
        count = -(-envelope.length // size)
        index = envelope.message_id
        if index >= count:
            self._drop(addr, f"chunk {index} of a {count}-chunk message", logging.INFO)
            return
        expected = size if index < count - 1 else envelope.length - size * (count - 1)
        if len(payload) != expected:
            self._drop(
                addr, f"chunk {index} has {len(payload)} bytes, not {expected}", logging.INFO
            )
            return
        key = (addr, envelope.request_id)
        partial = self.partials.get(key)
        if partial is None:
            limits = self.limits
            if (
                len(self.partials) >= limits.max_reassemblies
                or self.reserved + envelope.length > limits.max_reassembly_bytes
            ):
                self._drop(addr, "too many multi-packet requests waiting", logging.WARNING)
                return
            partial = _Partial(envelope.length, count, now + limits.reassembly_seconds)
            self.partials[key] = partial
            self.reserved += envelope.length
        elif partial.length != envelope.length:
            self._drop(addr, "chunks of one request disagree on its length", logging.INFO)
            return
        partial.chunks[index] = payload
        if len(partial.chunks) == partial.count:
            del self.partials[key]
            self.reserved -= partial.length
            message = b"".join(partial.chunks[i] for i in range(partial.count))
            self._dispatch(envelope, message, addr)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + min(1.0, self.limits.reassembly_seconds / 2)
        for key, partial in list(self.partials.items()):
            if partial.expires <= now:
                del self.partials[key]
                self.reserved -= partial.length
                self._drop(
                    key[0], f"request {key[1]} incomplete after {self.limits.reassembly_seconds} s"
                )

    def _dispatch(self, envelope: native.Envelope, message: bytes, addr: Address) -> None:
        # Nothing is kept per peer (a datagram's source can be forged): cache hits share one
        # stateless connection.
        frames = self.dispatcher.respond_now(envelope, message, self._datagram)
        if frames is not None:
            self._send(frames, addr)
            return
        connection = Connection("udp", f"{addr[0]}:{addr[1]}")
        if len(self.in_flight) >= self.limits.max_in_flight:
            self._drop(addr, "too many requests in flight", logging.WARNING)
            return
        task = asyncio.ensure_future(self._answer(envelope, message, addr, connection))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def _answer(
        self, envelope: native.Envelope, message: bytes, addr: Address, connection: Connection
    ) -> None:
        self._send(await self.dispatcher.respond(envelope, message, connection), addr)

    def _send(self, frames: list[bytes], addr: Address) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        for frame in frames:
            for datagram in native.chunk_frame(frame):
                transport.sendto(datagram, addr)
