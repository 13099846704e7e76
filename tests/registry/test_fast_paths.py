"""The batch path's shortcuts give exactly what the general code gives, and no more."""

from __future__ import annotations

import base64
import hashlib
import itertools
from datetime import UTC, datetime

import pytest
from joserfc import jws
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from registry import (
    HandleValue,
    InvalidIdentifier,
    InvalidValue,
    Permissions,
    Prefix,
    _grammar,
)
from registry._values import parse_value
from registry.codec import binary
from registry.storage.models import Timestamp
from registry.trust.jose import generate_key, public_jwk, read_jws, sign_jws, verify_jws


@pytest.mark.parametrize("alg", ["ES256", "Ed25519", "RS256"])
def test_direct_signatures_verify_with_joserfc(alg: str) -> None:
    key = generate_key(alg)
    jwk = public_jwk(key, alg)
    claims = {"sub": "88.118.8/A", "iat": 1, "digests": {"alg": "SHA-256", "digests": []}}
    token = sign_jws(key, alg, jwk["kid"], claims)
    header, read = read_jws(token)
    assert header == {"alg": alg, "kid": jwk["kid"]}
    assert read == claims
    assert verify_jws(token, jwk) == claims
    assert jws.deserialize_compact(token, key, algorithms=[alg]).payload


def test_a_signature_made_by_another_key_does_not_verify() -> None:
    key, other = generate_key("ES256"), generate_key("ES256")
    token = sign_jws(key, "ES256", "k", {"sub": "x"})
    with pytest.raises(Exception, match="signature"):
        verify_jws(token, public_jwk(other, "ES256"))


def _fresh_digest(value: HandleValue) -> str:
    return base64.b64encode(hashlib.sha256(binary.value_body(value)).digest()).decode()


def test_remembered_digests_match_fresh_ones_for_every_part_of_the_key() -> None:
    variants = list(
        itertools.product(
            ("URL", "productName"),
            ("Motor", "Motor2", "x" * 200),
            (0, 86400),
            (Permissions(), Permissions(public_read=False)),
        )
    )
    digests = set()
    for _ in range(2):  # the second round is answered from memory
        for kind, data, ttl, permissions in variants:
            value = HandleValue(1, kind, "string", data, ttl, permissions=permissions)
            assert binary.digest_value(value) == _fresh_digest(value)
            digests.add(binary.digest_value(value))
    assert len(digests) == 2 * 3 * 2 * 2


def test_the_digest_memory_stays_bounded() -> None:
    for n in range(binary._DIGEST_CACHE_SIZE + 10):
        binary.digest_value(HandleValue(1, "T", "string", f"v{n}"))
    assert len(binary._DIGESTS) <= binary._DIGEST_CACHE_SIZE


def test_remembered_prefixes_are_the_parsed_ones_and_invalid_ones_keep_failing() -> None:
    assert Prefix.parse("88.118.8") is Prefix.parse("88.118.8")
    assert str(Prefix.parse("88.abc.8")) == "88.ABC.8"
    for _ in range(2):
        with pytest.raises(InvalidIdentifier, match="may only contain"):
            Prefix.parse("88.1 18")
    assert "88.1 18" not in _grammar._PREFIXES
    for n in range(_grammar._PREFIX_CACHE_SIZE + 10):
        Prefix.parse(f"88.{n}")
    assert len(_grammar._PREFIXES) <= _grammar._PREFIX_CACHE_SIZE


def test_every_permission_text_round_trips_through_the_remembered_forms() -> None:
    for bits in itertools.product("01", repeat=4):
        text = "".join(bits)
        assert str(Permissions.parse(text)) == text
        assert Permissions.parse(text) == Permissions(*(b == "1" for b in bits))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"index": 1, "type": "A", "data": {"format": "string", "value": 7}}, "must be a string"),
        ({"index": 1, "type": "A", "data": {"value": None}}, "must be a string"),
        ({"index": "x1", "type": "A", "data": "x"}, "must be an integer"),
        ({"index": 1, "type": "A", "data": "x", "ttl": True}, "ttl"),
    ],
)
def test_shortcut_inputs_that_are_not_plain_strings_still_fail(item: dict, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        parse_value(item)


def test_plain_string_values_parse_as_the_general_path_does() -> None:
    bare = parse_value({"index": 5, "type": "URL", "data": "http://a"})
    wrapped = parse_value({"index": "5", "type": "URL", "data": {"value": "http://a"}})
    assert bare == wrapped == HandleValue(5, "URL", "string", "http://a")


def test_a_remembered_timestamp_binds_as_sqlite_s_own_datetime_does() -> None:
    dialect = sqlite.dialect()
    bind = Timestamp().dialect_impl(dialect).bind_processor(dialect)
    plain = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    moments = [datetime(2026, 12, 2, 7, 30, s, 1000 * s, tzinfo=UTC) for s in (1, 2, 1)]
    # The same moment bound again, a different one, an equal one that is another object.
    for moment in [moments[0], moments[0], moments[1], moments[2], moments[0]]:
        assert bind(moment) == plain(moment)
    assert bind(None) is None
    assert bind(moments[1]) != bind(moments[0])
