"""Typed template items: their rules, the JSON Schema they make, and its compiled validator.

An item's ``metadata`` names a type — ``string`` (the only type before typed templates, and
still the default), ``number``, ``integer``, ``date`` (``YYYY-MM-DD``), ``enum`` or ``url`` — and
the constraints that fit it: ``minLength``/``maxLength``/``pattern`` for text, ``minimum``/
``maximum`` for numbers, ``enum`` for the allowed values. Stored values stay strings; a number
item's text is read as a number before the schema sees it. The schema is compiled once per
template by ``fastjsonschema`` (generated Python, several times faster than an interpreting
validator on the batch path) and keyed by each item's ``idIndex``, so no user text becomes code.

Patterns run on RE2, not on fastjsonschema's Python ``re``: RE2 matches in time linear in the
value, where a backtracking engine can take hours on a pattern such as ``^(a+)+$`` and stall the
worker with every request it holds. What RE2 cannot do in linear time (lookaround,
backreferences) is refused when the template is saved. Its ``\\d`` and ``\\w`` are ASCII, as
JSON Schema's ECMA-262 patterns are.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import fastjsonschema
import orjson
import re2

from ._errors import InvalidInput

__all__ = [
    "ITEM_TYPES",
    "ItemRules",
    "SchemaProblem",
    "compile_schema",
    "parse_rules",
]

ITEM_TYPES = ("string", "number", "integer", "date", "enum", "url")
MAX_STRING_LENGTH = 65535
MAX_PATTERN_LENGTH = 256
MAX_BOUND = 2**53
MAX_CHOICES = 200
MAX_CHOICE_LENGTH = 256
_TEXT_TYPES = ("string", "url")
_NUMBER_TYPES = ("number", "integer")
_INTEGER = re.compile(r"[+-]?\d{1,30}")
_NUMBER = re.compile(r"[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})([eE][+-]?\d{1,4})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_date(text: Any) -> bool:
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_url(text: Any) -> bool:
    if not isinstance(text, str) or any(ch.isspace() for ch in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https", "ftp") and bool(parts.netloc)


# fastjsonschema takes a callable per format; the console gets the standard names.
_FORMATS: dict[str, Callable[[Any], bool]] = {"date": _is_date, "uri": _is_url}


def _length(raw: Any, where: str, low: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= MAX_STRING_LENGTH:
        raise InvalidInput(
            f"{where} must be an integer from {low} to {MAX_STRING_LENGTH}, got {raw!r}"
        )
    return raw


def _bound(raw: Any, where: str, kind: str) -> int | float | None:
    if raw is None:
        return None
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | float)
        or not math.isfinite(raw)
        or abs(raw) > MAX_BOUND
    ):
        raise InvalidInput(f"{where} must be a number from -2**53 to 2**53, got {raw!r}")
    if kind == "integer" and not float(raw).is_integer():
        raise InvalidInput(f"{where} of an integer item must be a whole number, got {raw!r}")
    return int(raw) if kind == "integer" else raw


@dataclass(frozen=True, slots=True)
class ItemRules:
    """What one item's value must be: its type and the constraints that apply to it."""

    type: str = "string"
    min_length: int = 0
    max_length: int = MAX_STRING_LENGTH
    pattern: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    choices: tuple[str, ...] = ()

    def coerce(self, text: str) -> Any:
        """The value the schema checks: a number item's text as a number, else the text."""
        if self.type == "integer" and _INTEGER.fullmatch(text):
            return int(text)
        if self.type == "number" and _NUMBER.fullmatch(text):
            number = float(text)
            return int(number) if number.is_integer() and abs(number) < 2**53 else number
        return text

    def to_json(self) -> dict[str, Any]:
        """The item's ``metadata`` as the SNMS API shows it."""
        body: dict[str, Any] = {"type": self.type}
        if self.type in _TEXT_TYPES:
            body["minLength"] = self.min_length
            body["maxLength"] = self.max_length
            if self.pattern is not None:
                body["pattern"] = self.pattern
        if self.minimum is not None:
            body["minimum"] = self.minimum
        if self.maximum is not None:
            body["maximum"] = self.maximum
        if self.choices:
            body["enum"] = list(self.choices)
        return body

    def schema(self) -> dict[str, Any]:
        """This item's JSON Schema (draft 7)."""
        if self.type in _NUMBER_TYPES:
            schema: dict[str, Any] = {"type": self.type}
            if self.minimum is not None:
                schema["minimum"] = self.minimum
            if self.maximum is not None:
                schema["maximum"] = self.maximum
            return schema
        if self.type == "enum":
            return {"type": "string", "enum": list(self.choices)}
        if self.type == "date":
            return {"type": "string", "format": "date"}
        schema = {"type": "string", "minLength": self.min_length, "maxLength": self.max_length}
        if self.type == "url":
            schema["format"] = "uri"
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        return schema

    def problem(self, rule: str, value: Any) -> str:
        """What is wrong with ``value``, in words, for the schema rule it broke."""
        if rule == "type":
            article = "an integer" if self.type == "integer" else "a number"
            return f"must be {article}, got {value!r}"
        if rule in ("minLength", "maxLength"):
            return f"must be {self.min_length}-{self.max_length} characters long, got {len(value)}"
        if rule == "pattern":
            return f"must match the pattern {self.pattern!r}, got {value!r}"
        if rule == "minimum":
            return f"must be at least {self.minimum}, got {value!r}"
        if rule == "maximum":
            return f"must be at most {self.maximum}, got {value!r}"
        if rule == "enum":
            return f"must be one of {', '.join(self.choices)}, got {value!r}"
        if rule == "format" and self.type == "date":
            return f"must be a date as YYYY-MM-DD, got {value!r}"
        if rule == "format":
            return f"must be an http, https or ftp URL, got {value!r}"
        return f"breaks the rule {rule!r}"


def parse_rules(metadata: Any, where: str) -> ItemRules:
    """Validate an item's ``metadata``; every rule broken is named with ``where``."""
    if metadata is None:
        return ItemRules()
    if not isinstance(metadata, Mapping):
        raise InvalidInput(f"{where}: metadata must be an object")
    kind = metadata.get("type", "string")
    if not isinstance(kind, str) or kind.lower() not in ITEM_TYPES:
        raise InvalidInput(
            f"{where}: metadata.type must be one of {', '.join(ITEM_TYPES)}, got {kind!r}"
        )
    kind = kind.lower()
    text = kind in _TEXT_TYPES
    for key in ("minLength", "maxLength", "pattern"):
        if key in metadata and not text:
            raise InvalidInput(f"{where}: metadata.{key} applies to string and url items only")
    for key in ("minimum", "maximum"):
        if metadata.get(key) is not None and kind not in _NUMBER_TYPES:
            raise InvalidInput(f"{where}: metadata.{key} applies to number and integer items only")
    if "enum" in metadata and kind != "enum":
        raise InvalidInput(f"{where}: metadata.enum applies to enum items only")
    min_length = _length(metadata.get("minLength", 0), f"{where}: metadata.minLength", 0)
    max_length = _length(
        metadata.get("maxLength", MAX_STRING_LENGTH),
        f"{where}: metadata.maxLength",
        max(min_length, 1),
    )
    pattern = metadata.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str) or not 1 <= len(pattern) <= MAX_PATTERN_LENGTH:
            raise InvalidInput(
                f"{where}: metadata.pattern must be 1-{MAX_PATTERN_LENGTH} characters"
            )
        try:
            _linear(pattern)
        except re2.error as exc:
            reason = exc.args[0].decode(errors="replace") if exc.args else str(exc)
            raise InvalidInput(
                f"{where}: metadata.pattern is not a regular expression this node runs"
                f" (RE2 syntax, matched in linear time: no lookaround or backreferences):"
                f" {reason}"
            ) from None
    minimum = _bound(metadata.get("minimum"), f"{where}: metadata.minimum", kind)
    maximum = _bound(metadata.get("maximum"), f"{where}: metadata.maximum", kind)
    if minimum is not None and maximum is not None and minimum > maximum:
        raise InvalidInput(f"{where}: metadata.minimum {minimum} is above maximum {maximum}")
    choices: tuple[str, ...] = ()
    if kind == "enum":
        raw = metadata.get("enum")
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CHOICES:
            raise InvalidInput(f"{where}: metadata.enum must list 1-{MAX_CHOICES} values")
        for choice in raw:
            if (
                not isinstance(choice, str)
                or not 1 <= len(choice) <= MAX_CHOICE_LENGTH
                or not choice.isprintable()
            ):
                raise InvalidInput(
                    f"{where}: metadata.enum values must be 1-{MAX_CHOICE_LENGTH} printable"
                    f" characters, got {choice!r}"
                )
        if len(set(raw)) != len(raw):
            raise InvalidInput(f"{where}: metadata.enum lists a value twice")
        choices = tuple(raw)
    return ItemRules(kind, min_length, max_length, pattern, minimum, maximum, choices)


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """The first rule an instance broke: the property (an ``idIndex``), the rule, the value."""

    key: str
    rule: str
    value: Any


Validator = Callable[[Mapping[str, Any]], SchemaProblem | None]


def compile_schema(schema: Mapping[str, Any]) -> Validator:
    """A function returning the first ``SchemaProblem`` of an instance, or None when it fits.

    Compiling costs milliseconds and a template is read back from storage for every write of
    a templated record: validators are kept by the schema's text.
    """
    try:
        text = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError as exc:
        raise InvalidInput(f"the template's schema is not JSON: {exc}") from exc
    return _compiled(text)


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> Validator:
    schema = orjson.loads(text)
    # The items' patterns are RE2's to match (``_linear``), never fastjsonschema's ``re``; kept
    # as text, each compiled form is looked up as it is used, so that the compiled patterns
    # alive are ``_linear``'s few, however many templates hold patterns.
    patterns: dict[str, str] = {}
    for key, item in (schema.get("properties") or {}).items():
        if isinstance(item, dict) and "pattern" in item:
            pattern = patterns[key] = item.pop("pattern")
            try:
                _linear(pattern)
            except (re2.error, TypeError) as exc:
                raise InvalidInput(f"the template's schema does not compile: {exc}") from exc
    try:
        check = fastjsonschema.compile(schema, formats=_FORMATS, use_default=False)
    except (fastjsonschema.JsonSchemaDefinitionException, re.error, RecursionError) as exc:
        raise InvalidInput(f"the template's schema does not compile: {exc}") from exc

    def validate(instance: Mapping[str, Any]) -> SchemaProblem | None:
        try:
            check(instance)
        except fastjsonschema.JsonSchemaValueException as exc:
            path: Sequence[Any] = exc.path or ()
            key = str(path[1]) if len(path) > 1 else ""
            if exc.rule == "required" and isinstance(exc.value, Mapping):
                missing = [name for name in exc.rule_definition or () if name not in exc.value]
                key = missing[0] if missing else key
            return SchemaProblem(key, str(exc.rule), exc.value)
        for key, pattern in patterns.items():
            value = instance.get(key)
            if isinstance(value, str) and _linear(pattern).search(value) is None:
                return SchemaProblem(key, "pattern", value)
        return None

    return validate


# Compile errors are raised to the caller, not logged by RE2 on stderr. A pattern's memory (its
# program and match caches) is held to 1 MiB, not RE2's 8: a realistic pattern of Chinese text
# (``^[\p{Han}A-Za-z0-9]{1,200}$``) fits (it does not in 256 KiB), one that needs more
# (``^\p{Han}{1000}$``) is refused when saved ("pattern too large"). With at most
# ``_COMPILED_PATTERNS`` compiled at once, templates full of patterns cannot take the node's
# memory: at most 256 MiB; 256 patterns like the one above took 36 MiB after matching, 256
# simple ones 0.1 MiB. One evicted is compiled again when used.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.max_mem = 1 << 20
_COMPILED_PATTERNS = 256


@functools.lru_cache(maxsize=_COMPILED_PATTERNS)
def _linear(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (``re2.error`` when it cannot run it in linear time)."""
    return re2.compile(pattern, _RE2_OPTIONS)
