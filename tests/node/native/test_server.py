"""The native Handle protocol served by a real node, driven over TCP and UDP on both backends."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket

import httpx
import pytest

from node.native.client import HandleClient, HandleError
from registry.codec import native
from registry.codec.native import OpCode, OpFlag, Reader, ResponseCode

from .native_nodes import (
    ADMIN,
    NativeNode,
    read_answer,
    request_bytes,
    resolution_bytes,
    udp_exchange,
    value,
)

TRANSPORTS = [pytest.param(False, id="tcp"), pytest.param(True, id="udp")]


@pytest.mark.parametrize("udp", TRANSPORTS)
async def test_resolution_sees_rest_writes_through_the_shared_cache(
    native_node: NativeNode, udp: bool
) -> None:
    native_node.put("88.118/widget", [value(1, "URL", "https://one/")])
    async with HandleClient("127.0.0.1", native_node.port, udp=udp) as client:
        first = await client.resolve("88.118/widget")
        assert [(v.index, v.type, v.data) for v in first.values] == [(1, b"URL", b"https://one/")]
        assert first.values[0].timestamp > 0 and first.values[0].permissions == 0xE
        # Cached now (the second answer comes from the cache without waiting); a REST write
        # invalidates it, and the native answer follows at once.
        assert await client.resolve("88.118/widget") == first
        native_node.put("88.118/widget", [value(1, "URL", "https://two/")])
        again = await client.resolve("88.118/widget")
        assert again.values[0].data == b"https://two/"
        native_node.delete("88.118/widget")
        with pytest.raises(HandleError) as missing:
            await client.resolve("88.118/widget")
        assert missing.value.code == ResponseCode.HANDLE_NOT_FOUND


@pytest.mark.parametrize("udp", TRANSPORTS)
async def test_index_and_type_filters(native_node: NativeNode, udp: bool) -> None:
    native_node.put(
        "88.118/f",
        [value(1, "URL", "u"), value(2, "EMAIL", "e"), value(3, "URL.mirror", "m")],
    )
    async with HandleClient("127.0.0.1", native_node.port, udp=udp) as client:

        async def indexes(**filters: object) -> list[int]:
            resolution = await client.resolve("88.118/f", **filters)  # type: ignore[arg-type]
            return [v.index for v in resolution.values]

        assert await indexes(indexes=[2]) == [2]
        assert await indexes(types=["url"]) == [1]
        assert await indexes(types=["URL."]) == [1, 3]
        assert await indexes(indexes=[2], types=["URL"]) == [1, 2]
        with pytest.raises(HandleError) as none:
            await client.resolve("88.118/f", types=["HS_ADMIN"])
        assert none.value.code == ResponseCode.VALUES_NOT_FOUND


async def test_non_public_values_are_never_sent(native_node: NativeNode) -> None:
    native_node.put("88.118/p", [value(1, "URL", "open"), value(2, "SECRET", "s", "1100")])
    native_node.put("88.118/hidden", [value(1, "SECRET", "s", "1100")])
    async with HandleClient("127.0.0.1", native_node.port) as client:
        for public_only in (True, False):
            resolution = await client.resolve("88.118/p", public_only=public_only)
            assert [v.index for v in resolution.values] == [1]
            with pytest.raises(HandleError) as hidden:
                await client.resolve("88.118/hidden", public_only=public_only)
            assert hidden.value.code == ResponseCode.VALUES_NOT_FOUND


@pytest.mark.parametrize("udp", TRANSPORTS)
async def test_site_info_and_the_node_prefix_handle(native_node: NativeNode, udp: bool) -> None:
    async with HandleClient("127.0.0.1", native_node.port, udp=udp) as client:
        site = await client.site_info()
        (server,) = site.servers
        assert server.host == "127.0.0.1"
        # TCP for queries and administration first (ID-SDK routes by the first interface).
        assert [(i.type, i.protocol, i.port) for i in server.interfaces] == [
            (3, 1, native_node.port),
            (2, 0, native_node.port),
        ]
        resolution = await client.resolve("0.na/88.118")
        (site_value,) = resolution.values
        assert (site_value.index, site_value.type) == (1, b"HS_SITE")
        assert native.decode_site(site_value.data) == site
        # A slashless handle is a prefix handle, as Handle.Net reads it.
        assert (await client.resolve("88.118")).values == resolution.values
        # id-pointer-sdk's idle heartbeat resolves "0": answered, and the connection stays.
        with pytest.raises(HandleError) as heartbeat:
            await client.resolve("0")
        assert heartbeat.value.code == ResponseCode.HANDLE_NOT_FOUND
        assert (await client.site_info()) == site


async def test_enterprise_prefix_handles_carry_the_site(native_node: NativeNode) -> None:
    made = httpx.post(
        f"{native_node.url}/admin/enterprises",
        json={"name": "Acme", "prefix": "88.118.7"},
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    async with HandleClient("127.0.0.1", native_node.port) as client:
        resolution = await client.resolve("0.NA/88.118.7")
        kinds = {v.type: v.index for v in resolution.values}
        assert kinds[b"HS_SITE"] == 1 and kinds[b"HS_ADMIN"] == 100
        with pytest.raises(HandleError) as other:
            await client.resolve("0.NA/88.118.9")
        assert other.value.code == ResponseCode.HANDLE_NOT_FOUND


async def test_pipelined_requests_on_one_connection_answer_in_order(
    native_node: NativeNode,
) -> None:
    native_node.put("88.118/a", [value(1, "URL", "a")])
    reader, writer = await asyncio.open_connection("127.0.0.1", native_node.port)
    try:
        handles = ["88.118/a", "88.118/missing", "0.NA/88.118"] * 10
        writer.write(
            b"".join(
                resolution_bytes(h, request_id=100 + i, session_id=5, flags=OpFlag.PUBL)
                for i, h in enumerate(handles)
            )
        )
        await writer.drain()
        for i, handle in enumerate(handles):
            envelope, message = await read_answer(reader)
            assert (envelope.request_id, envelope.session_id) == (100 + i, 5)
            expected = (
                ResponseCode.HANDLE_NOT_FOUND if "missing" in handle else ResponseCode.SUCCESS
            )
            assert message.header.response_code == expected
            assert not envelope.truncated
        # Still open for more.
        writer.write(resolution_bytes("88.118/a", request_id=999))
        envelope, message = await read_answer(reader)
        assert envelope.request_id == 999 and message.header.response_code == ResponseCode.SUCCESS
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("sent", "suggested", "answered", "hash_code", "hash_name"),
    [
        ((2, 3), (2, 11), (2, 11), 3, "sha256"),  # Handle.Net 9
        ((2, 3), (2, 10), (2, 10), 3, "sha256"),  # ID-SDK
        ((2, 5), (2, 6), (2, 6), 2, "sha1"),
        ((2, 10), (3, 0), (2, 11), 3, "sha256"),
    ],
)
async def test_version_negotiation_and_request_digest(
    native_node: NativeNode,
    sent: tuple[int, int],
    suggested: tuple[int, int],
    answered: tuple[int, int],
    hash_code: int,
    hash_name: str,
) -> None:
    native_node.put("88.118/v", [value(1, "URL", "v")])
    request = resolution_bytes(
        "88.118/v", flags=OpFlag.RRDG | OpFlag.PUBL, version=sent, suggest=suggested
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", native_node.port)
    try:
        writer.write(request)
        envelope, message = await read_answer(reader)
    finally:
        writer.close()
    assert (envelope.major, envelope.minor) == answered
    assert (envelope.suggest_major, envelope.suggest_minor) == native.SERVER_VERSION
    assert message.header.has(OpFlag.RRDG) and message.header.has(OpFlag.PUBL)
    body_length = native.decode_message(request[20:]).header.body_length
    raw = request[20 : 20 + 24 + body_length]
    assert message.body[:1] == bytes((hash_code,))
    assert (
        message.body[1 : 1 + len(hashlib.new(hash_name).digest())]
        == hashlib.new(hash_name, raw).digest()
    )
    assert message.header.expiration > native.expiry(lifetime=3600)


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        pytest.param(
            request_bytes(9999, b""), ResponseCode.OPERATION_NOT_SUPPORTED, id="unknown-opcode"
        ),
        pytest.param(
            resolution_bytes("88.118/x", expiration=1000), ResponseCode.ERROR, id="expired"
        ),
        pytest.param(
            request_bytes(OpCode.RESOLUTION, b"\x00\x00"),
            ResponseCode.PROTOCOL_ERROR,
            id="short-body",
        ),
        pytest.param(
            request_bytes(OpCode.RESOLUTION, native.sized(b"\xff\xfe/x") + bytes(8)),
            ResponseCode.INVALID_HANDLE,
            id="handle-not-utf8",
        ),
        pytest.param(
            resolution_bytes("88.118/" + "x" * 400),
            ResponseCode.INVALID_HANDLE,
            id="handle-too-long",
        ),
    ],
)
@pytest.mark.parametrize("udp", TRANSPORTS)
async def test_bad_requests_get_codes_clients_decode(
    native_node: NativeNode, sent: bytes, code: int, udp: bool
) -> None:
    if udp:
        (datagram,) = await asyncio.to_thread(udp_exchange, native_node.port, sent)
        envelope = native.decode_envelope(datagram)
        message = native.decode_message(datagram[20:])
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", native_node.port)
        try:
            writer.write(sent)
            envelope, message = await read_answer(reader)
        finally:
            writer.close()
    assert envelope.request_id == 7
    assert message.header.response_code == code
    assert native.decode_error(Reader(message.body))


async def test_garbage_after_a_message_is_refused_and_the_connection_goes_on(
    native_node: NativeNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="idnode.native")
    good = resolution_bytes("88.118/x")
    padded = good[:16] + native.int4(len(good) - 20 + 5) + good[20:] + b"junk!"
    reader, writer = await asyncio.open_connection("127.0.0.1", native_node.port)
    try:
        writer.write(padded + resolution_bytes("0.NA/88.118", request_id=8))
        _, refused = await read_answer(reader)
        assert refused.header.response_code == ResponseCode.PROTOCOL_ERROR
        envelope, answered = await read_answer(reader)
        assert envelope.request_id == 8 and answered.header.response_code == ResponseCode.SUCCESS
    finally:
        writer.close()
    # Said once at INFO, naming the problem: bad input is the client's, not the node's.
    (logged,) = [r for r in caplog.records if "unexpected bytes" in r.getMessage()]
    assert logged.levelno == logging.INFO and logged.name == "idnode.native"


async def test_an_oversized_length_is_answered_then_the_connection_closes(
    native_node: NativeNode,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", native_node.port)
    try:
        envelope = native.Envelope(2, 10, 2, 11, 0, 42, 0, native.MAX_MESSAGE_LENGTH + 1)
        writer.write(envelope.encode())
        answer, message = await read_answer(reader)
        assert answer.request_id == 42
        assert message.header.response_code == ResponseCode.PROTOCOL_ERROR
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()


async def test_udp_multi_packet_request_and_answer(native_node: NativeNode) -> None:
    big = "x" * 1500
    native_node.put("88.118/big", [value(1, "DESC", big), value(2, "URL", "u")])
    # Over 492 bytes of request: 120 requested types.
    types = (*(f"TYPE{i:04d}".encode() for i in range(120)), b"DESC")
    request = resolution_bytes("88.118/big", types=types, request_id=77)
    envelope = native.decode_envelope(request)
    chunks = native.chunk(envelope, request[20:])
    assert len(chunks) > 1
    answers: list[bytes] = []

    def exchange() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(3)
            for datagram in reversed(chunks):  # out of order on purpose
                sock.sendto(datagram, ("127.0.0.1", native_node.port))
            while True:
                answers.append(sock.recv(65536))
                head = native.decode_envelope(answers[-1])
                if len(answers) * 492 >= head.length:
                    return

    await asyncio.to_thread(exchange)
    heads = [native.decode_envelope(a) for a in answers]
    assert all(h.request_id == 77 and h.truncated for h in heads)
    assert [len(a) - 20 for a in answers[:-1]] == [492] * (len(answers) - 1)
    by_id = sorted(zip(heads, answers, strict=True), key=lambda pair: pair[0].message_id)
    message = native.decode_message(b"".join(a[20:] for _, a in by_id))
    resolution = native.decode_resolution(Reader(message.body))
    assert [(v.index, v.data) for v in resolution.values] == [(1, big.encode())]
    # The client reassembles the same.
    async with HandleClient("127.0.0.1", native_node.port, udp=True) as client:
        assert (await client.resolve("88.118/big", types=["DESC"])).values == resolution.values


async def test_undecodable_datagrams_are_dropped_unanswered(native_node: NativeNode) -> None:
    for datagram in (b"", b"\x02\x0a", bytes(19), resolution_bytes("88.118/x")[:-3]):
        assert await asyncio.to_thread(udp_exchange, native_node.port, datagram, 0.3) == []
    # Still serving.
    (answer,) = await asyncio.to_thread(
        udp_exchange, native_node.port, resolution_bytes("0.NA/88.118")
    )
    assert native.decode_message(answer[20:]).header.response_code == ResponseCode.SUCCESS
