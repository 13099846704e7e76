"""The Handle REST request bodies as the OpenAPI document shows them (the endpoints parse them)."""

from __future__ import annotations

from typing import Any

from httpapi import json_body
from registry import MAX_PAGE_SIZE

__all__ = [
    "DELETE_QUERY",
    "GET_QUERY",
    "LIST_QUERY",
    "PUT_BODY",
    "PUT_QUERY",
    "VALUE_SCHEMA",
]

VALUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["index", "type", "data"],
    "properties": {
        "index": {"type": "integer", "minimum": 1, "description": "unique within the handle"},
        "type": {"type": "string", "examples": ["URL", "EMAIL", "HS_ADMIN"]},
        "data": {
            "description": "a string, or {format, value}",
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "required": ["value"],
                    "properties": {
                        "format": {
                            "type": "string",
                            "enum": ["string", "base64", "hex", "admin", "vlist", "site", "key"],
                            "default": "string",
                        },
                        "value": {},
                    },
                },
            ],
        },
        "ttl": {"type": "integer", "minimum": 0, "default": 86400, "description": "seconds"},
        "permissions": {
            "type": "string",
            "pattern": "^[01]{1,12}$",
            "description": "admin read, admin write, public read, public write (e.g. 1110)",
        },
    },
}

PUT_BODY = json_body(
    {
        "description": "{handle?, values}, or the list of values alone",
        "oneOf": [
            {
                "type": "object",
                "required": ["values"],
                "properties": {
                    "handle": {"type": "string", "description": "must be the handle of the URL"},
                    "values": {"type": "array", "items": VALUE_SCHEMA},
                },
            },
            {"type": "array", "items": VALUE_SCHEMA},
        ],
    },
    {
        "record": {
            "handle": "88.118.8/sensor-42",
            "values": [
                {
                    "index": 1,
                    "type": "URL",
                    "data": {"format": "string", "value": "https://example.com/p/1"},
                },
                {"index": 2, "type": "EMAIL", "data": "qa@example.com", "ttl": 3600},
            ],
        },
        "values only": [{"index": 1, "type": "URL", "data": "https://example.com/p/1"}],
    },
    description="The handle's values (all of them, or those named by ?index= with overwrite)",
)


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    """One query parameter as OpenAPI shows it (the endpoints read and check it themselves)."""
    return {"name": name, "in": "query", "schema": schema, "description": description, **extra}


_INDEXES = _query(
    "index",
    {"type": "array", "items": {"type": "integer", "minimum": 1}},
    "only the values at these indexes (repeat it: ?index=1&index=2)",
    style="form",
    explode=True,
)
LIST_QUERY: dict[str, Any] = {
    "parameters": [
        _query("prefix", {"type": "string"}, "the prefix, e.g. 88.118.8", required=True),
        _query("page", {"type": "integer", "minimum": 0, "default": 0}, "the page, from 0"),
        _query(
            "pageSize",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": MAX_PAGE_SIZE},
            "handles a page",
        ),
    ]
}
GET_QUERY: dict[str, Any] = {
    "parameters": [
        _INDEXES,
        _query(
            "type",
            {"type": "array", "items": {"type": "string"}},
            "only the values of these types (repeat it: ?type=URL&type=EMAIL)",
            style="form",
            explode=True,
        ),
    ]
}
PUT_QUERY: list[dict[str, Any]] = [
    _query(
        "overwrite",
        {"type": "boolean", "default": True},
        "false: create only (an existing handle is refused, HANDLE_ALREADY_EXISTS);"
        " with index, add values only (an existing index is refused)",
    ),
    _query(
        "index",
        {"type": "array", "items": {"type": "string"}},
        "add or replace only these indexes of an existing record (the others stay);"
        " 'various' for those the body names",
        style="form",
        explode=True,
    ),
    _query(
        "mintNewSuffix",
        {"type": "boolean", "default": False},
        "true: the node appends a new unique suffix to the handle (the prefix, or prefix/stem)",
    ),
]
DELETE_QUERY: dict[str, Any] = {"parameters": [_INDEXES]}
