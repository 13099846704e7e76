"""The native protocol's auth and admin bodies: byte-exact forms, round trips, refusals, fuzz."""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

import pytest

from registry import HandleValue, Permissions
from registry.codec.native.admin import (
    AdminPerm,
    AdminRecord,
    ValueRef,
    decode_admin,
    decode_vlist,
    encode_admin,
    encode_vlist,
)
from registry.codec.native.admin_bodies import (
    RemoveValues,
    ValuesRequest,
    decode_create_response,
    decode_list_response,
    decode_remove_values,
    decode_values_request,
    encode_create_response,
    encode_remove_values,
    encode_values_request,
    list_chunks,
    stored_value,
)
from registry.codec.native.auth import (
    ChallengeAnswer,
    LoginRequest,
    VerifyRequest,
    decode_challenge,
    decode_challenge_answer,
    decode_login,
    decode_verify_request,
    decode_verify_response,
    encode_challenge,
    encode_challenge_answer,
    encode_login,
    encode_verify_request,
    encode_verify_response,
)
from registry.codec.native.codes import ResponseCode
from registry.codec.native.keys import (
    DsaKey,
    MacAlg,
    PublicAnswer,
    RsaKey,
    SecretAnswer,
    Sm2Key,
    decode_public_answer,
    decode_public_key,
    decode_secret_answer,
    encode_public_answer,
    encode_public_key,
    encode_secret_answer,
    hashed_secret,
)
from registry.codec.native.values import decode_value, encode_value
from registry.codec.native.wire import ProtocolError, Reader

ADMIN = AdminRecord(
    AdminPerm.ADD_HANDLE | AdminPerm.DELETE_HANDLE | AdminPerm.READ_VALUE,
    ValueRef("0.NA/88.118.8", 200),
)


def _b(text: bytes) -> bytes:
    return struct.pack(">I", len(text)) + text


def test_admin_record_bytes_are_handle_nets() -> None:
    raw = encode_admin(ADMIN)
    assert raw == b"\x04\x03" + _b(b"0.NA/88.118.8") + b"\x00\x00\x00\xc8"
    assert decode_admin(raw) == ADMIN


def test_admin_record_legacy_form_with_two_more_bytes_is_read() -> None:
    raw = encode_admin(ADMIN) + b"\x00\x00"
    assert decode_admin(raw) == ADMIN


def test_admin_bits_round_trip_through_the_stored_bit_string() -> None:
    perms = AdminPerm.from_bits("011111110011")
    assert perms.bits() == "011111110011"
    assert AdminPerm.LIST_HANDLES not in perms
    assert AdminPerm.ADD_ADMIN in perms and AdminPerm.ADD_HANDLE in perms
    stored = {"handle": "88.118.8/ADMIN", "index": 300, "permissions": "011111110011"}
    assert AdminRecord.from_stored(stored).to_stored() == stored


def test_vlist_round_trip() -> None:
    refs = (ValueRef("88.118.8/ADMIN", 300), ValueRef("88.118.8/OPS", 301))
    raw = encode_vlist(refs)
    assert raw[:4] == b"\x00\x00\x00\x02"
    assert decode_vlist(raw) == refs
    assert decode_vlist(encode_vlist(())) == ()


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
    raw = encode_value(value)
    # index, timestamp (2026-01-01 = 1767225600), ttl type, ttl, permissions 0x8|0x4|0x2
    assert raw[:18] == struct.pack(">iIBiB", 100, 1767225600, 0, 3600, 0x0E) + b"\x00\x00\x00\x08"
    decoded = stored_value(decode_value(Reader(raw)))
    assert decoded == HandleValue(
        100, "HS_ADMIN", "admin", value.value, ttl=3600, permissions=value.permissions
    )


def test_binary_data_becomes_base64_and_text_a_string() -> None:
    binary = HandleValue(300, "HS_PUBKEY", "base64", "AAEC/w==", permissions=Permissions())
    text = HandleValue(1, "URL", "string", "https://example.com/ä")
    for value in (binary, text):
        assert stored_value(decode_value(Reader(encode_value(value)))) == value


def _values_body() -> bytes:
    values = (
        HandleValue(1, "URL", "string", "https://example.com/1"),
        HandleValue(2, "EMAIL", "string", "qa@example.com"),
    )
    return encode_values_request(ValuesRequest("88.118.8/X1", values))


def test_admin_request_bodies_round_trip() -> None:
    request = decode_values_request(_values_body())
    assert request.handle == "88.118.8/X1"
    assert [v.index for v in request.values] == [1, 2]
    assert decode_values_request(encode_values_request(request)) == request
    remove = RemoveValues("88.118.8/X1", (2, 3))
    assert encode_remove_values(remove) == _b(b"88.118.8/X1") + struct.pack(">Iii", 2, 2, 3)
    assert decode_remove_values(encode_remove_values(remove)) == remove
    created = encode_create_response("88.118.8/M1", b"\x02" + bytes(20))
    assert decode_create_response(Reader(created, 21)) == "88.118.8/M1"
    assert decode_create_response(Reader(encode_create_response(None))) is None


def test_list_handles_are_chunked_in_fifties_with_cont_on_all_but_the_last() -> None:
    handles = [f"88.118.8/H{i}" for i in range(120)]
    chunks = list(list_chunks(handles))
    assert [more for _, more in chunks] == [True, True, False]
    listed = [h for body, _ in chunks for h in decode_list_response(Reader(body))]
    assert listed == handles
    empty = [(decode_list_response(Reader(b)), more) for b, more in list_chunks([])]
    assert empty == [((), False)]
    digest = b"\x03" + bytes(32)
    assert all(body.startswith(digest) for body, _ in list_chunks(handles, digest))


def test_auth_bodies_round_trip() -> None:
    nonce = bytes(range(16))
    assert decode_challenge(encode_challenge(nonce)) == nonce
    answer = ChallengeAnswer("HS_SECKEY", "88.118.8/ADMIN", 300, b"\x22abc")
    raw = encode_challenge_answer(answer)
    assert raw == _b(b"HS_SECKEY") + _b(b"88.118.8/ADMIN") + b"\x00\x00\x01\x2c" + _b(b"\x22abc")
    assert decode_challenge_answer(raw) == answer
    login = LoginRequest("88.118.8/ADMIN", 300)
    assert encode_login(login) == _b(b"88.118.8/ADMIN") + b"\x00\x00\x01\x2c"
    # The SDKs may append fields: tolerated.
    assert decode_login(encode_login(login) + b"\x00\x00\x00\x00") == login
    verify = VerifyRequest("88.118.8/ADMIN", 300, nonce, 3, bytes(32), b"\x22mac")
    assert decode_verify_request(encode_verify_request(verify)) == verify
    old = VerifyRequest("88.118.8/ADMIN", 300, nonce, 0, bytes(16), b"mac")
    assert decode_verify_request(encode_verify_request(old)) == old
    assert decode_verify_response(encode_verify_response(True)) is True
    assert decode_verify_response(encode_verify_response(False)) is False


def test_secret_answers_round_trip() -> None:
    pbkdf2 = SecretAnswer(MacAlg.PBKDF2_HMAC_SHA1, bytes(20), bytes(16), 10000, 160)
    raw = encode_secret_answer(pbkdf2)
    assert raw[0] == 0x22
    assert decode_secret_answer(raw) == pbkdf2
    sha1 = SecretAnswer(MacAlg.SHA1, bytes(20))
    assert decode_secret_answer(encode_secret_answer(sha1)) == sha1
    old = decode_secret_answer(bytes(16), old_format=True)
    assert old == SecretAnswer(MacAlg.MD5_OLD_FORMAT, bytes(16))


def test_hashed_secret_is_lower_case_hex_sha1() -> None:
    assert hashed_secret(b"abc") == b"a9993e364706816aba3e25717850c26c9cd0d89d"


def test_public_key_blobs_round_trip_in_javas_integer_form() -> None:
    rsa = RsaKey(65537, (1 << 1023) | 12345)
    raw = encode_public_key(rsa)
    assert raw.startswith(_b(b"RSA_PUB_KEY") + b"\x00\x00" + _b(b"\x01\x00\x01"))
    # The modulus's top bit is set: BigInteger.toByteArray puts a zero byte before it.
    assert raw[len(_b(b"RSA_PUB_KEY")) + 2 + 7 : len(_b(b"RSA_PUB_KEY")) + 2 + 7 + 5] == (
        b"\x00\x00\x00\x81\x00"
    )
    assert decode_public_key(raw) == rsa
    dsa = DsaKey(p=23, q=11, g=4, y=9)
    assert decode_public_key(encode_public_key(dsa)) == dsa
    sm2 = Sm2Key(b"-----BEGIN PUBLIC KEY-----\n...")
    assert decode_public_key(encode_public_key(sm2)) == sm2
    answer = PublicAnswer("SHA256", b"sig")
    assert decode_public_answer(encode_public_answer(answer)) == answer
    assert decode_public_answer(_b(b"SHA-1") + _b(b"s")).hash_alg == "SHA1"
    assert decode_public_answer(_b(b"\x03") + _b(b"s")).hash_alg == "SHA256"


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
    ("empty admin", decode_admin, b"", ResponseCode.INVALID_VALUE),
    ("admin handle length lies", decode_admin, b"\x00\x01\x00\x00\x10\x00ab", 202),
    ("admin trailing bytes", decode_admin, encode_admin(ADMIN) + b"xyz", 202),
    ("vlist count lies", decode_vlist, b"\x00\x00\x00\x05", 202),
    ("vlist negative count", decode_vlist, b"\xff\xff\xff\xff", 202),
    ("vlist trailing", decode_vlist, encode_vlist(()) + b"\x00", 202),
    ("unknown key type", decode_public_key, _b(b"EC_PUB_KEY") + b"\x00\x00", 202),
    (
        "rsa without modulus",
        decode_public_key,
        _b(b"RSA_PUB_KEY") + b"\x00\x00" + _b(b"\x03"),
        202,
    ),
    (
        "rsa empty exponent",
        decode_public_key,
        _b(b"RSA_PUB_KEY") + b"\x00\x00" + _b(b"") + _b(b"\x05"),
        202,
    ),
    ("empty secret answer", decode_secret_answer, b"", ResponseCode.PROTOCOL_ERROR),
    ("unknown MAC", decode_secret_answer, b"\x77abc", ResponseCode.AUTHENTICATION_FAILED),
    (
        "pbkdf2 iterations too many",
        decode_secret_answer,
        b"\x22" + _b(bytes(16)) + struct.pack(">ii", 10**9, 160) + _b(bytes(20)),
        ResponseCode.AUTHENTICATION_FAILED,
    ),
    (
        "pbkdf2 key length not bytes",
        decode_secret_answer,
        b"\x22" + _b(bytes(16)) + struct.pack(">ii", 10000, 161) + _b(bytes(20)),
        ResponseCode.AUTHENTICATION_FAILED,
    ),
    ("pbkdf2 truncated", decode_secret_answer, b"\x22" + _b(bytes(16)), 4),
    ("public answer truncated", decode_public_answer, _b(b"SHA256"), 4),
    ("challenge without nonce", decode_challenge, b"\x00\x00", 4),
    (
        "answer with unknown auth type",
        decode_challenge_answer,
        _b(b"HS_PASSWORD") + _b(b"88.118.8/ADMIN") + b"\x00\x00\x01\x2c" + _b(b""),
        ResponseCode.INVALID_CREDENTIAL,
    ),
    (
        "answer handle not utf-8",
        decode_challenge_answer,
        _b(b"HS_SECKEY") + _b(b"\xff\xfe") + b"\x00\x00\x01\x2c" + _b(b""),
        ResponseCode.INVALID_HANDLE,
    ),
    ("answer truncated", decode_challenge_answer, _b(b"HS_SECKEY") + _b(b"88"), 4),
    ("login negative index", decode_login, _b(b"88.118.8/ADMIN") + b"\xff\xff\xff\xff", 404),
    ("login truncated", decode_login, _b(b"88.118.8/ADMIN"), 4),
    (
        "verify unknown digest",
        decode_verify_request,
        _b(b"h") + bytes(4) + _b(b"n") + b"\x09",
        4,
    ),
    ("values count lies", decode_values_request, _b(b"88.118.8/X") + b"\x00\x00\x10\x00", 4),
    ("value index zero", decode_values_request, _with_values(_value(index=0)), 202),
    ("value absolute ttl", decode_values_request, _with_values(_value(ttl_type=1)), 202),
    (
        "value with references",
        decode_values_request,
        _with_values(_value(refs=b"\x00\x00\x00\x01" + _b(b"88.118.8/Y") + bytes(4))),
        202,
    ),
    ("value empty type", decode_values_request, _with_values(_value(kind=b"")), 202),
    ("value type not utf-8", decode_values_request, _with_values(_value(kind=b"\xff")), 202),
    (
        "value bad admin data",
        decode_values_request,
        _with_values(_value(kind=b"HS_ADMIN", data=b"\x00")),
        202,
    ),
    (
        "duplicate indexes",
        decode_values_request,
        _with_values(_value(index=1), _value(index=1)),
        ResponseCode.VALUE_ALREADY_EXISTS,
    ),
    ("handle not utf-8", decode_remove_values, _b(b"\xc3") + bytes(4), ResponseCode.INVALID_HANDLE),
    ("remove count lies", decode_remove_values, _b(b"88.118.8/X") + b"\x00\x00\x00\x09", 4),
    (
        "list count lies",
        lambda raw: decode_list_response(Reader(raw)),
        b"\x00\x00\x00\x03" + _b(b"a"),
        4,
    ),
]


@pytest.mark.parametrize(
    ("decode", "raw", "code"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_malformed_bodies_raise_protocol_errors_with_the_code_to_send(
    decode: Callable[[bytes], object], raw: bytes, code: int
) -> None:
    with pytest.raises(ProtocolError) as caught:
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
        (decode_admin, encode_admin(ADMIN)),
        (decode_vlist, encode_vlist([ValueRef("88.118.8/A", 1)])),
        (decode_values_request, _values_body()),
        (decode_remove_values, encode_remove_values(RemoveValues("88.118.8/A", (1,)))),
        (
            lambda raw: decode_list_response(Reader(raw)),
            next(list_chunks(["88.118.8/A", "88.118.8/B"]))[0],
        ),
        (
            decode_challenge_answer,
            encode_challenge_answer(ChallengeAnswer("HS_PUBKEY", "88.118.8/A", 300, b"s")),
        ),
        (decode_login, encode_login(LoginRequest("88.118.8/A", 300))),
        (
            decode_secret_answer,
            encode_secret_answer(
                SecretAnswer(MacAlg.PBKDF2_HMAC_SHA1, bytes(20), bytes(16), 10, 160)
            ),
        ),
        (decode_public_key, encode_public_key(RsaKey(3, 33))),
        (decode_public_answer, encode_public_answer(PublicAnswer("SHA1", b"s"))),
        (
            decode_verify_request,
            encode_verify_request(VerifyRequest("h/x", 1, b"n", 2, bytes(20), b"s")),
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
        except ProtocolError as exc:
            assert int(exc.code) in {4, 102, 201, 202, 403, 404}
    assert tried > 1000
