"""Template bodies are validated rule by rule; records are checked against a template."""

from __future__ import annotations

import copy

import pytest

from registry import HandleValue, InvalidInput, InvalidValue, Template, apply_template

BODY = {
    "prefix": "88.118.8",
    "version": "1.0",
    "description": "d",
    "industryCategory": "C",
    "type": 1,
    "items": [
        {
            "name": "productName",
            "idType": "productName",
            "idIndex": 2000,
            "required": True,
            "state": 1,
            "metadata": {"type": "string", "minLength": 1, "maxLength": 8},
        }
    ],
}


def test_parse_round_trips_and_normalises_the_prefix() -> None:
    body = {**BODY, "prefix": "88.118.ab"}
    template = Template.parse(body)
    assert template.prefix == "88.118.AB"
    assert Template.parse(template.to_json()) == template
    assert template.to_json()["items"][0]["metadata"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 8,
    }


def _broken(path: tuple, value: object) -> dict:
    body = copy.deepcopy(BODY)
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("prefix",), "88..1", "prefix"),
        (("version",), "", "template version must be 1-64"),
        (("version",), "1 0", "without spaces"),
        (("type",), 3, "template type (1 active carrier, 2 other)"),
        (("items",), [], "items must be a list of 1 to"),
        (("items", 0, "idIndex"), 1999, "idIndex must be an integer from 2000"),
        (("items", 0, "idIndex"), "2000", "idIndex must be an integer"),
        (("items", 0, "idType"), "", "idType must be 1-128"),
        (("items", 0, "name"), KeyError, "name must be 1-128"),
        (("items", 0, "required"), "yes", "required must be true or false"),
        (("items", 0, "state"), 2, "state (0 disabled, 1 enabled)"),
        (("items", 0, "metadata", "type"), "money", "metadata.type must be one of string, number"),
        (("items", 0, "metadata"), "string", "metadata must be an object"),
        (("items", 0, "metadata", "maxLength"), 0, "metadata.maxLength"),
        (("items", 0, "metadata", "minLength"), -1, "metadata.minLength"),
        (("industryCategory",), "C" * 33, "industryCategory"),
    ],
)
def test_each_template_rule_is_named(path: tuple, value: object, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Template.parse(_broken(path, value))
    assert message in caught.value.message


def test_items_may_not_share_an_index_or_type() -> None:
    body = copy.deepcopy(BODY)
    body["items"].append({**body["items"][0], "name": "other", "idType": "other"})
    with pytest.raises(InvalidInput, match="share the idIndex 2000"):
        Template.parse(body)


def test_apply_template_adds_the_template_value_at_1001() -> None:
    template = Template.parse(BODY)
    values = [
        HandleValue(2000, "productName", "string", "Motor"),
        HandleValue(1, "URL", "string", "u"),
    ]
    applied = apply_template("88.118.8/x", values, template)
    assert [(v.index, v.type, v.value) for v in applied] == [
        (1, "URL", "u"),
        (1001, "TEMPLATE", "1.0"),
        (2000, "productName", "Motor"),
    ]


def test_without_a_template_1001_is_still_reserved() -> None:
    assert apply_template("h/x", [HandleValue(1, "URL", "string", "u")], None)
    with pytest.raises(InvalidValue, match="1001 is reserved"):
        apply_template("h/x", [HandleValue(1001, "TEMPLATE", "string", "v")], None)


def test_template_items_must_be_string_data() -> None:
    template = Template.parse(BODY)
    with pytest.raises(InvalidValue, match="must be string data"):
        apply_template("h/x", [HandleValue(2000, "productName", "hex", "00")], template)


@pytest.mark.parametrize("name", ["a\x00b", "tab\there", "del\x7f", "c1\x85"])
def test_item_names_refuse_control_characters(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Template.parse(_broken(("items", 0, "name"), name))
    assert "template item #1: name contains the control character U+00" in caught.value.message
    with pytest.raises(InvalidInput, match="idType must be 1-128 printable"):
        Template.parse(_broken(("items", 0, "idType"), name))
