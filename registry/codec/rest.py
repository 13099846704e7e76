"""Handle REST JSON (Handle.Net REST API): response codes, the bodies servers send, their parser.

Pure: bytes in, bytes out. The HTTP status each answer travels with belongs to the HTTP layer
(``httpapi/handle_rest.py``, spoken by the node and the top-level alike); the domain error →
response code table lives here, so every server and client of the format agrees on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

import orjson

from .._errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidIdentifier,
    InvalidInput,
    InvalidValue,
    NodeError,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
    ValueAlreadyExists,
    ValuesNotFound,
)
from .._values import HandleValue, parse_value

__all__ = [
    "ERROR_CODES",
    "Answer",
    "ResponseCode",
    "done_body",
    "error_body",
    "error_code",
    "no_match_body",
    "not_found_body",
    "parse_answer",
    "public_values_body",
    "read_answer",
    "values_body",
]


class ResponseCode(IntEnum):
    """Handle response codes (``AbstractMessage.RC_*`` of Handle.Net)."""

    SUCCESS = 1
    ERROR = 2
    SERVER_TOO_BUSY = 3
    PROTOCOL_ERROR = 4
    OPERATION_NOT_SUPPORTED = 5
    RECURSION_COUNT_TOO_HIGH = 6
    HANDLE_NOT_FOUND = 100
    HANDLE_ALREADY_EXISTS = 101
    INVALID_HANDLE = 102
    VALUES_NOT_FOUND = 200
    VALUE_ALREADY_EXISTS = 201
    INVALID_VALUE = 202
    NOT_AUTHORIZED = 400
    ACCESS_DENIED = 401
    AUTHENTICATION_NEEDED = 402
    AUTHENTICATION_FAILED = 403
    INVALID_CREDENTIAL = 404


# error class → response code; the most specific class of an error picks its entry.
ERROR_CODES: dict[type[NodeError], ResponseCode] = {
    InvalidIdentifier: ResponseCode.INVALID_HANDLE,
    InvalidValue: ResponseCode.INVALID_VALUE,
    InvalidInput: ResponseCode.PROTOCOL_ERROR,
    Unauthenticated: ResponseCode.AUTHENTICATION_NEEDED,
    Forbidden: ResponseCode.NOT_AUTHORIZED,
    ValuesNotFound: ResponseCode.VALUES_NOT_FOUND,
    NotFound: ResponseCode.HANDLE_NOT_FOUND,
    ValueAlreadyExists: ResponseCode.VALUE_ALREADY_EXISTS,
    AlreadyExists: ResponseCode.HANDLE_ALREADY_EXISTS,
    Conflict: ResponseCode.PROTOCOL_ERROR,
    # Over a rate or a quota: busy, retry later (the HTTP status says 429 and when).
    RateLimited: ResponseCode.SERVER_TOO_BUSY,
    Unavailable: ResponseCode.SERVER_TOO_BUSY,
    NodeError: ResponseCode.ERROR,
}

NO_MATCH_MESSAGE = "no values match the index or type given"


def error_code(exc: NodeError) -> ResponseCode:
    """The response code of ``exc`` (of its most specific class in ``ERROR_CODES``)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_CODES:
            return ERROR_CODES[cls]
    raise KeyError(type(exc))


def values_body(handle: str, values: Iterable[HandleValue]) -> bytes:
    """``{"responseCode":1,"handle":...,"values":[...]}``: a resolved record."""
    return orjson.dumps(
        {
            "responseCode": int(ResponseCode.SUCCESS),
            "handle": handle,
            "values": [v.to_json() for v in values],
        }
    )


# A stored value (``HandleValue.to_storage``) whose REST form (``to_json``) is itself without
# its permissions: the default ones, which the REST form leaves out.
_STORED_KEYS = ("index", "type", "data", "ttl", "timestamp", "permissions")
_DATA_KEYS = ("format", "value")
_PUBLIC = "1110"


def public_values_body(handle: str, stored: str) -> tuple[bytes, int] | None:
    """``values_body`` of a record straight from its stored text, with its smallest TTL.

    Without building a ``HandleValue`` per value: the stored dicts lose their permissions and
    are dumped as they are, byte for byte what ``values_body`` gives. ``None`` when that would
    not be the answer: a value with other permissions (an anonymous caller must not see it) or
    in a stored form of another shape; the caller then takes the long way.
    """
    items = orjson.loads(stored)
    if type(items) is not list:
        return None
    ttl = None
    for item in items:
        if (
            type(item) is not dict
            or tuple(item) != _STORED_KEYS
            or item["permissions"] != _PUBLIC
            or type(item["data"]) is not dict
            or tuple(item["data"]) != _DATA_KEYS
            or type(item["ttl"]) is not int
        ):
            return None
        del item["permissions"]
        if ttl is None or item["ttl"] < ttl:
            ttl = item["ttl"]
    body = orjson.dumps(
        {"responseCode": int(ResponseCode.SUCCESS), "handle": handle, "values": items}
    )
    return body, 0 if ttl is None else ttl


def done_body(handle: str) -> bytes:
    """``{"responseCode":1,"handle":...}``: a change applied."""
    return orjson.dumps({"responseCode": int(ResponseCode.SUCCESS), "handle": handle})


def error_body(code: int, handle: str, message: str) -> bytes:
    """``{"responseCode","handle","message"}``: every error names its handle and says why."""
    return orjson.dumps({"responseCode": int(code), "handle": handle, "message": message})


def not_found_body(handle: str) -> bytes:
    """The answer for an unregistered handle (response code 100)."""
    return error_body(ResponseCode.HANDLE_NOT_FOUND, handle, f"handle {handle} does not exist")


def no_match_body(handle: str) -> bytes:
    """The answer when no value matches the index or type filters (code 200, no values)."""
    return orjson.dumps(
        {
            "responseCode": int(ResponseCode.VALUES_NOT_FOUND),
            "handle": handle,
            "values": [],
            "message": NO_MATCH_MESSAGE,
        }
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """A Handle REST body as read: ``values`` is ``None`` when the body lists none."""

    code: int | None
    handle: str | None
    values: tuple[HandleValue, ...] | None
    message: str | None = None


def parse_answer(content: bytes | str) -> Answer:
    """Read a Handle REST body; ``InvalidInput`` (or ``InvalidValue``) names what is wrong."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the answer is not JSON: {exc}") from exc
    return read_answer(body)


def read_answer(body: Any) -> Answer:
    """``parse_answer`` of a body already decoded from JSON; values keep their timestamps."""
    if not isinstance(body, dict):
        raise InvalidInput("a Handle REST answer must be a JSON object")
    code = body.get("responseCode")
    if code is not None and (type(code) is not int):
        raise InvalidInput("responseCode must be an integer")
    handle = _optional_text(body, "handle")
    message = _optional_text(body, "message")
    items = body.get("values")
    if items is None:
        return Answer(code, handle, None, message)
    if not isinstance(items, list):
        raise InvalidValue("'values' must be a list of values")
    values = []
    for position, item in enumerate(items, start=1):
        value = parse_value(item, position)
        stamp = item.get("timestamp")
        values.append(replace(value, timestamp=stamp if isinstance(stamp, str) else None))
    return Answer(code, handle, tuple(values), message)


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    text = body.get(name)
    if text is not None and not isinstance(text, str):
        raise InvalidInput(f"{name} must be a string")
    return text
