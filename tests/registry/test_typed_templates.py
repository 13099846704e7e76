"""Typed template items: each type and constraint, good and bad values, and the schema shown."""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from registry import (
    ADMIN,
    BatchService,
    Handle,
    HandleValue,
    InvalidInput,
    InvalidValue,
    RecordDraft,
    RecordService,
    Template,
    TemplateService,
    apply_template,
)


def _template(metadata: dict[str, Any] | None, *, required: bool = False) -> Template:
    item: dict[str, Any] = {
        "name": "field",
        "idType": "field",
        "idIndex": 2000,
        "required": required,
    }
    if metadata is not None:
        item["metadata"] = metadata
    return Template.parse({"prefix": "88.118.8", "version": "1", "items": [item]})


def _check(template: Template, text: str) -> None:
    apply_template("88.118.8/x", [HandleValue(2000, "field", "string", text)], template)


# (metadata, value, None when accepted or the problem named)
CASES = [
    (None, "anything at all", None),
    ({"type": "string", "minLength": 2, "maxLength": 4}, "abc", None),
    ({"type": "string", "minLength": 2, "maxLength": 4}, "a", "must be 2-4 characters long, got 1"),
    ({"type": "string", "maxLength": 4}, "abcde", "must be 0-4 characters long, got 5"),
    ({"type": "string", "pattern": "^[A-Z]+$"}, "ABC", None),
    ({"type": "string", "pattern": "^[A-Z]+$"}, "AbC", "must match the pattern '^[A-Z]+$'"),
    ({"type": "STRING"}, "case of the type name is free", None),
    ({"type": "number"}, "12.5", None),
    ({"type": "number"}, "-3", None),
    ({"type": "number"}, "1e3", None),
    ({"type": "number"}, "twelve", "must be a number, got 'twelve'"),
    ({"type": "number"}, "nan", "must be a number, got 'nan'"),
    ({"type": "number"}, "inf", "must be a number"),
    ({"type": "number", "minimum": 0, "maximum": 10}, "10", None),
    ({"type": "number", "minimum": 0, "maximum": 10}, "10.01", "must be at most 10, got 10.01"),
    ({"type": "number", "minimum": 0}, "-0.5", "must be at least 0, got -0.5"),
    ({"type": "integer"}, "42", None),
    ({"type": "integer"}, "4.2", "must be an integer, got '4.2'"),
    ({"type": "integer"}, "0x10", "must be an integer"),
    ({"type": "integer", "minimum": 1, "maximum": 5}, "0", "must be at least 1, got 0"),
    ({"type": "integer", "minimum": 1, "maximum": 5}, "6", "must be at most 5, got 6"),
    ({"type": "date"}, "2024-02-29", None),
    ({"type": "date"}, "2023-02-29", "must be a date as YYYY-MM-DD, got '2023-02-29'"),
    ({"type": "date"}, "2024-2-9", "must be a date as YYYY-MM-DD"),
    ({"type": "date"}, "2024-02-29T00:00:00", "must be a date as YYYY-MM-DD"),
    ({"type": "enum", "enum": ["A", "B"]}, "B", None),
    ({"type": "enum", "enum": ["A", "B"]}, "b", "must be one of A, B, got 'b'"),
    ({"type": "url"}, "https://example.com/a?b=c", None),
    ({"type": "url"}, "ftp://example.com/file", None),
    ({"type": "url"}, "example.com", "must be an http, https or ftp URL"),
    ({"type": "url"}, "javascript:alert(1)", "must be an http, https or ftp URL"),
    ({"type": "url"}, "https://exa mple.com", "must be an http, https or ftp URL"),
    ({"type": "url", "maxLength": 10}, "https://example.com", "must be 0-10 characters long"),
]


@pytest.mark.parametrize(("metadata", "value", "problem"), CASES)
def test_each_type_and_constraint(metadata: Any, value: str, problem: str | None) -> None:
    template = _template(metadata)
    if problem is None:
        _check(template, value)
        return
    with pytest.raises(InvalidValue) as caught:
        _check(template, value)
    assert caught.value.message.startswith("item 'field' (value index 2000) ")
    assert problem in caught.value.message


def test_a_required_item_is_named_when_missing() -> None:
    template = _template({"type": "integer"}, required=True)
    with pytest.raises(InvalidValue, match="required items of template 1 are missing: 'field'"):
        apply_template("88.118.8/x", [HandleValue(1, "URL", "string", "u")], template)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (
            {"type": "money"},
            "metadata.type must be one of string, number, integer, date, enum, url",
        ),
        ({"type": "number", "minLength": 1}, "metadata.minLength applies to string and url items"),
        ({"type": "string", "minimum": 1}, "metadata.minimum applies to number and integer"),
        ({"type": "string", "enum": ["a"]}, "metadata.enum applies to enum items only"),
        ({"type": "enum"}, "metadata.enum must list 1-200 values"),
        ({"type": "enum", "enum": []}, "metadata.enum must list 1-200 values"),
        ({"type": "enum", "enum": ["a", "a"]}, "metadata.enum lists a value twice"),
        ({"type": "enum", "enum": ["a\nb"]}, "metadata.enum values must be 1-256 printable"),
        ({"type": "enum", "enum": [1]}, "metadata.enum values must be 1-256 printable"),
        ({"type": "number", "minimum": 5, "maximum": 1}, "minimum 5 is above maximum 1"),
        ({"type": "number", "minimum": float("inf")}, "metadata.minimum must be a number from"),
        ({"type": "number", "maximum": True}, "metadata.maximum must be a number from -2**53"),
        ({"type": "integer", "maximum": 10**30}, "metadata.maximum must be a number from"),
        ({"type": "integer", "minimum": 0.5}, "must be a whole number"),
        ({"type": "string", "pattern": "("}, "metadata.pattern is not a regular expression"),
        # What RE2 cannot run in linear time is refused when the template is saved, by name.
        ({"type": "string", "pattern": "^(?=A)"}, "invalid perl operator: (?="),
        ({"type": "string", "pattern": "^(a)\\1$"}, "invalid escape sequence: \\1"),
        ({"type": "string", "pattern": "a{1001}"}, "invalid repetition size: {1001}"),
        ({"type": "string", "pattern": "^\\p{Han}{1000}$"}, "pattern too large - compile failed"),
        ({"type": "string", "pattern": ""}, "metadata.pattern must be 1-256 characters"),
        ({"type": "string", "pattern": "a" * 257}, "metadata.pattern must be 1-256 characters"),
        ({"type": "string", "maxLength": 0}, "metadata.maxLength"),
        ({"type": "string", "minLength": 5, "maxLength": 4}, "metadata.maxLength"),
        ("string", "metadata must be an object"),
    ],
)
def test_each_bad_item_definition_is_named(metadata: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _template(metadata)
    assert caught.value.message.startswith("template item #1: ")
    assert message in caught.value.message


def test_typed_items_round_trip_and_old_string_items_keep_their_form() -> None:
    body = {
        "prefix": "88.118.8",
        "version": "2",
        "items": [
            {
                "name": "n",
                "idType": "n",
                "idIndex": 2000,
                "metadata": {"type": "number", "minimum": 0},
            },
            {
                "name": "e",
                "idType": "e",
                "idIndex": 2001,
                "metadata": {"type": "enum", "enum": ["x"]},
            },
            {
                "name": "s",
                "idType": "s",
                "idIndex": 2002,
                "metadata": {"type": "string", "maxLength": 9},
            },
            {
                "name": "u",
                "idType": "u",
                "idIndex": 2003,
                "metadata": {"type": "url", "pattern": "^https"},
            },
        ],
    }
    template = Template.parse(body)
    assert Template.parse(template.to_json()) == template
    shown = [item["metadata"] for item in template.to_json()["items"]]
    assert shown == [
        {"type": "number", "minimum": 0},
        {"type": "enum", "enum": ["x"]},
        {"type": "string", "minLength": 0, "maxLength": 9},
        {"type": "url", "minLength": 0, "maxLength": 65535, "pattern": "^https"},
    ]


def test_the_json_schema_is_keyed_by_index_and_skips_disabled_items() -> None:
    template = Template.parse(
        {
            "prefix": "88.118.8",
            "version": "3",
            "items": [
                {
                    "name": "重量",
                    "idType": "w",
                    "idIndex": 2000,
                    "required": True,
                    "metadata": {"type": "number", "maximum": 9},
                },
                {"name": "old", "idType": "o", "idIndex": 2001, "state": 0},
            ],
        }
    )
    schema = template.json_schema()
    assert schema["required"] == ["2000"]
    assert list(schema["properties"]) == ["2000"]
    assert schema["properties"]["2000"]["type"] == "number"
    assert schema["properties"]["2000"]["title"] == "重量"
    assert template.validator()({"2000": 3}) is None
    assert template.validator()({"2000": 10}).rule == "maximum"


def test_fuzzed_item_definitions_are_accepted_or_refused_cleanly() -> None:
    """Random metadata never escapes as anything but InvalidInput, and what parses validates."""
    rng = random.Random(21)
    pool: list[Any] = [
        None,
        True,
        0,
        -1,
        1,
        2.5,
        1e308,
        float("nan"),
        "",
        "x",
        "(",
        "^a+$",
        "[",
        "a{99999}",
        "\\",
        "'",
        '"',
        "\x00",
        [],
        ["a"],
        ["a", 1],
        {},
        65536,
        "string",
        "number",
        "enum",
        "url",
        "date",
        "integer",
        '"); import os #',
    ]
    keys = ["type", "minLength", "maxLength", "pattern", "minimum", "maximum", "enum"]
    for _ in range(600):
        metadata = {key: rng.choice(pool) for key in rng.sample(keys, rng.randint(0, len(keys)))}
        if rng.random() < 0.7:
            metadata["type"] = rng.choice(["string", "number", "integer", "date", "enum", "url"])
        try:
            template = _template(copy.deepcopy(metadata))
        except InvalidInput:
            continue
        for text in ("", "a", "1", "2024-01-01", "https://a.b", "x" * 70):
            try:
                _check(template, text)
            except InvalidValue as exc:
                assert exc.message.startswith("item 'field' (value index 2000) ")


# A pattern that backtracks exponentially in a backtracking engine (Python's ``re``: some
# seconds at 24 characters, doubling with each one more), and a value that makes it do so.
_STALLING_PATTERN = "^(a+)+$"
_STALLING_VALUE = "a" * 5000 + "b"


def test_a_pattern_is_matched_in_linear_time_and_cannot_stall_a_worker() -> None:
    """A template author cannot stall a worker with a pattern (a backtracking engine's
    catastrophic case): its match takes time linear in the value. Run in a child process
    under a time bound, as a stalled match in a backtracking engine cannot be interrupted."""
    script = f"""
from registry import HandleValue, InvalidValue, Template, apply_template
template = Template.parse({{"prefix": "88.118.8", "version": "1", "items": [
    {{"name": "field", "idType": "field", "idIndex": 2000,
      "metadata": {{"type": "string", "pattern": {_STALLING_PATTERN!r}}}}}]}})
for value, fits in (({_STALLING_VALUE!r}, False), ("a" * 5000, True)):
    try:
        apply_template("88.118.8/x", [HandleValue(2000, "field", "string", value)], template)
        print("accepted" if fits else "WRONGLY accepted")
    except InvalidValue as exc:
        print(exc.message[:60] if not fits else "WRONGLY refused")
"""
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"matching {_STALLING_PATTERN!r} stalled for over 60 s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "item 'field' (value index 2000) must match the pattern '^(a+",
        "accepted",
    ]


def test_patterns_follow_json_schema_not_python() -> None:
    """JSON Schema patterns are ECMA-262: ``\\d`` is an ASCII digit (Python's ``re`` took any
    Unicode digit), the match is a search anywhere in the value, and Unicode classes work."""
    _check(_template({"pattern": "^\\d{3}$"}), "123")
    with pytest.raises(InvalidValue, match="must match the pattern"):
        _check(_template({"pattern": "^\\d{3}$"}), "١٢٣")  # Arabic-Indic digits
    _check(_template({"pattern": "B"}), "ABC")
    _check(_template({"pattern": "^\\p{Han}+$"}), "产品")
    _check(_template({"pattern": "^[\\p{Han}A-Za-z0-9]{1,200}$"}), "产品A1")
    with pytest.raises(InvalidValue, match="must match the pattern"):
        _check(_template({"pattern": "^\\p{Han}+$"}), "product")


async def test_writes_through_the_record_service_are_held_to_typed_items(db) -> None:
    """The path of Handle REST and the native protocol: a change to a templated record."""
    records = RecordService(db)
    templates = TemplateService(db)
    batches = BatchService(db, records, templates)
    await templates.create(
        ADMIN,
        {
            "prefix": "88.118.8",
            "version": "t",
            "items": [
                {"name": "数量", "idType": "qty", "idIndex": 2000, "required": True,
                 "metadata": {"type": "integer", "minimum": 1}},
            ],
        },
    )  # fmt: skip
    handle = Handle.parse("88.118.8/Q1")
    good = (HandleValue(2000, "qty", "string", "3"),)
    assert await batches.create_many(ADMIN, [RecordDraft(handle, good, "t")]) == [None]
    with pytest.raises(InvalidValue, match=r"item '数量' \(value index 2000\) must be at least 1"):
        await records.put(ADMIN, handle, [HandleValue(2000, "qty", "string", "0")], overwrite=True)
    await records.put(ADMIN, handle, [HandleValue(2000, "qty", "string", "7")], overwrite=True)
    stored = await records.get(handle)
    assert stored is not None
    assert {v.index: v.value for v in stored.values}[2000] == "7"


async def test_a_stored_pattern_re2_refuses_fails_its_writes_by_name_until_saved_again(
    db,
) -> None:
    """A template stored before patterns ran on RE2, with a lookahead: writes against it are
    refused naming the pattern (never a 500, never matched by a backtracking engine), and an
    update with a pattern RE2 accepts puts it back to work."""
    from registry.storage.snms import Templates

    records = RecordService(db)
    templates = TemplateService(db)
    batches = BatchService(db, records, templates)
    body = {
        "prefix": "88.118.8",
        "version": "old",
        "items": [
            {"name": "code", "idType": "code", "idIndex": 2000,
             "metadata": {"type": "string", "pattern": "^[A-Z]"}},
        ],
    }  # fmt: skip
    await templates.create(ADMIN, body)
    stored = copy.deepcopy(body)
    stored["items"][0]["metadata"]["pattern"] = "^(?=[A-Z])"
    async with db.write() as session:
        assert await Templates(session).update(
            "88.118.8", "old", orjson.dumps(stored).decode(), datetime.now(UTC)
        )
    draft = RecordDraft(
        Handle.parse("88.118.8/OLD1"), (HandleValue(2000, "code", "string", "A"),), "old"
    )
    [refused] = await batches.create_many(ADMIN, [draft])
    assert isinstance(refused, InvalidInput), refused
    assert "metadata.pattern is not a regular expression this node runs" in refused.message
    assert "invalid perl operator: (?=" in refused.message
    assert await records.get(draft.handle) is None
    await templates.update(ADMIN, body)
    assert await batches.create_many(ADMIN, [draft]) == [None]


def test_compiled_patterns_alive_are_few_however_many_templates_hold_patterns() -> None:
    """RE2 keeps match caches with each compiled pattern (up to 1 MiB): templates hold their
    patterns as text and a bounded cache holds the compiled ones, so 600 templates' patterns
    do not stay compiled at once, and one evicted is compiled again when used."""
    import gc

    import re2

    from registry import _schema

    templates = [_template({"pattern": f"^P{n}-[0-9]+$"}) for n in range(600)]
    for n, template in enumerate(templates):
        _check(template, f"P{n}-42")
    gc.collect()
    alive = sum(1 for thing in gc.get_objects() if isinstance(thing, re2._Regexp))
    assert alive <= _schema._COMPILED_PATTERNS + 10, alive
    with pytest.raises(InvalidValue, match="must match the pattern '\\^P0-"):
        _check(templates[0], "P0-x")
    _check(templates[0], "P0-7")
