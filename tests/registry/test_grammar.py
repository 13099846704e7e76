"""The identifier grammar of DESIGN §2, valid and invalid forms, as parse/str pairs."""

from __future__ import annotations

import pytest

from registry import Handle, InvalidIdentifier, Prefix


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("88.118.8/JXDY2106023", "88.118.8/JXDY2106023"),
        ("88.118.abc/Mixed-Case", "88.118.ABC/Mixed-Case"),
        ("0.na/88.118.8", "0.NA/88.118.8"),
        ("88.118.8/a/b/c", "88.118.8/a/b/c"),
        ("88.118.8/urn:x:y.z", "88.118.8/urn:x:y.z"),
        ("88.118.8/产品-批次/2106", "88.118.8/产品-批次/2106"),
        ("88.118.8/ with spaces ", "88.118.8/ with spaces "),
        ("88.118.8/%41", "88.118.8/%41"),
        ("a_b-c.D/x", "A_B-C.D/x"),
        ("88/" + "x" * 252, "88/" + "x" * 252),
    ],
)
def test_valid_handles_normalise_and_round_trip(text: str, normalised: str) -> None:
    handle = Handle.parse(text)
    assert str(handle) == normalised
    assert Handle.parse(str(handle)) == handle


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "empty"),
        ("88.118.8", "no '/'"),
        ("/suffix", "empty prefix"),
        ("88.118.8/", "suffix is empty"),
        ("88..8/x", "empty segment"),
        (".88/x", "empty segment"),
        ("88./x", "empty segment"),
        ("88.1 8/x", "may only contain"),
        ("88.中/x", "may only contain"),
        ("88." + "1" * 33 + "/x", "longer than 32"),
        ("88.118.8/a\x00b", "U+0000"),
        ("88.118.8/a\nb", "U+000A"),
        ("88.118.8/a\x7fb", "U+007F"),
        ("88.118.8/a\x85b", "U+0085"),
        ("88/" + "x" * 253, "at most 255"),
    ],
)
def test_invalid_handles_name_the_rule(text: str, rule: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        Handle.parse(text)
    assert rule in caught.value.message


def test_prefixes_compare_case_insensitively_and_suffixes_exactly() -> None:
    assert Handle.parse("88.118.x/ABC") == Handle.parse("88.118.X/ABC")
    assert Handle.parse("88.118.8/abc") != Handle.parse("88.118.8/ABC")


def test_from_url_decodes_exactly_once() -> None:
    assert Handle.from_url("88.118.8%2FA%2520B").suffix == "A%20B"
    assert str(Handle.from_url("88.118.8/%E4%BA%A7%E5%93%81")) == "88.118.8/产品"


def test_prefix_derivation() -> None:
    node = Prefix.parse("88.118")
    assert Prefix.parse("88.118.8").is_within(node)
    assert not Prefix.parse("88.1180").is_within(node)
    assert str(node.child("9")) == "88.118.9"
    assert str(Prefix.parse("88.118.ab")) == "88.118.AB"
