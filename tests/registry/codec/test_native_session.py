"""The session bodies: Handle.Net's byte layout, round trips, and each malformed body refused."""

from __future__ import annotations

import struct

import pytest

from registry.codec.native import ProtocolError, Reader
from registry.codec.native.session import (
    MAX_SESSION_KEY,
    KeyExchange,
    SessionSetup,
    decode_exchange_key,
    decode_session_setup,
    encode_exchange_key,
    encode_session_setup,
)


def test_a_dh_setup_is_laid_out_as_handle_nets_encoder_writes_it() -> None:
    setup = SessionSetup(KeyExchange.DH, 86400, b"0.NA/20.5000", 300, b"PUB")
    assert encode_session_setup(setup) == (
        b"\x00\x04"  # mode
        + b"\x00\x01\x51\x80"  # 86400 s
        + b"\x00\x00\x00\x0c0.NA/20.5000"
        + b"\x00\x00\x01\x2c"  # index 300
        + b"\x00\x00\x00\x03PUB"
        + b"\x00\x00"  # the encoder's two bytes of slack
    )


@pytest.mark.parametrize(
    "setup",
    [
        SessionSetup(KeyExchange.DH, 86400, b"0.NA/x", 300, b"\x01" * 300),
        SessionSetup(KeyExchange.DH, 60),  # anonymous: empty identity, index -1
        SessionSetup(KeyExchange.CIPHER_CLIENT, 10, b"a/b", 1, b"rsa"),
        SessionSetup(KeyExchange.CIPHER_SERVER, 10, b"a/b", 2),
        SessionSetup(KeyExchange.CIPHER_HDL, 10, key_handle=b"a/keys", key_index=7),
    ],
)
def test_setups_round_trip(setup: SessionSetup) -> None:
    assert decode_session_setup(Reader(encode_session_setup(setup))) == setup


def test_the_exchanged_key_round_trips() -> None:
    assert decode_exchange_key(Reader(encode_exchange_key(b"secret"))) == b"secret"


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "key exchange mode"),
        (struct.pack(">hi", 0, 60), "unknown session key exchange mode 0"),
        (struct.pack(">hi", 5, 60), "unknown session key exchange mode 5"),
        (struct.pack(">h", 4) + b"\x00", "session timeout"),
        (struct.pack(">hii", 4, 60, 2), "session identity handle"),
        (struct.pack(">hii", 4, 60, 5000) + bytes(5000), "at most 2048"),
        (struct.pack(">hiii", 4, 60, 0, -1), "session exchange public key"),
        (
            struct.pack(">hiiii", 1, 60, 0, -1, MAX_SESSION_KEY + 1) + bytes(MAX_SESSION_KEY + 1),
            f"at most {MAX_SESSION_KEY}",
        ),
        (struct.pack(">hiiii", 3, 60, 0, -1, 1) + b"h", "session key index"),
    ],
)
def test_malformed_setups_name_the_problem(body: bytes, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint) as refused:
        decode_session_setup(Reader(body))
    assert refused.value.code == 4


@pytest.mark.parametrize("body", [b"", b"\x00\x00\x00\x05ab", struct.pack(">i", 20_000)])
def test_malformed_exchanged_keys_are_refused(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="encrypted session key"):
        decode_exchange_key(Reader(body))
