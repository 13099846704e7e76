"""The identifier grammar of DESIGN §2, valid and invalid forms, as parse/str pairs."""

from __future__ import annotations

import random
import time

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


NFC = "88.118.8/caf\u00e9"
NFD = "88.118.8/cafe\u0301"


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        (NFD, NFC),
        (NFC, NFC),
        ("88.118.8/\u212b", "88.118.8/\u00c5"),  # ANGSTROM SIGN is canonically Å
        ("88.118.8/\u30ab\u3099", "88.118.8/\u30ac"),  # katakana KA + voiced mark
        ("88.118.8/产品\u3000批次", "88.118.8/产品\u3000批次"),  # ideographic space stays
        ("88/" + "e\u0301" * 252, "88/" + "\u00e9" * 252),  # 507 long, 255 once normalised
    ],
)
def test_suffixes_are_normalised_to_nfc(text: str, normalised: str) -> None:
    handle = Handle.parse(text)
    assert str(handle) == normalised
    assert Handle.parse(str(handle)) == handle


def test_nfc_and_nfd_name_one_handle() -> None:
    assert Handle.parse(NFC) == Handle.parse(NFD)
    assert Handle.from_url("88.118.8/cafe%CC%81") == Handle.from_url("88.118.8/caf%C3%A9")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("88.118.8/A\u202eB", "U+202E RIGHT-TO-LEFT OVERRIDE (bidi control)"),
        ("88.118.8/A\u202aB", "U+202A LEFT-TO-RIGHT EMBEDDING (bidi control)"),
        ("88.118.8/A\u2067B", "U+2067 RIGHT-TO-LEFT ISOLATE (bidi control)"),
        ("88.118.8/A\u200fB", "U+200F RIGHT-TO-LEFT MARK (bidi control)"),
        ("88.118.8/A\u061cB", "U+061C ARABIC LETTER MARK (bidi control)"),
        ("88.118.8/A\u200bB", "U+200B ZERO WIDTH SPACE (invisible format character)"),
        ("88.118.8/A\u200dB", "U+200D ZERO WIDTH JOINER (invisible format character)"),
        ("88.118.8/A\u2060B", "U+2060 WORD JOINER (invisible format character)"),
        ("88.118.8/\ufeffAB", "U+FEFF ZERO WIDTH NO-BREAK SPACE (invisible format character)"),
        ("88.118.8/A\u00adB", "U+00AD SOFT HYPHEN (invisible format character)"),
        ("88.118.8/A\u2028B", "U+2028 LINE SEPARATOR (line separator)"),
        ("88.118.8/A\u2029B", "U+2029 PARAGRAPH SEPARATOR (paragraph separator)"),
        ("88.118.8/A\ud800B", "U+D800 (surrogate)"),
        ("88.118.8/A\ufdd0B", "U+FDD0 (noncharacter)"),
        ("88.118.8/A\uffffB", "U+FFFF (noncharacter)"),
        ("88.118.8/A\U0010fffeB", "U+10FFFE (noncharacter)"),
        ("88.118.8/A\u0378B", "U+0378 (unassigned code point)"),
        ("88.118.8/A\ufffdB", "U+FFFD REPLACEMENT CHARACTER (replacement character"),
        ("88.118.8/A\nB", "U+000A (control character)"),
        ("88.118.8/AB\n", "U+000A (control character)"),
        ("88.118.8/A\x9bB", "U+009B (control character)"),
        ("88/" + "e\u0301" * 253, "256 characters long"),
        ("88/" + "x" * 1100, "at most 255"),
    ],
)
def test_look_alike_characters_are_refused_by_name(text: str, rule: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        Handle.parse(text)
    assert rule in caught.value.message


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("88.118.8/X%FF%FE", "not valid UTF-8 once percent-decoded: byte FF at position 10"),
        ("88.118.8/X%C3", "not valid UTF-8"),
        ("88.118.8/X%ED%A0%80", "not valid UTF-8"),  # an encoded surrogate
        ("88.118.8/X%0A", "U+000A (control character)"),
        ("88.118.8/X%EF%BF%BD", "U+FFFD REPLACEMENT CHARACTER"),
        ("88.118.8/X%E2%80%AE", "U+202E RIGHT-TO-LEFT OVERRIDE (bidi control)"),
    ],
)
def test_from_url_refuses_what_is_not_utf8_and_never_substitutes(url: str, rule: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        Handle.from_url(url)
    assert rule in caught.value.message
    with pytest.raises(InvalidIdentifier):
        Handle.from_url(url.encode())


def _fuzz_text(rng: random.Random) -> str:
    pools = (
        "88.118.8/",
        "0123456789.abcXYZ_-/ :%",
        "\x00\n\x7f\x85\u00ad\u0301\u0378\u061c\u200b\u200d\u202e\u2028\u3000\ufeff\ufffd\uffff",
        "产品批次é\u00c5\u212bä",
    )
    parts = []
    for _ in range(rng.randint(0, 12)):
        pool = rng.choice(pools)
        if rng.random() < 0.3:
            parts.append(chr(rng.randint(0, 0x10FFFF)))
        else:
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
    if rng.random() < 0.05:
        parts.append("x" * rng.randint(200, 1100))
    return "".join(parts)


def test_fuzz_parse_returns_a_round_tripping_handle_or_names_the_rule() -> None:
    rng = random.Random(20260517)
    deadline = time.monotonic() + 10
    for case in range(5000):
        if time.monotonic() > deadline:
            break
        text = _fuzz_text(rng)
        if rng.random() < 0.5:
            text = "88.118.8/" + text
        for parse in (Handle.parse, Handle.from_url):
            try:
                handle = parse(text)
            except InvalidIdentifier as exc:
                assert exc.message, (case, text)
                continue
            again = Handle.parse(str(handle))
            assert again == handle and str(again) == str(handle), (case, text)
            assert len(str(handle)) <= 255
    assert case > 500


def test_fuzz_from_url_of_random_bytes() -> None:
    rng = random.Random(7)
    deadline = time.monotonic() + 5
    for case in range(3000):
        if time.monotonic() > deadline:
            break
        raw = b"88.118.8/" + bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 24)))
        encoded = "".join(f"%{byte:02X}" if rng.random() < 0.7 else chr(byte) for byte in raw)
        for text in (raw, encoded):
            try:
                handle = Handle.from_url(text)
            except InvalidIdentifier:
                continue
            assert Handle.parse(str(handle)) == handle, (case, text)
    assert case > 300
