"""The Handle binary encoding signatures digest, checked byte by byte against Handle's layout."""

from __future__ import annotations

import base64
import hashlib
import struct

from registry import HandleValue, Permissions
from registry.codec import (
    digest_stored,
    digest_stored_values,
    digest_value,
    digest_values,
    value_body,
)


def _sized(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def test_string_value_encodes_ttl_type_ttl_permissions_type_data_and_no_references():
    value = HandleValue(1, "URL", "string", "http://a", ttl=86400)
    expected = (
        b"\x00"  # ttlType: relative
        + b"\x00\x01\x51\x80"  # ttl 86400
        + b"\x0e"  # admin read | admin write | public read
        + _sized(b"URL")
        + _sized(b"http://a")
        + b"\x00\x00\x00\x00"  # no references
    )
    assert value_body(value) == expected


def test_index_and_timestamp_are_not_part_of_the_digest():
    a = HandleValue(1, "URL", "string", "http://a", timestamp="2026-01-01T00:00:00Z")
    b = HandleValue(7, "URL", "string", "http://a", timestamp="2027-01-01T00:00:00Z")
    assert digest_value(a) == digest_value(b)


def test_digest_is_base64_sha256_of_the_body():
    value = HandleValue(
        2, "EMAIL", "string", "a@b.c", ttl=60, permissions=Permissions.parse("1011")
    )
    body = value_body(value)
    assert body[5] == 0b1011
    assert digest_value(value) == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_admin_value_data_is_handles_admin_record():
    value = HandleValue(
        100,
        "HS_ADMIN",
        "admin",
        {"handle": "0.NA/88.118", "index": 200, "permissions": "011111110011"},
    )
    data = struct.pack(">H", 0b011111110011) + _sized(b"0.NA/88.118") + struct.pack(">I", 200)
    assert (
        value_body(value)
        == b"\x00"
        + struct.pack(">I", 86400)
        + b"\x0e"
        + _sized(b"HS_ADMIN")
        + _sized(data)
        + b"\x00\x00\x00\x00"
    )


def test_binary_formats_digest_their_decoded_bytes():
    raw = bytes(range(5))
    as_hex = HandleValue(3, "BIN", "hex", raw.hex())
    as_base64 = HandleValue(3, "BIN", "base64", base64.b64encode(raw).decode())
    assert value_body(as_hex) == value_body(as_base64)
    assert _sized(raw) in value_body(as_hex)


def test_vlist_data_is_a_count_then_handle_index_pairs():
    value = HandleValue(200, "HS_VLIST", "vlist", [{"handle": "88.118.8/ADMIN", "index": 300}])
    data = struct.pack(">I", 1) + _sized(b"88.118.8/ADMIN") + struct.pack(">I", 300)
    assert _sized(data) in value_body(value)


def test_a_changed_permission_or_ttl_changes_the_digest():
    base = HandleValue(1, "URL", "string", "http://a")
    assert digest_value(base) != digest_value(HandleValue(1, "URL", "string", "http://a", ttl=5))
    private = HandleValue(1, "URL", "string", "http://a", permissions=Permissions.parse("1100"))
    assert digest_value(base) != digest_value(private)


def test_a_stored_value_digests_as_the_value_does():
    values = [
        HandleValue(1, "URL", "string", "http://a"),
        HandleValue(2, "URL", "string", "y" * 300, ttl=5),
        HandleValue(3, "EMAIL", "string", "a@b.c", permissions=Permissions.parse("1011")),
        HandleValue(4, "BLOB", "base64", "aGVsbG8="),
        HandleValue(5, "RAW", "hex", "00ff"),
        HandleValue(100, "HS_ADMIN", "admin",
                    {"handle": "0.NA/88.118.8", "index": 200, "permissions": "011111110011"}),
        HandleValue(6, "HS_VLIST", "vlist", [{"handle": "88.118.8/A", "index": 300}]),
        HandleValue(7, "HS_SITE", "site", {"servers": []}),
    ]  # fmt: skip
    for _ in range(2):  # the second round is answered from memory
        for value in values:
            assert digest_stored(value.to_storage()) == digest_value(value)
    assert digest_stored_values(v.to_storage() for v in values) == digest_values(values)
