"""The DNS listeners: UDP and TCP (RFC 7766) on one port, in the node's process and lifespan.

UDP answers a cached question inside ``datagram_received``; anything else becomes a task, at
most ``MAX_PENDING`` at a time (beyond that a packet is dropped, and the client retries). TCP
reads two-byte length-framed queries, answers pipelined ones as they are ready (out of order,
as RFC 7766 allows), closes a connection idle for ``IDLE_SECONDS`` and refuses connections
beyond ``MAX_CONNECTIONS``. UDP answers go through the response-rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import dns.name

from registry.codec.dns_wire import error_response

from .engine import DnsEngine
from .ratelimit import ResponseRateLimit

__all__ = ["DnsServer", "open_dns"]

logger = logging.getLogger("idnode.dns")

MAX_PENDING = 2000
MAX_CONNECTIONS = 256
MAX_PIPELINED = 32
IDLE_SECONDS = 10.0
_LENGTH = struct.Struct("!H")


def _slip(wire: bytes) -> bytes | None:
    """An empty answer with TC set: "ask again over TCP"."""
    answer = error_response(wire, 0)
    if answer is None:
        return None
    return answer[:2] + bytes([answer[2] | 0x02]) + answer[3:]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.engine = server.engine
        self.limit = server.rate_limit
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            ready = self.engine.cached(data, False)
        except Exception:  # never let one packet stop the listener
            logger.exception("DNS fast path failed")
            return
        if ready is not None:
            self.server.cached_answers += 1
            if self.limit.per_second:
                self._send(ready, data, addr)
            elif self.transport is not None:
                self.transport.sendto(ready, addr)
            return
        if self.server.pending >= MAX_PENDING:
            self.server.shed += 1
            return
        self.server.spawn(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: Any) -> None:
        answer = await self.server.safe_answer(data, False)
        if answer is not None:
            self._send(answer, data, addr)

    def _send(self, answer: bytes, query: bytes, addr: Any) -> None:
        verdict = self.limit.allow(addr[0])
        if verdict == "drop":
            return
        if verdict == "slip":
            slipped = _slip(query)
            if slipped is None:
                return
            answer = slipped
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(answer, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("DNS UDP error: %r", exc)


class DnsServer:
    """UDP and TCP listeners for one ``DnsEngine``; ``await start()``, then ``await close()``."""

    def __init__(
        self,
        engine: DnsEngine,
        host: str,
        port: int,
        *,
        responses_per_second: int = 0,
        idle_seconds: float = IDLE_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self.max_connections = max_connections
        self.host = host
        self.port = port
        self.rate_limit = ResponseRateLimit(responses_per_second)
        self.pending = 0
        self.connections = 0
        # Plain counts for GET /metrics: answers from the ready-answer cache and from the
        # engine, and UDP queries dropped because too many were pending.
        self.cached_answers = 0
        self.answers = 0
        self.shed = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # reuse_port: several worker processes share the port, as uvicorn's workers do.
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(self.host, self.port), reuse_port=True
        )
        self._tcp = await asyncio.start_server(
            self._connection, self.host, self.port, reuse_port=True, limit=2**16 + 2
        )
        logger.info("DNS frontend for %s on %s:%d", self.engine.origin, self.host, self.port)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._tcp is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self._tcp.wait_closed()

    def spawn(self, work: Any) -> asyncio.Task[Any]:
        self.pending += 1
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.pending -= 1
        self._tasks.discard(task)

    async def safe_answer(self, data: bytes, tcp: bool) -> bytes | None:
        self.answers += 1
        try:
            return await self.engine.answer(data, tcp)
        except Exception:
            logger.exception("DNS answer failed")
            return error_response(data, 2)  # SERVFAIL

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.connections >= self.max_connections:
            writer.close()
            return
        self.connections += 1
        inflight: set[asyncio.Task[Any]] = set()
        slots = asyncio.Semaphore(MAX_PIPELINED)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_seconds):
                        head = await reader.readexactly(2)
                    (length,) = _LENGTH.unpack(head)
                    if length == 0:
                        break
                    async with asyncio.timeout(self.idle_seconds):
                        data = await reader.readexactly(length)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    break
                ready = self.engine.cached(data, True)
                if ready is not None:
                    self.cached_answers += 1
                    writer.write(_LENGTH.pack(len(ready)) + ready)
                    if writer.transport.get_write_buffer_size() > 2**20:
                        await writer.drain()
                    continue
                await slots.acquire()
                task = self.spawn(self._tcp_answer(data, writer, slots))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
            if inflight:
                await asyncio.wait(inflight, timeout=self.idle_seconds)
        finally:
            self.connections -= 1
            for task in inflight:
                task.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _tcp_answer(
        self,
        data: bytes,
        writer: asyncio.StreamWriter,
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            answer = await self.safe_answer(data, True)
            if answer is not None and not writer.is_closing():
                writer.write(_LENGTH.pack(len(answer)) + answer)
        finally:
            slots.release()


@asynccontextmanager
async def open_dns(context: Any) -> AsyncIterator[DnsServer | None]:
    """The DNS frontend of a node context when ``IDNODE_DNS_PORT`` is set, else nothing."""
    settings = context.settings
    if not settings.dns_port:
        yield None
        return
    engine = DnsEngine(context.resolver, dns.name.from_text(settings.dns_zone))
    engine.quotas = context.quotas
    server = DnsServer(
        engine,
        settings.dns_host,
        settings.dns_port,
        responses_per_second=settings.dns_responses_per_second,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.close()
