"""A bounded fuzz of the live native server: random and mutated messages over TCP and UDP.

No exception escapes (nothing logged at ERROR), every TCP connection is answered or closed
within the idle limit (none hangs), every answer decodes, and the server still serves after.
Seeded, bounded in cases and in time; the hand-picked cases are in ``test_server.py``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time

import pytest

from node.native.client import HandleClient
from registry.codec import native
from registry.codec.native import OpCode, ResponseCode

from .native_nodes import request_bytes, resolution_bytes, value

SEED = 2641
CASES = 240
BUDGET_SECONDS = 30.0
IDLE_SECONDS = 0.5
PARALLEL = 40


def _seeds() -> list[bytes]:
    return [
        resolution_bytes("88.118/fz"),
        resolution_bytes("88.118/fz", indexes=(1, 2), types=(b"URL", b"HS_")),
        resolution_bytes("0.NA/88.118"),
        request_bytes(OpCode.GET_SITE_INFO, native.encode_handle_request(b"/")),
        request_bytes(OpCode.CREATE_HANDLE, native.sized(b"88.118/new") + native.int4(0)),
    ]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(buf) + 1)
        action = rng.randrange(4)
        if action == 0 and buf:
            buf[min(position, len(buf) - 1)] = rng.randrange(256)
        elif action == 1:
            del buf[position : position + rng.randint(1, 6)]
        elif action == 2:
            buf[position:position] = rng.randbytes(rng.randint(1, 6))
        elif len(buf) >= position + 4:
            buf[position : position + 4] = rng.choice(
                [b"\xff\xff\xff\xff", b"\x00\x00\xff\xff", b"\x00\x00\x00\x00"]
            )
    return bytes(buf)


async def _tcp_case(port: int, data: bytes) -> list[int]:
    """Send ``data``; the response codes read until the server closes or answers and idles out."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    codes = []
    try:
        writer.write(data)
        deadline = time.monotonic() + IDLE_SECONDS + 4
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"connection hung on {data.hex()}"
            try:
                head = await asyncio.wait_for(reader.readexactly(20), remaining)
            except asyncio.IncompleteReadError as exc:
                assert exc.partial == b"", f"half an envelope back for {data.hex()}"
                return codes
            envelope = native.decode_envelope(head)
            message = native.decode_message(await reader.readexactly(envelope.length))
            codes.append(message.header.response_code)
    except ConnectionResetError:
        return codes
    finally:
        writer.close()


@pytest.mark.timeout(120)
async def test_mutated_messages_never_break_the_server(
    native_node_factory: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="idnode.native")
    rng = random.Random(SEED)
    seeds = _seeds()
    with native_node_factory(handle_idle_seconds=IDLE_SECONDS) as node:  # type: ignore[operator]
        node.put("88.118/fz", [value(1, "URL", "https://fz/")])
        cases = [
            rng.randbytes(rng.randint(0, 64)) if i % 6 == 0 else _mutate(rng, rng.choice(seeds))
            for i in range(CASES)
        ]
        deadline = time.monotonic() + BUDGET_SECONDS
        codes: list[int] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.05)
            for start in range(0, CASES, PARALLEL):
                if time.monotonic() > deadline:
                    break
                batch = cases[start : start + PARALLEL]
                for data in batch:
                    udp.sendto(data, ("127.0.0.1", node.port))
                for answered in await asyncio.gather(*(_tcp_case(node.port, d) for d in batch)):
                    codes += answered
                while True:
                    try:
                        datagram = udp.recv(65536)
                    except TimeoutError:
                        break
                    envelope = native.decode_envelope(datagram)
                    if not envelope.truncated:
                        codes.append(native.decode_message(datagram[20:]).header.response_code)
        assert codes, "nothing was answered at all"
        known = {int(code) for code in ResponseCode}
        assert set(codes) <= known
        assert ResponseCode.PROTOCOL_ERROR in codes
        async with HandleClient("127.0.0.1", node.port) as client:
            assert (await client.resolve("88.118/fz")).values[0].data == b"https://fz/"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
