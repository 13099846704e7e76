"""What the landing page's search box makes of typed and scanned text: a table and a fuzz."""

from __future__ import annotations

import random

import pytest

from node.human.scan import MAX_SCAN, identifier_from
from registry import InvalidInput


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("88.118.8/JXDY2106023", "88.118.8/JXDY2106023"),
        ("  88.118.8/JXDY2106023\n", "88.118.8/JXDY2106023"),
        ("hdl:88.118.8/A", "88.118.8/A"),
        ("HANDLE:88.118.8/A", "88.118.8/A"),
        ("idis:88.118.8/a/b:c.d", "88.118.8/a/b:c.d"),
        ("https://node.example/88.118.8/A", "88.118.8/A"),
        ("HTTPS://node.example/88.118.8/A?noredirect", "88.118.8/A"),
        ("http://hdl.example/88.118.8/%E4%BA%A7%E5%93%81", "88.118.8/产品"),
        ("https://node.example/api/handles/88.118.8%2FA", "88.118.8/A"),
        ("https://scan.example/p?handle=88.118.8/Q", "88.118.8/Q"),
        ("https://scan.example/p?id=88.118.8/Q&x=1", "88.118.8/Q"),
        ("88.118.8/产品 Motor", "88.118.8/产品 Motor"),
    ],
)
def test_text_naming_an_identifier(text: str, handle: str) -> None:
    assert str(identifier_from(text)) == handle


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "enter an identifier"),
        ("   ", "enter an identifier"),
        ("x" * (MAX_SCAN + 1), "longer than"),
        ("https://id.gs1.org/01/09506000134352/10/ABC", "GS1 Digital Link"),
        ("https://brand.example/01/09506000134352?17=201231", "GS1 Digital Link"),
        ("https://example.com/products/1", "no rule maps this web address"),
        ("https://example.com/", "no rule maps this web address"),
        ("https://x.example/%FF%FE", "no rule maps this web address"),
        ("http://[::1", "no rule maps this web address"),
        ("88..8/x", "empty segment"),
        ("no-slash", "no ./. between prefix and suffix"),
        ("88.118.8/", "suffix is empty"),
        ("88.118.8/a\x00b", "control character"),
    ],
)
def test_text_naming_none_is_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        identifier_from(text)


def test_fuzz_any_text_gives_an_identifier_or_a_clear_refusal() -> None:
    rng = random.Random(21)
    pieces = ["88.118.8/", "hdl:", "https://", "http://x/", "/", "%", "%FF", "?", "=", "01/", "\x00",
              "产品", " ", "..", ":", "#", "[", "]", "api/handles/", "9506000134352", "a", "é"]  # fmt: skip
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        try:
            handle = identifier_from(text)
        except InvalidInput as exc:
            assert exc.message
        else:
            assert str(handle) and "/" in str(handle)
