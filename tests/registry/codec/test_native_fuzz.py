"""A bounded fuzz of the native codec: random and mutated bytes raise ``ProtocolError`` or decode.

Seeded, so a failure replays; bounded in cases and in time. The table of hand-picked malformed
messages is in ``test_native.py``.
"""

from __future__ import annotations

import contextlib
import random
import time

from registry.codec import native
from registry.codec.native import OpCode, ProtocolError, Reader
from registry.codec.native.session import (
    KeyExchange,
    SessionSetup,
    decode_exchange_key,
    decode_session_setup,
    encode_exchange_key,
    encode_session_setup,
)

from .native_samples import HANDLE_NET_RESOLUTION, request

SEED = 3652
CASES = 20_000
BUDGET_SECONDS = 10.0


def _valid_messages() -> list[bytes]:
    site = native.SiteInfo((native.Server.at(1, "10.0.0.1", (native.Interface(3, 1, 2641),)),))
    value = native.WireValue(1, b"URL", b"https://x/", references=((b"a/b", 2),)).encode()
    return [
        HANDLE_NET_RESOLUTION,
        request(
            OpCode.RESOLUTION,
            native.encode_resolution_request(
                native.ResolutionRequest(b"88.118/x", (1, 2), (b"URL", b"HS_"))
            ),
        ),
        request(OpCode.GET_SITE_INFO, native.encode_handle_request(b"/")),
        request(1, native.encode_resolution(b"88.118/x", [value, value])),
        request(2, site.encode()),
        request(1, native.encode_error("nope")),
        request(
            OpCode.SESSION_SETUP,
            encode_session_setup(SessionSetup(KeyExchange.DH, 86400, b"0.NA/x", 300, b"DH" * 40)),
        ),
        request(
            OpCode.SESSION_SETUP,
            encode_session_setup(SessionSetup(KeyExchange.CIPHER_HDL, 60, key_handle=b"a/b")),
        ),
        request(OpCode.SESSION_EXCHANGEKEY, encode_exchange_key(b"k" * 32)),
    ]


def _decode_everything(data: bytes) -> None:
    """Every decoder, whatever the message claims to be."""
    native.decode_envelope(data)
    message = native.decode_message(data[native.ENVELOPE_SIZE :])
    for decode in (
        native.decode_resolution_request,
        native.decode_resolution,
        native.decode_handle_request,
        native.decode_error,
        native.decode_site_response,
        decode_session_setup,
        decode_exchange_key,
    ):
        with contextlib.suppress(ProtocolError):
            decode(Reader(message.body))
    native.split_digest(message)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(5)
        position = rng.randrange(len(buf) + 1)
        if action == 0 and buf:
            buf[min(position, len(buf) - 1)] = rng.randrange(256)
        elif action == 1:
            del buf[position : position + rng.randint(1, 8)]
        elif action == 2:
            buf[position:position] = rng.randbytes(rng.randint(1, 8))
        elif action == 3 and len(buf) >= position + 4:
            # A length or count that lies.
            buf[position : position + 4] = rng.choice(
                [b"\xff\xff\xff\xff", b"\x00\x10\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00"]
            )
        else:
            buf = buf[: rng.randrange(len(buf) + 1)]
    return bytes(buf)


def test_random_and_mutated_bytes_only_ever_raise_protocol_errors() -> None:
    rng = random.Random(SEED)
    seeds = _valid_messages()
    deadline = time.monotonic() + BUDGET_SECONDS
    decoded = refused = 0
    for case in range(CASES):
        if time.monotonic() > deadline:
            break
        data = (
            rng.randbytes(rng.randint(0, 80)) if case % 5 == 0 else _mutate(rng, rng.choice(seeds))
        )
        try:
            _decode_everything(data)
        except ProtocolError as exc:
            assert exc.code in (
                native.ResponseCode.PROTOCOL_ERROR,
                native.ResponseCode.INVALID_HANDLE,
            )
            refused += 1
        else:
            decoded += 1
    # Both outcomes happen: the fuzz reaches past the envelope and is not all rejected at once.
    assert decoded > 100 and refused > 100, (decoded, refused)
