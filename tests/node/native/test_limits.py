"""The native listeners' limits: idle connections, a half-open TCP flood, a UDP reassembly flood."""

from __future__ import annotations

import asyncio
import socket
import time

from node.native.client import HandleClient
from registry.codec import native

from .native_nodes import NativeNode, resolution_bytes


def _wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


async def test_idle_and_trickling_connections_are_closed(native_node_factory: object) -> None:
    with native_node_factory(handle_idle_seconds=0.5) as node:  # type: ignore[operator]
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", node.port)
        trickle_reader, trickle_writer = await asyncio.open_connection("127.0.0.1", node.port)
        started = time.monotonic()
        request = resolution_bytes("0.NA/88.118")
        # One byte every 0.2 s never completes a request within the limit.
        for byte in request[:8]:
            trickle_writer.write(bytes((byte,)))
            await asyncio.sleep(0.2)
            if trickle_writer.is_closing() or trickle_reader.at_eof():
                break
        assert await asyncio.wait_for(idle_reader.read(), 5) == b""
        assert await asyncio.wait_for(trickle_reader.read(), 5) == b""
        assert time.monotonic() - started < 4
        idle_writer.close()
        trickle_writer.close()
        assert node.native.tcp.closed_idle >= 2


async def test_a_half_open_flood_stays_within_the_connection_limit(
    native_node_factory: object,
) -> None:
    with native_node_factory(handle_max_connections=20, handle_idle_seconds=30) as node:  # type: ignore[operator]
        flood = []
        try:
            for _ in range(100):
                sock = socket.create_connection(("127.0.0.1", node.port))
                flood.append(sock)
                sock.sendall(b"\x02\x0a")  # half an envelope, then nothing
            _wait_until(lambda: node.native.tcp.closed_over_limit >= 80)
            assert len(node.native.tcp.connections) <= 20
            # A real client still gets in and is answered.
            async with HandleClient("127.0.0.1", node.port) as client:
                assert (await client.resolve("0.NA/88.118")).values
            assert len(node.native.tcp.connections) <= 20
        finally:
            for sock in flood:
                sock.close()


async def test_a_reassembly_flood_stays_within_its_bounds(native_node: NativeNode) -> None:
    udp = native_node.native.udp
    limits = udp.limits
    first_chunk = bytes(native.MAX_UDP_DATA)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for request_id in range(limits.max_reassemblies * 2):
            # The first of 500 chunks (246,000 bytes announced), never followed by the rest.
            envelope = native.Envelope(2, 10, 2, 11, 0, request_id, 0, 246_000, 0x20)
            sock.sendto(envelope.encode() + first_chunk, ("127.0.0.1", native_node.port))
            if request_id % 64 == 0:
                time.sleep(0.01)  # let the server keep up rather than the kernel drop
        time.sleep(0.3)
    assert udp.reserved <= limits.max_reassembly_bytes
    assert len(udp.partials) <= limits.max_reassemblies
    assert udp.dropped > 0
    # Single-datagram requests are still answered meanwhile.
    async with HandleClient("127.0.0.1", native_node.port, udp=True) as client:
        assert (await client.resolve("0.NA/88.118")).values


async def test_incomplete_multi_packet_requests_expire(native_node_factory: object) -> None:
    with native_node_factory() as node:  # type: ignore[operator]
        udp = node.native.udp
        udp.limits = type(udp.limits)(reassembly_seconds=0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            envelope = native.Envelope(2, 10, 2, 11, 0, 1, 0, 1000, 0x20)
            sock.sendto(envelope.encode() + bytes(492), ("127.0.0.1", node.port))
            _wait_until(lambda: len(udp.partials) == 1)
            time.sleep(0.6)
            # Any datagram sweeps what expired.
            sock.sendto(b"x", ("127.0.0.1", node.port))
            _wait_until(lambda: len(udp.partials) == 0 and udp.reserved == 0)
