"""Identifiers as DNS names: one name per identifier, case-proof, reversible, limits named."""

from __future__ import annotations

import random

import dns.name
import pytest

from registry import Handle, InvalidIdentifier, Prefix
from registry.codec import (
    Ancestor,
    Apex,
    Identifier,
    handle_from_name,
    handle_to_name,
    place_of,
)

ZONE = dns.name.from_text("idis.internal.")


def name_of(handle: str) -> dns.name.Name:
    return handle_to_name(Handle.parse(handle), ZONE)


def test_the_documented_example() -> None:
    assert name_of("88.118.8/JXDY2106023").to_text() == (
        "99c48m9i64o3cc1i6c._1.8.118.88.idis.internal."
    )


@pytest.mark.parametrize(
    "handle",
    [
        "88.118.8/JXDY2106023",
        "88.118.8/jxdy2106023",
        "88.118.8/a/b.c",
        "88.118.8/中文 标识",
        "88.118.8/x",
        "88.118.8.sub_-x/ASCII.with.dots",
        "88/1",
        "88.118.8/" + "z" * 140,
    ],
)
def test_round_trip_survives_any_case(handle: str) -> None:
    name = name_of(handle)
    assert str(handle_from_name(name, ZONE)) == str(Handle.parse(handle))
    for text in (name.to_text().upper(), _random_case(name.to_text())):
        assert str(handle_from_name(text, ZONE)) == str(Handle.parse(handle))
    assert place_of(dns.name.from_text(name.to_text().upper()), ZONE) == Identifier(
        Handle.parse(handle)
    )


def test_suffixes_differing_in_case_get_different_names() -> None:
    assert name_of("88.118.8/ABC") != name_of("88.118.8/abc")


def test_prefixes_are_case_insensitive_and_reversed() -> None:
    assert name_of("88.118.ab/x").labels[-6:-3] == (b"ab", b"118", b"88")
    assert name_of("88.118.AB/x") == name_of("88.118.ab/x")


def test_long_suffixes_split_canonically_and_too_long_ones_are_named() -> None:
    name = name_of("88.118.8/" + "z" * 140)
    labels = name.labels
    marker = next(i for i, label in enumerate(labels) if label.startswith(b"_"))
    assert labels[marker] == f"_{marker}".encode()
    assert all(len(label) == 63 for label in labels[: marker - 1])
    assert 0 < len(labels[marker - 1]) <= 63
    with pytest.raises(InvalidIdentifier, match="too long for a DNS name"):
        name_of("88.118.8/" + "z" * 141)


def test_a_marker_shaped_prefix_segment_has_no_name() -> None:
    with pytest.raises(InvalidIdentifier, match="marker"):
        name_of("88.118._1/x")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("99c48m9i64o3cc1i6d._1.8.118.88.idis.internal.", "canonical"),  # trailing bits
        ("99c48m9i64o3cc1i6._1.8.118.88.idis.internal.", "whole number"),
        ("99c48m9i64o3cc1i6w._1.8.118.88.idis.internal.", "base32hex"),
        ("99c48m9i64o3cc1i6c._2.8.118.88.idis.internal.", "announces 2"),
        ("99c48m9i64o3cc1i6c.8.118.88.idis.internal.", "no marker"),
        ("99c48m9i64o3cc1i6c._1.idis.internal.", "not a prefix"),
        ("99c48m9i64o3cc1i6c._1.8.118.88.example.", "not in the zone"),
        ("vvvv._1.8.118.88.idis.internal.", "UTF-8"),  # 0xff..: not UTF-8
        ("00._1.8.118.88.idis.internal.", "control"),  # NUL
        ("65._1.8.118.88.idis.internal.", "canonical"),  # 1 byte with non-zero tail bits
        ("ab.cd._2.8.118.88.idis.internal.", "63 characters"),
    ],
)
def test_non_canonical_names_are_refused(name: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier, match=problem):
        handle_from_name(name, ZONE)


def test_places_below_the_zone() -> None:
    long_name = name_of("88.118.8/" + "z" * 100)
    assert place_of(ZONE, ZONE) == Apex()
    prefix = Prefix.parse("88.118.8")
    for ancestor in (
        "8.118.88.idis.internal.",
        "118.88.idis.internal.",
        "_1.8.118.88.idis.internal.",
        "_2.8.118.88.IDIS.internal.",
        long_name.parent().to_text(),
    ):
        found = place_of(dns.name.from_text(ancestor), ZONE)
        assert isinstance(found, Ancestor), ancestor
    assert place_of(dns.name.from_text("_1.8.118.88.idis.internal."), ZONE) == Ancestor(prefix)
    for nothing in (
        "zz._1.8.118.88.idis.internal.",
        "a.b._9.8.118.88.idis.internal.",
        "_0.8.118.88.idis.internal.",
        "x._1.idis.internal.",
        "a!b.8.idis.internal.",
    ):
        assert place_of(dns.name.from_text(nothing), ZONE) is None, nothing
    with pytest.raises(ValueError):
        place_of(dns.name.from_text("example."), ZONE)


def _random_case(text: str) -> str:
    rng = random.Random(text)
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


def test_fuzz_random_names_never_crash_and_round_trip_when_accepted() -> None:
    rng = random.Random(20261204)
    alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_-.\\\x00\xff"
    base = name_of("88.118.8/JXDY2106023").labels
    for _ in range(3000):
        labels = list(base[:-2])
        for _ in range(rng.randint(0, 3)):
            spot = rng.randrange(len(labels))
            label = bytearray(labels[spot])
            if label and rng.random() < 0.7:
                label[rng.randrange(len(label))] = rng.choice(alphabet)
            else:
                label += bytes([rng.choice(alphabet)])
            labels[spot] = bytes(label[:63]) or b"0"
        if rng.random() < 0.2:
            del labels[rng.randrange(len(labels))]
        name = dns.name.Name([*labels, *ZONE.labels])
        place = place_of(name, ZONE)
        try:
            handle = handle_from_name(name, ZONE)
        except InvalidIdentifier:
            assert not isinstance(place, Identifier)
            continue
        assert place == Identifier(handle)
        assert handle_to_name(handle, ZONE) == name
