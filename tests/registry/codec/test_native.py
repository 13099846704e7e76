"""The native Handle codec: round trips on byte strings, Handle.Net's own bytes, malformed input."""

from __future__ import annotations

import hashlib

import pytest

from registry import HandleValue, Permissions
from registry.codec import native, value_body
from registry.codec.native import OpCode, OpFlag, ProtocolError, Reader, ResponseCode

from .native_samples import HANDLE_NET_RESOLUTION, request


def test_handle_nets_resolution_request_decodes() -> None:
    envelope = native.decode_envelope(HANDLE_NET_RESOLUTION)
    assert (envelope.major, envelope.minor) == (2, 3)
    assert (envelope.suggest_major, envelope.suggest_minor) == (2, 11)
    assert envelope.request_id == 0x12AFB709
    assert envelope.length == 52 == len(HANDLE_NET_RESOLUTION) - native.ENVELOPE_SIZE
    message = native.decode_message(HANDLE_NET_RESOLUTION[20:])
    assert message.opcode == OpCode.RESOLUTION and message.is_request
    assert message.header.flags == OpFlag.RECU | OpFlag.CACR | OpFlag.PUBL
    assert message.header.site_serial == -1
    assert message.credential == b""
    resolution = native.decode_resolution_request(Reader(message.body))
    assert resolution == native.ResolutionRequest(b"0.NA/20.5000")
    assert native.reply_version(envelope) == (2, 11)


def test_envelope_round_trip_and_version_negotiation() -> None:
    envelope = native.Envelope(2, 10, 2, 11, 0xFFFFFFFF, 12345, 3, 1000, 0x20)
    raw = envelope.encode()
    assert len(raw) == 20 and raw[2] == 0x22
    assert native.decode_envelope(raw) == envelope
    # An old client suggests nothing (low bits 0): its own version is what it speaks.
    old = native.decode_envelope(native.Envelope(2, 1, 0, 0, 0, 1, 0, 0).encode())
    assert (old.suggest_major, old.suggest_minor) == (2, 1)
    assert native.reply_version(old) == (2, 1)
    # A client newer than us is answered at our version.
    newer = native.decode_envelope(native.Envelope(2, 10, 3, 1, 0, 1, 0, 0).encode())
    assert native.reply_version(newer) == native.SERVER_VERSION


def test_udp_chunks_are_exactly_492_bytes_but_the_last() -> None:
    message = bytes(range(256)) * 5  # 1280 bytes: 492 + 492 + 296
    envelope = native.Envelope(2, 11, 2, 11, 0, 99, 0, 0)
    chunks = native.chunk(envelope, message)
    assert [len(c) - 20 for c in chunks] == [492, 492, 296]
    heads = [native.decode_envelope(c) for c in chunks]
    assert [h.message_id for h in heads] == [0, 1, 2]
    assert all(h.truncated and h.length == 1280 and h.request_id == 99 for h in heads)
    assert b"".join(c[20:] for c in chunks) == message
    (single,) = native.chunk(envelope, message[:492])
    assert not native.decode_envelope(single).truncated


def test_message_round_trip_keeps_the_signed_bytes() -> None:
    header = native.Header(OpCode.RESOLUTION, 0, int(OpFlag.RRDG), -1, 2, 1_800_000_000)
    raw = native.encode_message(header, b"body", b"cred")
    message = native.decode_message(raw)
    assert message.header == native.Header(
        OpCode.RESOLUTION, 0, OpFlag.RRDG, -1, 2, 1_800_000_000, 4
    )
    assert message.body == b"body" and message.credential == b"cred"
    assert message.signed == raw[: 24 + 4]


@pytest.mark.parametrize(
    ("version", "code", "hash_name"),
    [((2, 11), 3, "sha256"), ((2, 7), 3, "sha256"), ((2, 6), 2, "sha1"), ((2, 1), 2, "sha1")],
)
def test_request_digest_by_version(version: tuple[int, int], code: int, hash_name: str) -> None:
    message = native.decode_message(HANDLE_NET_RESOLUTION[20:])
    prefix = native.digest_prefix(message, version)
    assert prefix == bytes((code,)) + hashlib.new(hash_name, HANDLE_NET_RESOLUTION[20:68]).digest()
    response = native.decode_message(
        native.encode_message(
            native.Header(1, ResponseCode.SUCCESS, int(OpFlag.RRDG)), prefix + b"rest"
        )
    )
    digest, reader = native.split_digest(response)
    assert digest == prefix and reader.raw(reader.remaining) == b"rest"


def test_old_md5_digest_has_a_length_instead_of_a_code() -> None:
    message = native.decode_message(HANDLE_NET_RESOLUTION[20:])
    prefix = native.digest_prefix(message, (2, 0))
    assert prefix == b"\x00\x00\x00\x10" + hashlib.md5(message.signed).digest()
    response = native.decode_message(
        native.encode_message(native.Header(1, 1, int(OpFlag.RRDG)), prefix)
    )
    assert native.split_digest(response)[0] == prefix


def test_resolution_bodies_round_trip() -> None:
    wanted = native.ResolutionRequest(b"88.118/x", (1, 100), (b"URL", b"HS_"))
    body = native.encode_resolution_request(wanted)
    assert native.decode_resolution_request(Reader(body)) == wanted
    # id-pointer-sdk appends its auth bytes: tolerated.
    assert native.decode_resolution_request(Reader(body + native.sized(b"jwt"))) == wanted
    value = HandleValue(
        1, "URL", "string", "https://e.x/", 300, "2026-01-02T03:04:05Z", Permissions()
    )
    encoded = native.encode_value(value)
    assert encoded[8:] == value_body(value)
    response = native.encode_resolution(b"88.118/x", [encoded], b"")
    decoded = native.decode_resolution(Reader(response))
    assert decoded.handle == b"88.118/x"
    (wire,) = decoded.values
    assert wire == native.WireValue(1, b"URL", b"https://e.x/", 1767323045, 0, 300, 0xE)
    assert wire.encode() == encoded
    assert native.to_handle_value(wire) == value


def test_private_and_binary_values_convert() -> None:
    wire = native.WireValue(7, b"BLOB", b"\xff\x00", permissions=0x8)
    value = native.to_handle_value(wire)
    assert (value.format, value.value) == ("base64", "/wA=")
    assert value.permissions == Permissions(True, False, False, False)
    assert not wire.public


def test_error_and_site_bodies_round_trip() -> None:
    assert native.decode_error(Reader(native.encode_error("no such handle"))) == "no such handle"
    assert native.decode_error(Reader(b"")) == ""
    site = native.SiteInfo(
        (
            native.Server.at(
                1,
                "127.0.0.1",
                (native.Interface(3, 1, 2641), native.Interface(2, 0, 2641)),
            ),
        ),
        serial=3,
        attributes=((b"desc", b"idnode"),),
    )
    raw = site.encode()
    assert raw[:8] == b"\x00\x01\x02\x0b\x00\x03\x80\x00"
    assert native.decode_site(raw) == site
    assert native.decode_site(raw).servers[0].host == "127.0.0.1"
    assert native.decode_site_response(Reader(native.encode_site_response(site))) == site
    six = native.Server.at(2, "2001:db8::1", ())
    assert six.host == "2001:db8::1"
    with pytest.raises(ProtocolError, match="unexpected bytes after the site"):
        native.decode_site(raw + b"\x00")


@pytest.mark.parametrize(
    ("index", "kind", "indexes", "types", "match"),
    [
        (1, b"URL", (), (), True),
        (1, b"URL", (1,), (), True),
        (2, b"URL", (1,), (), False),
        (2, b"URL", (1,), (b"url",), True),
        (2, b"HS_ADMIN", (), (b"HS_",), False),
        (2, b"URL.home", (), (b"URL.",), True),
        (2, b"URL", (), (b"url.",), True),
        (2, b"URLX", (), (b"URL.",), False),
        (2, b"EMAIL", (), (b"URL",), False),
    ],
)
def test_index_or_type_filter(
    index: int, kind: bytes, indexes: tuple[int, ...], types: tuple[bytes, ...], match: bool
) -> None:
    assert native.index_or_type_match(index, kind, indexes, types) is match


def _whole(data: bytes) -> None:
    """Every decoder a server runs on a request."""
    envelope = native.decode_envelope(data)
    if len(data) != 20 + envelope.length:
        raise ProtocolError("the envelope's length is not the message's")
    message = native.decode_message(data[20:])
    native.decode_resolution_request(Reader(message.body))


_GOOD = request(
    OpCode.RESOLUTION, native.encode_resolution_request(native.ResolutionRequest(b"a/b"))
)
_MESSAGE = _GOOD[20:]


def _framed(message: bytes) -> bytes:
    """``message`` behind an envelope announcing its true length."""
    return _GOOD[:16] + native.int4(len(message)) + message


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(b"", "envelope is 20 bytes", id="empty"),
        pytest.param(_GOOD[:19], "envelope is 20 bytes", id="short-envelope"),
        pytest.param(_GOOD[:16] + b"\x7f\xff\xff\xff" + _MESSAGE, "over the limit", id="huge"),
        pytest.param(_framed(_MESSAGE[:16]), "header is 24 bytes", id="short-header"),
        pytest.param(
            _framed(_MESSAGE[:20] + b"\x00\x00\x01\x00" + _MESSAGE[24:]),
            "runs past the message",
            id="body-length-lies",
        ),
        pytest.param(_framed(_MESSAGE[:-2]), "needs 4 bytes", id="credential-length-cut"),
        pytest.param(
            _framed(_MESSAGE + b"junk"), "unexpected bytes after the credential", id="garbage"
        ),
        pytest.param(
            _framed(_MESSAGE[:-4] + b"\x00\x00\x00\x09"),
            "credential needs 9 bytes",
            id="credential-lies",
        ),
        pytest.param(
            _framed(_MESSAGE[:24] + b"\xff\xff\xff\xff" + _MESSAGE[28:]),
            "handle is 4294967295 bytes",
            id="handle-length-lies",
        ),
        pytest.param(
            _framed(_MESSAGE[:31] + b"\x09" + _MESSAGE[32:]),
            "requested indexes",
            id="index-count-lies",
        ),
    ],
)
def test_malformed_requests_are_protocol_errors(data: bytes, problem: str) -> None:
    # Lengths kept consistent with the envelope where the envelope is not the point.
    with pytest.raises(ProtocolError, match=problem) as caught:
        _whole(data)
    assert caught.value.code == ResponseCode.PROTOCOL_ERROR


def test_handle_that_is_not_utf8_is_an_invalid_handle() -> None:
    with pytest.raises(ProtocolError) as caught:
        native.check_handle(b"\xff/x")
    assert caught.value.code == ResponseCode.INVALID_HANDLE


def test_value_counts_past_the_limit_are_refused() -> None:
    body = native.sized(b"a/b") + native.int4(native.MAX_VALUES + 1)
    with pytest.raises(ProtocolError, match="values announced"):
        native.decode_resolution(Reader(body))
    with pytest.raises(ProtocolError, match="unexpected bytes"):
        native.decode_resolution(Reader(native.encode_resolution(b"a/b", []) + b"x"))


def test_chunk_frame_splits_an_encoded_frame_like_chunk() -> None:
    message = bytes(range(200)) * 6  # 1200 bytes: 492 + 492 + 216
    envelope = native.Envelope(2, 11, 2, 11, 5, 99, 0, len(message))
    frame = envelope.encode() + message
    assert native.chunk_frame(frame) == native.chunk(envelope, message)
    assert native.chunk_frame(frame[:512]) == [frame[:512]]


def test_digest_of_raw_bytes_matches_the_decoded_message() -> None:
    message = native.decode_message(HANDLE_NET_RESOLUTION[20:])
    for version in ((2, 11), (2, 5), (2, 0)):
        assert native.digest_prefix_of(HANDLE_NET_RESOLUTION[20:68], version) == (
            native.digest_prefix(message, version)
        )
