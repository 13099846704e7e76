"""The pure Handle codec: REST bodies and codes round-trip, bad bodies are domain errors."""

from __future__ import annotations

import random
import time

import orjson
import pytest

from registry import (
    EntityNotFound,
    Forbidden,
    HandleAlreadyExists,
    HandleNotFound,
    HandleValue,
    InvalidIdentifier,
    InvalidInput,
    InvalidValue,
    NodeError,
    PayloadTooLarge,
    Permissions,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
    ValueAlreadyExists,
    ValuesNotFound,
    codec,
)
from registry.codec import ResponseCode

HANDLE = "88.118.8/JXDY2106023"
VALUES = (
    HandleValue(1, "URL", "string", "https://example.com/a", timestamp="2026-01-01T00:00:00Z"),
    HandleValue(2, "BLOB", "base64", "AAEC", ttl=60, timestamp="2026-01-02T00:00:00Z"),
    HandleValue(
        100,
        "HS_ADMIN",
        "admin",
        {"handle": "0.NA/88.118.8", "index": 200, "permissions": "011111110011"},
        permissions=Permissions.parse("1110"),
        timestamp="2026-01-03T00:00:00Z",
    ),
)


def test_codes_are_handle_net_numbers() -> None:
    assert ResponseCode.SUCCESS == 1
    assert ResponseCode.ERROR == 2
    assert ResponseCode.SERVER_TOO_BUSY == 3
    assert ResponseCode.HANDLE_NOT_FOUND == 100
    assert ResponseCode.HANDLE_ALREADY_EXISTS == 101
    assert ResponseCode.INVALID_HANDLE == 102
    assert ResponseCode.VALUES_NOT_FOUND == 200
    assert ResponseCode.INVALID_VALUE == 202
    assert ResponseCode.NOT_AUTHORIZED == 400
    assert ResponseCode.AUTHENTICATION_NEEDED == 402


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidIdentifier("x"), 102),
        (InvalidValue("x"), 202),
        (PayloadTooLarge("x"), 4),
        (InvalidInput("x"), 4),
        (TooManyAttempts("x", retry_after=3), 402),
        (Unauthenticated("x"), 402),
        (Forbidden("x"), 400),
        (HandleNotFound("x"), 100),
        (EntityNotFound("x"), 100),
        (ValuesNotFound("x"), 200),
        (HandleAlreadyExists("x"), 101),
        (ValueAlreadyExists("x"), 201),
        (Unavailable("x"), 3),
        (NodeError("x"), 2),
    ],
)
def test_each_domain_error_has_its_response_code(error: NodeError, code: int) -> None:
    assert codec.error_code(error) == code


def test_values_body_round_trips() -> None:
    answer = codec.parse_answer(codec.values_body(HANDLE, VALUES))
    assert answer == codec.Answer(1, HANDLE, VALUES)


def test_values_body_is_the_handle_rest_shape() -> None:
    body = orjson.loads(codec.values_body(HANDLE, VALUES[:1]))
    assert body == {
        "responseCode": 1,
        "handle": HANDLE,
        "values": [
            {
                "index": 1,
                "type": "URL",
                "data": {"format": "string", "value": "https://example.com/a"},
                "ttl": 86400,
                "timestamp": "2026-01-01T00:00:00Z",
            }
        ],
    }


@pytest.mark.parametrize("code", [2, 3, 100, 102, 402])
def test_error_body_round_trips(code: int) -> None:
    answer = codec.parse_answer(codec.error_body(code, HANDLE, "why it failed"))
    assert answer == codec.Answer(code, HANDLE, None, "why it failed")


def test_not_found_no_match_and_done_bodies() -> None:
    assert codec.parse_answer(codec.not_found_body(HANDLE)) == codec.Answer(
        100, HANDLE, None, f"handle {HANDLE} does not exist"
    )
    no_match = codec.parse_answer(codec.no_match_body(HANDLE))
    assert (no_match.code, no_match.values) == (200, ())
    assert codec.parse_answer(codec.done_body(HANDLE)) == codec.Answer(1, HANDLE, None)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", InvalidInput),
        (b"{", InvalidInput),
        (b"[]", InvalidInput),
        (b'"text"', InvalidInput),
        (b'{"responseCode": "1"}', InvalidInput),
        (b'{"responseCode": true}', InvalidInput),
        (b'{"handle": 5}', InvalidInput),
        (b'{"message": []}', InvalidInput),
        (b'{"values": {}}', InvalidValue),
        (b'{"values": [1]}', InvalidValue),
        (b'{"values": [{"index": 0, "type": "URL", "data": "x"}]}', InvalidValue),
        (b'{"values": [{"index": 1, "type": "", "data": "x"}]}', InvalidValue),
        (b'{"values": [{"index": 1, "type": "URL", "data": {"format": "nope"}}]}', InvalidValue),
        (b'{"values": [{"index": 1, "type": "URL", "data": "x", "ttl": -1}]}', InvalidValue),
        (b"[" * 2000 + b"]" * 2000, InvalidInput),
    ],
)
def test_malformed_bodies_are_domain_errors(content: bytes, error: type[NodeError]) -> None:
    with pytest.raises(error):
        codec.parse_answer(content)


def test_timestamps_are_kept_only_when_text() -> None:
    item = {"index": 1, "type": "URL", "data": "x", "timestamp": 17}
    answer = codec.read_answer({"responseCode": 1, "values": [item]})
    assert answer.values is not None and answer.values[0].timestamp is None


def _mutations(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        position = rng.randrange(len(data) + 1)
        if choice < 0.4 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.7:
            data[position:position] = rng.choice(
                [b"{", b"}", b"[", b"]", b'"', b",", b":", b"null", b"-1", b"1e999", b"\xff"]
            )
        else:
            del data[position : position + rng.randint(1, 16)]
    return bytes(data)


def _random_json(rng: random.Random, depth: int = 0) -> object:
    kinds = ["int", "str", "bool", "null", "float"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, 1, -1, 100, 2**31, 2**63 - 1])
    if kind == "str":
        return rng.choice(["", "x", "URL", "string", "base64", "admin", "\x00", "1110"])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "float":
        return rng.random()
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["responseCode", "handle", "message", "values", "index", "type", "data", "format"]
    keys += ["value", "ttl", "permissions", "timestamp"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_fuzzed_bodies_only_ever_raise_domain_errors() -> None:
    rng = random.Random(14)
    seeds = [
        codec.values_body(HANDLE, VALUES),
        codec.error_body(100, HANDLE, "missing"),
        codec.no_match_body(HANDLE),
    ]
    deadline = time.monotonic() + 5.0
    for case in range(4000):
        if time.monotonic() > deadline:
            break
        if case % 2:
            content = _mutations(rng, rng.choice(seeds))
        else:
            content = orjson.dumps(_random_json(rng))
        try:
            answer = codec.parse_answer(content)
        except NodeError:
            continue
        assert isinstance(answer, codec.Answer)
        if answer.values:
            # What parses re-encodes to a body that parses to the same values.
            again = codec.parse_answer(codec.values_body(answer.handle or HANDLE, answer.values))
            assert again.values == answer.values


def _stored(values: tuple[HandleValue, ...] | list[HandleValue]) -> str:
    return orjson.dumps([value.to_storage() for value in values]).decode()


def test_public_values_body_is_values_body_from_the_stored_text() -> None:
    # HS_ADMIN's data holds a "permissions" key of its own: it stays.
    for values in (VALUES, VALUES[:1], ()):
        body = codec.public_values_body(HANDLE, _stored(values))
        ttl = min((value.ttl for value in values), default=0)
        assert body == (codec.values_body(HANDLE, values), ttl)


@pytest.mark.parametrize(
    "stored",
    [
        # A value anonymous callers must not see: only the long way filters it out.
        _stored([*VALUES, HandleValue(3, "SECRET", "string", "s", permissions=Permissions.parse("1100"))]),
        # Stored forms of other shapes: a missing TTL, keys in another order, extra data keys.
        '[{"index":1,"type":"URL","data":{"format":"string","value":"x"},"timestamp":null,"permissions":"1110"}]',
        '[{"type":"URL","index":1,"data":{"format":"string","value":"x"},"ttl":1,"timestamp":null,"permissions":"1110"}]',
        '[{"index":1,"type":"URL","data":{"format":"string","value":"x","y":1},"ttl":1,"timestamp":null,"permissions":"1110"}]',
        '[{"index":1,"type":"URL","data":"x","ttl":1,"timestamp":null,"permissions":"1110"}]',
        '[{"index":1,"type":"URL","data":{"format":"string","value":"x"},"ttl":true,"timestamp":null,"permissions":"1110"}]',
        '{"values":[]}',
        "[1]",
    ],
)  # fmt: skip
def test_public_values_body_declines_what_it_cannot_answer_as_stored(stored: str) -> None:
    assert codec.public_values_body(HANDLE, stored) is None


def test_fuzzed_public_values_body_is_the_public_answer_or_none() -> None:
    rng = random.Random(19)
    for _ in range(500):
        values = [
            HandleValue(
                rng.randrange(1, 500),
                rng.choice(["URL", "EMAIL", "HS_ADMIN", "X"]),
                "string",
                rng.choice(["", "a", '"permissions":"0000"', "\u4e2d\u6587", "\\"]),
                ttl=rng.randrange(0, 100_000),
                timestamp=rng.choice([None, "2026-01-01T00:00:00Z"]),
                permissions=Permissions.parse(rng.choice(["1110", "1110", "1110", "1100", "1111"])),
            )
            for _ in range(rng.randrange(0, 5))
        ]
        body = codec.public_values_body(HANDLE, _stored(values))
        if all(str(value.permissions) == "1110" for value in values):
            ttl = min((value.ttl for value in values), default=0)
            assert body == (codec.values_body(HANDLE, values), ttl)
        else:
            assert body is None
