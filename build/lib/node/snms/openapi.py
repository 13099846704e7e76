"""The SNMS request bodies as the OpenAPI document shows them (the endpoints parse them)."""

from __future__ import annotations

from typing import Any

from httpapi import json_body
from registry import MAX_BATCH_ITEMS

__all__ = [
    "BATCH_DELETE_BODY",
    "BATCH_WRITE_BODY",
    "LOGIN_BODY",
    "LOGIN_V1_BODY",
    "RECORD_BODY",
    "TEMPLATE_BODY",
    "field_body",
]

_HANDLE = "88.118.8/product-0001"
_PREFIX = "88.118.8"

_VALUE: dict[str, Any] = {
    "type": "object",
    "required": ["index", "type", "data"],
    "properties": {
        "index": {"type": "integer", "minimum": 1},
        "type": {"type": "string", "examples": ["URL", "productName"]},
        "auth": {"type": "string", "description": "permissions, e.g. 1110", "default": "1110"},
        "data": {
            "description": "a string, or {format, value}",
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "required": ["value"],
                    "properties": {"format": {"type": "string", "default": "string"}, "value": {}},
                },
            ],
        },
        "ttl": {"type": "integer", "minimum": 0},
    },
}

_RECORD: dict[str, Any] = {
    "type": "object",
    "required": ["handle", "value"],
    "properties": {
        "handle": {"type": "string"},
        "templateVersion": {
            "type": "string",
            "description": "the template of the prefix the values must follow (optional)",
        },
        "value": {"type": "array", "items": _VALUE},
    },
}


def _record(handle: str) -> dict[str, Any]:
    return {
        "handle": handle,
        "templateVersion": "1.0",
        "value": [
            {
                "index": 2000,
                "type": "productName",
                "auth": "1110",
                "data": {"format": "string", "value": "Pump"},
            },
            {"index": 1, "type": "URL", "data": "https://example.com/p/1"},
        ],
    }


def _batch_schema(item: dict[str, Any]) -> dict[str, Any]:
    items = {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_BATCH_ITEMS}
    return {
        "description": 'a JSON array of items, or {"data": [...]}',
        "oneOf": [items, {"type": "object", "required": ["data"], "properties": {"data": items}}],
    }


def _login(password: str) -> dict[str, Any]:
    return json_body(
        {
            "type": "object",
            "required": ["username", "password"],
            "properties": {
                "username": {"type": "string", "description": "prefix/credential name"},
                "password": {"type": "string", "description": password},
            },
        },
        {"login": {"username": f"300:{_PREFIX}/ADMIN", "password": "s3cret-Passw0rd"}},
    )


def field_body(*names: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Fields a DELETE or GET takes as query parameters, or as a JSON body of the same names."""
    example = {"handle": _HANDLE, "prefix": _PREFIX, "version": "1.0"}
    every = (*names, *optional)
    extra = json_body(
        {
            "type": "object",
            "required": list(names),
            "properties": {name: {"type": "string"} for name in every},
        },
        {"by body": {name: example[name] for name in every}},
        required=False,
        description="instead of the query parameters: the same fields as a JSON body",
    )
    extra["parameters"] = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "example": example[name],
            "description": f"the {name} (or give it in a JSON body)",
        }
        for name in every
    ]
    return extra


LOGIN_BODY = _login("the credential's password")
LOGIN_V1_BODY = _login("hex sha256(hex sha256(password) + today as yyyy-MM-dd)")
RECORD_BODY = json_body(_RECORD, {"record": _record(_HANDLE)})
BATCH_WRITE_BODY = json_body(
    _batch_schema(_RECORD),
    {
        "array": [_record("88.118.8/product-0002"), _record("88.118.8/product-0003")],
        "data object": {"data": [_record("88.118.8/product-0004")]},
    },
)
BATCH_DELETE_BODY = json_body(
    _batch_schema(
        {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "required": ["handle"],
                    "properties": {"handle": {"type": "string"}},
                },
            ]
        }
    ),
    {
        "handles": ["88.118.8/product-0002", "88.118.8/product-0003"],
        "objects": {"data": [{"handle": "88.118.8/product-0004"}]},
    },
)
TEMPLATE_BODY = json_body(
    {
        "type": "object",
        "required": ["prefix", "version", "items"],
        "properties": {
            "prefix": {"type": "string"},
            "version": {"type": "string"},
            "description": {"type": "string"},
            "industryCategory": {"type": "string"},
            "industrySpecific": {"type": "string"},
            "industryTrade": {"type": "string"},
            "industrySubclass": {"type": "string"},
            "type": {"type": "integer", "enum": [1, 2], "description": "1 active carrier, 2 other"},
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["name", "idType", "idIndex"],
                    "properties": {
                        "name": {"type": "string"},
                        "idType": {"type": "string"},
                        "idIndex": {"type": "integer", "minimum": 2000},
                        "required": {"type": "boolean", "default": False},
                        "state": {"type": "integer", "enum": [0, 1], "default": 1},
                        "metadata": {
                            "type": "object",
                            "properties": {
                                "type": {"type": "string", "enum": ["string"]},
                                "minLength": {"type": "integer", "minimum": 0},
                                "maxLength": {"type": "integer", "minimum": 1},
                            },
                        },
                    },
                },
            },
        },
    },
    {
        "template": {
            "prefix": _PREFIX,
            "version": "1.0",
            "description": "Pumps",
            "type": 1,
            "items": [
                {
                    "name": "Product name",
                    "idType": "productName",
                    "idIndex": 2000,
                    "required": True,
                    "metadata": {"type": "string", "minLength": 1, "maxLength": 64},
                }
            ],
        }
    },
)
