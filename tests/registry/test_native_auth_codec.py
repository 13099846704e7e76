"""The native protocol's auth and admin bodies: byte-exact forms, round trips, refusals, fuzz."""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

import pytest

from registry import HandleValue, Permissions
from registry.codec import ResponseCode
from registry.codec import native_auth as na

ADMIN = na.AdminRecord(
    na.AdminPerm.ADD_HANDLE | na.AdminPerm.DELETE_HANDLE | na.AdminPerm.READ_VALUE,
    na.ValueRef("0.NA/88.118.8", 200),
)


def _b(text: bytes) -> bytes:
    return struct.pack(">I", len(text)) + text


def test_admin_record_bytes_are_handle_nets() -> None:
    raw = na.encode_admin(ADMIN)
    assert raw == b"\x04\x03" + _b(b"0.NA/88.118.8") + b"\x00\x00\x00\xc8"
    assert na.decode_admin(raw) == ADMIN


def test_admin_record_legacy_form_with_two_more_bytes_is_read() -> None:
    raw = na.encode_admin(ADMIN) + b"\x00\x00"
    assert na.decode_admin(raw) == ADMIN


def test_admin_bits_round_trip_through_the_stored_bit_string() -> None:
    perms = na.AdminPerm.from_bits("011111110011")
    assert perms.bits() == "011111110011"
    assert na.AdminPerm.LIST_HANDLES not in perms
    assert na.AdminPerm.ADD_ADMIN in perms and na.AdminPerm.ADD_HANDLE in perms
    stored = {"handle": "88.118.8/ADMIN", "index": 300, "permissions": "011111110011"}
    assert na.AdminRecord.from_stored(stored).to_stored() == stored


def test_vlist_round_trip() -> None:
    refs = (na.ValueRef("88.118.8/ADMIN", 300), na.ValueRef("88.118.8/OPS", 301))
    raw = na.encode_vlist(refs)
    assert raw[:4] == b"\x00\x00\x00\x02"
    assert na.decode_vlist(raw) == refs
    assert na.decode_vlist(na.encode_vlist(())) == ()


def test_value_wire_form_and_round_trip() -> None:
    value = HandleValue(
        100,
        "HS_ADMIN",
        "admin",
        {"handle": "88.118.8/ADMIN", "index": 300, "permissions": "011111110011"},
        ttl=3600,
        timestamp="2026-01-01T00:00:00Z",
        permissions=Permissions.parse("1110"),
    )
    raw = na.encode_value(value)
    # index, timestamp (2026-01-01 = 1767225600), ttl type, ttl, permissions 0x8|0x4|0x2
    assert raw[:18] == struct.pack(">iIBiB", 100, 1767225600, 0, 3600, 0x0E) + b"\x00\x00\x00\x08"
    decoded = na.decode_value(na.Reader(raw))
    assert decoded == HandleValue(
        100, "HS_ADMIN", "admin", value.value, ttl=3600, permissions=value.permissions
    )


def test_binary_data_becomes_base64_and_text_a_string() -> None:
    binary = HandleValue(300, "HS_PUBKEY", "base64", "AAEC/w==", permissions=Permissions())
    text = HandleValue(1, "URL", "string", "https://example.com/ä")
    for value in (binary, text):
        assert na.decode_value(na.Reader(na.encode_value(value))) == value


def _values_body() -> bytes:
    values = (
        HandleValue(1, "URL", "string", "https://example.com/1"),
        HandleValue(2, "EMAIL", "string", "qa@example.com"),
    )
    return na.encode_values_request(na.ValuesRequest("88.118.8/X1", values))


def test_admin_request_bodies_round_trip() -> None:
    request = na.decode_values_request(_values_body())
    assert request.handle == "88.118.8/X1"
    assert [v.index for v in request.values] == [1, 2]
    assert na.decode_values_request(na.encode_values_request(request)) == request
    remove = na.RemoveValues("88.118.8/X1", (2, 3))
    assert na.encode_remove_values(remove) == _b(b"88.118.8/X1") + struct.pack(">Iii", 2, 2, 3)
    assert na.decode_remove_values(na.encode_remove_values(remove)) == remove
    only = na.HandleOnly("0.NA/88.118.8")
    assert na.decode_handle_request(na.encode_handle_request(only)) == only
    assert na.decode_create_response(na.encode_create_response("88.118.8/M1")) == "88.118.8/M1"
    assert na.decode_create_response(na.encode_create_response(None)) is None


def test_list_handles_are_chunked_in_fifties_with_cont_on_all_but_the_last() -> None:
    handles = [f"88.118.8/H{i}" for i in range(120)]
    chunks = list(na.list_chunks(handles))
    assert [more for _, more in chunks] == [True, True, False]
    listed = [h for body, _ in chunks for h in na.decode_list_response(body)]
    assert listed == handles
    assert [(na.decode_list_response(b), more) for b, more in na.list_chunks([])] == [((), False)]


def test_auth_bodies_round_trip() -> None:
    nonce = bytes(range(16))
    assert na.decode_challenge(na.encode_challenge(nonce)) == nonce
    answer = na.ChallengeAnswer("HS_SECKEY", "88.118.8/ADMIN", 300, b"\x22abc")
    raw = na.encode_challenge_answer(answer)
    assert raw == _b(b"HS_SECKEY") + _b(b"88.118.8/ADMIN") + b"\x00\x00\x01\x2c" + _b(b"\x22abc")
    assert na.decode_challenge_answer(raw) == answer
    login = na.LoginRequest("88.118.8/ADMIN", 300)
    assert na.encode_login(login) == _b(b"88.118.8/ADMIN") + b"\x00\x00\x01\x2c"
    # The SDKs may append fields: tolerated.
    assert na.decode_login(na.encode_login(login) + b"\x00\x00\x00\x00") == login
    verify = na.VerifyRequest("88.118.8/ADMIN", 300, nonce, 3, bytes(32), b"\x22mac")
    assert na.decode_verify_request(na.encode_verify_request(verify)) == verify
    old = na.VerifyRequest("88.118.8/ADMIN", 300, nonce, 0, bytes(16), b"mac")
    assert na.decode_verify_request(na.encode_verify_request(old)) == old
    assert na.decode_verify_response(na.encode_verify_response(True)) is True
    assert na.decode_verify_response(na.encode_verify_response(False)) is False


def test_secret_answers_round_trip() -> None:
    pbkdf2 = na.SecretAnswer(na.MacAlg.PBKDF2_HMAC_SHA1, bytes(20), bytes(16), 10000, 160)
    raw = na.encode_secret_answer(pbkdf2)
    assert raw[0] == 0x22
    assert na.decode_secret_answer(raw) == pbkdf2
    sha1 = na.SecretAnswer(na.MacAlg.SHA1, bytes(20))
    assert na.decode_secret_answer(na.encode_secret_answer(sha1)) == sha1
    old = na.decode_secret_answer(bytes(16), old_format=True)
    assert old == na.SecretAnswer(na.MacAlg.MD5_OLD_FORMAT, bytes(16))


def test_hashed_secret_is_lower_case_hex_sha1() -> None:
    assert na.hashed_secret(b"abc") == b"a9993e364706816aba3e25717850c26c9cd0d89d"


def test_public_key_blobs_round_trip_in_javas_integer_form() -> None:
    rsa = na.RsaKey(65537, (1 << 1023) | 12345)
    raw = na.encode_public_key(rsa)
    assert raw.startswith(_b(b"RSA_PUB_KEY") + b"\x00\x00" + _b(b"\x01\x00\x01"))
    # The modulus's top bit is set: BigInteger.toByteArray puts a zero byte before it.
    assert raw[len(_b(b"RSA_PUB_KEY")) + 2 + 7 : len(_b(b"RSA_PUB_KEY")) + 2 + 7 + 5] == (
        b"\x00\x00\x00\x81\x00"
    )
    assert na.decode_public_key(raw) == rsa
    dsa = na.DsaKey(p=23, q=11, g=4, y=9)
    assert na.decode_public_key(na.encode_public_key(dsa)) == dsa
    sm2 = na.Sm2Key(b"-----BEGIN PUBLIC KEY-----\n...")
    assert na.decode_public_key(na.encode_public_key(sm2)) == sm2
    answer = na.PublicAnswer("SHA256", b"sig")
    assert na.decode_public_answer(na.encode_public_answer(answer)) == answer
    assert na.decode_public_answer(_b(b"SHA-1") + _b(b"s")).hash_alg == "SHA1"
    assert na.decode_public_answer(_b(b"\x03") + _b(b"s")).hash_alg == "SHA256"


def _value(
    index: int = 1,
    ttl_type: int = 0,
    kind: bytes = b"URL",
    data: bytes = b"x",
    refs: bytes = b"\x00\x00\x00\x00",
) -> bytes:
    return struct.pack(">iIBiB", index, 0, ttl_type, 60, 0x0E) + _b(kind) + _b(data) + refs


def _with_values(*values: bytes) -> bytes:
    return _b(b"88.118.8/X") + struct.pack(">I", len(values)) + b"".join(values)


BAD: list[tuple[str, Callable[[bytes], object], bytes, ResponseCode]] = [
    ("empty admin", na.decode_admin, b"", ResponseCode.INVALID_VALUE),
    ("admin handle length lies", na.decode_admin, b"\x00\x01\x00\x00\x10\x00ab", 202),
    ("admin trailing bytes", na.decode_admin, na.encode_admin(ADMIN) + b"xyz", 202),
    ("vlist count lies", na.decode_vlist, b"\x00\x00\x00\x05", 202),
    ("vlist negative count", na.decode_vlist, b"\xff\xff\xff\xff", 202),
    ("vlist trailing", na.decode_vlist, na.encode_vlist(()) + b"\x00", 202),
    ("unknown key type", na.decode_public_key, _b(b"EC_PUB_KEY") + b"\x00\x00", 202),
    (
        "rsa without modulus",
        na.decode_public_key,
        _b(b"RSA_PUB_KEY") + b"\x00\x00" + _b(b"\x03"),
        202,
    ),
    (
        "rsa empty exponent",
        na.decode_public_key,
        _b(b"RSA_PUB_KEY") + b"\x00\x00" + _b(b"") + _b(b"\x05"),
        202,
    ),
    ("empty secret answer", na.decode_secret_answer, b"", ResponseCode.PROTOCOL_ERROR),
    ("unknown MAC", na.decode_secret_answer, b"\x77abc", ResponseCode.AUTHENTICATION_FAILED),
    (
        "pbkdf2 iterations too many",
        na.decode_secret_answer,
        b"\x22" + _b(bytes(16)) + struct.pack(">ii", 10**9, 160) + _b(bytes(20)),
        ResponseCode.AUTHENTICATION_FAILED,
    ),
    (
        "pbkdf2 key length not bytes",
        na.decode_secret_answer,
        b"\x22" + _b(bytes(16)) + struct.pack(">ii", 10000, 161) + _b(bytes(20)),
        ResponseCode.AUTHENTICATION_FAILED,
    ),
    ("pbkdf2 truncated", na.decode_secret_answer, b"\x22" + _b(bytes(16)), 4),
    ("public answer truncated", na.decode_public_answer, _b(b"SHA256"), 4),
    ("challenge without nonce", na.decode_challenge, b"\x00\x00", 4),
    (
        "answer with unknown auth type",
        na.decode_challenge_answer,
        _b(b"HS_PASSWORD") + _b(b"88.118.8/ADMIN") + b"\x00\x00\x01\x2c" + _b(b""),
        ResponseCode.INVALID_CREDENTIAL,
    ),
    (
        "answer handle not utf-8",
        na.decode_challenge_answer,
        _b(b"HS_SECKEY") + _b(b"\xff\xfe") + b"\x00\x00\x01\x2c" + _b(b""),
        ResponseCode.INVALID_HANDLE,
    ),
    ("answer truncated", na.decode_challenge_answer, _b(b"HS_SECKEY") + _b(b"88"), 4),
    ("login negative index", na.decode_login, _b(b"88.118.8/ADMIN") + b"\xff\xff\xff\xff", 404),
    ("login truncated", na.decode_login, _b(b"88.118.8/ADMIN"), 4),
    (
        "verify unknown digest",
        na.decode_verify_request,
        _b(b"h") + bytes(4) + _b(b"n") + b"\x09",
        4,
    ),
    ("values count lies", na.decode_values_request, _b(b"88.118.8/X") + b"\x00\x00\x10\x00", 4),
    ("value index zero", na.decode_values_request, _with_values(_value(index=0)), 202),
    ("value absolute ttl", na.decode_values_request, _with_values(_value(ttl_type=1)), 202),
    (
        "value with references",
        na.decode_values_request,
        _with_values(_value(refs=b"\x00\x00\x00\x01" + _b(b"88.118.8/Y") + bytes(4))),
        202,
    ),
    ("value empty type", na.decode_values_request, _with_values(_value(kind=b"")), 202),
    ("value type not utf-8", na.decode_values_request, _with_values(_value(kind=b"\xff")), 202),
    (
        "value bad admin data",
        na.decode_values_request,
        _with_values(_value(kind=b"HS_ADMIN", data=b"\x00")),
        202,
    ),
    (
        "duplicate indexes",
        na.decode_values_request,
        _with_values(_value(index=1), _value(index=1)),
        ResponseCode.VALUE_ALREADY_EXISTS,
    ),
    ("handle not utf-8", na.decode_handle_request, _b(b"\xc3"), ResponseCode.INVALID_HANDLE),
    ("remove count lies", na.decode_remove_values, _b(b"88.118.8/X") + b"\x00\x00\x00\x09", 4),
    ("list count lies", na.decode_list_response, b"\x00\x00\x00\x03" + _b(b"a"), 4),
]


@pytest.mark.parametrize(
    ("decode", "raw", "code"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_malformed_bodies_raise_protocol_errors_with_the_code_to_send(
    decode: Callable[[bytes], object], raw: bytes, code: int
) -> None:
    with pytest.raises(na.ProtocolError) as caught:
        decode(raw)
    assert caught.value.code == code
    assert caught.value.message


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(4)
        if action == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif action == 1 and data:
            del data[rng.randrange(len(data)) :]
        elif action == 2:
            data[rng.randrange(len(data) + 1) : 0] = rng.randbytes(rng.randint(1, 8))
        elif data:
            at = rng.randrange(max(1, len(data) - 3))
            data[at : at + 4] = struct.pack(">i", rng.choice((-1, 0, 2**31 - 1, 7, 1 << 20)))
    return bytes(data)


def test_fuzzed_bodies_raise_only_protocol_errors() -> None:
    rng = random.Random(15)
    seeds: list[tuple[Callable[[bytes], object], bytes]] = [
        (na.decode_admin, na.encode_admin(ADMIN)),
        (na.decode_vlist, na.encode_vlist([na.ValueRef("88.118.8/A", 1)])),
        (na.decode_values_request, _values_body()),
        (na.decode_remove_values, na.encode_remove_values(na.RemoveValues("88.118.8/A", (1,)))),
        (na.decode_handle_request, na.encode_handle_request(na.HandleOnly("88.118.8/A"))),
        (na.decode_list_response, next(na.list_chunks(["88.118.8/A", "88.118.8/B"]))[0]),
        (
            na.decode_challenge_answer,
            na.encode_challenge_answer(na.ChallengeAnswer("HS_PUBKEY", "88.118.8/A", 300, b"s")),
        ),
        (na.decode_login, na.encode_login(na.LoginRequest("88.118.8/A", 300))),
        (
            na.decode_secret_answer,
            na.encode_secret_answer(
                na.SecretAnswer(na.MacAlg.PBKDF2_HMAC_SHA1, bytes(20), bytes(16), 10, 160)
            ),
        ),
        (na.decode_public_key, na.encode_public_key(na.RsaKey(3, 33))),
        (na.decode_public_answer, na.encode_public_answer(na.PublicAnswer("SHA1", b"s"))),
        (
            na.decode_verify_request,
            na.encode_verify_request(na.VerifyRequest("h/x", 1, b"n", 2, bytes(20), b"s")),
        ),
    ]
    deadline = time.monotonic() + 4.0
    tried = 0
    while time.monotonic() < deadline and tried < 20_000:
        decode, seed = rng.choice(seeds)
        raw = _mutate(rng, seed) if tried % 4 else rng.randbytes(rng.randint(0, 40))
        tried += 1
        try:
            decode(raw)
        except na.ProtocolError as exc:
            assert int(exc.code) in {4, 102, 201, 202, 403, 404}
    assert tried > 1000
