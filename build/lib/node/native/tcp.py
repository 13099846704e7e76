"""The native protocol over TCP: persistent connections, many requests each, pipelined.

A stream of [envelope][message]; each request is answered in order on its connection, with its
request and session ids. Limits: the message size an envelope may announce (more: an error
answer, then the connection closes — the stream cannot be re-synchronised), requests queued per
connection (past it the connection stops being read until the queue drains), time to complete a
request (a connection idle or trickling that long is closed), and open connections (past it the
longest-idle one is closed, so a flood of half-open connections cannot keep clients out).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

from registry.codec import native
from registry.codec.native import EnvelopeFlag, ProtocolError, ResponseCode

from .dispatch import Connection, Dispatcher

__all__ = ["TcpLimits", "TcpServer"]

logger = logging.getLogger("idnode.native")
_UNSUPPORTED = int(EnvelopeFlag.COMPRESSED | EnvelopeFlag.ENCRYPTED)


@dataclass(frozen=True, slots=True)
class TcpLimits:
    max_connections: int = 1000
    idle_seconds: float = 60.0
    max_message_bytes: int = native.MAX_MESSAGE_LENGTH
    max_queued: int = 32


class TcpServer:
    """Accepts connections and keeps them within ``limits``."""

    def __init__(self, dispatcher: Dispatcher, limits: TcpLimits) -> None:
        self.dispatcher = dispatcher
        self.limits = limits
        self.connections: set[_TcpConnection] = set()
        self.server: asyncio.Server | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.closed_idle = 0
        self.closed_over_limit = 0
        self._next_warning = 0.0

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> int:
        """Listen; returns the port (useful when ``port`` is 0)."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: _TcpConnection(self), host, port, reuse_port=reuse_port or None, backlog=1024
        )
        self._watchdog = asyncio.create_task(self._watch())
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.server is not None:
            self.server.close()
        for connection in list(self.connections):
            connection.close()
        if self.server is not None:
            await self.server.wait_closed()

    async def _watch(self) -> None:
        interval = max(0.05, self.limits.idle_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            cutoff = time.monotonic() - self.limits.idle_seconds
            for connection in [c for c in self.connections if c.idle_since < cutoff]:
                self.closed_idle += 1
                logger.debug(
                    "native tcp %s: closed after %.0f s idle",
                    connection.peer,
                    self.limits.idle_seconds,
                )
                connection.close()

    def admit(self, connection: _TcpConnection) -> None:
        if len(self.connections) >= self.limits.max_connections:
            oldest = min(self.connections, key=lambda c: c.idle_since)
            self.closed_over_limit += 1
            now = time.monotonic()
            # Once in a while, not once per connection: a flood would flood the log too.
            if now >= self._next_warning:
                self._next_warning = now + 10
                logger.warning(
                    "native tcp: %d connections open (the limit); closing the longest idle"
                    " (%d so far)",
                    len(self.connections),
                    self.closed_over_limit,
                )
            oldest.close()
        self.connections.add(connection)


class _TcpConnection(asyncio.Protocol):
    def __init__(self, server: TcpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.queue: deque[tuple[native.Envelope, bytes]] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.reading = True
        self.writable: asyncio.Future[None] | None = None
        # When the connection last completed a request (or opened): what the idle limit measures.
        self.idle_since = time.monotonic()
        self.peer = "?"
        self.connection = Connection("tcp", self.peer)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses.
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.connection = Connection("tcp", self.peer)
        self.server.admit(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self.worker is not None:
            self.worker.cancel()
        if self.writable is not None and not self.writable.done():
            self.writable.cancel()

    def close(self) -> None:
        # Out of the count at once: the transport reports the loss only on a later turn.
        self.server.connections.discard(self)
        if self.transport is not None:
            self.transport.abort()

    def pause_writing(self) -> None:
        self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        limits = self.server.limits
        while len(buffer) >= native.ENVELOPE_SIZE:
            try:
                envelope = native.decode_envelope(buffer, limits.max_message_bytes)
            except ProtocolError as exc:
                logger.info("native tcp %s: %s; closing", self.peer, exc.message)
                self._refuse(bytes(buffer[: native.ENVELOPE_SIZE]), exc.message)
                return
            end = native.ENVELOPE_SIZE + envelope.length
            if len(buffer) < end:
                break
            if envelope.flags & _UNSUPPORTED:
                logger.info("native tcp %s: compressed or encrypted message; closing", self.peer)
                self._refuse(
                    bytes(buffer[: native.ENVELOPE_SIZE]),
                    "compression and encryption are not supported",
                )
                return
            message = bytes(buffer[native.ENVELOPE_SIZE : end])
            del buffer[:end]
            if self.worker is None and not self.queue and self.writable is None:
                # Nothing ahead of it and the client is reading: a cache hit is answered here,
                # without a task.
                replies = self.server.dispatcher.respond_now(envelope, message, self.connection)
                if replies is not None:
                    assert self.transport is not None
                    self.transport.write(b"".join(replies))
                    self.idle_since = time.monotonic()
                    continue
            self.queue.append((envelope, message))
        if self.queue:
            if len(self.queue) >= limits.max_queued and self.reading:
                assert self.transport is not None
                self.transport.pause_reading()
                self.reading = False
            if self.worker is None:
                self.worker = asyncio.ensure_future(self._work())

    def _refuse(self, raw: bytes, message: str) -> None:
        assert self.transport is not None
        self.transport.write(
            self.server.dispatcher.refusal(raw, ResponseCode.PROTOCOL_ERROR, message)
        )
        self.buffer.clear()
        self.transport.close()

    async def _work(self) -> None:
        transport = self.transport
        assert transport is not None
        queue = self.queue
        respond = self.server.dispatcher.respond
        try:
            while queue:
                envelope, message = queue.popleft()
                if not self.reading and len(queue) < self.server.limits.max_queued // 2:
                    self.reading = True
                    transport.resume_reading()
                replies = await respond(envelope, message, self.connection)
                if transport.is_closing():
                    return
                transport.write(b"".join(replies))
                self.idle_since = time.monotonic()
                if self.writable is not None:
                    await self.writable
        finally:
            self.worker = None
