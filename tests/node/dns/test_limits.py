"""The DNS listener's limits: TCP connections beyond the limit are closed, idle ones time out."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import dns.message
import dns.name
import pytest

from node.dns.engine import DnsEngine
from node.dns.server import DnsServer
from registry import RecordService
from registry.storage import Database
from resolver import Resolver

from .dnshelp import free_dns_port


@pytest.fixture
async def server(db: Database) -> AsyncIterator[DnsServer]:
    engine = DnsEngine(Resolver(RecordService(db)), dns.name.from_text("idis.internal."))
    running = DnsServer(engine, "127.0.0.1", free_dns_port(), idle_seconds=0.5, max_connections=2)
    await running.start()
    try:
        yield running
    finally:
        await running.close()


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> dns.message.Message:
    query = dns.message.make_query("idis.internal.", "SOA").to_wire()
    writer.write(struct.pack("!H", len(query)) + query)
    (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 5))
    return dns.message.from_wire(await reader.readexactly(length))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_connections_beyond_the_limit_are_closed_and_idle_ones_time_out(
    server: DnsServer,
) -> None:
    first = await asyncio.open_connection("127.0.0.1", server.port)
    second = await asyncio.open_connection("127.0.0.1", server.port)
    for reader, writer in (first, second):
        assert (await _ask(reader, writer)).answer
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert await asyncio.wait_for(reader.read(10), 5) == b""  # the third is refused
    writer.close()
    # Idle past the timeout: the server closes them, and then takes new connections.
    for reader, _ in (first, second):
        assert await asyncio.wait_for(reader.read(10), 5) == b""
    for _, writer in (first, second):
        writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert (await _ask(reader, writer)).answer
    writer.close()
