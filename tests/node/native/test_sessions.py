"""The session opcodes against a real node: Handle.Net's SESSION_SETUP is refused with 501 and
the same TCP connection then creates a handle by challenge and answer; malformed session bodies
get a protocol error (4), never an internal error."""

from __future__ import annotations

import logging
import random
import struct
from collections.abc import AsyncIterator

import pytest

from loadtests import free_port
from node import Settings
from node.app import create_app
from node.native.admin_client import AdminClient, SecretKeyAuth
from node.native.client import HandleClient
from registry import EnterpriseService, HandleValue, Prefix, RecordService
from registry.codec.native import OpCode, OpFlag, ResponseCode, decode_error
from registry.codec.native.session import KeyExchange, SessionSetup, encode_session_setup
from registry.storage import Database
from registry.trust import CipherKey

from ...servers import ThreadedServer

PASSWORD = "session-password"
ADMIN = "88.118.8/ADMIN"
URL = HandleValue(1, "URL", "string", "https://example.com/s1")
# Handle.Net's client flags on SESSION_SETUP: certify and return the request digest.
SETUP_FLAGS = int(OpFlag.CERT | OpFlag.RRDG)


@pytest.fixture
async def port(settings: Settings, db: Database) -> AsyncIterator[int]:
    service = EnterpriseService(
        db, RecordService(db), Prefix.parse("88.118"), CipherKey("test-credential-key")
    )
    await service.create("Acme", "88.118.8", password=PASSWORD)
    port = free_port()
    served = settings.model_copy(update={"handle_port": port})
    with ThreadedServer(create_app(served), settings=served):
        yield port


def handle_net_setup_body(identity: bytes, index: int, public_key: bytes) -> bytes:
    """A DH SESSION_SETUP body laid out as ``Encoder.encodeSessionSetupRequest`` writes it."""
    return (
        struct.pack(">hi", 4, 24 * 60 * 60)
        + struct.pack(">i", len(identity))
        + identity
        + struct.pack(">ii", index, len(public_key))
        + public_key
        + bytes(2)  # the encoder counts the mode as 4 bytes but writes 2
    )


async def test_session_setup_is_refused_and_the_connection_then_creates_by_challenge(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="idnode.native")
    # Handle.Net encodes a DH public key as its own key record; the node never reads it.
    dh_key = b"\x00\x00\x00\x02DH\x00\x00" + bytes(range(200))
    body = handle_net_setup_body(ADMIN.encode(), 300, dh_key)
    assert body == encode_session_setup(
        SessionSetup(KeyExchange.DH, 86400, ADMIN.encode(), 300, dh_key)
    )
    async with HandleClient("127.0.0.1", port, timeout=5.0) as client:
        (setup,) = await client.request(OpCode.SESSION_SETUP, body, flags=SETUP_FLAGS)
        assert setup.code == ResponseCode.SESSION_FAILED
        assert setup.message.header.opcode == OpCode.SESSION_SETUP
        assert setup.digest  # RRDG honoured (and checked against the request by the client)
        assert "setSessionTracker(null)" in decode_error(setup.reader())
        (exchange,) = await client.request(
            OpCode.SESSION_EXCHANGEKEY, struct.pack(">i", 3) + b"key"
        )
        assert exchange.code == ResponseCode.SESSION_FAILED
        (ended,) = await client.request(OpCode.SESSION_TERMINATE, b"", session_id=77)
        assert ended.code == ResponseCode.SESSION_TIMEOUT
        # Same connection: plain challenge and answer now create the handle.
        await AdminClient(client, SecretKeyAuth(ADMIN, 300, PASSWORD.encode())).create(
            "88.118.8/S1", [URL]
        )
        resolved = await client.resolve("88.118.8/S1")
        assert [v.data for v in resolved.values if v.index == 1] == [URL.value.encode()]
    # Normal client behaviour: logged, but not as a warning.
    native = [r for r in caplog.records if r.name == "idnode.native"]
    assert any("sessions are not offered" in r.getMessage() for r in native)
    assert all(r.levelno < logging.WARNING for r in native)


GOOD = handle_net_setup_body(ADMIN.encode(), 300, b"k" * 64)

MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x00", id="half-a-mode"),
    pytest.param(struct.pack(">hi", 0, 60) + bytes(8), id="mode-none"),
    pytest.param(struct.pack(">hi", 9, 60) + bytes(8), id="unknown-mode"),
    pytest.param(struct.pack(">h", 4), id="no-timeout"),
    pytest.param(struct.pack(">hii", 4, 60, 0x7FFFFFFF), id="identity-length-lies"),
    pytest.param(struct.pack(">hii", 4, 60, 3000) + bytes(3000), id="identity-too-long"),
    pytest.param(struct.pack(">hiii", 4, 60, 0, 300), id="dh-without-key"),
    pytest.param(struct.pack(">hiiii", 4, 60, 0, 300, 20_000) + bytes(20_000), id="key-too-long"),
    pytest.param(struct.pack(">hiiii", 3, 60, 0, 300, 3) + b"a/b", id="hdl-without-index"),
    pytest.param(GOOD[: len(GOOD) - 10], id="truncated"),
]


@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_session_setup_is_a_protocol_error_and_the_connection_lives(
    port: int, body: bytes
) -> None:
    async with HandleClient("127.0.0.1", port, timeout=5.0) as client:
        (reply,) = await client.request(OpCode.SESSION_SETUP, body, flags=SETUP_FLAGS)
        assert reply.code == ResponseCode.PROTOCOL_ERROR, decode_error(reply.reader())
        (exchange,) = await client.request(OpCode.SESSION_EXCHANGEKEY, body[:3])
        assert exchange.code == ResponseCode.PROTOCOL_ERROR
        site = await client.site_info()
        assert site.servers


async def test_fuzzed_session_bodies_get_a_session_or_protocol_error_never_an_internal_one(
    port: int,
) -> None:
    rng = random.Random(400)
    async with HandleClient("127.0.0.1", port, timeout=5.0) as client:
        for _ in range(150):
            buf = bytearray(GOOD)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(buf))
                if rng.random() < 0.5:
                    buf[at] = rng.randrange(256)
                else:
                    del buf[at : at + rng.randint(1, 6)]
            opcode = rng.choice([OpCode.SESSION_SETUP, OpCode.SESSION_EXCHANGEKEY])
            (reply,) = await client.request(opcode, bytes(buf), flags=SETUP_FLAGS)
            assert reply.code in (ResponseCode.SESSION_FAILED, ResponseCode.PROTOCOL_ERROR)
