"""Handle values: what is accepted, and the message for each thing that is not."""

from __future__ import annotations

import pytest

from registry import MAX_DATA_DEPTH, InvalidValue, Permissions, parse_index, parse_values


def test_bare_string_data_means_string_format_and_defaults_apply() -> None:
    (value,) = parse_values([{"index": 1, "type": "URL", "data": "https://example.com"}])
    assert (value.format, value.value, value.ttl) == ("string", "https://example.com", 86400)
    assert value.permissions == Permissions()


def test_values_are_sorted_by_index() -> None:
    values = parse_values(
        [{"index": 7, "type": "B", "data": "b"}, {"index": 2, "type": "A", "data": "a"}]
    )
    assert [v.index for v in values] == [2, 7]


def test_every_format_is_accepted_in_its_shape() -> None:
    values = parse_values(
        [
            {"index": 1, "type": "A", "data": {"format": "base64", "value": "aGVsbG8="}},
            {"index": 2, "type": "B", "data": {"format": "hex", "value": "CAFE00"}},
            {
                "index": 100,
                "type": "HS_ADMIN",
                "data": {
                    "format": "admin",
                    "value": {
                        "handle": "0.NA/88.118.8",
                        "index": "200",
                        "permissions": "011111110011",
                    },
                },
            },
            {
                "index": 200,
                "type": "HS_VLIST",
                "data": {"format": "vlist", "value": [{"handle": "88.118.8/ADMIN", "index": 300}]},
            },
            {"index": 3, "type": "HS_SITE", "data": {"format": "site", "value": {"servers": []}}},
            {"index": 4, "type": "HS_PUBKEY", "data": {"format": "key", "value": "AAAA"}},
        ]
    )
    admin = next(v for v in values if v.type == "HS_ADMIN")
    assert admin.value["index"] == 200


def test_secret_keys_are_private_by_default() -> None:
    (value,) = parse_values([{"index": 300, "type": "HS_SECKEY", "data": "x"}])
    assert not value.permissions.public_read


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("nope", "must be a list"),
        ([], "is empty"),
        (["x"], "must be an object"),
        ([{"type": "URL", "data": "x"}], "has no 'index'"),
        ([{"index": 1, "data": "x"}], "has no 'type'"),
        ([{"index": 1, "type": "URL"}], "has no 'data'"),
        ([{"index": 0, "type": "URL", "data": "x"}], "outside 1..2147483647"),
        ([{"index": 2**31, "type": "URL", "data": "x"}], "outside 1..2147483647"),
        ([{"index": 10**40, "type": "URL", "data": "x"}], "outside 1..2147483647"),
        ([{"index": True, "type": "URL", "data": "x"}], "must be an integer"),
        ([{"index": 1.5, "type": "URL", "data": "x"}], "must be an integer"),
        ([{"index": 1, "type": "", "data": "x"}], "printable"),
        ([{"index": 1, "type": "T" * 129, "data": "x"}], "printable"),
        ([{"index": 1, "type": "A\nB", "data": "x"}], "printable"),
        ([{"index": 1, "type": "A", "data": 5}], "string or an object"),
        (
            [{"index": 1, "type": "A", "data": {"format": "weird", "value": "x"}}],
            "unknown data format",
        ),
        ([{"index": 1, "type": "A", "data": {"format": "string"}}], "has no 'value'"),
        (
            [{"index": 1, "type": "A", "data": {"format": "base64", "value": "@@@"}}],
            "not valid base64",
        ),
        ([{"index": 1, "type": "A", "data": {"format": "hex", "value": "XYZ"}}], "not valid hex"),
        ([{"index": 1, "type": "A", "data": {"format": "hex", "value": "ABC"}}], "not valid hex"),
        (
            [
                {
                    "index": 1,
                    "type": "A",
                    "data": {"format": "admin", "value": {"handle": "bad", "index": 1}},
                }
            ],
            "admin handle is invalid",
        ),
        ([{"index": 1, "type": "A", "data": "x", "ttl": -1}], "ttl"),
        ([{"index": 1, "type": "A", "data": "x", "permissions": "2"}], "permissions"),
        (
            [{"index": 1, "type": "A", "data": "x"}, {"index": 1, "type": "B", "data": "y"}],
            "index 1 appears more than once",
        ),
    ],
)
def test_invalid_values_name_the_problem(values: object, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_values(values)
    assert message in caught.value.message


def _site(value: object) -> list[dict]:
    return [{"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": value}}]


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ("9" * 5000, "index of 5000 digits is outside 1..2147483647"),
        ("2147483648", "outside 1..2147483647"),
        ("0", "outside 1..2147483647"),
        ("٣", "must be an integer of ASCII digits"),  # Arabic-Indic three
        ("²", "must be an integer of ASCII digits"),  # superscript two: isdigit(), not int()
        (" 3", "must be an integer of ASCII digits"),
        ("1_000", "must be an integer of ASCII digits"),
        ("-1", "must be an integer of ASCII digits"),
    ],
)
def test_indexes_are_ascii_digits_in_range(index: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_values([{"index": index, "type": "A", "data": "a"}])
    assert message in caught.value.message


def test_an_index_string_of_ascii_digits_is_read() -> None:
    assert parse_index("0002147483647", "query") == 2**31 - 1
    assert parse_index(7, "query") == 7


def test_site_and_key_data_nest_at_most_32_levels() -> None:
    (value,) = parse_values(_site(_nested(MAX_DATA_DEPTH)))
    assert value.value == _nested(32)
    for fmt in ("site", "key"):
        body = [{"index": 1, "type": "K", "data": {"format": fmt, "value": _nested(33)}}]
        with pytest.raises(InvalidValue) as caught:
            parse_values(body)
        assert f"{fmt} data is nested more than 32 levels deep" in caught.value.message
    lists: list = []
    for _ in range(32):  # 32 lists inside the object: 33 levels
        lists = [lists]
    with pytest.raises(InvalidValue, match="nested more than 32"):
        parse_values(_site({"list": lists}))


def test_structured_data_keeps_64_bit_integers_and_refuses_what_it_cannot_keep() -> None:
    exact = {"serialNumber": 2**64 - 1, "low": -(2**63), "flag": True, "none": None}
    (value,) = parse_values(_site(exact))
    assert value.value == exact
    for number in (2**64, -(2**63) - 1, 1.2345678901234568e29, 1.5):
        with pytest.raises(InvalidValue) as caught:
            parse_values(_site({"n": [number]}))
        assert "site data holds" in caught.value.message and "2^64-1" in caught.value.message
